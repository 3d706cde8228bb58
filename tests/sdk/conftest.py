"""Waits, once per session, until the front door answers (the first request may wait for its build)."""

import sys
import time

# No __pycache__ next to the tests (a watched crate); make test also sets PYTHONDONTWRITEBYTECODE=1.
sys.dont_write_bytecode = True

import pytest  # noqa: E402

import stack  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def front_door_answers():
    deadline = time.monotonic() + stack.TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        try:
            last = stack.http("POST", "/")
            if last.status == 400:
                return
        except OSError as e:
            last = e
        time.sleep(1)
    pytest.exit(f"the front door at http://{stack.ENDPOINT}/ did not answer an unsigned POST with 400: {last!r}", 2)
