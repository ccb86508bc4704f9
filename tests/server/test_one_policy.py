"""One policy on every door: door × identity × action, each cell with the answer it must get.

The server runs with a users file; each identity tries each action through each door of the
same server, on work scheduled for CT2 (so that a modality bound to CT1 must be refused what
changes it, and a ris or admin allowed), and a modality on its own CT1 work. Outcomes:
  allowed          2xx, or a DIMSE success
  unauthenticated  HTTP 401; over DIMSE, an association without identity may only echo
  forbidden        HTTP 403 (or a WebSocket refused); DIMSE 0124 — the access rule's refusal
  rejected         the DIMSE association is rejected (a wrong passcode, an AE title not its own)
  n/a              the door has no such action
The HL7 door (MLLP over TLS with client certificates, and in the clear on loopback) answers in
ACKs: AA allowed; AR with its sentence for a sender without a known certificate (unauthenticated)
or one sending as an AE title its user is not bound to (rejected); the rule's refusal (forbidden).
Its actions are ORC-1 NW (create), XO (update) and CA (cancel-request) on scheduled work.
README.md's Security section prints `EXPECTED` as rendered by `render()`; a test keeps them equal.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import hl7
import httpx
import pytest
from door import PASSWORD
from hl7_tls import (
    END,
    VT,
    Certificates,
    certificates,
    msa,
    new_placer,
    order,
    tls_door,
    tls_exchange,
    users_with_certificates,
)
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.pdu_primitives import UserIdentityNegotiation
from pynetdicom.sop_class import (
    ModalityPerformedProcedureStep,
    ModalityPerformedProcedureStepRetrieve,
    ModalityWorklistInformationFind,
    UnifiedProcedureStepPull,
    UnifiedProcedureStepPush,
    UnifiedProcedureStepWatch,
)
from test_mpps_front import completed
from upsrs_client import DICOM_JSON, item, performed, post, uid_of
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.domain.dicomjson import from_dataset
from app.server import ServerConfig, UPSServer
from app.server.audit import Actor, acting_as
from app.server.dimse_door import NO_IDENTITY_COMMENT
from app.server.hl7_door import NO_CERTIFICATE
from app.server.password_checks import ThrottleRules
from app.server.users import Users

# The table tries each wrong password once per cell, all from 127.0.0.1: the throttle (tested in
# tests/server/test_password_abuse.py) is set aside here, or it would answer 429 for everyone.
GUESSES_ALLOWED = ThrottleRules(free=100_000)

DOORS = ("UPS-RS", "Sup 246", "WebSocket", "DIMSE UPS", "DIMSE MWL", "DIMSE MPPS", "HL7")
ACTIONS = ("search", "retrieve", "create", "claim", "update", "complete", "cancel", "cancel-request", "subscribe")
IDENTITIES = (
    "none",
    "wrong password",
    "modality CT1",
    "ris CT1",
    "admin CT1",
    "CT1 bound to its host",
    "foreign AE (CT1 as CT2)",
    "modality CT1, own work",
    "unknown certificate",  # HL7 over TLS: one the client CA signed and no user holds
    "loopback RIS",  # HL7 in the clear on loopback: the RIS
)
HL7_ONLY = ("unknown certificate", "loopback RIS")
OFFERED = {
    "UPS-RS": set(ACTIONS),
    "Sup 246": {"search", "retrieve", "claim", "update", "complete", "cancel"},  # MWL search and MPPS
    "WebSocket": {"subscribe"},
    "DIMSE UPS": set(ACTIONS) - {"create"},
    "DIMSE MWL": {"search"},
    "DIMSE MPPS": {"retrieve", "claim", "update", "complete", "cancel"},  # N-GET: MPPS Retrieve
    "HL7": {"create", "update", "cancel-request"},  # ORC-1 NW, XO, CA
}
CHANGES = ("create", "claim", "update", "complete", "cancel", "cancel-request")
HTTP_DOORS = ("UPS-RS", "Sup 246", "WebSocket")


def expected(door: str, identity: str, action: str) -> str:
    """The rule, said once more in the test's own words: what each cell must answer."""
    http, hl7 = door in HTTP_DOORS, door == "HL7"
    if (
        action not in OFFERED[door]
        or (identity == "CT1 bound to its host" and (http or hl7))
        or (identity == "wrong password" and hl7)  # a certificate has no password
        or (identity in HL7_ONLY and not hl7)
    ):
        return "n/a"
    if identity in ("none", "unknown certificate"):
        return "unauthenticated"
    if identity == "wrong password":
        return "unauthenticated" if http else "rejected"
    if identity.startswith("foreign AE"):
        return "forbidden" if http else "rejected"
    # reading is open to every identity; an MPPS is read only by the station performing it
    changes = action in CHANGES or (door in ("Sup 246", "DIMSE MPPS") and action == "retrieve")
    if identity in ("modality CT1", "CT1 bound to its host") and changes:
        return "forbidden"
    return "allowed"


