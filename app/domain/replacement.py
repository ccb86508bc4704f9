"""Putting an accidental start back on the worklist: the canceled step and its replacement.

A step started by mistake is canceled with the reason "Incorrect worklist entry selected"
(CID 9300, 110514) and replaced by a new SCHEDULED workitem carrying the same scheduled data and
a Replaced Procedure Step Sequence (0074,1224) that names the canceled one (PS3.4 CC.2.5-3; the
sequence is type 3 on N-CREATE and may not be changed by N-SET). What a replacement copies is
decided here once: the console builds its Create with it from the workitem it sees, and the
server fills with it whatever that Create left out from the canceled workitem it keeps.
"""

from __future__ import annotations

from . import tags as t
from .dicomjson import JsonDataset, first_value, items
from .states import State
from .workitem import Code

WRONG_ENTRY = Code("110514", "DCM", "Incorrect worklist entry selected")
REFERENCED_SOP_CLASS = "00081150"
REFERENCED_SOP_INSTANCE = "00081155"

# What belongs to the step that was started, not to the order: its identity, its state and
# claim, what was performed and reported, and its own history.
NOT_COPIED = frozenset(
    {
        t.SOP_CLASS_UID,
        t.SOP_INSTANCE_UID,
        t.TRANSACTION_UID,
        t.PROCEDURE_STEP_STATE,
        t.PROGRESS_INFORMATION_SEQ,
        t.PERFORMED_PROCEDURE_SEQ,
        t.SPS_MODIFICATION_DATETIME,
        t.REPLACED_PROCEDURE_STEP_SEQ,
        t.REASON_FOR_CANCELLATION,
        t.DISCONTINUATION_REASON_CODE_SEQ,
        t.CANCELLATION_DATETIME,
        t.CONTACT_URI,
        t.CONTACT_DISPLAY_NAME,
        t.REQUESTING_AE,
        t.RECEIVING_AE,
        t.DELETION_LOCK,
    }
)


def is_wrong_entry(code: Code | None) -> bool:
    """Does this reason put the order back (rather than end it)?"""
    return code is not None and (code.value, code.scheme) == (WRONG_ENTRY.value, WRONG_ENTRY.scheme)


def gives_wrong_entry(code_items: list[JsonDataset]) -> bool:
    """Do these code sequence items (a discontinuation reason) say "incorrect worklist entry selected"?"""
    return any(
        (first_value(item, t.CODE_VALUE), first_value(item, t.CODING_SCHEME)) == (WRONG_ENTRY.value, WRONG_ENTRY.scheme)
        for item in code_items
    )


def scheduled_part(dataset: JsonDataset) -> JsonDataset:
    """The attributes of a workitem that describe the order and its schedule."""
    return {tag: element for tag, element in dataset.items() if tag not in NOT_COPIED}


def replaced_reference(replaced_uid: str) -> JsonDataset:
    """The Replaced Procedure Step Sequence of a replacement: one item naming the canceled UPS."""
    return {
        t.REPLACED_PROCEDURE_STEP_SEQ: {
            "vr": "SQ",
            "Value": [
                {
                    REFERENCED_SOP_CLASS: {"vr": "UI", "Value": [t.UPS_PUSH_SOP_CLASS]},
                    REFERENCED_SOP_INSTANCE: {"vr": "UI", "Value": [replaced_uid]},
                }
            ],
        }
    }


def replacement(old: JsonDataset, replacement_uid: str) -> JsonDataset:
    """The N-CREATE (UPS-RS Create) dataset of the step that replaces `old`: its scheduled data,
    SCHEDULED again under a new UID, naming `old` as the step it replaces."""
    old_uid = str(first_value(old, t.SOP_INSTANCE_UID) or "")
    return {
        **scheduled_part(old),
        t.SOP_INSTANCE_UID: {"vr": "UI", "Value": [replacement_uid]},
        t.PROCEDURE_STEP_STATE: {"vr": "CS", "Value": [State.SCHEDULED.value]},
        t.TRANSACTION_UID: {"vr": "UI"},
        **replaced_reference(old_uid),
    }


def replaced_uid(dataset: JsonDataset) -> str | None:
    """The UPS a Create says it replaces, if any."""
    for item in items(dataset, t.REPLACED_PROCEDURE_STEP_SEQ):
        uid = first_value(item, REFERENCED_SOP_INSTANCE)
        if uid:
            return str(uid)
    return None


def fill_from_replaced(create: JsonDataset, replaced: JsonDataset) -> JsonDataset:
    """A Create completed with the replaced step's scheduled data, for every attribute it does
    not give (absent, or present without a value): what the creator could not see is copied."""
    filled = dict(create)
    for tag, element in scheduled_part(replaced).items():
        given = filled.get(tag)
        if given is None or not any(key in given for key in ("Value", "BulkDataURI", "InlineBinary")):
            filled[tag] = element
    return filled
