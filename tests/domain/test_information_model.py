"""Screening a C-FIND identifier against the information model it queries."""

from __future__ import annotations

from app.domain.information_model import MWL_MODEL, UPS_MODEL, screen


def test_the_query_retrieve_level_is_dropped_and_a_valued_foreign_key_becomes_a_return_key():
    identifier = {
        "00080052": {"vr": "CS", "Value": ["WORKLIST"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe*"}]},
        "00180015": {"vr": "CS", "Value": ["HEAD"]},
        "00400100": {
            "vr": "SQ",
            "Value": [{"00400001": {"vr": "AE", "Value": ["CT1"]}, "00180010": {"vr": "LO", "Value": ["Iodine"]}}],
        },
    }
    screened = screen(identifier, MWL_MODEL)
    assert screened.identifier == {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Doe*"}]},
        "00180015": {"vr": "CS"},
        "00400100": {"vr": "SQ", "Value": [{"00400001": {"vr": "AE", "Value": ["CT1"]}, "00180010": {"vr": "LO"}}]},
    }
    assert screened.ignored == ("00080052", "00180015", "00400100.00180010") and screened.unsupported


def test_return_keys_and_keys_of_the_model_pass_unchanged():
    identifier = {
        "00180015": {"vr": "CS"},
        "00081110": {"vr": "SQ", "Value": [{}]},
        "00741000": {"vr": "CS", "Value": ["SCHEDULED"]},
        "00404025": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["CT1"]}}]},
    }
    screened = screen(identifier, UPS_MODEL)
    assert screened.identifier == identifier and screened.ignored == () and not screened.unsupported
