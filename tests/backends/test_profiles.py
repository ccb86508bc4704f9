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


def test_the_staff_list_is_saved_and_a_file_without_one_has_none(tmp_path):
    path = tmp_path / "profiles.toml"
    staff = ["Becker, Anna", "O'Brien, Mary Ann"]
    profile_store.save(ProfileBook([Profile(name="CT room", ae_title="CT1", staff=staff)], "CT room"), path)
    assert profile_store.load(path).get("CT room").staff == staff
    path.write_text('[profiles."Old"]\nae_title = "CT1"\nurl = "http://ris/dicom-web"\n', encoding="utf-8")
    assert profile_store.load(path).get("Old").staff == []


def test_start_asks_first_unless_a_profile_says_otherwise_and_older_files_ask_too(tmp_path):
    path = tmp_path / "profiles.toml"
    assert Profile().confirm_start  # a new profile asks
    profile_store.save(ProfileBook([Profile(name="Fast", ae_title="CT1", confirm_start=False)], "Fast"), path)
    assert profile_store.load(path).get("Fast").confirm_start is False
    path.write_text('[profiles."Old"]\nae_title = "CT1"\nurl = "http://ris/dicom-web"\n', encoding="utf-8")
    assert profile_store.load(path).get("Old").confirm_start is True  # written before the setting: the safer side


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
        ({"staff": "Becker, Anna"}, "staff"),
        ({"staff": ["Becker, Anna", ""]}, "staff"),
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


@pytest.mark.parametrize(
    "secret",
    [
        "pa\rss",  # a carriage return made the earlier hand-written file unreadable
        "tab\there, nul\x00, bell\x07, escape\x1b, delete\x7f, line\nbreak",
        'quote " and backslash \\ and both \\"',
        "Müller ÆØÅ 山田 🔑",
        "'''single quotes''' \"\"\"triple\"\"\"",
    ],
)
def test_every_password_and_name_survives_a_save_and_a_load(tmp_path, secret):
    path = tmp_path / "profiles.toml"
    name = f"Site {secret[:6]}".replace("\x00", "0").strip() or "Site"
    profile = Profile(name=name, ae_title="CT1", auth="basic", username=secret, password=secret, token=secret)
    profile_store.save(ProfileBook([profile, Profile(name="Other")], name), path)
    book = profile_store.load(path)
    assert book.active == name
    assert book.get(name) == profile
    assert book.get("Other") == Profile(name="Other")


def test_a_profiles_file_written_by_the_earlier_writer_still_reads(tmp_path):
    path = tmp_path / "profiles.toml"
    # what versions before tomli-w wrote: every field, quoted keys, \\ \" \n escapes
    path.write_text(
        'active = "RIS \\"main\\""\n\n'
        '[profiles."RIS \\"main\\""]\n'
        'backend = "dimse"\nurl = "http://127.0.0.1:8080/dicom-web"\nae_title = "CT1"\nstation = ""\n'
        'modality = ""\nauth = "basic"\nusername = "tech"\npassword = "a\\\\b\\"c\\nd"\ntoken = ""\n'
        'ca_file = "C:\\\\certs\\\\ca.pem"\nverify_tls = false\ndcm4chee = false\ntimeout = 10.0\n'
        'poll_seconds = 30.0\nmwl_host = "10.0.0.5"\nmwl_port = 104\nmwl_aet = "RIS_MWL"\nmpps_host = ""\n'
        'mpps_port = 0\nmpps_aet = ""\ndimse_timeout = 30.0\nfallback_charset = "ISO_IR 100"\n',
        encoding="utf-8",
    )
    book = profile_store.load(path)
    profile = book.get('RIS "main"')
    assert book.active == 'RIS "main"' and profile is not None
    assert profile.password == 'a\\b"c\nd' and profile.ca_file == "C:\\certs\\ca.pem"
    assert (profile.mwl_host, profile.mwl_port, profile.verify_tls) == ("10.0.0.5", 104, False)
    profile_store.save(book, path)  # and it is written back readable, its backup kept
    assert profile_store.load(path).get('RIS "main"') == profile
    assert profile_store.backup_path(path).exists()
