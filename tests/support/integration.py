"""Skip-or-fail for tests that need a real component.

On a laptop a missing PostgreSQL or Alertmanager skips the test; in CI
(``REQUIRE_INTEGRATION=1``) the same absence fails it, so nothing skips silently.
"""

from __future__ import annotations

import os

import pytest

REQUIRED = os.environ.get("REQUIRE_INTEGRATION") == "1"


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"REQUIRE_INTEGRATION=1 but {reason}")
    pytest.skip(reason)
