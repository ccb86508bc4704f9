"""DICOM XML (PS3.19 Native DICOM Model) ⇄ DICOM JSON: every VR both ways, person names in
three groups, sequences, empty values, private tags, the multipart bodies that carry
several results, and hostile XML refused with a sentence."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import keyword_for_tag

from app.domain.dicomjson import MAX_DEPTH, DicomJsonError
from app.domain.dicomxml import (
    MAX_BYTES,
    NAMESPACE,
    dataset_from_xml,
    dataset_to_xml,
    multipart_json,
    multipart_xml,
    parse_multipart_json,
    parse_multipart_xml,
)

FAST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
NS = {"d": NAMESPACE}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# One element of every VR, each with what makes that VR hard to carry.
EVERY_VR = {
    "AE": ("00080054", {"vr": "AE", "Value": ["CT1", "CT2"]}),
    "AS": ("00101010", {"vr": "AS", "Value": ["042Y"]}),
    "AT": ("00280009", {"vr": "AT", "Value": ["00100010", "0040A30A"]}),
    "CS": ("00080008", {"vr": "CS", "Value": ["ORIGINAL", None, "AXIAL"]}),
    "DA": ("00080012", {"vr": "DA", "Value": ["20270615"]}),
    "DS": ("00082130", {"vr": "DS", "Value": [1.5, -2, 1e-05]}),
    "DT": ("00080015", {"vr": "DT", "Value": ["20270615140000.000000+0100"]}),
    "FL": ("00089459", {"vr": "FL", "Value": [29.97]}),
    "FD": ("00081163", {"vr": "FD", "Value": [0.1, 1e300]}),
    "IS": ("00081160", {"vr": "IS", "Value": [1, -3]}),
    "LO": ("00080070", {"vr": "LO", "Value": ['ACME & <Co> "quoted"']}),
    "LT": ("00080108", {"vr": "LT", "Value": ["line one\r\nline two\ttabbed  "]}),
    "OB": ("0008041B", {"vr": "OB", "InlineBinary": b64(b"\x00\x01\xfe\xff")}),
    "OD": ("00720073", {"vr": "OD", "InlineBinary": b64(bytes(7) + b"\x40")}),
    "OF": ("00181638", {"vr": "OF", "InlineBinary": b64(b"\x00\x00\xc0\x3f")}),
    "OL": ("00660040", {"vr": "OL", "InlineBinary": b64(b"\x01\x00\x00\x00")}),
    "OV": ("00720081", {"vr": "OV", "InlineBinary": b64(b"\x01" + bytes(7))}),
    "OW": ("00281201", {"vr": "OW", "BulkDataURI": "https://pacs.example/bulk/1?frame=1&part=2"}),
    "PN": (
        "00080090",
        {
            "vr": "PN",
            "Value": [{"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}],
        },
    ),
    "SH": ("00080050", {"vr": "SH", "Value": ["ACC-1"]}),
    "SL": ("00186020", {"vr": "SL", "Value": [-(2**31)]}),
    "SQ": ("00080006", {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["en"]}}, {}]}),
    "SS": ("00189219", {"vr": "SS", "Value": [-(2**15)]}),
    "ST": ("00080081", {"vr": "ST", "Value": ["1 Main St"]}),
    "SV": ("00720082", {"vr": "SV", "Value": [-(2**63), 2**63 - 1]}),
    "TM": ("00080013", {"vr": "TM", "Value": ["140000.125"]}),
    "UC": ("00080119", {"vr": "UC", "Value": ["a long code value"]}),
    "UI": ("00080014", {"vr": "UI", "Value": ["1.2.826.0.1.3680043.10.1"]}),
    "UL": ("00080309", {"vr": "UL", "Value": [2**32 - 1, 0]}),
    "UN": ("0072006D", {"vr": "UN", "InlineBinary": b64(b"\x01\x02")}),
    "UR": ("0008010E", {"vr": "UR", "Value": ["http://example.org/a?b=c&d=e"]}),
    "US": ("00080301", {"vr": "US", "Value": [2**16 - 1]}),
    "UT": ("0008030E", {"vr": "UT", "Value": ["unlimited\ntext"]}),
    "UV": ("0008040C", {"vr": "UV", "Value": [2**64 - 1]}),
}


def attribute(body: bytes, tag: str) -> ET.Element:
    found = ET.fromstring(body).find(f"d:DicomAttribute[@tag='{tag}']", NS)
    assert found is not None, f"no DicomAttribute {tag} in {body.decode()}"
    return found


def refused(body: bytes | str) -> str:
    with pytest.raises(DicomJsonError) as info:
        dataset_from_xml(body)
    message = str(info.value)
    assert message.endswith(".") and "Traceback" not in message
    return message


# --- every VR ----------------------------------------------------------------------------


def test_the_table_covers_every_vr_of_dicom_json():
    from app.domain.dicomjson import VRS

    assert set(EVERY_VR) == VRS


@pytest.mark.parametrize("vr", sorted(EVERY_VR))
def test_every_vr_comes_back_from_xml_as_it_went_in(vr):
    tag, element = EVERY_VR[vr]
    assert dataset_from_xml(dataset_to_xml({tag: element})) == {tag: element}


@pytest.mark.parametrize("vr", sorted(EVERY_VR))
def test_every_vr_is_written_as_a_native_dicom_attribute_with_its_keyword(vr):
    tag, element = EVERY_VR[vr]
    node = attribute(dataset_to_xml({tag: element}), tag)
    assert node.get("vr") == vr
    assert node.get("keyword") == keyword_for_tag(int(tag, 16))
    kinds = {child.tag.split("}")[1] for child in node}
    expected = {"SQ": "Item", "PN": "PersonName"}.get(vr, "Value")
    carrier = "InlineBinary" if "InlineBinary" in element else "BulkData" if "BulkDataURI" in element else expected
    assert kinds == {carrier}


def test_values_are_written_as_text_numbered_from_one():
    body = dataset_to_xml(dict([EVERY_VR["DS"], EVERY_VR["AT"], EVERY_VR["CS"], EVERY_VR["LT"]]))
    assert [(v.get("number"), v.text) for v in attribute(body, "00082130")] == [
        ("1", "1.5"),
        ("2", "-2"),
        ("3", "1e-05"),
    ]
    assert [v.text for v in attribute(body, "00280009")] == ["00100010", "0040A30A"]
    assert [v.text or "" for v in attribute(body, "00080008")] == ["ORIGINAL", "", "AXIAL"]
    assert attribute(body, "00080108")[0].text == "line one\r\nline two\ttabbed  "


def test_binary_values_are_inline_base64_or_a_bulk_data_uri():
    body = dataset_to_xml(dict([EVERY_VR["OB"], EVERY_VR["OW"]]))
    assert base64.b64decode(attribute(body, "0008041B").find("d:InlineBinary", NS).text) == b"\x00\x01\xfe\xff"
    assert attribute(body, "00281201").find("d:BulkData", NS).get("uri") == "https://pacs.example/bulk/1?frame=1&part=2"


def test_inline_binary_split_over_lines_is_read_whole():
    body = (
        f'<NativeDicomModel xmlns="{NAMESPACE}"><DicomAttribute tag="0008041B" vr="OB">'
        "<InlineBinary>\n  AAEC\n  AwQF\n</InlineBinary></DicomAttribute></NativeDicomModel>"
    )
    assert dataset_from_xml(body) == {"0008041B": {"vr": "OB", "InlineBinary": b64(bytes(range(6)))}}


def test_the_document_is_a_native_dicom_model_in_the_ps319_namespace():
    root = ET.fromstring(dataset_to_xml({}))
    assert root.tag == f"{{{NAMESPACE}}}NativeDicomModel"
    assert root.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    assert len(root) == 0


def test_a_document_without_the_namespace_is_read_too():
    body = b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1">P1</Value></DicomAttribute></NativeDicomModel>'
    assert dataset_from_xml(body) == {"00100020": {"vr": "LO", "Value": ["P1"]}}


def test_attributes_are_written_in_ascending_tag_order():
    dataset = {tag: element for tag, element in reversed(EVERY_VR.values())}
    tags = [node.get("tag") for node in ET.fromstring(dataset_to_xml(dataset))]
    assert tags == sorted(tags) and len(tags) == len(EVERY_VR)


# --- person names ----------------------------------------------------------------------------


def test_person_name_in_three_groups_is_split_into_named_components():
    tag, element = EVERY_VR["PN"]
    name = attribute(dataset_to_xml({tag: element}), tag).find("d:PersonName", NS)
    assert name.get("number") == "1"
    groups = {group.tag.split("}")[1]: [(c.tag.split("}")[1], c.text) for c in group] for group in name}
    assert groups == {
        "Alphabetic": [("FamilyName", "Yamada"), ("GivenName", "Tarou")],
        "Ideographic": [("FamilyName", "山田"), ("GivenName", "太郎")],
        "Phonetic": [("FamilyName", "やまだ"), ("GivenName", "たろう")],
    }


def test_empty_name_components_are_omitted_and_their_places_kept():
    dataset = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John^^Dr"}, {"Alphabetic": "^^^^Jr"}]}}
    body = dataset_to_xml(dataset)
    first, second = attribute(body, "00100010").findall("d:PersonName", NS)
    assert [c.tag.split("}")[1] for c in first.find("d:Alphabetic", NS)] == ["FamilyName", "GivenName", "NamePrefix"]
    assert [c.tag.split("}")[1] for c in second.find("d:Alphabetic", NS)] == ["NameSuffix"]
    assert dataset_from_xml(body) == dataset


def test_trailing_separators_and_empty_groups_are_normalised_away():
    dataset = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John^", "Ideographic": "", "Phonetic": "ど^"}]}}
    assert dataset_from_xml(dataset_to_xml(dataset)) == {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^John", "Phonetic": "ど"}]}
    }


def test_person_name_components_read_in_any_order_give_the_caret_string():
    body = (
        '<NativeDicomModel><DicomAttribute tag="00100010" vr="PN"><PersonName number="1"><Alphabetic>'
        "<GivenName>John</GivenName><FamilyName>Doe</FamilyName><MiddleName>Q</MiddleName>"
        "</Alphabetic></PersonName></DicomAttribute></NativeDicomModel>"
    )
    assert dataset_from_xml(body)["00100010"]["Value"] == [{"Alphabetic": "Doe^John^Q"}]


def test_a_component_holding_a_separator_is_refused():
    body = (
        '<NativeDicomModel><DicomAttribute tag="00100010" vr="PN"><PersonName number="1"><Alphabetic>'
        "<FamilyName>Doe^John</FamilyName></Alphabetic></PersonName></DicomAttribute></NativeDicomModel>"
    )
    assert "name component" in refused(body)


def test_a_name_with_more_than_five_components_cannot_be_written():
    with pytest.raises(DicomJsonError, match="more than five"):
        dataset_to_xml({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "a^b^c^d^e^f"}]}})


# --- sequences and empty values ------------------------------------------------------------------


def test_nested_sequences_keep_their_items_in_order():
    code = {"00080100": {"vr": "SH", "Value": ["T-1"]}, "00080102": {"vr": "SH", "Value": ["SCT"]}}
    dataset = {
        "00404018": {
            "vr": "SQ",
            "Value": [
                {**code, "00080106": {"vr": "DT", "Value": ["2027"]}},
                {"0040A043": {"vr": "SQ", "Value": [code, {}]}},
            ],
        }
    }
    body = dataset_to_xml(dataset)
    items = attribute(body, "00404018").findall("d:Item", NS)
    assert [item.get("number") for item in items] == ["1", "2"]
    inner = items[1].find("d:DicomAttribute[@tag='0040A043']", NS).findall("d:Item", NS)
    assert [len(item) for item in inner] == [2, 0]
    assert dataset_from_xml(body) == dataset


def test_an_empty_sequence_is_an_attribute_without_items():
    body = dataset_to_xml({"00404033": {"vr": "SQ", "Value": []}})
    assert len(attribute(body, "00404033")) == 0
    assert dataset_from_xml(body) == {"00404033": {"vr": "SQ", "Value": []}}


def test_an_element_without_value_is_an_attribute_without_children():
    dataset = {"00081195": {"vr": "UI"}, "00100010": {"vr": "PN"}, "00101010": {"vr": "AS", "Value": []}}
    body = dataset_to_xml(dataset)
    assert all(len(attribute(body, tag)) == 0 for tag in dataset)
    assert dataset_from_xml(body) == {"00081195": {"vr": "UI"}, "00100010": {"vr": "PN"}, "00101010": {"vr": "AS"}}


def test_empty_values_among_others_keep_their_place():
    dataset = {
        "00080008": {"vr": "CS", "Value": ["A", "", None, "D"]},
        "00101001": {"vr": "PN", "Value": [{"Alphabetic": "A^B"}, None, {}]},
        "00201041": {"vr": "DS", "Value": [None, 2.5]},
    }
    assert dataset_from_xml(dataset_to_xml(dataset)) == {
        "00080008": {"vr": "CS", "Value": ["A", None, None, "D"]},
        "00101001": {"vr": "PN", "Value": [{"Alphabetic": "A^B"}, None, None]},
        "00201041": {"vr": "DS", "Value": [None, 2.5]},
    }


# --- numbers -----------------------------------------------------------------------------


def test_decimal_and_integer_strings_come_back_as_numbers():
    dataset = {"00181050": {"vr": "DS", "Value": ["1.50", "2e3"]}, "00200013": {"vr": "IS", "Value": ["007"]}}
    body = dataset_to_xml(dataset)
    assert [v.text for v in attribute(body, "00181050")] == ["1.50", "2e3"]
    assert dataset_from_xml(body) == {
        "00181050": {"vr": "DS", "Value": [1.5, 2000.0]},
        "00200013": {"vr": "IS", "Value": [7]},
    }


def test_integral_and_fractional_numbers_keep_their_kind():
    back = dataset_from_xml(dataset_to_xml({"00081163": {"vr": "FD", "Value": [3.0, 0.1]}}))
    assert back["00081163"]["Value"] == [3, 0.1]
    assert [type(v) for v in back["00081163"]["Value"]] == [int, float]


@pytest.mark.parametrize(
    ("vr", "tag", "text", "words"),
    [
        ("IS", "00200013", "one", "not a number"),
        ("US", "00280010", "1.5", "needs an integer"),
        ("FD", "00081163", "NaN", "not a finite number"),
        ("DS", "00181050", "1e999", "not a finite number"),
    ],
)
def test_a_value_that_is_not_a_number_of_its_vr_is_refused(vr, tag, text, words):
    body = f'<NativeDicomModel><DicomAttribute tag="{tag}" vr="{vr}"><Value number="1">{text}</Value></DicomAttribute></NativeDicomModel>'
    assert words in refused(body)


# --- private tags ------------------------------------------------------------------------


def test_a_private_element_names_its_creator_and_drops_its_block_from_the_tag():
    dataset = {"00290010": {"vr": "LO", "Value": ["ACME 1.0"]}, "00291101": {"vr": "LO", "Value": ["orphan"]}}
    dataset["00291001"] = {"vr": "LO", "Value": ["private value"]}
    body = dataset_to_xml(dataset)
    nodes = ET.fromstring(body).findall("d:DicomAttribute", NS)
    assert [(n.get("tag"), n.get("privateCreator"), n.get("keyword")) for n in nodes] == [
        ("00290010", None, None),
        ("00290001", "ACME 1.0", None),
        ("00291101", None, None),  # no creator for block 11: the tag stays whole
    ]
    assert dataset_from_xml(body) == dataset


def test_a_private_element_is_read_into_the_block_its_creator_holds():
    body = (
        '<NativeDicomModel><DicomAttribute tag="00091001" vr="LO" privateCreator="ACME"><Value number="1">x</Value>'
        '</DicomAttribute><DicomAttribute tag="00090010" vr="LO"><Value number="1">OTHER</Value></DicomAttribute>'
        '<DicomAttribute tag="00090011" vr="LO"><Value number="1">ACME</Value></DicomAttribute></NativeDicomModel>'
    )
    assert dataset_from_xml(body) == {
        "00090010": {"vr": "LO", "Value": ["OTHER"]},
        "00090011": {"vr": "LO", "Value": ["ACME"]},
        "00091101": {"vr": "LO", "Value": ["x"]},
    }


def test_a_private_creator_missing_from_the_dataset_is_given_a_free_block():
    body = (
        '<NativeDicomModel><DicomAttribute tag="00090010" vr="LO"><Value number="1">OTHER</Value></DicomAttribute>'
        '<DicomAttribute tag="00090002" vr="LO" privateCreator="ACME"><Value number="1">x</Value></DicomAttribute>'
        "</NativeDicomModel>"
    )
    assert dataset_from_xml(body) == {
        "00090010": {"vr": "LO", "Value": ["OTHER"]},
        "00090011": {"vr": "LO", "Value": ["ACME"]},
        "00091102": {"vr": "LO", "Value": ["x"]},
    }


# --- generated datasets ------------------------------------------------------------------------

_XML_TEXT = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufffe\uffff").filter(
    lambda c: c in "\t\n\r" or ord(c) >= 0x20
)
_TEXT = st.text(_XML_TEXT, min_size=1, max_size=12)
_COMPONENT = st.text(_XML_TEXT.filter(lambda c: c not in "^=\\"), max_size=6)
_GROUP = st.lists(_COMPONENT, min_size=1, max_size=5).map(lambda parts: "^".join(parts).rstrip("^")).filter(bool)
_NAME = st.fixed_dictionaries({}, optional={"Alphabetic": _GROUP, "Ideographic": _GROUP, "Phonetic": _GROUP}).filter(
    bool
)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False)
_UID = st.lists(st.integers(0, 10**6).map(str), min_size=2, max_size=6).map(".".join)
_HEX_TAG = st.integers(0, 2**32 - 1).map(lambda n: f"{n:08X}")


def _ints(bits: int, signed: bool) -> st.SearchStrategy[int]:
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else st.integers(0, 2**bits - 1)


_VALUES = {
    "AE": st.text("ABCXYZ012 _", min_size=1, max_size=16),
    "AT": _HEX_TAG,
    "DS": st.one_of(_FLOAT, st.integers(-(10**15), 10**15)),
    "FD": st.one_of(_FLOAT, st.integers(-(2**53), 2**53)),
    "FL": _FLOAT,
    "IS": _ints(32, True),
    "PN": _NAME,
    "SL": _ints(32, True),
    "SS": _ints(16, True),
    "SV": _ints(64, True),
    "UI": _UID,
    "UL": _ints(32, False),
    "US": _ints(16, False),
    "UV": _ints(64, False),
}
# tags whose dictionary VR is the one generated (the reader checks VRs against the dictionary)
_TAGS = {tag: element["vr"] for tag, element in EVERY_VR.values()} | {"00080056": "CS", "00100020": "LO"}


def _element(vr: str, datasets: st.SearchStrategy) -> st.SearchStrategy[dict]:
    if vr == "SQ":
        return st.lists(datasets, max_size=3).map(lambda items: {"vr": "SQ", "Value": items})
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN"):
        return st.one_of(
            st.binary(max_size=24).map(lambda data: {"vr": vr, "InlineBinary": b64(data)}),
            st.just({"vr": vr, "BulkDataURI": "https://pacs.example/bulk/7"}),
        )
    value = _VALUES.get(vr, _TEXT)
    return st.one_of(
        st.just({"vr": vr}),
        st.lists(st.one_of(st.none(), value), min_size=1, max_size=4).map(lambda vs: {"vr": vr, "Value": vs}),
    )


def _datasets(children: st.SearchStrategy) -> st.SearchStrategy[dict]:
    return st.dictionaries(st.sampled_from(sorted(_TAGS)), st.just(None), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({tag: _element(_TAGS[tag], children) for tag in keys})
    )


DATASETS = st.recursive(st.just({}), _datasets, max_leaves=12)


@FAST
@given(DATASETS)
def test_generated_datasets_come_back_from_xml_unchanged(dataset):
    assert dataset_from_xml(dataset_to_xml(dataset)) == dataset


@FAST
@given(st.lists(DATASETS, max_size=4))
def test_generated_results_come_back_from_both_multipart_forms_unchanged(datasets):
    assert parse_multipart_xml(*multipart_xml(datasets)) == datasets
    assert parse_multipart_json(*multipart_json(datasets)) == datasets


@FAST
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_nothing_but_a_sentence_comes_out_of_the_reader_for_any_bytes(body):
    try:
        dataset_from_xml(body)
    except DicomJsonError as exc:
        assert str(exc).endswith(".")


@FAST
@given(DATASETS.filter(bool), st.integers(0, 10**6), st.sampled_from([b"", b"<", b">", b'"', b"&", b"</Value>", b"x"]))
def test_a_damaged_document_gives_a_dataset_or_a_sentence(dataset, where, junk):
    body = dataset_to_xml(dataset)
    at = where % len(body)
    try:
        dataset_from_xml(body[:at] + junk + body[at + 1 :])
    except DicomJsonError as exc:
        assert str(exc).endswith(".")


# --- hostile and malformed XML ---------------------------------------------------------------


def test_a_doctype_with_an_external_entity_is_refused_before_anything_is_read():
    body = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1">&x;</Value>'
        b"</DicomAttribute></NativeDicomModel>"
    )
    assert "DOCTYPE" in refused(body)


def test_billion_laughs_is_refused():
    lines = ['<!ENTITY a0 "ha">'] + [f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10)]
    body = f"<!DOCTYPE NativeDicomModel [{''.join(lines)}]><NativeDicomModel>&a9;</NativeDicomModel>"
    assert "DOCTYPE" in refused(body)


def test_an_external_dtd_is_refused():
    assert "DOCTYPE" in refused(b'<!DOCTYPE NativeDicomModel SYSTEM "http://example.org/x.dtd"><NativeDicomModel/>')


def test_ten_thousand_nested_elements_are_refused_as_too_deep():
    body = "<NativeDicomModel>" + "<Item>" * 10_000 + "</Item>" * 10_000 + "</NativeDicomModel>"
    assert "nested more than" in refused(body)


def test_sequences_nested_as_deep_as_dicom_json_allows_are_read():
    dataset: dict = {"00100020": {"vr": "LO", "Value": ["deepest"]}}
    for _ in range(MAX_DEPTH):
        dataset = {"0040A730": {"vr": "SQ", "Value": [dataset]}}
    dataset["00100010"] = {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}]}
    assert dataset_from_xml(dataset_to_xml(dataset)) == dataset


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "not well-formed XML"),
        (b"hello, world", "not well-formed XML"),
        (b'[{"00100020": {"vr": "LO"}}]', "not well-formed XML"),
        (b"\xff\xfe\x00garbage", "not well-formed XML"),
        (b"<NativeDicomModel><DicomAttribute", "not well-formed XML"),
        (b"<html><body>hi</body></html>", "not a <NativeDicomModel>"),
        (b"<NativeDicomModel><Patient/></NativeDicomModel>", "only <DicomAttribute>"),
        (b'<NativeDicomModel><DicomAttribute tag="0010" vr="LO"/></NativeDicomModel>', "not 8 hexadecimal digits"),
        (b'<NativeDicomModel><DicomAttribute tag="00100020"/></NativeDicomModel>', "no VR"),
        (b'<NativeDicomModel><DicomAttribute tag="00100020" vr="XX"/></NativeDicomModel>', "unknown VR"),
        (b'<NativeDicomModel><DicomAttribute tag="00100020" vr="DA"/></NativeDicomModel>', "dictionary says LO"),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1">a</Value>'
            b'<Value number="1">b</Value></DicomAttribute></NativeDicomModel>',
            "numbered 1 to 2",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1000000000">a</Value>'
            b"</DicomAttribute></NativeDicomModel>",
            "numbered 1 to 1",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1">a</Value>'
            b"<Item/></DicomAttribute></NativeDicomModel>",
            "mixes",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100010" vr="PN"><Value number="1">Doe^John</Value>'
            b"</DicomAttribute></NativeDicomModel>",
            "<PersonName>",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="7FE00010" vr="OB"><BulkData uuid="1234"/>'
            b"</DicomAttribute></NativeDicomModel>",
            "without a URI",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="7FE00010" vr="OB"><InlineBinary>@@@</InlineBinary>'
            b"</DicomAttribute></NativeDicomModel>",
            "not Base64",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"/><DicomAttribute tag="00100020" vr="LO"/>'
            b"</NativeDicomModel>",
            "appears twice",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO">P1</DicomAttribute></NativeDicomModel>',
            "holds text where only elements belong",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100010" vr="PN"><PersonName number="1">Doe^John'
            b"</PersonName></DicomAttribute></NativeDicomModel>",
            "holds text where only elements belong",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1"><b>P1</b></Value>'
            b"</DicomAttribute></NativeDicomModel>",
            "only text belongs there",
        ),
        (
            b'<NativeDicomModel><DicomAttribute tag="00080018" vr="UI"><Value number="1">not a uid</Value>'
            b"</DicomAttribute></NativeDicomModel>",
            "not a UID",
        ),
    ],
)
def test_malformed_xml_is_refused_with_a_sentence_saying_why(body, words):
    assert words in refused(body)


def test_a_payload_over_the_limit_is_refused_unread():
    assert "larger than" in refused(b"<NativeDicomModel>" + b" " * MAX_BYTES + b"</NativeDicomModel>")


def test_a_control_character_xml_cannot_carry_is_refused_on_writing():
    with pytest.raises(DicomJsonError, match="control character"):
        dataset_to_xml({"00100020": {"vr": "LO", "Value": ["P\x01"]}})


def test_an_element_with_both_a_value_and_binary_cannot_be_written():
    with pytest.raises(DicomJsonError, match="only one"):
        dataset_to_xml({"00100020": {"vr": "LO", "Value": ["P1"], "BulkDataURI": "https://x.example/1"}})


def test_the_encoding_the_document_declares_is_honoured():
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><NativeDicomModel><DicomAttribute tag="00100020" vr="LO"><Value number="1">Müller</Value></DicomAttribute></NativeDicomModel>'
    assert dataset_from_xml(body.encode("latin-1"))["00100020"]["Value"] == ["Müller"]


# --- multipart/related -------------------------------------------------------------------


def mime_parts(body: bytes, content_type: str) -> list:
    """The parts as the standard library's MIME parser sees them: an independent reader."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    assert message.is_multipart()
    return list(message.iter_parts())


