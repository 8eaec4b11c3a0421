"""A tiny JSON client for the fake's HTTP API, over real loopback HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3

_POOL = urllib3.PoolManager(retries=False)


@dataclass
class Answer:
    status: int
    body: Any
    headers: urllib3.HTTPHeaderDict

    @property
    def data(self) -> Any:
        return self.body["data"]

    @property
    def code(self) -> str:
        return str(self.body["error"]["code"])


class Client:
    def __init__(self, base: str, key: str | None) -> None:
        self.base = base.rstrip("/")
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Content-Type": "application/json"}
        if self.key is not None:
            sent["Authorization"] = f"Bearer {self.key}"
        sent.update(headers or {})
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        )
        response = _POOL.request(method, self.base + path, body=payload, headers=sent, timeout=30)
        assert response.headers["Content-Type"].startswith("application/json"), response.data[:200]
        return Answer(response.status, json.loads(response.data), response.headers)

    def get(self, path: str, **kw: Any) -> Answer:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, body, **kw)
