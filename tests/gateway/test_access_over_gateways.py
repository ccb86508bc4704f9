"""Door × identity × action over both gateway directions: what each identity may do to work
scheduled for CT2 (and, in the last row of each door, a CT1 modality to its own CT1 work), when
the request passes a gateway that keeps no worklist of its own.

- SCP / User-Agent: `serve --upstream upsrs:URL --users FILE` — DIMSE UPS, MWL and MPPS in
  front of our own embedded server (no users) as the UPS-RS upstream.
- Origin-Server / SCU: `serve --upstream dimse:… --users FILE` — UPS-RS, Supplement 246 and the
  notification WebSocket in front of our own embedded server's DIMSE front as the RIS (its MWL
  SCP and its MPPS SCP).

The table below is the expectation; README's Security section prints `render()` of it, and a
test holds the two equal. Every cell is one request through the real gateway.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from door import PASSWORD
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
from upsrs_client import DICOM_JSON, item, performed, uid_of
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app.domain.dicomjson import from_dataset
from app.domain.identifiers import CALLING_AE_HEADER
from app.domain.mapping import sps_id
from app.gateway import close_upstream, open_upstream
from app.server import ServerConfig, UPSServer
from app.server.dimse_door import NO_IDENTITY_COMMENT
from app.server.password_checks import ThrottleRules
from app.server.users import Users

# The table tries each wrong password once per cell, all from 127.0.0.1: the throttle (tested in
# tests/server/test_password_abuse.py) is set aside here, or it would answer 429 for everyone.
GUESSES_ALLOWED = ThrottleRules(free=100_000)

ALLOWED, UNAUTHENTICATED, FORBIDDEN, NA = "allowed", "unauthenticated", "forbidden", "n/a"
ACTIONS = ("search", "retrieve", "claim", "update", "complete", "cancel", "cancel-request", "subscribe")

SCP_UA = "SCP/UA: DIMSE → UPS-RS"
OS_SCU = "OS/SCU: DICOMweb → DIMSE RIS"

NONE = "none"
WRONG = "wrong password"
MODALITY, RIS, ADMIN = "modality bound to CT1", "ris bound to CT1", "admin bound to CT1"
AE_HOST = "AE CT1 bound to its host"
FOREIGN = "modality CT1 acting as CT2"
OWN = "modality CT1 on its own CT1 work"
IDENTITIES = (NONE, WRONG, MODALITY, RIS, ADMIN, AE_HOST, FOREIGN, OWN)


@dataclass(frozen=True)
class Row:
    gateway: str
    door: str
    identity: str
    cells: tuple[str, ...]  # one per ACTIONS

    def __post_init__(self) -> None:
        assert len(self.cells) == len(ACTIONS), self


def door_rows(gateway: str, door: str, cells: dict[str, str]) -> list[Row]:
    """`cells`: identity -> the row's outcomes, one word per action (a, u, f, -)."""
    words = {"a": ALLOWED, "u": UNAUTHENTICATED, "f": FORBIDDEN, "-": NA}
    return [Row(gateway, door, who, tuple(words[w] for w in cells[who].split())) for who in IDENTITIES]


