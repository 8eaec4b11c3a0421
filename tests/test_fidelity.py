"""The REST API as the provider documents it (issue 16): each documented request sent as the docs
write it, each answer compared with the docs' example field for field, status and error codes
included; the rate-limit windows walked on a virtual clock.

The ``DOC_*`` literals are the examples from the provider's pages (API reference, Rate Limits,
Error Codes, Licensing, the boxing-events guide), reproduced as data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lmif_mock import (
    EVENT_TYPES,
    PLAN_LIMITS,
    FakeLMIF,
    LMIFServer,
    RateLimits,
    SandboxOnlyError,
    UnknownEventType,
    VirtualClock,
)
from lmif_mock.http.ratelimit import RateLimiter
from lmif_mock.terms import years_after
from tests.api_client import Answer, Client
from tests.processes import served
from tests.receivers import Recorder

T0 = datetime(2024, 1, 15, 10, 0, 0, tzinfo=timezone.utc)

DOC_CLAIM_DETAIL: dict[str, Any] = {
    "id": "claim_xyz789",
    "name": "Taylor Swift",
    "variations": ["T. Swift", "Taylor Alison Swift"],
    "entityType": "INDIVIDUAL",
    "status": "verified",
    "verificationTier": "GOLD",
    "verification": {
        "method": "stripe_identity",
        "completedAt": "2024-01-02T00:00:00Z",
        "documents": ["government_id"],
    },
    "proofs": [],  # the docs show a twitter proof; the fake records none (designed)
    "referenceImages": [{"id": "img_001", "url": "https://...", "isPrimary": True}],
    "createdAt": "2024-01-01T00:00:00Z",
    "verifiedAt": "2024-01-02T00:00:00Z",
    "hasBox": True,
    "boxId": "box_abc123",
}
DOC_CLAIM_CREATE = {
    "name": "John Smith",
    "variations": ["J. Smith", "Johnny Smith"],
    "entityType": "INDIVIDUAL",
    "referenceImages": [
        {"url": "https://example.com/photo1.jpg", "isPrimary": True},
        {"url": "https://example.com/photo2.jpg"},
    ],
}
DOC_BOX_DETAIL: dict[str, Any] = {
    "id": "box_abc123",
    "claimId": "claim_xyz789",
    "identityName": "Taylor Swift",
    "policy": "MONETIZE",
    "enforcement": "MODERATE",
    "policyConfig": {
        "royaltyRate": 0.10,
        "revenueTypes": ["subscription", "per_message", "tips"],
        "minimumPayout": 100,
        "contentGuidelines": "https://...",
        "nsfw": False,
    },
    "status": "active",
    "createdAt": "2024-01-05T00:00:00Z",
    "updatedAt": "2024-01-10T00:00:00Z",
    "stats": {
        "totalViolations": 47,
        "activeGracePeriods": 3,
        "licensedPlatforms": 12,
        "monthlyRevenue": 15000,
        "resolvedViolations": 44,
        "totalLicenses": 15,
        "lifetimeRevenue": 45000,
    },
}
DOC_BOX_CREATED_DATA = {
    "boxId": "box_xyz789",
    "claimId": "claim_123456",
    "identityName": "Taylor Swift",
    "entityType": "INDIVIDUAL",
    "policy": "MONETIZE",
    "enforcement": "MODERATE",
    "policyConfig": {"royaltyRate": 0.10, "revenueTypes": ["subscription", "per_message", "tips"]},
}
DOC_LICENSE_DETAIL: dict[str, Any] = {
    "id": "lic_abc123",
    "boxId": "box_xyz789",
    "identityName": "Taylor Swift",
    "tier": "commercial",
    "status": "active",
    "monthlyFee": 500,
    "currency": "USD",
    "royaltyRate": 0.10,
    "validFrom": "2024-01-01T00:00:00Z",
    "expiresAt": "2025-01-01T00:00:00Z",
    "autoRenew": True,
    "terms": {
        "maxUsers": 50000,
        "contentGuidelines": "https://...",
        "nsfw": False,
        "exclusivity": False,
        "territory": "worldwide",
    },
    "usage": {
        "currentPeriod": "2024-01",
        "subscribers": 5000,
        "messages": 250000,
        "revenue": 25000,
        "royaltyDue": 2500,
    },
}
DOC_CHECK: dict[str, Any] = {
    "isBoxed": True,
    "isClaimed": True,
    "confidence": 0.95,
    "matchedIdentity": {
        "claimId": "claim_xyz789",
        "boxId": "box_abc123",
        "name": "Taylor Swift",
        "variations": ["T. Swift", "Taylor Alison Swift"],
        "entityType": "INDIVIDUAL",
        "verificationTier": "GOLD",
    },
    "policy": "MONETIZE",
    "policyDetails": {
        "royaltyRate": 0.10,
        "revenueTypes": ["subscription", "per_message", "tips"],
        "contentGuidelines": "https://...",
    },
    "detection": {"layer": 1, "classification": "EXACT_MATCH", "parodyLikelihood": 0.02},
    "action": "TRACK_REVENUE",
}
DOC_RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "300",
    "X-RateLimit-Remaining": "299",
    "X-RateLimit-Reset": "1705312860",
}
DOC_RATE_LIMITED = {
    "code": "RATE_LIMITED",
    "message": "Rate limit exceeded",
    "details": {"limit": 300, "remaining": 0, "resetAt": "2024-01-15T10:01:00Z", "retryAfter": 45},
}
DOC_WRONG_ENVIRONMENT = {
    "code": "WRONG_ENVIRONMENT",
    "message": "API key environment mismatch",
    "details": "Using sandbox key (lmif_test_*) with production endpoint",
}
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def same_fields(ours: Any, documented: Any, path: str = "") -> None:
    """The same keys at every level and the same kind of value (numbers are one kind); an
    empty list in our answer matches any documented list."""
    where = path or "answer"
    if isinstance(documented, dict):
        assert isinstance(ours, dict), f"{where}: {ours!r} is not an object"
        assert set(ours) == set(documented), f"{where}: keys {sorted(ours)} != {sorted(documented)}"
        for key, value in documented.items():
            same_fields(ours[key], value, f"{path}.{key}")
    elif isinstance(documented, list):
        assert isinstance(ours, list), f"{where}: {ours!r} is not a list"
        for item in ours:
            same_fields(item, documented[0], f"{path}[]")
    elif isinstance(documented, bool):
        assert isinstance(ours, bool), f"{where}: {ours!r} is not a boolean"
    elif isinstance(documented, (int, float)):
        assert isinstance(ours, (int, float)), f"{where}: {ours!r} is not a number"
        assert not isinstance(ours, bool), f"{where}: {ours!r} is not a number"
    else:
        assert isinstance(ours, type(documented)), f"{where}: {ours!r} is not a {type(documented)}"


@pytest.fixture
def sandbox() -> Iterator[LMIFServer]:
    with LMIFServer(clock=VirtualClock(), seed=1) as server:
        yield server


@pytest.fixture
def api(sandbox: LMIFServer) -> Client:
    return Client(sandbox.url, sandbox.api_key)


@pytest.fixture
def recorder(sandbox: LMIFServer) -> Recorder:
    receiver = Recorder()
    sandbox.webhooks.create(receiver, ["*"])
    return receiver


def sent(recorder: Recorder) -> list[dict[str, Any]]:
    return [json.loads(body) for body in recorder.bodies]


def verified_claim(api: Client, name: str = "John Smith") -> dict[str, Any]:
    claim = api.post("/v1/lmif/claims", {**DOC_CLAIM_CREATE, "name": name}).data
    return dict(api.post(f"/_mock/world/claims/{claim['id']}/verify").data)


# -- claims ------------------------------------------------------------------------------------


def test_create_claim_as_documented_starts_pending(api: Client) -> None:
    created = api.post("/v1/lmif/claims", DOC_CLAIM_CREATE)
    assert created.status == 201
    claim = created.data
    assert set(claim) == set(DOC_CLAIM_DETAIL)
    assert (claim["status"], claim["verificationTier"], claim["verifiedAt"]) == (
        "pending",
        None,
        None,
    )
    assert (claim["name"], claim["variations"], claim["entityType"]) == (
        "John Smith",
        ["J. Smith", "Johnny Smith"],
        "INDIVIDUAL",
    )
    assert [(i["url"], i["isPrimary"]) for i in claim["referenceImages"]] == [
        ("https://example.com/photo1.jpg", True),
        ("https://example.com/photo2.jpg", False),
    ]
    assert all(i["id"].startswith("img_") for i in claim["referenceImages"])
    assert (claim["hasBox"], claim["boxId"]) == (False, None)
    assert api.get(f"/v1/lmif/claims/{claim['id']}").data == claim
    listed = api.get("/v1/lmif/claims?status=pending")
    assert [c["id"] for c in listed.data] == [claim["id"]]


def test_a_verified_claim_matches_the_documented_detail(api: Client) -> None:
    claim = verified_claim(api)
    assert (claim["status"], claim["verificationTier"]) == ("verified", "GOLD")
    assert claim["verifiedAt"] == claim["verification"]["completedAt"] == "2024-01-15T10:00:00Z"
    box = api.post("/v1/lmif/boxes", {"claimId": claim["id"], "policy": "MONETIZE"}).data
    same_fields(api.get(f"/v1/lmif/claims/{claim['id']}").data, DOC_CLAIM_DETAIL)
    assert api.get(f"/v1/lmif/claims/{claim['id']}").data["boxId"] == box["id"]


def test_claim_create_errors(api: Client) -> None:
    missing = api.post("/v1/lmif/claims", {"variations": ["x"]})
    assert (missing.status, missing.code) == (400, "VALIDATION_ERROR")
    assert missing.body["error"]["details"] == [{"field": "name", "message": "is required"}]
    bad = api.post(
        "/v1/lmif/claims",
        {"name": "X", "entityType": "ROBOT", "referenceImages": [{"isPrimary": True}]},
    )
    assert bad.status == 400
    fields = {p["field"] for p in bad.body["error"]["details"]}
    assert fields == {"entityType", "referenceImages[0].url"}
    assert api.get("/v1/lmif/claims?status=pending").body["meta"]["total"] == 0


def test_patch_and_delete_claim(api: Client) -> None:
    pending = api.post("/v1/lmif/claims", DOC_CLAIM_CREATE).data
    renamed = api.call("PATCH", f"/v1/lmif/claims/{pending['id']}", {"name": "John Q. Smith"})
    assert (renamed.status, renamed.data["name"]) == (200, "John Q. Smith")
    api.post(f"/_mock/world/claims/{pending['id']}/verify")
    fixed = api.call("PATCH", f"/v1/lmif/claims/{pending['id']}", {"name": "Someone Else"})
    assert (fixed.status, fixed.code) == (409, "CONFLICT")
    more = api.call("PATCH", f"/v1/lmif/claims/{pending['id']}", {"variations": ["JQS"]})
    assert more.data["variations"] == ["JQS"]
    box = api.post("/v1/lmif/boxes", {"claimId": pending["id"], "policy": "LICENSE"}).data
    refused = api.call("DELETE", f"/v1/lmif/claims/{pending['id']}")
    assert (refused.status, refused.code) == (409, "CONFLICT")
    api.call("DELETE", f"/v1/lmif/boxes/{box['id']}")
    deleted = api.call("DELETE", f"/v1/lmif/claims/{pending['id']}")
    assert (deleted.status, deleted.data) == (200, {"id": pending["id"], "deleted": True})
    assert api.get(f"/v1/lmif/claims/{pending['id']}").status == 404
    assert api.call("DELETE", "/v1/lmif/claims/claim_missing").status == 404


def test_rejected_claim_cannot_be_boxed(api: Client) -> None:
    claim = api.post("/v1/lmif/claims", {"name": "Nobody Real"}).data
    rejected = api.post(f"/_mock/world/claims/{claim['id']}/reject").data
    assert rejected["status"] == "rejected"
    answer = api.post("/v1/lmif/boxes", {"claimId": claim["id"], "policy": "OPEN"})
    assert (answer.status, answer.code) == (409, "CONFLICT")
    again = api.post(f"/_mock/world/claims/{claim['id']}/verify")
    assert (again.status, again.code) == (409, "CONFLICT")


# -- boxes -------------------------------------------------------------------------------------


def test_create_box_with_the_documented_body(api: Client, recorder: Recorder) -> None:
    claim = verified_claim(api, "Taylor Swift")
    body = {
        "claimId": claim["id"],
        "policy": "MONETIZE",
        "enforcement": "MODERATE",
        "policyConfig": {
            "royaltyRate": 0.10,
            "revenueTypes": ["subscription", "per_message", "tips"],
            "minimumPayout": 100,
            "nsfw": False,
        },
    }
    created = api.post("/v1/lmif/boxes", body)
    assert created.status == 201
    same_fields(created.data, DOC_BOX_DETAIL)
    assert created.data["claimId"] == claim["id"]
    assert created.data["identityName"] == "Taylor Swift"
    assert created.data["policyConfig"]["minimumPayout"] == 100
    (event,) = sent(recorder)
    assert event["type"] == "box.created"
    assert event["data"] == {
        **DOC_BOX_CREATED_DATA,
        "boxId": created.data["id"],
        "claimId": claim["id"],
    }
    assert api.get(f"/v1/lmif/claims/{claim['id']}").data["hasBox"] is True


def test_box_create_errors(api: Client, recorder: Recorder) -> None:
    old_shape = api.post("/v1/lmif/boxes", {"identityName": "Ada", "policy": "MONETIZE"})
    assert old_shape.status == 400
    assert {p["field"] for p in old_shape.body["error"]["details"]} == {
        "identityName",
        "claimId",
    }
    unknown = api.post("/v1/lmif/boxes", {"claimId": "claim_nope", "policy": "MONETIZE"})
    assert (unknown.status, unknown.code) == (404, "NOT_FOUND")
    pending = api.post("/v1/lmif/claims", {"name": "Pending Person"}).data
    early = api.post("/v1/lmif/boxes", {"claimId": pending["id"], "policy": "MONETIZE"})
    assert (early.status, early.code) == (409, "CONFLICT")
    claim = verified_claim(api)
    bad_config = api.post(
        "/v1/lmif/boxes",
        {"claimId": claim["id"], "policy": "MONETIZE", "policyConfig": {"royaltyRate": 2}},
    )
    assert bad_config.body["error"]["details"][0]["field"] == "policyConfig.royaltyRate"
    assert sent(recorder) == []


# -- licenses ----------------------------------------------------------------------------------


def _license(api: Client, sandbox: LMIFServer, tier: str = "commercial") -> dict[str, Any]:
    box = sandbox.world.box_named("Test Celebrity B")  # MONETIZE: approved at once
    request = {"boxId": box.id, "tier": tier, "useCase": "AI companion platform",
               "estimatedUsers": 10000, "acceptGuidelines": True}  # fmt: skip
    answer = api.post("/v1/lmif/licenses/request", request).data
    assert answer["status"] == "approved"
    return dict(api.get(f"/v1/lmif/licenses/{answer['license']['id']}").data)


def test_license_detail_matches_the_docs_and_runs_a_calendar_year(
    api: Client, sandbox: LMIFServer
) -> None:
    license_ = _license(api, sandbox)
    documented = {**DOC_LICENSE_DETAIL, "cancelledAt": None}  # cancelledAt: designed
    assert set(license_) == set(documented)
    same_fields({k: v for k, v in license_.items() if k != "cancelledAt"}, DOC_LICENSE_DETAIL)
    assert (license_["validFrom"], license_["expiresAt"]) == (
        "2024-01-15T10:00:00Z",
        "2025-01-15T10:00:00Z",
    )


def test_years_after_keeps_the_calendar_date() -> None:
    assert years_after(datetime(2024, 1, 17, tzinfo=timezone.utc)) == datetime(
        2025, 1, 17, tzinfo=timezone.utc
    )
    assert years_after(datetime(2024, 2, 29, 9, tzinfo=timezone.utc)) == datetime(
        2025, 2, 28, 9, tzinfo=timezone.utc
    )


def test_renew_extends_by_a_calendar_year(api: Client, sandbox: LMIFServer) -> None:
    license_ = _license(api, sandbox)
    renewed = api.post(f"/v1/lmif/licenses/{license_['id']}/renew")
    assert renewed.status == 200
    assert renewed.data["expiresAt"] == "2026-01-15T10:00:00Z"
    assert api.post("/v1/lmif/licenses/lic_missing/renew").status == 404
    extra = api.post(f"/v1/lmif/licenses/{license_['id']}/renew", {"years": 2})
    assert (extra.status, extra.code) == (400, "VALIDATION_ERROR")


def test_usage_report_shows_in_the_license(api: Client, sandbox: LMIFServer) -> None:
    license_ = _license(api, sandbox)
    report = api.post(
        f"/v1/lmif/licenses/{license_['id']}/usage",
        {"period": "2024-01", "subscribers": 5000, "messages": 250000, "revenue": 25000},
    )
    assert report.status == 201
    rate = license_["royaltyRate"]
    assert report.data == {
        "licenseId": license_["id"],
        "period": "2024-01",
        "subscribers": 5000,
        "messages": 250000,
        "revenue": 25000,
        "royaltyDue": round(25000 * rate, 2),
        "reportedAt": "2024-01-15T10:00:00Z",
    }
    usage = api.get(f"/v1/lmif/licenses/{license_['id']}").data["usage"]
    assert usage == {
        "currentPeriod": "2024-01",
        "subscribers": 5000,
        "messages": 250000,
        "revenue": 25000,
        "royaltyDue": round(25000 * rate, 2),
    }
    for bad in ({"period": "2024-13"}, {"period": "2030-01"}, {"revenue": -1}, {"clicks": 3}):
        answer = api.post(f"/v1/lmif/licenses/{license_['id']}/usage", bad)
        assert (answer.status, answer.code) == (400, "VALIDATION_ERROR"), bad
    assert api.post("/v1/lmif/licenses/lic_missing/usage", {"revenue": 1}).status == 404


def test_delete_cancels_without_revoking(
    api: Client, sandbox: LMIFServer, recorder: Recorder
) -> None:
    license_ = _license(api, sandbox)
    cancelled = api.call("DELETE", f"/v1/lmif/licenses/{license_['id']}")
    assert cancelled.status == 200
    assert (cancelled.data["status"], cancelled.data["autoRenew"]) == ("active", False)
    assert cancelled.data["cancelledAt"] == "2024-01-15T10:00:00Z"
    assert "license.revoked" not in [e["type"] for e in sent(recorder)]
    again = api.call("DELETE", f"/v1/lmif/licenses/{license_['id']}")
    assert (again.status, again.code) == (409, "CONFLICT")
    sandbox.clock.advance(days=367)
    expired = api.get(f"/v1/lmif/licenses/{license_['id']}").data
    assert expired["status"] == "expired"
    assert [e["type"] for e in sent(recorder)][-2:] == ["license.expiring", "license.expired"]
    usage = api.post(f"/v1/lmif/licenses/{license_['id']}/usage", {"revenue": 1})
    assert (usage.status, usage.code) == (409, "CONFLICT")
    revived = api.post(f"/v1/lmif/licenses/{license_['id']}/renew").data
    assert (revived["status"], revived["cancelledAt"]) == ("active", None)
    assert revived["validFrom"] == "2025-01-16T10:00:00Z"  # renewed from now, 367 days in
    assert revived["expiresAt"] == "2026-01-16T10:00:00Z"


def test_only_license_and_monetize_boxes_are_licensable(
    sandbox: LMIFServer, recorder: Recorder
) -> None:
    world = sandbox.world
    world.box_identity("Team Spirit", policy="TEAM")
    outcomes = {}
    for name in ("Test Celebrity A", "Test Celebrity B", "Test Celebrity C", "Test Celebrity D",
                 "Test Corporation", "Team Spirit"):  # fmt: skip
        box = world.box_named(name)
        outcomes[box.policy] = world.request_license(box.id).status
    assert outcomes == {
        "BLOCK_ALL": "denied",
        "MONETIZE": "approved",
        "LICENSE": "pending",
        "OPEN": "denied",
        "BLOCK_COMMERCIAL": "denied",
        "TEAM": "denied",
    }


# -- identity checks ---------------------------------------------------------------------------


def test_batch_check_takes_and_answers_the_guides_shape(api: Client) -> None:
    avatars = [
        {"id": "avatar_1", "name": "Test Celebrity B", "imageUrl": "https://x/1.png"},
        {"id": "avatar_2", "name": "Plain Bot", "imageUrl": "https://x/2.png"},
        {"id": "avatar_3", "name": "Test Celebrity A", "imageUrl": "https://x/3.png"},
    ]
    answer = api.post("/v1/lmif/identity/check/batch", avatars)
    assert answer.status == 200
    checks = answer.body
    assert [c["id"] for c in checks] == ["avatar_1", "avatar_2", "avatar_3"]
    for check, avatar in zip(checks, avatars, strict=True):
        single = api.post("/v1/lmif/identity/check", {k: avatar[k] for k in ("name", "imageUrl")})
        assert check == {"id": avatar["id"], **single.body}
    same_fields({k: v for k, v in checks[0].items() if k != "id"}, DOC_CHECK)
    too_many = [{**avatars[1], "id": str(n)} for n in range(101)]
    assert api.post("/v1/lmif/identity/check/batch", too_many).status == 400
    wrapped = api.post("/v1/lmif/identity/check/batch", {"items": avatars})
    assert (wrapped.status, wrapped.code) == (400, "VALIDATION_ERROR")


def test_batch_check_from_python(sandbox: LMIFServer) -> None:
    checks = sandbox.world.check_batch([{"id": "a", "name": "Test Celebrity C", "imageUrl": "u"}])
    assert [(c["id"], c["action"]) for c in checks] == [("a", "REQUIRE_LICENSE")]


# -- environments ------------------------------------------------------------------------------


def test_live_has_no_sandbox_identities_or_test_events() -> None:
    with LMIFServer(clock=VirtualClock(), environment="live") as live:
        api = Client(live.url, live.api_key)
        assert live.api_key.startswith("lmif_live_")
        assert api.get("/v1/lmif/boxes").body["meta"]["total"] == 0
        check = api.post(
            "/v1/lmif/identity/check", {"name": "Test Celebrity A", "imageUrl": "https://x/a"}
        ).body
        assert (check["isBoxed"], check["action"]) == (False, "ALLOW")
        hook = live.webhooks.create(Recorder(), ["*"])
        refused = api.post(
            "/v1/lmif/webhooks/test", {"eventType": "box.created", "webhookId": hook.id}
        )
        assert (refused.status, refused.code) == (403, "FORBIDDEN")
        with pytest.raises(SandboxOnlyError):
            live.webhooks.test("box.created", webhook_id=hook.id)
        assert live.events() == []
        live.reset()
        assert live.world.boxes == {}


def test_sandbox_has_test_identities_and_test_events(sandbox: LMIFServer) -> None:
    names = {b.identity_name: b.policy for b in sandbox.world.boxes.values()}
    assert names == {
        "Test Celebrity A": "BLOCK_ALL",
        "Test Celebrity B": "MONETIZE",
        "Test Celebrity C": "LICENSE",
        "Test Celebrity D": "OPEN",
        "Test Corporation": "BLOCK_COMMERCIAL",
    }
    receiver = Recorder()
    sandbox.webhooks.create("http://127.0.0.1:9/never", ["license.approved"])
    hook = sandbox.webhooks.create(receiver, ["box.created"])
    event = sandbox.webhooks.test("grace_period.ending", webhook_id=hook.id)
    assert [json.loads(b)["id"] for b in receiver.bodies] == [event.id]
    with pytest.raises(UnknownEventType):
        sandbox.webhooks.test("box.nope", webhook_id=hook.id)
    signature = receiver.requests[0].headers["X-LMIF-Signature"]
    assert sandbox.webhooks.verify(receiver.bodies[0], signature, hook.secret)
    assert not sandbox.webhooks.verify(receiver.bodies[0], signature, "another secret")


def test_wrong_environment_answers_the_documented_error() -> None:
    with LMIFServer(clock=VirtualClock(), environment="live") as live:
        answer = Client(live.url, "lmif_test_abc").get("/v1/lmif/boxes")
    assert answer.status == 401
    assert answer.body["error"] == DOC_WRONG_ENVIRONMENT
    with LMIFServer(clock=VirtualClock()) as sandbox:
        other = Client(sandbox.url, "lmif_live_abc").get("/v1/lmif/boxes")
    assert (
        other.body["error"]["details"] == "Using production key (lmif_live_*) with sandbox endpoint"
    )


# -- rate limits -------------------------------------------------------------------------------


def hits(api: Client, count: int, path: str = "/v1/lmif/boxes") -> list[Answer]:
    return [api.get(path) for _ in range(count)]


def test_the_documented_headers_and_429_on_the_basic_plan() -> None:
    with LMIFServer(clock=VirtualClock(), plan="Basic", rate_limits=True) as server:
        api = Client(server.url, server.api_key)
        first = api.get("/v1/lmif/boxes")
        assert {h: first.headers[h] for h in RATE_HEADERS} == DOC_RATE_LIMIT_HEADERS
        assert [a.status for a in hits(api, 299)] == [200] * 299
        server.clock.advance(seconds=15)
        refused = api.get("/v1/lmif/boxes")
        assert refused.status == 429
        assert refused.body["error"] == DOC_RATE_LIMITED
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["Retry-After"] == "45"
        server.clock.advance(seconds=45)
        again = api.get("/v1/lmif/boxes")
        assert again.status == 200
        assert again.headers["X-RateLimit-Remaining"] == "299"
        assert again.headers["X-RateLimit-Reset"] == str(1705312860 + 60)


def test_sandbox_minute_and_day_windows_walked_on_the_virtual_clock() -> None:
    with LMIFServer(clock=VirtualClock(), rate_limits=True) as server:
        api = Client(server.url, server.api_key)
        served_today = 0
        for minute in range(17):  # 16 full minutes of 60, then 40 more: 1,000 in the day
            allowed = [a.status for a in hits(api, 61)].count(200)
            served_today += allowed
            assert allowed == (60 if minute < 16 else 40), minute
            server.clock.advance(minutes=1)
        assert served_today == 1000
        over = api.get("/v1/lmif/boxes")
        assert over.body["error"]["details"] == {
            "limit": 1000,
            "remaining": 0,
            "resetAt": "2024-01-16T00:00:00Z",
            "retryAfter": int((datetime(2024, 1, 16, tzinfo=timezone.utc) - server.clock.now())
                              .total_seconds()),
        }  # fmt: skip
        assert over.headers["X-RateLimit-Reset"] == str(int(datetime(2024, 1, 16).replace(
            tzinfo=timezone.utc).timestamp()))  # fmt: skip
        server.clock.advance(hours=14)  # past midnight UTC: a new day
        assert api.get("/v1/lmif/boxes").status == 200


@pytest.mark.parametrize("plan", ["Sandbox", "Basic", "Standard"])
def test_every_plans_documented_limits_are_walked(plan: str) -> None:
    documented = {"Sandbox": (60, 1_000), "Basic": (300, 50_000), "Standard": (1_000, 500_000)}
    assert (PLAN_LIMITS[plan].per_minute, PLAN_LIMITS[plan].per_day) == documented[plan]
    now = [T0]
    limiter = RateLimiter(PLAN_LIMITS[plan], lambda: now[0])
    per_minute, per_day = documented[plan]
    served_today = 0
    while True:
        in_minute = 0
        while limiter.take().allowed:
            in_minute += 1
        assert in_minute <= per_minute
        if in_minute == 0:
            break
        served_today += in_minute
        now[0] += timedelta(minutes=1)
    assert served_today == per_day
    now[0] = datetime(2024, 1, 16, tzinfo=timezone.utc)
    assert limiter.take().allowed


def test_headers_on_401_and_405_and_what_counts() -> None:
    with LMIFServer(clock=VirtualClock(), rate_limits=True) as server:
        api = Client(server.url, server.api_key)
        assert api.get("/v1/lmif/boxes").headers["X-RateLimit-Remaining"] == "59"
        unauthorised = Client(server.url, "lmif_test_wrong").get("/v1/lmif/boxes")
        assert unauthorised.status == 401
        assert unauthorised.headers["X-RateLimit-Remaining"] == "59"  # shown, not counted
        not_allowed = api.call("PUT", "/v1/lmif/boxes")
        assert not_allowed.status == 405
        assert not_allowed.headers["X-RateLimit-Remaining"] == "58"
        for _ in range(70):  # the control API is never counted
            control = api.get("/_mock/clock")
            assert control.status == 200
        assert control.headers["X-RateLimit-Remaining"] == "58"
        assert api.get("/v1/lmif/boxes").headers["X-RateLimit-Remaining"] == "57"
        server.reset()
        assert api.get("/v1/lmif/boxes").headers["X-RateLimit-Remaining"] == "59"
        hits(api, 59)
        assert api.get("/v1/lmif/boxes").status == 429
        api.post("/_mock/reset")
        assert api.get("/v1/lmif/boxes").status == 200


def test_custom_limits_and_limits_off_by_default() -> None:
    with LMIFServer(clock=VirtualClock(), plan="Enterprise",
                    rate_limits=RateLimits(per_minute=3, per_day=4)) as custom:  # fmt: skip
        api = Client(custom.url, custom.api_key)
        assert [a.status for a in hits(api, 4)] == [200, 200, 200, 429]
        custom.clock.advance(minutes=1)
        assert [a.status for a in hits(api, 2)] == [200, 429]
        assert api.get("/v1/lmif/boxes").body["error"]["details"]["limit"] == 4
    with LMIFServer(clock=VirtualClock()) as relaxed:
        api = Client(relaxed.url, relaxed.api_key)
        answers = hits(api, 65)
        assert {a.status for a in answers} == {200}
        assert answers[-1].headers["X-RateLimit-Limit"] == "60"
        assert answers[-1].headers["X-RateLimit-Remaining"] == "0"


@pytest.mark.lmif(rate_limits=True)
def test_the_marker_turns_the_plans_limits_on(lmif_server: LMIFServer) -> None:
    api = Client(lmif_server.url, lmif_server.api_key)
    assert [a.status for a in hits(api, 61)] == [200] * 60 + [429]


def test_the_fixture_keeps_limits_off(lmif_server: LMIFServer) -> None:
    api = Client(lmif_server.url, lmif_server.api_key)
    assert {a.status for a in hits(api, 61)} == {200}


def test_serve_applies_its_plans_limits_by_default() -> None:
    with served("--clock", "virtual", "--quiet") as (process, url, key):
        assert any("Sandbox plan, 60/min, 1,000/day" in line for line in process.lines)
        api = Client(url, key)
        assert [a.status for a in hits(api, 61)] == [200] * 60 + [429]
        api.post("/_mock/clock/advance", {"minutes": 1})
        assert api.get("/v1/lmif/boxes").status == 200
    with served("--clock", "virtual", "--quiet", "--no-rate-limits") as (_, url, key):
        assert {a.status for a in hits(Client(url, key), 61)} == {200}
    custom = ("--plan", "Basic", "--rate-limit", "2", "--rate-limit-per-day", "3")
    with served("--clock", "virtual", "--quiet", *custom) as (process, url, key):
        assert any("Basic plan, 2/min, 3/day" in line for line in process.lines)
        api = Client(url, key)
        assert [a.status for a in hits(api, 3)] == [200, 200, 429]
        api.post("/_mock/clock/advance", {"minutes": 1})
        assert [a.status for a in hits(api, 2)] == [200, 429]
        assert api.get("/v1/lmif/boxes").body["error"]["details"]["limit"] == 3


def test_set_rate_limits_lasts_until_reset() -> None:
    with LMIFServer(clock=VirtualClock()) as server:
        api = Client(server.url, server.api_key)
        server.set_rate_limits(RateLimits(per_minute=1))
        assert [a.status for a in hits(api, 2)] == [200, 429]
        server.reset()
        assert {a.status for a in hits(api, 3)} == {200}
        assert api.get("/v1/lmif/boxes").headers["X-RateLimit-Limit"] == "60"


# -- the catalogue's size, everywhere ----------------------------------------------------------


def test_nineteen_event_types_everywhere() -> None:
    assert len(EVENT_TYPES) == 19
    assert "19 known" in str(UnknownEventType("box.nope"))
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    assert "24 types" not in readme
    assert "24 event" not in readme
    assert "any of the 19 types" in readme


def test_python_world_calls_mirror_the_rest_ones() -> None:
    fake = FakeLMIF()
    claim = fake.world.create_claim("Grace Hopper", variations=["G. Hopper"])
    assert claim.status == "pending"
    fake.world.verify_claim(claim.id, tier="SILVER")
    box = fake.world.create_box(claim.id, policy="LICENSE")
    request = fake.world.request_license(box.id)
    assert fake.world.license_request(request.id).status == "pending"
    license_ = fake.world.approve_license(request.id)
    fake.world.report_usage(license_.id, revenue=100)
    assert fake.world.cancel_license(license_.id).auto_renew is False
    assert fake.world.renew_license(license_.id).cancelled_at is None


def _sdk_table() -> list[list[str]]:
    from pathlib import Path

    readme = Path(__file__).resolve().parent.parent.joinpath("README.md").read_text()
    start = readme.index("| SDK method or documented endpoint |")
    rows = readme[start:].split("\n\n", 1)[0].splitlines()[2:]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_sdk_table_covers_every_documented_route_and_names_real_calls() -> None:
    import re

    from lmif_mock.http.routes import ROUTES, openapi_path

    rows = _sdk_table()
    routes_column = " ".join(row[2] for row in rows)
    for route in ROUTES:
        if route.path.startswith("/v1/lmif/") and not route.path.startswith(
            ("/v1/lmif/events", "/v1/lmif/deliveries", "/v1/lmif/webhooks/<id>/deliveries")
        ):
            assert f"`{route.method} {openapi_path(route.path)}" in routes_column, route.path
    documented_sdk = {
        "identity.check", "identity.checkBatch", "claims.list", "claims.get", "claims.create",
        "boxes.list", "boxes.get", "boxes.create", "licenses.list", "licenses.get",
        "licenses.request", "licenses.getStatus", "violations.list", "violations.get",
        "gracePeriods.list", "gracePeriods.get", "webhooks.create", "webhooks.list",
        "webhooks.update", "webhooks.delete", "webhooks.rotateSecret", "webhooks.test",
        "webhooks.verify",
    }  # fmt: skip
    named = {
        m.group(1) for row in rows for m in [re.match(r"`([a-zA-Z]+\.[a-zA-Z]+)\(", row[0])] if m
    }
    assert named == documented_sdk
    with LMIFServer(clock=VirtualClock()) as server:
        for row in rows:
            for call in re.findall(r"`((?:world|webhooks)\.[a-z_]+)", row[1]):
                owner, name = call.split(".")
                assert hasattr(getattr(server, owner), name), call


def test_only_a_verified_claim_makes_an_identity_claimed(api: Client) -> None:
    def claimed() -> bool:
        body = {"name": "Ada Byron", "imageUrl": "https://x/a.png"}
        return bool(api.post("/v1/lmif/identity/check", body).body["isClaimed"])

    claim = api.post("/v1/lmif/claims", {"name": "Ada Byron"}).data
    assert claimed() is False
    api.post(f"/_mock/world/claims/{claim['id']}/verify")
    assert claimed() is True


def test_documented_error_examples_field_for_field() -> None:
    documented = {
        "UNAUTHORIZED": ("Invalid API key", "The provided API key is invalid or has been revoked"),
        "KEY_REVOKED": ("API key has been revoked", "This key was revoked on 2024-01-15T10:00:00Z"),
        "KEY_EXPIRED": ("API key has expired", "This key expired after rotation. Use the new key."),
    }
    with LMIFServer(clock=VirtualClock()) as server:
        wrong = Client(server.url, "lmif_test_not_issued").get("/v1/lmif/boxes")
        revoked_key = server.api_key
        server.rotate_api_key()
        Client(server.url, server.api_key).post("/_mock/keys/revoke", {"apiKey": revoked_key})
        revoked = Client(server.url, revoked_key).get("/v1/lmif/boxes")
        expiring_key = server.api_key
        server.rotate_api_key()
        server.clock.advance(hours=24)
        expired = Client(server.url, expiring_key).get("/v1/lmif/boxes")
        invalid = Client(server.url, server.api_key).post("/v1/lmif/claims", {"name": 7})
    for answer, code in (
        (wrong, "UNAUTHORIZED"),
        (revoked, "KEY_REVOKED"),
        (expired, "KEY_EXPIRED"),
    ):
        message, details = documented[code]
        assert answer.status == 401
        assert answer.body["error"] == {"code": code, "message": message, "details": details}
        assert answer.body["meta"]["requestId"].startswith("req_")
    assert invalid.status == 400
    assert invalid.body["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "Invalid request",
        "details": [{"field": "name", "message": "must be a non-empty string"}],
    }


def test_license_request_answers_as_documented(api: Client, sandbox: LMIFServer) -> None:
    pending_doc = {"id": "req_xyz789", "boxId": "box_abc123", "status": "pending",
                   "tier": "commercial", "submittedAt": "2024-01-15T10:00:00Z",
                   "estimatedReviewTime": "48-72 hours"}  # fmt: skip
    approved_license_doc = {"id": "lic_abc123", "boxId": "box_abc123", "tier": "commercial",
                            "monthlyFee": 500, "currency": "USD",
                            "validFrom": "2024-01-17T00:00:00Z",
                            "expiresAt": "2025-01-17T00:00:00Z", "terms": {"maxUsers": 50000}}  # fmt: skip
    box = sandbox.world.box_named("Test Celebrity C")  # LICENSE: waits for approval
    body = {"boxId": box.id, "tier": "commercial", "useCase": "AI companion platform",
            "estimatedUsers": 10000, "acceptGuidelines": True}  # fmt: skip
    pending = api.post("/v1/lmif/licenses/request", body)
    assert pending.status == 201
    assert set(pending.data) == set(pending_doc) | {"useCase"}  # useCase echoed: designed
    same_fields({k: pending.data[k] for k in pending_doc}, pending_doc)
    assert pending.data["estimatedReviewTime"] == "48-72 hours"
    api.post(f"/_mock/world/license-requests/{pending.data['id']}/approve")
    status = api.get(f"/v1/lmif/licenses/request/{pending.data['id']}").data
    assert status["status"] == "approved"
    license_ = status["license"]
    same_fields(
        {k: license_[k] for k in approved_license_doc if k != "terms"},
        {k: v for k, v in approved_license_doc.items() if k != "terms"},
    )
    assert license_["terms"]["maxUsers"] == 50000
    assert (license_["validFrom"], license_["expiresAt"]) == (
        "2024-01-15T10:00:00Z",
        "2025-01-15T10:00:00Z",
    )
    concepts_body = {**body, "platformId": "p1", "contentGuidelines": True}
    concepts_body.pop("acceptGuidelines")
    refused = api.post("/v1/lmif/licenses/request", concepts_body)
    assert (refused.status, refused.code) == (400, "VALIDATION_ERROR")
    assert {p["field"] for p in refused.body["error"]["details"]} == {
        "acceptGuidelines",
        "contentGuidelines",
        "platformId",
    }


def test_openapi_describes_the_new_routes_and_where_429_can_happen() -> None:
    from lmif_mock.http.openapi import document

    paths = document()["paths"]
    for path, method in (
        ("/v1/lmif/claims", "post"),
        ("/v1/lmif/claims/{id}", "patch"),
        ("/v1/lmif/claims/{id}", "delete"),
        ("/v1/lmif/licenses/{id}/renew", "post"),
        ("/v1/lmif/licenses/{id}/usage", "post"),
    ):
        operation = paths[path][method]
        assert "429" in operation["responses"], path
        headers = operation["responses"]["401"]["headers"]
        assert set(headers) == set(RATE_HEADERS)
    box_create = document()["components"]["schemas"]["BoxCreate"]
    assert box_create["required"] == ["claimId", "policy"]
    assert "429" not in paths["/_mock/clock"]["get"]["responses"]
