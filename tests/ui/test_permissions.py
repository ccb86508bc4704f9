"""A profile whose user may not act as its AE title, as an installer and a technologist meet it:
Test connection fails in red and says who may not be whom; the running console says it in red
as a setting to fix — never "offline", never "sent when the server is back" — and no claim is
recorded under the user's other AE title."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from conftest import answer_next_dialog
from console_helpers import press_start
from door import PASSWORD, locked_server
from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.backends import check_profile
from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileBook
from app.domain.states import State
from app.domain.workitem import Workitem
from app.server import UPSServer
from app.server.audit import audit_path, read
from app.server.demo import seed_demo_day
from app.ui.settings_dialog import FAILED_STYLE, SettingsDialog


@pytest.fixture(scope="module")
def locked(tmp_path_factory) -> Iterator[UPSServer]:
    """A server whose user ct1 is bound to CT1 only, holding today's demo day (CT2's orders too)."""
    server, _ = locked_server(tmp_path_factory.mktemp("locked"), ct1=["CT1"], ct2=["CT2"], ris=[])
    seed_demo_day(server.service)
    try:
        yield server
    finally:
        server.stop()


def ct2_as_ct1(server: UPSServer) -> Profile:
    """The misconfiguration: the profile says CT2, its user may act only as CT1."""
    return Profile(
        name="CT2 with ct1's user",
        url=server.base_url,
        ae_title="CT2",
        auth="basic",
        username="ct1",
        password=PASSWORD,
        timeout=5,
    )


def open_refused(open_console, server: UPSServer, tmp_path):
    config = tmp_path / "profiles.toml"
    profile = ct2_as_ct1(server)
    profile_store.save(ProfileBook([profile], active=profile.name), config)
    return open_console("--config", str(config))


def scheduled_ct2_item(server: UPSServer) -> Workitem:
    with httpx.Client(base_url=server.base_url, auth=("ris", PASSWORD), timeout=10) as ris:
        found = ris.get("/workitems", params={"ScheduledStationNameCodeSequence.CodeValue": "CT2"})
    assert found.status_code == 200
    return next(w for w in map(Workitem, found.json()) if w.state is State.SCHEDULED)


def banner_texts(window) -> str:
    return " ".join(banner.text.text() for banner in window.messages.banners.values())


def test_test_connection_says_in_red_that_the_user_may_not_act_as_our_ae_title(qtbot, open_console, locked, tmp_path):
    open_refused(open_console, locked, tmp_path)  # a console, for the event loop the test runs on
    dialog = SettingsDialog(ProfileBook(), tester=check_profile)
    qtbot.addWidget(dialog)
    dialog.name.setText("CT2")
    dialog.url.setText(locked.base_url)
    dialog.ae.setText("CT2")
    dialog.auth.setCurrentIndex(dialog.auth.findData("basic"))
    dialog.username.setText("ct1")
    dialog.password.setText(PASSWORD)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=10000)
    said = dialog.test_result.text()
    assert said.startswith("✗ The user ct1 may not act as the AE title CT2 at 127.0.0.1:"), said
    assert "it is bound to CT1" in said  # the server's reason
    assert "In Settings" in said
    assert dialog.test_result.property("failed") is True and dialog.test_result.styleSheet() == FAILED_STYLE

    dialog.ae.setText("CT1")  # the AE title the user is bound to
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✓"), timeout=10000)
    assert "✗" not in dialog.test_result.text()
    assert dialog.test_result.property("failed") is False and dialog.test_result.styleSheet() == ""


def test_the_console_shows_a_refused_ae_title_in_red_as_a_setting_to_fix_and_records_nothing_as_ct1(
    qtbot, open_console, locked, tmp_path
):
    window = open_refused(open_console, locked, tmp_path)
    qtbot.waitUntil(lambda: window.findChild(QObject, "configurationBanner") is not None, timeout=10000)
    banner = window.messages.get("configuration")
    assert banner is not None and banner.kind == "error"
    assert "does not let the user ct1 act as the AE title CT2" in banner.text.text()
    assert "In Settings" in banner.text.text() and "Try again" in banner.text.text()
    assert banner.action.text() == "Try again" and banner.action.accessibleName() == "Try again"
    assert window.live.text() == "● not allowed"
    assert window.messages.get("connection") is None
    assert "when the server is back" not in banner_texts(window)

    # F5: still a setting to fix, not an outage
    qtbot.keyClick(window.list_view.table, Qt.Key.Key_F5)
    qtbot.wait(300)
    assert window.live.text() == "● not allowed" and window.messages.get("connection") is None

    # a CT2 order in view (listed before the server's users changed, say): Start is refused, not
    # recorded as the user's CT1
    item = scheduled_ct2_item(locked)
    window.model.upsert(item)
    assert window.select(item.uid)
    said: list[tuple[str, str]] = []
    window.session.message.connect(lambda level, sentence, key: said.append((level, key)))
    press_start(window)  # and answer the start question with Enter
    qtbot.waitUntil(lambda: ("error", "configuration") in said, timeout=5000)
    assert not window.session.is_mine(item.uid) and window.session.workflow.outbox.pending() == 0
    assert Workitem(json.loads(locked.service.retrieve(item.uid))).state is State.SCHEDULED
    assert not [line for line in read(audit_path(locked.store.path), item.uid) if line["action"] == "claim"]
    assert window.live.text() == "● not allowed"
    assert "when the server is back" not in banner_texts(window)
    assert window.findChild(QObject, "configurationBanner").isVisible()

    # Try again asks the server again, and it still refuses: said again, in red
    qtbot.mouseClick(window.messages.get("configuration").action, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.messages.get("configuration") is not None, timeout=5000)
    assert window.live.text() == "● not allowed"


def test_fixing_the_profile_in_settings_opens_the_console_again_on_it(qtbot, open_console, locked, tmp_path):
    window = open_refused(open_console, locked, tmp_path)
    qtbot.waitUntil(lambda: window.messages.get("configuration") is not None, timeout=10000)

    def sign_in_as_ct2(dialog) -> None:
        dialog.username.setText("ct2")
        qtbot.mouseClick(
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )

    answer_next_dialog(sign_in_as_ct2)
    window.open_settings()
    reopened = [
        w for w in QApplication.topLevelWidgets() if hasattr(w, "session") and w.session.profile.username == "ct2"
    ]
    assert len(reopened) == 1 and reopened[0] is not window
    qtbot.waitUntil(lambda: reopened[0].live.text() == "● live", timeout=10000)
    assert reopened[0].messages.get("configuration") is None and reopened[0].session.refused is None
