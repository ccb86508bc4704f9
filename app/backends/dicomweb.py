"""What the DICOMweb backends share: one httpx client per profile (base URL, basic or bearer
credentials, TLS with the profile's CA file), every exchange shown to the protocol inspector,
and transport failures as typed errors. Each backend says what an HTTP refusal means."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from app.domain.dicomjson import JsonDataset
from app.domain.identifiers import CALLING_AE_HEADER, probe_uid

from .errors import BackendError, NotPermitted, Refused, ServerFault, TimedOut, Unreachable
from .profiles import Profile
from .protocol import Exchange, Observer

log = logging.getLogger(__name__)

DICOM_JSON = "application/dicom+json"
KEEP_ALIVE_SECONDS = 2.0  # under every common server's keep-alive (uvicorn's and ours 5 s, nginx 75 s)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _untrusted(exc: BaseException) -> bool:
    """Did the TLS handshake fail because the server's certificate is not trusted here?"""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def refusal_detail(response: httpx.Response) -> str:
    """What the log keeps of a refusal: the status, the request, and the server's reason."""
    reason = warning_text(response)
    return (
        f"HTTP {response.status_code} {response.request.method} {response.request.url}: {reason or response.text[:200]}"
    )


def user_of(profile: Profile) -> str:
    """Who the profile's credentials name, in words."""
    if profile.auth == "basic" and profile.username:
        return f"the user {profile.username}"
    if profile.auth == "bearer":
        return "this profile's token"
    return "this station (no user given)"


def not_permitted(profile: Profile, host: str, reason: str, detail: str, status: int = 403) -> NotPermitted:
    """A 403: a configuration error, said with what to change in Settings."""
    ae = profile.ae_title
    return NotPermitted(
        f"The worklist server at {host} does not let {user_of(profile)} act as the AE title {ae} "
        f"(HTTP {status}: {reason.rstrip('.') or 'no reason given'}). In Settings, give this profile the user "
        f"or token bound to {ae}, or the AE title its user is bound to.",
        detail,
        status,
        reason,
    )


def permission_check(profile: Profile, host: str, exc: NotPermitted) -> str:
    """What Test connection says of a 403: who may not act as which AE title, and why."""
    who = user_of(profile)
    return (
        f"{who[0].upper()}{who[1:]} may not act as the AE title {profile.ae_title} at {host} "
        f"(HTTP {exc.status}: {exc.reason.rstrip('.') or 'no reason given'}). In Settings, give this profile "
        f"the user or token bound to {profile.ae_title}, or the AE title its user is bound to."
    )


def refusal_of_any_service(
    response: httpx.Response, host: str, detail: str, profile: Profile | None = None
) -> BackendError | None:
    """The refusals every DICOMweb service says alike: a server fault, and who we are."""
    status, reason = response.status_code, warning_text(response)
    if status == 501:  # not a fault that passes: this server does not do it (a gateway to another protocol)
        return Refused(
            f"The server at {host} does not offer this (HTTP 501): {reason or 'choose the protocol it speaks'}.",
            detail,
            status,
            reason,
        )
    if status >= 500:
        return ServerFault(f"The worklist server at {host} had an internal error (HTTP {status}).", detail)
    if status == 401:
        return Refused(
            f"The worklist server at {host} did not accept our credentials (HTTP 401): enter the user and "
            "password, or the token, that its administrator gave this station, in Settings.",
            detail,
            status,
            reason,
        )
    if status == 403 and "filter" not in reason.lower():
        if profile is not None:
            return not_permitted(profile, host, reason, detail)
        return NotPermitted(
            f"The worklist server at {host} does not allow this (HTTP 403): {reason or 'ask its administrator'}.",
            detail,
            status,
            reason,
        )
    return None


def warning_text(response: httpx.Response) -> str:
    """The texts of the answer's Warning headers (`299 host: "text"`), joined."""
    texts = []
    for value in response.headers.get_list("warning"):
        head, _, text = value.partition(": ")
        texts.append((text or head).strip().strip('"'))
    return " ".join(texts)


