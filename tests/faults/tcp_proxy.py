"""A fault-injecting TCP proxy on 127.0.0.1, for the fault suite.

:class:`FaultProxy` listens on a free loopback port and relays HTTP/1.1 requests to one
upstream server (the :class:`m2mauth.testing.LocalProvider`). Faults are queued like the
provider's own (``inject(kind, times=N)``), one per request, in order; a request that finds
the queue empty is relayed unchanged. The kinds:

``reset_mid_body``
    relay the request, forward the answer's head and part of its body, pause, then close with
    ``SO_LINGER`` 0 (a TCP RST): the client has read the status line and some bytes.
``cut_mid_body``
    the same, but an orderly close (FIN): the body ends before its ``Content-Length``.
``reset``
    read the request, then RST at once: not a single byte of answer.
``hang``
    read the request and never answer; the connection stays open until the client gives up
    (or the proxy stops).
``drip``
    relay the answer ``step`` bytes at a time with ``delay`` seconds between writes; with
    ``head_first`` the head goes out at once and only the body drips.
``proxy_auth``
    act as an HTTP forward proxy that wants credentials: answer ``407 Proxy Authentication
    Required`` (to ``CONNECT`` and to absolute-URI requests alike) and close.
``bad_gateway``
    answer ``502 Bad Gateway`` with an nginx-style HTML page, as a failing reverse proxy does.

Clients reach it either *transparently* (the token URL points at the proxy's port) or as a
*forward proxy* (``proxies={"http": proxy.url}``: absolute-URI request lines, which are
rewritten to the path before relaying; ``CONNECT`` is only ever answered by ``proxy_auth``).

Bounded: at most ``MAX_CONNECTIONS`` connections at once (more are reset), every socket
operation times out after ``IO_TIMEOUT`` s, a hang lasts at most ``MAX_HANG`` s, and
:meth:`FaultProxy.stop` shuts every socket down and joins every thread. The proxy never keeps
a request's body, query string or credential header: its log holds the method, the path,
whether a ``Proxy-Authorization`` header came (never its value), the fault and the status sent.
"""

from __future__ import annotations

import contextlib
import io
import select
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["KINDS", "FaultProxy", "ProxiedRequest"]

KINDS = ("reset_mid_body", "cut_mid_body", "reset", "hang", "drip", "proxy_auth", "bad_gateway")

MAX_CONNECTIONS = 32
IO_TIMEOUT = 10.0  # seconds, for every read and write of the proxy
MAX_HANG = 30.0  # a hung connection is released after this, whatever happens
MAX_HEAD = 64 * 1024
MAX_BODY = 1 << 20
JOIN_TIMEOUT = 5.0

BAD_GATEWAY_PAGE = (
    "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title>\n"
    "<style>body { width: 35em; margin: 0 auto; font-family: Tahoma, Verdana, Arial, sans-serif; }</style>\n"
    "<script>window.onload = function () { document.title = '<b>retrying</b>'; };</script>\n"
    "</head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.25.3</center>\n"
    + "<p>The upstream token service did not answer in time. Please try again later.</p>\n" * 20
    + "</body>\n</html>\n"
)


@dataclass(frozen=True)
class ProxiedRequest:
    """One request the proxy received (no body, no query string, no credential values)."""

    method: str
    path: str
    absolute: bool  # sent as to a forward proxy: CONNECT or an absolute URI
    proxy_authorization: bool  # a Proxy-Authorization header was present
    fault: str | None
    status: int | None  # the status the client was sent; None when it got none (reset, hang)


@dataclass
class _Fault:
    kind: str
    remaining: int
    step: int
    delay: float
    keep: float
    pause: float
    head_first: bool


@dataclass
class _Message:
    head: bytes  # start line and headers, up to and including the blank line
    body: bytes

    @property
    def start_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for line in self.head.split(b"\r\n")[1:]:
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == wanted:
                return value.strip().decode("latin-1")
        return None


