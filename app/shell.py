"""`worklist-console find` and `echo`: the worklist query and the connectivity check from a shell."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.backends import profiles as profile_store
from app.backends.profiles import Profile, ProfileError

# what only `find` needs (the query, the table, the character sets) is imported inside it, and
# each backend by make_backend: a cold `echo` pays for its own protocol's client alone
if TYPE_CHECKING:
    from app.domain.workitem import Workitem
    from app.domain.worklist_query import WorklistQuery


def profile_for(args: argparse.Namespace) -> Profile:
    """The ad-hoc profile the options describe, else the saved one (--profile or the active)."""
    from app.console.opening import ad_hoc_profile

    profile = ad_hoc_profile(args)
    if profile is not None:
        return profile
    config = getattr(args, "config", None)
    book = profile_store.load(Path(config) if config else None)
    profile = book.get(getattr(args, "profile", None))
    if profile is None:
        raise ProfileError(
            "No profile is configured: give --url BASE (UPS-RS), --backend mpps-rs --url BASE (DICOMweb MWL + MPPS) "
            "or --mwl HOST:PORT:AET (DIMSE)."
        )
    return profile


def query_for(args: argparse.Namespace, profile: Profile) -> WorklistQuery:
    from app.domain.worklist_query import WorklistQuery

    def day(text: str) -> date:
        for form in ("%Y%m%d", "%Y-%m-%d"):  # as DICOM writes it, and as this command prints it
            try:
                return datetime.strptime(text, form).date()
            except ValueError:
                continue
        raise ProfileError(f"{text!r} is not a date: give it as YYYYMMDD or YYYY-MM-DD.")

    if args.date_range:
        iso = re.fullmatch(r"(\d{4}-\d\d-\d\d)?-(\d{4}-\d\d-\d\d)?", args.date_range)
        low, high = (iso.group(1) or "", iso.group(2) or "") if iso else args.date_range.partition("-")[::2]
        first, last = (day(low) if low else None), (day(high) if high else None)
    else:
        first = last = day(args.date) if args.date else date.today()
    return WorklistQuery(
        station=getattr(args, "station", None) or profile.station_code,
        modality=args.modality,
        date_from=first,
        date_to=last,
        patient_name=args.patient_name,
        patient_id=args.patient_id,
        accession=args.accession,
        states=() if args.all_states else WorklistQuery().states,
    )


def searched(query: WorklistQuery) -> str:
    """What a search looked for, said before its count: the station and day are not always typed."""
    from app.domain.worklist_query import NOT_FINISHED

    if query.date_from and query.date_from == query.date_to:
        days = f"{query.date_from:%Y-%m-%d}"
    elif query.date_from and query.date_to:
        days = f"{query.date_from:%Y-%m-%d} to {query.date_to:%Y-%m-%d}"
    elif query.date_from or query.date_to:
        days = f"from {query.date_from:%Y-%m-%d}" if query.date_from else f"until {query.date_to:%Y-%m-%d}"
    else:
        days = "any day"
    if set(query.states) == set(NOT_FINISHED):
        states = "not finished"
    else:
        states = ", ".join(s.value for s in query.states) or "any state"
    parts = [f"Station {query.station}" if query.station else "Every station", days, states]
    for label, value in (
        ("modality", query.modality),
        ("patient", query.patient_name),
        ("patient ID", query.patient_id),
        ("accession", query.accession),
    ):
        if value:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def with_charset(profile: Profile, charset: str | None) -> Profile:
    """The profile with `--charset` as its fallback for answers that name none."""
    if charset is None:
        return profile
    from pydicom.charset import python_encoding

    charset = charset.strip()
    if not charset or charset not in python_encoding:
        raise ProfileError(
            f"{charset!r} is not a DICOM character set: give a defined term such as "
            "'ISO_IR 100' (Latin-1), 'ISO_IR 192' (UTF-8) or 'GB18030'."
        )
    return replace(profile, fallback_charset=charset)


def display_width(text: str) -> int:
    """Columns the text takes in a terminal: CJK ideographs take two, combining marks none."""
    if text.isascii() and text.isprintable():  # one column a character, as wcswidth counts them
        return len(text)
    from wcwidth import wcswidth  # its tables are 20 ms of a cold `find`: read for the first wide cell only

    width = wcswidth(text)
    return width if width >= 0 else len(text)  # a control character: counted as one column each


def pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def state_cell(w: Workitem) -> str:
    from app.domain.mapping import unknown_sps_status

    unknown = unknown_sps_status(w.json)
    if unknown:  # said as the peer sent it: "IN PROGRESS" alone would hide why it is not startable
        return f"{unknown}? (unknown)"
    return w.state.value if w.state else ""


def find(args: argparse.Namespace) -> int:
    from app.backends import make_backend
    from app.backends.errors import BackendError

    try:
        profile = with_charset(profile_for(args), getattr(args, "charset", None))
        query = query_for(args, profile)
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def run():
        backend = make_backend(profile)
        try:
            return await backend.search(query)
        finally:
            await backend.close()

    try:
        items = asyncio.run(run())
    except BackendError as exc:
        print(exc.sentence, file=sys.stderr)
        return 1
    summary = f"{searched(query)}: {len(items)} workitem(s)."
    if args.json:
        print(json.dumps([w.json for w in items], ensure_ascii=False, indent=2))
        print(summary, file=sys.stderr)  # stdout stays pure JSON for the program reading it
        return 0
    rows = [("Time", "State", "Priority", "Patient", "Patient ID", "Accession", "Procedure", "Station")]
    for w in items:
        start = w.scheduled_start()
        rows.append(
            (
                start.strftime("%Y-%m-%d %H:%M") if start else "",
                state_cell(w),
                w.priority.value if w.priority else "",
                w.patient_name.display(),
                w.patient_id,
                w.accession_number,
                w.label,
                ", ".join(c.value for c in w.station_names),
            )
        )
    widths = [max(display_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(pad(cell, width) for cell, width in zip(r, widths)).rstrip())
    print(summary)
    return 0


def echo(args: argparse.Namespace) -> int:
    try:
        profile = profile_for(args)
    except ProfileError as exc:
        print(exc, file=sys.stderr)
        return 2
    from app.backends import check_profile

    checks = asyncio.run(check_profile(profile))
    for check in checks:
        print(check.line(), file=sys.stdout if check.ok else sys.stderr)
    return 0 if all(check.ok for check in checks) else 1
