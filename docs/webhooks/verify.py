"""Verify a webhook of the email verification service (Standard Webhooks 1.0). Standard library only.

    from verify import verify, WebhookVerificationError

    event = verify(secret, request_headers, raw_body)   # raises WebhookVerificationError, else the parsed body

`secret` is the endpoint's `Secret` from the caller's settings (`whsec_` + base64 of the key). `headers` is any
mapping of the request's headers (any case). `body` is the raw body, bytes or str, exactly as received: do not
parse and re-serialise the JSON before checking it. `now` (epoch seconds) is for tests; it defaults to the clock.

Run as a script, it checks the Standard Webhooks example and prints OK. docs/API.md ("Events") explains it;
tests/sdk/test_webhook_snippets.py tests it.
"""

import base64
import binascii
import hashlib
import hmac
import json
import time

TOLERANCE_S = 5 * 60


class WebhookVerificationError(Exception):
    pass


def verify(secret, headers, body, now=None):
    headers = {str(k).lower(): v for k, v in headers.items()}
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature")

    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a whole number of seconds")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_S:
        raise WebhookVerificationError("webhook-timestamp is more than 5 minutes from now")

    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the secret is not whsec_ and base64") from None
    if isinstance(body, str):
        body = body.encode("utf-8")
    signed = msg_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())

    # Several signatures may come, space-separated (a secret being rotated): one good v1 is enough.
    for candidate in signatures.split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode("utf-8"), expected):
            return json.loads(body)
    raise WebhookVerificationError("no matching signature")


if __name__ == "__main__":
    # The example of the Standard Webhooks reference libraries (standard-webhooks/standard-webhooks,
    # libraries/*/tests: "sign function works").
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    assert verify(secret, headers, b'{"test": 2432232314}', now=1614265330) == {"test": 2432232314}
    try:
        verify(secret, headers, b'{"test": 2432232315}', now=1614265330)
    except WebhookVerificationError:
        print("OK")
    else:
        raise SystemExit("a tampered body was accepted")
