"""``m2mauth doctor``: a checklist that says, in plain words, why a token request fails and what fixes it.

Every check gives a :class:`Check` — a stable ``name``, a ``status`` (``ok``, ``warn``, ``fail`` or
``skip``), a one-line ``message``, the ``fix`` when something is wrong, the diagnosis ``codes`` and
JSON-safe ``details`` — and :func:`run_doctor` collects them into a :class:`Report` that the CLI
prints (``Report.render``) or serialises (``Report.to_dict``).

The checks that judge data are pure functions of their inputs: :func:`permission_check` (a key
file's mode), :func:`clock_check` (an offset in seconds), :func:`proxy_check` (environment
variables), :func:`findings_check` (an :func:`m2mauth.inspect` diagnosis), :func:`endpoint_check`
(a probe's outcome) and :func:`exchange_check` (a token or an error, explained with the profile).
:func:`run_doctor` does the I/O around them: it reads the key files named, sends one ``HEAD``
request to the token URL (is it reachable, and what time does its ``Date`` header say), and tries
the exchange once — without retries and without touching the token store, so the user sees exactly
what the server answered. A grant the user made elsewhere (``jwt=``, e.g. the httr2 grant of the
CLMS question) is inspected and, with ``send=True``, POSTed as the user would.

Nothing here prints or returns a secret: checks name credentials and environment variables, never
their values; a proxy URL is shown without its user name and password; server answers pass through
the core's redaction.

The checks live in one module per family: ``report`` (Check, Report), ``environment`` (clock and
proxy), ``keyfile`` (key files, permissions, the key), ``claims`` (the JWT), ``endpoint`` (the probe
and the exchange) and ``run`` (:func:`run_doctor`, the order of the checks).
"""

from __future__ import annotations

from .claims import findings_check
from .endpoint import DEFAULT_TIMEOUT, Probe, endpoint_check, exchange_check, probe
from .environment import CLOCK_FAIL, CLOCK_WARN, NTP_FIX, bypasses_proxy, clock_check, proxy_check, safe_proxy_url
from .keyfile import permission_check
from .report import FAIL, OK, SKIP, STATUSES, WARN, Check, Report
from .run import run_doctor

__all__ = [
    "CLOCK_FAIL",
    "CLOCK_WARN",
    "DEFAULT_TIMEOUT",
    "FAIL",
    "NTP_FIX",
    "OK",
    "SKIP",
    "STATUSES",
    "WARN",
    "Check",
    "Probe",
    "Report",
    "bypasses_proxy",
    "clock_check",
    "endpoint_check",
    "exchange_check",
    "findings_check",
    "permission_check",
    "probe",
    "proxy_check",
    "run_doctor",
    "safe_proxy_url",
]
