"""A key that cannot act says why: not started, another station's, already ended."""

from __future__ import annotations

import pytest

from app.console import why_not
from app.domain.build import NewWorkitem
from app.domain.dicomjson import to_dataset
from app.domain.workitem import PatientName, Workitem


def item(state: str = "SCHEDULED") -> Workitem:
    new = NewWorkitem(
        uid="1.2.826.0.1.3680043.8.498.7",
        label="CT chest",
        start="20261123080000",
        patient=PatientName("Weiß^Günther"),
        patient_id="P1",
        station="CT1",
        modality="CT",
    )
    ds = to_dataset(new.to_json())
    ds.ProcedureStepState = state
    return Workitem(ds)


@pytest.mark.parametrize(
    "action,words",
    [
        ("complete", "Start it first (F6), or Procedure → Complete without starting…"),
        ("progress", "Start it first (F6)."),
        ("discontinue", "Start it first (F6); to take it off the worklist, Request cancellation (Shift+F9)."),
    ],
)
def test_a_scheduled_procedure_must_be_started_first(action, words):
    sentence = why_not(action, item())
    assert "CT chest for Weiß, Günther has not been started" in sentence and words in sentence


def test_another_stations_procedure_names_that_station():
    assert why_not("complete", item("IN PROGRESS"), holder="CT2") == (
        "Nothing was completed: CT chest for Weiß, Günther is performed by CT2; only CT2 can complete it."
    )
    assert "performed by another station" in why_not("discontinue", item("IN PROGRESS"))


def test_an_end_waiting_or_done_and_no_selection_are_said():
    assert "The completion of CT chest for Weiß, Günther is already waiting to be sent" in why_not(
        "discontinue", item("IN PROGRESS"), mine=True, waiting="complete"
    )
    assert why_not("complete", item("CANCELED")).endswith("is already CANCELED.")
    assert why_not("progress", None) == "No progress was reported: select a procedure first."
    assert "already started on this station" in why_not("start", item("IN PROGRESS"), mine=True)
    assert "MWL/MPPS has no cancellation request" in why_not("cancel", item(), can_request_cancellation=False)
