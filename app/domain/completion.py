"""What makes a completion impossible to send as it stands: times that cannot be (it ends
before it starts, starts or ends in the future, lasts days) and a technologist's name that
is not a name ("4"), or not one of the site's staff when the site keeps a list.

The summary shows these problems and will not be confirmed with Enter; the workflow refuses
a completion that has one, whichever front asked for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .procedure import PerformedProcedure
from .typed import typed_person_name

# a clock a little ahead of the server's, or a completion confirmed a few seconds after "now"
# was read, is not an impossible time
GRACE = timedelta(minutes=1)
# no modality procedure lasts a day: a longer one is a Started field that moved (a wheel, a typo)
LONGEST = timedelta(hours=24)
EXAMPLE_NAME = "Becker, Anna"
# letters (of any script), with spaces, hyphens and apostrophes between them: O'Brien, Müller-Lüdenscheidt
# words of letters, each may end in a period (St. John, Smith Jr., J.), joined by spaces, hyphens, apostrophes
_NAME_PART = re.compile(r"[^\W\d_]+\.?(?:[ '’-]+[^\W\d_]+\.?)*")
_SHOWN_STAFF = 5


@dataclass(frozen=True)
class Problem:
    """One reason the completion cannot go, and the field where the technologist fixes it
    ("started", "ended" or "technologist")."""

    field: str
    sentence: str


def _dt(text: str) -> datetime | None:
    try:
        return datetime.strptime(text[:14], "%Y%m%d%H%M%S") if len(text) >= 14 else None
    except ValueError:
        return None


def _shown(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _length(span: timedelta) -> str:
    days, hours = span.days, span.seconds // 3600
    return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")


def time_problems(start: str, end: str, now: datetime) -> list[Problem]:
    """What is impossible about a procedure that started at `start` and ended at `end` (DICOM DT,
    local time), judged at `now`: nothing when the times can be."""
    first, last = _dt(start), _dt(end)
    if first is None:
        return [Problem("started", "When it started is not known: set Started.")]
    problems = []
    if first > now + GRACE:
        problems.append(Problem("started", f"It starts in the future ({_shown(first)}): check Started."))
    if last is not None and last > now + GRACE:
        problems.append(Problem("ended", f"It ends in the future ({_shown(last)}): check Ended."))
    if last is not None and last < first:
        problems.append(
            Problem("started", f"It ends before it starts ({_shown(first)} – {_shown(last)}): check the times.")
        )
    elif last is not None and last - first > LONGEST:
        problems.append(
            Problem("started", f"It would have lasted {_length(last - first)} (from {_shown(first)}): check Started.")
        )
    return problems


def _key(pn: str) -> str:
    """A name as compared with the staff list: components, case and spacing aside."""
    return "^".join(" ".join(part.split()).casefold() for part in typed_person_name(pn).split("^"))


def _typed(pn: str) -> str:
    family, _, given = pn.partition("^")
    return f"{family}, {given.replace('^', ' ').strip()}" if given.strip("^ ") else family


def technologist_problem(pn: str, staff: Sequence[str] = ()) -> Problem | None:
    """What is wrong with the technologist's name (DICOM PN, "Family^Given"), or None. Empty is
    allowed: the performer is optional in the performed procedure. With a staff list, the name
    must be one of it; without, it must read as Family, Given."""
    if not pn.strip("^ "):
        return None
    if staff:
        if _key(pn) in {_key(name) for name in staff}:
            return None
        names = "; ".join(_typed(typed_person_name(name)) for name in staff[:_SHOWN_STAFF])
        more = "; …" if len(staff) > _SHOWN_STAFF else ""
        return Problem(
            "technologist",
            f"“{_typed(pn)}” is not on this site's staff list: the technologist is one of {names}{more}.",
        )
    parts = pn.split("^")
    family, given = (parts + ["", ""])[:2]
    if (
        family.strip()
        and given.strip()
        and len(parts) <= 5
        and all(_NAME_PART.fullmatch(part.strip()) for part in parts if part.strip())
    ):
        return None
    return Problem(
        "technologist",
        f"“{_typed(pn)}” is not a name: write the technologist as Family, Given (for example {EXAMPLE_NAME}) — "
        "letters, spaces, hyphens, apostrophes and periods, both parts.",
    )


def completion_problems(performed: PerformedProcedure, now: datetime, staff: Sequence[str] = ()) -> list[Problem]:
    """Everything that stops this completion from being sent, in the order the form shows the fields."""
    name = technologist_problem(performed.technologist, staff)
    return ([name] if name else []) + time_problems(performed.start, performed.end, now)


def refusal(problems: Sequence[Problem]) -> str:
    """The problems as one sentence block for a message."""
    return " ".join(p.sentence for p in problems)
