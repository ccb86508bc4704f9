"""Qt files the console never loads, dropped before PyInstaller follows their dependencies.

PyInstaller's own hooks for PySide6.QtCore/QtGui/QtWidgets collect every plugin type of
those modules and the translations; the hooks beside this file call them and drop what
Worklist Console does not use. Dropping a plugin here (not after the Analysis) matters:
it also keeps out the libraries only that plugin needs (the GTK theme drags in GTK's
graphics stack, the TUIO touch plugin QtNetwork).
"""

from __future__ import annotations

import os

# whole plugin types: input devices for framebuffer setups, embedded EGL displays
DROPPED_TYPES = {"generic", "egldeviceintegrations"}
# single plugins, by name without lib prefix and extension
DROPPED_PLUGINS = {
    # platforms other than X11, Wayland, Windows, macOS and offscreen (CI, self-test)
    "qminimal",
    "qminimalegl",
    "qlinuxfb",
    "qvnc",
    "qeglfs",
    "qvkkhrdisplay",
    "qdirect2d",
    # the GTK platform theme: the console brings its own style sheet
    "qgtk3",
    # image formats the console never shows (PNG is built into QtGui; ICO and SVG stay for icons)
    "qgif",
    "qicns",
    "qjpeg",
    "qtga",
    "qtiff",
    "qwbmp",
    "qwebp",
    "qpdf",
}


def plugin_name(path: str) -> str:
    """`libqxcb.so` → `qxcb`, `qwindows.dll` → `qwindows`."""
    name = os.path.basename(path).split(".")[0]
    return name[3:] if name.startswith("lib") else name


def dropped(source: str, dest: str) -> bool:
    """Is this collected file (source path, destination folder in the bundle) left out?"""
    dest = dest.replace("\\", "/")
    if "translations" in dest.split("/"):
        return True  # the console installs no QTranslator, so Qt's own translations are never read
    if "/plugins/" not in f"/{dest}/":
        return False
    plugin_type = dest.split("plugins/", 1)[1].split("/")[0]
    return plugin_type in DROPPED_TYPES or plugin_name(source) in DROPPED_PLUGINS


def lean_qt_dependencies(hook_file: str) -> tuple[list, list, list]:
    """What PyInstaller's own hook for this module collects, less what is dropped here."""
    from PyInstaller.utils.hooks.qt import add_qt6_dependencies

    hiddenimports, binaries, datas = add_qt6_dependencies(hook_file)
    binaries = [(src, dest) for src, dest in binaries if not dropped(src, dest)]
    datas = [(src, dest) for src, dest in datas if not dropped(src, dest)]
    return hiddenimports, binaries, datas
