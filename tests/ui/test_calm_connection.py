"""A live console whose notification channel drops stays calm: a reconnect within seconds
shows in the indicator only; a real outage raises one banner, which goes when the server is
back."""

from __future__ import annotations

from console_helpers import live, loaded
from embedded_server import start_server

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
