"""Shared plumbing of the benchmarks: the local provider in its own process, a redis-server,
statistics, machine facts and the result records that ``run.py`` turns into RESULTS.md.

Every server here listens on 127.0.0.1 only, every loop is bounded in count and in time, and
every process started here is stopped by its own handle (never by name).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import itertools
import multiprocessing
import multiprocessing.connection
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PYTHON_DIR = ROOT / "python"
HTTP_TIMEOUT = 10.0
PROVIDER_MAX_SECONDS = 900.0  # a provider process ends by itself after this, whatever happens
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"
SEED = 20261123  # the order of variants in each round is random, but the same in every run


def prepare_environment() -> None:
    """Make this checkout's m2mauth and the benchmark modules importable here and in every child
    (multiprocessing, Dask workers, import-time subprocesses); allow Authlib and oauthlib to talk
    plain http to the loopback provider."""
    for path in (str(HERE), str(PYTHON_DIR)):
        if path not in sys.path:
            sys.path.insert(0, path)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    for path in (str(HERE), str(PYTHON_DIR)):
        if path not in parts:
            parts.insert(0, path)
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # loopback only: the provider is on 127.0.0.1
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"


# -- results -----------------------------------------------------------------------------------


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not measured (skipped) or a figure with no target (reported)
    why: str = ""
    reported: bool = False  # a measurement the brief asks for without a target of its own

    @property
    def word(self) -> str:
        if self.reported:
            return "reported"
        return {True: "met", False: "NOT met", None: "skipped"}[self.met]


@dataclass
class Section:
    number: int
    title: str
    what: str
    tables: list[tuple[list[str], list[list[str]]]] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.tables.append((header, rows))


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -- statistics --------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def quartiles(values: Sequence[float]) -> tuple[float, float]:
    """The 25th and 75th percentiles (inclusive method; the values themselves for fewer than 2)."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (float("nan"), float("nan"))
    q = statistics.quantiles(values, n=4, method="inclusive")
    return float(q[0]), float(q[2])


def median_ci(values: Sequence[float]) -> tuple[float, float]:
    """A distribution-free 95 % confidence interval of the median (order statistics)."""
    ordered = sorted(values)
    n = len(ordered)
    if n < 6:
        return ordered[0], ordered[-1]
    half = 0.98 * n**0.5  # 1.96 * sqrt(n) / 2
    low = max(0, int(n / 2 - half) - 1)
    high = min(n - 1, int(n / 2 + half))
    return ordered[low], ordered[high]


def ratio_text(values: Sequence[float], digits: int = 3) -> str:
    low, high = median_ci(values)
    return f"{median(values):.{digits}f}x (95 % CI {low:.{digits}f}-{high:.{digits}f})"


