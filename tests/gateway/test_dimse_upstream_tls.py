"""The Origin-Server / SCU gateway (`serve --upstream dimse:…,TLS=1 --upstream-ca PEM
[--upstream-cert PEM --upstream-key PEM]`) in front of a RIS that speaks only DICOM over TLS: a
pynetdicom MWL and MPPS SCP that asks every client for a certificate and keeps what it receives."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from certificates import make_certificate
from embedded_server import PINNED_DAY
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityPerformedProcedureStep, ModalityWorklistInformationFind, Verification

from app.backends.profiles import Profile
from app.backends.upsrs import UpsRsBackend
from app.domain.build import NewWorkitem
from app.domain.dicomjson import to_dataset
from app.domain.mapping import ups_to_mwl
from app.domain.procedure import PerformedProcedure
from app.domain.workitem import Code, PatientName
from app.domain.worklist_query import WorklistQuery
from app.gateway import UpstreamAccess, UpstreamSpecError, close_upstream, open_upstream
from app.server import ServerConfig, UPSServer


@dataclass
class TlsRis:
    """An MWL + MPPS SCP on DICOM TLS only, whose clients must show a certificate `client_ca` signed."""

    folder: Path
    client_ca: Path
    items: list[Dataset]
    created: dict[str, Dataset] = field(default_factory=dict)
    sets: list[str] = field(default_factory=list)
    client_certificates: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    server: object = None

    def start(self) -> TlsRis:
        self.cert, key = make_certificate(self.folder, "ris")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, key)
        context.load_verify_locations(cafile=self.client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
        ae = AE("TLSRIS")
        for context_class in (Verification, ModalityWorklistInformationFind, ModalityPerformedProcedureStep):
            ae.add_supported_context(context_class)
        self.server = ae.start_server(
            ("127.0.0.1", 0),
            block=False,
            ssl_context=context,
            evt_handlers=[(evt.EVT_C_FIND, self._find), (evt.EVT_N_CREATE, self._create), (evt.EVT_N_SET, self._set)],
        )
        self.port = self.server.server_address[1]  # type: ignore[attr-defined]
        return self

    def stop(self) -> None:
        self.server.shutdown()  # type: ignore[attr-defined]

    def _seen(self, event) -> None:
        sock = event.assoc.dul.socket.socket
        with self.lock:
            self.client_certificates.append(sock.getpeercert())

    def _find(self, event) -> Iterator[tuple[int, Dataset | None]]:
        self._seen(event)
        for item in self.items:
            yield 0xFF00, item

    def _create(self, event) -> tuple[int, Dataset | None]:
        self._seen(event)
        with self.lock:
            self.created[str(event.request.AffectedSOPInstanceUID)] = event.attribute_list
        return 0x0000, event.attribute_list

    def _set(self, event) -> tuple[int, Dataset | None]:
        uid = str(event.request.RequestedSOPInstanceUID)
        with self.lock:
            if uid not in self.created:
                return 0x0112, None
            self.sets.append(uid)
            for element in event.modification_list:
                self.created[uid][element.tag] = element
        return 0x0000, event.modification_list


def scheduled(accession: str) -> Dataset:
    new = NewWorkitem(
        uid=generate_uid(),
        label="CT head",
        start=f"{PINNED_DAY:%Y%m%d}093000",
        patient=PatientName("Secure^Sam"),
        patient_id="TLS1",
        station="CT1",
        modality="CT",
        accession=accession,
        study_uid=generate_uid(),
    )
    return to_dataset(ups_to_mwl(new.to_json()))


@pytest.fixture()
def certificates(tmp_path) -> dict[str, Path]:
    client_cert, client_key = make_certificate(tmp_path, "gateway")
    stranger, _ = make_certificate(tmp_path, "stranger")
    return {"cert": client_cert, "key": client_key, "stranger": stranger}


@pytest.fixture()
def ris(tmp_path, certificates) -> Iterator[TlsRis]:
    scp = TlsRis(tmp_path, certificates["cert"], [scheduled("ACC-TLS1")]).start()
    yield scp
    scp.stop()


class Gateway:
    def __init__(self, spec: str, folder: Path, access: UpstreamAccess) -> None:
        self.services = open_upstream(spec, str(folder / "gateway.db"), access=access)
        config = ServerConfig(http_port=0, db_path=str(folder / "gateway.db"), purge_interval=3600, audit=False)
        self.server = UPSServer(config, upstream=self.services).start()

    def stop(self) -> None:
        self.server.stop()
        close_upstream(self.services)


@pytest.fixture()
def gateway(tmp_path) -> Iterator:
    started: list[Gateway] = []

    def start(ris: TlsRis, access: UpstreamAccess) -> Gateway:
        folder = tmp_path / f"gw{len(started)}"
        folder.mkdir()
        spec = f"dimse:MWL=127.0.0.1:{ris.port}:TLSRIS,POLL=60,TIMEOUT=5,TLS=1"
        started.append(Gateway(spec, folder, access))
        return started[-1]

    yield start
    for g in started:
        g.stop()


async def test_a_search_and_an_mpps_reach_a_tls_ris_with_the_gateways_certificate(ris, gateway, certificates):
    access = UpstreamAccess(
        ca_file=str(ris.cert), cert_file=str(certificates["cert"]), key_file=str(certificates["key"])
    )
    through = gateway(ris, access)
    console = UpsRsBackend(Profile(name="CT1", url=through.server.base_url, ae_title="CT1", timeout=15))
    try:
        [item] = await console.search(WorklistQuery.today("CT1", PINNED_DAY))
        assert item.accession_number == "ACC-TLS1"
        transaction = generate_uid()
        await console.claim(item.uid, transaction)
        [(_, created)] = ris.created.items()
        assert created.PerformedProcedureStepStatus == "IN PROGRESS" and created.PatientID == "TLS1"
        now = datetime.now().strftime("%Y%m%d%H%M%S")
        performed = PerformedProcedure(
            Code("CT1", "99WLSTATION", "CT1"), start=now, end=now, procedures=(Code("CTHEAD", "99WLPROC", "CT head"),)
        )
        await console.complete(item.uid, transaction, performed)
        assert created.PerformedProcedureStepStatus == "COMPLETED"
    finally:
        await console.close()
    # every association showed the gateway's own certificate to the RIS
    assert ris.client_certificates and all(c.get("subject") for c in ris.client_certificates)


def test_a_ris_certificate_the_ca_file_did_not_sign_is_refused_in_a_sentence(ris, gateway, certificates):
    access = UpstreamAccess(
        ca_file=str(certificates["stranger"]), cert_file=str(certificates["cert"]), key_file=str(certificates["key"])
    )
    through = gateway(ris, access)
    refused = httpx.get(through.server.base_url + "/workitems", timeout=30)
    warning = refused.headers["warning"]
    assert refused.status_code == 503
    assert f"Cannot talk TLS with the worklist server at 127.0.0.1:{ris.port}" in warning
    assert "its certificate is not trusted (self-signed certificate); give the gateway the CA file" in warning
    assert "--upstream-ca" in warning
    assert not ris.created and not ris.client_certificates  # nothing reached the RIS


def test_a_tls_ris_refuses_a_gateway_without_a_client_certificate(ris, gateway):
    through = gateway(ris, UpstreamAccess(ca_file=str(ris.cert)))
    refused = httpx.get(through.server.base_url + "/workitems", timeout=30)
    assert refused.status_code == 503
    assert (
        f"Cannot talk TLS with the worklist server at 127.0.0.1:{ris.port}: it wants a client certificate "
        "from a CA it trusts (tlsv13 alert certificate required)"
    ) in refused.headers["warning"]
    assert not ris.client_certificates


# -- what does not go together is refused before anything opens ----------------------------------
def _refusal(tmp_path, spec: str, access: UpstreamAccess) -> str:
    with pytest.raises(ValueError) as refused:
        open_upstream(spec, str(tmp_path / "g.db"), access=access)
    return str(refused.value)


def test_a_ca_file_or_a_client_certificate_without_tls_is_refused(tmp_path, certificates):
    plain = "dimse:MWL=127.0.0.1:104:RIS"
    ca = UpstreamAccess(ca_file=str(certificates["stranger"]))
    assert "--upstream-ca is for DICOM over TLS to the RIS: add TLS=1" in _refusal(tmp_path, plain, ca)
    cert = UpstreamAccess(cert_file=str(certificates["cert"]), key_file=str(certificates["key"]))
    assert "--upstream-cert is for DICOM over TLS to the RIS: add TLS=1" in _refusal(tmp_path, plain, cert)
    assert "TLS=yes must be 1" in _refusal(tmp_path, plain + ",TLS=yes", UpstreamAccess())


def test_a_client_certificate_towards_an_http_upstream_is_refused(tmp_path, certificates):
    cert = UpstreamAccess(cert_file=str(certificates["cert"]), key_file=str(certificates["key"]))
    with pytest.raises(UpstreamSpecError, match="--upstream-cert and --upstream-key are for DICOM TLS to a dimse: RIS"):
        open_upstream("sup246:https://127.0.0.1:1/dicom-web", str(tmp_path / "g.db"), access=cert)


def test_tls_files_that_cannot_be_used_are_said_by_name(tmp_path, certificates):
    spec = "dimse:MWL=127.0.0.1:104:RIS,TLS=1"
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n")
    said = _refusal(tmp_path, spec, UpstreamAccess(ca_file=str(not_pem)))
    assert f"The upstream CA file {not_pem} holds no CA certificate" in said
    other_key = make_certificate(tmp_path, "other")[1]
    mismatched = UpstreamAccess(cert_file=str(certificates["cert"]), key_file=str(other_key))
    said = _refusal(tmp_path, spec, mismatched)
    assert f"The upstream client certificate {certificates['cert']} and key {other_key} cannot be used" in said
    with pytest.raises(ValueError, match="--upstream-cert and --upstream-key go together"):
        UpstreamAccess.from_files(None, None, None, None, str(certificates["cert"]), None)
    with pytest.raises(ValueError, match="The upstream client key file .* does not exist"):
        UpstreamAccess.from_files(None, None, None, None, str(certificates["cert"]), str(tmp_path / "missing.key"))


@pytest.mark.parametrize(
    ("spec", "extra", "said"),
    [
        ("", ["--upstream-ca", "{cert}"], "--upstream-ca is for DICOM over TLS to the RIS: add TLS=1"),
        (",TLS=1", ["--upstream-cert", "{cert}"], "--upstream-cert and --upstream-key go together"),
        (",TLS=1", ["--upstream-key", "{key}"], "--upstream-cert and --upstream-key go together"),
        (",TLS=on", [], "TLS=on must be 1 (DICOM over TLS to the RIS) or 0"),
    ],
)
def test_serve_refuses_tls_options_that_do_not_go_together(tmp_path, capsys, certificates, spec, extra, said):
    from app.cli import main

    upstream = f"dimse:MWL=127.0.0.1:104:RIS{spec}"
    paths = [a.format(cert=certificates["cert"], key=certificates["key"]) for a in extra]
    args = ["serve", "--upstream", upstream, "--http-port", "0", "--dimse-port", "0", "--db", str(tmp_path / "g.db")]
    assert main([*args, *paths]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "g.db").exists()  # refused before anything was opened
