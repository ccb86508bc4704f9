"""Help → About: the versions, the profile in use, and where the log files are."""

from __future__ import annotations

import platform

from app import __version__
from app.console.profiles import Profile

from .rich_text import plain


def about_text(p: Profile, demo: bool) -> str:
    import pydicom
    import pynetdicom
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from app import logs

    if p.backend == "dimse":
        mpps = p.mpps_peer
        where = f"MWL + MPPS: worklist {p.mwl_aet} at {p.mwl_host}:{p.mwl_port}, MPPS {mpps[2]} at {mpps[0]}:{mpps[1]}"
    else:
        service = "DICOMweb MWL + MPPS" if p.backend == "mpps-rs" else "UPS-RS"
        where = f"{service} at {p.url}" + (f" ({p.auth} authentication)" if p.auth != "none" else "")
    kind = "demo, on the embedded server" if demo else "site profile"
    return (
        f"<b>Worklist Console {__version__}</b><br>"
        f"Qt {qVersion()} (PySide6 {pyside_version}), pydicom {pydicom.__version__}, "
        f"pynetdicom {pynetdicom.__version__}, Python {platform.python_version()}<br><br>"
        f"<b>Profile:</b> {plain(p.name)} ({kind})<br>{plain(where)}<br>"
        f"Our AE title {plain(p.ae_title)}, station {plain(p.station_code)}<br><br>"
        f"<b>Log folder:</b> {plain(str(logs.log_directory()))}"
    )
