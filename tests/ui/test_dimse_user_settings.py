"""Settings for a DIMSE profile at a server locked with users: the installer types the station's
user and password on the DIMSE page, Test connection says what is missing or wrong, and the
profile keeps them as its one user and password."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from door import PASSWORD, users_file
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from test_settings import press_save, settings_for

from app.backends import check_profile
from app.backends.profiles import Profile, ProfileBook
from app.server import ServerConfig, UPSServer
from app.server.password_checks import ThrottleRules


@pytest.fixture()
def locked(tmp_path) -> Iterator[UPSServer]:
    path, _ = users_file(tmp_path, tech=["CT1"])
    config = ServerConfig(
        http_port=0,
        dimse_port=0,
        db_path=str(tmp_path / "w.db"),
        purge_interval=3600,
        users_file=str(path),
        password_throttle=ThrottleRules(free=1000),  # the throttle has its own tests
    )
    server = UPSServer(config).start()
    try:
        yield server
    finally:
        server.stop()


def connection_said(qtbot, dialog) -> str:
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=10000)
    return dialog.test_result.text()


def retype(qtbot, field, text: str) -> None:
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(field, Qt.Key.Key_Delete)
    QTest.keyClicks(field, text)


def test_test_connection_asks_for_the_user_then_refuses_a_wrong_password_then_passes(qtbot, open_console, locked):
    open_console("demo")  # the window brings the app's event loop, which runs Test connection
    port = locked.dimse.port
    book = ProfileBook([Profile(name="Site RIS", backend="dimse", ae_title="CT1", mwl_port=port, timeout=5)])
    dialog = settings_for(qtbot, book)
    dialog.tester = check_profile
    assert dialog.dimse_username.isVisible() and dialog.dimse_password.isVisible()
    assert dialog.dimse_username.text() == ""

    assert connection_said(qtbot, dialog) == (
        f"✗ The worklist server at 127.0.0.1:{port} needs to know who this station is: in Settings, give this "
        "profile the user and password its administrator gave this station."
    )
    retype(qtbot, dialog.dimse_username, "tech")
    qtbot.keyClick(dialog.dimse_username, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is dialog.dimse_password
    QTest.keyClicks(dialog.dimse_password, "guess")
    assert connection_said(qtbot, dialog) == (
        f"✗ The worklist server at 127.0.0.1:{port} refused the user tech: check the user and password in the "
        "profile (or the AE title CT1, if the user is bound to another one)."
    )
    retype(qtbot, dialog.dimse_password, PASSWORD)
    assert connection_said(qtbot, dialog).startswith(
        f"✓ The worklist server WORKLIST at 127.0.0.1:{port} answers C-ECHO"
    )

    press_save(qtbot, dialog)
    saved = book.get("Site RIS")
    assert saved is not None and (saved.auth, saved.username, saved.password) == ("basic", "tech", PASSWORD)


def test_the_dimse_user_comes_back_shows_on_the_ups_rs_page_and_clearing_it_sends_none(qtbot):
    book = ProfileBook(
        [
            Profile(
                name="Site RIS",
                backend="dimse",
                ae_title="CT1",
                mwl_host="10.0.0.5",
                auth="basic",
                username="tech",
                password=PASSWORD,
            )
        ]
    )
    dialog = settings_for(qtbot, book)
    assert (dialog.dimse_username.text(), dialog.dimse_password.text()) == ("tech", PASSWORD)
    assert dialog.dimse_password.echoMode() == dialog.dimse_password.EchoMode.Password
    retype(qtbot, dialog.dimse_username, "ct1-station")
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Up)  # UPS-RS: the same user, as a basic login
    assert dialog.upsrs_box.isVisible()
    assert (dialog.auth.currentData(), dialog.username.text()) == ("basic", "ct1-station")
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Down)
    press_save(qtbot, dialog)
    assert (book.get("Site RIS").auth, book.get("Site RIS").username) == ("basic", "ct1-station")

    again = settings_for(qtbot, book)
    assert again.dimse_username.text() == "ct1-station"
    retype(qtbot, again.dimse_username, "")
    assert again.auth.currentData() == "none"
    press_save(qtbot, again)
    assert book.get("Site RIS").auth == "none"  # nothing is sent as a User Identity
