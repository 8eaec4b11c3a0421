"""Talking to a running fake's control API from the CLI: one POST, one clear error."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping
from typing import Any, TextIO
from urllib.parse import urlencode

import urllib3


class ControlError(Exception):
    """The fake could not be reached, or refused the request; the message says which.

    ``status`` is the HTTP status of a refusal (None when the fake was not reached), so a
    command can tell the user's mistake (4xx, exit 2) from a failure.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        #: The API's error code (e.g. ``RECEIVERS_BUSY``), when it answered one.
        self.code = code
        #: Seconds the answer's ``Retry-After`` asked the client to wait, if it said.
        self.retry_after = retry_after

    @property
    def is_refused_input(self) -> bool:
        """Whether the fake refused what was sent as invalid (a usage error, not a failure)."""
        return self.status in (400, 413, 422)


def error_message(answer: Any, status: int) -> str:
    """The API's error in one line: its message, then each detail as ``field: reason``.

    A bare "Invalid request" does not say which option was wrong; the details do.
    """
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return f"HTTP {status}"
    message = str(error.get("message") or f"HTTP {status}")
    details = error.get("details")
    reasons = []
    if isinstance(details, list):
        for detail in details:
            if not isinstance(detail, dict):
                continue
            field, reason = detail.get("field"), detail.get("message")
            text = f"{field}: {reason}" if field else str(reason)
            # A reason the message already says (the library's words repeated as the detail of
            # the field "body") is left out rather than printed twice.
            if reason and str(reason).lower() not in message.lower():
                reasons.append(text)
    return f"{message} ({'; '.join(reasons)})" if reasons else message


#: Seconds a command keeps asking again while the fake answers RECEIVERS_BUSY (too many requests
#: already wait on webhook receivers); past it the refusal is the command's error.
BUSY_PATIENCE = 30.0


class ControlClient:
    """POSTs JSON to ``/_mock/...`` of the fake at ``server`` with its API key (keep-alive).

    A POST refused because too many requests already wait on receivers (503 RECEIVERS_BUSY) is
    sent again after its ``Retry-After`` for up to :data:`BUSY_PATIENCE` seconds, saying so in
    one line on ``busy_notes`` when given: the refusal changed nothing, so asking again is safe.
    """

    def __init__(self, server: str, api_key: str, busy_notes: TextIO | None = None) -> None:
        self.server = server.rstrip("/")
        self.api_key = api_key
        self.busy_notes = busy_notes
        self._http = urllib3.PoolManager(retries=False)

    def post(self, path: str, body: Any = None) -> Any:
        """The ``data`` of a 200 or 201 answer; :class:`ControlError` for anything else."""
        headers = {}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        deadline = time.monotonic() + BUSY_PATIENCE
        said = False
        while True:
            try:
                return self._request("POST", path, payload, headers, read_timeout=120)
            except ControlError as exc:
                pause = exc.retry_after if exc.retry_after is not None else 1.0
                if exc.code != "RECEIVERS_BUSY" or time.monotonic() + pause > deadline:
                    raise
                if self.busy_notes is not None and not said:  # one line, not one per try
                    print(
                        f"{exc}; asking again every {pause:g} s for up to {BUSY_PATIENCE:g} s",
                        file=self.busy_notes,
                        flush=True,
                    )
                    said = True
                time.sleep(pause)

    def get(self, path: str, query: Mapping[str, Any], *, read_timeout: float) -> Any:
        """The ``data`` of a 200 answer to ``GET path?query`` (a long poll may take
        ``read_timeout`` seconds); :class:`ControlError` for anything else."""
        return self._request("GET", f"{path}?{urlencode(query)}", None, {}, read_timeout)

    def get_page(
        self, path: str, query: Mapping[str, Any], *, read_timeout: float
    ) -> tuple[Any, dict[str, Any]]:
        """The ``data`` and ``meta`` (``total``, ``limit``, ``offset``) of one page of a list."""
        answer = self._answer("GET", f"{path}?{urlencode(query)}", None, {}, read_timeout)
        meta = answer.get("meta")
        if not isinstance(meta, dict) or not isinstance(meta.get("total"), int):
            raise ControlError(f"{self.server} answered a page without meta.total")
        return answer["data"], meta

    def _request(
        self,
        method: str,
        path: str,
        payload: bytes | None,
        headers: dict[str, str],
        read_timeout: float,
    ) -> Any:
        return self._answer(method, path, payload, headers, read_timeout)["data"]

    def _answer(
        self,
        method: str,
        path: str,
        payload: bytes | None,
        headers: dict[str, str],
        read_timeout: float,
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}", **headers}
        try:
            response = self._http.request(
                method,
                self.server + path,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(connect=5, read=read_timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ControlError(f"cannot reach {self.server}: {exc}") from None
        try:
            answer = json.loads(response.data or b"{}")
        except ValueError:
            raise ControlError(f"{self.server} did not answer JSON ({response.status})") from None
        if response.status not in (200, 201):
            error = answer.get("error") if isinstance(answer, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            raise ControlError(
                error_message(answer, response.status),
                response.status,
                code if isinstance(code, str) else None,
                _seconds(response.headers.get("Retry-After")),
            )
        if not isinstance(answer, dict) or "data" not in answer:
            raise ControlError(f"{self.server} answered {response.status} without data")
        return answer


def _seconds(text: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the fake sends whole seconds), or None if absent or odd."""
    try:
        seconds = float(text) if text is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and 0 <= seconds <= BUSY_PATIENCE else None


def failed(exc: ControlError, err: TextIO) -> int:
    """Say what went wrong in one line; the exit code every control command gives for it:
    2 when the fake refused what was sent as invalid (a usage error), else 1 (a failure, as
    when the fake cannot be reached)."""
    print(f"error: {exc}", file=err)
    return 2 if exc.is_refused_input else 1


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """``--server`` and ``--api-key``, defaulting to the environment, for every command that
    talks to a running fake (so they read the same everywhere)."""
    parser.add_argument(
        "--server",
        default=os.environ.get("LMIF_MOCK_URL"),
        help="a running fake (default $LMIF_MOCK_URL)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("LMIF_MOCK_API_KEY"),
        help="its API key (default $LMIF_MOCK_API_KEY)",
    )


def server_missing(args: argparse.Namespace, err: TextIO) -> bool:
    """Whether ``--server`` or ``--api-key`` is missing (neither given nor in the environment);
    if so the usage error naming both ways to give them is printed to ``err``."""
    if args.server and args.api_key:
        return False
    print("error: give --server and --api-key (or $LMIF_MOCK_URL, $LMIF_MOCK_API_KEY)", file=err)
    return True