def tls_context(profile: Profile) -> ssl.SSLContext | bool:
    if not profile.verify_tls:
        return False
    context = ssl.create_default_context()
    if profile.ca_file:
        context.load_verify_locations(profile.ca_file)
    return context


def client_tls(profile: Profile) -> ssl.SSLContext | bool:
    """What the client verifies https with. The trust store (the system's, and the profile's CA file) is
    loaded for any base but an http:// one: loading it is 50-180 ms of a cold `echo` or `find`, and every
    request goes to a path under the base. An http:// base gets a context that verifies and trusts no
    CA, so that an https URL asked for by mistake is refused as untrusted, never sent unverified."""
    if urlsplit(profile.url.strip()).scheme.lower() != "http" or not profile.verify_tls:
        return tls_context(profile)
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, with no CA


class DicomWebClient:
    """The HTTP side of a DICOMweb backend, for one profile's base URL."""

    def __init__(
        self,
        profile: Profile,
        observer: Observer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        calling_ae: bool = False,
    ) -> None:
        self.profile = profile
        self.observer = observer
        self.base = profile.url.rstrip("/")
        self.host = urlsplit(self.base).netloc or self.base
        auth: httpx.Auth | None = None
        headers = {"Accept": DICOM_JSON}
        if calling_ae and profile.ae_title:
            # who we are, on every request: a server that binds users to AE titles refuses a
            # mismatch instead of recording our claims as another station's
            headers[CALLING_AE_HEADER] = profile.ae_title
        if profile.auth == "basic":
            auth = httpx.BasicAuth(profile.username, profile.password)
        elif profile.auth == "bearer":
            headers["Authorization"] = f"Bearer {profile.token}"
        verify = client_tls(profile)  # a missing CA file is said now, not at the first request

        def make_client() -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=self.base,
                auth=auth,
                headers=headers,
                timeout=profile.timeout,
                verify=verify,
                transport=transport,
                event_hooks={"request": [self._on_request], "response": [self._on_response]},
                # An idle connection is dropped before a server's keep-alive (ours: 5 s) can end it, so a
                # request is never sent on a connection the server is closing at that moment.
                limits=httpx.Limits(keepalive_expiry=KEEP_ALIVE_SECONDS),
            )

        self._make_client = make_client
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """Made on first use: its transport imports httpcore (about a third of a second cold), which
        a console's window need not wait for before it is painted."""
        if self._client is None:
            self._client = self._make_client()
        return self._client

    # -- the protocol inspector --------------------------------------------------------------
    def observe(
        self,
        direction: str,
        summary: str,
        headers: httpx.Headers | None = None,
        body: bytes | str = b"",
        elapsed: float | None = None,
    ) -> None:
        if self.observer is None:
            return
        # pretty-printing waits until someone opens the message: the inspector must cost nothing
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        shown = tuple((k, "***" if k.lower() == "authorization" else v) for k, v in (headers or {}).items())
        try:
            self.observer(Exchange(datetime.now(), direction, summary, shown, text, elapsed))
        except Exception:
            log.exception("The protocol inspector failed on %s", summary)

    async def _on_request(self, request: httpx.Request) -> None:
        self.observe("→", f"{request.method} {request.url}", request.headers, request.content)

    async def _on_response(self, response: httpx.Response) -> None:
        await response.aread()
        elapsed = response.elapsed.total_seconds() * 1000 if hasattr(response, "_elapsed") else None
        self.observe(
            "←",
            f"{response.status_code} {response.reason_phrase} ({response.request.method} {response.request.url.path})",
            response.headers,
            response.content,
            elapsed,
        )

    # -- sending -----------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | dict[str, str] | None = None,
        body: list[JsonDataset] | None = None,
        query: str = "",
    ) -> httpx.Response:
        """Whatever the server answered; Unreachable (or TimedOut) when it answered nothing."""
        url = path + (f"?{query}" if query else "")
        content = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": DICOM_JSON} if content is not None else None
        # a tuple, not a list: httpx's list form is invariant in its value type
        pairs = tuple(params.items() if isinstance(params, dict) else params) if params is not None else None
        try:
            try:
                return await self.client.request(method, url, params=pairs, content=content, headers=headers)
            except httpx.RemoteProtocolError:
                # A kept-alive connection the server closed as the request went out (a proxy's shorter
                # keep-alive): a read is asked again once on a new connection; a write is left to the
                # outbox, which knows whether it may be repeated.
                if method not in SAFE_METHODS:
                    raise
                return await self.client.request(method, url, params=pairs, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise TimedOut(f"The worklist server at {self.host} did not answer in time.", repr(exc)) from None
        except httpx.HTTPError as exc:
            if _untrusted(exc):
                raise Unreachable(
                    f"The worklist server at {self.host} shows a certificate this station does not trust: "
                    "give the profile the CA file the server printed when it started (Settings, CA file).",
                    repr(exc),
                ) from None
            if self.base.startswith("http://") and isinstance(exc, httpx.RemoteProtocolError):
                raise Unreachable(
                    f"The worklist server at {self.host} closed the connection without answering: if it uses "
                    "HTTPS, the URL must start with https://.",
                    repr(exc),
                ) from None
            raise Unreachable(f"Cannot reach the worklist server at {self.host}.", repr(exc)) from None
        except (ssl.SSLError, OSError) as exc:
            raise Unreachable(f"Cannot open a secure connection to {self.host}: {exc}.", repr(exc)) from None

    async def expect(
        self,
        refusal: Callable[[httpx.Response], BackendError],
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | dict[str, str] | None = None,
        body: list[JsonDataset] | None = None,
        query: str = "",
        expect: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """The answer when its status is one of `expect`; else the BackendError `refusal` makes of it."""
        response = await self.request(method, path, params=params, body=body, query=query)
        if response.status_code in expect:
            return response
        raise refusal(response)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


# The DICOMweb worklist services a base URL may offer, by their resource under it.
UPS_RS = "UPS-RS"
MWL_SEARCH = "Supplement 246 worklist search"
MPPS = "MPPS over DICOMweb"
RESOURCES = {
    UPS_RS: "/workitems",
    MWL_SEARCH: "/modality-scheduled-procedure-steps",
    MPPS: "/modality-performed-procedure-steps",
}


async def offered_services(http: DicomWebClient) -> dict[str, bool]:
    """Which of UPS-RS, Sup 246 search and MPPS the server offers: from its capabilities (PS3.18
    8.9, OPTIONS on the base) when they name any of the resources, else by probing each one.
    Raises Unreachable when the server answers nothing."""
    options = await http.request("OPTIONS", "")
    if options.status_code == 200:
        text = options.text
        named = {service: path.strip("/") in text for service, path in RESOURCES.items()}
        if any(named.values()):
            return named
    return {service: await _probe(http, service, path) for service, path in RESOURCES.items()}


async def _probe(http: DicomWebClient, service: str, path: str) -> bool:
    if service == MPPS:
        # no Search on MPPS: Retrieve an MPPS nobody made; the service says so in a Warning, while a
        # server without the resource answers a bare 404, and 405 means the resource is there
        # without Retrieve (it is optional)
        response = await http.request("GET", f"{path}/{probe_uid()}")
        if response.status_code == 404:
            return bool(warning_text(response))
        return response.status_code in (200, 400, 405, 410)
    response = await http.request("GET", path, params={"limit": "1"})
    return response.status_code in (200, 204, 413)


def services_sentence(host: str, offered: dict[str, bool]) -> str:
    yes = [service for service, on in offered.items() if on]
    no = [service for service, on in offered.items() if not on]
    if not yes:
        return f"The server at {host} offers none of {', '.join(RESOURCES)}."
    said = f"The server at {host} offers {_and(yes)}"
    return said + (f"; not {_and(no, 'or')}." if no else ".")


def _and(words: list[str], conjunction: str = "and") -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {conjunction} {words[-1]}"
