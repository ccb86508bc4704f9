"""Draw the application icon and write it in the forms each platform wants.

    python packaging/make_icons.py

Writes into resources/: worklist-console.png (256 px, the window icon on every platform),
worklist-console.ico (Windows: 16–256 px) and worklist-console.icns (macOS: 16–1024 px).
ICO and ICNS are written by hand as containers of PNG images, which both formats accept
(Windows Vista and later, macOS 10.7 and later), so no imaging library is needed. The
results are committed; run this again only to change the drawing.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = {16: b"icp4", 32: b"icp5", 64: b"icp6", 128: b"ic07", 256: b"ic08", 512: b"ic09", 1024: b"ic10"}


def draw(size: int) -> QImage:
    """A worklist: a blue card with three lines, the first one ticked."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 64.0
    card = QPainterPath()
    card.addRoundedRect(QRectF(4 * s, 4 * s, 56 * s, 56 * s), 12 * s, 12 * s)
    p.fillPath(card, QColor("#2563eb"))
    line = QPen(QColor("white"), max(1.0, 5 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    p.setPen(line)
    for row, left in ((0, 30), (1, 18), (2, 18)):
        y = (20 + 13 * row) * s
        p.drawLine(QPointF(left * s, y), QPointF(48 * s, y))
    tick = QPen(
        QColor("#86efac"), max(1.0, 5 * s), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin
    )
    p.setPen(tick)
    p.drawPolyline([QPointF(14 * s, 20 * s), QPointF(18 * s, 24 * s), QPointF(25 * s, 15 * s)])
    p.end()
    return image


def png(size: int) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    draw(size).save(buffer, "PNG")
    return bytes(data)


def ico(sizes: tuple[int, ...]) -> bytes:
    images = [png(size) for size in sizes]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, blob in zip(sizes, images):
        edge = 0 if size >= 256 else size  # 0 means 256 in an ICO directory
        entries += struct.pack("<BBBBHHII", edge, edge, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns(types: dict[int, bytes]) -> bytes:
    chunks = b"".join(
        kind + struct.pack(">I", 8 + len(blob)) + blob
        for kind, blob in ((kind, png(size)) for size, kind in types.items())
    )
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (painting needs it)
    (RESOURCES / "worklist-console.png").write_bytes(png(256))
    (RESOURCES / "worklist-console.ico").write_bytes(ico(ICO_SIZES))
    (RESOURCES / "worklist-console.icns").write_bytes(icns(ICNS_TYPES))
    for name in ("worklist-console.png", "worklist-console.ico", "worklist-console.icns"):
        print(f"{RESOURCES / name}: {(RESOURCES / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
