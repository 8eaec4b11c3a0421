"""Talking to a running fake's control API from the CLI: one POST, one clear error."""

from __future__ import annotations

import json
from typing import Any

import urllib3


class ControlError(Exception):
    """The fake could not be reached, or refused the request; the message says which."""


class ControlClient:
    """POSTs JSON to ``/_mock/...`` of the fake at ``server`` with its API key (keep-alive)."""

    def __init__(self, server: str, api_key: str) -> None:
        self.server = server.rstrip("/")
        self.api_key = api_key
        self._http = urllib3.PoolManager(retries=False)

    def post(self, path: str, body: Any = None) -> Any:
        """The ``data`` of a 200 or 201 answer; :class:`ControlError` for anything else."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        payload = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            payload = json.dumps(body).encode()
        try:
            response = self._http.request(
                "POST",
                self.server + path,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(connect=5, read=120),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise ControlError(f"cannot reach {self.server}: {exc}") from None
        try:
            answer = json.loads(response.data or b"{}")
        except ValueError:
            raise ControlError(f"{self.server} did not answer JSON ({response.status})") from None
        if response.status not in (200, 201):
            raise ControlError(str(answer.get("error", {}).get("message", response.status)))
        return answer["data"]
