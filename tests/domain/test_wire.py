"""The direct DICOM JSON → little-endian encoder of C-FIND answers: what it writes reads back,
with pydicom, as the same data set pydicom itself would have written, in both transfer syntaxes."""

from __future__ import annotations

from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset

from app.domain import wire
from app.domain.dicomjson import JsonDataset, from_dataset, to_dataset
from app.server.demo import PATIENTS


def read_back(data: bytes, implicit_vr: bool) -> JsonDataset:
    return from_dataset(read_dataset(BytesIO(data), implicit_vr, True))


def pydicom_bytes(dataset: JsonDataset, implicit_vr: bool) -> bytes:
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = implicit_vr, True
    write_dataset(fp, to_dataset(dataset))
    return fp.getvalue()


def answer(charset: list[str] | None, name: dict, **extra) -> JsonDataset:
    ds: JsonDataset = {
        "00100010": {"vr": "PN", "Value": [name]},
        "00100020": {"vr": "LO", "Value": ["P0001"]},
        "00080050": {"vr": "SH"},
        "0020000D": {"vr": "UI", "Value": ["1.2.3.45"]},  # odd length: padded with NUL
        "00400100": {
            "vr": "SQ",
            "Value": [
                {
                    "00400001": {"vr": "AE", "Value": ["CT1"]},
                    "00400002": {"vr": "DA", "Value": ["20261123"]},
                    "00400007": {"vr": "LO", "Value": ["CT thorax mit KM"]},
                    "00080060": {"vr": "CS", "Value": ["CT"]},
                    "00400008": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["P5-0800"]}}]},
                }
            ],
        },
        "00321060": {"vr": "LO", "Value": ["Kopf"]},
        **extra,
    }
    if charset is not None:
        ds["00080005"] = {"vr": "CS", "Value": charset}
    return ds


CASES = [
    answer(["ISO_IR 100"], {"Alphabetic": "Müller^Jürgen"}),
    answer(["ISO_IR 192"], {"Alphabetic": "Peña^María José"}),
    answer(
        ["", "ISO 2022 IR 87"], {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
    ),
    answer(None, {"Alphabetic": "Doe^John"}),
    answer(
        ["ISO_IR 192"],
        {"Alphabetic": "Nielsen^Søren"},
        **{
            "00081110": {"vr": "SQ"},
            "00280010": {"vr": "US", "Value": [512]},
            "00200013": {"vr": "IS", "Value": [7]},
            "00080061": {"vr": "CS", "Value": ["CT", "PT"]},
            "00081115": {"vr": "SQ", "Value": [{}]},
        },
    ),
]


@pytest.mark.parametrize("implicit_vr", [True, False], ids=["implicit", "explicit"])
@pytest.mark.parametrize("dataset", CASES, ids=["latin1", "utf8", "iso2022-jp", "default", "numbers-empty-seq"])
def test_reads_back_as_pydicom_writes_it(dataset, implicit_vr):
    encoded = wire.encode(dataset, implicit_vr)
    assert encoded is not None
    assert read_back(encoded, implicit_vr) == read_back(pydicom_bytes(dataset, implicit_vr), implicit_vr)
    assert len(encoded) % 2 == 0


@pytest.mark.parametrize("charset", [["ISO_IR 192"], ["", "ISO 2022 IR 87"], ["ISO_IR 100"]])
def test_the_demo_patients_names_survive_the_trip(charset):
    for name, _, _ in PATIENTS:
        if charset == ["ISO_IR 100"] and name.ideographic:
            continue  # Latin-1 cannot hold them
        if charset == ["", "ISO 2022 IR 87"] and not name.ideographic:
            continue
        groups = {"Alphabetic": name.alphabetic, "Ideographic": name.ideographic, "Phonetic": name.phonetic}
        dataset = answer(charset, {k: v for k, v in groups.items() if v})
        for implicit_vr in (True, False):
            assert read_back(wire.encode(dataset, implicit_vr), implicit_vr) == read_back(
                pydicom_bytes(dataset, implicit_vr), implicit_vr
            )


@pytest.mark.parametrize(
    "element",
    [
        {"vr": "OB", "InlineBinary": "AAEC"},
        {"vr": "UN", "BulkDataURI": "http://example/bulk"},
        {"vr": "DS", "Value": [1.5]},  # a decimal string pydicom formats
    ],
)
def test_what_it_does_not_write_is_left_to_pydicom(element):
    assert wire.encode({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "A^B"}]}, "00091001": element}, False) is None


_text = st.text(st.characters(codec="latin-1", exclude_characters="\\^=\x00\r\n\x0c\x1b"), max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    family=_text,
    given_name=_text,
    description=_text,
    implicit_vr=st.booleans(),
    charset=st.sampled_from(["ISO_IR 100", "ISO_IR 192"]),
)
def test_any_latin_text_reads_back_the_same(family, given_name, description, implicit_vr, charset):
    name = f"{family.strip()}^{given_name.strip()}".rstrip("^")
    dataset = answer(
        [charset],
        {"Alphabetic": name} if name else {},
        **{"00321060": {"vr": "LO", "Value": [description.strip()]} if description.strip() else {"vr": "LO"}},
    )
    assert read_back(wire.encode(dataset, implicit_vr), implicit_vr) == read_back(
        pydicom_bytes(dataset, implicit_vr), implicit_vr
    )
