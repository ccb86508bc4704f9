"""Profiles as the file keeps them: the station's modality, the field a check blames, and the book's
delete, duplicate and rename."""

from __future__ import annotations

import pytest

from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileBook, ProfileError


@pytest.mark.parametrize(
    ("station", "ae_title", "modality"),
    [
        ("CT1", "X", "CT"),
        ("MR1", "X", "MR"),
        ("CT2B", "X", "CT"),
        ("ROOM7", "X", ""),
        ("", "US1", "US"),
        ("ct3", "X", "CT"),
        ("CTSCAN", "X", ""),
    ],
)
def test_the_station_modality_is_read_from_the_station_name(station, ae_title, modality):
    assert Profile(station=station, ae_title=ae_title).station_modality == modality


def test_a_configured_modality_wins_over_the_station_name():
    assert Profile(station="ROOM7", modality="MR").station_modality == "MR"
    assert Profile(station="CT1", modality="XC").station_modality == "XC"


def test_the_modality_is_saved_and_an_older_file_without_it_still_loads(tmp_path):
    path = tmp_path / "profiles.toml"
    profile_store.save(ProfileBook([Profile(name="Room 7", ae_title="ROOM7", modality="MR")], "Room 7"), path)
    assert profile_store.load(path).get("Room 7").station_modality == "MR"
    path.write_text(
        'active = "Old"\n[profiles."Old"]\nae_title = "CT1"\nurl = "http://ris/dicom-web"\n', encoding="utf-8"
    )
    old = profile_store.load(path).get("Old")
    assert (old.modality, old.station_modality) == ("", "CT")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"backend": "hl7"}, "backend"),
        ({"auth": "kerberos"}, "auth"),
        ({"ae_title": ""}, "ae_title"),
        ({"ae_title": "A_TITLE_TOO_LONG_"}, "ae_title"),
        ({"modality": "computed tomography"}, "modality"),
        ({"url": "ris.example/dicom-web"}, "url"),
        ({"backend": "dimse", "mwl_host": ""}, "mwl_host"),
        ({"backend": "dimse", "mwl_port": 0}, "mwl_port"),
        ({"backend": "dimse", "mwl_aet": ""}, "mwl_aet"),
    ],
)
def test_a_failed_check_names_the_field_at_fault(changes, field):
    with pytest.raises(ProfileError) as failure:
        Profile(**{"name": "Site", "ae_title": "CT1", **changes}).check()
    assert failure.value.field == field


def book_of(*names: str, active: str = "") -> ProfileBook:
    return ProfileBook([Profile(name=n, ae_title="CT1") for n in names], active)


def test_removing_the_start_up_profile_leaves_no_start_up_profile():
    book = book_of("A", "B", active="A")
    book.remove("B")
    assert ([p.name for p in book.profiles], book.active) == (["A"], "A")
    book.remove("A")
    assert (book.profiles, book.active) == ([], "")


def test_a_duplicate_gets_a_name_no_other_profile_has():
    book = book_of("A", active="A")
    first, second = book.duplicate("A"), book.duplicate("A")
    assert (first.name, second.name) == ("Copy of A", "Copy of A (2)")
    assert [p.name for p in book.profiles] == ["A", "Copy of A", "Copy of A (2)"] and book.active == "A"
    assert first.ae_title == "CT1"


def test_a_renamed_profile_keeps_its_place_and_its_start_up_role():
    book = book_of("A", "B", active="A")
    book.put(Profile(name="Main RIS", ae_title="CT2"), replacing="A")
    assert [p.name for p in book.profiles] == ["Main RIS", "B"] and book.active == "Main RIS"


def test_a_name_another_profile_has_is_refused_instead_of_overwriting_it():
    book = book_of("A", "B")
    with pytest.raises(ProfileError) as failure:
        book.put(Profile(name="B", ae_title="MR1"), replacing="A")
    assert failure.value.field == "name"
    with pytest.raises(ProfileError):
        book.put(Profile(name="A", ae_title="MR1"), replacing="")  # a new profile
    assert [(p.name, p.ae_title) for p in book.profiles] == [("A", "CT1"), ("B", "CT1")]
