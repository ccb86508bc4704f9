"""A realistic demo day: about sixty workitems today and tomorrow across six stations.

The content (patients, procedures, times) is the same for a given seed and day, and seeding
the same day twice creates nothing new. The UIDs are not guessable: they grow from a random
root kept in each database (through each order's placer number, from which the HL7 door derives
them as for any RIS's order), so a web page cannot name another server's demo workitems. Patient names need more than ASCII on purpose (German, Spanish,
French, Danish and a Japanese name in ideographic and phonetic form).
"""

from __future__ import annotations

import hashlib
import random
import secrets
from datetime import date, datetime, timedelta

from pydicom.uid import generate_uid

from app.domain.build import NewWorkitem
from app.domain.hl7_orders import workitem_uid
from app.domain.hl7_ris import Sender
from app.domain.status import Status, UPSError
from app.domain.workitem import Code, PatientName

from .service import UPSService

STATIONS = [
    ("CT1", "CT", "CT Room 1"),
    ("CT2", "CT", "CT Room 2"),
    ("MR1", "MR", "MR Suite"),
    ("US1", "US", "Ultrasound 1"),
    ("CR1", "CR", "X-Ray Room 1"),
    ("MG1", "MG", "Breast Center"),
]

PROCEDURES: dict[str, list[tuple[str, str]]] = {
    "CT": [
        ("CTCHEST", "CT chest without contrast"),
        ("CTHEAD", "CT head without contrast"),
        ("CTABDPEL", "CT abdomen and pelvis with contrast"),
        ("CTAPULM", "CT angiography pulmonary arteries"),
    ],
    "MR": [
        ("MRBRAIN", "MR brain with and without contrast"),
        ("MRKNEE", "MR knee left"),
        ("MRLSPINE", "MR lumbar spine"),
    ],
    "US": [("USABD", "US abdomen complete"), ("USTHYR", "US thyroid"), ("USOB", "US obstetric second trimester")],
    "CR": [("CRCHEST2", "XR chest 2 views"), ("CRHAND", "XR hand right 3 views"), ("CRFOOT", "XR foot left 3 views")],
    "MG": [("MGSCREEN", "Screening mammography bilateral"), ("MGDIAG", "Diagnostic mammography left")],
}

PATIENTS: list[tuple[PatientName, str, str]] = [
    (PatientName("Müller^Jürgen"), "19580314", "M"),
    (PatientName("Schröder^Käthe"), "19671102", "F"),
    (PatientName("Weiß^Günther"), "19450723", "M"),
    (PatientName("Groß^Ümit"), "19900105", "M"),
    (PatientName("Núñez^José"), "19720918", "M"),
    (PatientName("Peña^María José"), "19850227", "F"),
    (PatientName("Castaño^Inés"), "19991130", "F"),
    (PatientName("Yamada^Tarou", "山田^太郎", "やまだ^たろう"), "19630611", "M"),
    (PatientName("Suzuki^Hanako", "鈴木^花子", "すずき^はなこ"), "19880420", "F"),
    (PatientName("Dubois^Élodie"), "19790808", "F"),
    (PatientName("Sørensen^Mette"), "19550117", "F"),
    (PatientName("Smith^John"), "19600229", "M"),
    (PatientName("Doe^Jane"), "19821212", "F"),
    (PatientName("Okafor^Chidi"), "19931003", "M"),
    (PatientName("Kowalski^Zofia"), "19480521", "F"),
    (PatientName("Brown^Emily"), "20010704", "F"),
    (PatientName("Rossi^Giulia"), "19760316", "F"),
    (PatientName("O'Neill^Patrick"), "19690930", "M"),
]

TECHNOLOGISTS = [
    (Code("TECH01", "99WLSTAFF", "Becker, Anna"), "Becker^Anna"),
    (Code("TECH02", "99WLSTAFF", "García, Luis"), "García^Luis"),
    (Code("TECH03", "99WLSTAFF", "Tanaka, Yui"), "Tanaka^Yui"),
]


# The demo's RIS (MSH-3^MSH-4): the demo day's orders are its orders, so that Simulate → RIS can
# cancel one over the HL7 door, which finds a workitem by sender and placer order number.
DEMO_RIS = Sender("RIS", "DEMO")

