"""The local token server: :class:`LocalProvider`.

A :class:`http.server.ThreadingHTTPServer` on 127.0.0.1 (a free port unless one is given),
served by a daemon thread, routing each path to the endpoint module of the provider it
emulates. Fault injection, request counting and the redacted request log live here; the
protocol logic lives in the ``_clms``, ``_dt``, ``_openaire``, ``_climate_engine``,
``_cdse``, ``_egi``, ``_generic``, ``_eumetsat`` and ``_maap`` modules.
"""

from __future__ import annotations

import datetime
import email.utils
import http
import logging
import secrets
import socket
import socketserver
import string
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from . import (
    _cdse,
    _climate_engine,
    _clms,
    _dt,
    _earthdata,
    _egi,
    _eumetsat,
    _generic,
    _maap,
    _openaire,
    _sentinel_hub,
    _usgs,
)
from ._http import (
    OAuthError,
    Request,
    Response,
    error_response,
    json_response,
    parse_query,
    redact_header,
    redact_pairs,
    redact_text,
)
from ._jose import new_rsa_key, pkcs1_pem, public_key_from_jwk, rsa_public_key_from_pem
from ._provider_logins import ProviderLogins
from ._state import (
    CDSE,
    CDSE_CERTS_PATH,
    CDSE_DEVICE_PATH,
    CDSE_DISCOVERY_PATH,
    CDSE_PUBLIC_CLIENT_ID,
    CDSE_REALM_PATH,
    CDSE_TOKEN_PATH,
    CDSE_VERIFICATION_PATH,
    CE_TOKEN_PATH,
    CLIMATE_ENGINE,
    CLMS,
    CLMS_TOKEN_PATH,
    DEVICE_APPROVE_PATH,
    DEVICE_DENY_PATH,
    DT,
    DT_TOKEN_PATH,
    EARTHDATA,
    EGI,
    EUMETSAT,
    GENERIC,
    GENERIC_DEVICE_PATH,
    GENERIC_METADATA_PATH,
    GENERIC_TOKEN_PATH,
    GENERIC_VERIFICATION_PATH,
    MAAP,
    OPENAIRE,
    OPENAIRE_REFRESH_PATH,
    OPENAIRE_TOKEN_PATH,
    PROFILES,
    REFRESH_TOKEN_LIFETIME,
    RESOURCE_PATH,
    SENTINEL_HUB,
    SH_TOKEN_PATH,
    USGS,
    Client,
    ClmsKey,
    DtAccount,
    State,
    canonical_profile,
)

__all__ = ["FAULT_KINDS", "PROFILES", "LocalProvider", "RecordedRequest"]

logger = logging.getLogger("m2mauth.testing")

FAULT_KINDS: tuple[str, ...] = ("429", "503", "slow", "html", "truncated_json", "reset")
MAX_FAULT_DELAY = 30.0  # seconds; every sleep of the server is bounded by this
MAX_BODY = 1 << 20
STOP_TIMEOUT = 5.0
LISTEN_BACKLOG = max(socket.SOMAXCONN, 1024)
_OPENAIRE_REFRESH_FLOWS = frozenset(
    {"refresh_token", "refresh", "personal", "personal_token", "personal_refresh", "get_refresh"}
)

Endpoint = Callable[[State, Request], Response]


@dataclass(frozen=True)
class RecordedRequest:
    """One request the provider received, with every secret redacted.

    ``headers`` keep their order; an ``Authorization`` value keeps only its scheme
    (``"Basic [REDACTED]"``). ``form`` is the body's form fields in order (empty when the
    body is not form data) and ``query`` the query string's; the values of ``assertion``,
    ``client_assertion``, ``client_secret``, ``password``, ``refresh_token``,
    ``refreshToken`` and ``device_code`` read ``[REDACTED]``.
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    content_type: str | None
    form: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...] = ()
    profile: str | None = None
    token_endpoint: bool = False
    status: int | None = None  # None: the connection was reset without an answer
    fault: str | None = None

    def header(self, name: str) -> str | None:
        """The first (redacted) value of header ``name``, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def field(self, name: str) -> str | None:
        """The first (redacted) value of form field ``name``."""
        for key, value in self.form:
            if key == name:
                return value
        return None


@dataclass
class _Fault:
    kind: str
    remaining: int
    status: int | None
    retry_after: str | None
    delay: float


