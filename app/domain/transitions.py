"""What a UPS transaction does to a workitem and which events it raises (PS3.4 CC.2.4.3).

The embedded service and the DIMSE gateway both keep workitems; each applies a change through
these functions, so the two cannot drift in what a change means or in who hears of it.
"""

from __future__ import annotations

from . import events as ev
from . import tags as t
from .dicomjson import JsonDataset, first_value
from .requirements import complete_cancellation, missing_for_completion
from .states import State
from .status import Status, UPSError, fitting

Event = tuple[ev.EventType, JsonDataset]


def created_events(dataset: JsonDataset) -> list[Event]:
    """A new workitem: its State Report, and its assignment when it is assigned to anyone."""
    events: list[Event] = [(ev.EventType.STATE_REPORT, ev.state_report(dataset))]
    assignment = ev.assigned(dataset)
    if assignment:
        events.append((ev.EventType.ASSIGNED, assignment))
    return events


def updated_events(before: JsonDataset, after: JsonDataset) -> list[Event]:
    """What an N-SET / Update changed that subscribers are told: progress, input readiness
    (a State Report, CC.2.4.3) and the assignment."""
    events: list[Event] = []
    if ev.progress_fingerprint(before) != ev.progress_fingerprint(after):
        events.append((ev.EventType.PROGRESS_REPORT, ev.progress_report(after)))
    if first_value(before, t.INPUT_READINESS_STATE) != first_value(after, t.INPUT_READINESS_STATE):
        events.append((ev.EventType.STATE_REPORT, ev.state_report(after)))
    if ev.assignment_fingerprint(before) != ev.assignment_fingerprint(after):
        assignment = ev.assigned(after)
        if assignment:
            events.append((ev.EventType.ASSIGNED, assignment))
    return events


def patient_changed_events(before: JsonDataset, after: JsonDataset) -> list[Event]:
    """What a patient merge or a demographics correction (HL7 ADT) tells the subscribers of a
    workitem. PS3.4 CC.2.4.3 has no event for a changed patient (an Update of demographics raises
    none); but a console showing the workitem must learn that the patient is now another ID or
    another name before the technologist starts, and a filtered subscription on the patient must
    learn of the workitem it now covers. So a State Report restating the unchanged state, as the
    one a new subscription gets for what it covers: every UPS user agent re-reads the workitem on
    it, and none takes it for a change of state."""
    events = updated_events(before, after)
    if any(first_value(before, tag) != first_value(after, tag) for tag in PATIENT_FACTS):
        events.append((ev.EventType.STATE_REPORT, ev.state_report(after)))
    return events


# what identifies the patient to the technologist at the modality
PATIENT_FACTS = (t.PATIENT_ID, t.ISSUER_OF_PATIENT_ID, t.PATIENT_NAME, t.BIRTH_DATE, t.SEX)


def updated(before: JsonDataset, changes: JsonDataset, now: str) -> JsonDataset:
    """The workitem after an accepted Update: the changes, stamped with the modification time."""
    return {**before, **changes, t.SPS_MODIFICATION_DATETIME: {"vr": "DT", "Value": [now]}}


def check_completable(dataset: JsonDataset) -> None:
    """Refuse COMPLETED while Final State code P (Table CC.2.5-1) still lacks something."""
    missing = missing_for_completion(dataset)
    if missing:
        raise UPSError(
            Status.FINAL_STATE_NOT_MET,
            "The submitted request is inconsistent with the state of the UPS Instance: "
            f"to be COMPLETED it needs {', '.join(missing)}.",
            short=fitting(
                f"To be COMPLETED it needs {', '.join(missing)}.",
                "It lacks what COMPLETED needs; the log names it.",
            ),
        )


def entered(dataset: JsonDataset, new_state: State, now: str) -> JsonDataset:
    """The workitem once it has entered `new_state`: COMPLETED only when complete (else
    UPSError 0xC304 naming what lacks), CANCELED with its cancellation filled in (code X)."""
    if new_state is State.COMPLETED:
        check_completable(dataset)
    result = complete_cancellation(dataset, now) if new_state is State.CANCELED else dict(dataset)
    result[t.PROCEDURE_STEP_STATE] = {"vr": "CS", "Value": [new_state.value]}
    return result
