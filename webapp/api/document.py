"""The OpenAPI document served at /api/v1/openapi.json: what flask-openapi3 collects from the
resource modules, plus what it cannot say by itself.

- ``servers``: one relative server, the host that serves the document (every path already
  starts with /api/v1), so the same document is right on every installation.
- ``info.license``.
- request and response examples (``webapp.api.examples``) in each operation's JSON media
  types and parameters, and the error envelope's example on every error answer.
- ``security: []`` on the operations that need no token (flask-openapi3 leaves an empty
  security list out, and Redocly's ``security-defined`` rule then cannot tell "public" from
  "forgotten").
"""

from __future__ import annotations

import copy
from typing import Any

from webapp.api.examples import ERRORS, OPERATIONS, parameter_example

API_PREFIX = "/api/v1"

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})

SERVERS: list[dict[str, str]] = [
    {
        "url": "/",
        "description": "The Hospital Queue server that serves this document "
        "(every path starts with /api/v1).",
    }
]

# package.json declares the project UNLICENSED: it is the hospital's own software.
LICENSE: dict[str, str] = {
    "name": "Proprietary: for the hospital's own systems and integrations only",
    "identifier": "LicenseRef-Proprietary",
}


def complete_document(generated: dict[str, Any]) -> dict[str, Any]:
    """A copy of flask-openapi3's ``generated`` document with servers, license and explicit
    public security."""
    document = copy.deepcopy(generated)
    document["servers"] = copy.deepcopy(SERVERS)
    document["info"]["license"] = dict(LICENSE)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            if not operation.get("security"):
                operation["security"] = []
            relative = path.removeprefix(API_PREFIX)
            _add_examples(operation, OPERATIONS.get((method, relative)))
            for parameter in operation.get("parameters", []):
                example = parameter_example(relative, parameter["name"])
                if example is not None and "example" not in parameter:
                    parameter["example"] = example
    return document


def _json_media(holder: dict[str, Any]) -> dict[str, Any] | None:
    media: dict[str, Any] | None = holder.get("content", {}).get("application/json")
    return media


def _add_examples(operation: dict[str, Any], examples: dict[str, Any] | None) -> None:
    for status, response in operation.get("responses", {}).items():
        media = _json_media(response)
        if media is None:
            continue
        if status in ERRORS:
            media["example"] = copy.deepcopy(ERRORS[status])
        elif examples and status in examples["responses"]:
            media["example"] = copy.deepcopy(examples["responses"][status])
    body = _json_media(operation.get("requestBody", {}))
    if body is not None and examples and examples.get("request") is not None:
        body["example"] = copy.deepcopy(examples["request"])
