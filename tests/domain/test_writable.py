"""Stored values on their way out: what its VR cannot carry is emptied, everything else untouched."""

from __future__ import annotations

import json

from app.domain.writable import strict_json, writable

GOOD = {
    "00100010": {"vr": "PN", "Value": [{"Alphabetic": "NaN^Infinity"}]},
    "001021C0": {"vr": "US", "Value": [4]},
    "00101020": {"vr": "DS", "Value": ["1.75"]},
    "00200013": {"vr": "IS", "Value": [" 12 "]},
}


def test_good_values_come_back_as_the_same_object():
    assert writable(GOOD) == (GOOD, [])
    assert writable(GOOD)[0] is GOOD


def test_each_bad_value_costs_only_its_own_element_even_inside_a_sequence():
    bad = {
        **GOOD,
        "001021C0": {"vr": "US", "Value": [70000]},
        "00404025": {"vr": "SQ", "Value": [{"00200013": {"vr": "IS", "Value": ["1e999"]}}]},
        "00091010": {"vr": "OB", "InlineBinary": "not base64!"},
    }
    cleaned, faults = writable(bad)
    assert faults == [("001021C0",), ("00404025", "00200013"), ("00091010",)]
    assert cleaned["001021C0"] == {"vr": "US"} and cleaned["00091010"] == {"vr": "OB"}
    assert cleaned["00404025"]["Value"][0]["00200013"] == {"vr": "IS"}
    assert cleaned["00100010"] == GOOD["00100010"] and bad["001021C0"]["Value"] == [70000]  # the input is left alone


def test_strict_json_empties_non_finite_numbers_only():
    text = json.dumps([{**GOOD, "00101030": {"vr": "DS", "Value": [float("nan")]}}])
    cleaned, faults = strict_json(text)
    assert faults == [("00101030",)]
    assert json.loads(cleaned)[0]["00101030"] == {"vr": "DS"}
    assert "NaN^Infinity" in cleaned and "NaN]" not in cleaned
    plain = json.dumps(GOOD)
    assert strict_json(plain) == (plain, [])
