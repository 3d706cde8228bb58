#!/usr/bin/env python3
"""A webhook endpoint for trying the service's events locally (README.md, "See the verified event").

    python3 local/webhook-receiver.py --port 8787 --secret whsec_...

Listens on 127.0.0.1 only. Each POST is checked with docs/webhooks/verify.py (the signature with the endpoint's
secret, and the timestamp within 5 minutes): a good one is answered 204 and printed as one line (type, data.id,
the address or number masked, status, sequence), a bad one 401 (400 if the body is not JSON). Ctrl-C stops it.
Standard library only.
"""

import argparse
import base64
import binascii
import importlib.util
import pathlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# No __pycache__ in docs/webhooks/ (the repository is watched by `cargo lambda watch` under make run).
sys.dont_write_bytecode = True

VERIFY_PY = pathlib.Path(__file__).resolve().parent.parent / "docs" / "webhooks" / "verify.py"
_spec = importlib.util.spec_from_file_location("webhook_verify", VERIFY_PY)
webhook_verify = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(webhook_verify)

MAX_BODY = 1024 * 1024


def mask(value):
    """As the service's logs mask them: `c***@e***.com`, `+44***00`."""
    if not isinstance(value, str) or not value:
        return "-"
    if "@" in value:
        local, _, domain = value.rpartition("@")
        tld = domain.rpartition(".")[2] if "." in domain else ""
        return f"{local[:1]}***@{domain[:1]}***.{tld}"
    digits = value.lstrip("+")
    return f"+{digits[:2]}***{digits[-2:]}"


def line_of(event, seen, lock):
    data = event.get("data") or {}
    subject = data.get("email") if "email" in data else data.get("contact")
    sequence = data.get("sequence")
    note = ""
    with lock:
        # A consumer keeps the highest sequence per id and ignores older ones (at-least-once delivery).
        last = seen.get(data.get("id"))
        if isinstance(sequence, int) and last is not None and sequence <= last:
            note = "  (already seen: ignored)" if sequence == last else f"  (older than {last}: ignored)"
        elif isinstance(sequence, int):
            seen[data.get("id")] = sequence
    return f"{event.get('type')} {data.get('id')} {mask(subject)} {data.get('status')} sequence={sequence}{note}"


def handler_for(secret):
    seen = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "webhook-receiver"

        def answer(self, status):
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self.answer(400)
                return
            body = self.rfile.read(length)
            try:
                event = webhook_verify.verify(secret, self.headers, body)
            except webhook_verify.WebhookVerificationError as e:
                print(f"refused (401): {e}", file=sys.stderr, flush=True)
                self.answer(401)
                return
            except ValueError:
                print("refused (400): the body is not JSON", file=sys.stderr, flush=True)
                self.answer(400)
                return
            print(line_of(event if isinstance(event, dict) else {}, seen, lock), flush=True)
            self.answer(204)

        def log_message(self, format, *args):
            pass  # one line per event is printed above; no access log

    return Handler


def main():
    parser = argparse.ArgumentParser(description="Receive the service's webhooks on 127.0.0.1 and print them.")
    parser.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (default 8787)")
    parser.add_argument("--secret", required=True, help="the endpoint's Secret: whsec_ and base64 of 24 to 64 bytes")
    args = parser.parse_args()

    try:
        key = base64.b64decode(args.secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not args.secret.startswith("whsec_") or not 24 <= len(key) <= 64:
        parser.error("--secret must be whsec_ and the base64 of 24 to 64 bytes")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(args.secret))
    print(f"listening on http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
