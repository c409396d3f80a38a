"""The HTTP side of the local provider: a threading server on 127.0.0.1 and its request handler.

The handler reads a request (``Content-Length`` or chunked, at most 1 MiB), hands it to the
provider as a :class:`~._http.Request` and writes the :class:`~._http.Response` back, or resets
the connection when the answer says so. The server keeps track of open connections, so that
stopping the provider ends idle keep-alive connections at once.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import socketserver
import struct
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import urlsplit

from ._http import Request, Response, parse_query, redact_text

logger = logging.getLogger("m2mauth.testing")

MAX_BODY = 1 << 20
LISTEN_BACKLOG = max(socket.SOMAXCONN, 1024)


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True  # a client that never hangs up must not keep the process alive
    # socketserver's default listen backlog is 5: with more clients connecting at once the
    # kernel's SYN queue overflows into SYN cookies, whose connections are then dropped and
    # reset when the accept queue is full (ConnectionResetError under load). Users test their
    # concurrent pipelines against this server, so take what the kernel allows (it caps the
    # value at net.core.somaxconn).
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self, address: tuple[str, int], answer: Callable[[Request], Response], clock: Callable[[], float]
    ) -> None:
        self.answer = answer  # the provider's answer to a parsed request
        self.clock = clock  # the provider's clock, for the Date header
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, TokenRequestHandler)

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


class TokenRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "m2mauth-testing/1"
    sys_version = ""
    timeout = 30  # seconds an idle keep-alive connection is kept
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True

    def _token_server(self) -> TokenServer:
        return cast(TokenServer, self.server)

    def setup(self) -> None:
        super().setup()
        self._token_server().track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self._token_server().untrack(self.connection)

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
        when = timestamp if timestamp is not None else self._token_server().clock()
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
        response = self._token_server().answer(req)
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