def _read_message(rfile: io.BufferedReader, *, response: bool) -> _Message | None:
    """One HTTP/1.1 message from a buffered socket reader; None at a clean end of stream.

    Bodies are read by Content-Length; a response without one is read to the end of the stream.
    """
    readline, read = rfile.readline, rfile.read
    lines: list[bytes] = []
    size = 0
    while True:
        line = readline(MAX_HEAD + 1)
        if not line:
            if lines:
                raise ValueError("the stream ended inside a message head")
            return None
        size += len(line)
        if size > MAX_HEAD:
            raise ValueError("message head too large")
        if not lines and line in (b"\r\n", b"\n"):
            continue  # tolerate stray blank lines between messages
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            break
    message = _Message(b"".join(lines), b"")
    if (message.header("Transfer-Encoding") or "").lower() not in ("", "identity"):
        raise ValueError("chunked messages are not supported by this proxy")
    length = message.header("Content-Length")
    if length is not None:
        count = int(length)
        if not 0 <= count <= MAX_BODY:
            raise ValueError("bad Content-Length")
        message.body = read(count) if count else b""
        if len(message.body) != count:
            raise ValueError("the stream ended inside a message body")
    elif response:
        message.body = read(MAX_BODY)
    return message


def _reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _simple_response(status: int, reason: str, body: str, content_type: str, extra: str = "") -> bytes:
    data = body.encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Server: m2mauth-fault-proxy\r\n"
        f"{extra}"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + data


