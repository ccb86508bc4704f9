"""A patient merge from the RIS while this console performs one of the patient's procedures: the
console says, unasked, that the procedure goes on under the surviving patient ID."""

from __future__ import annotations

import re

import hl7
from console_helpers import live, loaded, rows, start_selected

from app.domain.states import State
from app.server.hl7_patients import handle_adt


def merge(prior: str, survivor: str) -> hl7.Message:
    return hl7.parse(
        "MSH|^~\\&|RIS|HOSPITAL|WORKLIST|HOSPITAL|20260115093000||ADT^A40|M1|P|2.5\r"
        f"PID|||{survivor}||Doe^Jane\rMRG|{prior}\r"
    )


def test_a_merge_of_the_patient_in_progress_here_shows_its_banner(qtbot, open_console, front, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    from app.ui.launch import open_window

    window = open_window(["--backend", "upsrs", "--url", front.base_url, "--ae-title", "CT1", "--station", "CT1"])
    open_console  # noqa: B018 (its teardown closes every console this test opened)
    loaded(qtbot, window)
    live(qtbot, window)
    item = next(w for w in rows(window) if w.state is State.SCHEDULED)
    window.select(item.uid)
    seen: list = []
    window.session.exchange.connect(seen.append)
    item = start_selected(qtbot, window)

    def claim_settled() -> bool:
        """The claim's own reloads (once sent, once told) are answered: from now on only the
        merge's event can bring the new patient ID."""
        about = [e for e in seen if item.uid in e.summary]
        reloads = [e for e in about if e.direction == "→" and e.summary.startswith("GET")]
        answered = sum(e.direction == "←" for e in about) == sum(e.direction == "→" for e in about)
        return len(reloads) >= 2 and answered

    qtbot.waitUntil(claim_settled, timeout=5000)
    survivor = f"MERGED-{item.patient_id}"[:64]
    assert handle_adt(merge(item.patient_id, survivor), front.local).workitems

    qtbot.waitUntil(lambda: window.messages.get(f"merge:{item.uid}") is not None, timeout=3000)
    banner = window.messages.get(f"merge:{item.uid}")
    assert banner.objectName() == "mergeBanner"
    assert f"The RIS merged this patient into {survivor}: the procedure continues under the new patient ID." in re.sub(
        "<[^>]+>", "", banner.text.text()
    )
    assert window.procedure.complete_button.isEnabled()  # the procedure goes on