UID_ROOT_KEY = "demo_uid_root"


def demo_uid_root(service: UPSService) -> str:
    """This database's random root of demo UIDs, made on first use and kept in it."""
    with service.store.write() as db:
        return service.store.meta_value(db, UID_ROOT_KEY, secrets.token_hex(16))


def demo_workitems(day: date, seed: int = 1, per_day: int = 30, uid_root: str = "") -> list[NewWorkitem]:
    """The workitems of the demo for `day` (the same for a seed and a day; the UIDs also
    depend on `uid_root`)."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    items = []
    for n in range(per_day):
        station, modality, location = STATIONS[n % len(STATIONS)]
        code, meaning = rng.choice(PROCEDURES[modality])
        if modality == "MG":
            patient = rng.choice([p for p in PATIENTS if p[2] == "F"])
        else:
            patient = rng.choice(PATIENTS)
        slot = n // len(STATIONS)
        start = datetime.combine(day, datetime.min.time()) + timedelta(
            hours=7, minutes=30 + slot * 45 + rng.choice((0, 5, 10, 15))
        )
        key = f"{uid_root}:{seed}:{day.isoformat()}:{n}"
        serial = f"{day:%y%m%d}{n:03d}"
        # the UID follows from the placer number, which follows from the database's random root
        placer = f"DM{serial}-{hashlib.sha256(key.encode()).hexdigest()[:8].upper()}"
        performers = [rng.choice(TECHNOLOGISTS)] if rng.random() < 0.35 else []
        priority = rng.choices(("MEDIUM", "HIGH", "LOW"), weights=(7, 2, 1))[0]
        items.append(
            NewWorkitem(
                uid=workitem_uid(DEMO_RIS.application, DEMO_RIS.facility, placer, ""),
                label=meaning,
                start=start.strftime("%Y%m%d%H%M%S"),
                patient=patient[0],
                patient_id=f"PID{PATIENTS.index(patient) + 1000:05d}",
                station=station,
                modality=modality,
                priority=priority,
                birth_date=patient[1],
                sex=patient[2],
                accession=f"ACC{serial}",
                requested_procedure_id=f"RP{serial}",
                requested_procedure=Code(code, "99WLPROC", meaning),
                study_uid=generate_uid(entropy_srcs=["study", key]),
                location=location,
                placer_order=placer,
                performers=performers,
                comments="Patient is claustrophobic; offer sedation."
                if modality == "MR" and rng.random() < 0.3
                else "",
            )
        )
    return items


def seed_demo_days(service: UPSService, seed: int = 1, today: date | None = None) -> dict[date, int]:
    """Create the demo workitems of today and tomorrow that do not exist yet; how many, per day.

    They are written in one commit (each create a savepoint of it, so an existing one is skipped
    alone): a commit each cost the demo console's start a third of a second of disk syncs."""
    today = today or date.today()
    root = demo_uid_root(service)
    created: dict[date, int] = {}
    with service.transaction():
        for day in (today, today + timedelta(days=1)):
            created[day] = 0
            for item in demo_workitems(day, seed, uid_root=root):
                try:
                    service.create(item.to_json())
                    created[day] += 1
                except UPSError as exc:
                    if exc.status is not Status.DUPLICATE_INSTANCE:
                        raise
    return created


def seed_demo_day(service: UPSService, seed: int = 1, today: date | None = None) -> int:
    """Create the demo workitems of today and tomorrow that do not exist yet; returns how many."""
    return sum(seed_demo_days(service, seed, today).values())


def seeding_sentence(created: dict[date, int]) -> str:
    """What seeding did, for the trainer who seeds again: "0 created" reads like a failure."""
    there = [f"{day:%Y-%m-%d}" for day, count in created.items() if not count]
    added = [f"{day:%Y-%m-%d}" for day, count in created.items() if count]
    sentences = []
    if added:
        total = sum(created.values())
        sentences.append(f"Seeded {total} demo workitems for {' and '.join(added)}.")
    if there:
        sentences.append(
            f"The demo day {there[0]} is already in the database."
            if len(there) == 1
            else f"The demo days {' and '.join(there)} are already in the database."
        )
    return " ".join(sentences)
