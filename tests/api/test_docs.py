"""GET /api/v1/openapi.json and the Swagger UI at /api/docs (webapp/api/__init__.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.api.conftest import API

OPENAPI = f"{API}/openapi.json"
# Every API.md path implemented so far (relative to /api/v1).
IMPLEMENTED_PATHS = {
    "/auth/login": {"post"},
    "/auth/refresh": {"post"},
    "/me": {"get"},
    "/users": {"get", "post"},
    "/users/{id}": {"patch"},
    "/departments": {"get", "post"},
    "/departments/{id}/service-points": {"post"},
}
PUBLIC_OPERATIONS = {("/auth/login", "post"), ("/auth/refresh", "post")}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.get(OPENAPI)
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.removeprefix(API), method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def _response_schema(document: dict[str, Any], path: str, method: str, status: str) -> dict:
    operation = document["paths"][API + path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    return _resolve(document, schema)


def test_it_serves_the_document_without_a_token(client):
    response = client.get(OPENAPI)

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "WWW-Authenticate" not in response.headers


def test_it_is_an_openapi_3_document(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    assert document["info"]["version"]


def test_it_lists_every_implemented_path(document):
    documented: dict[str, set[str]] = {}
    for path, method, _operation in _operations(document):
        documented.setdefault(path, set()).add(method)

    for path, methods in IMPLEMENTED_PATHS.items():
        assert path in documented, f"{path} is missing from the OpenAPI document"
        assert methods <= documented[path], path


def test_it_documents_only_api_v1_paths(document):
    assert all(path.startswith(API + "/") for path in document["paths"])


def test_it_declares_the_bearer_scheme(document):
    schemes = document["components"]["securitySchemes"]

    assert schemes is not None
    assert schemes["bearerAuth"]["type"] == "http"
    assert schemes["bearerAuth"]["scheme"] == "bearer"


def test_it_declares_bearer_security_on_every_protected_operation(document):
    assert document.get("security", []) is not None  # absent or a list, never null
    for path, method, operation in _operations(document):
        effective = operation.get("security", document.get("security"))
        if (path, method) in PUBLIC_OPERATIONS:
            assert not effective, f"{method} {path} should need no token"
        else:
            assert operation.get("security") == [{"bearerAuth": []}], f"{method} {path}"


def test_it_marks_the_public_operations_with_an_explicit_empty_security(document):
    for path, method, operation in _operations(document):
        if (path, method) in PUBLIC_OPERATIONS:
            assert operation["security"] == [], f"{method} {path}"


def test_it_names_a_server_relative_to_the_host_serving_it(document):
    assert document["servers"] == [
        {"url": "/", "description": document["servers"][0]["description"]}
    ]
    assert all(path.startswith("/api/v1/") for path in document["paths"])


def test_it_states_a_license(document):
    license_ = document["info"]["license"]

    assert license_["name"]
    assert license_.get("identifier") or license_.get("url")


def _json_media(holder: dict[str, Any]) -> dict[str, Any] | None:
    media: dict[str, Any] | None = holder.get("content", {}).get("application/json")
    return media


def _examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) for every parameter, JSON request body and response."""
    found = []
    for path, method, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            if "example" in parameter:
                where = f"{method} {path} parameter {parameter['name']}"
                found.append((where, parameter["schema"], parameter["example"]))
        holders = [("request", operation.get("requestBody", {}))]
        holders += list(operation["responses"].items())
        for name, holder in holders:
            media = _json_media(holder)
            if media is not None and "example" in media:
                found.append((f"{method} {path} {name}", media["schema"], media["example"]))
    return found


def test_every_operation_has_a_summary_and_a_description(document):
    for path, method, operation in _operations(document):
        assert operation.get("summary", "").strip(), f"{method} {path} has no summary"
        assert len(operation.get("description", "")) >= 40, f"{method} {path}: describe it"


