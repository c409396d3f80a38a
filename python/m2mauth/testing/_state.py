"""Everything the local provider remembers, behind one lock.

Registered credentials (CLMS service keys, Disruptive Technologies service accounts, OAuth
clients, users), issued access and refresh tokens with their expiry by the injected clock,
client-assertion ``jti`` values already seen, and pending device authorizations.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric import rsa

from ._cdse_accounts import CdseAccounts
from ._jose import PublicKey, new_rsa_key

CLMS = "clms"
DT = "disruptive-technologies"
OPENAIRE = "openaire"
CLIMATE_ENGINE = "climate-engine"
CDSE = "cdse-openeo"
GENERIC = "generic"
USGS = "usgs-m2m"
EARTHDATA = "earthdata"

EUMETSAT = "eumetsat"
MAAP = "esa-maap"
SENTINEL_HUB = "sentinel-hub"
EGI = "egi-checkin"

PROFILES: tuple[str, ...] = (
    CLMS, DT, OPENAIRE, CLIMATE_ENGINE, CDSE, GENERIC, EUMETSAT, MAAP, USGS, EARTHDATA, SENTINEL_HUB, EGI
)
_ALIASES = {
    "dt": DT,
    "disruptive": DT,
    "disruptive_technologies": DT,
    "climate_engine": CLIMATE_ENGINE,
    "climateengine": CLIMATE_ENGINE,
    "cdse": CDSE,
    "cdse_openeo": CDSE,
    "openeo": CDSE,
    "usgs": USGS,
    "usgs_m2m": USGS,
    "edl": EARTHDATA,
    "sentinelhub": SENTINEL_HUB,
    "sentinel_hub": SENTINEL_HUB,
    "egi": EGI,
    "egi_checkin": EGI,
}

# Paths mirror the real services.
CLMS_TOKEN_PATH = "/@@oauth2-token"
DT_TOKEN_PATH = "/oauth2/token"
OPENAIRE_TOKEN_PATH = "/oidc/token"
OPENAIRE_REFRESH_PATH = "/uoa-user-management/api/users/getAccessToken"
CE_TOKEN_PATH = "/api/v1/auth/jwt/token"
CDSE_REALM_PATH = "/auth/realms/CDSE"
CDSE_DISCOVERY_PATH = CDSE_REALM_PATH + "/.well-known/openid-configuration"
CDSE_TOKEN_PATH = CDSE_REALM_PATH + "/protocol/openid-connect/token"
CDSE_DEVICE_PATH = CDSE_REALM_PATH + "/protocol/openid-connect/auth/device"
CDSE_AUTH_PATH = CDSE_REALM_PATH + "/protocol/openid-connect/auth"
CDSE_CERTS_PATH = CDSE_REALM_PATH + "/protocol/openid-connect/certs"
CDSE_VERIFICATION_PATH = CDSE_REALM_PATH + "/device"
DEVICE_APPROVE_PATH = "/device/approve"
DEVICE_DENY_PATH = "/device/deny"
GENERIC_TOKEN_PATH = "/oauth/token"
GENERIC_DEVICE_PATH = "/oauth/device-authorization"
# RFC 8414 §3: the generic server publishes OAuth metadata only (no OpenID discovery), as
# django-oauth-toolkit and node-oauth2-server setups without OIDC do.
GENERIC_METADATA_PATH = "/.well-known/oauth-authorization-server"
GENERIC_VERIFICATION_PATH = "/oauth/device"
GENERIC_SCOPES = ("read", "write")
RESOURCE_PATH = "/api/resource"
# Sentinel Hub (commercial): Keycloak realm "main" on services.sentinel-hub.com.
SH_TOKEN_PATH = "/auth/realms/main/protocol/openid-connect/token"

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_BEARER_CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600  # OpenAIRE: "expires after 1 month"
CDSE_PUBLIC_CLIENT_ID = "cdse-public"
# RFC 8628 §6.1: a user code alphabet without vowels and look-alikes.
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"

_Memory = TypeVar("_Memory")


def canonical_profile(name: str) -> str:
    """The canonical profile name for ``name`` (a few spellings are accepted)."""
    key = name.strip().lower()
    if key in PROFILES:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(f"unknown profile {name!r}; expected one of: {', '.join(PROFILES)}")


def normalize_user_code(user_code: str) -> str:
    """RFC 8628 §6.1: compare user codes case-insensitively, ignoring punctuation."""
    return "".join(ch for ch in user_code.upper() if ch.isalnum())


@dataclass(frozen=True)
class ClmsKey:
    client_id: str
    user_id: str
    token_uri: str
    public_key: rsa.RSAPublicKey


@dataclass(frozen=True)
class DtAccount:
    key_id: str
    secret: str
    email: str


@dataclass(frozen=True)
class Client:
    profile: str
    client_id: str
    secret: str | None
    public_key: PublicKey | None
    kid: str | None

    @property
    def is_public(self) -> bool:
        return self.secret is None and self.public_key is None


@dataclass(frozen=True)
class IssuedToken:
    profile: str
    subject: str
    client_id: str | None
    expires_at: float


@dataclass(frozen=True)
class RefreshGrant:
    profile: str
    subject: str
    client_id: str | None
    expires_at: float


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    expires_at: float
    interval: int
    last_poll: float | None = None
    status: str = "pending"  # pending | approved | denied
    subject: str = "cdse-user"
    scope: str | None = None  # as requested at the device authorization endpoint


@dataclass
class _Registry:
    clms_keys: dict[str, ClmsKey] = field(default_factory=dict)
    dt_accounts: dict[str, DtAccount] = field(default_factory=dict)
    clients: dict[tuple[str, str], Client] = field(default_factory=dict)
    users: dict[tuple[str, str], str] = field(default_factory=dict)


class State:
    """The provider's memory. Every method is thread-safe."""

    def __init__(
        self,
        *,
        token_lifetime: int,
        clock: Callable[[], float],
        basic_encoding: str,
        device_interval: int,
        device_code_lifetime: int,
        refresh_token_lifetime: int = REFRESH_TOKEN_LIFETIME,
        refresh_reuse_interval: float = 0.0,
        advertise_device_endpoint: bool = True,
        cdse_session_cap: int = 100,
        cdse_session_idle: int = 3600,
    ) -> None:
        # CDSE user accounts: password grant with totp, sessions and their cap (_cdse_accounts.py).
        self.cdse_accounts = CdseAccounts(session_cap=cdse_session_cap, session_idle=cdse_session_idle)
        self.token_lifetime = token_lifetime
        self.advertise_device_endpoint = advertise_device_endpoint
        self.refresh_token_lifetime = refresh_token_lifetime
        self.refresh_reuse_interval = refresh_reuse_interval
        self.clock = clock
        self.basic_encoding = basic_encoding
        self.device_interval = device_interval
        self.device_code_lifetime = device_code_lifetime
        self.base_url = ""
        self.lock = threading.RLock()
        self._server_key: rsa.RSAPrivateKey | None = None
        self.server_kid = "m2mauth-testing-" + secrets.token_hex(4)
        self._reg = _Registry()
        self._tokens: dict[str, IssuedToken] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._rotated: dict[str, tuple[str, float]] = {}  # spent refresh token -> (its successor, when)
        self.refresh_reuses = {"accepted": 0, "refused": 0}
        self._jtis: dict[tuple[str, str, str], float] = {}
        self._devices: dict[str, DeviceGrant] = {}
        self._user_codes: dict[str, str] = {}
        self.emulations: dict[str, object] = {}  # per-provider memory kept by its own module (_eumetsat, _maap)

    @property
    def server_key(self) -> rsa.RSAPrivateKey:
        """The server's own RS256 signing key, made on first use."""
        with self.lock:
            if self._server_key is None:
                self._server_key = new_rsa_key()
            return self._server_key

    def emulation(self, profile: str, kind: type[_Memory]) -> _Memory:
        """The memory ``profile``'s own module keeps here: a ``kind()``, made on first use."""
        with self.lock:
            found = self.emulations.get(profile)
            if not isinstance(found, kind):
                found = self.emulations[profile] = kind()
            return found

    # -- time and addresses -------------------------------------------------------------

    def now(self) -> float:
        return float(self.clock())

    def url(self, path: str) -> str:
        if not self.base_url:
            raise RuntimeError("the LocalProvider is not running: use it as a context manager")
        return self.base_url + path

    # -- registration ---------------------------------------------------------------------

    def add_clms_key(self, key: ClmsKey) -> None:
        with self.lock:
            self._reg.clms_keys[key.client_id] = key

    def clms_key(self, client_id: str) -> ClmsKey | None:
        with self.lock:
            return self._reg.clms_keys.get(client_id)

    def add_dt_account(self, account: DtAccount) -> None:
        with self.lock:
            self._reg.dt_accounts[account.key_id] = account

    def dt_account(self, key_id: str) -> DtAccount | None:
        with self.lock:
            return self._reg.dt_accounts.get(key_id)

    def add_client(self, client: Client) -> None:
        with self.lock:
            self._reg.clients[(client.profile, client.client_id)] = client

    def client(self, profile: str, client_id: str) -> Client | None:
        with self.lock:
            return self._reg.clients.get((profile, client_id))

    def add_user(self, profile: str, username: str, password: str) -> None:
        with self.lock:
            self._reg.users[(profile, username)] = password

    def user_password(self, profile: str, username: str) -> str | None:
        with self.lock:
            return self._reg.users.get((profile, username))

    # -- access tokens --------------------------------------------------------------------

    def issue_access_token(
        self,
        profile: str,
        subject: str,
        client_id: str | None,
        *,
        expires_at: float,
        token: str | None = None,
    ) -> str:
        """Remember a new access token (random unless given) valid until ``expires_at``."""
        value = token if token is not None else secrets.token_urlsafe(32)
        with self.lock:
            self._tokens[value] = IssuedToken(profile, subject, client_id, expires_at)
        return value

    def access_token(self, token: str) -> IssuedToken | None:
        with self.lock:
            return self._tokens.get(token)

    # -- refresh tokens -------------------------------------------------------------------

    def issue_refresh_token(self, profile: str, subject: str, client_id: str | None) -> str:
        value = secrets.token_urlsafe(40)
        grant = RefreshGrant(profile, subject, client_id, self.now() + self.refresh_token_lifetime)
        with self.lock:
            self._refresh[value] = grant
        return value

    def _live_head(self, profile: str, token: str, now: float) -> tuple[str, RefreshGrant] | None:
        """The live refresh token ``token`` stands for: itself, or (a rotated one, within the reuse
        interval) the newest token of its chain. Call with the lock held."""
        grant = self._refresh.get(token)
        if grant is None:
            rotated = self._rotated.get(token)
            if rotated is None or now - rotated[1] >= self.refresh_reuse_interval:
                return None
            token = rotated[0]
            for _ in range(len(self._rotated) + 1):  # follow the chain to its newest token
                if token in self._refresh or token not in self._rotated:
                    break
                token = self._rotated[token][0]
            grant = self._refresh.get(token)
        if grant is None or grant.profile != profile or grant.expires_at <= now:
            return None
        return token, grant

    def rotate_refresh_token(self, profile: str, token: str) -> tuple[RefreshGrant, str] | None:
        """Spend a refresh token and return its grant and its successor (``None`` if not valid).

        Strict by default: a spent token is refused at once. With ``refresh_reuse_interval`` > 0
        a spent token still works for that many seconds after its rotation, and answers with the
        newest token of the same chain, which it does not rotate (the grace period of Okta, the
        reuse interval of Auth0): a client killed between the server's rotation and saving the
        answer can then still recover.
        """
        now = self.now()
        with self.lock:
            spent = token not in self._refresh and token in self._rotated
            head = self._live_head(profile, token, now)
            if spent:
                self.refresh_reuses["accepted" if head is not None else "refused"] += 1
            if head is None:
                return None
            if spent:
                return head[1], head[0]
            grant = self._refresh.pop(token)
            successor = secrets.token_urlsafe(40)
            self._refresh[successor] = RefreshGrant(
                grant.profile, grant.subject, grant.client_id, now + self.refresh_token_lifetime
            )
            self._rotated[token] = (successor, now)
            return grant, successor

    def take_refresh_token(self, profile: str, token: str) -> RefreshGrant | None:
        """Consume a refresh token (rotation: it is gone at once). ``None`` if not valid."""
        with self.lock:
            grant = self._refresh.get(token)
            if grant is None or grant.profile != profile:
                return None
            del self._refresh[token]
        if grant.expires_at <= self.now():
            return None
        return grant

    def peek_refresh_token(self, profile: str, token: str) -> RefreshGrant | None:
        """The grant a refresh token would be accepted for now (a spent one only within the reuse interval)."""
        now = self.now()
        with self.lock:
            head = self._live_head(profile, token, now)
        return head[1] if head is not None else None

    # -- client assertion replay ----------------------------------------------------------

    def remember_jti(self, profile: str, client_id: str, jti: str, until: float) -> bool:
        """Record a ``jti``; False when it was already used (a replay)."""
        now = self.now()
        key = (profile, client_id, jti)
        with self.lock:
            if len(self._jtis) > 10_000:
                for old in [k for k, t in self._jtis.items() if t < now]:
                    del self._jtis[old]
            if key in self._jtis:
                return False
            self._jtis[key] = until
        return True

    # -- device authorization (RFC 8628) --------------------------------------------------

    def new_device_grant(self, client_id: str, *, subject: str = "cdse-user", scope: str | None = None) -> DeviceGrant:
        with self.lock:
            while True:
                raw = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
                if raw not in self._user_codes:
                    break
            grant = DeviceGrant(
                device_code=secrets.token_urlsafe(32),
                user_code=f"{raw[:4]}-{raw[4:]}",
                client_id=client_id,
                expires_at=self.now() + self.device_code_lifetime,
                interval=self.device_interval,
                subject=subject,
                scope=scope,
            )
            self._devices[grant.device_code] = grant
            self._user_codes[raw] = grant.device_code
        return grant

    def device_grant(self, device_code: str) -> DeviceGrant | None:
        with self.lock:
            return self._devices.get(device_code)

    def poll_device(self, device_code: str, client_id: str) -> tuple[str, DeviceGrant | None]:
        """One token-endpoint poll (RFC 8628 §3.4/3.5).

        The outcome is ``invalid`` (unknown code or another client), ``expired``,
        ``slow_down`` (polled faster than the interval, which then grows by 5 s),
        ``pending``, ``denied`` or ``approved`` (which consumes the device code).
        """
        now = self.now()
        with self.lock:
            grant = self._devices.get(device_code)
            if grant is None or grant.client_id != client_id:
                return "invalid", None
            if grant.expires_at <= now:
                return "expired", grant
            if grant.last_poll is not None and now - grant.last_poll < grant.interval:
                grant.interval += 5
                grant.last_poll = now
                return "slow_down", grant
            grant.last_poll = now
            if grant.status == "approved":
                self._devices.pop(grant.device_code, None)
                self._user_codes.pop(normalize_user_code(grant.user_code), None)
            return grant.status, grant

    def decide_device(self, user_code: str, status: str) -> DeviceGrant:
        """Approve or deny the pending authorization of ``user_code``."""
        with self.lock:
            device_code = self._user_codes.get(normalize_user_code(user_code))
            grant = self._devices.get(device_code) if device_code else None
            if grant is None or grant.expires_at <= self.now():
                raise LookupError("unknown or expired user_code")
            if grant.status != "pending":
                raise LookupError(f"user_code was already {grant.status}")
            grant.status = status
            return grant
