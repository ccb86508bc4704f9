"""The console fits the screens technologists have: at 1280×800 and 1024×768 the list shows
time, state, priority, patient, accession and procedure without scrolling, the splitter
moves, and nothing — a long banner included — forces the window wider than the screen.
Banners lie over the list: raising or dismissing one moves nothing and resizes nothing. At
960 px (two consoles side by side on a 1920 screen), 1024 and 1280, every button of the
procedure panel is whole, the performed box needs no sideways scrolling and what is typed as
the progress's description can be read."""

from __future__ import annotations

import pytest
from console_helpers import laid_out, live, loaded, start_selected
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QPushButton

from app.console import CONNECTION
from app.ui.messages import MAX_BANNERS
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
    laid_out(qtbot, window)
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
    laid_out(qtbot, window)
    assert window.width() <= width and window.minimumSizeHint().width() <= width


def test_the_procedure_panel_scrolls_instead_of_forcing_width(qtbot, open_console):
    window = open_console("demo")
    window.resize(1024, 768)
    loaded(qtbot, window)
    window.split.setSizes([900, 100])
    laid_out(qtbot, window)
    assert window.width() <= 1024
    panel = window.procedure
    assert panel.complete_button.isVisible() and panel.complete_button.geometry().bottom() < panel.height()
    assert panel.form_scroll.horizontalScrollBar().maximum() > 0  # the form scrolls; the window did not widen


def where(widget) -> tuple[int, int, int, int]:
    top_left = widget.mapTo(widget.window(), QPoint(0, 0))
    return top_left.x(), top_left.y(), widget.width(), widget.height()


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768)], ids=["1280x800", "1024x768"])
def test_banners_move_nothing_and_never_grow_the_window(qtbot, open_console, size):
    window = open_console("demo")
    window.resize(*size)
    loaded(qtbot, window)
    live(qtbot, window)
    window._after_start()
    laid_out(qtbot, window)
    parts = (window.list_view, window.table, window.query_panel, window.procedure, window.procedure.form_scroll)
    before, window_size = [where(p) for p in parts], window.size()
    for key in ("one", "two", "three"):
        window.messages.show_message(key, f"Message {key}: a sentence long enough to wrap " * 3, "warning")
    window.demo.add_urgent_order("CT1")
    qtbot.waitUntil(lambda: window.messages.containing("Urgent order") is not None, timeout=5000)
    window.connection.outage.setInterval(300)  # the outage's length, shortened for the test
    window.demo.server.stop()
    qtbot.waitUntil(lambda: window.messages.get(CONNECTION) is not None, timeout=10000)
    laid_out(qtbot, window)
    assert len(window.messages.banners) == 5
    assert [where(p) for p in parts] == before and window.size() == window_size
    assert window.messages.isVisible()
    # the banners lie over the list's bottom, the list itself keeps its place and its size
    viewport = window.table.viewport()
    bottom = viewport.mapTo(window.centralWidget(), QPoint(0, viewport.height()))
    assert window.messages.geometry().bottom() + 1 == bottom.y()
    for key in ("one", "two", "three"):
        window.messages.dismiss(key)
    assert [where(p) for p in parts] == before and window.size() == window_size


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768), (960, 768)], ids=["1280x800", "1024x768", "960x768"])
def test_every_button_of_the_panel_is_whole_and_the_performed_box_keeps_its_height(qtbot, open_console, size):
    window = open_console("demo")
    window.resize(*size)
    loaded(qtbot, window)
    window._after_start()
    start_selected(qtbot, window)
    for n in range(MAX_BANNERS):
        window.messages.show_message(f"n{n}", f"Message {n}: a sentence long enough to wrap " * 2, "warning", "Show")
    laid_out(qtbot, window)
    assert window.width() <= size[0] and window.height() <= size[1]
    panel, scroll = window.procedure, window.procedure.form_scroll
    assert scroll.horizontalScrollBar().maximum() == 0  # the performed box needs no sideways scrolling
    assert scroll.height() >= 200  # banners lie over the list: they do not squeeze it
    buttons = [b for b in panel.findChildren(QPushButton) if b.isVisibleTo(panel)]
    assert {panel.form.add_code, panel.form.remove_code, panel.complete_button} <= set(buttons)
    clipped = []
    for button in buttons:
        inside = scroll.viewport() if scroll.isAncestorOf(button) else panel
        left = button.mapTo(inside, QPoint(0, 0)).x()
        if button.width() < button.minimumSizeHint().width() or left < 0 or left + button.width() > inside.width():
            clipped.append(button.text())
    assert clipped == []


@pytest.mark.parametrize("size", [(1280, 800), (1024, 768), (960, 768)], ids=["1280x800", "1024x768", "960x768"])
def test_what_is_happening_is_wide_enough_to_read_what_is_typed(qtbot, open_console, size):
    window = open_console("demo")
    window.resize(*size)
    loaded(qtbot, window)
    window._after_start()
    start_selected(qtbot, window)
    laid_out(qtbot, window)
    panel = window.procedure
    assert panel.percent_text.isVisible() and panel.percent_text.width() >= 180
    left = panel.percent_text.mapTo(panel, QPoint(0, 0)).x()
    assert left >= 0 and left + panel.percent_text.width() <= panel.width()
    assert panel.form_scroll.horizontalScrollBar().maximum() == 0
