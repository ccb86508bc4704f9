"""A live console whose notification channel drops stays calm: a reconnect within seconds
shows in the indicator only; a real outage raises one banner, which goes when the server is
back. And a console left on a live server stays live, quiet and still, for longer than any
timer of the HTTP phase."""

from __future__ import annotations

import pytest
from console_helpers import live, loaded
from embedded_server import start_server
from PySide6.QtCore import QElapsedTimer, QPoint, QTimer

from app.console import CONNECTION
from app.server.demo import seed_demo_day
from app.ui.connection_view import OUTAGE_BANNER_AFTER_S


def seeded(db) -> object:
    server = start_server(db)
    seed_demo_day(server.service)
    return server


def record(window) -> tuple[list[str], list[list[str]]]:
    """Every text the indicator shows, and the banners after every change."""
    modes: list[str] = []
    banners: list[list[str]] = []
    window.live.changed.connect(modes.append)
    window.messages.changed.connect(lambda: banners.append(list(window.messages.banners)))
    return modes, banners


def test_a_channel_that_comes_back_within_seconds_shows_in_the_indicator_only(qtbot, open_console, tmp_path):
    db = tmp_path / "worklist.db"
    server = seeded(db)
    port = server.port
    window = open_console("--url", server.base_url, "--ae-title", "CT1")
    loaded(qtbot, window)
    live(qtbot, window)
    modes, banners = record(window)
    server.stop()
    qtbot.waitUntil(lambda: window.live.text() == "● reconnecting", timeout=5000)
    back = start_server(db, port=port)
    try:
        live(qtbot, window)
        assert "● offline" not in modes and modes[-1] == "● live"
        assert all(CONNECTION not in shown for shown in banners) and window.messages.get(CONNECTION) is None
    finally:
        back.stop()


def test_a_real_outage_raises_the_banner_and_it_goes_when_the_server_is_back(qtbot, open_console, tmp_path):
    db = tmp_path / "worklist.db"
    server = seeded(db)
    port = server.port
    window = open_console("--url", server.base_url, "--ae-title", "CT1")
    loaded(qtbot, window)
    live(qtbot, window)
    assert window.connection.outage.interval() == OUTAGE_BANNER_AFTER_S * 1000 >= 10000
    window.connection.outage.setInterval(1500)  # the outage's length, shortened for the test
    server.stop()
    qtbot.waitUntil(lambda: window.live.text() == "● reconnecting", timeout=5000)
    assert window.messages.get(CONNECTION) is None
    qtbot.waitUntil(lambda: window.messages.get(CONNECTION) is not None, timeout=5000)
    assert window.live.text() == "● offline"
    assert "sent when the server is back" in window.messages.get(CONNECTION).text.text()
    back = start_server(db, port=port)
    try:
        live(qtbot, window)
        qtbot.waitUntil(lambda: window.messages.get(CONNECTION) is None, timeout=5000)
    finally:
        back.stop()


def where(widget) -> tuple[int, int, int, int]:
    top_left = widget.mapTo(widget.window(), QPoint(0, 0))
    return top_left.x(), top_left.y(), widget.width(), widget.height()


@pytest.mark.long
def test_a_console_on_a_live_server_stays_live_quiet_and_still_for_30_seconds(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    live(qtbot, window)
    modes, banners = record(window)
    still = (where(window.list_view), where(window.table), window.size())
    seen: list[tuple[str, int, object]] = []  # (indicator, banners, geometry) every 100 ms
    sampler = QTimer(window)
    sampler.timeout.connect(
        lambda: seen.append(
            (
                window.live.text(),
                len(window.messages.banners),
                (where(window.list_view), where(window.table), window.size()),
            )
        )
    )
    sampler.start(100)
    other = window.demo.other_claims("CT1")  # another modality works beside us: events keep coming
    progress = QTimer(window)
    progress.timeout.connect(window.demo.other_progresses)
    progress.start(5000)
    clock = QElapsedTimer()  # real time, whatever clock the test runs on
    clock.start()
    qtbot.waitUntil(lambda: clock.elapsed() >= 31000, timeout=45000)
    events = window.event_log.count()
    window.demo.other_completes()  # an event sent at the end still arrives
    qtbot.waitUntil(lambda: window.event_log.count() > events, timeout=3000)
    sampler.stop()
    progress.stop()
    assert other is not None and len(seen) >= 250
    assert {mode for mode, _, _ in seen} == {"● live"} and set(modes) <= {"● live"}
    assert all(count == 0 for _, count, _ in seen) and banners == []
    assert all(geometry == still for _, _, geometry in seen)
