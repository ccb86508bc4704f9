"""Our DICOM XML against DCMTK's: for one dataset of every VR written to a file with pydicom,
`dcm2xml -nat` (the Native DICOM Model of PS3.19) must write the XML we write from the same
dataset's DICOM JSON, whitespace and attribute order aside, and we must read its XML back
into the dataset we started from."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence

from app.domain.dicomjson import from_dataset
from app.domain.dicomxml import dataset_from_xml, dataset_to_xml

pytestmark = pytest.mark.interop

DCM2XML = shutil.which("dcm2xml")
# DCMTK 3.6.7 writes the Base64 of OD, OF, OL, OV and OW in big-endian words; DICOM JSON and
# our XML carry the bytes as they are on the wire (little endian): the same words, swapped.
WORD_SIZES = {"OD": 8, "OF": 4, "OL": 4, "OV": 8, "OW": 2}


def every_vr() -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.add_new(0x00080054, "AE", ["CT1", "CT2"])
    ds.add_new(0x00101010, "AS", "042Y")
    ds.add_new(0x00280009, "AT", [0x00100010, 0x00181063])
    ds.add_new(0x00080008, "CS", ["ORIGINAL", "", "AXIAL"])
    ds.add_new(0x00080012, "DA", "20270615")
    ds.add_new(0x00082130, "DS", ["1.5", "-2", "0.25"])
    ds.add_new(0x00080015, "DT", "20270615140000.000000+0100")
    ds.add_new(0x00089459, "FL", 29.5)
    ds.add_new(0x00081163, "FD", [0.1, 0.75])
    ds.add_new(0x00081160, "IS", ["1", "-3"])
    ds.add_new(0x00080070, "LO", "ACME & <Co>")
    ds.add_new(0x00080108, "LT", "line one\r\nline two")
    ds.add_new(0x00420011, "OB", b"\x00\x01\x02\xff")
    ds.add_new(0x00720073, "OD", bytes(7) + b"\x40")
    ds.add_new(0x00181638, "OF", b"\x00\x00\xc0\x3f")
    ds.add_new(0x00660040, "OL", b"\x01\x00\x00\x00")
    ds.add_new(0x00720081, "OV", b"\x01" + bytes(7))
    ds.add_new(0x00281201, "OW", b"\x01\x00\x02\x00")
    ds.add_new(0x00080090, "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう")
    ds.add_new(0x00081060, "PN", ["Doe^John^^Dr", "Roe^Jane"])
    ds.add_new(0x00080050, "SH", "ACC-1")
    ds.add_new(0x00186020, "SL", -(2**31))
    ds.add_new(0x00189219, "SS", -(2**15))
    ds.add_new(0x00080081, "ST", "1 Main St")
    ds.add_new(0x00720082, "SV", [-(2**63), 5])
    ds.add_new(0x00080013, "TM", "140000.125")
    ds.add_new(0x00080119, "UC", "a long code value")
    ds.add_new(0x00080014, "UI", "1.2.826.0.1.3680043.10.1")
    ds.add_new(0x00080309, "UL", [2**32 - 1, 0])
    ds.add_new(0x0072006D, "UN", b"\x01\x02")
    ds.add_new(0x0008010E, "UR", "http://example.org/a?b=c&d=e")
    ds.add_new(0x00080301, "US", 2**16 - 1)
    ds.add_new(0x0008030E, "UT", "unlimited text")
    ds.add_new(0x00720083, "UV", [2**64 - 1])
    code = Dataset()
    code.CodeValue = "T-1"
    code.CodingSchemeDesignator = "SCT"
    language = Dataset()
    language.CodeValue = "en"
    code.add_new(0x00080006, "SQ", Sequence([language]))
    ds.add_new(0x00081032, "SQ", Sequence([code, Dataset()]))
    ds.add_new(0x00101002, "SQ", Sequence([]))
    ds.add_new(0x00100030, "DA", "")
    ds.add_new(0x00290010, "LO", "ACME 1.0")
    ds.add_new(0x00291001, "LO", "private value")
    return ds


def canonical(node: ET.Element, vr: str = "") -> tuple:
    """An element as a comparable tuple: whitespace between elements, attribute order and the
    spelling of numbers (2 or 2.0) do not count."""
    name = node.tag.rpartition("}")[2]
    vr = node.get("vr", vr)
    text = node.text or ""
    if len(node):
        text = text.strip()
    elif name == "Value" and vr in ("DS", "FD", "FL") and text:
        text = repr(float(text))
    return name, dict(sorted(node.attrib.items())), text, [canonical(child, vr) for child in node]


def little_endian(theirs: bytes) -> bytes:
    def swap(found: re.Match[bytes]) -> bytes:
        size = WORD_SIZES[found["vr"].decode()]
        data = base64.b64decode(found["data"])
        words = b"".join(data[i : i + size][::-1] for i in range(0, len(data), size))
        return found[0].replace(found["data"], base64.b64encode(words))

    # on the text, not through a parser, so that the rest stays byte for byte what DCMTK wrote
    return re.sub(rb'vr="(?P<vr>O[DFLVW])"[^>]*>\s*<InlineBinary>(?P<data>[^<]*)</InlineBinary>', swap, theirs)


@pytest.fixture
def dcmtk_xml(tmp_path: Path) -> tuple[Dataset, bytes]:
    if DCM2XML is None:
        pytest.skip("DCMTK's dcm2xml is not installed")
    ds = every_vr()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    path = tmp_path / "every-vr.dcm"
    ds.save_as(path, enforce_file_format=False, implicit_vr=False, little_endian=True)
    written = subprocess.run(
        [DCM2XML, "--native-format", "--use-xml-namespace", "--encode-base64", str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return ds, written.stdout


def test_our_xml_is_the_xml_dcm2xml_writes_for_the_same_dataset(dcmtk_xml):
    ds, theirs = dcmtk_xml
    ours = dataset_to_xml(from_dataset(ds))
    assert canonical(ET.fromstring(ours)) == canonical(ET.fromstring(little_endian(theirs)))


def test_the_xml_dcm2xml_writes_is_read_back_into_the_dataset_it_came_from(dcmtk_xml):
    ds, theirs = dcmtk_xml
    read = dataset_from_xml(little_endian(theirs))
    assert read == dataset_from_xml(dataset_to_xml(from_dataset(ds)))
    assert read["00080090"]["Value"] == [
        {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"}
    ]
    assert read["00291001"]["Value"] == ["private value"]
    assert read["00181638"]["InlineBinary"] == base64.b64encode(b"\x00\x00\xc0\x3f").decode()
