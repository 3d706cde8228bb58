"""The webhook verification snippets of docs/API.md ("Events"), docs/webhooks/verify.py and verify.mjs, each in
its own language: the Standard Webhooks example is accepted; a tampered body, a wrong secret and a timestamp more
than 5 minutes off are refused; a header with several signatures is accepted when one of them is right.

They need no stack. `make test` runs them with the rest of tests/sdk; alone, without the stack (--noconftest
skips the wait for the front door and local/env.sh):

    PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python -m pytest -q -p no:cacheprovider --noconftest tests/sdk/test_webhook_snippets.py

Node.js: $NODE, else .tools/node/bin/node, else `node` on PATH (as make test's sdk-node step).
"""

import base64
import hashlib
import hmac
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

# No __pycache__ next to the tests or the snippets (a watched crate); make test also sets PYTHONDONTWRITEBYTECODE=1.
sys.dont_write_bytecode = True

import pytest  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERIFY_PY = ROOT / "docs" / "webhooks" / "verify.py"
VERIFY_MJS = ROOT / "docs" / "webhooks" / "verify.mjs"

# The example of the Standard Webhooks reference libraries (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function; the other languages' tests have the same).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()

LANGUAGES = ["python", "node"]


@pytest.fixture(scope="session", autouse=True)
def front_door_answers():
    """Overrides conftest.py's wait for the local stack: these tests run no request against it."""
    yield