def test_several_results_are_one_native_dicom_model_part_each():
    datasets = [{"00100020": {"vr": "LO", "Value": [f"P{i}"]}} for i in range(3)]
    body, content_type = multipart_xml(datasets)
    assert content_type.startswith('multipart/related; type="application/dicom+xml"; boundary=')
    parts = mime_parts(body, content_type)
    assert [part.get_content_type() for part in parts] == ["application/dicom+xml"] * 3
    assert [dataset_from_xml(part.get_payload(decode=True)) for part in parts] == datasets
    assert parse_multipart_xml(body, content_type) == datasets


def test_several_results_are_one_dicom_json_part_each():
    datasets = [{"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe^Jörg"}]}}, {}]
    body, content_type = multipart_json(datasets)
    assert content_type.startswith('multipart/related; type="application/dicom+json"; boundary=')
    parts = mime_parts(body, content_type)
    assert [json.loads(part.get_payload(decode=True)) for part in parts] == [[d] for d in datasets]
    assert parse_multipart_json(body, content_type) == datasets


def test_no_results_make_a_multipart_body_without_parts():
    body, content_type = multipart_xml([])
    assert parse_multipart_xml(body, content_type) == []


def test_a_multipart_body_from_another_writer_is_read():
    xml = dataset_to_xml({"00100020": {"vr": "LO", "Value": ["P1"]}})
    body = (
        b"a preamble to ignore\r\n--XyZ \r\ncontent-type: application/dicom+xml; charset=utf-8\r\n\r\n"
        + xml
        + b"\r\n--XyZ\r\n\r\n"
        + xml
        + b"\r\n--XyZ--\r\nan epilogue"
    )
    content_type = 'Multipart/Related; boundary="XyZ"; type="application/dicom+xml"'
    assert parse_multipart_xml(body, content_type) == [{"00100020": {"vr": "LO", "Value": ["P1"]}}] * 2


