"""Write the API's OpenAPI document (what GET /api/v1/openapi.json serves) to a file.

`make lint` runs it, then lints the file with Redocly CLI (redocly.yaml). The app is built on
an in-memory SQLite database with no Redis: the document depends on the code only.

    .venv/bin/python scripts/export-openapi.py build/openapi.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# The document depends on the code only: no developer's database, Redis or secret is read.
# A throwaway key: the export signs nothing.
os.environ.update(APP_ENV="development", SECRET_KEY="export-openapi-document-only")  # noqa: S106
for name in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(name, None)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app  # noqa: E402

SETTINGS = {
    "TESTING": True,
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
    "RATELIMIT_STORAGE_URI": "memory://",
    "REDIS_URL": None,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTPUT.json", file=sys.stderr)
        return 2
    app = create_app(SETTINGS)
    with app.test_client() as client:
        response = client.get("/api/v1/openapi.json")
    if response.status_code != 200:
        print(f"GET /api/v1/openapi.json answered {response.status_code}", file=sys.stderr)
        return 1
    output = Path(argv[1])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(response.get_json(), indent=2, sort_keys=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
