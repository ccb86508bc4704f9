"""The command line's arguments: the console's own (`app.console.opening`, which the window's
launcher reads alike) and those of the server, the users file, find, echo, self-test and audit."""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from app.console.opening import command_line, console_arguments, demo_command
from app.domain.roles import ROLES


def _serve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    p.add_argument("--http-port", type=int, default=8080, help="HTTP port; 0 picks a free one (default 8080)")
    p.add_argument(
        "--db",
        metavar="PATH|URL",
        help="SQLite file of the worklist (default: in the user data folder), or a PostgreSQL database "
        "postgresql://USER@HOST:PORT/DB shared by several nodes (TLS and other libpq options as ?sslmode=...)",
    )
    p.add_argument(
        "--db-password-file",
        metavar="FILE",
        help="the PostgreSQL password alone in a file (else libpq's PGPASSFILE or PGPASSWORD; never in the URL)",
    )
    p.add_argument(
        "--db-pool",
        type=int,
        default=16,
        metavar="N",
        help="PostgreSQL connections this node opens at most (default 16)",
    )
    p.add_argument("--seed", choices=("demo", "none"), default="none", help="fill today and tomorrow with a demo day")
    p.add_argument("--seed-value", type=int, default=1, help="random seed of the demo day (default 1)")
    p.add_argument("--ae-title", default="WORKLIST", help="AE title of the server (default WORKLIST)")
    p.add_argument(
        "--dimse-port",
        type=int,
        default=11112,
        help="port of the DIMSE front (MWL, MPPS, UPS, C-ECHO); 0 disables it (default 11112)",
    )
    p.add_argument(
        "--hl7-port",
        type=int,
        metavar="PORT",
        help="listen for HL7 v2 orders and patient events (MLLP) on this port; 0 picks a free one (default: off)",
    )
    p.add_argument(
        "--hl7-tls",
        action="store_true",
        help="the HL7 door speaks MLLP over TLS only, with the certificate HTTPS uses (--tls-cert and "
        "--tls-key, or --tls-self-signed); with --users it needs --client-ca",
    )
    p.add_argument(
        "--hl7-allow",
        action="append",
        default=[],
        metavar="APP^FACILITY",
        help="accept HL7 messages only from this sending application and facility (MSH-3^MSH-4; repeatable)",
    )
    p.add_argument(
        "--hl7-station",
        type=hl7_station,
        action="append",
        default=[],
        metavar="MODALITY=AE",
        help="an HL7 order for this modality that names no station is scheduled for this AE title (repeatable)",
    )
    p.add_argument(
        "--hl7-accession",
        type=hl7_accession,
        metavar="FIELD[,FIELD…]",
        help="where the RIS puts the Accession Number in an HL7 order, the first non-empty field winning, "
        "for example ORC-3 or OBR-18,ORC-2 (default: IPC-1, then OBR-18)",
    )
    p.add_argument(
        "--hl7-max-connections",
        type=at_least_one,
        default=256,
        metavar="N",
        help="HL7 (MLLP) connections open at once (default 256); one address may hold three quarters of them, "
        "and a connection over the cap is closed at once",
    )
    p.add_argument(
        "--hl7-timeout",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="close an HL7 connection that has not completed a message for this long (default 60)",
    )
    p.add_argument(
        "--event-peer",
        type=event_peer,
        action="append",
        default=[],
        metavar="AE=HOST:PORT",
        help="send this subscriber AE its UPS events as DIMSE N-EVENT-REPORTs at HOST:PORT (repeatable)",
    )
    p.add_argument(
        "--keep-final",
        type=float,
        default=86400.0,
        metavar="SECONDS",
        help="delete COMPLETED/CANCELED workitems without a deletion lock after this long (default: a day)",
    )
    p.add_argument(
        "--purge-interval", type=float, default=60.0, metavar="SECONDS", help="how often housekeeping runs (default 60)"
    )
    p.add_argument(
        "--max-associations",
        type=int,
        default=64,
        metavar="N",
        help="DIMSE associations open at once, every modality counted (default 64)",
    )
    p.add_argument(
        "--dimse-idle-timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="close a DIMSE association silent this long (default 15); a connection that never asks "
        "for an association is closed after 5 s",
    )
    p.add_argument(
        "--allow-ae",
        type=ae_binding,
        action="append",
        default=[],
        metavar="AET[@HOST]",
        help="accept DIMSE associations only from this calling AE title, and with @HOST only from that "
        "host address; with --users, an AE title bound to its host acts as a modality without a password "
        "(repeatable; default: any)",
    )
    p.add_argument(
        "--dimse-tls",
        action="store_true",
        help="the DIMSE front speaks DICOM over TLS only, with the certificate HTTPS uses "
        "(--tls-cert and --tls-key, or --tls-self-signed)",
    )
    p.add_argument(
        "--client-ca",
        metavar="PEM",
        help="with --dimse-tls or --hl7-tls, ask each DICOM or HL7 client for a certificate this CA signed; "
        "one the users file names (`users certificate NAME PEM`) acts as that user",
    )
    p.add_argument(
        "--audit-phi",
        action="store_true",
        help="audit lines name the patient (name and ID); by default they hold workitem UIDs only",
    )
    p.add_argument(
        "--upstream",
        metavar="SPEC",
        help="be a gateway: serve every door over this upstream instead of the local worklist — "
        "upsrs:URL (a UPS-RS origin server), upsrs+dcm4chee:URL (dcm4chee-arc's forms), sup246:URL, "
        "or dimse:MWL=HOST:PORT:AET[,MPPS=HOST:PORT:AET][,TLS=1]; the database then keeps the gateway's mappings",
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="with --upstream: log both legs of every proxied exchange, correlated by an id",
    )
    p.add_argument(
        "--upstream-user",
        metavar="NAME",
        help="with --upstream: basic authentication as this user (upsrs, sup246), or its User Identity "
        "towards a dimse: RIS; the password comes from --upstream-password-file",
    )
    p.add_argument(
        "--upstream-password-file",
        metavar="FILE",
        help="the password of --upstream-user, alone on the first line of FILE (never on the command line)",
    )
    p.add_argument(
        "--upstream-token-file",
        metavar="FILE",
        help="with an HTTP --upstream: a bearer token, alone on the first line of FILE",
    )
    # a secret in clear is refused with a sentence (and no abbreviation turns it into a file name)
    p.add_argument("--upstream-password", dest="upstream_secret_in_clear", help=argparse.SUPPRESS)
    p.add_argument("--upstream-token", dest="upstream_secret_in_clear", help=argparse.SUPPRESS)
    p.add_argument(
        "--upstream-ca",
        metavar="PEM",
        help="with an https:// --upstream, or a dimse: one with TLS=1: trust this CA file (a private CA, "
        "or serve --tls-self-signed's)",
    )
    p.add_argument(
        "--upstream-cert",
        metavar="PEM",
        help="with a dimse: --upstream and TLS=1: the client certificate to show a RIS that asks for one",
    )
    p.add_argument(
        "--upstream-key",
        metavar="PEM",
        help="the private key of --upstream-cert, in a file only the server's user can read (no passphrase)",
    )


