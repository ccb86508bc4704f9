"""The window's test contract: the objectNames tests and accessibility tools find controls by,
an accessible name on every control, and `open_window` with an ad-hoc UPS-RS profile against
any server — two such windows in one process being two stations."""

from __future__ import annotations

from console_helpers import live, loaded, press_start, rows, state_shown
from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QWidget,
)
from test_patient_merge import merge as merge_message
from test_permissions import locked, open_refused  # noqa: F401 (the locked server is a fixture)

from app.domain.states import State
from app.server.hl7_patients import handle_adt

CONTRACT = (
    "profileSelector",
    "refreshAction",
    "queryStation",
    "queryModality",
    "queryDateFrom",
    "queryDateTo",
    "queryPatientName",
    "queryPatientId",
    "queryAccession",
    "queryState",
    "searchButton",
    "quickFilter",
    "worklistTable",
    "detailPane",
    "claimButton",
    "progressSpin",
    "progressDescription",
    "reportProgressButton",
    "performerName",
    "performedBeforeStart",
    "addSeriesButton",
    "completeButton",
    "discontinueButton",
    "requestCancelButton",
    "putBackButton",
    "putBackAction",
    "unscheduledAction",
    "cancelRequestBanner",
    "mergeBanner",
    "eventLog",
    "inspector",
    "connectionStatus",
    "outboxStatus",
    "statusMessage",
)
# shown only when the server refuses the profile's user or AE title (HTTP 403)
REFUSED_CONTRACT = ("configurationBanner",)
# a demo window's HL7 tab: what the simulated RIS sent to the HL7 door, and each ACK
DEMO_CONTRACT = ("hl7Inspector", "hl7Log", "hl7Detail")


def controls(window: QWidget) -> list[QWidget]:
    """What a user can operate, leaving out the parts Qt builds inside other controls."""
    found = []
    for widget in window.findChildren(QWidget):
        if isinstance(widget, QHeaderView) or widget.objectName().startswith("qt_"):
            continue
        parent = widget.parentWidget()
        if widget.isHidden():
            continue  # not there to operate (a message's unused action button)
        if isinstance(widget, QLineEdit) and isinstance(parent, (QAbstractSpinBox, QComboBox)):
            continue  # the editor inside a spin box or combo box: the box has the name
        if parent is not None and (parent.inherits("QComboBoxPrivateContainer") or isinstance(parent, QLineEdit)):
            continue  # a combo box's popup list, a line edit's clear button: parts of a named control
        if isinstance(widget, (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView)):
            if type(widget).__name__ in ("QToolBarExtension", "QDockWidgetTitleButton", "QLineEditIconButton"):
                continue
            found.append(widget)
    return found


def spoken_name(widget: QWidget) -> str:
    if widget.accessibleName():
        return widget.accessibleName()
    return widget.text() if isinstance(widget, QAbstractButton) else ""


def test_every_contract_name_is_there_and_every_control_has_a_name(qtbot, open_console, front, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the user data folder of this test
    from app.ui.launch import open_window

    window = open_window(["--backend", "upsrs", "--url", front.base_url, "--ae-title", "CT1", "--station", "CT1"])
    open_console  # noqa: B018 (its teardown closes every console this test opened)
    loaded(qtbot, window)
    live(qtbot, window)
    item = next(w for w in rows(window) if w.state is State.SCHEDULED)
    window.select(item.uid)
    press_start(window)
    qtbot.waitUntil(lambda: window.procedure.complete_button.isEnabled(), timeout=5000)
    # the claim reached the server: a cancellation asked before it would cancel the step outright
    qtbot.waitUntil(lambda: '"IN PROGRESS"' in front.service.retrieve(item.uid), timeout=5000)
    front.service.request_cancellation(item.uid, "RIS", {})  # brings the cancellation request banner
    qtbot.waitUntil(lambda: window.findChild(QObject, "cancelRequestBanner") is not None, timeout=3000)
    handle_adt(merge_message(item.patient_id, f"MERGED-{item.patient_id}"), front.local)  # the merge banner
    qtbot.waitUntil(lambda: window.findChild(QObject, "mergeBanner") is not None, timeout=3000)
    missing = [name for name in CONTRACT if window.findChild(QObject, name) is None]
    assert missing == []
    unnamed = [
        f"{type(w).__name__} {w.objectName()!r} in {type(w.parentWidget()).__name__} {w.parentWidget().objectName()!r}"
        for w in controls(window)
        if not spoken_name(w).strip()
    ]
    assert unnamed == [], "\n".join(unnamed)


def test_a_demo_window_names_its_hl7_tab_and_its_parts(qtbot, open_console):
    window = open_console("demo")
    loaded(qtbot, window)
    assert [name for name in DEMO_CONTRACT if window.findChild(QObject, name) is None] == []
    assert [name for name in DEMO_CONTRACT if not window.findChild(QWidget, name).accessibleName().strip()] == []


def test_two_open_windows_against_one_server_are_two_stations(qtbot, open_console, front, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from app.ui.launch import open_window

    first = open_window(["--backend", "upsrs", "--url", front.base_url, "--ae-title", "US1", "--station", "US1"])
    second = open_window(["--backend", "upsrs", "--url", front.base_url, "--ae-title", "US1B", "--station", "US1"])
    open_console  # noqa: B018
    loaded(qtbot, first)
    loaded(qtbot, second)
    live(qtbot, second)
    item = next(w for w in rows(first) if w.state is State.SCHEDULED)
    first.select(item.uid)
    press_start(first)
    qtbot.waitUntil(lambda: state_shown(second, item.uid) == "IN PROGRESS", timeout=5000)
    second.select(item.uid)
    assert first.session.is_mine(item.uid) and not second.session.is_mine(item.uid)
    assert not second.procedure.complete_button.isEnabled()


def test_a_refused_profile_shows_its_banner_by_name_and_every_control_has_a_name(
    qtbot,
    open_console,
    locked,  # noqa: F811 (the fixture imported above)
    tmp_path,
):
    window = open_refused(open_console, locked, tmp_path)
    qtbot.waitUntil(lambda: window.findChild(QObject, "configurationBanner") is not None, timeout=10000)
    assert [name for name in REFUSED_CONTRACT if window.findChild(QObject, name) is None] == []
    assert [type(w).__name__ for w in controls(window) if not spoken_name(w).strip()] == []


def test_the_settings_name_the_start_question_check_box(qtbot):
    from app.backends.profiles import Profile, ProfileBook
    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(ProfileBook([Profile(name="Site", ae_title="CT1")]))
    qtbot.addWidget(dialog)
    check = dialog.findChild(QObject, "confirmStartCheck")
    assert check is not None and check.accessibleName() and check.isChecked()


# the DIMSE page's user and password (sent as a DICOM User Identity)
SETTINGS_CONTRACT = {"dimseUser": "DIMSE user", "dimsePassword": "DIMSE password"}


def test_the_settings_name_the_dimse_user_and_password(qtbot):
    from PySide6.QtWidgets import QLineEdit

    from app.backends.profiles import Profile, ProfileBook
    from app.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(ProfileBook([Profile(name="Site", backend="dimse", ae_title="CT1")]))
    qtbot.addWidget(dialog)
    found = {name: dialog.findChild(QLineEdit, name) for name in SETTINGS_CONTRACT}
    assert {name: field.accessibleName() if field else None for name, field in found.items()} == SETTINGS_CONTRACT
