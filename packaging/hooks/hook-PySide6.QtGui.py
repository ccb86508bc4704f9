# Replaces PyInstaller's hook for PySide6.QtGui: the same collection, less what qt_lean.py drops.
import importlib.util
import os

_spec = importlib.util.spec_from_file_location("qt_lean", os.path.join(os.path.dirname(__file__), "qt_lean.py"))
_qt_lean = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_qt_lean)

hiddenimports, binaries, datas = _qt_lean.lean_qt_dependencies(__file__)
