"""What `serve --upstream dimse:…` names: the RIS's MWL and MPPS peers, our AE title, how often
to poll, how long to wait, and DICOM TLS, read into the profile of the console's DIMSE client."""

from __future__ import annotations

from app.backends.profiles import Profile, ProfileError
from app.domain.identifiers import check_ae_title
from app.domain.status import InvalidRequest

# The bounds of POLL= and TIMEOUT= (seconds): a poll more often than each second is a C-FIND the
# RIS answers back to back, one rarer than hourly reports nothing; an answer waited for longer
# than five minutes holds the modality that asked.
POLL_BOUNDS = (1.0, 3600.0)
TIMEOUT_BOUNDS = (1.0, 300.0)
_KEYS = ("MWL", "MPPS", "AE", "POLL", "TIMEOUT", "TLS")
CA_HINT = "give the gateway the CA file that signed it with --upstream-ca"
_FORM = "dimse:MWL=HOST:PORT:AET[,MPPS=HOST:PORT:AET][,AE=OUR_AE][,POLL=SECONDS][,TIMEOUT=SECONDS][,TLS=1]"


def parse_spec(spec: str) -> Profile:
    """`MWL=HOST:PORT:AET[,MPPS=HOST:PORT:AET][,AE=OURS][,POLL=SECONDS][,TIMEOUT=SECONDS][,TLS=1]`,
    with or without a leading `dimse:`, as the profile of the console's DIMSE client; POLL lands in
    `poll_seconds`, TLS=1 makes both peers DICOM over TLS. ValueError says what is wrong."""
    body = spec.removeprefix("dimse:")
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in body.split(","))):
        name, sep, value = part.partition("=")
        key = name.strip().upper()
        if not sep or key not in _KEYS:
            raise ValueError(f"{part!r} is not understood: the upstream is {_FORM}.")
        if key in values:
            raise ValueError(f"{key}= is given twice in the upstream: give each of {', '.join(_KEYS)} once at most.")
        values[key] = value.strip()
    if "MWL" not in values:
        raise ValueError("The DIMSE upstream needs its worklist peer: dimse:MWL=HOST:PORT:AET.")
    peers = {name: _peer(name, values[name]) for name in ("MWL", "MPPS") if name in values}
    mwl = peers["MWL"]
    mpps = peers.get("MPPS", ("", 0, ""))
    poll = _seconds("POLL", values.get("POLL", "10"), POLL_BOUNDS)
    timeout = _seconds("TIMEOUT", values.get("TIMEOUT", "10"), TIMEOUT_BOUNDS)
    if values.get("TLS", "0") not in ("0", "1"):
        raise ValueError(f"TLS={values['TLS']} must be 1 (DICOM over TLS to the RIS) or 0.")
    try:
        profile = Profile(
            name="gateway upstream",
            backend="dimse",
            ae_title=_ae_title("AE", values.get("AE", "WORKLIST_GW")),
            mwl_host=mwl[0],
            mwl_port=mwl[1],
            mwl_aet=mwl[2],
            mpps_host=mpps[0],
            mpps_port=mpps[1],
            mpps_aet=mpps[2],
            poll_seconds=poll,
            timeout=timeout,
            dimse_timeout=timeout,
            tls=values.get("TLS") == "1",
        ).check()
    except ProfileError as exc:
        raise ValueError(str(exc)) from None
    return profile


def _seconds(name: str, text: str, bounds: tuple[float, float]) -> float:
    low, high = bounds
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not low <= seconds <= high:  # NaN compares false: refused with the rest
        raise ValueError(f"{name}={text} must be a number of seconds from {low:g} to {high:g}.")
    return seconds


def _ae_title(name: str, text: str) -> str:
    try:
        return check_ae_title(text)
    except InvalidRequest:
        raise ValueError(f"{name}={text!r} is not an AE title (1 to 16 characters, no backslash).") from None


def _peer(name: str, text: str) -> tuple[str, int, str]:
    host, _, aet = text.rpartition(":")
    host, _, port = host.rpartition(":")
    host = host.strip().strip("[]")
    if not host or not port.isdigit() or not aet:
        raise ValueError(f"{name}={text} must be HOST:PORT:AET.")
    if not 0 < int(port) < 65536:
        raise ValueError(f"{name}={text}: the port must be from 1 to 65535.")
    return host, int(port), _ae_title(f"{name}'s AE title", aet)