EXPECTED = {
    (door, identity, action): expected(door, identity, action)
    for door in DOORS
    for identity in IDENTITIES
    for action in ACTIONS
}
SHORT = {"allowed": "✓", "unauthenticated": "401", "forbidden": "403", "rejected": "RJ", "n/a": "–"}


def render() -> str:
    """EXPECTED as the README prints it: one table per door."""
    lines = []
    for door in DOORS:
        offered = [a for a in ACTIONS if a in OFFERED[door]]
        lines += [f"**{door}**", "", "| identity | " + " | ".join(offered) + " |", "|---|" + "---|" * len(offered)]
        for identity in IDENTITIES:
            cells = [SHORT[EXPECTED[door, identity, a]] for a in offered]
            if set(cells) != {"–"}:
                lines.append(f"| {identity} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# -- the server --------------------------------------------------------------------------------
@dataclass
class Setup:
    server: UPSServer
    users: dict[str, tuple[str, str]]  # identity -> (user, password)


USERS = {
    "modality CT1": ("ct1", "modality"),
    "ris CT1": ("ris1", "ris"),
    "admin CT1": ("admin1", "admin"),
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("policy")
    users = Users()
    for name, role in USERS.values():
        users.add(name, PASSWORD, ["CT1"], role)
    users.save(folder / "users.toml")
    config = ServerConfig(
        http_port=0,
        dimse_port=0,
        db_path=str(folder / "ups.db"),
        purge_interval=3600,
        users_file=str(folder / "users.toml"),
        password_throttle=GUESSES_ALLOWED,
        allow_ae=("CT1@127.0.0.1", "CT2"),
        event_peers={"CT1": ("127.0.0.1", 9), "CT2": ("127.0.0.1", 9)},
    )
    server = UPSServer(config).start()
    try:
        yield Setup(server, {k: (name, PASSWORD) for k, (name, _) in USERS.items()})
    finally:
        server.stop()


# -- the facts each cell starts from (made in process, as the server's own work) ---------------------
@dataclass
class Work:
    uid: str
    station: str
    tx: str | None = None
    mpps: str | None = None
    study: str = ""
    accession: str = ""


def scheduled(setup: Setup, station: str) -> Work:
    dataset = item(station)
    setup.server.service.create(dataset)
    request = dataset["0040A370"]["Value"][0]
    return Work(
        uid_of(dataset), station, study=request["0020000D"]["Value"][0], accession=request["00080050"]["Value"][0]
    )


def in_progress(setup: Setup, station: str) -> Work:
    """Claimed by its own station over MPPS (so that both a Transaction UID and an MPPS exist)."""
    work = scheduled(setup, station)
    mpps = generate_uid()
    with acting_as(Actor(ae=station)):
        outcome = setup.server.mpps.create(mpps, from_dataset(mpps_create(work, station)), station)
    assert outcome.status == 0, outcome
    local = setup.server.local
    assert local is not None
    work.tx, work.mpps = local.get(work.uid).transaction_uid, mpps
    local.update(work.uid, work.tx, performed(station))
    return work


def mpps_create(work: Work, station: str) -> Dataset:
    now = datetime.now()
    ds = Dataset()
    step = Dataset()
    step.StudyInstanceUID, step.AccessionNumber = work.study, work.accession
    ds.ScheduledStepAttributesSequence = [step]
    ds.PatientName, ds.PatientID = "Doe^Jane", "P1"
    ds.PerformedProcedureStepID = "PPS1"
    ds.PerformedStationAETitle = station
    ds.PerformedProcedureStepStartDate = now.strftime("%Y%m%d")
    ds.PerformedProcedureStepStartTime = now.strftime("%H%M%S")
    ds.PerformedProcedureStepStatus = "IN PROGRESS"
    ds.Modality = "CT"
    ds.PerformedProcedureStepEndDate = ""
    ds.PerformedProcedureStepEndTime = ""
    ds.PerformedSeriesSequence = []
    return ds


# -- the doors -----------------------------------------------------------------------------------
def acting_ae(identity: str) -> str:
    # no identity calls as CT2, which is not bound to a host: CT1 from here is the host-bound identity
    return "CT2" if identity.startswith("foreign AE") or identity == "none" else "CT1"


def credentials(setup: Setup, identity: str) -> tuple[str, str] | None:
    if identity in ("none", "CT1 bound to its host"):
        return None
    if identity == "wrong password":
        return "ct1", "not the password"
    return setup.users.get(identity) or setup.users["modality CT1"]  # the foreign AE and own work: ct1


def http_client(setup: Setup, identity: str) -> httpx.Client:
    return httpx.Client(
        base_url=setup.server.base_url,
        auth=credentials(setup, identity),
        headers={"Calling-AE-Title": acting_ae(identity)},
        timeout=30,
    )


def http_outcome(response: httpx.Response) -> str:
    if response.is_success:
        return "allowed"
    return {401: "unauthenticated", 403: "forbidden"}.get(
        response.status_code, f"HTTP {response.status_code}: {response.headers.get('Warning')}"
    )


def state_body(state: str, tx: str | None) -> list[dict]:
    body = {"00741000": {"vr": "CS", "Value": [state]}}
    if tx:
        body["00081195"] = {"vr": "UI", "Value": [tx]}
    return [body]


def ups_rs(setup: Setup, identity: str, action: str, target: str) -> str:
    aet = acting_ae(identity)
    with http_client(setup, identity) as http:
        if action == "search":
            return http_outcome(http.get("/workitems"))
        if action == "create":
            return http_outcome(post(http, "/workitems", [item(target)]))
        if action in ("retrieve", "claim", "cancel-request", "subscribe"):
            work = scheduled(setup, target)
            if action == "retrieve":
                return http_outcome(http.get(f"/workitems/{work.uid}"))
            if action == "claim":
                return http_outcome(
                    http.put(
                        f"/workitems/{work.uid}/state",
                        content=json.dumps(state_body("IN PROGRESS", generate_uid())),
                        headers={"Content-Type": DICOM_JSON},
                    )
                )
            if action == "cancel-request":
                return http_outcome(post(http, f"/workitems/{work.uid}/cancelrequest/{aet}", [{}]))
            return http_outcome(http.post(f"/workitems/{work.uid}/subscribers/{aet}"))
        work = in_progress(setup, target)
        if action == "update":
            return http_outcome(
                post(
                    http,
                    f"/workitems/{work.uid}?transaction={work.tx}",
                    [{"00741202": {"vr": "LO", "Value": ["note"]}}],
                )
            )
        state = "COMPLETED" if action == "complete" else "CANCELED"
        return http_outcome(
            http.put(
                f"/workitems/{work.uid}/state",
                content=json.dumps(state_body(state, work.tx)),
                headers={"Content-Type": DICOM_JSON},
            )
        )


MPPS = "/modality-performed-procedure-steps"


def sup246(setup: Setup, identity: str, action: str, target: str) -> str:
    aet = acting_ae(identity)
    with http_client(setup, identity) as http:
        if action == "search":
            return http_outcome(http.get("/modality-scheduled-procedure-steps"))
        if action == "claim":
            work = scheduled(setup, target)
            return http_outcome(post(http, f"{MPPS}/{generate_uid()}", from_dataset(mpps_create(work, aet))))
        work = in_progress(setup, target)
        if action == "retrieve":
            return http_outcome(http.get(f"{MPPS}/{work.mpps}"))
        changes = completed("COMPLETED" if action == "complete" else "DISCONTINUED")
        if action == "update":
            changes = completed("IN PROGRESS")
            changes.PerformedProcedureStepEndDate = changes.PerformedProcedureStepEndTime = ""
        return http_outcome(post(http, f"{MPPS}/{work.mpps}/update", from_dataset(changes)))


def websocket(setup: Setup, identity: str, action: str, target: str) -> str:
    headers = {"Calling-AE-Title": acting_ae(identity)}
    given = credentials(setup, identity)
    if given is not None:
        request = next(httpx.BasicAuth(*given).auth_flow(httpx.Request("GET", setup.server.base_url)))
        headers["Authorization"] = request.headers["Authorization"]
    url = setup.server.base_url.replace("http", "ws", 1) + f"/ws/subscribers/{acting_ae(identity)}"
    try:
        with connect(url, additional_headers=headers, open_timeout=10):
            return "allowed"
    except InvalidStatus as exc:
        return {401: "unauthenticated", 403: "forbidden"}.get(
            exc.response.status_code, f"HTTP {exc.response.status_code}"
        )


def associate(setup: Setup, identity: str, contexts) -> object | str:
    ae = AE(acting_ae(identity))
    for context in contexts:
        ae.add_requested_context(context)
    ext = []
    given = credentials(setup, identity)
    if given is not None:
        negotiation = UserIdentityNegotiation()
        negotiation.user_identity_type = 2
        negotiation.primary_field = given[0].encode()
        negotiation.secondary_field = given[1].encode()
        ext.append(negotiation)
    assert setup.server.dimse is not None
    assoc = ae.associate("127.0.0.1", setup.server.dimse.port, ae_title="WORKLIST", ext_neg=ext)
    if assoc.is_rejected:
        return "rejected"
    assert assoc.is_established
    return assoc


def dimse_outcome(status: Dataset | None) -> str:
    assert status is not None and "Status" in status, "no response"
    if status.Status in (0x0000, 0xFF00, 0xFF01, 0xB300):
        return "allowed"
    if status.get("ErrorComment") == NO_IDENTITY_COMMENT:
        return "unauthenticated"
    if status.Status == 0x0124:
        return "forbidden"
    return f"DIMSE {status.Status:04X}: {status.get('ErrorComment')}"


def with_association(setup: Setup, identity: str, contexts, run: Callable[[object], str]) -> str:
    assoc = associate(setup, identity, contexts)
    if isinstance(assoc, str):
        return assoc
    try:
        return run(assoc)
    finally:
        assoc.release()


def ds(**attrs) -> Dataset:
    out = Dataset()
    for keyword, v in attrs.items():
        setattr(out, keyword, v)
    return out


def last_status(responses) -> Dataset | None:
    final = None
    for status, _ in responses:
        final = status
    return final


def dimse_ups(setup: Setup, identity: str, action: str, target: str) -> str:
    aet = acting_ae(identity)
    pull, push, watch = UnifiedProcedureStepPull, UnifiedProcedureStepPush, UnifiedProcedureStepWatch

    def run(assoc) -> str:
        if action == "search":
            return dimse_outcome(last_status(assoc.send_c_find(ds(SOPInstanceUID="", PatientName=""), pull)))
        if action in ("retrieve", "claim", "cancel-request", "subscribe"):
            work = scheduled(setup, target)
            if action == "retrieve":
                return dimse_outcome(assoc.send_n_get([0x00741000], pull, work.uid)[0])
            if action == "claim":
                info = ds(ProcedureStepState="IN PROGRESS", TransactionUID=generate_uid())
                return dimse_outcome(assoc.send_n_action(info, 1, pull, work.uid)[0])
            if action == "cancel-request":
                return dimse_outcome(assoc.send_n_action(None, 2, push, work.uid)[0])
            info = ds(ReceivingAE=aet, DeletionLock="FALSE")
            return dimse_outcome(assoc.send_n_action(info, 3, watch, work.uid)[0])
        work = in_progress(setup, target)
        if action == "update":
            return dimse_outcome(
                assoc.send_n_set(ds(TransactionUID=work.tx, ProcedureStepLabel="note"), pull, work.uid)[0]
            )
        state = "COMPLETED" if action == "complete" else "CANCELED"
        return dimse_outcome(
            assoc.send_n_action(ds(ProcedureStepState=state, TransactionUID=work.tx), 1, pull, work.uid)[0]
        )

    return with_association(setup, identity, (pull, push, watch), run)


def dimse_mwl(setup: Setup, identity: str, action: str, target: str) -> str:
    def run(assoc) -> str:
        query = ds(PatientName="", PatientID="")
        query.ScheduledProcedureStepSequence = [ds(ScheduledStationAETitle="", Modality="")]
        return dimse_outcome(last_status(assoc.send_c_find(query, ModalityWorklistInformationFind)))

    return with_association(setup, identity, (ModalityWorklistInformationFind,), run)


def dimse_mpps(setup: Setup, identity: str, action: str, target: str) -> str:
    aet = acting_ae(identity)

    def run(assoc) -> str:
        if action == "claim":
            work = scheduled(setup, target)
            return dimse_outcome(
                assoc.send_n_create(mpps_create(work, aet), ModalityPerformedProcedureStep, generate_uid())[0]
            )
        work = in_progress(setup, target)
        if action == "retrieve":
            return dimse_outcome(assoc.send_n_get(None, ModalityPerformedProcedureStepRetrieve, work.mpps)[0])
        changes = completed("COMPLETED" if action == "complete" else "DISCONTINUED")
        if action == "update":
            changes = ds(PerformedProcedureStepDescription="note")
        return dimse_outcome(assoc.send_n_set(changes, ModalityPerformedProcedureStep, work.mpps)[0])

    contexts = (ModalityPerformedProcedureStep, ModalityPerformedProcedureStepRetrieve)
    return with_association(setup, identity, contexts, run)


# -- HL7: MLLP over TLS, a certificate per user; and in the clear on loopback, the RIS ------------------
@dataclass
class Hl7Setup:
    tls: UPSServer
    clear: UPSServer
    certs: Certificates


CERTIFICATE = {"modality CT1": "ct1", "ris CT1": "ris1", "admin CT1": "admin1", "unknown certificate": "unknown"}
CERTIFICATE |= {"foreign AE (CT1 as CT2)": "ct1", "modality CT1, own work": "ct1", "feeder": "feeder"}


@pytest.fixture(scope="module")
def hl7_setup(tmp_path_factory) -> Iterator[Hl7Setup]:
    folder = tmp_path_factory.mktemp("policy-hl7")
    certs = certificates(folder, "ct1", "ris1", "admin1", "feeder")
    roles = {name: (role, ["CT1"]) for name, role in USERS.values()}
    users = users_with_certificates(folder, certs, **roles, feeder=("ris", []))  # feeder: the orders to act on
    tls = tls_door(folder, certs, users)
    clear = UPSServer(
        ServerConfig(
            http_port=0,
            db_path=str(folder / "clear.db"),
            purge_interval=3600,
            users_file=str(users),
            hl7_port=0,
        )
    ).start()
    try:
        yield Hl7Setup(tls, clear, certs)
    finally:
        tls.stop()
        clear.stop()


def hl7_send(setup: Hl7Setup, identity: str, raw: bytes) -> tuple[str, str]:
    if identity == "loopback RIS":
        assert setup.clear.hl7 is not None
        with socket.create_connection(("127.0.0.1", setup.clear.hl7.port), timeout=10) as peer:
            peer.sendall(VT + raw + END)
            data = b""
            while END not in data:
                chunk = peer.recv(65536)
                assert chunk, "the HL7 door closed the connection without an ACK"
                data += chunk
        return msa(hl7.parse(data.partition(END)[0][1:].decode("utf-8")))
    assert setup.tls.hl7 is not None
    return msa(tls_exchange(setup.tls.hl7.port, setup.certs, CERTIFICATE.get(identity), raw))


def hl7_door(setup: Hl7Setup, identity: str, action: str, target: str) -> str:
    application = acting_ae(identity)
    placer = new_placer()
    if action != "create":  # the order to change or cancel, placed by the RIS under the same sender
        feeder = "loopback RIS" if identity == "loopback RIS" else "feeder"
        assert hl7_send(setup, feeder, order("NW", placer, target, application=application))[0] == "AA"
    control = {"create": "NW", "update": "XO", "cancel-request": "CA"}[action]
    code, text = hl7_send(setup, identity, order(control, placer, target, application=application))
    if code == "AA":
        return "allowed"
    if code == "AR" and text == NO_CERTIFICATE:
        return "unauthenticated"
    if code == "AR" and "(MSH-3)" in text:
        return "rejected"
    if "may act only for" in text:
        return "forbidden"
    return f"HL7 {code}: {text}"


ATTEMPTS = {
    "UPS-RS": ups_rs,
    "Sup 246": sup246,
    "WebSocket": websocket,
    "DIMSE UPS": dimse_ups,
    "DIMSE MWL": dimse_mwl,
    "DIMSE MPPS": dimse_mpps,
    "HL7": hl7_door,
}


@pytest.fixture()
def doors(request, door) -> object:
    """The server a door's cells are tried on: the HL7 door's own, else the shared one."""
    return request.getfixturevalue("hl7_setup" if door == "HL7" else "setup")


@pytest.mark.parametrize("door", DOORS)
def test_every_identity_gets_the_same_answer_to_every_action_through_every_door(doors, door):
    found = {}
    for identity in IDENTITIES:
        target = "CT1" if identity.endswith("own work") else "CT2"
        for action in ACTIONS:
            if EXPECTED[door, identity, action] == "n/a":
                continue
            found[identity, action] = ATTEMPTS[door](doors, identity, action, target)
    wrong = {cell: (got, EXPECTED[door, *cell]) for cell, got in found.items() if got != EXPECTED[door, *cell]}
    assert not wrong, "\n".join(
        f"{door} · {i} · {a}: got {got}, expected {want}" for (i, a), (got, want) in wrong.items()
    )


def test_the_readme_prints_the_same_table():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert render() in readme, "README.md's Security section must hold render()'s table:\n" + render()


# -- a client certificate (DICOM TLS): the same rule as the user it stands for ------------------------
def test_a_client_certificate_is_its_user_on_every_dimse_door(tmp_path):
    """Under --dimse-tls with --client-ca, a certificate the users file names acts as that user
    (here a modality bound to CT1): its cells are the modality's; without one, echo only."""
    import ssl

    from certificates import make_certificate

    server_cert, server_key = make_certificate(tmp_path)
    client_cert, client_key = make_certificate(tmp_path, "ct1-modality")  # self-signed: its own CA
    users = Users()
    users.add("ct1", PASSWORD, ["CT1"], "modality")
    users.add_certificate("ct1", ssl.PEM_cert_to_DER_cert(client_cert.read_text()))
    users.save(tmp_path / "users.toml")
    config = ServerConfig(
        http_port=0,
        dimse_port=0,
        db_path=str(tmp_path / "ups.db"),
        purge_interval=3600,
        users_file=str(tmp_path / "users.toml"),
        tls_cert=str(server_cert),
        tls_key=str(server_key),
        dimse_tls=True,
        client_ca=str(client_cert),
        event_peers={"CT1": ("127.0.0.1", 9)},
    )
    server = UPSServer(config).start()
    setup = Setup(server, {})

    def tls(with_certificate: bool) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(server_cert))
        if with_certificate:
            context.load_cert_chain(str(client_cert), str(client_key))
        return context

    def attempt(door: str, action: str, target: str, with_certificate: bool = True) -> str:
        original = AE.associate

        def over_tls(self, *args, **kw):
            return original(self, *args, tls_args=(tls(with_certificate), "localhost"), **kw)

        AE.associate = over_tls  # the door functions above associate in the clear
        try:
            return ATTEMPTS[door](setup, "CT1 bound to its host", action, target)  # sends no User Identity
        finally:
            AE.associate = original

    try:
        for door in ("DIMSE UPS", "DIMSE MWL", "DIMSE MPPS"):
            for action in sorted(OFFERED[door]):
                assert attempt(door, action, "CT2") == EXPECTED[door, "modality CT1", action], (door, action)
                assert attempt(door, action, "CT1") == "allowed", (door, action)
        assert attempt("DIMSE MWL", "search", "CT1", with_certificate=False) == "unauthenticated"
    finally:
        server.stop()


def test_a_client_ca_without_dicom_tls_or_a_file_is_refused_in_a_sentence(tmp_path):
    with pytest.raises(ValueError, match="needs --dimse-port and --dimse-tls"):
        UPSServer(ServerConfig(http_port=0, db_path=str(tmp_path / "a.db"), client_ca=str(tmp_path / "ca.pem")))
    with pytest.raises(ValueError, match="There is no client CA file"):
        UPSServer(
            ServerConfig(
                http_port=0,
                dimse_port=0,
                dimse_tls=True,
                tls_self_signed=True,
                db_path=str(tmp_path / "b.db"),
                client_ca=str(tmp_path / "ca.pem"),
            )
        )
    assert not (tmp_path / "a.db").exists()