def test_every_operation_has_request_and_response_examples(document):
    for path, method, operation in _operations(document):
        for parameter in operation.get("parameters", []):
            assert "example" in parameter, f"{method} {path}: no example of {parameter['name']}"
        body = _json_media(operation.get("requestBody", {}))
        if body is not None:
            assert "example" in body, f"{method} {path}: no request example"
        for status, response in operation["responses"].items():
            media = _json_media(response)
            if media is not None:
                assert "example" in media, f"{method} {path} {status}: no example"


def test_every_example_is_valid_against_its_schema(document):
    from jsonschema import Draft202012Validator, FormatChecker
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    root = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:openapi", root)
    examples = _examples(document)
    assert len(examples) > 100

    for where, schema, example in examples:
        # References point into the document, registered as urn:openapi.
        absolute = json.loads(
            json.dumps(schema).replace('"#/components/', '"urn:openapi#/components/')
        )
        validator = Draft202012Validator(
            absolute, registry=registry, format_checker=FormatChecker()
        )
        errors = [error.message for error in validator.iter_errors(example)]
        assert not errors, f"{where}: {errors}"


def test_the_example_check_catches_an_invalid_example(document):
    """A guard on the guard: an example that breaks its schema is reported."""
    operation = document["paths"][API + "/me"]["get"]
    operation["responses"]["200"]["content"]["application/json"]["example"] = {"id": "seven"}

    with pytest.raises(AssertionError, match="get /me 200"):
        test_every_example_is_valid_against_its_schema(document)


def test_it_documents_the_error_envelope(document):
    for path, method, _operation in _operations(document):
        for status in ("401", "422"):
            schema = _response_schema(document, path, method, status)
            assert "error" in schema["properties"], f"{method} {path} {status}"


@pytest.mark.parametrize(
    ("path", "method", "status", "fields"),
    [
        (
            "/auth/login",
            "post",
            "200",
            {"access_token", "refresh_token", "token_type", "expires_in"},
        ),
        ("/me", "get", "200", {"id", "username", "full_name", "role"}),
        ("/users", "post", "201", {"id", "username", "full_name", "role", "active"}),
        ("/users", "get", "200", {"items", "total", "page", "per_page"}),
        ("/departments", "post", "201", {"id", "code", "name", "accepts_walk_ins"}),
        ("/departments/{id}/service-points", "post", "201", {"id", "name", "department_id"}),
    ],
)
def test_it_documents_the_contract_fields(document, path, method, status, fields):
    schema = _response_schema(document, path, method, status)

    assert fields <= set(schema["properties"])


def test_it_documents_the_department_list_as_a_plain_list(document):
    schema = _response_schema(document, "/departments", "get", "200")

    assert schema["type"] == "array"
    item = _resolve(document, schema["items"])
    assert {"id", "code", "name", "accepts_walk_ins", "service_points"} <= set(item["properties"])


def test_it_is_a_valid_openapi_document(document):
    validator = pytest.importorskip("openapi_spec_validator")

    validator.validate(document)


# -------------------------------------------------------------- Swagger UI


def test_it_serves_the_swagger_ui_without_a_cdn(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page)
    assert references, "the page loads no assets at all"
    assert all(reference.startswith("/") for reference in references), references
    assert not any(reference.startswith("//") for reference in references)
    assert "http://" not in page and "https://" not in page
    assert "/api/docs/assets/js/swagger-ui-bundle.js" in references


def test_it_points_the_swagger_ui_at_the_document(client):
    page = client.get("/api/docs").get_data(as_text=True)

    assert OPENAPI in page


def test_it_uses_no_inline_script_on_the_docs_page(client):
    response = client.get("/api/docs")

    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    inline_scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", response.get_data(as_text=True))
    assert inline_scripts == []


def test_it_serves_every_asset_of_the_docs_page_itself(client):
    page = client.get("/api/docs").get_data(as_text=True)
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page)

    for reference in references:
        asset = client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.data, reference


def test_it_serves_the_swagger_ui_bundle(client):
    response = client.get("/api/docs/assets/js/swagger-ui-bundle.js")

    assert response.status_code == 200
    assert "javascript" in response.mimetype
    assert b"SwaggerUIBundle" in response.data
