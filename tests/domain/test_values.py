"""Value formats per VR: what a dataset may carry into the store."""

from __future__ import annotations

import math

import pytest

from app.domain.requirements import check_set, prepare_create
from app.domain.status import Status
from app.domain.values import InvalidValue, check_values


def el(vr: str, *values) -> dict:
    return {"vr": vr, "Value": list(values)}


@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        ("00404005", "DT", "not-a-date"),
        ("00404005", "DT", "20260230120000"),  # 30 February
        ("00404005", "DT", "20261123250000"),
        ("00100030", "DA", "2026-11-23"),
        ("00100030", "DA", "20261323"),
        ("00400003", "TM", "12:30"),
        ("00400003", "TM", "126000"),
        ("00080018", "UI", "1.2.03.4"),
        ("00080018", "UI", "1.2." + "3" * 70),
        ("00080018", "UI", "1.2.x"),
        ("00201041", "DS", math.nan),
        ("00201041", "DS", math.inf),
        ("00201041", "DS", "Infinity"),
        ("00201041", "DS", "12345678901234567"),
        ("00741004", "DS", "-inf"),
        ("00200013", "IS", 2**31),
        ("00200013", "IS", -(2**31) - 1),
        ("00200013", "IS", 1.5),
        ("00200013", "IS", "12a"),
        ("00101010", "AS", "45 Y"),
        ("00741000", "CS", "in progress"),
        ("00741000", "CS", "A" * 17),
        ("00400001", "AE", "CT1\\CT2"),
        ("00400001", "AE", "A" * 17),
        ("00080050", "SH", "A" * 17),
        ("00741204", "LO", "x" * 65),
        ("00741204", "LO", "two\nlines"),
        ("00280010", "US", 70000),
        ("00280010", "US", -1),
        ("00189219", "SS", 40000),
        ("00081160", "IS", "99999999999999"),
    ],
)
def test_a_value_its_vr_does_not_allow_is_refused_naming_the_tag(tag, vr, value):
    with pytest.raises(InvalidValue) as refused:
        check_values({tag: el(vr, value)})
    assert refused.value.status is Status.INVALID_ATTRIBUTE_VALUE
    assert f"({tag[:4]},{tag[4:]})" in refused.value.message
    assert refused.value.offending == (tag,)


@pytest.mark.parametrize(
    ("tag", "vr", "value"),
    [
        ("00404005", "DT", "20261123083000"),
        ("00404005", "DT", "20261123083000.123456+0100"),
        ("00404005", "DT", "2026"),
        ("00100030", "DA", "20240229"),
        ("00400003", "TM", "0830"),
        ("00400003", "TM", "235960.5"),
        ("00080018", "UI", "1.2.840.10008.5.1.4.34.6.1"),
        ("00201041", "DS", -12.5),
        ("00201041", "DS", " 1.5e3 "),
        ("00200013", "IS", 2**31 - 1),
        ("00200013", "IS", "-42"),
        ("00101010", "AS", "045Y"),
        ("00741000", "CS", "IN PROGRESS"),
        ("00080005", "CS", "ISO_IR 192"),
        ("00400001", "AE", "CT1"),
        ("00741204", "LO", "Thorax ü " + "x" * 50),
        ("00741238", "LT", "line one\r\nline two \\ still one value"),
        ("00100010", "PN", {"Alphabetic": "Müller^Jürgen^^Dr.^", "Ideographic": "山田^太郎"}),
        ("00280010", "US", 65535),
        ("00741004", "DS", ""),
    ],
)
def test_values_of_the_right_form_pass(tag, vr, value):
    check_values({tag: el(vr, value)})


def test_a_fault_inside_a_sequence_names_its_path():
    dataset = {"00741216": el("SQ", {"00404050": el("DT", "20261123083000"), "00404051": el("DT", "tomorrow")})}
    with pytest.raises(InvalidValue) as refused:
        check_values(dataset)
    assert refused.value.offending == ("00741216", "00404051")
    assert "(0074,1216) > (0040,4051) Performed Procedure Step End DateTime" in refused.value.message


def test_a_person_name_has_five_components_of_64_characters_at_most():
    with pytest.raises(InvalidValue):
        check_values({"00100010": el("PN", {"Alphabetic": "a^b^c^d^e^f"})})
    with pytest.raises(InvalidValue):
        check_values({"00100010": el("PN", {"Alphabetic": "x" * 65})})


def test_inline_binary_must_be_base64():
    check_values({"00420011": {"vr": "OB", "InlineBinary": "AAEC"}})
    with pytest.raises(InvalidValue):
        check_values({"00420011": {"vr": "OB", "InlineBinary": "not base64!"}})


def test_create_and_update_check_every_value():
    workitem = {
        "00741000": el("CS", "SCHEDULED"),
        "00741200": el("CS", "MEDIUM"),
        "00741204": el("LO", "CT head"),
        "00404005": el("DT", "not-a-date"),
        "00404041": el("CS", "READY"),
    }
    with pytest.raises(InvalidValue, match=r"\(0040,4005\)"):
        prepare_create(workitem, "1.2.3", "20261123080000")
    with pytest.raises(InvalidValue, match=r"\(0074,1004\)"):
        check_set({"00741002": el("SQ", {"00741004": el("DS", math.nan)})})
