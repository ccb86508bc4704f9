"""The HL7 v2 door of `serve --hl7-port`: MLLP framing over raw sockets and python-hl7's own client,
every order control, repeats, refusals and hostile input — against the real server on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import hl7
import hl7.client
import httpx
import pytest
from door import users_file
from embedded_server import start_hl7_server
from upsrs_client import DICOM_JSON, FILTERED, GLOBAL, claim, listen, new_aet, value

from app.domain.hl7_orders import workitem_uid
from app.server import ServerConfig, UPSServer
from app.server.audit import audit_path, read

SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "hl7"
VT, END = b"\x0b", b"\x1c\x0d"


@pytest.fixture(scope="module")
def door(tmp_path_factory) -> Iterator[UPSServer]:
    server = start_hl7_server(
        tmp_path_factory.mktemp("hl7") / "ups.db", hl7_stations={"CT": "CT_ROOM1"}, hl7_timeout=1.0
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def http(door) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=door.base_url, timeout=10.0, headers={"Accept": DICOM_JSON}) as client:
        yield client


def order(name: str, placer: str, control_id: str | None = None) -> bytes:
    """A sample message for an order of its own (placer and filler number), with its own control ID."""
    raw = (SAMPLES / name).read_bytes()
    number = "1001" if b"1001" in raw else "2002"
    raw = raw.replace(f"PL-{number}".encode(), placer.encode()).replace(f"FL-{number}".encode(), b"F" + placer.encode())
    for sample_id in (b"ORM-0001", b"ORM-0002", b"ORM-0003", b"OMI-0001"):
        raw = raw.replace(sample_id, (control_id or uuid.uuid4().hex[:12]).encode())
    return raw


def new_placer() -> str:
    return "PL" + uuid.uuid4().hex[:10].upper()


def the_uid(placer: str, step: str = "SPS-1001") -> str:
    return workitem_uid("RIS", "RADIOLOGY", placer, step)


def connect(door: UPSServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", door.hl7.port), timeout=10)


def receive(peer: socket.socket) -> hl7.Message:
    data = b""
    while END not in data:
        chunk = peer.recv(65536)
        assert chunk, f"the server closed the connection; received {data!r}"
        data += chunk
    frame, _, _ = data.partition(END)
    assert frame[:1] == VT
    return hl7.parse(frame[1:].decode("utf-8", errors="replace"))


def exchange(door: UPSServer, raw: bytes) -> hl7.Message:
    with connect(door) as peer:
        peer.sendall(VT + raw + END)
        return receive(peer)


def msa(ack: hl7.Message) -> tuple[str, str]:
    return str(ack.segment("MSA")(1)), str(ack.segment("MSA")(3))


def state(http: httpx.Client, uid: str) -> str | None:
    answer = http.get(f"/workitems/{uid}")
    return value(answer.json()[0], "00741000") if answer.status_code == 200 else None


def test_new_order_over_the_librarys_client_is_acknowledged_and_searchable(door, http) -> None:
    placer = new_placer()
    raw = order("orm_o01_new.hl7", placer, "C1-" + placer)
    client = hl7.client.MLLPClient("127.0.0.1", door.hl7.port, encoding="latin-1")
    try:
        answer = client.send_message(raw)
    finally:
        client.close()
    assert answer[:1] == VT and answer.endswith(END)
    ack = hl7.parse(answer[1:-2].decode("latin-1"))
    assert msa(ack)[0] == "AA"
    assert str(ack.segment("MSA")(2)) == "C1-" + placer
    msh = ack.segment("MSH")
    assert (str(msh(3)), str(msh(5)), str(msh(6)), str(msh(9))) == ("WORKLIST", "RIS", "RADIOLOGY", "ACK^O01^ACK")
    found = http.get("/workitems", params={"00741000": "SCHEDULED", "includefield": "all"}).json()
    mine = [ds for ds in found if value(ds, "00080018") == the_uid(placer)]
    assert len(mine) == 1
    assert value(mine[0], "00100010") == {"Alphabetic": "Müller^Anna^M"}
    assert value(mine[0], "00080005") == "ISO_IR 100"
    assert value(mine[0]["00404025"]["Value"][0], "00080100") == "CT_ROOM1"


@pytest.mark.parametrize("line_end", [b"\r\n", b"\n"])
def test_segments_ended_by_crlf_or_lf_are_read_as_by_cr(door, http, line_end: bytes) -> None:
    placer = new_placer()
    ack = exchange(door, order("orm_o01_new.hl7", placer).replace(b"\r", line_end))
    assert msa(ack)[0] == "AA", msa(ack)
    assert state(http, the_uid(placer)) == "SCHEDULED"


def test_omi_o23_creates_its_workitem(door, http) -> None:
    placer = new_placer()
    ack = exchange(door, order("omi_o23_new.hl7", placer))
    assert msa(ack)[0] == "AA"
    assert state(http, the_uid(placer, "SPS-2002")) == "SCHEDULED"


def test_a_repeated_control_id_gets_the_first_ack_and_no_second_workitem(door, http) -> None:
    placer = new_placer()
    raw = order("orm_o01_new.hl7", placer, "DUP-" + placer)
    first = exchange(door, raw)
    again = exchange(door, raw)
    assert msa(first)[0] == msa(again)[0] == "AA"
    assert str(first) == str(again)  # the stored ACK, its own control ID included
    assert state(http, the_uid(placer)) == "SCHEDULED"
    assert [line["action"] for line in read(audit_path(door.store.path), the_uid(placer))] == ["create"]


def test_cancel_of_a_scheduled_order_cancels_it(door, http) -> None:
    placer = new_placer()
    assert msa(exchange(door, order("orm_o01_new.hl7", placer)))[0] == "AA"
    assert msa(exchange(door, order("orm_o01_cancel.hl7", placer)))[0] == "AA"
    assert state(http, the_uid(placer)) == "CANCELED"


@pytest.mark.parametrize("control", ["DC", "OC"])
def test_discontinue_and_order_cancelled_cancel_too(door, http, control: str) -> None:
    placer = new_placer()
    exchange(door, order("orm_o01_new.hl7", placer))
    cancel = order("orm_o01_cancel.hl7", placer).replace(b"ORC|CA|", f"ORC|{control}|".encode())
    assert msa(exchange(door, cancel))[0] == "AA"
    assert state(http, the_uid(placer)) == "CANCELED"


def test_cancel_of_a_procedure_in_progress_asks_the_modality(door, http) -> None:
    placer = new_placer()
    exchange(door, order("orm_o01_new.hl7", placer))
    uid = the_uid(placer)
    claim(http, uid)
    events = listen(http, uid, new_aet())
    try:
        code, text = msa(exchange(door, order("orm_o01_cancel.hl7", placer)))
        assert code == "AA" and "in progress" in text
        request = events.wait_for(uid, 2)  # UPS Cancel Requested: the console's banner
        assert value(request, "00741236") == "RIS"
    finally:
        events.close()
    assert state(http, uid) == "IN PROGRESS"


def test_the_reason_and_contact_of_a_cancellation_reach_the_modality(door, http) -> None:
    placer = new_placer()
    exchange(door, order("orm_o01_new.hl7", placer))
    uid = the_uid(placer)
    claim(http, uid)
    events = listen(http, uid, new_aet())
    cancel = order("orm_o01_cancel.hl7", placer).replace(
        f"ORC|CA|{placer}|F{placer}".encode(),
        f"ORC|CA|{placer}|F{placer}|||||||^front desk^RIS||||||110510^Duplicate order^DCM".encode(),
    )
    try:
        assert msa(exchange(door, cancel))[0] == "AA"
        request = events.wait_for(uid, 2)
    finally:
        events.close()
    reason = value(request, "0074100E")  # Discontinuation Reason Code Sequence: ORC-16
    assert value(reason, "00080100") == "110510" and value(reason, "00080104") == "Duplicate order"
    assert value(request, "0074100C") == "RIS front desk"  # Contact Display Name: ORC-10


def test_change_of_a_scheduled_order_moves_it(door, http) -> None:
    placer = new_placer()
    exchange(door, order("orm_o01_new.hl7", placer))
    assert msa(exchange(door, order("orm_o01_change.hl7", placer)))[0] == "AA"
    ds = http.get(f"/workitems/{the_uid(placer)}").json()[0]
    assert value(ds, "00404005") == "20270315110000"
    assert value(ds, "00741200") == "HIGH"
    assert value(ds["00404025"]["Value"][0], "00080100") == "CT2"


def test_change_of_an_order_in_progress_is_refused_with_a_reason(door, http) -> None:
    placer = new_placer()
    exchange(door, order("orm_o01_new.hl7", placer))
    claim(http, the_uid(placer))
    for control in ("XO", "SC"):
        ack = exchange(door, order("orm_o01_change.hl7", placer).replace(b"ORC|XO|", f"ORC|{control}|".encode()))
        code, text = msa(ack)
        assert code == "AE" and "in progress" in text
        assert str(ack.segment("ERR")(2)) == "ORC^1^1"


def test_a_subscribed_console_sees_the_new_order_at_once(door, http) -> None:
    events = listen(http, GLOBAL, new_aet(), deletionlock="false")
    try:
        placer = new_placer()
        exchange(door, order("orm_o01_new.hl7", placer))
        events.wait_for(the_uid(placer), 1, **{"00741000": "SCHEDULED"})
    finally:
        events.close()


def test_a_filtered_subscriber_sees_the_orders_for_its_station_only(door, http) -> None:
    events = listen(http, FILTERED, new_aet(), filter="ScheduledStationNameCodeSequence.CodeValue=CT_ROOM1")
    try:
        elsewhere, here = new_placer(), new_placer()
        exchange(door, order("orm_o01_new.hl7", elsewhere).replace(b"|CT|||", b"|MR|||"))  # no station for MR
        exchange(door, order("orm_o01_new.hl7", here))  # CT goes to CT_ROOM1 (--hl7-station)
        # events come in commit order: one for the other station's order would come first
        assert value(events.next(), "00001000") == the_uid(here)
    finally:
        events.close()


def test_missing_patient_id_is_answered_ae_with_err(door) -> None:
    ack = exchange(door, order("orm_o01_new.hl7", new_placer()).replace(b"PAT-1001^^^RIS", b""))
    assert msa(ack)[0] == "AE"
    err = ack.segment("ERR")
    assert (str(err(2)), str(err(3)(1)(1))) == ("PID^1^3", "101")


def test_unknown_order_control_and_message_type(door) -> None:
    ack = exchange(door, order("orm_o01_new.hl7", new_placer()).replace(b"ORC|NW|", b"ORC|QQ|"))
    assert msa(ack)[0] == "AE" and str(ack.segment("ERR")(2)) == "ORC^1^1"
    ack = exchange(door, order("orm_o01_new.hl7", new_placer()).replace(b"ORM^O01", b"ORU^R01"))
    assert msa(ack)[0] == "AR" and str(ack.segment("ERR")(3)(1)(1)) == "200"


def test_framing_split_across_reads_and_two_messages_in_one_read(door, http) -> None:
    first, second = new_placer(), new_placer()
    frames = VT + order("orm_o01_new.hl7", first) + END + VT + order("omi_o23_new.hl7", second) + END
    with connect(door) as peer:
        peer.sendall(frames[:7])
        peer.sendall(frames[7:40])
        peer.sendall(frames[40:])
        assert msa(receive_all(peer, 2)[0])[0] == "AA"
    assert state(http, the_uid(first)) == "SCHEDULED"
    assert state(http, the_uid(second, "SPS-2002")) == "SCHEDULED"


def receive_all(peer: socket.socket, count: int) -> list[hl7.Message]:
    data = b""
    while data.count(END) < count:
        chunk = peer.recv(65536)
        assert chunk, data
        data += chunk
    return [hl7.parse(frame[1:].decode("latin-1")) for frame in data.split(END)[:count]]


def test_a_frame_without_end_block_times_out_and_the_server_goes_on(door, http) -> None:
    with connect(door) as peer:
        peer.sendall(VT + order("orm_o01_new.hl7", new_placer()))
        peer.settimeout(10)
        assert peer.recv(100) == b""  # closed after the door's timeout, without an answer
    assert msa(exchange(door, order("orm_o01_new.hl7", new_placer())))[0] == "AA"


def test_a_message_over_one_mebibyte_is_refused(door) -> None:
    raw = order("orm_o01_new.hl7", new_placer()) + b"NTE|1||" + b"x" * (1 << 20) + b"\r"
    with connect(door) as peer:
        peer.sendall(VT + raw + END)
        assert msa(receive(peer))[0] == "AR"
        peer.sendall(VT + order("orm_o01_new.hl7", new_placer()) + END)  # the connection goes on
        assert msa(receive(peer))[0] == "AA"


def test_unframed_bytes_are_answered_ar(door) -> None:
    with connect(door) as peer:
        peer.sendall(b"hello" + END)
        assert msa(receive(peer))[0] == "AR"


def test_a_merge_over_mllp_moves_the_order_to_the_surviving_patient(door, http) -> None:
    placer, prior, survivor = new_placer(), "P" + uuid.uuid4().hex[:8], "S" + uuid.uuid4().hex[:8]
    assert msa(exchange(door, order("orm_o01_new.hl7", placer).replace(b"PAT-1001", prior.encode())))[0] == "AA"
    merge = (SAMPLES / "adt_a40_merge.hl7").read_bytes()
    merge = merge.replace(b"PAT-SURVIVOR^^^HOSPITAL", survivor.encode() + b"^^^RIS")
    merge = merge.replace(b"PAT-PRIOR^^^HOSPITAL", prior.encode() + b"^^^RIS").replace(b"MERGE0001", placer.encode())
    assert msa(exchange(door, merge))[0] == "AA"
    moved = http.get(f"/workitems/{the_uid(placer)}").json()[0]
    assert moved["00100020"]["Value"] == [survivor]


def test_the_audit_names_the_hl7_door(door) -> None:
    placer = new_placer()
    exchange(door, order("orm_o01_new.hl7", placer))
    lines = list(read(audit_path(door.store.path), the_uid(placer)))
    assert [(line["action"], line["door"], line["ae"]) for line in lines] == [("create", "HL7", "RIS")]


def test_a_sender_off_the_allow_list_is_refused_and_audited(tmp_path) -> None:
    config = ServerConfig(
        http_port=0, db_path=str(tmp_path / "ups.db"), purge_interval=3600, hl7_port=0, hl7_allow=("RIS^RADIOLOGY",)
    )
    with UPSServer(config) as server:
        allowed = exchange(server, order("orm_o01_new.hl7", new_placer()))
        refused = exchange(server, order("orm_o01_new.hl7", new_placer()).replace(b"|RIS|", b"|EVIL|"))
        assert msa(allowed)[0] == "AA"
        assert msa(refused)[0] == "AR" and "--hl7-allow" in msa(refused)[1]
        assert [line["sender"] for line in read(audit_path(server.store.path)) if line["action"] == "hl7-refused"] == [
            "EVIL^RADIOLOGY"
        ]


def test_with_users_the_door_stays_on_loopback(tmp_path) -> None:
    from app.server.hl7_door import Hl7Door

    with pytest.raises(ValueError, match="loopback"):
        Hl7Door(None, "0.0.0.0", 0, users_on=True)  # type: ignore[arg-type]


def test_with_users_on_loopback_orders_come_in_as_the_ris(tmp_path) -> None:
    path, _ = users_file(tmp_path, ct1=["CT1"])
    config = ServerConfig(
        http_port=0, db_path=str(tmp_path / "ups.db"), purge_interval=3600, users_file=str(path), hl7_port=0
    )
    with UPSServer(config) as server:
        placer = new_placer()
        assert msa(exchange(server, order("orm_o01_new.hl7", placer)))[0] == "AA"
        [line] = read(audit_path(server.store.path), the_uid(placer))
        assert (line["door"], line["ae"]) == ("HL7", "RIS")


def test_serve_refuses_an_exposed_hl7_door_with_users(tmp_path) -> None:
    path, _ = users_file(tmp_path, ct1=["CT1"])
    done = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--db", str(tmp_path / "w.db"), "--host", "0.0.0.0"]
        + ["--http-port", "0", "--dimse-port", "0", "--users", str(path), "--tls-self-signed", "--hl7-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Cannot start the server: With --users the HL7 door" in done.stderr and "Traceback" not in done.stderr
