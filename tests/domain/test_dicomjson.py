"""Untrusted DICOM JSON (PS3.18 Annex F): what is accepted, what is refused, and that
nothing but DicomJsonError ever comes out of the parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import Dataset

from app.domain.dicomjson import (
    MAX_DEPTH,
    VRS,
    DicomJsonError,
    first_value,
    from_dataset,
    parse_datasets,
    text_value,
    to_dataset,
)

FAST = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def one(element_tag: str, element: dict) -> dict:
    return parse_datasets(json.dumps([{element_tag: element}]))[0]


def refused(payload) -> str:
    body = payload if isinstance(payload, bytes) else json.dumps(payload)
    with pytest.raises(DicomJsonError) as info:
        parse_datasets(body)
    return str(info.value)


# --- the payload ------------------------------------------------------------------------


def test_array_of_datasets_is_read_in_order():
    body = json.dumps([{"00100020": {"vr": "LO", "Value": ["P1"]}}, {"00100020": {"vr": "LO", "Value": ["P2"]}}])
    assert [first_value(ds, "00100020") for ds in parse_datasets(body)] == ["P1", "P2"]


def test_bare_dataset_object_is_accepted_as_a_one_element_array():
    assert parse_datasets(b'{"00100020": {"vr": "LO", "Value": ["P1"]}}') == [
        {"00100020": {"vr": "LO", "Value": ["P1"]}}
    ]


def test_bare_dataset_object_is_refused_when_an_array_is_required():
    with pytest.raises(DicomJsonError, match="array"):
        parse_datasets(b"{}", allow_single=False)


def test_empty_array_gives_no_datasets():
    assert parse_datasets(b"[]") == []


def test_utf8_payload_with_byte_order_mark_is_read():
    assert parse_datasets("\ufeff[{}]".encode("utf-8")) == [{}]


@pytest.mark.parametrize("body", [b"", b"[", b"{'a': 1}", b"\xff\xfe\x00", b"NaN]", b"[{}"])
def test_payload_that_is_not_json_is_refused_with_a_sentence(body):
    assert "not valid JSON" in refused(body)


def test_payload_nested_deeper_than_the_parser_can_follow_is_refused():
    assert "deep" in refused(b"[" * 100_000)


@pytest.mark.parametrize("payload", [1, "text", None, [1], [[]], [{}, "x"]])
def test_payload_that_is_not_an_array_of_objects_is_refused(payload):
    assert "array" in refused(payload)


# --- elements -------------------------------------------------------------------------------


def test_lower_case_tags_are_read_as_upper_case():
    ds = one("0020000d", {"vr": "UI", "Value": ["1.2.3"]})
    assert ds == {"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}


@pytest.mark.parametrize("key", ["0010001", "001000100", "0010,0010", "PatientName", "0010001G", ""])
def test_key_that_is_not_an_eight_digit_hex_tag_is_refused(key):
    assert "not a DICOM tag" in refused([{key: {"vr": "PN"}}])


@pytest.mark.parametrize("element", [{"Value": ["x"]}, "x", None, {"vr": 5}, []])
def test_element_without_a_vr_is_refused(element):
    assert "'vr'" in refused([{"00100020": element}])


def test_unknown_vr_is_refused():
    assert "unknown VR" in refused([{"00100020": {"vr": "ZZ", "Value": ["x"]}}])


def test_vr_that_contradicts_the_dictionary_is_refused():
    message = refused([{"00100010": {"vr": "LO", "Value": ["Doe^Jane"]}}])
    assert "PN" in message and "00100010" in message


def test_vr_un_is_accepted_for_any_public_tag():
    assert one("00100010", {"vr": "UN", "InlineBinary": "AAAA"}) == {"00100010": {"vr": "UN", "InlineBinary": "AAAA"}}


def test_private_tag_may_carry_any_vr():
    assert one("00091001", {"vr": "LO", "Value": ["x"]})["00091001"]["Value"] == ["x"]


def test_tag_with_several_dictionary_vrs_accepts_each_of_them():
    # (0028,0106) Smallest Image Pixel Value is US or SS
    assert one("00280106", {"vr": "SS", "Value": [-1]})["00280106"]["Value"] == [-1]
    assert one("00280106", {"vr": "US", "Value": [1]})["00280106"]["Value"] == [1]


def test_value_that_is_not_an_array_is_refused():
    assert "'Value' must be an array" in refused([{"00100020": {"vr": "LO", "Value": "P1"}}])


def test_binary_vr_with_a_value_array_is_refused():
    assert "InlineBinary" in refused([{"00420011": {"vr": "OB", "Value": ["AAAA"]}}])


def test_inline_binary_and_bulk_data_uri_must_be_strings():
    assert "must be a string" in refused([{"00420011": {"vr": "OB", "InlineBinary": 5}}])
    assert one("00420011", {"vr": "OB", "BulkDataURI": "http://x/1"})["00420011"]["BulkDataURI"] == "http://x/1"


def test_element_without_value_is_kept_as_present_but_empty():
    assert one("00081195", {"vr": "UI"}) == {"00081195": {"vr": "UI"}}


def test_null_values_are_kept_in_their_place():
    assert one("00100020", {"vr": "LO", "Value": [None, "P1"]})["00100020"]["Value"] == [None, "P1"]


def test_unknown_members_of_an_element_are_dropped():
    assert one("00100020", {"vr": "LO", "Value": ["P1"], "extra": 1}) == {"00100020": {"vr": "LO", "Value": ["P1"]}}


# --- values by VR ------------------------------------------------------------------------------


def test_person_name_as_bare_string_is_read_as_its_alphabetic_group():
    assert one("00100010", {"vr": "PN", "Value": ["Doe^Jane"]})["00100010"]["Value"] == [{"Alphabetic": "Doe^Jane"}]


def test_person_name_with_three_groups_is_kept():
    name = {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
    assert one("00100010", {"vr": "PN", "Value": [name]})["00100010"]["Value"] == [name]


@pytest.mark.parametrize("name", [{"Family": "Doe"}, {"Alphabetic": 5}, ["Doe"], 5])
def test_person_name_in_another_shape_is_refused(name):
    assert "person name" in refused([{"00100010": {"vr": "PN", "Value": [name]}}])


@pytest.mark.parametrize(
    "vr,tag,number",
    [
        ("US", "00280010", 512),
        ("FD", "00189087", 1.5),
        ("DS", "00101030", 70.5),
        ("IS", "00201208", 3),
        ("DS", "00101030", "70.5"),
        ("IS", "00201208", "3"),
    ],
)
def test_numbers_are_accepted_and_decimal_strings_may_be_text(vr, tag, number):
    assert one(tag, {"vr": vr, "Value": [number]})[tag]["Value"] == [number]


@pytest.mark.parametrize(
    "vr,tag,bad",
    [
        ("US", "00280010", "512"),
        ("US", "00280010", True),
        ("DS", "00101030", "heavy"),
        ("FD", "00189087", [1]),
        ("IS", "00201208", False),
    ],
)
def test_number_vr_with_something_else_is_refused(vr, tag, bad):
    assert "number" in refused([{tag: {"vr": vr, "Value": [bad]}}])


@pytest.mark.parametrize("bad", [5, {"a": "b"}, ["x"], True])
def test_text_vr_with_a_non_string_is_refused(bad):
    assert "needs a string" in refused([{"00100020": {"vr": "LO", "Value": [bad]}}])


@pytest.mark.parametrize("uid", ["1.2.a", "1..2", ".1.2", "1.2.", "1" * 65, "", "1.2 "])
def test_malformed_uid_is_refused(uid):
    assert "not a UID" in refused([{"0020000D": {"vr": "UI", "Value": [uid]}}])


def test_uid_of_64_characters_is_accepted():
    uid = "1." + "2" * 62
    assert one("0020000D", {"vr": "UI", "Value": [uid]})["0020000D"]["Value"] == [uid]


def test_uid_with_a_trailing_newline_is_refused():
    refused([{"0020000D": {"vr": "UI", "Value": ["1.2.3\n"]}}])


def test_key_with_a_trailing_newline_is_refused():
    refused([{"00100010\n": {"vr": "PN", "Value": ["Doe^Jane"]}}])


def test_attribute_tag_value_must_be_a_tag():
    assert one("00209165", {"vr": "AT", "Value": ["00100010"]})["00209165"]["Value"] == ["00100010"]
    assert "not a tag" in refused([{"00209165": {"vr": "AT", "Value": ["0010,0010"]}}])


# --- sequences ----------------------------------------------------------------------------------


def nested(depth: int) -> dict:
    ds: dict = {"00100020": {"vr": "LO", "Value": ["leaf"]}}
    for _ in range(depth):
        ds = {"0040A370": {"vr": "SQ", "Value": [ds]}}
    return ds


def test_sequence_items_are_checked_like_datasets():
    message = refused([{"0040A370": {"vr": "SQ", "Value": [{"00100010": {"vr": "LO", "Value": ["x"]}}]}}])
    assert "0040A370[0].00100010" in message


def test_sequence_item_that_is_not_an_object_is_refused():
    assert "must be a JSON object" in refused([{"0040A370": {"vr": "SQ", "Value": ["x"]}}])


def test_sequences_nested_up_to_the_limit_are_accepted():
    assert parse_datasets(json.dumps([nested(MAX_DEPTH)])) == [nested(MAX_DEPTH)]


def test_sequences_nested_beyond_the_limit_are_refused():
    assert "nested" in refused([nested(MAX_DEPTH + 1)])


# --- pydicom conversion ----------------------------------------------------------------------------


def test_checked_dataset_converts_to_pydicom_and_back():
    ds = parse_datasets(
        json.dumps(
            [
                {
                    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Müller^Jürgen"}]},
                    "00100020": {"vr": "LO", "Value": ["P1"]},
                    "0040A370": {"vr": "SQ", "Value": [{"00080050": {"vr": "SH", "Value": ["A1"]}}]},
                }
            ]
        )
    )[0]
    pydicom_ds = to_dataset(ds)
    assert isinstance(pydicom_ds, Dataset)
    assert str(pydicom_ds.PatientName) == "Müller^Jürgen"
    assert pydicom_ds.ReferencedRequestSequence[0].AccessionNumber == "A1"
    assert from_dataset(pydicom_ds) == ds


def test_dataset_pydicom_cannot_read_is_refused_as_dicom_json_error():
    with pytest.raises(DicomJsonError, match="cannot be read"):
        to_dataset({"00280010": {"vr": "US", "Value": ["x"]}})


def test_first_and_text_value_read_the_first_value_or_none():
    ds = {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jane"}]},
        "00100020": {"vr": "LO"},
        "00201208": {"vr": "IS", "Value": [3, 4]},
    }
    assert text_value(ds, "00100010") == "Doe^Jane"
    assert first_value(ds, "00100020") is None and text_value(ds, "00100020") is None
    assert first_value(ds, "00081195") is None
    assert text_value(ds, "00201208") == "3"


# --- properties --------------------------------------------------------------------------------------


def _accepted_or_refused_cleanly(body) -> None:
    try:
        result = parse_datasets(body)
    except DicomJsonError as exc:
        assert str(exc)
        return
    assert isinstance(result, list) and all(isinstance(ds, dict) for ds in result)


@FAST
@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_read_or_refused_with_dicom_json_error_only(body):
    _accepted_or_refused_cleanly(body)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=9), children, max_size=4),
    max_leaves=20,
)


@FAST
@given(JSON)
def test_arbitrary_json_values_are_read_or_refused_with_dicom_json_error_only(value):
    _accepted_or_refused_cleanly(json.dumps(value))


TAGS = st.sampled_from(
    [
        "00100010",
        "00100020",
        "0040A370",
        "00404025",
        "00080100",
        "00280010",
        "00101030",
        "0020000D",
        "00209165",
        "00420011",
        "00091001",
        "7FE00010",
        "00081195",
    ]
) | st.text("0123456789abcdefABCDEF", min_size=8, max_size=8)
ELEMENTS = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["1.2.3", "00100010", "Doe^Jane", "", "12.5"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            TAGS | st.sampled_from(["vr", "Value", "InlineBinary", "BulkDataURI", "Alphabetic", "Ideographic"]),
            children | st.sampled_from(sorted(VRS)),
            max_size=4,
        )
    ),
    max_leaves=8,
)
DICOM_SHAPED = st.lists(
    st.dictionaries(
        TAGS,
        st.fixed_dictionaries(
            {"vr": st.sampled_from(sorted(VRS))},
            optional={"Value": st.lists(ELEMENTS, max_size=3), "InlineBinary": ELEMENTS},
        ),
        max_size=4,
    ),
    max_size=3,
)


@settings(FAST, max_examples=60)
@given(DICOM_SHAPED)
def test_dicom_shaped_json_is_read_or_refused_with_dicom_json_error_only(payload):
    _accepted_or_refused_cleanly(json.dumps(payload))


# Valid DICOM JSON: known tags with their dictionary VR and well-formed values.
LEAVES = [
    (
        "00100010",
        "PN",
        st.fixed_dictionaries({"Alphabetic": st.text(max_size=12)}, optional={"Ideographic": st.text(max_size=6)}),
    ),
    ("00100020", "LO", st.text(max_size=16)),
    ("00080050", "SH", st.text(max_size=16)),
    ("00080100", "SH", st.text(max_size=16)),
    ("0020000D", "UI", st.from_regex(r"\A[0-9]{1,5}(\.[0-9]{1,5}){0,4}\Z")),
    ("00404005", "DT", st.from_regex(r"\A20[0-9]{2}(0[1-9]|1[0-2])[0-2][0-9]\Z")),
    ("00280010", "US", st.integers(0, 65535)),
    ("00101030", "DS", st.floats(0, 500, allow_nan=False) | st.sampled_from(["70", "70.5"])),
    ("00209165", "AT", st.from_regex(r"\A[0-9A-F]{8}\Z")),
]


@st.composite
def valid_dataset(draw, depth: int = 0) -> dict:
    ds = {}
    for tag, vr, values in draw(st.lists(st.sampled_from(LEAVES), max_size=5, unique_by=lambda x: x[0])):
        element = {"vr": vr}
        if draw(st.booleans()):
            element["Value"] = draw(st.lists(values | st.none(), min_size=1, max_size=3))
        ds[tag.lower() if draw(st.booleans()) else tag] = element
    if depth < 3 and draw(st.booleans()):
        seq = draw(st.sampled_from(["0040A370", "00404025"]))
        ds[seq] = {"vr": "SQ", "Value": draw(st.lists(valid_dataset(depth + 1), max_size=2))}
    return ds


@settings(FAST, max_examples=80)
@given(st.lists(valid_dataset(), max_size=3))
def test_valid_datasets_survive_a_round_trip_unchanged(datasets):
    first = parse_datasets(json.dumps(datasets, ensure_ascii=False).encode("utf-8"))
    assert len(first) == len(datasets)
    again = parse_datasets(json.dumps(first))
    assert again == first
    for original, parsed in zip(datasets, first):
        assert set(parsed) == {tag.upper() for tag in original}
