"""First run, profiles and Test connection, as an installer meets them."""

from __future__ import annotations

from console_helpers import laid_out

from app.backends import check_profile
from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileBook
from app.ui.settings_dialog import SettingsDialog


def test_first_run_offers_the_demo_which_then_points_to_settings(qtbot, open_console, tmp_path):
    welcome = open_console("--config", str(tmp_path / "profiles.toml"))
    assert welcome.demo_button.text() == "Start the demo" and welcome.configure_button.text() == "Configure a server…"
    welcome.demo_button.click()
    window = welcome.next_window
    assert window.demo is not None
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    notice = window.messages.get("demo")
    assert notice is not None and "demo" in notice.text.text()
    assert notice.action.text() == "Settings…"


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
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=5000)
    assert dialog.test_result.text().startswith("✓ The UPS-RS server at 127.0.0.1:")
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
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=5000)
    assert dialog.test_result.text().startswith("✓ The UPS-RS server at 127.0.0.1:")
    dialog.url.setText("http://127.0.0.1:9/dicom-web")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.test_result.text().startswith("✗"), timeout=5000)
    assert "Cannot reach the worklist server at 127.0.0.1:9" in dialog.test_result.text()
    dialog.ae.setText("")
    dialog.test_button.click()
    assert "AE title" in dialog.test_result.text()


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
    qtbot.waitUntil(lambda: dialog.test_result.text().count("\n") == 1, timeout=10000)
    worklist, mpps = dialog.test_result.text().splitlines()
    assert worklist == (
        f"✓ The worklist server WORKLIST at 127.0.0.1:{dimse_port} answers C-ECHO and accepts "
        "worklist queries (MWL C-FIND)."
    )
    assert mpps.startswith("✗ Cannot reach the MPPS server at 127.0.0.1:9")
    dialog.mpps.set("", 0, "")  # same as the worklist peer
    dialog.charset.setCurrentText("ISO_IR 192")
    buttons = [b for b in dialog.findChildren(type(dialog.test_button)) if b.text() == "Save"]
    buttons[0].click()
    saved = book.get("Site RIS (DIMSE)")
    assert saved is not None and book.active == "Site RIS (DIMSE)"
    assert (saved.backend, saved.mwl_port, saved.mwl_aet, saved.mpps_peer, saved.fallback_charset) == (
        "dimse",
        dimse_port,
        "WORKLIST",
        ("127.0.0.1", dimse_port, "WORKLIST"),
        "ISO_IR 192",
    )


def test_saved_profiles_come_back_and_secrets_stay_out_of_logs(tmp_path):
    path = tmp_path / "profiles.toml"
    book = ProfileBook()
    book.put(
        Profile(
            name='Site "A"',
            url="https://ris.example/dicom-web",
            ae_title="CT1",
            auth="basic",
            username="tech",
            password='pa\\ss"word',
            dcm4chee=True,
            timeout=12.5,
        )
    )
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
        profile_store.save(
            ProfileBook(
                [
                    Profile(
                        name="Site",
                        url=front.base_url,
                        ae_title="CT1",
                        auth="basic",
                        username="tech",
                        password="s3cret-Pw",
                    )
                ],
                "Site",
            ),
            config,
        )
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

    for fact in (
        f"Qt {qVersion()}",
        f"pydicom {pydicom.__version__}",
        f"pynetdicom {pynetdicom.__version__}",
        f"UPS-RS at {front.base_url} (basic authentication)",
        "Our AE title CT1",
        str(tmp_path / "logs"),
    ):
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


# -- the dialog in a technologist's hands ------------------------------------------------------------


def settings_for(qtbot, book: ProfileBook) -> SettingsDialog:
    from PySide6.QtWidgets import QApplication

    from app.ui.launch import apply_style

    apply_style(QApplication.instance())  # as the console starts: the style sheet draws the marks
    dialog = SettingsDialog(book)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def two_sites() -> ProfileBook:
    return ProfileBook(
        [
            Profile(name="Main RIS", ae_title="CT1", url="https://ris.example/dicom-web"),
            Profile(
                name="Backup RIS", ae_title="CT1", backend="dimse", mwl_host="10.0.0.5", mwl_port=104, mwl_aet="RIS_MWL"
            ),
        ],
        "Main RIS",
    )


