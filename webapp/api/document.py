"""The OpenAPI document served at /api/v1/openapi.json: what flask-openapi3 collects from the
resource modules, plus what it cannot say by itself.

- ``servers``: one relative server, the host that serves the document (every path already
  starts with /api/v1), so the same document is right on every installation.
- ``info.license``.
- ``security: []`` on the operations that need no token (flask-openapi3 leaves an empty
  security list out, and Redocly's ``security-defined`` rule then cannot tell "public" from
  "forgotten").
"""

from __future__ import annotations

import copy
from typing import Any

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
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in HTTP_METHODS and not operation.get("security"):
                operation["security"] = []
    return document