# The target is work scheduled for CT2; the OWN row acts on CT1's own work.
#                       search retrieve claim update complete cancel cancel-request subscribe
TABLE: list[Row] = [
    *door_rows(
        SCP_UA,
        "DIMSE UPS",
        {
            NONE: "u u u u u u u u",  # associated, but with --users it may only echo
            WRONG: "u u u u u u u u",  # the association is rejected
            MODALITY: "a a f f f f f a",  # reading is open; it subscribes as itself
            RIS: "a a a a a a a a",
            ADMIN: "a a a a a a a a",
            AE_HOST: "a a f f f f f a",  # --allow-ae CT1@127.0.0.1: a modality bound to CT1
            FOREIGN: "u u u u u u u u",  # calling as CT2, an AE title ct1 is not bound to: rejected
            OWN: "a a a a a a a a",
        },
    ),
    # MWL offers only C-FIND
    *door_rows(
        SCP_UA,
        "DIMSE MWL",
        {
            NONE: "u - - - - - - -",
            WRONG: "u - - - - - - -",
            MODALITY: "a - - - - - - -",
            RIS: "a - - - - - - -",
            ADMIN: "a - - - - - - -",
            AE_HOST: "a - - - - - - -",
            FOREIGN: "u - - - - - - -",
            OWN: "a - - - - - - -",
        },
    ),
    # MPPS: N-GET retrieves (MPPS Retrieve: only the station that performs it), N-CREATE claims,
    # N-SET updates, completes (COMPLETED) and cancels (DISCONTINUED); it has no search, and no
    # cancellation request nor subscription
    *door_rows(
        SCP_UA,
        "DIMSE MPPS",
        {
            NONE: "- u u u u u - -",
            WRONG: "- u u u u u - -",
            MODALITY: "- f f f f f - -",
            RIS: "- a a a a a - -",
            ADMIN: "- a a a a a - -",
            AE_HOST: "- f f f f f - -",
            FOREIGN: "- u u u u u - -",
            OWN: "- a a a a a - -",
        },
    ),
    # An AE title bound to its host is a DIMSE way in: HTTP has no such identity.
    *door_rows(
        OS_SCU,
        "UPS-RS",
        {
            NONE: "u u u u u u u u",
            WRONG: "u u u u u u u u",
            MODALITY: "a a f f f f f a",
            RIS: "a a a a a a a a",
            ADMIN: "a a a a a a a a",
            AE_HOST: "- - - - - - - -",
            FOREIGN: "f f f f f f f f",  # a Calling-AE-Title its user is not bound to: 403 on every request
            OWN: "a a a a a a a a",
        },
    ),
    # Supplement 246: search the MWL; create (claim), update, complete, discontinue (cancel) and
    # retrieve an MPPS — the last only by the station that performs it; no cancellation request
    # nor subscription
    *door_rows(
        OS_SCU,
        "Sup 246",
        {
            NONE: "u u u u u u - -",
            WRONG: "u u u u u u - -",
            MODALITY: "a f f f f f - -",
            RIS: "a a a a a a - -",
            ADMIN: "a a a a a a - -",
            AE_HOST: "- - - - - - - -",
            FOREIGN: "f f f f f f - -",
            OWN: "a a a a a a - -",
        },
    ),
    # the notification WebSocket only opens a channel (for the AE title it names)
    *door_rows(
        OS_SCU,
        "WebSocket",
        {
            NONE: "- - - - - - - u",
            WRONG: "- - - - - - - u",
            MODALITY: "- - - - - - - a",
            RIS: "- - - - - - - a",
            ADMIN: "- - - - - - - a",
            AE_HOST: "- - - - - - - -",
            FOREIGN: "- - - - - - - f",
            OWN: "- - - - - - - a",
        },
    ),
]


def render(rows: list[Row] = TABLE) -> str:
    """The table as README prints it (markdown)."""
    header = ["Gateway", "Door", "Identity", *ACTIONS]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join([r.gateway, r.door, r.identity, *r.cells]) + " |" for r in rows]
    return "\n".join(lines) + "\n"


README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### Over the gateways"


def test_readme_prints_this_table():
    text = README.read_text(encoding="utf-8")
    assert HEADING in text
    section = text.split(HEADING, 1)[1].split("\n#", 1)[0]
    table = "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))
    assert table == render()
    assert render() in section  # in one piece


# -- who asks --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Who:
    user: str | None  # None: no credentials
    password: str
    calling: str  # the calling AE title over DIMSE, the Calling-AE-Title header over HTTP
    station: str  # whose work it acts on


WHO = {
    NONE: Who(None, "", "CT2", "CT2"),
    WRONG: Who("modality", "not the password", "CT1", "CT2"),
    MODALITY: Who("modality", PASSWORD, "CT1", "CT2"),
    RIS: Who("ris", PASSWORD, "CT1", "CT2"),
    ADMIN: Who("admin", PASSWORD, "CT1", "CT2"),
    AE_HOST: Who(None, "", "CT1", "CT2"),
    FOREIGN: Who("modality", PASSWORD, "CT2", "CT2"),
    OWN: Who("modality", PASSWORD, "CT1", "CT1"),
}
DESK = Who("desk", PASSWORD, "CT2", "CT2")  # a ris bound to no AE title: sets the scene, in no row


@pytest.fixture(scope="module")
def users_path(tmp_path_factory) -> Path:
    users = Users()
    users.add("modality", PASSWORD, ["CT1"], "modality")
    users.add("ris", PASSWORD, ["CT1"], "ris")
    users.add("admin", PASSWORD, ["CT1"], "admin")
    users.add("desk", PASSWORD, [], "ris")
    path = tmp_path_factory.mktemp("users") / "users.toml"
    users.save(path)
    return path