def press_save(qtbot, dialog: SettingsDialog) -> None:
    from PySide6.QtCore import Qt

    [save] = [b for b in dialog.findChildren(type(dialog.test_button)) if b.text() == "Save"]
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)


def choose(qtbot, dialog: SettingsDialog, name: str) -> None:
    from PySide6.QtCore import Qt

    [item] = dialog.names.findItems(name, Qt.MatchFlag.MatchExactly)
    qtbot.mouseClick(dialog.names.viewport(), Qt.MouseButton.LeftButton, pos=dialog.names.visualItemRect(item).center())
    assert dialog.name.text() == name


def listed(dialog: SettingsDialog) -> list[str]:
    return [dialog.names.item(row).text() for row in range(dialog.names.count())]


def test_the_dialog_keeps_its_size_when_the_backend_changes_and_fits_a_small_screen(qtbot):
    from PySide6.QtCore import Qt

    dialog = settings_for(qtbot, ProfileBook())
    before = dialog.size()
    assert before.width() <= 1000 and before.height() <= 700  # 1024×768 less a title bar and a task bar
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Down)
    laid_out(qtbot, dialog)
    assert dialog.dimse_box.isVisible() and not dialog.upsrs_box.isVisible()
    assert dialog.size() == before
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Up)
    laid_out(qtbot, dialog)
    assert dialog.upsrs_box.isVisible() and dialog.size() == before


def test_credentials_can_be_typed_only_for_the_authentication_chosen(qtbot):
    from PySide6.QtCore import Qt

    dialog = settings_for(qtbot, two_sites())
    enabled = lambda: (dialog.username.isEnabled(), dialog.password.isEnabled(), dialog.token.isEnabled())  # noqa: E731
    assert dialog.auth.currentData() == "none" and enabled() == (False, False, False)
    qtbot.keyClick(dialog.auth, Qt.Key.Key_Down)
    assert dialog.auth.currentData() == "basic" and enabled() == (True, True, False)
    qtbot.keyClick(dialog.auth, Qt.Key.Key_Down)
    assert dialog.auth.currentData() == "bearer" and enabled() == (False, False, True)


def test_the_two_timeouts_say_on_screen_what_each_waits_for(qtbot):
    dialog = settings_for(qtbot, two_sites())
    assert dialog.timeout_hint.isVisible()
    assert all(word in dialog.timeout_hint.text() for word in ("connect", "TLS", "association", "HTTP answer"))
    choose(qtbot, dialog, "Backup RIS")
    assert dialog.dimse_timeout_hint.isVisible() and "each DIMSE answer" in dialog.dimse_timeout_hint.text()
    assert dialog.timeout.accessibleDescription() == dialog.timeout_hint.text()


def answer_with(dialog: SettingsDialog, press) -> list[str]:
    """Answers each question the dialog asks with `press(box)` once it is on screen; the questions' texts."""
    from PySide6.QtCore import QTimer

    asked = []

    def on_question(box) -> None:
        asked.append(box.text())
        QTimer.singleShot(0, lambda: press(box))

    dialog.confirming.connect(on_question)
    return asked


def test_delete_asks_once_naming_the_profile_and_enter_keeps_it(qtbot):
    from PySide6.QtCore import Qt

    book = two_sites()
    dialog = settings_for(qtbot, book)
    asked = answer_with(dialog, lambda box: qtbot.keyClick(box, Qt.Key.Key_Return))
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert asked == ["Delete the profile “Main RIS”?"]
    assert listed(dialog) == ["Main RIS", "Backup RIS"] and dialog.name.text() == "Main RIS"


