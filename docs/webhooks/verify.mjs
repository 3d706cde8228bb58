// Verify a webhook of the email verification service (Standard Webhooks 1.0). Node.js 18 or newer, node:crypto only.
//
//   import { verify, WebhookVerificationError } from "./verify.mjs";
//   const event = verify(secret, request.headers, rawBody);   // throws WebhookVerificationError, else the parsed body
//
// `secret` is the endpoint's `Secret` from the caller's settings (`whsec_` + base64 of the key). `headers` is a
// plain object (any case, as Node's http gives it) or a fetch `Headers`. `body` is the raw body, a Buffer,
// Uint8Array or string, exactly as received: do not parse and re-serialise the JSON before checking it. `now`
// (epoch seconds) is for tests; it defaults to the clock.
//
// Run as a script (`node verify.mjs`), it checks the Standard Webhooks example and prints OK. docs/API.md
// ("Events") explains it; tests/sdk/test_webhook_snippets.py tests it.

import { createHmac, timingSafeEqual } from "node:crypto";
import { pathToFileURL } from "node:url";

const TOLERANCE_S = 5 * 60;

export class WebhookVerificationError extends Error {
  name = "WebhookVerificationError";
}

function header(headers, name) {
  if (typeof headers.get === "function") return headers.get(name) ?? undefined;
  const found = Object.keys(headers).find((key) => key.toLowerCase() === name);
  const value = found === undefined ? undefined : headers[found];
  return Array.isArray(value) ? value.join(" ") : value;
}

export function verify(secret, headers, body, now = Date.now() / 1000) {
  const msgId = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!msgId || !timestamp || !signatures) {
    throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature");
  }

  if (!/^[0-9]+$/.test(timestamp)) {
    throw new WebhookVerificationError("webhook-timestamp is not a whole number of seconds");
  }
  if (Math.abs(now - Number(timestamp)) > TOLERANCE_S) {
    throw new WebhookVerificationError("webhook-timestamp is more than 5 minutes from now");
  }

  const encodedKey = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encodedKey) || encodedKey.length % 4 !== 0) {
    throw new WebhookVerificationError("the secret is not whsec_ and base64");
  }
  const key = Buffer.from(encodedKey, "base64");
  const raw = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  const expected = Buffer.from(
    createHmac("sha256", key).update(`${msgId}.${timestamp}.`).update(raw).digest("base64"),
  );

  // Several signatures may come, space-separated (a secret being rotated): one good v1 is enough.
  for (const candidate of signatures.split(" ")) {
    const comma = candidate.indexOf(",");
    if (comma < 0 || candidate.slice(0, comma) !== "v1") continue;
    const signature = Buffer.from(candidate.slice(comma + 1));
    // timingSafeEqual needs equal lengths; a signature of another length is wrong anyway.
    if (signature.length === expected.length && timingSafeEqual(signature, expected)) {
      return JSON.parse(raw.toString("utf8"));
    }
  }
  throw new WebhookVerificationError("no matching signature");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The example of the Standard Webhooks reference libraries (standard-webhooks/standard-webhooks,
  // libraries/*/tests: "sign function works").
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const headers = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  };
  const event = verify(secret, headers, '{"test": 2432232314}', 1614265330);
  if (event.test !== 2432232314) throw new Error(`unexpected body ${JSON.stringify(event)}`);
  let refused = false;
  try {
    verify(secret, headers, '{"test": 2432232315}', 1614265330);
  } catch (error) {
    refused = error instanceof WebhookVerificationError;
  }
  if (!refused) throw new Error("a tampered body was accepted");
  console.log("OK");
}
