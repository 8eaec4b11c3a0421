"""Answering a request the server's loop has already received, on a worker thread.

werkzeug's own request handler does the HTTP work (parsing the head, the WSGI environ, chunked
bodies, ``Expect: 100-continue``, writing the answer); what is changed here is where its bytes
come from and how long anything may take:

- it reads the bytes the loop received first, then the socket, never past the request's deadline
  (:class:`~lmif_mock.http.serving.request_reader.RequestReader`), and once the answer is written
  it stops waiting for request bytes the app left unread, so draining them cannot hold a worker;
- a request that does not arrive whole by its deadline gets the same JSON 408 the loop gives,
  whatever the app then makes of the missing bytes;
- writing the answer never waits on a client that does not read: what it does not take at once
  is left for the server's loop to send
  (:class:`~lmif_mock.http.serving.unsent_answers.HandOffWriter`);
- what the stdlib parser refuses is answered in the API's JSON error shape, and nothing is logged.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler

from lmif_mock.http.serving.request_framing import MAX_HEAD_BYTES
from lmif_mock.http.serving.request_reader import READER_KEY, RequestReader
from lmif_mock.http.serving.server_refusals import CODES_BY_STATUS, refusal
from lmif_mock.http.serving.unsent_answers import HandOffWriter, UnsentAnswer, UnsentBudget


@dataclass
class ArrivedRequest:
    """A connection with a complete request (or all of it the loop would hold), for a worker."""

    sock: socket.socket
    address: Any
    data: bytes
    deadline: float
    continue_sent: bool = False
    #: What the client has not read of the answer when the worker is done (the loop sends it).
    unsent: UnsentAnswer | None = None


class AnsweringServer(BaseWSGIServer):
    """What the handler needs of its server (the bounded server is one), declared here so that
    this module does not import the server that imports it."""

    request_timeout: float
    write_timeout: float
    unsent_budget: UnsentBudget


class ArrivedRequestHandler(WSGIRequestHandler):
    """werkzeug's WSGI handler, given a request the loop already received; quiet; JSON refusals."""

    server: AnsweringServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        arrived: ArrivedRequest = self.request
        self.connection = arrived.sock
        arrived.sock.setblocking(True)
        if arrived.sock.family in (socket.AF_INET, socket.AF_INET6):
            arrived.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.writer = HandOffWriter(
            arrived.sock, self.server.write_timeout, self.server.unsent_budget
        )
        self.wfile = self.writer
        self.reader = RequestReader(
            arrived.sock, arrived.data, arrived.deadline, self._answer_timeout
        )
        self.rfile = self.reader

    def _answer_timeout(self) -> None:
        """The request's deadline passed while its body was still being read (the loop handed
        it over early, past its buffer budget): the loop's own 408, not the app's guess."""
        timeout = self.server.request_timeout
        self.writer.answer_instead(
            refusal(
                "REQUEST_TIMEOUT",
                f"The request did not arrive whole within {timeout:g} seconds",
                {"limitSeconds": timeout},
            )
        )

    def finish(self) -> None:
        super().finish()
        arrived: ArrivedRequest = self.request
        arrived.unsent = self.writer.take_unsent()

    def handle(self) -> None:
        self.close_connection = True
        try:
            self.handle_one_request()
        except (ConnectionError, TimeoutError) as exc:
            self.connection_dropped(exc)

    def handle_expect_100(self) -> bool:
        if not self.request.continue_sent:
            super().handle_expect_100()
        return True

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed and self.request_version == "HTTP/0.9":
            # the loop refuses these first; an HTTP/0.9 answer would have no status line
            self.send_error(400, "Malformed request: the request line has no HTTP version")
            return False
        if parsed and "Expect" in self.headers:
            del self.headers["Expect"]  # answered once already; werkzeug would answer it again
        return parsed

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[READER_KEY] = self.reader
        return environ

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib parser's refusals (bad request line, version, header lines) as JSON."""
        self.close_connection = True
        status = int(code)
        name = CODES_BY_STATUS.get(status, "BAD_REQUEST")
        text = message or HTTPStatus(status).phrase
        details: dict[str, Any] = {"reason": explain or text}
        if name == "URI_TOO_LONG":
            details["limit"] = MAX_HEAD_BYTES
        answer = refusal(name, text, details, with_body=getattr(self, "command", "") != "HEAD")
        self.wfile.write(answer)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None