class Rejected(Exception):
    """The association was rejected."""


def outcome_of_status(status: Dataset) -> str:
    code = int(status.Status)
    comment = str(getattr(status, "ErrorComment", "") or "")
    if code == 0x0000 or 0xB000 <= code <= 0xBFFF:
        return ALLOWED
    if comment == NO_IDENTITY_COMMENT:
        return UNAUTHENTICATED
    if code == 0x0124:
        return FORBIDDEN
    raise AssertionError(f"unexpected DIMSE status {code:04X}: {comment}")


def outcome_of_http(response: httpx.Response) -> str:
    if response.status_code == 401:
        return UNAUTHENTICATED
    if response.status_code == 403:
        return FORBIDDEN
    if 200 <= response.status_code < 300:
        return ALLOWED
    raise AssertionError(f"unexpected HTTP {response.status_code}: {response.headers.get('warning')}")


def ds(**attrs) -> Dataset:
    out = Dataset()
    for keyword, v in attrs.items():
        setattr(out, keyword, v)
    return out


def mpps_for(workitem: dict, gateway_uid: str, station: str) -> Dataset:
    """The N-CREATE a modality sends for the step it read (the gateway names it by `sps_id`)."""
    now = datetime.now()
    step = ds(
        StudyInstanceUID=workitem["0020000D"]["Value"][0],
        AccessionNumber=workitem["0040A370"]["Value"][0]["00080050"]["Value"][0],
        RequestedProcedureID="",
        ScheduledProcedureStepID=sps_id(gateway_uid),
    )
    out = ds(
        SpecificCharacterSet="ISO_IR 192",
        PatientName=workitem["00100010"]["Value"][0]["Alphabetic"],
        PatientID=workitem["00100020"]["Value"][0],
        PerformedProcedureStepID="PPS1",
        PerformedStationAETitle=station,
        PerformedProcedureStepStartDate=now.strftime("%Y%m%d"),
        PerformedProcedureStepStartTime=now.strftime("%H%M%S"),
        PerformedProcedureStepStatus="IN PROGRESS",
        PerformedProcedureStepDescription="CT chest",
        Modality="CT",
        PerformedSeriesSequence=[],
    )
    out.ScheduledStepAttributesSequence = [step]
    return out


def mpps_final(status: str) -> Dataset:
    now = datetime.now()
    image = ds(ReferencedSOPClassUID="1.2.840.10008.5.1.4.1.1.2", ReferencedSOPInstanceUID=generate_uid())
    series = ds(
        SeriesInstanceUID=generate_uid(),
        SeriesDescription="chest",
        ProtocolName="CHEST",
        OperatorsName="Tanaka^Yui",
        PerformingPhysicianName="",
        RetrieveAETitle="",
        ReferencedNonImageCompositeSOPInstanceSequence=[],
    )
    series.ReferencedImageSequence = [image]
    out = ds(
        PerformedProcedureStepStatus=status,
        PerformedProcedureStepEndDate=now.strftime("%Y%m%d"),
        PerformedProcedureStepEndTime=now.strftime("%H%M%S"),
    )
    out.PerformedSeriesSequence = [series]
    return out


MPPS_CHANGES = {
    "update": lambda: ds(PerformedProcedureStepDescription="CT chest, contrast"),
    "complete": lambda: mpps_final("COMPLETED"),
    "cancel": lambda: mpps_final("DISCONTINUED"),
}
UPS_STATES = {"claim": "IN PROGRESS", "complete": "COMPLETED", "cancel": "CANCELED"}
CHANGE_STATE, REQUEST_CANCELLATION, SUBSCRIBE = 1, 2, 3


# -- the SCP / User-Agent gateway ------------------------------------------------------------------
def associate(port: int, who: Who) -> object:
    ae = AE(who.calling)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 15
    for context in (
        UnifiedProcedureStepPush,
        UnifiedProcedureStepPull,
        UnifiedProcedureStepWatch,
        ModalityWorklistInformationFind,
        ModalityPerformedProcedureStep,
        ModalityPerformedProcedureStepRetrieve,
    ):
        ae.add_requested_context(context)
    negotiation = []
    if who.user is not None:
        identity = UserIdentityNegotiation()
        identity.user_identity_type = 2
        identity.primary_field = who.user.encode()
        identity.secondary_field = who.password.encode()
        negotiation.append(identity)
    assoc = ae.associate("127.0.0.1", port, ae_title="WORKLIST", ext_neg=negotiation)
    if not assoc.is_established:
        raise Rejected
    return assoc


