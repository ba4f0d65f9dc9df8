"""Where the browser journeys' Chromium is, and what to do when it is missing.

Kept apart from conftest.py so that a plain unit test (tests/test_e2e_browser.py) can check the
decision without a browser and without being a browser test itself.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

E2E_DIR = Path(__file__).resolve().parent
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


class Verdict(Enum):
    RUN = "run"
    SKIP = "skip"
    FAIL = "fail"


def chromium_verdict(chromium: Path, require_services: bool) -> tuple[Verdict, str]:
    """Run the browser tests when Chromium is there; otherwise skip them on a developer's
    machine, and fail them where every test must run (REQUIRE_SERVICES=1, as in CI)."""
    if chromium.exists():
        return Verdict.RUN, ""
    message = f"Chromium not found at {chromium} (install it with: apt-get install -y chromium)"
    if require_services:
        return Verdict.FAIL, f"{message}; REQUIRE_SERVICES=1, so the browser tests may not skip"
    return Verdict.SKIP, f"{message}: browser journeys skipped"


def is_browser_test(path: Path) -> bool:
    """Every test module under tests/e2e is a browser journey (and gets the `e2e` marker)."""
    return path.resolve().is_relative_to(E2E_DIR)
