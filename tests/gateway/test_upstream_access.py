"""A gateway in front of an upstream that wants users and speaks HTTPS with its own CA: the
credentials and the CA file come from files, and no secret reaches a log."""

from __future__ import annotations

import logging

import pytest
from door import PASSWORD, locked_server
from embedded_server import PINNED_DAY
from pydicom.uid import generate_uid
from test_ups_upstream import STATE, associate, completed, in_progress, n_create, n_set, value, worklist

from app.gateway import UpstreamAccess
from app.server.demo import seed_demo_day


@pytest.fixture()
def locked_upstream(tmp_path):
    """HTTPS with a classroom CA, users on: `trainer` bound to no AE, and a token for it."""
    server, tokens = locked_server(tmp_path / "upstream", tls=True, trainer=[])
    seed_demo_day(server.service, today=PINNED_DAY)
    yield server, tokens
    server.stop()


@pytest.fixture()
def files(tmp_path):
    folder = tmp_path / "secrets"
    folder.mkdir(exist_ok=True)

    def write(name: str, text: str) -> str:
        path = folder / name
        path.write_text(text + "\n", encoding="utf-8")
        return str(path)

    return write


def the_upstream_ca(server) -> str:
    assert server.tls is not None and server.tls.ca is not None
    return str(server.tls.ca)


def test_a_user_and_the_ca_file_reach_a_locked_https_upstream(locked_upstream, gateway_of, files, caplog, tmp_path):
    server, _ = locked_upstream
    access = UpstreamAccess.from_files("trainer", files("password", PASSWORD), None, the_upstream_ca(server))
    with caplog.at_level(logging.DEBUG):
        gateway = gateway_of(server.base_url, access=access)
        item = worklist(gateway.dimse_port, "MR1")[0]
        mpps = generate_uid()
        assert n_create(gateway.dimse_port, in_progress(item), mpps).Status == 0x0000
        assert n_set(gateway.dimse_port, completed(), mpps).Status == 0x0000
    assert PASSWORD not in caplog.text and PASSWORD not in repr(access)
    assert any("→ upstream" in r.getMessage() for r in caplog.records)  # the trace was on

    import httpx

    with httpx.Client(verify=the_upstream_ca(server), auth=("trainer", PASSWORD)) as http:
        done = by_accession_with(http, server.base_url, str(item.AccessionNumber))
    assert value(done, STATE) == "COMPLETED"


def by_accession_with(http, base_url: str, accession: str) -> dict:
    found = http.get(
        f"{base_url}/workitems", params={"ReferencedRequestSequence.AccessionNumber": accession, "includefield": "all"}
    ).json()
    return found[0]


def test_a_token_file_works_as_well(locked_upstream, gateway_of, files):
    server, tokens = locked_upstream
    access = UpstreamAccess.from_files(None, None, files("token", tokens["trainer"]), the_upstream_ca(server))
    gateway = gateway_of(server.base_url, access=access)
    assert worklist(gateway.dimse_port, "MR1")


def test_without_credentials_or_without_the_ca_the_modality_is_told_why(locked_upstream, gateway_of, files, tmp_path):
    server, _ = locked_upstream
    no_user = gateway_of(server.base_url, tmp_path / "a.db", access=UpstreamAccess(ca_file=the_upstream_ca(server)))
    refused = c_find_status(no_user.dimse_port)
    assert refused.Status == 0xC000 and "credentials" in refused.ErrorComment.lower()

    untrusted = gateway_of(
        server.base_url,
        tmp_path / "b.db",
        access=UpstreamAccess.from_files("trainer", files("p", PASSWORD), None, None),
    )
    failed = c_find_status(untrusted.dimse_port)
    assert failed.Status == 0xC000 and "127.0.0.1" in failed.ErrorComment


def c_find_status(port: int):
    from pydicom import Dataset
    from pynetdicom.sop_class import ModalityWorklistInformationFind

    query = Dataset()
    query.AccessionNumber = ""
    assoc = associate(port)
    try:
        statuses = [s for s, _ in assoc.send_c_find(query, ModalityWorklistInformationFind) if s]
    finally:
        assoc.release()
    return statuses[-1]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--upstream-user", "trainer"], "needs --upstream-password-file"),
        (["--upstream-password-file", "x"], "needs --upstream-user"),
        (["--upstream-ca", "/nonexistent/ca.pem"], "does not exist"),
    ],
)
def test_serve_says_what_is_wrong_with_the_upstream_access_options(tmp_path, capsys, extra, said):
    from app.cli import main

    args = ["serve", "--upstream", "upsrs:https://127.0.0.1:1/dicom-web", "--http-port", "0", "--dimse-port", "0"]
    assert main([*args, "--db", str(tmp_path / "g.db"), *extra]) == 2
    assert said in capsys.readouterr().err


def test_a_secret_is_never_taken_from_the_command_line(tmp_path, capsys):
    from app.cli import main

    for option in ("--upstream-password", "--upstream-token"):
        args = ["serve", "--upstream", "upsrs:http://127.0.0.1:1/dicom-web", "--db", str(tmp_path / "g.db")]
        assert main([*args, option, PASSWORD]) == 2
        said = capsys.readouterr().err
        assert "--upstream-password-file" in said and PASSWORD not in said


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--upstream", f"upsrs:http://trainer:{PASSWORD}@127.0.0.1:1/dicom-web"], "--upstream-password-file"),
        (["--upstream", f"upsrs+dcm4chee:https://trainer:{PASSWORD}@127.0.0.1:1/aets/X/rs"], "--upstream-user"),
        (["--upstream", f"sup246:http://{PASSWORD}@127.0.0.1:1/dicom-web"], "--upstream-token-file"),
        (["--public-url", f"https://trainer:{PASSWORD}@worklist.example:8443"], "--public-url"),
    ],
    ids=["upsrs", "dcm4chee", "sup246-token", "public-url"],
)
def test_a_user_or_password_in_a_url_option_is_refused_without_repeating_it(tmp_path, options, said):
    import subprocess
    import sys

    args = ["serve", "--http-port", "0", "--dimse-port", "0", "--db", str(tmp_path / "g.db"), *options]
    # a process of its own: a server that took the URL would serve on instead of returning
    proc = subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    err = proc.stderr + proc.stdout
    assert said in err and "user or password" in err
    assert PASSWORD not in err and "Traceback" not in err
    assert not (tmp_path / "g.db").exists()  # refused before anything was opened


def test_find_refuses_a_password_in_its_url(capsys):
    from app.cli import main

    assert main(["find", "--url", f"http://ct1:{PASSWORD}@127.0.0.1:1/dicom-web"]) == 2
    err = capsys.readouterr().err
    assert "--profile" in err and PASSWORD not in err


@pytest.mark.parametrize("kind", ["upsrs", "upsrs+dcm4chee", "sup246"])
@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/dicom-web", "http://127.0.0.1:0/dicom-web", "http://:8080/x"])
def test_an_http_upstream_names_a_host_and_a_port_that_exists(tmp_path, kind, url):
    from app.gateway import open_upstream

    with pytest.raises(ValueError, match="a host, a port from 1 to 65535"):
        open_upstream(f"{kind}:{url}", str(tmp_path / "g.db"))
