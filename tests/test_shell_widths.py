"""The find table's column widths: printable ASCII is counted without wcwidth (its tables are 20 ms of
a cold `find`), and every text gets the width wcwidth gives it (a control character one column)."""

from __future__ import annotations

from wcwidth import wcswidth

from app.shell import display_width


def by_wcwidth(text: str) -> int:
    width = wcswidth(text)
    return width if width >= 0 else len(text)


def test_every_text_is_as_wide_as_wcwidth_says():
    texts = [chr(c) for c in range(128)] + ["", "Smith, Jo", "CT1\x00", "a\x1bb", "山田 太郎", "Ærø, Åse", "e\u0301"]
    assert [display_width(t) for t in texts] == [by_wcwidth(t) for t in texts]