def node_binary():
    for candidate in (os.environ.get("NODE"), str(ROOT / ".tools" / "node" / "bin" / "node"), shutil.which("node")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("no Node.js: set NODE, or put node on PATH (make run needs it too)")


def load_verify_py():
    spec = importlib.util.spec_from_file_location("docs_webhooks_verify", VERIFY_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The Node.js side: verify.mjs imported as a user would, one call per run, its outcome as one JSON line.
NODE_HARNESS = """
import { readFileSync } from "node:fs";
const { verify, WebhookVerificationError } = await import(process.env.VERIFY_MJS_URL);
const c = JSON.parse(readFileSync(0, "utf8"));
try {
  const event = c.now === null ? verify(c.secret, c.headers, c.body) : verify(c.secret, c.headers, c.body, c.now);
  console.log(JSON.stringify({ok: true, event}));
} catch (error) {
  console.log(JSON.stringify({ok: false, kind: error instanceof WebhookVerificationError ? "refused" : String(error),
                              message: String(error.message)}));
}
"""


def check(language, secret, headers, body, now=None):
    """Runs the snippet's verify(); returns ("accepted", event) or ("refused", message)."""
    if language == "python":
        module = load_verify_py()
        try:
            kwargs = {} if now is None else {"now": now}
            return "accepted", module.verify(secret, headers, body.encode("utf-8"), **kwargs)
        except module.WebhookVerificationError as e:
            return "refused", str(e)
    case = {"secret": secret, "headers": headers, "body": body, "now": now}
    run = subprocess.run(
        [node_binary(), "--input-type=module", "-e", NODE_HARNESS],
        input=json.dumps(case), capture_output=True, text=True, timeout=30,
        env={**os.environ, "VERIFY_MJS_URL": VERIFY_MJS.as_uri()},
    )
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    if outcome["ok"]:
        return "accepted", outcome["event"]
    assert outcome["kind"] == "refused", outcome  # a WebhookVerificationError, not a crash
    return "refused", outcome["message"]


def sign(secret, msg_id, timestamp, body):
    """The scheme of Standard Webhooks 1.0, written here for the test: v1, + base64(HMAC-SHA256(key, id.ts.body))."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode("utf-8"), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def spec_headers(signature=SPEC_SIGNATURE, timestamp=SPEC_TIMESTAMP):
    return {"webhook-id": SPEC_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_the_tests_own_signer_reproduces_the_spec_example():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


@pytest.mark.parametrize("command", [[sys.executable, "-B", str(VERIFY_PY)], ["node", str(VERIFY_MJS)]],
                         ids=LANGUAGES)
def test_run_as_a_script_each_checks_the_spec_example(command):
    if command[0] == "node":
        command = [node_binary(), *command[1:]]
    run = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert (run.returncode, run.stdout.strip()) == (0, "OK"), run.stderr


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_spec_example_is_accepted(language):
    assert check(language, SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP) == \
        ("accepted", {"test": 2432232314})


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("body", ['{"test": 2432232315}', '{"test":2432232314}', SPEC_BODY + "\n"],
                         ids=["changed-value", "re-serialised", "trailing-newline"])
def test_a_tampered_body_is_refused(language, body):
    assert check(language, SPEC_SECRET, spec_headers(), body, now=SPEC_TIMESTAMP)[0] == "refused"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_wrong_secret_is_refused(language):
    assert check(language, OTHER_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP)[0] == "refused"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("offset,outcome", [(301, "refused"), (-301, "refused"), (300, "accepted"),
                                            (-300, "accepted"), (86400, "refused")])
def test_a_timestamp_more_than_5_minutes_off_is_refused(language, offset, outcome):
    """`now` is the receiver's clock: 301 s after the signed timestamp is too old, 301 s before it too new."""
    assert check(language, SPEC_SECRET, spec_headers(), SPEC_BODY, now=SPEC_TIMESTAMP + offset)[0] == outcome


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_replay_with_a_new_timestamp_but_the_old_signature_is_refused(language):
    headers = spec_headers(timestamp=SPEC_TIMESTAMP + 600)
    assert check(language, SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 600)[0] == "refused"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("right_first", [True, False], ids=["right-first", "right-second"])
def test_two_signatures_of_which_one_is_right_are_accepted(language, right_first):
    wrong = sign(OTHER_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    pair = [SPEC_SIGNATURE, wrong] if right_first else [wrong, SPEC_SIGNATURE]
    headers = spec_headers(signature=" ".join(pair))
    assert check(language, SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP) == ("accepted", {"test": 2432232314})


@pytest.mark.parametrize("language", LANGUAGES)
def test_two_wrong_signatures_and_an_unknown_version_are_refused(language):
    right = SPEC_SIGNATURE.removeprefix("v1,")
    signatures = " ".join([sign(OTHER_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
                           "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA=", "v1a," + right, "v2," + right])
    headers = spec_headers(signature=signatures)
    assert check(language, SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)[0] == "refused"


@pytest.mark.parametrize("language", LANGUAGES)
def test_missing_headers_are_refused(language):
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in spec_headers().items() if k != name}
        assert check(language, SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP)[0] == "refused", name


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_event_of_this_service_signed_now_is_accepted_with_the_real_clock(language):
    """A body as the service sends it (docs/API.md, "Events"), headers in another case, no `now` given."""
    secret = "whsec_" + base64.b64encode(hashlib.sha256(b"a test key").digest()).decode()
    body = json.dumps({
        "type": "email.verification.verified", "timestamp": "2026-12-05T21:30:00.123Z",
        "data": {"caller": "alice", "id": "c65dd569e2d54ce8aa0451377e1cd270", "email": "añé+x@example.com",
                 "status": "verified", "deadline": "2026-12-20T21:29:59.000Z", "domains": ["example.com"],
                 "sequence": 3},
    }, ensure_ascii=False, separators=(",", ":"))
    msg_id, timestamp = "evt_" + "0123456789abcdef" * 2, int(time.time())
    headers = {"Webhook-Id": msg_id, "Webhook-Timestamp": str(timestamp),
               "Webhook-Signature": sign(secret, msg_id, timestamp, body), "Content-Type": "application/json"}
    outcome, event = check(language, secret, headers, body)
    assert outcome == "accepted", event
    assert event["data"]["email"] == "añé+x@example.com" and event["data"]["sequence"] == 3