class ScpUa:
    """The gateway with a DIMSE front and users, over an upstream embedded server without users."""

    def __init__(self, folder: Path, users: Path) -> None:
        self.upstream = UPSServer(
            ServerConfig(http_port=0, db_path=str(folder / "upstream.db"), purge_interval=3600)
        ).start()
        self.services = open_upstream(f"upsrs:{self.upstream.base_url}", str(folder / "gateway.db"))
        config = ServerConfig(
            http_port=0,
            dimse_port=0,
            db_path=str(folder / "gateway.db"),
            purge_interval=3600,
            users_file=str(users),
            password_throttle=GUESSES_ALLOWED,
            allow_ae=("CT1@127.0.0.1", "CT2"),
            # subscribers over DIMSE need an address; nobody listens there, and nothing waits for it
            event_peers={"CT1": ("127.0.0.1", 9), "CT2": ("127.0.0.1", 9)},
        )
        self.gateway = UPSServer(config, upstream=self.services).start()
        assert self.gateway.dimse is not None
        self.port = self.gateway.dimse.port

    def stop(self) -> None:
        self.gateway.stop()
        close_upstream(self.services)
        self.upstream.stop()

    # the scene, set upstream (no users there) or through the gateway as the desk
    def scheduled(self, station: str) -> tuple[str, dict]:
        workitem = item(station)
        self.upstream.service.create(workitem)
        return uid_of(workitem), workitem

    def in_progress(self, station: str) -> tuple[str, str]:
        uid, _ = self.scheduled(station)
        tx = generate_uid()
        self.upstream.service.change_state(uid, "IN PROGRESS", tx, station)
        self.upstream.service.update(uid, tx, performed(station))
        return uid, tx

    def mpps(self, station: str) -> str:
        uid, workitem = self.scheduled(station)
        mpps_uid = generate_uid()
        assoc = associate(self.port, Who(DESK.user, PASSWORD, station, station))
        try:
            status, _ = assoc.send_n_create(mpps_for(workitem, uid, station), ModalityPerformedProcedureStep, mpps_uid)
        finally:
            assoc.release()
        assert status.Status == 0x0000, status
        return mpps_uid

    def ask(self, door: str, who: Who, action: str) -> str:
        prepared = self._prepare(door, who, action)
        try:
            assoc = associate(self.port, who)
        except Rejected:
            return UNAUTHENTICATED
        try:
            return prepared(assoc)
        finally:
            assoc.release()

    def _prepare(self, door: str, who: Who, action: str) -> Callable[[object], str]:
        station = who.station
        if action == "search":
            model = UnifiedProcedureStepPull if door == "DIMSE UPS" else ModalityWorklistInformationFind
            if door == "DIMSE UPS":
                query = ds(SOPInstanceUID="", PatientName="", ProcedureStepState="")
                query.ScheduledStationNameCodeSequence = [ds(CodeValue=station)]
            else:
                query = ds(PatientName="", AccessionNumber="")
                query.ScheduledProcedureStepSequence = [ds(ScheduledStationAETitle=station, Modality="")]
            return lambda assoc: outcome_of_status(
                [s for s, _ in assoc.send_c_find(query, model) if s and s.Status not in (0xFF00, 0xFF01)][-1]
            )
        if door == "DIMSE MPPS":
            if action == "claim":
                uid, workitem = self.scheduled(station)
                dataset = mpps_for(workitem, uid, who.calling)
                return lambda assoc: outcome_of_status(
                    assoc.send_n_create(dataset, ModalityPerformedProcedureStep, generate_uid())[0]
                )
            mpps_uid = self.mpps(station)
            if action == "retrieve":
                retrieve = ModalityPerformedProcedureStepRetrieve
                return lambda assoc: outcome_of_status(assoc.send_n_get(None, retrieve, mpps_uid)[0])
            changes = MPPS_CHANGES[action]()
            return lambda assoc: outcome_of_status(
                assoc.send_n_set(changes, ModalityPerformedProcedureStep, mpps_uid)[0]
            )
        push = UnifiedProcedureStepPush
        if action in ("retrieve", "claim", "subscribe"):
            uid, _ = self.scheduled(station)
            if action == "retrieve":
                return lambda assoc: outcome_of_status(assoc.send_n_get([0x00100010, 0x00741000], push, uid)[0])
            if action == "subscribe":
                info = ds(ReceivingAE=who.calling, DeletionLock="FALSE")
                return lambda assoc: outcome_of_status(assoc.send_n_action(info, SUBSCRIBE, push, uid)[0])
            info = ds(ProcedureStepState="IN PROGRESS", TransactionUID=generate_uid())
            return lambda assoc: outcome_of_status(assoc.send_n_action(info, CHANGE_STATE, push, uid)[0])
        uid, tx = self.in_progress(station)
        if action == "update":
            changes = ds(ProcedureStepLabel="CT chest, contrast", TransactionUID=tx)
            return lambda assoc: outcome_of_status(assoc.send_n_set(changes, push, uid)[0])
        if action == "cancel-request":
            info = ds(ReasonForCancellation="Patient left")
            return lambda assoc: outcome_of_status(assoc.send_n_action(info, REQUEST_CANCELLATION, push, uid)[0])
        info = ds(ProcedureStepState=UPS_STATES[action], TransactionUID=tx)
        return lambda assoc: outcome_of_status(assoc.send_n_action(info, CHANGE_STATE, push, uid)[0])