class FaultProxy:
    """A loopback HTTP relay that injects transport faults; see the module docstring."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost") or parts.port is None:
            raise ValueError("the upstream must be http://127.0.0.1:PORT")
        self.upstream = (parts.hostname, parts.port)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._faults: list[_Fault] = []
        self._log: list[ProxiedRequest] = []
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FaultProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(MAX_CONNECTIONS)  # a backlog below the connection cap would reset bursts
        listener.settimeout(0.1)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"fault-proxy-{self.port}", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(JOIN_TIMEOUT)
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
            threads = list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: as a base for token URLs, or as a forward proxy."""
        return f"http://127.0.0.1:{self.port}"

    def proxy_url(self, user: str, password: str) -> str:
        """The proxy's URL with credentials, as people write them in HTTPS_PROXY."""
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    # -- faults and log ----------------------------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        step: int = 16,
        delay: float = 0.05,
        keep: float = 0.5,
        pause: float = 0.2,
        head_first: bool = False,
    ) -> None:
        """Queue a fault for the next ``times`` requests.

        ``step``/``delay``/``head_first``: the drip; ``keep``: the fraction of the body sent
        before a mid-body reset or cut; ``pause``: seconds between that partial answer and the
        close (so the client has read the head and is waiting for the rest).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(KINDS)}")
        if times < 1 or step < 1 or not 0 <= delay <= 5 or not 0 <= keep < 1 or not 0 <= pause <= 5:
            raise ValueError("times and step must be >= 1, delay and pause in [0, 5], keep in [0, 1)")
        with self._lock:
            self._faults.append(_Fault(kind, times, step, delay, keep, pause, head_first))

    def clear(self) -> None:
        """Forget the faults not yet used."""
        with self._lock:
            self._faults.clear()

    @property
    def log(self) -> list[ProxiedRequest]:
        with self._lock:
            return list(self._log)

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.pop(0)
            return fault

    def _record(self, request: _Message, fault: _Fault | None, status: int | None) -> None:
        method, _, rest = request.start_line.partition(" ")
        target = rest.rsplit(" ", 1)[0]
        absolute = method == "CONNECT" or "://" in target
        path = target if method == "CONNECT" else urlsplit(target).path or "/"
        entry = ProxiedRequest(
            method=method,
            path=path,
            absolute=absolute,
            proxy_authorization=request.header("Proxy-Authorization") is not None,
            fault=fault.kind if fault else None,
            status=status,
        )
        with self._lock:
            self._log.append(entry)

    # -- serving -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tracked(self, sock: socket.socket) -> Iterator[socket.socket]:
        with self._lock:
            self._sockets.add(sock)
        try:
            yield sock
        finally:
            with self._lock:
                self._sockets.discard(sock)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._threads = [t for t in self._threads if t.is_alive()]
                busy = len(self._threads) >= MAX_CONNECTIONS
                if not busy:
                    thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
                    self._threads.append(thread)
            if busy:
                _reset(client)
                continue
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(IO_TIMEOUT)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._tracked(client):
            try:
                self._serve_one(client)
            except (OSError, ValueError):
                pass  # the client went away or sent something this small proxy does not handle
            finally:
                with contextlib.suppress(OSError):
                    client.close()

    def _serve_one(self, client: socket.socket) -> None:
        """One request per connection: every answer says ``Connection: close``."""
        with client.makefile("rb") as rfile:
            request = _read_message(rfile, response=False)
        if request is None:
            return
        fault = self._next_fault()
        kind = fault.kind if fault else None
        method = request.start_line.split(" ", 1)[0]
        if kind == "proxy_auth":
            self._record(request, fault, 407)  # logged before the answer: the client acts on it at once
            client.sendall(
                _simple_response(
                    407,
                    "Proxy Authentication Required",
                    "Proxy authentication required.\n",
                    "text/plain",
                    'Proxy-Authenticate: Basic realm="m2mauth fault proxy"\r\n',
                )
            )
            return
        if kind == "bad_gateway":
            self._record(request, fault, 502)
            client.sendall(_simple_response(502, "Bad Gateway", BAD_GATEWAY_PAGE, "text/html"))
            return
        if kind == "reset":
            self._record(request, fault, None)
            _reset(client)
            return
        if kind == "hang":
            self._record(request, fault, None)
            self._hang(client)
            return
        if method == "CONNECT":
            self._record(request, fault, 501)
            client.sendall(_simple_response(501, "Not Implemented", "No tunnels here.\n", "text/plain"))
            return
        response = self._relay(request)
        # Logged before delivery: a client may give up on a drip or a cut long before it ends.
        self._record(request, fault, int(response.start_line.split(" ", 2)[1]))
        assert fault is None or kind in ("reset_mid_body", "cut_mid_body", "drip")
        if fault is None:
            client.sendall(response.head + response.body)
        elif kind == "drip":
            self._drip(client, response, fault)
        else:
            kept = response.body[: int(len(response.body) * fault.keep)]
            client.sendall(response.head + kept)
            self._stopping.wait(fault.pause)
            if kind == "reset_mid_body":
                _reset(client)
            else:
                client.shutdown(socket.SHUT_WR)  # FIN: the answer ends early, politely

    def _relay(self, request: _Message) -> _Message:
        """Send the request upstream on a new connection (path-only target, Connection: close)."""
        method, _, rest = request.start_line.partition(" ")
        target, _, version = rest.rpartition(" ")
        if "://" in target:
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        kept = [
            line
            for line in request.head.split(b"\r\n")[1:]
            if line
            and line.split(b":", 1)[0].strip().lower()
            not in (b"connection", b"proxy-connection", b"proxy-authorization", b"keep-alive")
        ]
        head = b"\r\n".join([f"{method} {target} {version}".encode("latin-1"), *kept, b"Connection: close", b"", b""])
        upstream = socket.create_connection(self.upstream, timeout=IO_TIMEOUT)
        with self._tracked(upstream), upstream:
            upstream.sendall(head + request.body)
            with upstream.makefile("rb") as rfile:
                response = _read_message(rfile, response=True)
        if response is None:
            raise ValueError("the upstream closed without an answer")
        return response

    def _drip(self, client: socket.socket, response: _Message, fault: _Fault) -> None:
        data = response.head + response.body
        start = 0
        if fault.head_first:
            client.sendall(response.head)
            start = len(response.head)
        for offset in range(start, len(data), fault.step):
            if offset > start and self._stopping.wait(fault.delay):
                return
            client.sendall(data[offset : offset + fault.step])

    def _hang(self, client: socket.socket) -> None:
        """Say nothing until the client closes, the proxy stops, or MAX_HANG passes."""
        waited = 0.0
        while waited < MAX_HANG and not self._stopping.is_set():
            readable, _, _ = select.select([client], [], [], 0.1)
            waited += 0.1
            if readable:
                try:
                    if not client.recv(4096):
                        return  # the client gave up and closed
                except OSError:
                    return
