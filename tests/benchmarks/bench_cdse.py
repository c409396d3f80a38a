"""Benchmark 7: CDSE's session cap, 8 processes sharing a FileStore (issue 11).

CDSE issues 10-minute access tokens whose refresh token can be used within 60 minutes, and allows
100 active sessions per user; every password grant opens one. Time is compressed 100-fold: the
local provider's CDSE emulation issues 6-s tokens with a 36-s session idle time, and m2mauth
renews 0.6 s before expiry (the 60 s its margin rule gives a 10-minute token), so a refresh period
is 5.4 s. 8 worker processes (multiprocessing, forkserver; bench_processes' workers) make
authenticated GETs through an unpickled copy of one ``m2mauth.Auth("cdse", username=...,
password=...)``:

* sharing one ``FileStore``: the target is one token request per refresh period begun in the
  window, and one session opened in all (renewals by refresh continue it), so the cap is never
  approached;
* for contrast, each process with its own in-memory store, as scripts without a shared cache do:
  one session per process.

The provider counts token requests and the user's sessions (opened, active, refused with 429).
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from _common import ProviderProcess, RecordingStore, Section, Verdict, duplicates, mean_interval
from bench_processes import PROCESSES, _processes

COMPRESSION = 100  # real seconds per benchmark second
LIFETIME = 600 // COMPRESSION  # CDSE: 10-minute access tokens
SESSION_IDLE = 3600 // COMPRESSION  # CDSE: a refresh token within 60 minutes
MARGIN = 60 / COMPRESSION  # what m2mauth's margin rule gives a 10-minute token
PERIOD = LIFETIME - MARGIN
USER, PASSWORD = "bench-user@example.org", "bench-Password-not-a-secret"


def _scenario(store: Any, seconds: float) -> dict[str, Any]:
    import m2mauth

    with ProviderProcess(token_lifetime=LIFETIME, cdse_session_idle=SESSION_IDLE) as provider:
        provider.call("add_user", "cdse", USER, PASSWORD)
        auth = m2mauth.Auth(
            "cdse",
            username=USER,
            password=PASSWORD,
            token_url=provider.token_url("cdse"),
            margin=MARGIN,
            store=RecordingStore(store),
        )
        before = provider.token_requests("cdse")
        results = _processes(auth, provider.resource_url, seconds)
        made = provider.token_requests("cdse") - before
        sessions: dict[str, int] = provider.call("cdse_sessions", USER)
    errors = [r["error"] for r in results if "error" in r]
    good = [r for r in results if "error" not in r]
    puts = [t for r in good for t in r["puts"]]
    start = min(puts) if puts else min((r["first"] for r in good), default=0.0)
    window = (max(r["last"] for r in good) - start) if good else 0.0
    periods = math.ceil(window / PERIOD) if window else 0
    return {
        "requests": sum(r["requests"] for r in good),
        "non_200": sum(r["non_200"] for r in good),
        "window": window,
        "token_requests": made,
        "periods": periods,
        "sessions": sessions,
        "duplicates": duplicates(puts, PERIOD),
        "interval": mean_interval(puts),
        "errors": errors,
    }


def run(quick: bool) -> Section:
    from m2mauth import FileStore, MemoryStore

    section = Section(
        7,
        "CDSE: token requests and sessions, 8 processes sharing a FileStore",
        f"CDSE's 10-minute tokens, 60-minute refresh and session idle time compressed {COMPRESSION}-fold: "
        f"{LIFETIME}-s tokens renewed {MARGIN:g} s before expiry (refresh period {PERIOD:g} s), sessions "
        f"idle out after {SESSION_IDLE} s. Ideal = one token request per refresh period begun in the window, "
        "and one session in all.",
    )
    seconds = 12.0 if quick else 24.0
    with tempfile.TemporaryDirectory(prefix="m2mauth-bench-cdse-") as folder:
        shared = _scenario(FileStore(Path(folder) / "files"), seconds)
    separate = _scenario(MemoryStore(), seconds / 2)
    rows = []
    for name, summary in ((f"{PROCESSES} processes, one FileStore", shared),
                          (f"{PROCESSES} processes, a MemoryStore each (contrast)", separate)):  # fmt: skip
        s = summary["sessions"]
        rows.append(
            [
                name,
                str(summary["requests"]),
                f"{summary['window']:.1f}",
                str(summary["token_requests"]),
                str(summary["periods"]),
                summary["interval"],
                str(summary["duplicates"]),
                str(s["opened"]),
                str(s["active"]),
                str(s["refused"]),
                str(summary["non_200"]),
                str(len(summary["errors"])),
            ]
        )
    ok_requests = not shared["errors"] and shared["non_200"] == 0
    ok_requests = ok_requests and shared["periods"] - 1 <= shared["token_requests"] <= shared["periods"]
    section.verdicts.append(
        Verdict(
            f"{PROCESSES} processes, FileStore, CDSE emulation: one token request per refresh period",
            f"{shared['token_requests']} token requests over {shared['window']:.1f} s; ideal {shared['periods']} "
            f"(one per {PERIOD:g}-s period); {shared['duplicates']} duplicates",
            ok_requests and shared["duplicates"] == 0,
            "one process renews under the store's lock, by refresh; the others re-read the store"
            if ok_requests
            else "; ".join(shared["errors"][:1]) or "see the table",
        )
    )
    opened = shared["sessions"]["opened"]
    section.verdicts.append(
        Verdict(
            f"{PROCESSES} processes, FileStore, CDSE emulation: at most one session opened per refresh period",
            f"{opened} session(s) opened over {shared['periods']} periods, "
            f"{shared['sessions']['active']} active at the end; "
            f"{separate['sessions']['opened']} with a store per process",
            1 <= opened <= max(1, shared["periods"]) and shared["sessions"]["refused"] == 0,
            "renewals by refresh continue the first session, so the 100-session cap is never approached",
        )
    )
    section.table(
        [
            "load",
            "API requests",
            "window s",
            "token requests",
            "ideal (per period)",
            "mean s between token requests",
            "duplicates",
            "sessions opened",
            "sessions active at the end",
            "refused (429)",
            "non-200",
            "errors",
        ],
        rows,
    )
    section.notes.append(
        "The contrast row gives each process its own in-memory store, as scripts without a shared cache "
        "do: every process opens a session of its own (and each new run opens more), which is how a "
        "pipeline reaches CDSE's 100 active sessions within the hour."
    )
    return section
