"""The resource API answers in the provider's documented shapes, field for field, and its
transitions emit the events a receiver would get."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lmif_mock.server import LMIFServer
from tests.api_client import Client
from tests.receivers import Recorder

DOCUMENTED = {
    "box": {"id", "claimId", "identityName", "policy", "enforcement", "royaltyRate", "status", "createdAt", "stats"},
    "box.stats": {"totalViolations", "activeGracePeriods", "licensedPlatforms", "monthlyRevenue"},
    "box.detail": {"id", "claimId", "identityName", "policy", "enforcement", "status", "createdAt", "stats",
                   "policyConfig", "updatedAt"},
    "box.policyConfig": {"royaltyRate", "revenueTypes", "minimumPayout", "contentGuidelines", "nsfw"},
    "box.detail.stats": {"totalViolations", "activeGracePeriods", "licensedPlatforms", "monthlyRevenue",
                         "resolvedViolations", "totalLicenses", "lifetimeRevenue"},
    "violation": {"id", "boxId", "identityName", "status", "severity", "detectedAt", "avatar", "detection",
                  "gracePeriod"},
    "violation.avatar": {"id", "name", "creatorId", "userCount"},
    "violation.detection": {"confidence", "layer", "classification"},
    "violation.gracePeriod": {"id", "expiresAt", "daysRemaining"},
    "grace_period": {"id", "boxId", "violationId", "identityName", "status", "startedAt", "expiresAt",
                     "daysRemaining", "affectedAvatars", "affectedUsers"},
    "grace_period.avatar": {"avatarId", "name", "creatorId", "creatorEmail", "userCount", "status"},
    "license": {"id", "boxId", "identityName", "tier", "status", "monthlyFee", "royaltyRate", "validFrom",
                "expiresAt", "autoRenew"},
    "license.terms": {"maxUsers", "contentGuidelines", "nsfw", "exclusivity", "territory"},
    "license.usage": {"currentPeriod", "subscribers", "messages", "revenue", "royaltyDue"},
    "claim": {"id", "name", "variations", "entityType", "status", "verificationTier", "createdAt", "verifiedAt",
              "hasBox", "boxId"},
    "check": {"isBoxed", "isClaimed", "confidence", "matchedIdentity", "policy", "policyDetails", "detection",
              "action"},
    "check.matchedIdentity": {"claimId", "boxId", "name", "variations", "entityType", "verificationTier"},
    "check.policyDetails": {"royaltyRate", "revenueTypes", "contentGuidelines"},
    "check.detection": {"layer", "classification", "parodyLikelihood"},
}  # fmt: skip


@pytest.fixture
def recorder(server: LMIFServer, api: Client) -> Recorder:
    receiver = Recorder()
    server.webhooks.create(receiver, ["*"])
    return receiver


def types(recorder: Recorder) -> list[str]:
    return [json.loads(b)["type"] for b in recorder.bodies]


def box_by_name(api: Client, name: str) -> dict[str, Any]:
    return next(b for b in api.get("/v1/lmif/boxes?limit=100").data if b["identityName"] == name)


def test_boxes_list_detail_create_update_delete(api: Client, recorder: Recorder) -> None:
    listed = api.get("/v1/lmif/boxes")
    assert listed.body["meta"] == {"total": 5, "limit": 20, "offset": 0}
    item = listed.data[0]
    assert set(item) == DOCUMENTED["box"]
    assert set(item["stats"]) == DOCUMENTED["box.stats"]
    claim = api.post("/v1/lmif/claims", {"name": "Ada Lovelace"}).data
    api.post(f"/_mock/world/claims/{claim['id']}/verify")
    created = api.post("/v1/lmif/boxes", {"claimId": claim["id"], "policy": "MONETIZE",
                                          "policyConfig": {"royaltyRate": 0.25}})  # fmt: skip
    assert created.status == 201
    detail = created.data
    assert set(detail) == DOCUMENTED["box.detail"]
    assert set(detail["policyConfig"]) == DOCUMENTED["box.policyConfig"]
    assert set(detail["stats"]) == DOCUMENTED["box.detail.stats"]
    assert detail["policyConfig"]["royaltyRate"] == 0.25
    assert api.get("/v1/lmif/boxes?policy=MONETIZE").body["meta"]["total"] == 2
    assert api.get(f"/v1/lmif/boxes?claimId={detail['claimId']}").data[0]["id"] == detail["id"]
    again = api.post("/v1/lmif/boxes", {"claimId": claim["id"], "policy": "OPEN"})
    assert (again.status, again.code) == (409, "CONFLICT")
    bad = api.post("/v1/lmif/boxes", {"claimId": claim["id"], "policy": "SOMETIMES"})
    assert (bad.status, bad.code) == (400, "VALIDATION_ERROR")
    patched = api.call("PATCH", f"/v1/lmif/boxes/{detail['id']}", {"policy": "BLOCK_ALL"})
    assert patched.data["policy"] == "BLOCK_ALL"
    assert api.call("DELETE", f"/v1/lmif/boxes/{detail['id']}").data == {
        "id": detail["id"],
        "deleted": True,
    }
    assert api.call("DELETE", f"/v1/lmif/boxes/{detail['id']}").status == 409
    assert api.get("/v1/lmif/boxes/box_missing").status == 404
    assert types(recorder) == ["box.created", "box.updated", "box.deleted"]
    sent = json.loads(recorder.bodies[0])["data"]
    assert (sent["boxId"], sent["claimId"]) == (detail["id"], detail["claimId"])


def test_claims(api: Client) -> None:
    listed = api.get("/v1/lmif/claims")
    assert set(listed.data[0]) == DOCUMENTED["claim"]
    detail = api.get(f"/v1/lmif/claims/{listed.data[0]['id']}").data
    assert {"verification", "proofs", "referenceImages"} <= set(detail)
    assert api.get("/v1/lmif/claims?entityType=CORPORATION").body["meta"]["total"] == 1


def test_violation_and_grace_period_through_the_api(
    api: Client, recorder: Recorder, server: LMIFServer
) -> None:
    box = box_by_name(api, "Test Celebrity C")
    avatar = api.post("/_mock/world/avatars", {"name": "Celebrity C Bot", "userCount": 4000}).data
    detected = api.post("/_mock/world/violations", {"boxId": box["id"], "avatarId": avatar["id"]})
    assert detected.status == 201
    violation_id = detected.data["id"]
    server.clock.advance(days=1)
    listed = api.get(f"/v1/lmif/violations?boxId={box['id']}").data[0]
    assert set(listed) == DOCUMENTED["violation"]
    assert set(listed["avatar"]) == DOCUMENTED["violation.avatar"]
    assert set(listed["detection"]) == DOCUMENTED["violation.detection"]
    assert set(listed["gracePeriod"]) == DOCUMENTED["violation.gracePeriod"]
    assert listed["gracePeriod"]["daysRemaining"] == 29  # "29 the day after detection"
    detail = api.get(f"/v1/lmif/violations/{violation_id}").data
    assert detail["policy"] == "LICENSE"
    assert {"description", "imageUrl", "creatorName", "createdAt"} <= set(detail["avatar"])
    assert detail["gracePeriod"]["notifications"]["day0"]["sent"] is True
    assert detail["gracePeriod"]["notifications"]["day7"] == {
        "sent": False,
        "scheduledAt": "2024-01-22T10:00:00Z",
    }
    period_id = listed["gracePeriod"]["id"]
    period = api.get("/v1/lmif/grace-periods?status=active").data[0]
    assert set(period) == DOCUMENTED["grace_period"]
    assert (period["id"], period["affectedAvatars"], period["affectedUsers"]) == (
        period_id,
        1,
        4000,
    )
    assert api.get("/v1/lmif/grace-periods?expiringWithin=28").data == []
    assert len(api.get("/v1/lmif/grace-periods?expiringWithin=29").data) == 1
    assert api.get("/v1/lmif/grace-periods?expiringWithin=soon").status == 400
    assert api.get("/v1/lmif/grace-periods?expiringWithin=4102057").status == 400  # was a 500
    assert api.get("/v1/lmif/grace-periods?expiringWithin=%C2%B2").status == 400  # a Unicode digit
    full = api.get(f"/v1/lmif/grace-periods/{period_id}").data
    assert set(full["affectedAvatars"][0]) == DOCUMENTED["grace_period.avatar"]
    assert full["resolutionOptions"][0]["type"] == "license"
    server.clock.advance(days=7)
    assert (
        api.get(f"/v1/lmif/grace-periods/{period_id}").data["notifications"]["day7"]["sent"] is True
    )
    resolved = api.post(
        f"/v1/lmif/grace-periods/{period_id}/resolve", {"resolution": "avatar_modified"}
    )
    assert resolved.data["status"] == "resolved"
    assert api.post(f"/v1/lmif/violations/{violation_id}/resolve").status == 409
    assert types(recorder) == ["violation.detected", "grace_period.started", "grace_period.reminder",
                               "violation.resolved", "grace_period.resolved"]  # fmt: skip


def test_appeal_and_decision_over_http(api: Client, recorder: Recorder) -> None:
    box = box_by_name(api, "Test Corporation")
    violation = api.post("/_mock/world/violations", {"boxId": box["id"]}).data
    appealed = api.post(f"/v1/lmif/violations/{violation['id']}/appeal", {"reason": "parody"})
    assert appealed.data["status"] == "appealed"
    assert api.post(f"/v1/lmif/violations/{violation['id']}/appeal").status == 409
    assert (
        api.post(f"/v1/lmif/violations/{violation['id']}/appeal", {"reason": "bored"}).status == 400
    )
    decided = api.post(f"/_mock/world/violations/{violation['id']}/decide-appeal", {"upheld": True})
    assert decided.data["status"] == "dismissed"
    assert types(recorder)[-3:] == [
        "violation.appealed",
        "violation.resolved",
        "grace_period.resolved",
    ]


def test_licenses_request_approve_get_cancel(
    api: Client, recorder: Recorder, server: LMIFServer
) -> None:
    box = box_by_name(api, "Test Celebrity C")
    body = {"boxId": box["id"], "tier": "commercial", "useCase": "Branded assistant", "estimatedUsers": 2000,
            "acceptGuidelines": True}  # fmt: skip
    requested = api.post("/v1/lmif/licenses/request", body)
    assert requested.status == 201
    assert requested.data["status"] == "pending"
    assert requested.data["estimatedReviewTime"] == "48-72 hours"
    assert requested.data["id"].startswith("req_")
    approved = api.post(f"/_mock/world/license-requests/{requested.data['id']}/approve")
    status = api.get(f"/v1/lmif/licenses/request/{requested.data['id']}").data
    assert status["status"] == "approved" == approved.data["status"]
    license_ = status["license"]
    assert DOCUMENTED["license"] <= set(license_)
    assert set(license_["terms"]) == DOCUMENTED["license.terms"]
    assert set(license_["usage"]) == DOCUMENTED["license.usage"]
    assert license_["currency"] == "USD"
    assert license_["monthlyFee"] == 500
    listed = api.get(f"/v1/lmif/licenses?tier=commercial&boxId={box['id']}").data
    assert [set(item) for item in listed] == [DOCUMENTED["license"]]
    cancelled = api.call("DELETE", f"/v1/lmif/licenses/{license_['id']}")
    assert (cancelled.data["status"], cancelled.data["autoRenew"]) == ("active", False)
    assert api.call("DELETE", f"/v1/lmif/licenses/{license_['id']}").status == 409
    assert types(recorder) == ["license.requested", "license.approved"]
    for bad in (
        {**body, "acceptGuidelines": False},
        {**body, "tier": "galactic"},
        {**body, "boxId": "box_no"},
    ):
        assert api.post("/v1/lmif/licenses/request", bad).status in (400, 404)
    denied = api.post(
        "/v1/lmif/licenses/request", {**body, "boxId": box_by_name(api, "Test Celebrity A")["id"]}
    )
    assert denied.data["status"] == "denied"


def test_identity_check_and_batch(api: Client) -> None:
    check = api.post(
        "/v1/lmif/identity/check", {"name": "Test Celebrity B", "imageUrl": "https://x/y.png"}
    ).body
    assert set(check) == DOCUMENTED["check"]
    assert set(check["matchedIdentity"]) == DOCUMENTED["check.matchedIdentity"]
    assert set(check["policyDetails"]) == DOCUMENTED["check.policyDetails"]
    assert set(check["detection"]) == DOCUMENTED["check.detection"]
    assert (check["isBoxed"], check["policy"], check["action"]) == (
        True,
        "MONETIZE",
        "TRACK_REVENUE",
    )
    nobody = api.post(
        "/v1/lmif/identity/check", {"name": "Nobody Famous", "imageUrl": "https://x/z.png"}
    ).body
    assert (nobody["isBoxed"], nobody["matchedIdentity"], nobody["action"]) == (
        False,
        None,
        "ALLOW",
    )
    assert api.post("/v1/lmif/identity/check", {"name": "X"}).status == 400
    batch = api.post("/v1/lmif/identity/check/batch", [
        {"id": "a1", "name": "Test Celebrity A", "imageUrl": "https://x/a.png"},
        {"id": "a2", "name": "Someone Else", "imageUrl": "https://x/b.png"},
    ]).body  # fmt: skip
    assert [(c["id"], c["action"], c["isBoxed"]) for c in batch] == [
        ("a1", "BLOCK", True),
        ("a2", "ALLOW", False),
    ]
    too_many = [{"id": str(n), "name": "n", "imageUrl": "u"} for n in range(101)]
    assert api.post("/v1/lmif/identity/check/batch", too_many).status == 400
    broken = api.post("/v1/lmif/identity/check/batch", [{"id": "a", "name": "n"}])
    assert broken.body["error"]["details"][0]["field"] == "items[0].imageUrl"


def test_scenarios_over_http(api: Client, recorder: Recorder) -> None:
    played = api.post("/_mock/scenarios/appeal-rejected")
    assert played.status == 201
    assert [e["type"] for e in played.data["events"]][-1] == "grace_period.expired"
    assert [e["type"] for e in played.data["events"]] == types(recorder)
    missing = api.post("/_mock/scenarios/space-invasion")
    assert (missing.status, missing.code) == (404, "NOT_FOUND")
    assert "grace-period-expires" in missing.body["error"]["details"]["known"]


def test_batch_checks_need_the_standard_plan() -> None:
    with LMIFServer(plan="Basic") as basic:
        answer = Client(basic.url, basic.api_key).post(
            "/v1/lmif/identity/check/batch", [{"id": "a", "name": "n", "imageUrl": "u"}]
        )
    assert (answer.status, answer.code) == (403, "INSUFFICIENT_TIER")
    assert answer.body["error"]["details"] == {
        "feature": "batch_check", "requiredTier": "Standard", "currentTier": "Basic",
    }  # fmt: skip
