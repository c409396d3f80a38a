"""TokenSource: a valid token on every call, one refresh at a time, early, for everyone sharing a store.

States as in google-auth: *fresh* (use it), *stale* (refresh due — if the refresh fails on a
transient error the still-valid token is returned and the failure logged), *invalid* (expired or
absent: a refresh must succeed). One thread per process refreshes while the others wait for its
result (single flight); with a shared store, one process or worker anywhere refreshes, the others
re-read the store after taking its lock. A rotated refresh token is written to the store before
the new access token is handed out — and, when the store is not one that keeps refresh tokens
(the in-memory default, the cache ``FileStore()``), also to the data folder (refresh_keeper.py),
so the next run that passes the original refresh token uses the newest one.

The store key names the profile, endpoint, client and scope, plus a keyed fingerprint of the
secret material (fingerprint.py): a wrong secret never gets the token cached for the right one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .api import ready_token
from .arguments import check_options
from .credentials import Credentials, resolve_credentials
from .errors import ConfigError, M2MAuthError, TokenEndpointError, TransportError
from .fingerprint import fingerprint, secret_material
from .flows import check_option_fields, flow_client, plan_request
from .offline_tokens import warn_if_ending
from .one_time_codes import OneTimeCode, refresh_expired
from .presentation import Presentation
from .profiles import Flow, Profile, load_profile
from .refresh_keeper import REFRESH_GRANTS, RefreshKeeper, keeps_refresh_tokens
from .retry import RetryPolicy, is_transient, with_retries
from .stores import MemoryStore, Store, data_store, store_fingerprint_key
from .token_exchange import SUBJECT_TOKEN_EXPIRED
from .tokens import Token
from .transport import DEFAULT_TIMEOUT, check_url, discover, exchange

if TYPE_CHECKING:
    import requests

__all__ = ["FRESH", "INVALID", "STALE", "TokenSource", "refresh_margin", "source_key"]

log = logging.getLogger("m2mauth")

FRESH, STALE, INVALID = "fresh", "stale", "invalid"
REFRESH_TOKEN_WARNING = 3 * 24 * 3600  # warn when a refresh token has less than this left
MIN_ATTEMPT_TIMEOUT = 0.1  # seconds: the timeout of an attempt started just before the retry deadline


def refresh_margin(lifetime: float | None, margin: float | None = None) -> float:
    """Seconds before expiry at which to refresh: the larger of 30 s and 10 % of the lifetime,
    never more than half the lifetime (a 15-minute token renews at 13.5 min, a 4-second one at 2 s)."""
    if lifetime is None or lifetime <= 0:
        return 30.0 if margin is None else margin
    if margin is not None:
        return min(margin, lifetime / 2)
    return min(max(30.0, 0.1 * lifetime), lifetime / 2)


def _identity(creds: Credentials) -> str:
    """Who the token is for, without any secret: the public identifiers (a refresh token is
    covered by the keyed fingerprint, never by a bare hash)."""
    for name in ("client_id", "email", "username", "key_id"):
        value = creds.get(name)
        if value:
            return f"{name}={value}"
    if creds.service_key is not None:
        from .keys import load_service_key

        return "client_id=" + load_service_key(creds.service_key, password=creds.key_password).client_id
    if creds.refresh_token:
        return "refresh"
    return "anonymous"


def source_key(profile: Profile, creds: Credentials, flow: Flow, store: object = None) -> str:
    """The store key: profile, endpoint, client identity, scope and a keyed fingerprint of the
    secret material (HMAC-SHA256 under ``store``'s key, see fingerprint.py; never a secret, never
    a bare hash of one). Without secret material the key is as m2mauth 0.1 made it, so a device
    login stored then is still found."""
    endpoint = creds.token_url or creds.issuer or flow.token_url or profile.token_url or ""
    parts = ["m2mauth-v1", profile.name, endpoint, _identity(creds), creds.scope or ""]
    if flow.grant == "token_exchange":
        # An exchanged token is for one audience / resource / token type: another gets another token.
        wanted = (creds.audience, creds.resource, creds.requested_token_type, creds.subject_token_type)
        parts.append("exchange=" + "|".join(value or "" for value in wanted))
    material = secret_material(creds)
    if material:
        parts.append("fp=" + (fingerprint(store_fingerprint_key(store), material) or ""))
    return "|".join(parts)


def legacy_key(profile: Profile, creds: Credentials, flow: Flow) -> str | None:
    """The key m2mauth 0.1 filed a refresh-token chain under (it named the token by a bare hash).
    Used only to READ such a record once after an upgrade, so a rotated token is not lost; never
    written, and the hash never leaves memory."""
    if not creds.refresh_token:
        return None
    identity = _identity(creds)
    if identity == "refresh":
        identity = "refresh=" + hashlib.sha256(creds.refresh_token.encode()).hexdigest()[:16]
    endpoint = creds.token_url or creds.issuer or flow.token_url or profile.token_url or ""
    return "|".join(("m2mauth-v1", profile.name, endpoint, identity, creds.scope or ""))


@dataclass
class _Flight:
    """One refresh in progress; the threads that arrive meanwhile wait for its outcome."""

    done: threading.Event = field(default_factory=threading.Event)
    result: Token | None = None
    error: BaseException | None = None


class TokenSource:
    """``token()`` returns a valid Token, renewed before expiry; safe to share between threads,
    and picklable, so Dask or multiprocessing workers get a working copy sharing the same store."""

    def __init__(
        self,
        profile: str | Profile | Mapping[str, Any] | os.PathLike[str],
        *,
        store: Store | None = None,
        flow: str | None = None,
        auth_method: str | None = None,
        margin: float | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool | str = True,
        proxies: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        clock: Callable[[], float] | None = None,
        basic_encoding: str | None = None,
        keep_refresh_token: bool = True,
        validity_period: int | None = None,
        **credentials: Any,
    ) -> None:
        """``keep_refresh_token=False``: do not keep a rotated refresh token in the data folder
        (for callers who manage rotation themselves; a store given as ``store=`` still keeps it)."""
        check_options(store=store, flow=flow, auth_method=auth_method, margin=margin, retry=retry, timeout=timeout)
        check_options(verify=verify, proxies=proxies, session=session, clock=clock, validity_period=validity_period)
        self.profile = load_profile(profile)
        self._credentials = dict(credentials)
        creds = resolve_credentials(self.profile, self._credentials)
        # Refuse unsafe settings now, before any request (and before an Auth or session is handed out).
        if verify is False:
            raise ConfigError(
                "TLS verification cannot be turned off for token requests",
                code="insecure_tls",
                hint="Pass verify='/path/to/ca-bundle.pem' to trust a private CA instead.",
            )
        for url in (creds.token_url, creds.issuer):
            if url:
                check_url(url)
        self._flow = self.profile.select_flow(creds.available(), flow)
        check_option_fields(self.profile, self._flow, validity_period=validity_period)  # refused now, not at first use
        creds = flow_client(self._flow, creds, self._credentials)
        # totp=: a code for one password grant, or a callable asked at each (one_time_codes.py).
        self._one_time = OneTimeCode(creds.totp, self.profile.name) if creds.totp else None
        if basic_encoding is not None and basic_encoding not in ("rfc", "raw"):
            raise ConfigError(
                f"unknown basic_encoding {basic_encoding!r}",
                code="invalid_option",
                hint="Pass basic_encoding='rfc' (RFC 6749 §2.3.1, the default) or 'raw' (no form-encoding).",
            )
        self.store: Store = store if store is not None else MemoryStore()
        self.key = source_key(self.profile, creds, self._flow, self.store)
        self.keep_refresh_token = bool(keep_refresh_token)
        # Where the newest refresh token of this chain is kept across runs, if the store does not.
        self._keeper: RefreshKeeper | None = None
        # A device login is interactive: here it means "renew the refresh token stored by login()".
        self._after_login = self._flow.grant == "device_code"
        if self._after_login:
            refresh = next((f for f in self.profile.flows if f.grant in REFRESH_GRANTS), None)
            if refresh is None:
                raise ConfigError(f"{self.profile.name} cannot renew a device login", code="device_flow_unsupported")
            if not keeps_refresh_tokens(self.store):
                # login() keeps its refresh token in the data folder: renew that record.
                login_store = data_store()
                self._keeper = RefreshKeeper(source_key(self.profile, creds, self._flow, login_store), login_store)
            self._flow = refresh
        elif self.keep_refresh_token and not keeps_refresh_tokens(self.store):
            self._keeper = RefreshKeeper.for_chain(self.profile, creds)
        self._legacy_key = legacy_key(self.profile, creds, self._flow)
        self.flow_name, self.auth_method, self.margin = flow, auth_method, margin
        self.basic_encoding = basic_encoding
        self.validity_period = validity_period
        self.retry = retry or RetryPolicy()
        self.timeout, self.verify, self.proxies, self.session = timeout, verify, proxies, session
        self.clock = clock
        self.requests_made = 0  # token endpoint requests made by this copy (for tests and benchmarks)
        self._init_runtime()

    @classmethod
    def given_or_new(
        cls,
        source: TokenSource | None,
        profile: str | Profile | Mapping[str, Any] | os.PathLike[str] | None,
        **options: Any,
    ) -> TokenSource:
        """The adapters' shared constructor rule: a given source as is, else one built from the profile."""
        if source is not None:
            return source
        if profile is None:
            raise ConfigError("give a profile (with credentials) or source=", code="invalid_profile")
        return cls(profile, **options)

    def _init_runtime(self) -> None:
        self._memory: Token | None = None
        # (token, margin, time until which it is fresh): token() answers from this without datetime math.
        self._fresh: tuple[Token, float | None, float] | None = None
        self._guard = threading.Lock()
        self._flight: _Flight | None = None
        self._warned_refresh_expiry = False
        self._reissued: str | None = None  # a token the server handed back again: kept until it expires

    # -- pickling: credentials and store configuration travel; locks, caches and sessions do not.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for name in (
            "_memory",
            "_fresh",
            "_guard",
            "_flight",
            "_warned_refresh_expiry",
            "_reissued",
            "session",
            "requests_made",
        ):
            state.pop(name, None)
        if self.clock is not None and getattr(self.clock, "__name__", "") == "<lambda>":
            state["clock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.session = None
        self.requests_made = 0  # counts this copy's requests only
        self._init_runtime()

    def __repr__(self) -> str:
        return f"<TokenSource {self.profile.name}/{self._flow.name} store={self.store!r}>"

    @property
    def presentation(self) -> Presentation:
        """How APIs take this source's tokens (header, scheme, non-401 expiry answers)."""
        return self._flow.presentation

    def close(self, *, logout: bool = False) -> bool:
        """With ``logout=True``, end the current token at the provider's logout endpoint (USGS M2M)
        and forget it; True if one was ended. Without, nothing is sent (tokens stay cached)."""
        if not logout:
            return False
        if not self._flow.logout_url:  # said before anything is forgotten: the call was a mistake
            raise ConfigError(
                f"{self.profile.name} (flow {self._flow.name}) has no logout endpoint",
                code="no_logout_endpoint",
                hint="Only profiles with a logout endpoint (usgs-m2m) end tokens at the provider; "
                "invalidate() forgets a token here.",
            )
        from .logout_endpoint import end_token

        with self.store.lock(self.key, timeout=self.retry.deadline + self.timeout + 30):
            current = self.store.get(self.key) or self._memory
            self._memory = self._fresh = None
            self.store.delete(self.key)
        if current is None or not current.access_token or self.state(current) == INVALID:
            return False
        return end_token(
            self.profile,
            self._flow,
            current,
            session=self.session,
            timeout=self.timeout,
            verify=self.verify,
            proxies=self.proxies,
            token_url=resolve_credentials(self.profile, self._credentials).token_url,
        )

    def _now(self) -> float:
        return (self.clock or time.time)()

    def state(self, token: Token | None, now: float | None = None) -> str:
        if token is None or not token.access_token:  # "": a record that keeps only a refresh token
            return INVALID
        if token.expires_at is None:
            return FRESH
        now = self._now() if now is None else now
        left = token.expires_at.timestamp() - now
        if left <= 0:
            return INVALID
        return STALE if left <= self._renewal_margin(token) else FRESH

    def _renewal_margin(self, token: Token) -> float:
        """Seconds before expiry to renew ``token``: none where renewing early would only get the same
        token back (a profile that says so, or a token the server already handed back once)."""
        if self.profile.same_token_until_expiry or token.access_token == self._reissued:
            return 0.0
        return refresh_margin(token.lifetime, self.margin)

    def token(self, *, force: bool = False, rejected: str | None = None) -> Token:
        """A valid token. ``force=True`` renews now; with ``rejected=`` (the access token a server just
        refused) only if the current token is still that one, so N threads seeing one 401 refresh once."""
        current = self._memory
        fresh = self._fresh
        if (
            not force
            and fresh is not None
            and fresh[0] is current
            and fresh[1] == self.margin
            and self._now() < fresh[2]
        ):
            return current  # the per-request path: one clock read, no datetime arithmetic
        if current is None or self.state(current) != FRESH:
            stored = self.store.get(self.key)  # another thread, process or worker may have renewed it
            if stored is not None:
                current = self._memory = stored
        if not force and self.state(current) == FRESH:
            assert current is not None
            self._fresh = (current, self.margin, self._fresh_until(current))
            return current
        if (
            force
            and rejected
            and current is not None
            and current.access_token != rejected
            and self.state(current) != INVALID
        ):
            return current
        return self._single_flight(force, rejected)

    def _fresh_until(self, token: Token) -> float:
        """The time until which state(token) is FRESH: expiry less the refresh margin (never less than 0)."""
        if token.expires_at is None:
            return math.inf
        return token.expires_at.timestamp() - max(0.0, self._renewal_margin(token))

    def invalidate(self) -> None:
        """Forget the access token here and in the store: the next ``token()`` fetches a new one.

        For an API that refuses a token with a bare 403 (no ``error="invalid_token"``), when you
        know the server revoked it. A refresh token is kept (it renews the access token)."""
        with self.store.lock(self.key, timeout=self.retry.deadline + self.timeout + 30):
            stored = self.store.get(self.key)
            self._memory = None
            self._fresh = None
            if stored is not None and stored.refresh_token:
                # Keep the refresh token (a rotated one cannot be had again); drop the access token.
                self.store.put(
                    self.key,
                    Token("", refresh_token=stored.refresh_token, refresh_expires_at=stored.refresh_expires_at),
                )
            else:
                self.store.delete(self.key)

    def _single_flight(self, force: bool, rejected: str | None) -> Token:
        with self._guard:
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
        if not leader:
            if not flight.done.wait(self.retry.deadline + self.timeout + 60):
                raise M2MAuthError("timed out waiting for another thread's token refresh", code="lock_timeout")
            if flight.error is not None:
                raise flight.error
            assert flight.result is not None
            return flight.result
        try:
            flight.result = self._refresh(force, rejected)
            return flight.result
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._guard:
                self._flight = None
            flight.done.set()

    # -- Renewal: when a token is reused, renewed, refreshed, or cannot be renewed, and why.
    #
    # token() hands out the token in memory or in the store while it is FRESH (state(); a token the
    # server would only hand back again is renewed at expiry, not early: _renewal_margin), and under
    # force= with rejected= while it is valid and not the rejected one (N threads seeing one 401
    # renew once). Otherwise one caller at a time (single flight in this process, the store's lock
    # across processes) runs _refresh(), which decides in this order:
    #   reuse    the store holds a FRESH token: someone else renewed it while we waited for the lock
    #            (under force=, only when rejected= names another token: that one was replaced already);
    #   renew    _renew(): a token exchange is repeated; else a refresh token, if one is at hand and
    #            the profile has a refresh flow (_usable_refresh_token says which one); else, or when
    #            the refresh token expired or was refused, the original grant again (a ready token
    #            as given; a password grant with a new totp);
    #   keep     the renewal failed but the current token is STALE, not expired: it serves on when
    #            waiting can help (_serves_on); never under force=, where the caller wants a new one;
    #   cannot   everything else is raised: a refused refresh token when refresh is the only grant
    #            (a refresh flow, a device login), no stored login (login_required), a text totp
    #            already spent (totp_required), a refused or expired credential.

    def _refresh(self, force: bool, rejected: str | None) -> Token:
        timeout = self.retry.deadline + self.timeout + 30
        keeper = self._keeper.lock(timeout) if self._keeper is not None else contextlib.nullcontext()
        with self.store.lock(self.key, timeout=timeout), keeper:
            stored = self.store.get(self.key)  # another process may have refreshed while we waited
            state = self.state(stored)
            renewed_elsewhere = stored is not None and rejected is not None and stored.access_token != rejected
            if state == FRESH and (not force or renewed_elsewhere):
                assert stored is not None
                self._memory = stored  # reuse
                return stored
            try:
                new = self._renew(stored)
            except M2MAuthError as error:
                if stored is not None and state == STALE and not force and self._serves_on(error, stored):
                    self._memory = stored  # keep
                    return stored
                raise  # cannot
            held = stored or self._memory
            if held is not None and held.access_token and new.access_token == held.access_token:
                # EUMETSAT answers with the token it issued last until that one expires: keep it, with
                # the expiry the server states now, and ask again only when it has expired.
                self._reissued = new.access_token
                log.info(
                    "%s: the server handed back the token already held (valid %s s more); it is kept until it expires",
                    self.profile.name,
                    new.seconds_left(self._now()),
                )
            if new.refresh_token is None and stored is not None and stored.refresh_token:
                # RFC 6749 §6: without a new refresh token the old one stays valid; keep it.
                new = dataclasses.replace(
                    new, refresh_token=stored.refresh_token, refresh_expires_at=stored.refresh_expires_at
                )
            if self._keeper is not None:
                self._keeper.keep(new)  # the credential first: a crash after this loses only the cache
            self.store.put(self.key, new)  # persisted before anyone sees the new token
            self._memory = new
            self._check_refresh_expiry(new)
            if self._flow.refresh_token_lifetime is not None:  # the token the user gave, not a kept successor
                warn_if_ending(
                    self.profile, self._flow, resolve_credentials(self.profile, self._credentials).refresh_token
                )
            return new

    def _serves_on(self, error: M2MAuthError, current: Token) -> bool:
        """Whether the still valid ``current`` token serves on after its renewal failed with ``error``
        (logged when it does): only where a later attempt can succeed before it expires."""
        if error.code == SUBJECT_TOKEN_EXPIRED:
            # The exchanged token outlives its subject token: it works until its own expiry, and the
            # caller has until then to pass a new subject token.
            log.warning(
                "%s: the subject token can no longer be exchanged (%s); using the current token, "
                "valid for %d s more: pass a new subject_token= before then",
                self.profile.name,
                error.code,
                current.seconds_left(self._now()) or 0,
            )
            return True
        if is_transient(error):
            # A network failure, rate limit or server error: the next renewal may well succeed.
            log.warning(
                "token refresh failed (%s); using the current token, valid for %d s more",
                error.code,
                current.seconds_left(self._now()) or 0,
            )
            return True
        return False  # a refused credential or a configuration error: waiting does not help

    def _renew(self, stored: Token | None) -> Token:
        """A new token: by token exchange, by refresh token, or by the original grant (see above)."""
        if self._flow.grant == "token_exchange":
            # RFC 8693: renewal repeats the exchange with the same subject token (never a refresh
            # token, which could outlive it); an expired subject token ends in subject_token_expired.
            return self._exchange(self._flow, {})
        refresh, origin = self._usable_refresh_token(stored)
        refresh_flow = self._refresh_flow()
        if refresh and refresh_flow is not None:
            try:
                token = self._exchange(refresh_flow, {"refresh_token": refresh})
            except TokenEndpointError as error:
                if origin == "kept" and self._keeper is not None:
                    error = self._keeper.refused(error)  # refused for good: forgotten, and the hint says so
                # Where refresh is the only grant (a refresh flow, a device login), a refused refresh
                # token cannot be replaced here. Otherwise, a refusal of the refresh token itself
                # (invalid_grant; invalid_request from some servers) is repaired by the original grant.
                if self._flow.grant in REFRESH_GRANTS or error.code not in ("invalid_grant", "invalid_request"):
                    raise error from None
                log.info(
                    "%s: the refresh token was refused (%s); repeating the original grant",
                    self.profile.name,
                    error.code,
                )
            else:
                log.info("%s: authenticated using refresh token", self.profile.name)
                if origin == "legacy" and self._legacy_key:
                    self.store.delete(self._legacy_key)  # adopted: kept under the new key from now on
                return token
        if self._after_login:
            # A device login is interactive: without its refresh token there is nothing to renew with.
            raise ConfigError(
                f"no stored login for {self.profile.name} with these credentials",
                code="login_required",
                hint=f"Run m2mauth.login({self.profile.name!r}, client_id=...) once (or `m2mauth login "
                f"{self.profile.name}`); later runs use the stored refresh token.",
            )
        return self._exchange(self._flow, {})

    def _usable_refresh_token(self, stored: Token | None) -> tuple[str | None, str]:
        """The refresh token to renew with and where it came from ("kept", "stored", "legacy"; "" if none)."""
        # The kept newest token of the chain wins over a cache's copy (another run may have rotated it).
        kept = self._keeper.newest() if self._keeper is not None else None
        if kept:
            return kept, "kept"
        refresh = stored.refresh_token if stored is not None else None
        if refresh and stored is not None:
            if self._flow.grant in REFRESH_GRANTS or not refresh_expired(stored.refresh_expires_at, self._now()):
                return refresh, "stored"
            # Keycloak's refresh_expires_in has passed (CDSE: 60 minutes): only the original grant helps.
            log.info("%s: the refresh token expired; repeating the original grant", self.profile.name)
        if self._legacy_key:
            # Upgraded from 0.1: its record of this chain (moved to the cache folder) holds the newest token.
            legacy = self.store.get(self._legacy_key)
            if legacy is not None and legacy.refresh_token:
                return legacy.refresh_token, "legacy"
        return None, ""

    def _refresh_flow(self) -> Flow | None:
        if self._flow.grant in REFRESH_GRANTS:
            return self._flow
        for flow in self.profile.flows:
            if flow.grant in REFRESH_GRANTS:
                return flow
        return None

    def _exchange(self, flow: Flow, overrides: Mapping[str, str]) -> Token:
        credentials: dict[str, Any] = {**self._credentials, **overrides}
        if flow.grant == "ready_token":  # a token given as is (EARTHDATA_TOKEN): no request
            given = ready_token(self.profile, flow.name, credentials, self.clock)
            assert given is not None
            return given
        one_time = self._one_time if flow.grant == "password" and "totp" in flow.optional else None
        if one_time is not None:
            credentials["totp"] = one_time.take()  # raises totp_required when a text code was used before
        issuer = credentials.get("issuer")
        if issuer and not credentials.get("token_url"):
            credentials["token_url"] = discover(str(issuer), session=self.session, timeout=self.timeout)[
                "token_endpoint"
            ]

        started = time.monotonic()

        def attempt() -> Token:
            # A new plan per attempt: client assertions carry a fresh jti, which servers refuse to see twice.
            plan = plan_request(
                self.profile,
                flow=flow.name,
                auth_method=self.auth_method,
                basic_encoding=self.basic_encoding,
                clock=self.clock,
                validity_period=self.validity_period if "validity_period" in flow.optional else None,
                **credentials,
            )
            self.requests_made += 1
            # An attempt gets at most what is left of the deadline: a hung server cannot carry the caller past it.
            left = self.retry.deadline - (time.monotonic() - started)
            return exchange(
                plan.request,
                profile=self.profile,
                session=self.session,
                timeout=max(MIN_ATTEMPT_TIMEOUT, min(self.timeout, left)),
                verify=self.verify,
                proxies=self.proxies,
                default_lifetime=self.profile.default_token_lifetime,
                clock=self.clock,
                flow=flow,
            )

        try:
            return with_retries(attempt, self.retry, what=f"{self.profile.name} token request")
        except TransportError:
            if one_time is not None:
                one_time.give_back()  # the server never saw the code
            raise

    def _check_refresh_expiry(self, token: Token) -> None:
        if token.refresh_expires_at is None or self._warned_refresh_expiry:
            return
        if self._flow.grant not in REFRESH_GRANTS:
            return  # a convenience (CDSE's password flow: 60 minutes): the original grant renews without it
        left = token.refresh_expires_at.timestamp() - self._now()
        if left < REFRESH_TOKEN_WARNING:
            self._warned_refresh_expiry = True
            log.warning(
                "%s: the refresh token expires in %.1f days; log in again before then", self.profile.name, left / 86400
            )