def interleaved(
    variants: dict[str, Callable[[], None]], rounds: int, *, baseline: str, settle: Callable[[], None] | None = None
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Time each variant once per round, in a fresh random order every round (a fixed seed), so
    drift, position in the round and the variant that ran just before hit every variant alike.
    Returns the seconds of every call per variant and, per variant, the ratio to the baseline
    measured in the same round."""
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    shuffler = random.Random(SEED)
    for _ in range(rounds):
        order = names[:]
        shuffler.shuffle(order)
        this_round: dict[str, float] = {}
        for name in order:
            if settle is not None:
                settle()
            started = time.perf_counter()
            variants[name]()
            this_round[name] = time.perf_counter() - started
        for name in names:
            times[name].append(this_round[name])
            ratios[name].append(this_round[name] / this_round[baseline])
    return times, ratios


class RecordingStore:
    """Wraps a token store and notes the wall-clock time of each put (one put per token request
    made through it). Picklable when the inner store is; a copy starts with an empty record."""

    def __init__(self, inner: Any = None) -> None:
        if inner is None:
            from m2mauth import MemoryStore

            inner = MemoryStore()
        self.inner = inner
        self.puts: list[float] = []

    def get(self, key: str) -> Any:
        return self.inner.get(key)

    def put(self, key: str, token: Any) -> None:
        self.puts.append(time.time())
        self.inner.put(key, token)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def lock(self, key: str, timeout: float = 60.0) -> contextlib.AbstractContextManager[None]:
        lock: contextlib.AbstractContextManager[None] = self.inner.lock(key, timeout)
        return lock

    def __getstate__(self) -> dict[str, Any]:
        return {"inner": self.inner}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.inner = state["inner"]
        self.puts = []

    def __repr__(self) -> str:
        return f"<RecordingStore {self.inner!r}>"


def refresh_period(lifetime: float) -> float:
    """Seconds a token of ``lifetime`` is used before m2mauth renews it (lifetime less the margin)."""
    from m2mauth.source import refresh_margin

    return lifetime - refresh_margin(lifetime)


def duplicates(times: Sequence[float], period: float) -> int:
    """Token requests that came less than half a refresh period after the previous one."""
    ordered = sorted(times)
    return sum(1 for a, b in itertools.pairwise(ordered) if b - a < period / 2)


def mean_interval(times: Sequence[float]) -> str:
    """The mean time between successive token requests, as text ("-" for fewer than two)."""
    if len(times) < 2:
        return "-"
    return f"{(max(times) - min(times)) / (len(times) - 1):.2f}"


# -- the local provider in a process of its own -------------------------------------------------


def _provider_main(conn: multiprocessing.connection.Connection, options: dict[str, Any], nodelay: bool) -> None:
    """Child process: run a LocalProvider and answer calls on ``conn`` until told to stop."""
    from m2mauth.testing import LocalProvider
    from m2mauth.testing import provider as provider_module

    handler = provider_module._Handler
    builtin_nodelay = bool(getattr(handler, "disable_nagle_algorithm", False))
    if nodelay and not builtin_nodelay:
        # StreamRequestHandler's own switch: TCP_NODELAY on each accepted connection. Without it
        # the handler's two writes (headers, then body) meet the client's delayed ACK: ~40 ms a
        # request on Linux loopback, which would hide everything these benchmarks measure.
        handler.disable_nagle_algorithm = True
    provider = LocalProvider(**options)
    provider.start()
    try:
        conn.send({"base_url": provider.base_url, "builtin_nodelay": builtin_nodelay, "nodelay": nodelay})
        deadline = time.monotonic() + PROVIDER_MAX_SECONDS
        while time.monotonic() < deadline:
            if not conn.poll(0.5):
                continue
            try:
                method, args, kwargs = conn.recv()
            except EOFError:
                break
            if method == "stop":
                conn.send(("ok", None))
                break
            try:
                conn.send(("ok", getattr(provider, method)(*args, **kwargs)))
            except Exception as error:
                conn.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        provider.stop()


class ProviderProcess:
    """``m2mauth.testing.LocalProvider`` served from a separate process, so that the client under
    test and the server do not share a GIL (on this 2-core machine: one core each). Methods of
    the provider are called through a pipe: ``provider.call("token_requests")``."""

    def __init__(self, *, nodelay: bool = True, **options: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_provider_main, args=(child, options, nodelay), daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(60):
            self._process.kill()
            raise RuntimeError("the provider process did not start within 60 s")
        info = self._conn.recv()
        self.base_url: str = info["base_url"]
        self.builtin_nodelay: bool = info["builtin_nodelay"]
        self.nodelay: bool = info["nodelay"]
        self.resource_url = self.base_url + "/api/resource"

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self._conn.send((method, args, kwargs))
        if not self._conn.poll(60):
            raise RuntimeError(f"the provider did not answer {method} within 60 s")
        status, value = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"provider.{method}: {value}")
        return value

    def token_url(self, profile: str = "generic") -> str:
        return str(self.call("token_url", profile))

    def token_requests(self, profile: str | None = None) -> int:
        return int(self.call("token_requests", profile))

    def add_generic_client(self) -> tuple[str, str]:
        self.call("add_client", "generic", CLIENT_ID, CLIENT_SECRET)
        return CLIENT_ID, CLIENT_SECRET

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError, RuntimeError, EOFError):
                self.call("stop")
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)
        self._conn.close()

    def __enter__(self) -> ProviderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def generic_options(provider: ProviderProcess) -> dict[str, Any]:
    """Keyword arguments for m2mauth.TokenSource / Auth / session against the provider's generic
    profile (client_credentials with client_secret_basic)."""
    client_id, secret = provider.add_generic_client()
    return {"token_url": provider.token_url("generic"), "client_id": client_id, "client_secret": secret}


# -- redis-server --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """A redis-server on 127.0.0.1 (free port, no persistence) for the duration; yields its URL, or
    None with nothing started when redis-server or the redis package is missing."""
    binary = shutil.which("redis-server")
    try:
        import redis
    except ImportError:
        redis = None  # type: ignore[assignment]
    if binary is None or redis is None:
        yield None
        return
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="m2mauth-bench-redis-") as workdir:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            deadline = time.monotonic() + 20
            ready = False
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    ready = bool(client.ping())
                    break
                except redis.exceptions.RedisError:
                    time.sleep(0.05)
            yield url if ready else None
        finally:
            client.close()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


# -- machine facts -------------------------------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        if name == "m2mauth":
            import m2mauth

            return f"{m2mauth.__version__} (checkout, not installed)"
        return "not installed"


def redis_server_version() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        return "not installed"
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    for word in out.split():
        if word.startswith("v="):
            return word[2:]
    return out.strip() or "unknown"


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' (with uncommitted changes)' if dirty else ''}" if head else "unknown"


PACKAGES = (
    "m2mauth",
    "requests",
    "urllib3",
    "PyJWT",
    "cryptography",
    "Authlib",
    "requests-oauthlib",
    "oauthlib",
    "dask",
    "distributed",
    "redis",
)


def machine_info() -> list[tuple[str, str]]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    info = [
        ("CPU", cpu_model()),
        ("cores usable", str(usable_cores())),
        ("OS", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("load average at start", " / ".join(f"{x:.2f}" for x in load) if load else "n/a"),
        ("checkout", git_revision()),
    ]
    info += [(name, package_version(name)) for name in PACKAGES]
    info.append(("redis-server", redis_server_version()))
    return info