@dataclass(frozen=True)
class _Route:
    profile: str | None
    methods: tuple[str, ...]
    endpoint: Endpoint
    token_endpoint: bool


def _invalid_token(description: str) -> OAuthError:
    return OAuthError(
        "invalid_token",
        description,
        status=401,
        headers=(("WWW-Authenticate", 'Bearer error="invalid_token"'),),
    )


def _resource(state: State, req: Request) -> Response:
    scheme, _, token = (req.header("Authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _invalid_token("Missing bearer token")
    record = state.access_token(token)
    if record is None:
        raise _invalid_token("Unknown access token")
    if record.expires_at <= state.now():
        raise _invalid_token("The access token expired")
    return json_response(200, {"ok": True, "profile": record.profile, "subject": record.subject}, no_store=False)


_ROUTES: dict[str, _Route] = {
    CLMS_TOKEN_PATH: _Route(CLMS, ("POST",), _clms.token_endpoint, True),
    DT_TOKEN_PATH: _Route(DT, ("POST",), _dt.token_endpoint, True),
    OPENAIRE_TOKEN_PATH: _Route(OPENAIRE, ("POST",), _openaire.token_endpoint, True),
    OPENAIRE_REFRESH_PATH: _Route(OPENAIRE, ("GET",), _openaire.refresh_endpoint, True),
    CE_TOKEN_PATH: _Route(CLIMATE_ENGINE, ("POST",), _climate_engine.token_endpoint, True),
    CDSE_TOKEN_PATH: _Route(CDSE, ("POST",), _cdse.token_endpoint, True),
    CDSE_DISCOVERY_PATH: _Route(CDSE, ("GET",), _cdse.discovery, False),
    CDSE_CERTS_PATH: _Route(CDSE, ("GET",), _cdse.certs, False),
    CDSE_DEVICE_PATH: _Route(CDSE, ("POST",), _cdse.device_authorization, False),
    CDSE_VERIFICATION_PATH: _Route(CDSE, ("GET",), _cdse.verification_page, False),
    DEVICE_APPROVE_PATH: _Route(CDSE, ("POST",), _cdse.approve, False),
    DEVICE_DENY_PATH: _Route(CDSE, ("POST",), _cdse.deny, False),
    GENERIC_TOKEN_PATH: _Route(GENERIC, ("POST",), _generic.token_endpoint, True),
    SH_TOKEN_PATH: _Route(SENTINEL_HUB, ("POST",), _sentinel_hub.token_endpoint, True),
    GENERIC_METADATA_PATH: _Route(GENERIC, ("GET",), _generic.metadata, False),
    GENERIC_DEVICE_PATH: _Route(GENERIC, ("POST",), _generic.device_authorization, False),
    GENERIC_VERIFICATION_PATH: _Route(GENERIC, ("GET",), _cdse.verification_page, False),
    RESOURCE_PATH: _Route(None, ("GET", "POST"), _resource, False),
    _usgs.USGS_LOGIN_TOKEN_PATH: _Route(USGS, ("POST",), _usgs.login_token, True),
    _usgs.USGS_LOGIN_PATH: _Route(USGS, ("POST",), _usgs.retired_login, False),
    _usgs.USGS_LOGOUT_PATH: _Route(USGS, ("POST",), _usgs.logout, False),
    _usgs.USGS_API_PATH: _Route(USGS, ("GET", "POST"), _usgs.api_call, False),
    _earthdata.FIND_OR_CREATE_PATH: _Route(EARTHDATA, ("POST",), _earthdata.find_or_create, True),
    _earthdata.CREATE_PATH: _Route(EARTHDATA, ("POST",), _earthdata.create, True),
    _earthdata.LIST_PATH: _Route(EARTHDATA, ("GET",), _earthdata.list_tokens, False),
    _earthdata.REVOKE_PATH: _Route(EARTHDATA, ("POST",), _earthdata.revoke, False),
    _eumetsat.EUMETSAT_TOKEN_PATH: _Route(EUMETSAT, ("POST",), _eumetsat.token_endpoint, True),
    _maap.MAAP_TOKEN_PATH: _Route(MAAP, ("POST",), _maap.token_endpoint, True),
    _egi.EGI_TOKEN_PATH: _Route(EGI, ("POST",), _egi.token_endpoint, True),
    _egi.EGI_DISCOVERY_PATH: _Route(EGI, ("GET",), _egi.discovery, False),
    _egi.EGI_CERTS_PATH: _Route(EGI, ("GET",), _egi.certs, False),
    _egi.EGI_DEVICE_PATH: _Route(EGI, ("POST",), _egi.device_authorization, False),
    _egi.EGI_VERIFICATION_PATH: _Route(EGI, ("GET",), _cdse.verification_page, False),
}

_HTML_PAGE = """<html>
<head><title>{status} {phrase}</title></head>
<body>
<center><h1>{status} {phrase}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


def _fault_response(fault: _Fault) -> Response:
    """The canned answer of a fault (everything but ``slow``)."""
    if fault.kind == "reset":
        return Response(status=0, reset=True)
    if fault.kind == "html":
        status = fault.status or 502
        page = _HTML_PAGE.format(status=status, phrase=_phrase(status))
        return Response(status, page.encode("ascii"), "text/html")
    if fault.kind == "truncated_json":
        body = ('{"access_token": "' + secrets.token_urlsafe(12)).encode("ascii")
        return Response(fault.status or 200, body, "application/json")
    headers: tuple[tuple[str, str], ...] = ()
    if fault.kind == "429":
        retry_after = fault.retry_after if fault.retry_after is not None else "1"
        headers = (("Retry-After", retry_after),)
        payload = {
            "error": "too_many_requests",
            "error_description": f"Rate limit exceeded; retry after {retry_after}",
        }
        return json_response(fault.status or 429, payload, headers=headers)
    if fault.retry_after is not None:
        headers = (("Retry-After", fault.retry_after),)
    payload = {
        "error": "temporarily_unavailable",
        "error_description": "The service is temporarily unavailable",
    }
    return json_response(fault.status or 503, payload, headers=headers)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a client that never hangs up must not keep the process alive
    # socketserver's default listen backlog is 5: with more clients connecting at once the
    # kernel's SYN queue overflows into SYN cookies, whose connections are then dropped and
    # reset when the accept queue is full (ConnectionResetError under load). Users test their
    # concurrent pipelines against this server, so take what the kernel allows (it caps the
    # value at net.core.somaxconn).
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], provider: LocalProvider) -> None:
        self.provider = provider
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() resolves the host name (getfqdn), which can stall for
        # seconds on machines with a broken resolver; 127.0.0.1 needs no lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = int(self.server_address[1])

    def track(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(sock)

    def untrack(self, sock: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(sock)

    def close_connections(self) -> None:
        """End idle keep-alive connections so their threads finish promptly."""
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        logger.debug(
            "connection from %s ended with %s: %s",
            client_address,
            type(exc).__name__,
            redact_text(str(exc)),
        )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "m2mauth-testing/1"
    sys_version = ""
    timeout = 30  # seconds an idle keep-alive connection is kept
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def _provider(self) -> LocalProvider:
        return cast(_Server, self.server).provider

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_Server, self.server).untrack(self.connection)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def version_string(self) -> str:
        return self.server_version

    def date_time_string(self, timestamp: float | None = None) -> str:
        when = timestamp if timestamp is not None else self._provider().now()
        return email.utils.formatdate(when, usegmt=True)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the provider logs each request itself, redacted

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s", redact_text(format % args))

    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` after answering 400/413 for a bad one."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        try:
            length = int(raw_length) if raw_length is not None else 0
        except ValueError:
            length = -1
        if length < 0:
            self._send_plain(400, "Bad Content-Length")
            return None
        if length > MAX_BODY:
            self._send_plain(413, "Request body too large")
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._send_plain(400, "Bad chunked encoding")
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self._send_plain(413, "Request body too large")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send_plain(self, status: int, message: str) -> None:
        self.close_connection = True
        self._write(Response(status, message.encode("ascii"), "text/plain"))

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            return
        split = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=split.path,
            query=parse_query(split.query),
            headers=tuple(self.headers.items()),
            body=body,
        )
        response = self._provider()._handle(req)
        if response.reset:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.close_connection = True
            return
        self._write(response)

    def _write(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class LocalProvider(ProviderLogins):
    """A real HTTP token server on 127.0.0.1 emulating the token endpoints m2mauth knows.

    Use it as a context manager::

        with LocalProvider() as provider:
            key = provider.make_clms_service_key()
            ...  # point the client at key["token_uri"], call provider.resource_url

    ``token_lifetime`` is the ``expires_in`` of the tokens it issues (Disruptive
    Technologies answers one second less, as the real service does); ``clock`` is its
    notion of "now" (token expiry, JWT time checks, device flow, the ``Date`` header), so a
    test can advance a fake clock instead of sleeping; ``basic_encoding`` says how
    ``client_secret_basic`` credentials are decoded: ``"rfc"`` (form-decode id and secret,
    RFC 6749 §2.3.1) or ``"raw"`` (as sent by requests, httpx and Authlib). ``port`` 0 picks
    a free port. ``device_interval`` and ``device_code_lifetime`` are the RFC 8628 polling
    interval and device code lifetime, in seconds. ``refresh_token_lifetime`` is how long a
    refresh token lasts (``refresh_expires_in`` of CDSE's answers). ``refresh_reuse_interval``
    is how many seconds a rotated (spent) refresh token still works: 0, the default, is strict
    like OpenAIRE's documentation (refused at once); a positive value is the grace period of
    Okta, Auth0's reuse interval or Keycloak's refresh token reuse, during which the spent
    token answers with the newest refresh token of its chain (without rotating it again).
    ``advertise_device_endpoint=False`` leaves ``device_authorization_endpoint`` out of the
    generic server's RFC 8414 metadata (the endpoint itself still works), as servers that
    offer the device grant without advertising it do. ``offline_token_rotation=True`` makes
    ``esa-maap`` refuse an offline token once it was used ("Stale token"), as a Keycloak realm with
    "Revoke Refresh Token" does; by default the old one keeps working, Keycloak's default.
    ``cdse_session_cap`` is how many active
    sessions a CDSE user may have (100, as documented) before the password grant answers 429;
    ``cdse_session_idle`` is how long a CDSE session and each refresh token live after their
    last use (3600 s: ``refresh_expires_in``).
    """

    def __init__(
        self,
        *,
        token_lifetime: int = 3600,
        clock: Callable[[], float] = time.time,
        basic_encoding: str = "rfc",
        port: int = 0,
        device_interval: int = 5,
        device_code_lifetime: int = 600,
        refresh_token_lifetime: int = REFRESH_TOKEN_LIFETIME,
        refresh_reuse_interval: float = 0.0,
        advertise_device_endpoint: bool = True,
        usgs_key_lifetime: int = _usgs.KEY_LIFETIME,
        earthdata_token_lifetime: int = _earthdata.TOKEN_LIFETIME,
        offline_token_rotation: bool = False,
        cdse_session_cap: int = 100,
        cdse_session_idle: int = 3600,
    ) -> None:
        if usgs_key_lifetime < 1 or earthdata_token_lifetime < 1:
            raise ValueError("usgs_key_lifetime and earthdata_token_lifetime must be at least 1 second")
        if cdse_session_cap < 1 or cdse_session_idle < 1:
            raise ValueError("cdse_session_cap and cdse_session_idle must be at least 1")
        if basic_encoding not in ("rfc", "raw"):
            raise ValueError("basic_encoding must be 'rfc' or 'raw'")
        if token_lifetime < 1:
            raise ValueError("token_lifetime must be at least 1 second")
        if device_interval < 0 or device_code_lifetime < 1:
            raise ValueError("device_interval must be >= 0 and device_code_lifetime >= 1")
        if not 0 <= port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        if refresh_token_lifetime < 1 or refresh_reuse_interval < 0:
            raise ValueError("refresh_token_lifetime must be >= 1 and refresh_reuse_interval >= 0")
        self._state = State(
            token_lifetime=token_lifetime,
            clock=clock,
            basic_encoding=basic_encoding,
            device_interval=device_interval,
            device_code_lifetime=device_code_lifetime,
            refresh_token_lifetime=refresh_token_lifetime,
            refresh_reuse_interval=refresh_reuse_interval,
            advertise_device_endpoint=advertise_device_endpoint,
            cdse_session_cap=cdse_session_cap,
            cdse_session_idle=cdse_session_idle,
        )
        self._port = port
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopping = threading.Event()
        self._faults: list[_Fault] = []
        self._counts: dict[str, int] = dict.fromkeys(PROFILES, 0)
        self._log: list[RecordedRequest] = []
        self._state.add_client(Client(CDSE, CDSE_PUBLIC_CLIENT_ID, None, None, None))
        _usgs.usgs_state(self._state).key_lifetime = usgs_key_lifetime
        _earthdata.earthdata_state(self._state).token_lifetime = earthdata_token_lifetime
        _maap.realm(self._state).rotate = offline_token_rotation

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> LocalProvider:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bind 127.0.0.1 and serve from a daemon thread. A provider starts only once."""
        with self._lock:
            if self._started:
                raise RuntimeError("this LocalProvider was already started")
            self._started = True
            server = _Server(("127.0.0.1", self._port), self)
            port = int(server.server_address[1])
            self._state.base_url = f"http://127.0.0.1:{port}"
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"m2mauth-testing-{port}",
                daemon=True,
            )
            self._server, self._thread = server, thread
        thread.start()
        logger.debug("LocalProvider serving on %s", self._state.base_url)

    def stop(self) -> None:
        """Stop serving: shut the server down, close it and join its thread (bounded)."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        self._stopping.set()  # wakes "slow" faults at once
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=STOP_TIMEOUT)
        logger.debug("LocalProvider on %s stopped", self._state.base_url)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __repr__(self) -> str:
        where = self._state.base_url or "not started"
        return f"LocalProvider({where}, running={self.running})"

    # -- addresses ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self._state.url("")

    @property
    def resource_url(self) -> str:
        """The protected resource: ``GET`` it with ``Authorization: Bearer <token>``."""
        return self._state.url(RESOURCE_PATH)

    def token_url(self, profile: str, flow: str | None = None) -> str:
        """The token endpoint a ``profile``'s ``flow`` posts (or, for OpenAIRE's personal
        refresh token, sends its GET) to. Flows other than OpenAIRE's refresh flow all use
        the profile's one token endpoint."""
        name = canonical_profile(profile)
        if name == OPENAIRE and flow is not None and flow.lower() in _OPENAIRE_REFRESH_FLOWS:
            return self._state.url(OPENAIRE_REFRESH_PATH)
        paths = {
            CLMS: CLMS_TOKEN_PATH,
            DT: DT_TOKEN_PATH,
            OPENAIRE: OPENAIRE_TOKEN_PATH,
            CLIMATE_ENGINE: CE_TOKEN_PATH,
            CDSE: CDSE_TOKEN_PATH,
            GENERIC: GENERIC_TOKEN_PATH,
            USGS: _usgs.USGS_LOGIN_TOKEN_PATH,
            EARTHDATA: _earthdata.FIND_OR_CREATE_PATH,
            EUMETSAT: _eumetsat.EUMETSAT_TOKEN_PATH,
            MAAP: _maap.MAAP_TOKEN_PATH,
            SENTINEL_HUB: SH_TOKEN_PATH,
            EGI: _egi.EGI_TOKEN_PATH,
        }
        return self._state.url(paths[name])

    def issuer_url(self, profile: str = CDSE) -> str:
        """The issuer for discovery-based clients: CDSE's or EGI Check-in's Keycloak realm (OpenID
        discovery), or the generic server's base URL (RFC 8414 metadata only)."""
        name = self._device_profile(profile)
        if name == GENERIC:
            return self.base_url
        return self._state.url(_egi.EGI_REALM_PATH if name == EGI else CDSE_REALM_PATH)

    def discovery_url(self, profile: str = CDSE) -> str:
        """CDSE: ``<issuer>/.well-known/openid-configuration``; generic:
        ``<issuer>/.well-known/oauth-authorization-server`` (RFC 8414)."""
        name = self._device_profile(profile)
        if name == GENERIC:
            return self._state.url(GENERIC_METADATA_PATH)
        return self._state.url(_egi.EGI_DISCOVERY_PATH if name == EGI else CDSE_DISCOVERY_PATH)

    def device_authorization_url(self, profile: str = CDSE) -> str:
        """The RFC 8628 device authorization endpoint of ``cdse-openeo``, ``egi-checkin`` or ``generic``."""
        name = self._device_profile(profile)
        if name == GENERIC:
            return self._state.url(GENERIC_DEVICE_PATH)
        return self._state.url(_egi.EGI_DEVICE_PATH if name == EGI else CDSE_DEVICE_PATH)

    @staticmethod
    def _device_profile(profile: str) -> str:
        name = canonical_profile(profile)
        if name not in (CDSE, GENERIC, EGI):
            raise ValueError("only the 'cdse-openeo', 'egi-checkin' and 'generic' profiles have this endpoint")
        return name

    def now(self) -> float:
        """The provider's clock."""
        return self._state.now()

    # -- credentials ----------------------------------------------------------------------

    def make_clms_service_key(self) -> dict[str, str]:
        """A fresh CLMS service key (RSA 2048, PKCS#1 PEM), registered and returned.

        Its ``token_uri`` is this server's CLMS token URL, so the provider must be running.
        """
        token_uri = self.token_url(CLMS)
        key: rsa.RSAPrivateKey = new_rsa_key()
        issued = datetime.datetime.fromtimestamp(self.now(), tz=datetime.timezone.utc)
        service_key = {
            "client_id": secrets.token_hex(16),
            "user_id": "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8)),
            "token_uri": token_uri,
            "key_id": secrets.token_hex(16),
            "title": "m2mauth LocalProvider TEST service key (not a real credential)",
            "issued": issued.strftime("%Y-%m-%dT%H:%M:%S"),
            "private_key": pkcs1_pem(key),
        }
        self.add_clms_service_key(service_key)
        return service_key

    def add_clms_service_key(self, service_key: Mapping[str, Any]) -> None:
        """Trust an existing CLMS service key (``aud`` must then be *its* ``token_uri``)."""
        fields = ("client_id", "user_id", "token_uri", "private_key")
        missing = [f for f in fields if not isinstance(service_key.get(f), str)]
        if missing:
            raise ValueError(f"service key lacks string field(s): {', '.join(missing)}")
        public_key = rsa_public_key_from_pem(str(service_key["private_key"]))
        self._state.add_clms_key(
            ClmsKey(
                client_id=str(service_key["client_id"]),
                user_id=str(service_key["user_id"]),
                token_uri=str(service_key["token_uri"]),
                public_key=public_key,
            )
        )

    def add_dt_service_account(self, key_id: str, secret: str, email: str) -> None:
        """Register a Disruptive Technologies service account key (``kid``, HS256 secret)."""
        if not key_id or not secret or not email:
            raise ValueError("key_id, secret and email must all be non-empty")
        self._state.add_dt_account(DtAccount(key_id=key_id, secret=secret, email=email))

    def add_client(
        self,
        profile: str,
        client_id: str,
        client_secret: str | None = None,
        public_jwk: Mapping[str, Any] | None = None,
    ) -> None:
        """Register an OAuth client of ``openaire``, ``climate-engine``, ``cdse-openeo``,
        ``egi-checkin``, ``generic``, ``esa-maap`` or ``eumetsat`` (an API key: consumer key and secret): a secret
        (basic, post, client_secret_jwt), a public JWK (private_key_jwt), both, or neither (a
        public client; cdse-openeo and generic)."""
        name = canonical_profile(profile)
        if name in (CLMS, DT):
            raise ValueError("use add_clms_service_key() or add_dt_service_account() for this profile")
        if not client_id:
            raise ValueError("client_id must be non-empty")
        public_key = None
        kid: str | None = None
        if public_jwk is not None:
            public_key = public_key_from_jwk(public_jwk)
            raw_kid = public_jwk.get("kid")
            kid = raw_kid if isinstance(raw_kid, str) else None
        if name == OPENAIRE and public_key is not None:
            if not isinstance(public_key, rsa.RSAPublicKey) or kid is None:
                raise ValueError("OpenAIRE needs an RSA public JWK with a 'kid'")
        if name in (OPENAIRE, CLIMATE_ENGINE) and client_secret is None and public_key is None:
            raise ValueError(f"a {name} client needs client_secret or public_jwk")
        self._state.add_client(Client(name, client_id, client_secret, public_key, kid))

    def add_user(self, profile: str, username: str, password: str, *, totp_secret: str | None = None) -> None:
        """Register a user for the password grant (``climate-engine``, ``generic`` or ``cdse``).
        ``totp_secret`` (``cdse`` only): the account has two-factor authentication with this base32
        seed; :func:`m2mauth.testing.totp_code` gives its codes."""
        name = canonical_profile(profile)
        if name not in (CLIMATE_ENGINE, GENERIC, CDSE):
            raise ValueError("users (password grant) exist for climate-engine, generic and cdse only")
        if not username:
            raise ValueError("username must be non-empty")
        if totp_secret is not None and name != CDSE:
            raise ValueError("totp_secret is for cdse accounts")
        if name == CDSE:
            self._state.cdse_accounts.add_user(username, password, totp_secret)
            return
        self._state.add_user(name, username, password)

    def cdse_sessions(self, username: str) -> dict[str, int]:
        """A CDSE user's sessions: ``active`` now, ``opened`` so far, password grants ``refused`` (429)."""
        accounts = self._state.cdse_accounts
        return {
            "active": accounts.active_sessions(username, self.now()),
            "opened": accounts.opened.get(username, 0),
            "refused": accounts.refused.get(username, 0),
        }

    def issue_refresh_token(self, profile: str, client_id: str | None = None) -> str:
        """A refresh token as the user would get it from the provider's web page.

        ``openaire``: a personal refresh token for the GET refresh endpoint;
        ``cdse-openeo``: bound to ``client_id`` (default ``cdse-public``);
        ``generic``: bound to ``client_id`` when given.
        """
        name = canonical_profile(profile)
        if name == OPENAIRE:
            return self._state.issue_refresh_token(OPENAIRE, "openaire-user", client_id)
        if name == CDSE:
            bound = client_id or CDSE_PUBLIC_CLIENT_ID
            if self._state.client(CDSE, bound) is None:
                raise ValueError(f"no cdse-openeo client {bound!r}: add_client() it first")
            return self._state.issue_refresh_token(CDSE, "cdse-user", bound)
        if name == GENERIC:
            if client_id is not None and self._state.client(GENERIC, client_id) is None:
                raise ValueError(f"no generic client {client_id!r}: add_client() it first")
            return self._state.issue_refresh_token(GENERIC, client_id or "generic-user", client_id)
        if name == EGI:  # as the Check-in Token Portal hands them out: bound to a client
            if client_id is None or self._state.client(EGI, client_id) is None:
                raise ValueError("an egi-checkin refresh token is bound to a client: add_client() it and name it")
            return self._state.issue_refresh_token(EGI, "egi-user@egi.eu", client_id)
        raise ValueError("refresh tokens exist for openaire, cdse-openeo, egi-checkin and generic only")

    def issue_offline_token(
        self, client_id: str, *, issued_at: float | None = None, lifetime: int | None = _maap.OFFLINE_TOKEN_LIFETIME
    ) -> str:
        """An ``esa-maap`` offline token (a Keycloak ``Offline`` JWT) for ``client_id``, as MAAP's portal
        hands it out: ``issued_at`` backdates it, ``lifetime`` (90 days) sets its ``exp`` (None: no exp)."""
        if self._state.client(MAAP, client_id) is None:
            raise ValueError(f"no esa-maap client {client_id!r}: add_client() it first")
        return _maap.issue_offline_token(self._state, client_id, issued_at=issued_at, lifetime=lifetime)

    def tokens_issued(self, profile: str) -> int:
        """How many distinct access tokens ``eumetsat`` minted (it hands back the current one until it expires)."""
        if canonical_profile(profile) != EUMETSAT:
            raise ValueError("tokens_issued() counts the eumetsat emulation's tokens only")
        return _eumetsat.tokens(self._state).issued

    def refresh_token_accepted(self, profile: str, refresh_token: str) -> bool:
        """Whether ``refresh_token`` would be accepted now (without spending it): live, or spent
        less than ``refresh_reuse_interval`` seconds ago."""
        return self._state.peek_refresh_token(canonical_profile(profile), refresh_token) is not None

    def refresh_token_reuses(self) -> dict[str, int]:
        """How often a spent (rotated) refresh token was presented again: ``accepted`` within the
        reuse interval, ``refused`` after it (always refused when the interval is 0)."""
        with self._state.lock:
            return dict(self._state.refresh_reuses)

    def approve_device(self, user_code: str) -> None:
        """Approve a pending device authorization (RFC 8628) as the user would.

        Raises :class:`LookupError` for an unknown, expired or already decided code.
        """
        self._state.decide_device(user_code, "approved")

    def deny_device(self, user_code: str) -> None:
        """Deny a pending device authorization; polling then yields ``access_denied``."""
        self._state.decide_device(user_code, "denied")

    # -- faults, counters, log ------------------------------------------------------------

    def set_fault(
        self,
        kind: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` token requests fail in the way ``kind`` says.

        ``"429"`` (with ``Retry-After``, default ``"1"``), ``"503"`` (``Retry-After`` only
        when given), ``"slow"`` (wait ``delay`` seconds, at most 30, then answer normally; the
        other kinds also wait ``delay`` seconds, when given, before their canned answer),
        ``"html"`` (a proxy's HTML error page, 502 by default), ``"truncated_json"`` (200
        with a cut JSON body) or ``"reset"`` (close the connection without an answer).
        ``status`` overrides the status code. Faults queue up in the order they are set;
        a faulted request (except ``slow``) changes no state.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of: {', '.join(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be at least 1")
        if status is not None and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status code")
        if not 0.0 <= delay <= MAX_FAULT_DELAY:
            raise ValueError(f"delay must be between 0 and {MAX_FAULT_DELAY} seconds")
        if kind == "slow" and delay <= 0:
            raise ValueError("a 'slow' fault needs delay > 0")
        with self._lock:
            self._faults.append(_Fault(kind, times, status, retry_after, delay))

    def clear_faults(self) -> None:
        """Forget the faults not yet used."""
        with self._lock:
            self._faults.clear()

    def token_requests(self, profile: str | None = None) -> int:
        """How many requests reached ``profile``'s token endpoint(s) (all profiles: None)."""
        with self._lock:
            if profile is None:
                return sum(self._counts.values())
            return self._counts[canonical_profile(profile)]

    @property
    def requests_log(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first, secrets redacted (a copy)."""
        with self._lock:
            return list(self._log)

    # -- request handling (called from the server's threads) ------------------------------

    def _handle(self, req: Request) -> Response:
        """Answer one parsed request (called by the HTTP handler's threads)."""
        route = _ROUTES.get(req.path)
        fault: _Fault | None = None
        if route is not None and route.token_endpoint and route.profile is not None:
            with self._lock:
                self._counts[route.profile] += 1
                if self._faults:
                    fault = self._faults[0]
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.pop(0)
        try:
            response = self._respond(route, req, fault)
        except Exception as exc:  # noqa: BLE001 - a bug in an endpoint must not kill the server
            logger.warning("internal error on %s %s: %s", req.method, req.path, type(exc).__name__)
            logger.debug("%s", redact_text(traceback.format_exc()))
            response = json_response(500, {"error": "server_error"})
        self._record(req, route, fault, response)
        return response

    def _respond(self, route: _Route | None, req: Request, fault: _Fault | None) -> Response:
        if route is None:
            return json_response(404, {"error": "not_found", "error_description": "No endpoint here"}, no_store=False)
        if fault is not None:
            if fault.delay > 0:
                self._stopping.wait(min(fault.delay, MAX_FAULT_DELAY))
            if fault.kind != "slow":
                return _fault_response(fault)
        if req.method not in route.methods:
            return json_response(
                405,
                {
                    "error": "invalid_request",
                    "error_description": f"Use {' or '.join(route.methods)} here",
                },
                headers=(("Allow", ", ".join(route.methods)),),
            )
        try:
            return route.endpoint(self._state, req)
        except OAuthError as err:
            return error_response(err)

    def _record(self, req: Request, route: _Route | None, fault: _Fault | None, response: Response) -> None:
        pairs = req.form_pairs() if req.method != "GET" else None
        record = RecordedRequest(
            method=req.method,
            path=req.path,
            headers=tuple((name, redact_header(name, value)) for name, value in req.headers),
            content_type=req.header("Content-Type"),
            form=redact_pairs(pairs or ()),
            query=redact_pairs(req.query),
            profile=route.profile if route else None,
            token_endpoint=bool(route and route.token_endpoint),
            status=None if response.reset else response.status,
            fault=fault.kind if fault else None,
        )
        with self._lock:
            self._log.append(record)
        logger.debug(
            "%s %s -> %s%s",
            req.method,
            req.path,
            "reset" if response.reset else response.status,
            f" (fault {fault.kind})" if fault else "",
        )