def test_json_parts_may_hold_an_object_or_an_array():
    body = (
        b'--b\r\nContent-Type: application/dicom+json\r\n\r\n{"00100020": {"vr": "LO", "Value": ["P1"]}}\r\n'
        b'--b\r\nContent-Type: application/dicom+json\r\n\r\n[{"00100020": {"vr": "LO", "Value": ["P2"]}}]\r\n--b--\r\n'
    )
    found = parse_multipart_json(body, 'multipart/related; type="application/dicom+json"; boundary=b')
    assert [d["00100020"]["Value"] for d in found] == [["P1"], ["P2"]]


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b"--b--\r\n", "application/dicom+xml", "not multipart/related"),
        (b"--b--\r\n", "multipart/related; type=application/dicom+xml", "no valid boundary"),
        (b"--b--\r\n", 'multipart/related; type="application/dicom+json"; boundary=b', "not application/dicom+xml"),
        (b"--b\r\n\r\n<NativeDicomModel/>\r\n", "multipart/related; boundary=b", "closing boundary"),
        (b"--b\r\nContent-Type: text/html\r\n\r\n<p/>\r\n--b--", "multipart/related; boundary=b", "is text/html"),
        (b"--b\r\nContent-Type: application/dicom+xml", "multipart/related; boundary=b", "no blank line"),
        (b"--b\r\n\r\nnot xml\r\n--b--", "multipart/related; boundary=b", "not well-formed XML"),
    ],
)
def test_a_malformed_multipart_body_is_refused_with_a_sentence(body, content_type, words):
    with pytest.raises(DicomJsonError) as info:
        parse_multipart_xml(body, content_type)
    assert words in str(info.value) and str(info.value).endswith(".")
