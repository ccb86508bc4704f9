"""UPS event reports (PS3.4 CC.2.4, Table CC.2.4-1) as DICOM JSON, as PS3.18 8.10.5 sends them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from . import tags as t
from .dicomjson import JsonDataset, items, values
from .dicomjson import first_value as first
from .workitem import Code


class EventType(IntEnum):
    STATE_REPORT = 1
    CANCEL_REQUESTED = 2
    PROGRESS_REPORT = 3
    SCP_STATUS_CHANGE = 4
    ASSIGNED = 5


def _progress_item(dataset: JsonDataset) -> JsonDataset:
    return next(iter(items(dataset, t.PROGRESS_INFORMATION_SEQ)), {})


def _copy(source: JsonDataset, tags: tuple[str, ...]) -> JsonDataset:
    return {tag: source[tag] for tag in tags if values(source, tag)}


def state_report(dataset: JsonDataset, state: str | None = None) -> JsonDataset:
    """Event 1: the state (optionally a state to report instead), readiness, and why it was canceled."""
    attrs: JsonDataset = {
        t.PROCEDURE_STEP_STATE: {
            "vr": "CS",
            "Value": [state or (dataset.get(t.PROCEDURE_STEP_STATE) or {}).get("Value", [""])[0]],
        },
        t.INPUT_READINESS_STATE: dataset.get(t.INPUT_READINESS_STATE) or {"vr": "CS", "Value": ["READY"]},
    }
    if (state or "") != "IN PROGRESS":
        attrs.update(_copy(_progress_item(dataset), (t.REASON_FOR_CANCELLATION, t.DISCONTINUATION_REASON_CODE_SEQ)))
    return attrs


def cancel_requested(requesting_ae: str, request: JsonDataset) -> JsonDataset:
    """Event 2: who asked, and the reason, contact and codes if the request carried them."""
    attrs: JsonDataset = {t.REQUESTING_AE: {"vr": "AE", "Value": [requesting_ae]}}
    attrs.update(
        _copy(
            request,
            (t.REASON_FOR_CANCELLATION, t.DISCONTINUATION_REASON_CODE_SEQ, t.CONTACT_URI, t.CONTACT_DISPLAY_NAME),
        )
    )
    return attrs


def progress_report(dataset: JsonDataset) -> JsonDataset:
    """Event 3: the Progress Information Sequence as it now stands."""
    item = _copy(_progress_item(dataset), (t.PROGRESS, t.PROGRESS_DESCRIPTION, "00741007", t.COMMUNICATIONS_URI_SEQ))
    return {t.PROGRESS_INFORMATION_SEQ: {"vr": "SQ", "Value": [item]}}


def progress_fingerprint(dataset: JsonDataset) -> str:
    """What event 3 watches (CC.2.4.3): progress, its description and the communication URIs."""
    item = _progress_item(dataset)
    return repr([item.get(tag) for tag in (t.PROGRESS, t.PROGRESS_DESCRIPTION, t.COMMUNICATIONS_URI_SEQ)])


def assigned(dataset: JsonDataset) -> JsonDataset | None:
    """Event 5: the station and performers it is now assigned to; None if it is assigned to no one."""
    attrs = _copy(dataset, (t.STATION_NAME_CODE_SEQ,))
    for performer in items(dataset, t.HUMAN_PERFORMERS_SEQ)[:1]:
        attrs.update(_copy(performer, (t.HUMAN_PERFORMER_CODE_SEQ, t.HUMAN_PERFORMER_ORGANIZATION)))
    return attrs or None


def assignment_fingerprint(dataset: JsonDataset) -> str:
    """What event 5 watches (CC.2.4.3): the scheduled station and human performers."""
    return repr([dataset.get(t.STATION_NAME_CODE_SEQ), dataset.get(t.HUMAN_PERFORMERS_SEQ)])


def scp_status(status: str, warm: bool = True) -> JsonDataset:
    """Event 4: RESTARTED or GOING DOWN, and whether subscriptions and workitems were kept."""
    return {
        t.SCP_STATUS: {"vr": "CS", "Value": [status]},
        t.SUBSCRIPTION_LIST_STATUS: {"vr": "CS", "Value": ["WARM START" if warm else "COLD STARTED"]},
        t.UPS_LIST_STATUS: {"vr": "CS", "Value": ["WARM START" if warm else "COLD START"]},
    }


def message(workitem_uid: str, event_type: EventType, message_id: int, attrs: JsonDataset) -> JsonDataset:
    """The notification object of PS3.18 8.10.5.1.1: command fields, then the event attributes."""
    out: JsonDataset = {
        "00000002": {"vr": "UI", "Value": [t.UPS_PUSH_SOP_CLASS]},
        "00000110": {"vr": "US", "Value": [message_id & 0xFFFF]},
        "00001000": {"vr": "UI", "Value": [workitem_uid]},
        "00001002": {"vr": "US", "Value": [int(event_type)]},
    }
    out.update(attrs)
    return out


@dataclass(frozen=True)
class WorkitemEvent:
    """An event report as the console reads it."""

    event_type: EventType
    workitem_uid: str
    state: str = ""
    progress: float | None = None
    progress_description: str = ""
    requesting_ae: str = ""
    reason: str = ""  # the free text, else the coded reason's meaning
    contact: str = ""
    scp_status: str = ""
    attributes: JsonDataset = field(default_factory=dict)
    reason_code: Code | None = None  # CID 9300, as a cancellation request codes it
    reason_text: str = ""  # Reason For Cancellation, as typed by the requester
    contact_uri: str = ""

    @property
    def requester(self) -> str:
        """Who asked, for people: the AE title, else the contact a request named."""
        known = self.requesting_ae if self.requesting_ae not in ("", "UNKNOWN") else ""
        return known or self.contact or "an unnamed requester"


def parse_event(data: JsonDataset) -> WorkitemEvent:
    """A notification frame (PS3.18 8.10.5.1.1) as a WorkitemEvent; ValueError if it is none."""

    try:
        event_type = EventType(int(str(first(data, "00001002"))))
    except (TypeError, ValueError):
        raise ValueError("not an event report: no known Event Type ID (0000,1002)") from None
    progress = _progress_item(data)
    percent = first(progress, t.PROGRESS)
    reason_code = (data.get(t.DISCONTINUATION_REASON_CODE_SEQ) or {}).get("Value") or []
    reason_text = str(first(data, t.REASON_FOR_CANCELLATION) or "")
    code = None
    if reason_code and isinstance(reason_code[0], dict):
        item = reason_code[0]
        code = Code(
            str(first(item, t.CODE_VALUE) or ""),
            str(first(item, t.CODING_SCHEME) or ""),
            str(first(item, t.CODE_MEANING) or ""),
        )
    reason = reason_text or (code.meaning if code else "")
    try:
        percent_value = None if percent in (None, "") else float(percent)
    except (TypeError, ValueError):
        percent_value = None
    return WorkitemEvent(
        event_type=event_type,
        workitem_uid=str(first(data, "00001000") or ""),
        state=str(first(data, t.PROCEDURE_STEP_STATE) or ""),
        progress=percent_value,
        progress_description=str(first(progress, t.PROGRESS_DESCRIPTION) or ""),
        requesting_ae=str(first(data, t.REQUESTING_AE) or ""),
        reason=reason,
        contact=str(first(data, t.CONTACT_DISPLAY_NAME) or ""),
        scp_status=str(first(data, t.SCP_STATUS) or ""),
        attributes=data,
        reason_code=code if code and code.value else None,
        reason_text=reason_text,
        contact_uri=str(first(data, t.CONTACT_URI) or ""),
    )
