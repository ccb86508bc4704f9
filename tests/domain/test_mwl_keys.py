"""Table K.6-1 as the Sup 246 Search reads keys and shapes answers (`domain.mwl_keys`)."""

from __future__ import annotations

import pytest

from app.domain.mwl_keys import SearchKeys, answer, key_path, search_keys
from app.domain.status import InvalidRequest


def test_a_key_of_the_step_item_given_unnested_is_the_key_inside_it():
    assert key_path(("00400001",)) == ("00400100", "00400001")
    assert key_path(("00080060",)) == ("00400100", "00080060")
    assert key_path(("00400100", "00400001")) == ("00400100", "00400001")
    assert key_path(("00100020",)) == ("00100020",)  # an entry key stays where it is


def test_search_keys_resolve_refuse_and_note_what_is_returned():
    keys = search_keys(
        [("Modality", "CT"), ("ReferringPhysicianName", ""), ("includefield", "PreMedication,StudyDescription")]
    )
    assert keys.matches == (("00400100.00080060", "CT"), ("00080090", ""))
    assert ("00400100", "00400012") in keys.returned and keys.ignored == ("StudyDescription",)
    with pytest.raises(InvalidRequest, match="PreMedication"):
        search_keys([("PreMedication", "x")])


def test_an_answer_holds_every_type_1_and_2_key_and_keeps_what_it_has():
    item = {"00100020": {"vr": "LO", "Value": ["P1"]}, "00400100": {"vr": "SQ", "Value": [{}]}}
    shaped = answer(item, SearchKeys((), frozenset(), False, ()))
    assert shaped["00100020"] == item["00100020"] and shaped["00081110"] == {"vr": "SQ"}
    assert shaped["00400100"]["Value"][0]["00400011"] == {"vr": "SH"}
    assert "00400012" not in shaped["00400100"]["Value"][0] and "00401002" not in shaped
    every = answer(item, SearchKeys((), frozenset(), True, ()))
    assert "00400012" in every["00400100"]["Value"][0] and "00401002" in every
    assert list(shaped) == sorted(shaped)
