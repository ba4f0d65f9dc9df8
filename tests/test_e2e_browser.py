"""The browser journeys' guard rails, checked without a browser: which tests carry the `e2e`
marker, and what a missing Chromium does (skip on a developer's machine, FAIL under
REQUIRE_SERVICES=1, as in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.browser import Verdict, chromium_verdict, is_browser_test

ROOT = Path(__file__).resolve().parents[1]


def test_it_runs_the_browser_tests_when_chromium_is_there(tmp_path: Path) -> None:
    chromium = tmp_path / "chromium"
    chromium.touch()

    assert chromium_verdict(chromium, require_services=False) == (Verdict.RUN, "")
    assert chromium_verdict(chromium, require_services=True) == (Verdict.RUN, "")


def test_a_missing_chromium_skips_on_a_developers_machine(tmp_path: Path) -> None:
    verdict, message = chromium_verdict(tmp_path / "nowhere", require_services=False)

    assert verdict is Verdict.SKIP
    assert str(tmp_path / "nowhere") in message and "apt-get install -y chromium" in message


def test_a_missing_chromium_fails_when_services_are_required(tmp_path: Path) -> None:
    verdict, message = chromium_verdict(tmp_path / "nowhere", require_services=True)

    assert verdict is Verdict.FAIL
    assert "REQUIRE_SERVICES=1" in message


def test_only_the_tests_under_tests_e2e_are_browser_tests() -> None:
    assert is_browser_test(ROOT / "tests" / "e2e" / "test_display.py")
    assert not is_browser_test(ROOT / "tests" / "display" / "test_views.py")
    assert not is_browser_test(Path(__file__))


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (this interpreter running this suite)
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_e2e_marker_selects_exactly_the_browser_tests() -> None:
    paths = ("tests/e2e", "tests/display", "tests/test_e2e_browser.py")
    browser = _pytest("--collect-only", "-q", "-m", "e2e", *paths).stdout.splitlines()
    other = _pytest("--collect-only", "-q", "-m", "not e2e", *paths)
    selected = [line for line in browser if "::" in line]

    assert selected, "-m e2e selected no test"
    assert all(line.startswith("tests/e2e/") for line in selected), selected
    assert not [line for line in other.stdout.splitlines() if line.startswith("tests/e2e/")]
    assert any(line.startswith("tests/display/") for line in other.stdout.splitlines())


@pytest.mark.parametrize(
    ("require_services", "outcome"), [("1", "1 error"), ("0", "1 skipped")], ids=["ci", "dev"]
)
def test_a_browser_test_without_chromium(require_services: str, outcome: str) -> None:
    result = _pytest(
        "-q",
        "tests/e2e/test_sign_in.py::test_it_loads_every_asset_from_the_app_itself",
        CHROMIUM_PATH="/nonexistent/chromium",
        REQUIRE_SERVICES=require_services,
    )

    assert outcome in result.stdout, result.stdout[-2000:]
    assert result.returncode == (1 if require_services == "1" else 0), result.stdout[-2000:]
