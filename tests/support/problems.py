"""The one check of an RFC 9457 problem document that the API tests share."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, type_suffix: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    if type_suffix:
        assert body["type"].endswith(type_suffix), body["type"]
    return body
