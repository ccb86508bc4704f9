"""UPS event reports (PS3.4 CC.2.4, Table CC.2.4-1) as DICOM JSON, as PS3.18 8.10.5 sends them."""
from __future__ import annotations

from enum import IntEnum

from . import tags as t
from .dicomjson import JsonDataset


class EventType(IntEnum):
    STATE_REPORT = 1
    CANCEL_REQUESTED = 2
    PROGRESS_REPORT = 3
    SCP_STATUS_CHANGE = 4
    ASSIGNED = 5


def _progress_item(dataset: JsonDataset) -> JsonDataset:
    items = (dataset.get(t.PROGRESS_INFORMATION_SEQ) or {}).get("Value") or []
    return items[0] if items and isinstance(items[0], dict) else {}


def _copy(source: JsonDataset, tags: tuple[str, ...]) -> JsonDataset:
    return {tag: source[tag] for tag in tags if (source.get(tag) or {}).get("Value")}


def state_report(dataset: JsonDataset, state: str | None = None) -> JsonDataset:
    """Event 1: the state (optionally a state to report instead), readiness, and why it was canceled."""
    attrs: JsonDataset = {
        t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": [state or (dataset.get(t.PROCEDURE_STEP_STATE) or {}).get("Value", [""])[0]]},
        t.INPUT_READINESS_STATE: dataset.get(t.INPUT_READINESS_STATE) or {"vr": "CS", "Value": ["READY"]},
    }
    if (state or "") != "IN PROGRESS":
        attrs.update(_copy(_progress_item(dataset), (t.REASON_FOR_CANCELLATION, t.DISCONTINUATION_REASON_CODE_SEQ)))
    return attrs


def cancel_requested(requesting_ae: str, request: JsonDataset) -> JsonDataset:
    """Event 2: who asked, and the reason, contact and codes if the request carried them."""
    attrs: JsonDataset = {t.REQUESTING_AE: {"vr": "AE", "Value": [requesting_ae]}}
    attrs.update(_copy(request, (t.REASON_FOR_CANCELLATION, t.DISCONTINUATION_REASON_CODE_SEQ, t.CONTACT_URI, t.CONTACT_DISPLAY_NAME)))
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
    performers = (dataset.get(t.HUMAN_PERFORMERS_SEQ) or {}).get("Value") or []
    for performer in performers:
        if isinstance(performer, dict):
            attrs.update(_copy(performer, (t.HUMAN_PERFORMER_CODE_SEQ, t.HUMAN_PERFORMER_ORGANIZATION)))
            break
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