def _door_arguments(p: argparse.ArgumentParser) -> None:
    """HTTPS and who may come in (the HTTP front; DICOM TLS shares the certificate)."""
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (its chain after it)")
    p.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    p.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="serve HTTPS with a classroom CA and certificate made (once) in a tls folder beside the database; "
        "consoles trust the CA file it prints",
    )
    p.add_argument(
        "--users",
        metavar="FILE",
        help="require HTTP users or tokens from this file (made with `worklist-console users add`)",
    )
    p.add_argument(
        "--no-auth",
        action="store_true",
        help="serve beyond loopback without authentication (a closed classroom network only)",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL clients use to reach this server (scheme, host, port), when it is not the bound one: "
        "it names absolute URLs and is accepted as Host",
    )


def _users_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--file",
        dest="users_file",
        metavar="FILE",
        help="the users file (default: users.toml in the user config folder)",
    )
    actions = p.add_subparsers(dest="users_action", required=True)
    add = actions.add_parser("add", help="add a user (or set a new password), asking for the password")
    add.add_argument("name")
    add.add_argument(
        "--ae",
        type=ae_title,
        action="append",
        default=[],
        metavar="AET",
        help="the user may act only as this AE title (repeatable)",
    )
    add.add_argument(
        "--role",
        choices=ROLES,
        default=None,
        help="modality: acts only as its AE titles, on work scheduled for them or for no station; "
        "ris: creates, changes and cancels any work; admin: as ris (default: modality with --ae, else ris)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    token = actions.add_parser("token", help="make a bearer token for a user and print it (only this once)")
    token.add_argument("name")
    token.add_argument(
        "--ae",
        type=ae_title,
        action="append",
        default=[],
        metavar="AET",
        help="the token may act only as this AE title",
    )
    certificate = actions.add_parser(
        "certificate", help="make the holder of a client certificate (PEM) this user over DICOM TLS"
    )
    certificate.add_argument("name")
    certificate.add_argument("pem", metavar="PEM")
    remove = actions.add_parser("remove", help="remove a user and its tokens")
    remove.add_argument("name")
    actions.add_parser("list", help="list the users, their AE titles and how many tokens each has")


def _query_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--modality", default="", help="a CID 29 modality code (CT, MR, US …)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--date", help="YYYYMMDD (default: today)")
    when.add_argument("--date-range", help="YYYYMMDD-YYYYMMDD (either end may be left open)")
    p.add_argument("--patient-name", default="", help="patient name; * and ? are wildcards")
    p.add_argument("--patient-id", default="")
    p.add_argument("--accession", default="")
    p.add_argument("--all-states", action="store_true", help="include COMPLETED and CANCELED items")
    p.add_argument("--json", action="store_true", help="print a JSON array of the workitems as UPS DICOM JSON")


def build_parser() -> argparse.ArgumentParser:
    return command_line(_commands)


def _commands(sub: Any) -> list[argparse.ArgumentParser]:
    serve = sub.add_parser("serve", help="run the embedded UPS-RS server (HTTP and WebSocket)")
    _serve_arguments(serve)
    _door_arguments(serve)
    users = sub.add_parser("users", help="the HTTP users and tokens of `serve --users FILE`")
    _users_arguments(users)
    demo = demo_command(sub)
    find = sub.add_parser("find", help="run the worklist query from a shell, with either backend")
    console_arguments(find, suppress=True)
    _query_arguments(find)
    find.add_argument(
        "--charset",
        metavar="TERM",
        help="MWL answers that name no character set and are not UTF-8 are read in this one, "
        "a DICOM defined term such as 'ISO_IR 100' (default: the profile's, ISO_IR 100)",
    )
    echo = sub.add_parser("echo", help="check the profile's peers (C-ECHO; an HTTP probe for UPS-RS)")
    console_arguments(echo, suppress=True)
    selftest = sub.add_parser(
        "self-test",
        help="check this installation: the embedded server, then search, claim, "
        "progress and complete over UPS-RS and over DIMSE",
    )
    selftest.add_argument(
        "--timeout", type=float, default=30.0, metavar="SECONDS", help="how long one step may take (default 30)"
    )
    audit = sub.add_parser("audit", help="who created, started, completed or canceled a workitem: the audit file")
    audit.add_argument(
        "--db",
        metavar="PATH|URL",
        help="the server's database: its audit file is beside an SQLite file; a PostgreSQL one holds an audit table",
    )
    audit.add_argument(
        "--db-password-file", metavar="FILE", help="the PostgreSQL password alone in a file (else PGPASSFILE)"
    )
    audit.add_argument("--uid", help="only this workitem (SOP Instance UID)")
    audit.add_argument("--json", action="store_true", help="print the records as JSON lines")
    hl7 = sub.add_parser("hl7", help="HL7 v2 from a shell: send a RIS's messages to a receiver and print each ACK")
    hl7_actions = hl7.add_subparsers(dest="hl7_action", required=True)
    send = hl7_actions.add_parser("send", help="send the messages of a file (or - for standard input) over MLLP")
    send.add_argument("file", metavar="FILE|-", help="one or more messages, each beginning with MSH")
    send.add_argument("--to", required=True, type=hl7_peer, metavar="HOST:PORT", help="the receiver (serve --hl7-port)")
    send.add_argument(
        "--timeout", type=float, default=10.0, metavar="SECONDS", help="how long to wait for each ACK (default 10)"
    )
    send.add_argument("--tls", action="store_true", help="MLLP over TLS (serve --hl7-tls)")
    send.add_argument("--ca", metavar="PEM", help="with --tls, trust the receiver's certificate as this CA signed it")
    send.add_argument("--cert", metavar="PEM", help="with --tls, show this client certificate (serve --client-ca)")
    send.add_argument("--key", metavar="PEM", help="the private key of --cert")
    return [serve, demo, find, echo, selftest, audit, hl7]


def ae_title(text: str) -> str:
    """An AE title as given on the command line; argparse reports the error sentence."""
    aet = text.strip()
    if not 0 < len(aet) <= 16 or "\\" in aet or not aet.isprintable():
        raise argparse.ArgumentTypeError(f"{text!r} is not an AE title (1 to 16 characters, no backslash)")
    return aet


def ae_binding(text: str) -> str:
    """AET or AET@HOST (an IP address: a name could be made to resolve elsewhere)."""
    aet, sep, host = text.strip().partition("@")
    aet = ae_title(aet)
    if not sep:
        return aet
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: after @ give the host's IP address (for example CT1@10.0.0.7), not a name"
        ) from None
    return f"{aet}@{address}"


