"""The technologist's worklist query (station, modality, dates, patient, states), and its
UPS-RS Search parameters. The DIMSE backend will turn the same object into MWL keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, tzinfo

from .dates import TODAY, relative_span
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
    time_to: time | None = None  # the last day ends at this time; None: at its end
    # a relative date choice ("Today" …, dates.RELATIVE_CHOICES): the dates above are what it
    # meant when the query was made, and `at` says what it means at the moment of a search
    dates: str = ""

    @classmethod
    def today(cls, station: str = "", day: date | None = None) -> WorklistQuery:
        """The default query on start: today, this station, not finished."""
        if day is not None:
            return cls(station=station, date_from=day, date_to=day)
        return cls(station=station, dates=TODAY).at(datetime.now())

    def at(self, now: datetime) -> WorklistQuery:
        """The query with its relative date choice worked out for `now` (itself when it has none)."""
        if not self.dates:
            return self
        first, last = relative_span(self.dates, now)
        return replace(
            self, date_from=first.date(), date_to=last.date(), time_to=None if last.time() == time.max else last.time()
        )

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
            high = f"{self.date_to:%Y%m%d}{self.time_to or time.max:%H%M%S}" if self.date_to else ""
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

    def holds(self, workitem: Workitem, local: tzinfo | None = None) -> bool:
        """Does a search answer belong to this query: its state, and, when the last day ends
        before midnight, its scheduled time? MWL is searched by whole days (see
        `mwl_identifier`), so the hours are narrowed here."""
        if not self.accepts(workitem):
            return False
        if self.time_to is None or self.date_to is None:
            return True
        start = workitem.scheduled_start(local or datetime.now().astimezone().tzinfo or UTC)
        return start is None or start <= datetime.combine(self.date_to, self.time_to)
