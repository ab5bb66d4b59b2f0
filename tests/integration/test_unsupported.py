"""Pilot Status features outside Zapgate's scope answer 501 NOT_SUPPORTED naming the feature,
on every method and sub-path, after authentication."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error
from zapgate.web.api.v1.unsupported import FEATURES

SUB_PATHS = {
    "/v1/calls": ["/v1/calls/permissions/request", "/v1/calls/c_1/accept"],
    "/v1/phone-lines": ["/v1/phone-lines/verification/contact/email/send"],
    "/v1/ads": ["/v1/ads/accounts/act_1"],
    "/v1/lead-pages": ["/v1/lead-pages/p_1/forms/f_1"],
}


@pytest.mark.parametrize(("path", "feature"), FEATURES)
def test_out_of_scope_features_answer_501(api, number, tenant, path, feature):
    for key in (number["key"], tenant["key"]):
        for method in ("GET", "POST", "PATCH", "DELETE"):
            for target in [path, *SUB_PATHS.get(path, [])]:
                body = assert_error(api.request(method, target, key), 501, "NOT_SUPPORTED")
                assert feature in body["error"] and body["feature"] == feature
    assert_error(api.get(path), 401, "UNAUTHORIZED")


def test_number_payments_answer_501(api, tenant, number):
    body = assert_error(api.post(f"/v1/numbers/{number['id']}/pay", tenant["key"]), 501, "NOT_SUPPORTED")
    assert "payments" in body["error"]


def test_the_schema_documents_each_feature_once(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path, _ in FEATURES:
        assert set(paths[path]) == {"get"} and "501" in paths[path]["get"]["responses"]
