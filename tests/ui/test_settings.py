"""First run, profiles and Test connection, as an installer meets them."""
from __future__ import annotations

from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileBook
from app.backends import check_profile
from app.ui.settings_dialog import SettingsDialog


def test_first_run_offers_the_demo_which_then_points_to_settings(qtbot, open_console, tmp_path):
    welcome = open_console("--config", str(tmp_path / "profiles.toml"))
    assert welcome.demo_button.text() == "Start the demo" and welcome.configure_button.text() == "Configure a server…"
    welcome.demo_button.click()
    window = welcome.next_window
    assert window.demo is not None
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    assert window.notice.isVisible() and "demo" in window.notice.text.text()
    assert window.notice.action.text() == "Settings…"


def test_first_run_configures_a_server_tests_it_and_opens_the_console_on_it(qtbot, open_console, front, tmp_path):
    config = tmp_path / "profiles.toml"
    welcome = open_console("--config", str(config))
    welcome.configure_button.click()
    dialog = welcome.settings
    qtbot.waitUntil(dialog.isVisible)
    dialog.reject()  # changed their mind: back to the two choices, nothing saved
    assert welcome.isVisible() and welcome.next_window is None and not config.exists()
    welcome.configure_button.click()
    dialog = welcome.settings
    dialog.name.setText("Radiology RIS")
    dialog.ae.setText("CT1")
    dialog.url.setText(front.base_url)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result.text().startswith(("✓", "✗")), timeout=5000)
    assert dialog.result.text().startswith("✓ The UPS-RS server at 127.0.0.1:")
    [save] = [b for b in dialog.findChildren(type(dialog.test_button)) if b.text() == "Save"]
    save.click()
    window = welcome.next_window
    assert window is not None and window.demo is None and window.session.profile.name == "Radiology RIS"
    assert profile_store.load(config).active == "Radiology RIS"
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=10000)  # CT1's demo day on that server


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




def test_help_opens_the_log_folder_and_about_names_versions_and_profile(qtbot, open_console, front, tmp_path):
    from PySide6.QtCore import QObject, Slot
    from PySide6.QtGui import QDesktopServices

    from app import logs

    class FileManager(QObject):
        """Stands in for the desktop's file manager: Qt hands it file:// URLs."""

        def __init__(self) -> None:
            super().__init__()
            self.opened = []

        @Slot("QUrl")
        def open(self, url) -> None:
            self.opened.append(url.toLocalFile())

    logs.configure(directory=tmp_path / "logs")
    manager = FileManager()
    QDesktopServices.setUrlHandler("file", manager, "open")
    try:
        config = tmp_path / "profiles.toml"
        profile_store.save(ProfileBook([Profile(name="Site", url=front.base_url, ae_title="CT1", auth="basic",
                                                username="tech", password="s3cret-Pw")], "Site"), config)
        window = open_console("--config", str(config))
        window.log_folder_action.trigger()
        assert manager.opened == [str(tmp_path / "logs")]
    finally:
        QDesktopServices.unsetUrlHandler("file")
        logs.detach()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    shown = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            shown.append(box.text())
            box.accept()

    QTimer.singleShot(200, read_and_close)
    window.about_action.trigger()  # Help → About: modal until read_and_close closes it
    about = window.about_text()
    assert shown == [about]
    import pydicom
    import pynetdicom
    from PySide6.QtCore import qVersion

    for fact in (f"Qt {qVersion()}", f"pydicom {pydicom.__version__}", f"pynetdicom {pynetdicom.__version__}",
                 f"UPS-RS at {front.base_url} (basic authentication)", "Our AE title CT1", str(tmp_path / "logs")):
        assert fact in about
    assert "s3cret" not in about


def test_an_unreadable_profiles_file_is_said_and_kept_when_a_new_profile_is_saved(qtbot, open_console, front, tmp_path):
    config = tmp_path / "profiles.toml"
    broken = 'active = "Site"\n[profiles."Site"\nurl = "https://ris.example/dicom-web"\n'  # a bracket lost in an edit
    config.write_text(broken, encoding="utf-8")
    welcome = open_console("--config", str(config))
    assert welcome.problem.isVisible()
    assert "cannot be read" in welcome.problem.text() and "profiles.toml.bak" in welcome.problem.text()
    welcome.configure_button.click()
    dialog = welcome.settings
    dialog.name.setText("Site")
    dialog.ae.setText("CT1")
    dialog.url.setText(front.base_url)
    [save] = [b for b in dialog.findChildren(type(dialog.test_button)) if b.text() == "Save"]
    save.click()
    assert welcome.next_window is not None
    assert profile_store.load(config).get("Site").url == front.base_url
    assert (tmp_path / "profiles.toml.bak").read_text(encoding="utf-8") == broken
