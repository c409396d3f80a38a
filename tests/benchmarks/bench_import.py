"""Benchmark 5: ``import m2mauth`` against ``import jwt, requests``.

Each sample is a fresh interpreter (``python -c``) that times its own import statement with
``time.perf_counter`` (the interpreter's start-up is not part of it); the statements take turns
in a random order each round, and the ratio is taken against ``import jwt, requests`` of the same round.
Besides the bare ``import m2mauth`` (the package loads its submodules on first use), the table
shows what a first real use costs: ``import m2mauth; m2mauth.Auth`` and
``import m2mauth; m2mauth.TokenSource``. One run of ``python -X importtime`` per statement
gives the cumulative microseconds of each top-level module, for who-costs-what.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

from _common import SEED, Section, Verdict, median, ratio_text

BASELINE = "import jwt, requests"
STATEMENTS = {
    "import m2mauth": "import m2mauth",
    BASELINE: "import jwt, requests",
    "import m2mauth; m2mauth.Auth": "import m2mauth; m2mauth.Auth",
    "import m2mauth; m2mauth.TokenSource": "import m2mauth; m2mauth.TokenSource",
    "import requests": "import requests",
    "import jwt": "import jwt",
}
TIMEOUT = 60.0


def _timed(statement: str) -> float:
    code = (
        "import time\n"
        "t = time.perf_counter()\n"
        f"{statement}\n"
        "print(repr(time.perf_counter() - t))\n"
        "import m2mauth, os\n"
        "assert os.path.dirname(m2mauth.__file__).startswith(os.environ['M2MAUTH_BENCH_PYTHON_DIR'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, check=True, env=_env()
    )
    return float(out.stdout.strip().splitlines()[0])


def _env() -> dict[str, str]:
    from _common import PYTHON_DIR

    env = dict(os.environ)
    env["M2MAUTH_BENCH_PYTHON_DIR"] = str(PYTHON_DIR)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _importtime(statement: str) -> dict[str, int]:
    """Cumulative microseconds of each top-level module imported by ``statement``."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
        env=_env(),
    )
    top: dict[str, int] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header line
        name = parts[2]
        if name.startswith("  "):
            continue  # a nested import: already in its parent's cumulative time
        top[name.strip()] = top.get(name.strip(), 0) + int(parts[1])
    return top


def run(quick: bool) -> Section:
    section = Section(
        5,
        "Import time",
        "Fresh interpreters, the import statement timed inside each; statements in a random order each round; "
        f"ratio to `{BASELINE}` in the same round, median with a 95 % confidence interval.",
    )
    rounds = 7 if quick else 25
    names = list(STATEMENTS)
    for name in names:  # warm the byte-code caches and the OS page cache
        _timed(STATEMENTS[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    started = time.monotonic()
    shuffler = random.Random(SEED)
    for _ in range(rounds):
        order = names[:]
        shuffler.shuffle(order)
        this_round = {name: _timed(STATEMENTS[name]) for name in order}
        for name in names:
            times[name].append(this_round[name])
            ratios[name].append(this_round[name] / this_round[BASELINE])
    elapsed = time.monotonic() - started

    rows = [[name, f"{median(times[name]) * 1e3:.1f}", ratio_text(ratios[name], 3)] for name in names]
    section.table(["statement", "median ms", f"ratio to `{BASELINE}`"], rows)

    detail = []
    startup = set(_importtime("pass"))  # what the interpreter imports before any statement (site, encodings...)
    for name in ("import m2mauth", BASELINE, "import m2mauth; m2mauth.Auth"):
        top = {module: us for module, us in _importtime(STATEMENTS[name]).items() if module not in startup}
        heaviest = sorted(top.items(), key=lambda item: -item[1])[:6]
        detail.append([name, ", ".join(f"{module} {us / 1000:.1f}" for module, us in heaviest)])
    header = ["`python -X importtime`", "heaviest top-level modules beyond start-up, cumulative ms (one run)"]
    section.table(header, detail)

    bare = median(ratios["import m2mauth"])
    first_use = median(ratios["import m2mauth; m2mauth.Auth"])
    section.verdicts.append(
        Verdict(
            "import m2mauth <= 1.2x import jwt, requests",
            f"{bare:.3f}x ({median(times['import m2mauth']) * 1e3:.1f} ms vs {median(times[BASELINE]) * 1e3:.1f} ms)",
            bare <= 1.2,
            "submodules load on first use (module __getattr__)",
        )
    )
    section.verdicts.append(
        Verdict(
            "(reported) first use: import m2mauth; m2mauth.Auth",
            f"{first_use:.3f}x import jwt, requests",
            None,
            "Auth needs requests, PyJWT's cryptography and the token machinery: about what jwt + requests cost",
            reported=True,
        )
    )
    section.notes.append(f"{rounds} rounds x {len(names)} statements, {elapsed:.0f} s.")
    return section