def test_a_deleted_profile_leaves_the_list_and_the_book_only_on_save(qtbot):
    from PySide6.QtCore import Qt

    book = two_sites()
    dialog = settings_for(qtbot, book)

    def press_delete(box) -> None:
        [delete] = [b for b in box.buttons() if b.text() == "Delete"]
        qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)

    asked = answer_with(dialog, press_delete)
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert asked == ["Delete the profile “Main RIS”?"]
    assert listed(dialog) == ["Backup RIS"] and dialog.name.text() == "Backup RIS"
    assert "Cancel keeps it" in dialog.test_result.text()
    assert [p.name for p in book.profiles] == ["Main RIS", "Backup RIS"]  # not yet: Cancel would keep it
    # the start-up profile is gone: the one saved next opens at start-up, and the box says so
    assert dialog.startup.isChecked()
    press_save(qtbot, dialog)
    assert [p.name for p in book.profiles] == ["Backup RIS"] and book.active == "Backup RIS"


def test_cancel_after_delete_keeps_the_profile(qtbot):
    from PySide6.QtCore import Qt

    book = two_sites()
    dialog = settings_for(qtbot, book)
    answer_with(dialog, lambda box: [b for b in box.buttons() if b.text() == "Delete"][0].click())
    choose(qtbot, dialog, "Backup RIS")
    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    assert listed(dialog) == ["Main RIS"]
    dialog.reject()
    assert [p.name for p in book.profiles] == ["Main RIS", "Backup RIS"] and book.active == "Main RIS"


