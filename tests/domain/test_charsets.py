"""The one rule of which Specific Character Set a data set we send declares."""

from __future__ import annotations

import pytest
from pydicom import Dataset

from app.domain.charsets import declare, declare_json, needed


@pytest.mark.parametrize(
    "texts, candidates, chosen",
    [
        (["Smith^John"], (None,), []),  # the default repertoire needs no declaration
        (["Smith^John"], ("ISO_IR 100",), ["ISO_IR 100"]),  # one the data set has is kept
        (["Müller"], (None, "ISO_IR 100"), ["ISO_IR 100"]),  # the source's, which carries it
        (["山田^太郎"], ("ISO_IR 100",), ["ISO_IR 192"]),  # one that cannot carry it is replaced
        (["Yamada=山田=やまだ"], (None, ["", "ISO 2022 IR 87"]), ["", "ISO 2022 IR 87"]),
        (["Scan – 頭部CT"], (None, ["", "ISO 2022 IR 87"]), ["ISO_IR 192"]),  # no en dash in JIS X 0208
        (["Müller"], (None, ["", "ISO 2022 IR 87"]), ["ISO_IR 192"]),  # ISO 2022 IR 6 is ASCII, not Latin-1
        (["Müller"], ("ISO_IR 999",), ["ISO_IR 192"]),  # a term DICOM does not define
    ],
)
def test_the_character_set_a_text_needs(texts, candidates, chosen):
    assert needed(texts, *candidates) == chosen


def test_a_dataset_declares_it_and_sequence_items_count():
    ds = Dataset()
    item = Dataset()
    item.OperatorsName = "鈴木^花子"
    ds.PerformedSeriesSequence = [item]
    assert declare(ds).SpecificCharacterSet == "ISO_IR 192"


def test_a_json_dataset_declares_it_for_every_person_name_group():
    name = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Yamada", "Ideographic": "山田"}]}}
    assert declare_json(name)["00080005"] == {"vr": "CS", "Value": ["ISO_IR 192"]}
    assert "00080005" not in declare_json({"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Yamada"}]}})


def test_undeclared_text_with_iso_2022_escapes_names_the_sets_they_designate():
    from app.domain.charsets import announced_by_escapes

    assert announced_by_escapes([b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"]) == [
        "ISO 2022 IR 6",
        "ISO 2022 IR 87",
    ]
    assert announced_by_escapes([b"\x1b$)C\xc8\xab\x1b(B"]) == ["ISO 2022 IR 6", "ISO 2022 IR 149"]
    assert announced_by_escapes([b"plain", "Müller".encode("latin-1")]) == []
