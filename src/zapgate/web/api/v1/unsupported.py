"""Pilot Status features outside Zapgate's messaging scope: every method on their paths answers
``501 {error, code: "NOT_SUPPORTED"}`` naming the feature (after authentication, like any
route), rather than a bare 404 that reads like a typo in the client."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from zapgate import errors
from zapgate.web.deps import PrincipalDep
from zapgate.web.errors import error_responses

router = APIRouter(tags=["not supported"])

# (path, feature) for every path family of the SDK's resources that Zapgate leaves out.
FEATURES: tuple[tuple[str, str], ...] = (
    ("/v1/calls", "WhatsApp calls"),
    ("/v1/phone-lines", "Phone lines"),
    ("/v1/leads", "Leads"),
    ("/v1/ads", "Ads (Click-to-WhatsApp accounts and summaries)"),
    ("/v1/referrals", "Referrals"),
    ("/v1/lead-pages", "Lead pages"),
    ("/v1/subscription", "Subscriptions and payments"),
)
PAYMENT_PATH = "/v1/numbers/{number_id}/pay"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_RESPONSES = error_responses((401, "UNAUTHORIZED"), (501, "NOT_SUPPORTED"))


def _refuse(feature: str) -> Any:
    async def refuse(principal: PrincipalDep) -> Any:
        raise errors.NotSupported(f"{feature} are not supported by Zapgate", feature=feature)

    return refuse


for _path, _feature in FEATURES:
    # One documented operation per feature (the schema stays short); every method and every
    # path under it answers the same.
    router.add_api_route(
        _path, _refuse(_feature), methods=["GET"], responses=_RESPONSES, summary=f"{_feature}: not supported"
    )
    router.add_api_route(_path, _refuse(_feature), methods=METHODS[1:], include_in_schema=False)
    router.add_api_route(_path + "/{rest:path}", _refuse(_feature), methods=METHODS, include_in_schema=False)
router.add_api_route(
    PAYMENT_PATH,
    _refuse("Number payments"),
    methods=["POST"],
    responses=_RESPONSES,
    summary="Number payments: not supported",
    name="unsupported payments",
)
