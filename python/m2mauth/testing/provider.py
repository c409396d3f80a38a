"""The local token server: :class:`LocalProvider`.

A :class:`http.server.ThreadingHTTPServer` on 127.0.0.1 (a free port unless one is given),
served by a daemon thread, routing each path to the endpoint module of the provider it
emulates. Fault injection, request counting and the redacted request log are kept here; the
HTTP server and handler live in ``_server``, the routes table in ``_routes``, the faults' answers
in ``_faults``, the request record in ``_request_record``, and the protocol logic in the
``_clms``, ``_dt``, ``_openaire``, ``_climate_engine``, ``_cdse``, ``_egi``, ``_generic``,
``_eumetsat`` and ``_maap`` modules.
"""

from __future__ import annotations

import datetime
import logging
import secrets
import string
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from . import _earthdata, _egi, _eumetsat, _maap, _usgs
from ._faults import FAULT_KINDS, MAX_FAULT_DELAY, Fault, fault_response
from ._http import OAuthError, Request, Response, error_response, json_response, redact_text
from ._jose import new_rsa_key, pkcs1_pem, public_key_from_jwk, rsa_public_key_from_pem
from ._provider_logins import ProviderLogins
from ._request_record import RecordedRequest, record_of
from ._routes import ROUTES, Route
from ._server import TokenRequestHandler as _Handler  # noqa: F401 - tests/benchmarks patch provider._Handler
from ._server import TokenServer
from ._state import (
    CDSE,
    CDSE_DEVICE_PATH,
    CDSE_DISCOVERY_PATH,
    CDSE_PUBLIC_CLIENT_ID,
    CDSE_REALM_PATH,
    CDSE_TOKEN_PATH,
    CE_TOKEN_PATH,
    CLIMATE_ENGINE,
    CLMS,
    CLMS_TOKEN_PATH,
    DT,
    DT_TOKEN_PATH,
    EARTHDATA,
    EGI,
    EUMETSAT,
    GENERIC,
    GENERIC_DEVICE_PATH,
    GENERIC_METADATA_PATH,
    GENERIC_TOKEN_PATH,
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

STOP_TIMEOUT = 5.0
_OPENAIRE_REFRESH_FLOWS = frozenset(
    {"refresh_token", "refresh", "personal", "personal_token", "personal_refresh", "get_refresh"}
)


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
        self._server: TokenServer | None = None
        self._thread: threading.Thread | None = None
        self._started = False
        self._stopping = threading.Event()
        self._faults: list[Fault] = []
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
            server = TokenServer(("127.0.0.1", self._port), self._handle, self.now)
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
            self._faults.append(Fault(kind, times, status, retry_after, delay))

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
        route = ROUTES.get(req.path)
        fault: Fault | None = None
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

    def _respond(self, route: Route | None, req: Request, fault: Fault | None) -> Response:
        if route is None:
            return json_response(404, {"error": "not_found", "error_description": "No endpoint here"}, no_store=False)
        if fault is not None:
            if fault.delay > 0:
                self._stopping.wait(min(fault.delay, MAX_FAULT_DELAY))
            if fault.kind != "slow":
                return fault_response(fault)
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

    def _record(self, req: Request, route: Route | None, fault: Fault | None, response: Response) -> None:
        record = record_of(req, route, fault, response)
        with self._lock:
            self._log.append(record)
        logger.debug(
            "%s %s -> %s%s",
            req.method,
            req.path,
            "reset" if response.reset else response.status,
            f" (fault {fault.kind})" if fault else "",
        )
