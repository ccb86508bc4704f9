"""packaging/: what the lean Qt hooks leave out, and what the build script's checks run with.
The bundle itself is built and run by `.ci/run` (packaging/build.py --check)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[1] / "packaging"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


qt_lean = load(PACKAGING / "hooks" / "qt_lean.py")
build = load(PACKAGING / "build.py")


@pytest.mark.parametrize(
    "source, dest",
    [
        ("/qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms"),
        ("/qt/plugins/platforms/libqwayland.so", "PySide6/Qt/plugins/platforms"),
        ("/qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/plugins/platforms"),
        ("C:/qt/plugins/platforms/qwindows.dll", "PySide6\\plugins\\platforms"),
        ("/qt/plugins/platforms/libqcocoa.dylib", "PySide6/Qt/plugins/platforms"),
        ("/qt/plugins/imageformats/libqsvg.so", "PySide6/Qt/plugins/imageformats"),
        ("/qt/plugins/imageformats/libqico.so", "PySide6/Qt/plugins/imageformats"),
        ("/qt/plugins/xcbglintegrations/libqxcb-glx-integration.so", "PySide6/Qt/plugins/xcbglintegrations"),
        ("/qt/lib/libQt6Gui.so.6", "PySide6/Qt/lib"),
    ],
)
def test_what_the_console_needs_stays(source, dest):
    assert not qt_lean.dropped(source, dest)


@pytest.mark.parametrize(
    "source, dest",
    [
        ("/qt/plugins/platformthemes/libqgtk3.so", "PySide6/Qt/plugins/platformthemes"),
        ("/qt/plugins/generic/libqtuiotouchplugin.so", "PySide6/Qt/plugins/generic"),
        ("/qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so", "PySide6/Qt/plugins/egldeviceintegrations"),
        ("/qt/plugins/imageformats/libqjpeg.so", "PySide6/Qt/plugins/imageformats"),
        ("C:/qt/plugins/platforms/qdirect2d.dll", "PySide6\\plugins\\platforms"),
        ("/qt/translations/qtbase_de.qm", "PySide6/Qt/translations"),
    ],
)
def test_what_the_console_never_loads_goes(source, dest):
    assert qt_lean.dropped(source, dest)


def test_checks_run_the_bundle_without_this_machines_python_paths(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", "/somewhere")
    monkeypatch.setenv("PYTHONHOME", "/somewhere")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    env = build.environment()
    assert "PYTHONPATH" not in env and "PYTHONHOME" not in env
    if sys.platform.startswith("linux"):
        assert env["QT_QPA_PLATFORM"] == "offscreen"


def test_the_size_budget_fails_a_bundle_that_grew(tmp_path, capsys):
    folder = tmp_path / "worklist-console"
    folder.mkdir()
    (folder / "big").write_bytes(b"\0" * (2 * 2**20))
    if sys.platform == "darwin":
        pytest.skip("on macOS the bundle is the .app")
    assert build.main(["--dist", str(tmp_path), "--check-only", "--max-mib", "1"]) == 1
    assert "over the budget of 1 MiB" in capsys.readouterr().err


def test_the_entry_point_leaves_stdout_alone_off_windows(monkeypatch):
    entry = load(PACKAGING / "worklist_console.py")
    before = sys.stdout
    monkeypatch.setattr(sys, "argv", ["worklist-console", "self-test"])
    entry.attach_parent_console()
    assert sys.stdout is before