# -- the Origin-Server / SCU gateway ------------------------------------------------------------------
def headers(who: Who) -> dict[str, str]:
    out = {CALLING_AE_HEADER: who.calling}
    if who.user is not None:
        token = base64.b64encode(f"{who.user}:{who.password}".encode()).decode()
        out["Authorization"] = f"Basic {token}"
    return out


def body(dataset: dict) -> dict:
    return {"content": json.dumps([dataset]), "headers": {"Content-Type": DICOM_JSON}}


class OsScu:
    """The gateway with UPS-RS, Sup 246 and users in front of our own server's DIMSE front as the RIS."""

    def __init__(self, folder: Path, users: Path) -> None:
        self.ris = UPSServer(
            ServerConfig(http_port=0, dimse_port=0, db_path=str(folder / "ris.db"), purge_interval=3600)
        ).start()
        assert self.ris.dimse is not None
        ris = f"127.0.0.1:{self.ris.dimse.port}:WORKLIST"
        spec = f"dimse:MWL={ris},MPPS={ris},POLL=60,TIMEOUT=5"
        self.services = open_upstream(spec, str(folder / "gateway.db"))
        config = ServerConfig(
            http_port=0,
            db_path=str(folder / "gateway.db"),
            purge_interval=3600,
            users_file=str(users),
            audit=False,
            password_throttle=GUESSES_ALLOWED,
        )
        self.gateway = UPSServer(config, upstream=self.services).start()
        self.http = httpx.Client(base_url=self.gateway.base_url, timeout=20)
        self.desk = headers(DESK)

    def stop(self) -> None:
        self.http.close()
        self.gateway.stop()
        close_upstream(self.services)
        self.ris.stop()

    def _desk(self, method: str, url: str, station: str, **kwargs) -> httpx.Response:
        extra = kwargs.pop("headers", {})
        response = self.http.request(method, url, headers={**self.desk, CALLING_AE_HEADER: station, **extra}, **kwargs)
        assert response.status_code < 300, (response.status_code, response.headers.get("warning"))
        return response

    def scheduled(self, station: str) -> tuple[str, dict]:
        """A step the RIS schedules, as the gateway names it."""
        workitem = item(station)
        self.ris.service.create(workitem)
        accession = workitem["0040A370"]["Value"][0]["00080050"]["Value"][0]
        found = self._desk(
            "GET", "/workitems", station, params={"ReferencedRequestSequence.AccessionNumber": accession}
        ).json()
        return uid_of(found[0]), found[0]

    def in_progress(self, station: str) -> tuple[str, str]:
        uid, _ = self.scheduled(station)
        tx = generate_uid()
        state = {"00741000": {"vr": "CS", "Value": ["IN PROGRESS"]}, "00081195": {"vr": "UI", "Value": [tx]}}
        self._desk("PUT", f"/workitems/{uid}/state", station, **body(state))
        self._desk("POST", f"/workitems/{uid}?transaction={tx}", station, **body(performed(station)))
        return uid, tx

    def mpps(self, station: str) -> str:
        uid, workitem = self.scheduled(station)
        mpps_uid = generate_uid()
        created = from_dataset(mpps_for(workitem, uid, station))
        self._desk("POST", f"/modality-performed-procedure-steps/{mpps_uid}", station, **body(created))
        return mpps_uid

    def ask(self, door: str, who: Who, action: str) -> str:
        station, sent = who.station, headers(who)
        if door == "WebSocket":
            url = self.gateway.base_url.replace("http", "ws", 1) + f"/ws/subscribers/{who.calling}"
            try:
                connect(url, additional_headers=sent, open_timeout=10).close()
            except InvalidStatus as refused:
                return outcome_of_http(httpx.Response(refused.response.status_code))
            return ALLOWED
        if door == "Sup 246":
            return outcome_of_http(self._sup246(who, action, sent))
        if action == "search":
            params = {"ScheduledStationNameCodeSequence.CodeValue": station}
            return outcome_of_http(self.http.get("/workitems", params=params, headers=sent))
        if action in ("retrieve", "claim", "subscribe"):
            uid, _ = self.scheduled(station)
            if action == "retrieve":
                return outcome_of_http(self.http.get(f"/workitems/{uid}", headers=sent))
            if action == "subscribe":
                return outcome_of_http(self.http.post(f"/workitems/{uid}/subscribers/{who.calling}", headers=sent))
            state = {
                "00741000": {"vr": "CS", "Value": ["IN PROGRESS"]},
                "00081195": {"vr": "UI", "Value": [generate_uid()]},
            }
            return outcome_of_http(self._send("PUT", f"/workitems/{uid}/state", sent, state))
        uid, tx = self.in_progress(station)
        if action == "update":
            label = {"00741204": {"vr": "LO", "Value": ["CT chest, contrast"]}}
            return outcome_of_http(self._send("POST", f"/workitems/{uid}?transaction={tx}", sent, label))
        if action == "cancel-request":
            reason = {"00741238": {"vr": "LT", "Value": ["Patient left"]}}
            return outcome_of_http(self._send("POST", f"/workitems/{uid}/cancelrequest", sent, reason))
        state = {"00741000": {"vr": "CS", "Value": [UPS_STATES[action]]}, "00081195": {"vr": "UI", "Value": [tx]}}
        return outcome_of_http(self._send("PUT", f"/workitems/{uid}/state", sent, state))

    def _send(self, method: str, url: str, sent: dict[str, str], dataset: dict) -> httpx.Response:
        return self.http.request(
            method, url, content=json.dumps([dataset]), headers={**sent, "Content-Type": DICOM_JSON}
        )

    def _sup246(self, who: Who, action: str, sent: dict[str, str]) -> httpx.Response:
        mpps_path = "/modality-performed-procedure-steps"
        if action == "search":
            params = {"ScheduledProcedureStepSequence.ScheduledStationAETitle": who.station}
            return self.http.get("/modality-scheduled-procedure-steps", params=params, headers=sent)
        if action == "claim":
            uid, workitem = self.scheduled(who.station)
            created = from_dataset(mpps_for(workitem, uid, who.calling))
            return self._send("POST", f"{mpps_path}/{generate_uid()}", sent, created)
        mpps_uid = self.mpps(who.station)
        if action == "retrieve":
            return self.http.get(f"{mpps_path}/{mpps_uid}", headers=sent)
        return self._send("POST", f"{mpps_path}/{mpps_uid}/update", sent, from_dataset(MPPS_CHANGES[action]()))


@pytest.fixture(scope="module")
def scp_ua(tmp_path_factory, users_path) -> Iterator[ScpUa]:
    gateway = ScpUa(tmp_path_factory.mktemp("scp_ua"), users_path)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def os_scu(tmp_path_factory, users_path) -> Iterator[OsScu]:
    gateway = OsScu(tmp_path_factory.mktemp("os_scu"), users_path)
    yield gateway
    gateway.stop()


CELLS = [
    pytest.param(row.gateway, row.door, row.identity, action, cell, id=f"{row.door}-{row.identity}-{action}")
    for row in TABLE
    for action, cell in zip(ACTIONS, row.cells, strict=True)
    if cell != NA
]


@pytest.mark.parametrize(("gateway", "door", "identity", "action", "expected"), CELLS)
def test_each_cell_is_what_the_gateway_answers(request, gateway, door, identity, action, expected):
    through = request.getfixturevalue("scp_ua" if gateway == SCP_UA else "os_scu")
    assert through.ask(door, WHO[identity], action) == expected
