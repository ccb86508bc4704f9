"""What the technologist typed for a procedure and has not sent yet: kept per workitem in
the console's local store, so a click on another patient or a restart loses none of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .workitem import Code


@dataclass(frozen=True)
class SeriesDraft:
    series_uid: str
    description: str = ""
    instances: str = ""  # SOP Instance UIDs as typed, separated by spaces


@dataclass(frozen=True)
class ProcedureDraft:
    technologist: str = ""
    procedures: tuple[Code, ...] | None = None  # None: the scheduled codes, untouched
    series: tuple[SeriesDraft, ...] = field(default_factory=tuple)
    percent: int | None = None
    progress_text: str = ""
    started: str = ""  # DT, when the technologist changed it
    ended: str = ""  # DT, when the technologist set it; empty: at completion

    def is_empty(self) -> bool:
        return self == ProcedureDraft()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ProcedureDraft:
        codes = d.get("procedures")
        return cls(
            technologist=str(d.get("technologist", "")),
            procedures=None if codes is None else tuple(Code(**c) for c in codes),
            series=tuple(SeriesDraft(**s) for s in d.get("series", ())),
            percent=None if d.get("percent") is None else int(d["percent"]),
            progress_text=str(d.get("progress_text", "")),
            started=str(d.get("started", "")),
            ended=str(d.get("ended", "")),
        )
