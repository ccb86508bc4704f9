"""A polled console (DICOMweb MWL + MPPS) whose server goes away, comes back, or answers but
has no such service: the toolbar, the banner and the empty list say which, driven by keys."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from conftest import answer_next_dialog, press_enter
from console_helpers import loaded, press_start
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from stub_http import stub_http_server

from app.domain.search import parse_search
from app.server import ServerConfig, UPSServer
from app.server.demo import seed_demo_day


class NotFound(BaseHTTPRequestHandler):
    """A web server at the address, with nothing DICOMweb on it."""

    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def plain_web_server() -> Iterator[str]:
    with stub_http_server(NotFound) as url:
        yield url


def seeded_server(db: str, port: int = 0) -> UPSServer:
    server = UPSServer(ServerConfig(http_port=port, dimse_port=0, db_path=db, purge_interval=3600))
    if not port:
        seed_demo_day(server.service)
    return server.start()


def stored_state(server: UPSServer, accession: str) -> str:
    found = server.service.search_all(parse_search([("ReferencedRequestSequence.AccessionNumber", accession)]))[
        0
    ].decode()
    return "COMPLETED" if '"COMPLETED"' in found else "IN PROGRESS" if '"IN PROGRESS"' in found else "SCHEDULED"


def test_a_server_without_the_worklist_service_is_a_refusal_not_a_wait(qtbot, open_console, plain_web_server):
    window = open_console("--backend", "mpps-rs", "--url", plain_web_server, "--ae-title", "CT1")
    qtbot.waitUntil(lambda: window.messages.get("connection") is not None, timeout=10000)
    said = window.messages.get("connection").text.text()
    assert "has no DICOMweb worklist (Supplement 246)" in said and "check the URL" in said
    assert "sent when the server is back" not in said  # waiting will not mend a wrong URL
    assert "refused the search" in window.empty_note.text() and "does not answer" not in window.empty_note.text()


def test_a_polled_server_stopped_mid_procedure_shows_offline_keeps_the_completion_and_sends_it(
    qtbot, open_console, tmp_path
):
    db = str(tmp_path / "worklist.db")
    server = seeded_server(db)
    port = server.port
    try:
        window = open_console("--backend", "mpps-rs", "--url", server.base_url, "--ae-title", "CT1")
        loaded(qtbot, window)
        assert window.live.text() == "● polling"
        item = window.selected()
        press_start(window, key=True)
        qtbot.waitUntil(lambda: stored_state(server, item.accession_number) == "IN PROGRESS", timeout=10000)
    finally:
        server.stop()
    QTest.keyClick(window.table, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.live.text() == "● offline", timeout=15000)
    assert window.messages.get("connection") is not None
    assert "sent when the server is back" in window.messages.get("connection").text.text()
    answer_next_dialog(press_enter)
    QTest.keyClick(window.table, Qt.Key.Key_F8)
    qtbot.waitUntil(lambda: window.session.workflow.outbox.final_pending(item.uid) == "complete", timeout=20000)
    qtbot.waitUntil(lambda: "the completion is waiting to be sent" in window.procedure.headline.text(), timeout=5000)
    assert window.live.text() == "● offline" and window.status_pending.text() != "outbox empty"
    back = seeded_server(db, port=port)
    try:
        window.session.workflow.outbox.kick()
        QTest.keyClick(window.table, Qt.Key.Key_F5)
        qtbot.waitUntil(lambda: window.session.workflow.outbox.pending() == 0, timeout=20000)
        qtbot.waitUntil(lambda: stored_state(back, item.accession_number) == "COMPLETED", timeout=10000)
        QTest.keyClick(window.table, Qt.Key.Key_F5)
        qtbot.waitUntil(lambda: window.live.text() == "● polling", timeout=10000)
        assert window.messages.get("connection") is None
        assert window.status_pending.text() == "outbox empty"
    finally:
        back.stop()