def at_least_one(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is less than 1")
    return number


def positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds above 0")
    return seconds


def hl7_station(text: str) -> tuple[str, str]:
    """MODALITY=AE: the station an HL7 order for that modality goes to when it names none."""
    modality, sep, aet = text.partition("=")
    if not sep or not modality.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: give a modality and an AE title, for example CT=CT_ROOM1")
    return modality.strip().upper(), ae_title(aet)


def hl7_accession(text: str) -> tuple[str, ...]:
    """FIELD[,FIELD…] of ORC, OBR or IPC; argparse reports the error sentence."""
    from app.domain.hl7_orders import accession_field

    try:
        return tuple(accession_field(each) for each in text.split(",") if each.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def hl7_peer(text: str) -> tuple[str, int]:
    """HOST:PORT of an HL7 receiver; argparse reports the error sentence."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r}: give the receiver as HOST:PORT, for example 127.0.0.1:2575")
    return host.strip("[]"), int(port)


def event_peer(text: str) -> tuple[str, tuple[str, int]]:
    """AE=HOST:PORT as (AE, (HOST, PORT)); argparse reports the error sentence."""
    aet, sep, address = text.partition("=")
    host, _, port = address.rpartition(":")
    aet = aet.strip()
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not AE=HOST:PORT (for example MODALITY1=10.0.0.7:104)")
    if not 0 < len(aet) <= 16 or "\\" in aet or not aet.isprintable():
        raise argparse.ArgumentTypeError(f"{aet!r} is not an AE title (1 to 16 characters, no backslash)")
    return aet, (host.strip("[]"), int(port))
