"""First run, profiles and Test connection, as an installer meets them."""
from __future__ import annotations

from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileBook
from app.backends import check_profile
from app.ui.settings_dialog import SettingsDialog


def test_first_run_with_nothing_configured_opens_the_demo_and_points_to_settings(qtbot, open_console, tmp_path):
    window = open_console("--config", str(tmp_path / "profiles.toml"))
    assert window.demo is not None
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    assert window.notice.isVisible() and "demo" in window.notice.text.text()
    assert window.notice.action.text() == "Settings…"


def test_test_connection_says_in_plain_words_what_works(qtbot, open_console, tmp_path):
    window = open_console("demo")
    book = ProfileBook()
    dialog = SettingsDialog(book, tester=check_profile)  # no parent: qtbot alone owns it
    qtbot.addWidget(dialog)
    dialog.name.setText("Site RIS")
    dialog.url.setText(window.session.profile.url)
    dialog.ae.setText("CT1")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result.text().startswith(("✓", "✗")), timeout=5000)
    assert dialog.result.text().startswith("✓ The UPS-RS server at 127.0.0.1:")
    dialog.url.setText("http://127.0.0.1:9/dicom-web")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result.text().startswith("✗"), timeout=5000)
    assert "Cannot reach the worklist server at 127.0.0.1:9" in dialog.result.text()
    dialog.ae.setText("")
    dialog.test_button.click()
    assert "AE title" in dialog.result.text()


def test_a_dimse_profile_is_entered_tested_peer_by_peer_and_saved(qtbot, open_console, front):
    open_console("demo")  # the window brings the app's event loop, which runs the test
    dimse_port = front.dimse.port
    book = ProfileBook()
    dialog = SettingsDialog(book, tester=check_profile)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.upsrs_box.isVisible() and not dialog.dimse_box.isVisible()
    dialog.backend.setCurrentIndex(dialog.backend.findData("dimse"))
    assert dialog.dimse_box.isVisible() and not dialog.upsrs_box.isVisible()
    dialog.name.setText("Site RIS (DIMSE)")
    dialog.ae.setText("CT1")
    dialog.mwl.set("127.0.0.1", dimse_port, "WORKLIST")
    dialog.mpps.set("127.0.0.1", 9, "MPPS_SCP")  # an MPPS peer that is down
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result.text().count("\n") == 1, timeout=10000)
    worklist, mpps = dialog.result.text().splitlines()
    assert worklist == (f"✓ The worklist server WORKLIST at 127.0.0.1:{dimse_port} answers C-ECHO and accepts "
                        "worklist queries (MWL C-FIND).")
    assert mpps.startswith("✗ Cannot reach the MPPS server at 127.0.0.1:9")
    dialog.mpps.set("", 0, "")  # same as the worklist peer
    dialog.charset.setCurrentText("ISO_IR 192")
    buttons = [b for b in dialog.findChildren(type(dialog.test_button)) if b.text() == "Save"]
    buttons[0].click()
    saved = book.get("Site RIS (DIMSE)")
    assert saved is not None and book.active == "Site RIS (DIMSE)"
    assert (saved.backend, saved.mwl_port, saved.mwl_aet, saved.mpps_peer, saved.fallback_charset) == (
        "dimse", dimse_port, "WORKLIST", ("127.0.0.1", dimse_port, "WORKLIST"), "ISO_IR 192")


def test_saved_profiles_come_back_and_secrets_stay_out_of_logs(tmp_path):
    path = tmp_path / "profiles.toml"
    book = ProfileBook()
    book.put(Profile(name="Site \"A\"", url="https://ris.example/dicom-web", ae_title="CT1", auth="basic",
                     username="tech", password="pa\\ss\"word", dcm4chee=True, timeout=12.5))
    book.active = 'Site "A"'
    profile_store.save(book, path)
    again = profile_store.load(path)
    assert again.active == 'Site "A"'
    assert again.get() == book.get()
    assert "pa\\ss" not in repr(again.get()) and again.get().redacted()["password"] == "***"