def test_duplicate_shows_a_copy_under_a_free_name_which_a_rename_replaces(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    book = two_sites()
    dialog = settings_for(qtbot, book)
    qtbot.mouseClick(dialog.duplicate_button, Qt.MouseButton.LeftButton)
    assert listed(dialog) == ["Main RIS", "Backup RIS", "Copy of Main RIS"]
    assert dialog.names.currentItem().text() == "Copy of Main RIS" == dialog.name.text()
    assert dialog.focusWidget() is dialog.name and dialog.name.selectedText() == "Copy of Main RIS"
    assert (dialog.ae.text(), dialog.url.text()) == ("CT1", "https://ris.example/dicom-web")
    QTest.keyClicks(dialog.name, "CT2 room")  # typing replaces the selected name
    dialog.ae.setText("CT2")
    press_save(qtbot, dialog)
    assert [(p.name, p.ae_title) for p in book.profiles] == [
        ("Main RIS", "CT1"),
        ("Backup RIS", "CT1"),
        ("CT2 room", "CT2"),
    ]
    assert book.active == "Main RIS"


def test_a_second_duplicate_gets_its_own_name(qtbot):
    from PySide6.QtCore import Qt

    dialog = settings_for(qtbot, two_sites())
    qtbot.mouseClick(dialog.duplicate_button, Qt.MouseButton.LeftButton)
    choose(qtbot, dialog, "Main RIS")
    qtbot.mouseClick(dialog.duplicate_button, Qt.MouseButton.LeftButton)
    assert listed(dialog)[2:] == ["Copy of Main RIS", "Copy of Main RIS (2)"]


def red_border(widget) -> bool:
    from PySide6.QtGui import QColor

    image = widget.grab().toImage()
    return any(image.pixelColor(x, image.height() // 2) == QColor("#b91c1c") for x in range(3))


def test_the_field_a_check_blames_is_marked_focused_and_cleared_when_edited(qtbot):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    book = ProfileBook()
    dialog = settings_for(qtbot, book)
    qtbot.keyClick(dialog.backend, Qt.Key.Key_Down)  # MWL + MPPS
    dialog.name.setText("Site")
    dialog.ae.setText("CT1")
    dialog.mwl.set("", 104, "RIS_MWL")
    assert not red_border(dialog.mwl.host)
    press_save(qtbot, dialog)
    assert dialog.isVisible() and book.profiles == []
    assert dialog.mwl.host.property("invalid") is True and red_border(dialog.mwl.host)
    assert dialog.focusWidget() is dialog.mwl.host and "host" in dialog.test_result.text()
    assert dialog.invalid_widgets() == [dialog.mwl.host]
    QTest.keyClicks(dialog.mwl.host, "10.0.0.5")
    assert not dialog.mwl.host.property("invalid") and not red_border(dialog.mwl.host)
    dialog.ae.clear()
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.invalid_widgets() == [dialog.ae] and dialog.focusWidget() is dialog.ae


def test_a_name_another_profile_has_is_marked_and_nothing_is_overwritten(qtbot):
    book = two_sites()
    dialog = settings_for(qtbot, book)
    choose(qtbot, dialog, "Backup RIS")
    dialog.name.setText("Main RIS")
    press_save(qtbot, dialog)
    assert dialog.invalid_widgets() == [dialog.name] and "already exists" in dialog.test_result.text()
    assert [(p.name, p.backend) for p in book.profiles] == [("Main RIS", "upsrs"), ("Backup RIS", "dimse")]


def test_saving_a_profile_makes_it_the_start_up_one_only_when_asked(qtbot):
    book = two_sites()
    dialog = settings_for(qtbot, book)
    assert dialog.startup.isChecked() and not dialog.startup.isEnabled()  # Main RIS opens at start-up
    choose(qtbot, dialog, "Backup RIS")
    assert not dialog.startup.isChecked() and dialog.startup.isEnabled()
    dialog.station.setText("CT2")
    press_save(qtbot, dialog)
    assert book.get("Backup RIS").station == "CT2" and book.active == "Main RIS"

    dialog = settings_for(qtbot, book)
    choose(qtbot, dialog, "Backup RIS")
    dialog.startup.click()
    press_save(qtbot, dialog)
    assert book.active == "Backup RIS"


def test_the_modality_is_read_from_the_station_name_or_chosen(qtbot):
    from PySide6.QtCore import Qt

    book = two_sites()
    dialog = settings_for(qtbot, book)
    assert dialog.modality.currentIndex() == 0 and dialog.modality.currentText() == "From the station name (CT)"
    dialog.station.setText("ROOM7")
    assert dialog.modality.currentText() == "From the station name (not recognised)"
    press_save(qtbot, dialog)
    assert (book.get("Main RIS").modality, book.get("Main RIS").station_modality) == ("", "")

    dialog = settings_for(qtbot, book)
    dialog.modality.setFocus()
    for _ in range(dialog.modality.findData("MR")):
        qtbot.keyClick(dialog.modality, Qt.Key.Key_Down)
    assert dialog.modality.currentText() == "MR — Magnetic Resonance"
    press_save(qtbot, dialog)
    assert book.get("Main RIS").station_modality == "MR"
    assert settings_for(qtbot, book).modality.currentData() == "MR"


def test_every_control_has_a_name_a_screen_reader_can_say(qtbot):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QListWidget

    dialog = settings_for(qtbot, two_sites())
    kinds = (QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QListWidget)
    controls = [
        w
        for kind in kinds
        for w in dialog.findChildren(kind)
        if not isinstance(w.parent(), (QAbstractSpinBox, QComboBox))
    ]  # their own inner editors
    assert len(controls) > 25
    unnamed = [
        f"{type(w).__name__} {w.objectName() or w.text() if hasattr(w, 'text') else ''}"
        for w in controls
        if not w.accessibleName()
    ]
    assert unnamed == []
    assert {dialog.mwl.host.accessibleName(), dialog.mpps.port.accessibleName(), dialog.mwl.aet.accessibleName()} == {
        "Worklist server host",
        "MPPS server port",
        "Worklist server called AE title",
    }
    assert {b.objectName() for b in (dialog.new_button, dialog.duplicate_button, dialog.delete_button)} == {
        "newProfileButton",
        "duplicateProfileButton",
        "deleteProfileButton",
    }
    assert dialog.findChild(QAbstractButton, "startupCheck") is dialog.startup


def test_a_dimse_profile_turns_tls_on_with_the_keyboard_trusts_the_ca_file_and_keeps_it(qtbot, open_console, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from app.server import ServerConfig, UPSServer

    open_console("demo")  # the window brings the app's event loop, which runs Test connection
    config = ServerConfig(
        http_port=0, dimse_port=0, db_path=str(tmp_path / "tls.db"), dimse_tls=True, tls_self_signed=True
    )
    server = UPSServer(config).start()
    try:
        assert server.tls is not None and server.tls.ca is not None
        book = ProfileBook(
            [Profile(name="Site RIS", backend="dimse", ae_title="CT1", mwl_port=server.dimse.port, timeout=5)],
            "Site RIS",
        )
        dialog = settings_for(qtbot, book)
        dialog.tester = check_profile
        assert dialog.dimse_tls.isVisible() and not dialog.dimse_tls.isChecked()
        assert not dialog.dimse_ca_file.isEnabled()
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=10000)
        assert dialog.test_result.text().startswith("✗")  # plain DICOM does not reach a TLS port

        dialog.dimse_tls.setFocus()
        qtbot.keyClick(dialog.dimse_tls, Qt.Key.Key_Space)
        assert dialog.dimse_tls.isChecked() and dialog.dimse_ca_file.isEnabled()
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=10000)
        assert "certificate is not trusted" in dialog.test_result.text()
        assert "CA file" in dialog.test_result.text()  # says what to do

        dialog.mpps.aet.setFocus()
        qtbot.keyClick(dialog.mpps.aet, Qt.Key.Key_Tab)  # the form's order: MPPS peer, TLS, its CA file
        assert dialog.focusWidget() is dialog.dimse_tls
        qtbot.keyClick(dialog.dimse_tls, Qt.Key.Key_Tab)
        assert dialog.focusWidget() is dialog.dimse_ca_file
        QTest.keyClicks(dialog.dimse_ca_file, str(server.tls.ca))
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.test_result.text().startswith(("✓", "✗")), timeout=10000)
        assert dialog.test_result.text().startswith("✓ The worklist server WORKLIST at 127.0.0.1:")
        press_save(qtbot, dialog)
        saved = book.get("Site RIS")
        assert saved is not None and (saved.tls, saved.ca_file) == (True, str(server.tls.ca))
    finally:
        server.stop()

    again = settings_for(qtbot, book)  # opened again, the profile shows what was saved, and saving keeps it
    assert again.dimse_tls.isChecked() and again.dimse_ca_file.text() == str(server.tls.ca)
    qtbot.keyClick(again.backend, Qt.Key.Key_Up)  # UPS-RS: the same CA file
    assert again.ca_file.text() == str(server.tls.ca)
    qtbot.keyClick(again.backend, Qt.Key.Key_Down)
    press_save(qtbot, again)
    assert book.get("Site RIS").tls is True


def test_saving_an_unchanged_dimse_profile_keeps_its_tls(qtbot):
    book = ProfileBook(
        [Profile(name="TLS RIS", backend="dimse", ae_title="CT1", mwl_host="10.0.0.5", tls=True, ca_file="ca.pem")],
        "TLS RIS",
    )
    dialog = settings_for(qtbot, book)
    assert dialog.dimse_tls.isChecked() and dialog.dimse_ca_file.isEnabled() and dialog.dimse_ca_file.text() == "ca.pem"
    press_save(qtbot, dialog)
    assert (book.get("TLS RIS").tls, book.get("TLS RIS").ca_file) == (True, "ca.pem")


def test_saving_a_profile_in_settings_keeps_its_staff_list(qtbot):
    staff = ["Becker, Anna", "Tanaka, Yui"]  # written in the file by the site; Settings does not edit it
    book = ProfileBook([Profile(name="CT room", ae_title="CT1", staff=staff)], "CT room")
    dialog = settings_for(qtbot, book)
    dialog.station.setText("CT1")
    press_save(qtbot, dialog)
    assert book.get("CT room").staff == staff


def test_the_dimse_page_shows_its_hints_whole(qtbot):
    dialog = settings_for(qtbot, two_sites())
    choose(qtbot, dialog, "Backup RIS")
    laid_out(qtbot, dialog)
    hint = dialog.dimse_timeout_hint
    assert hint.isVisible() and hint.height() >= hint.heightForWidth(hint.width())
