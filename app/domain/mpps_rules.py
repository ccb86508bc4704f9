"""The MPPS rules of PS3.4 F.7.2 that every MPPS service applies before it changes anything: what
a creation must say, what an update may do, what a completion must carry. The local service and
the gateway ask the same questions here and answer with the same statuses and comments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from .dicomjson import JsonDataset, first_value, items
from .mapping import MPPS_STATUS, SCHEDULED_STEP_ATTRIBUTES_SEQ, SPS_ID, mpps_missing_for_completion, sps_id
from .status import ERROR_ID_TEXT, ErrorID, Status
from .tags import ACCESSION_NUMBER, PATIENT_ID, REFERENCED_REQUEST_SEQ, SOP_INSTANCE_UID, STUDY_INSTANCE_UID
from .values import InvalidValue, check_values

IN_PROGRESS = "IN PROGRESS"
FINAL_STATES = ("COMPLETED", "DISCONTINUED")


@dataclass(frozen=True)
class Refusal:
    """Why an MPPS request is refused: its DIMSE status, Error Comment and Error ID."""

    status: Status
    comment: str
    error_id: ErrorID | None = None


DUPLICATE = Refusal(Status.DUPLICATE_INSTANCE, "An MPPS with this SOP Instance UID already exists.")
UNKNOWN = Refusal(Status.NO_SUCH_SOP_INSTANCE, "There is no MPPS with this SOP Instance UID.")
NO_LONGER_UPDATABLE = Refusal(
    Status.PROCESSING_FAILURE,
    ERROR_ID_TEXT[ErrorID.MPPS_NO_LONGER_UPDATABLE],
    ErrorID.MPPS_NO_LONGER_UPDATABLE,
)


def creation_refusal(attributes: JsonDataset) -> Refusal | None:
    """Why an N-CREATE (or a Sup 246 Create) may not be done, or None."""
    if first_value(attributes, MPPS_STATUS) != IN_PROGRESS:
        return Refusal(
            Status.INVALID_ATTRIBUTE_VALUE, "Performed Procedure Step Status must be IN PROGRESS at creation."
        )
    return _value_refusal(attributes)


def status_after(stored: JsonDataset, changes: JsonDataset) -> tuple[JsonDataset, str]:
    """The MPPS an update makes (sequences replaced whole, as in DIMSE) and its status."""
    merged = {**stored, **changes}
    return merged, str(first_value(merged, MPPS_STATUS) or IN_PROGRESS)


def update_refusal(stored_status: str, changes: JsonDataset, merged: JsonDataset) -> Refusal | None:
    """Why an N-SET (or a Sup 246 Update) of an MPPS now `stored_status` may not be done, or None."""
    refused = _value_refusal(changes)
    if refused is not None:
        return refused
    if stored_status != IN_PROGRESS:
        return NO_LONGER_UPDATABLE
    status = str(first_value(merged, MPPS_STATUS) or IN_PROGRESS)
    if status not in (IN_PROGRESS, *FINAL_STATES):
        return Refusal(Status.INVALID_ATTRIBUTE_VALUE, f"{status!r} is not a Performed Procedure Step Status.")
    if status == "COMPLETED" and (missing := mpps_missing_for_completion(merged)):
        return Refusal(Status.PROCESSING_FAILURE, f"COMPLETED needs {', '.join(missing)}.")
    return None


def _value_refusal(dataset: JsonDataset) -> Refusal | None:
    try:
        check_values(dataset)
    except InvalidValue as exc:
        return Refusal(Status.INVALID_ATTRIBUTE_VALUE, exc.message)
    return None


# -- which scheduled step an MPPS performs ---------------------------------------------------------
@dataclass(frozen=True)
class StepReference:
    """How one item of an MPPS's Scheduled Step Attributes Sequence names its scheduled step."""

    study: str
    step_id: str
    accession: str
    patient: str

    def searches(self) -> list[list[tuple[str, str]]]:
        """The Searches (UPS-RS query parameters) whose answers hold the step, best first."""
        searches = [
            [("StudyInstanceUID", self.study)] if self.study else None,
            [("ReferencedRequestSequence.AccessionNumber", self.accession)] if self.accession else None,
            [("PatientID", self.patient), ("ProcedureStepState", "SCHEDULED")]
            if self.patient and self.step_id
            else None,
        ]
        return [search for search in searches if search]

    def pick(self, candidates: list[JsonDataset]) -> JsonDataset | None:
        """The workitem among `candidates` that this reference names, or None.

        A step ID we issued (the one our MWL answers give) names its workitem alone. A step ID of
        another system (the modality read another MWL) is placed by its study and accession, and
        only when exactly one workitem fits: an MPPS must never start a step it may not mean."""
        if self.step_id:
            for ups in candidates:
                if sps_id(str(first_value(ups, SOP_INSTANCE_UID))) == self.step_id:
                    return ups
            if not self.study:
                return None
        fits = [ups for ups in candidates if self._same_order(ups)]
        if self.step_id:
            return fits[0] if len(fits) == 1 else None
        return fits[0] if fits else None

    def _same_order(self, ups: JsonDataset) -> bool:
        request = (items(ups, REFERENCED_REQUEST_SEQ) or [{}])[0]
        same_study = not self.study or first_value(ups, STUDY_INSTANCE_UID) == self.study
        return same_study and (not self.accession or first_value(request, ACCESSION_NUMBER) == self.accession)


def step_references(mpps: JsonDataset) -> list[StepReference]:
    """The scheduled steps an MPPS names (PS3.4 F.7.2.1.1), one per Scheduled Step Attributes item."""
    patient = str(first_value(mpps, PATIENT_ID) or "")
    return [
        StepReference(
            str(first_value(step, STUDY_INSTANCE_UID) or ""),
            str(first_value(step, SPS_ID) or ""),
            str(first_value(step, ACCESSION_NUMBER) or ""),
            patient,
        )
        for step in items(mpps, SCHEDULED_STEP_ATTRIBUTES_SEQ)
    ]


def scheduled_step(
    mpps: JsonDataset,
    search: Callable[[list[tuple[str, str]]], list[JsonDataset]],
    survivor: Callable[[str], str | None] | None = None,
) -> JsonDataset | None:
    """The workitem an MPPS performs, found through `search` (a Search by query parameters on
    whatever holds the workitems), or None for an unscheduled procedure. `survivor` names the
    patient a prior Patient ID was merged into: a modality that read its worklist before a merge
    still names the prior ID, and its step is now the surviving patient's."""
    for reference in step_references(mpps):
        searches = reference.searches()
        merged_into = survivor(reference.patient) if survivor and reference.patient else None
        if merged_into:
            searches += [s for s in replace(reference, patient=merged_into).searches() if s not in searches]
        for params in searches:
            found = reference.pick(search(params))
            if found is not None:
                return found
    return None
