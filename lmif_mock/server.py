"""``LMIFServer``: the fake LMIF with its HTTP API served from a background thread.

Binds 127.0.0.1 and a free port by default, starts and stops in milliseconds, logs nothing per
request, and is a context manager. HTTP is served by
:class:`~lmif_mock.http.serving.bounded_server.BoundedWSGIServer` (bounded connections and
threads, a time limit per request, JSON for its own refusals). Everything in :class:`FakeLMIF`
(emit, deliveries, retry, reset, webhooks, clock) is available on it directly, so a Python test
and an HTTP client see the same state.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from lmif_mock.clock import Clock
from lmif_mock.errors import LMIFMockError
from lmif_mock.fake import FakeLMIF
from lmif_mock.http.app import API, ENVIRONMENTS, MAX_BODY_BYTES, PLANS, default_plan
from lmif_mock.http.ratelimit import PLAN_LIMITS, RateLimits
from lmif_mock.http.serving.bounded_server import BoundedWSGIServer
from lmif_mock.retry import RetryPolicy
from lmif_mock.store import Store


class QuietRequestHandler(WSGIRequestHandler):
    """werkzeug's handler without the line per request (and per error) on stderr (for receivers)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None


class ServerError(LMIFMockError):
    """The server could not start (port in use, bad host...)."""


def generate_api_key(environment: str = "sandbox") -> str:
    """A key in the provider's style for ``environment`` (``lmif_test_…`` or ``lmif_live_…``)."""
    return ENVIRONMENTS[environment] + secrets.token_urlsafe(24)


class LMIFServer(FakeLMIF):
    """A running fake LMIF: ``server.url`` for HTTP clients, the FakeLMIF API for Python tests.

    ``api_key`` is generated when absent (``lmif_test_…`` in the sandbox environment);
    ``environment="live"`` has no sandbox test identities and no test events; ``plan`` (Sandbox,
    Basic, Standard, Enterprise; by default Sandbox in the sandbox, Standard in live) decides
    features such as batch identity checks and the rate limits. Requests are counted against
    the plan's limits on the fake's clock but, so that tests are not throttled by accident, not
    refused unless ``rate_limits=True`` (the plan's documented limits), ``rate_limits=
    RateLimits(per_minute, per_day)`` (custom, e.g. Enterprise) or ``rate_limit=N`` (N per
    minute, the plan's daily quota) is given. ``port=0`` picks a free port.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = 0,
        retry_policy: RetryPolicy | None = None,
        store: Store | None = None,
        allowed_hosts: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        environment: str = "sandbox",
        rate_limit: int | None = None,
        rate_limits: RateLimits | bool = False,
        plan: str | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_workers: int = 8,
        enforce_inprocess_timeout: bool = True,
    ) -> None:
        super().__init__(
            clock=clock,
            seed=seed,
            retry_policy=retry_policy,
            store=store,
            allowed_hosts=allowed_hosts,
            max_workers=max_workers,
            enforce_inprocess_timeout=enforce_inprocess_timeout,
        )
        if environment not in ENVIRONMENTS:
            raise ServerError(f"environment must be one of {sorted(ENVIRONMENTS)}")
        plan = plan or default_plan(environment)
        if plan not in PLANS:
            raise ServerError(f"plan must be one of {list(PLANS)}")
        if rate_limit is not None:
            rate_limits = RateLimits(rate_limit, PLAN_LIMITS[plan].per_day)
        self.environment = environment
        self._configured_rate_limits = rate_limits
        self.host = host
        self.port = port
        self.api = API(
            self,
            api_key or generate_api_key(environment),
            environment=environment,
            rate_limits=rate_limits,
            plan=plan,
            max_body_bytes=max_body_bytes,
            on_clock_change=self._clock_changed,
        )
        self.max_body_bytes = max_body_bytes
        self._server: BoundedWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._apply_environment()

    def _apply_environment(self) -> None:
        """Live has neither the sandbox's test identities nor its test events."""
        live = self.environment == "live"
        self.webhooks.sandbox = not live
        if live:
            self.world.remove_sandbox_identities()

    @property
    def api_key(self) -> str:
        """The key to send as ``Authorization: Bearer <api_key>`` (the current one)."""
        return self.api.api_key

    def reset(self) -> None:
        """Forget everything (see FakeLMIF.reset), the requests counted against the rate limits
        included, and go back to the starting API key."""
        super().reset()
        self.api.keys.reset()
        self.set_rate_limits(self._configured_rate_limits)
        self._apply_environment()

    def set_rate_limits(self, rate_limits: RateLimits | bool) -> None:
        """Count from zero under new limits until the next :meth:`reset` (which goes back to
        the constructor's): ``True`` the plan's documented limits, enforced; ``False`` the
        plan's limits counted but never enforced; ``RateLimits(...)`` those, enforced."""
        with_plan = PLAN_LIMITS[self.api.plan]
        self.api.limiter.configure(
            rate_limits if isinstance(rate_limits, RateLimits) else with_plan,
            enforced=rate_limits is not False,
        )

    def rotate_api_key(self, new_key: str | None = None) -> str:
        """Issue a new key; the old one keeps working for 24 hours of the fake's clock."""
        chosen = new_key or generate_api_key(self.api.environment)
        self.api.keys.rotate(chosen, self.clock.now())
        return chosen

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (the server must be started)."""
        if self._server is None:
            raise ServerError("the server is not running; call start() or use it in a with block")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self._server.server_port}"

    @property
    def running(self) -> bool:
        """Whether the HTTP thread is serving."""
        return self._server is not None

    def start(self) -> LMIFServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        try:
            server = BoundedWSGIServer(
                self.host, self.port, self.api, max_body_bytes=self.max_body_bytes
            )
        except (OSError, SystemExit) as exc:
            raise ServerError(f"cannot listen on {self.host}:{self.port}: {exc}") from None
        self._server = server
        self.port = server.server_port
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"lmif-server-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port and background work."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.close()

    def _clock_changed(self) -> None:
        saver = getattr(self.store, "save_clock", None)
        if saver is not None:
            saver(self.clock.now())

    def __enter__(self) -> LMIFServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<LMIFServer {where} clock={self.clock!r}>"
