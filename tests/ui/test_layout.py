"""The console fits the screens technologists have: at 1280×800 and 1024×768 the list shows
time, state, priority, patient, accession and procedure without scrolling, the splitter
moves, and nothing — a long banner included — forces the window wider than the screen."""

from __future__ import annotations

import pytest
from console_helpers import loaded

from app.ui.worklist_model import COLUMNS

MUST_SHOW = ("Time", "State", "Priority", "Patient", "Accession", "Procedure")


def fits(window) -> list[str]:
    """The columns of MUST_SHOW that end beyond the list's visible width."""
    table = window.table
    width = table.viewport().width()
    return [
        name
        for name in MUST_SHOW
        if table.columnViewportPosition(COLUMNS.index(name)) + table.columnWidth(COLUMNS.index(name)) > width
    ]


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)], ids=["1280x800", "1024x768"])
def test_the_whole_row_fits_and_the_splitter_moves(qtbot, open_console, size):
    width, height = size
    window = open_console("demo")
    window.resize(width, height)
    loaded(qtbot, window)
    window._after_start()  # the first layout, as at start, for this screen
    qtbot.wait(50)
    assert window.width() <= width and window.height() <= height
    assert window.minimumSizeHint().width() <= width
    assert fits(window) == []
    assert window.table.horizontalScrollBar().value() == 0
    before = window.split.sizes()[0]
    window.split.setSizes([before + 150, window.split.sizes()[1] - 150])
    right = window.split.widget(1)
    assert right.minimumSizeHint().width() <= 300  # the panel scrolls instead of claiming width
    assert window.split.sizes()[0] >= min(before + 140, window.split.width() - 300)
    window.messages.show_message(
        "long", "A very long sentence " * 60 + "https://a-very-long-host-name.example/" * 5, "error"
    )
    qtbot.wait(50)
    assert window.width() <= width and window.minimumSizeHint().width() <= width


def test_the_procedure_panel_scrolls_instead_of_forcing_width(qtbot, open_console):
    window = open_console("demo")
    window.resize(1024, 768)
    loaded(qtbot, window)
    window.split.setSizes([900, 100])
    qtbot.wait(50)
    assert window.width() <= 1024
    panel = window.procedure
    assert panel.complete_button.isVisible() and panel.complete_button.geometry().bottom() < panel.height()
    assert panel.form_scroll.horizontalScrollBar().maximum() > 0  # the form scrolls; the window did not widen
