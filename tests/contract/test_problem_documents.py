"""What the OpenAPI document promises about errors, and the 405 it describes."""

from __future__ import annotations

import uuid

from tests.support.api import Api


async def test_every_operation_documents_its_errors_as_problem_json(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    assert "Problem" in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            errors = {s: r for s, r in operation["responses"].items() if s[0] in "45"}
            assert "4XX" in errors, f"{method.upper()} {path}"
            for status, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (
                    f"{method.upper()} {path} {status}"
                )


async def test_an_undeclared_method_gets_405_naming_every_method_of_that_path(api: Api) -> None:
    response = await api.http.request("OPTIONS", f"/api/v1/meetings/{uuid.uuid4()}")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"


async def test_a_method_no_route_at_that_path_has_gets_405_not_a_validation_error(
    api: Api,
) -> None:
    response = await api.http.request("PUT", "/api/v1/meetings/stats")
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
