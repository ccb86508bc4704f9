"""The technologist's worklist query (station, modality, dates, patient, states), and its
UPS-RS Search parameters. The DIMSE backend will turn the same object into MWL keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from .states import State
from .workitem import Workitem

NOT_FINISHED = (State.SCHEDULED, State.IN_PROGRESS)


@dataclass(frozen=True)
class WorklistQuery:
    station: str = ""  # Scheduled Station Name code value (our AE title); empty: every station
    modality: str = ""  # CID 29 code value
    date_from: date | None = None
    date_to: date | None = None
    patient_name: str = ""  # may hold * and ? wildcards
    patient_id: str = ""
    accession: str = ""
    states: tuple[State, ...] = field(default=NOT_FINISHED)  # empty: every state

    @classmethod
    def today(cls, station: str = "", day: date | None = None) -> WorklistQuery:
        """The default query on start: today, this station, not finished."""
        day = day or date.today()
        return cls(station=station, date_from=day, date_to=day)

    def with_(self, **changes: object) -> WorklistQuery:
        return replace(self, **changes)  # type: ignore[arg-type]

    def search_params(self) -> list[tuple[str, str]]:
        """UPS-RS Search matching keys. A state list cannot be one UPS key: with a single
        state it is sent, otherwise `accepts` filters the results."""
        params: list[tuple[str, str]] = []
        if self.station:
            params.append(("ScheduledStationNameCodeSequence.CodeValue", self.station))
        if self.modality:
            params.append(("ScheduledStationClassCodeSequence.CodeValue", self.modality))
        if self.date_from or self.date_to:
            low = f"{self.date_from:%Y%m%d}000000" if self.date_from else ""
            high = f"{self.date_to:%Y%m%d}235959" if self.date_to else ""
            params.append(("ScheduledProcedureStepStartDateTime", f"{low}-{high}"))
        if self.patient_name:
            params.append(("PatientName", self.patient_name))
        if self.patient_id:
            params.append(("PatientID", self.patient_id))
        if self.accession:
            params.append(("ReferencedRequestSequence.AccessionNumber", self.accession))
        if len(self.states) == 1:
            params.append(("ProcedureStepState", self.states[0].value))
        return params

    def accepts(self, workitem: Workitem) -> bool:
        return not self.states or workitem.state in self.states
