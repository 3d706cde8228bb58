"""What the SDK tests share: where the local stack is, the mails and text messages it sent, the vendors'
own SDK clients, and raw signed requests.

The raw requests are signed with the vendors' own helpers (alibabacloud_tea_openapi's Utils.get_authorization
and Utils.get_rpcsignature, tencentcloud's Sign.sign_tc3) and a few lines of TC3 canonical request written
here from Tencent's documentation: nothing is shared with the server's code.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from http.client import HTTPConnection
from urllib.parse import quote, urlsplit

from alibabacloud_domain20180129.client import Client as AlibabaClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_openapi.utils import Utils as AlibabaUtils
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.sign import Sign
from tencentcloud.domain.v20180808.domain_client import DomainClient


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these tests with `make test`, or `source local/env.sh` first")
    return value


BIND_HOST = _env("BIND_HOST")
LAMBDA_PORT = _env("LAMBDA_PORT")
SES_URL = _env("SES_URL").rstrip("/")
SMS_OUTBOX = _env("SMS_OUTBOX")
# What the SDKs are given: host and port, no scheme, no path.
ENDPOINT = f"{BIND_HOST}:{LAMBDA_PORT}"
# The first request to a function may wait for `cargo lambda watch` to start it.
TIMEOUT_S = 180

ALICE = ("local-alice", "local-alice-secret")
BOB = ("local-bob", "local-bob-secret")

ALIBABA_VERSION = "2018-01-29"
TENCENT_VERSION = "2018-08-08"
TENCENT_SERVICE = "domain"

REQUEST_ID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")


# ---------------------------------------------------------------------------------------------------------
# Unique addresses and numbers, so that the tests can run again and again against one stack.

def unique_email(tag: str = "sdk") -> str:
    return f"{tag}-{uuid.uuid4().hex[:16]}@example.com"


def unique_phone() -> str:
    """A UK mobile number in E.164: +44790 and seven digits (every +44790… is a valid mobile; some other
    +4479… ranges, such as +447911, are not, which made a random one fail now and then)."""
    return f"+44790{uuid.uuid4().int % 10**7:07d}"


# ---------------------------------------------------------------------------------------------------------
# The vendors' SDKs, configured only with the endpoint, http and a key pair.

def alibaba(key=ALICE, mode: str = "acs3") -> AlibabaClient:
    """Alibaba Cloud's client; mode "acs3" (the default ACS3-HMAC-SHA256) or "rpc" (HMAC-SHA1, v2)."""
    config = open_api_models.Config(
        access_key_id=key[0],
        access_key_secret=key[1],
        endpoint=ENDPOINT,
        protocol="http",
        read_timeout=TIMEOUT_S * 1000,
        connect_timeout=10_000,
    )
    if mode == "rpc":
        config.signature_algorithm = "v2"
    elif mode != "acs3":
        raise ValueError(mode)
    return AlibabaClient(config)


_tc3_signed: dict = {}


def pace_tc3(secret_id: str, secret_key: str, params: dict) -> None:
    """Waits for the next whole second if these parameters were already signed with this key in this one."""
    key = (secret_id, secret_key, json.dumps(params, sort_keys=True))
    last = _tc3_signed.get(key)
    while last is not None and int(time.time()) <= last:
        time.sleep(max(0.01, last + 1 - time.time()))
    _tc3_signed[key] = int(time.time())


class PacedDomainClient(DomainClient):
    """Tencent's client, unchanged but for one pause: it never sends the same parameters twice within one second.

    TC3 signs the body, the host, the content type and the time in whole seconds, not the action. Two calls
    with the same parameters in the same second (Send and then Delete of one address, or two Describes) carry
    the same signature, and the front door accepts a signature once (the contract's replay rule), so the
    second would be refused with AuthFailure.SignatureFailure. test_tencent_sdk.py's
    test_same_parameters_within_one_second_are_refused_as_a_replay shows that with the plain client.
    """

    def _call(self, action, params, options=None, headers=None):
        secret_id, secret_key, _ = self.credential.get_credential_info()
        pace_tc3(secret_id, secret_key, params)
        return super()._call(action, params, options, headers)


def tencent(key=ALICE, paced: bool = True, sign_method: str = "TC3-HMAC-SHA256",
            req_method: str = "POST") -> DomainClient:
    """Tencent's client for `key`; `paced=False` gives the plain DomainClient (see PacedDomainClient).
    `sign_method` "HmacSHA1" or "HmacSHA256" makes it sign with Tencent's older scheme (v1), with its
    parameters in a form body (`req_method` POST) or the query string (GET)."""
    http_profile = HttpProfile(endpoint=ENDPOINT, protocol="http", reqTimeout=TIMEOUT_S, reqMethod=req_method)
    profile = ClientProfile(signMethod=sign_method, httpProfile=http_profile)
    cls = PacedDomainClient if paced else DomainClient
    return cls(credential.Credential(key[0], key[1]), "", profile)


# ---------------------------------------------------------------------------------------------------------
# Plain HTTP.

@dataclass
class Answer:
    status: int
    headers: dict  # lower-case names
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.content_type!r}, {self.body[:600]!r})"


def http(method: str, target: str, headers: dict | None = None, body: bytes = b"") -> Answer:
    """One request to the Lambda port; target is the path with its query."""
    conn = HTTPConnection(BIND_HOST, int(LAMBDA_PORT), timeout=TIMEOUT_S)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def encode_query(query: dict) -> str:
    return "&".join(f"{quote(str(k), safe='~')}={quote(str(v), safe='~')}" for k, v in query.items())


def route(function: str, params: dict, user: str = "alice") -> Answer:
    """A per-action route, `/lambda-url/<function>/`, with the local caller header and a JSON body."""
    headers = {"X-User-Id": user, "Content-Type": "application/json"}
    return http("POST", f"/lambda-url/{function}/", headers, json.dumps(params).encode())


# ---------------------------------------------------------------------------------------------------------
# The SES emulator's mails and the SMS outbox.

def mails_to(address: str) -> list[dict]:
    ses = urlsplit(SES_URL)
    conn = HTTPConnection(ses.hostname, ses.port, timeout=30)
    try:
        conn.request("GET", "/store")
        store = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    want = address.lower()
    return [m for m in store.get("emails", []) if any(want in to.lower() for to in m["destination"]["to"])]


def wait_for_mail(address: str, count: int = 1, timeout_s: float = 20) -> dict:
    """The latest mail to address, once at least `count` mails have arrived there."""
    deadline = time.monotonic() + timeout_s
    while True:
        mails = mails_to(address)
        if len(mails) >= count:
            return mails[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(mails)} mail(s) to {address} in the SES emulator, expected {count}")
        time.sleep(0.2)


def texts_to(phone: str) -> list[dict]:
    try:
        with open(SMS_OUTBOX, encoding="utf-8") as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
    return [t for t in lines if t.get("to") == phone]


def wait_for_text(phone: str, count: int = 1, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        texts = texts_to(phone)
        if len(texts) >= count:
            return texts[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(texts)} text(s) to {phone} in {SMS_OUTBOX}, expected {count}")
        time.sleep(0.2)


def link_token(mail: dict) -> str:
    found = re.findall(r"/verify-email\?Token=([0-9A-Za-z]+)", mail["body"]["text"])
    assert found, f"no link in the mail: {mail['body']['text']!r}"
    return found[-1]


def open_link(token: str, user_agent: str = "sdk-tests/1.0 (link page)") -> Answer:
    """Opens a mail's link on the local link page, as a person's browser would."""
    answer = http("GET", f"/lambda-url/verify-email/verify-email?Token={token}", {"User-Agent": user_agent})
    assert answer.status == 200, answer
    return answer


def link_url(mail: dict) -> str:
    found = re.findall(r"https?://\S+/verify-email\?Token=[0-9A-Za-z]+", mail["body"]["text"])
    assert found, f"no link in the mail: {mail['body']['text']!r}"
    return found[-1]


def six_digit_code(text: str) -> str:
    """The one standalone six-digit word of a text (a phone number's longer run of digits does not count)."""
    codes = re.findall(r"(?<![0-9+])[0-9]{6}(?![0-9])", text)
    assert len(codes) == 1, f"expected exactly one six-digit code in {text!r}, found {codes}"
    return codes[0]


def code_by_mail(address: str, count: int = 1) -> str:
    return six_digit_code(wait_for_mail(address, count)["body"]["text"])


def code_by_text(phone: str, count: int = 1) -> str:
    return six_digit_code(wait_for_text(phone, count)["body"])


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


# ---------------------------------------------------------------------------------------------------------
# Raw signed requests. Each is built completely, then may be altered (tampered with) before it is sent.

@dataclass
class Signed:
    method: str
    query: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    def target(self) -> str:
        return "/" + ("?" + encode_query(self.query) if self.query else "")

    def send(self) -> Answer:
        return http(self.method, self.target(), self.headers, self.body)

    def altered(self, query: dict | None = None, headers: dict | None = None, body: bytes | None = None,
                drop_headers: tuple = ()) -> "Signed":
        """A copy with some parts replaced after signing (the signature stays as it was)."""
        other = copy.deepcopy(self)
        other.query.update(query or {})
        for name in drop_headers:
            other.headers = {k: v for k, v in other.headers.items() if k.lower() != name.lower()}
        for name, value in (headers or {}).items():
            other.headers = {k: v for k, v in other.headers.items() if k.lower() != name.lower()}
            other.headers[name] = value
        if body is not None:
            other.body = body
        return other


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _alibaba_time(skew: timedelta) -> str:
    return (datetime.now(timezone.utc) + skew).strftime("%Y-%m-%dT%H:%M:%SZ")


def acs3(action: str, params: dict, key=ALICE, *, skew: timedelta = timedelta(0), nonce: str | None = None,
         unsigned: tuple = ()) -> Signed:
    """POST / signed with ACS3-HMAC-SHA256, as Alibaba's SDK sends it: parameters in the query, empty body.
    `unsigned` names headers to leave out of the request (and so out of the signature)."""
    query = {k: str(v) for k, v in params.items()}
    body = b""
    headers = {
        "host": ENDPOINT,
        "x-acs-action": action,
        "x-acs-version": ALIBABA_VERSION,
        "x-acs-date": _alibaba_time(skew),
        "x-acs-signature-nonce": nonce or AlibabaUtils.get_nonce(),
        "x-acs-content-sha256": _sha256_hex(body),
        "accept": "application/json",
    }
    for name in unsigned:
        headers.pop(name)
    request = SimpleNamespace(method="POST", pathname="/", query=query, headers=headers)
    authorization = AlibabaUtils.get_authorization(request, "ACS3-HMAC-SHA256", _sha256_hex(body), key[0], key[1])
    return Signed("POST", query, {**headers, "Authorization": authorization}, body)


def rpc(action: str, params: dict, key=ALICE, *, skew: timedelta = timedelta(0), nonce: str | None = None,
        method: str = "POST", omit: tuple = ()) -> Signed:
    """Signed with Alibaba's RPC HMAC-SHA1: every parameter, the signature's included, in the query."""
    query = {
        "Action": action,
        "Format": "json",
        "Version": ALIBABA_VERSION,
        "Timestamp": _alibaba_time(skew),
        "SignatureNonce": nonce or AlibabaUtils.get_nonce(),
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": key[0],
        **{k: str(v) for k, v in params.items()},
    }
    for name in omit:
        query.pop(name)
    query["Signature"] = AlibabaUtils.get_rpcsignature(query, method, key[1])
    return Signed(method, query, {"host": ENDPOINT}, b"")


def tencent_v1(action: str, params: dict, key=ALICE, *, skew: timedelta = timedelta(0), method: str = "POST",
               sign_method: str = "HmacSHA256", host: str = ENDPOINT) -> Signed:
    """Tencent's older signature (v1), written here from Tencent's documentation: every parameter, the common
    ones included, in a form body (POST) or the query (GET); the string to sign is METHOD + host + "/?" + the
    sorted k=v pairs, values not encoded; Signature = base64(HMAC(secret, string))."""
    import base64
    import hmac
    import random
    query = {
        "Action": action,
        "Version": TENCENT_VERSION,
        "Timestamp": str(int(time.time() + skew.total_seconds())),
        "Nonce": str(random.randint(1, 2**31)),
        "SecretId": key[0],
        "SignatureMethod": sign_method,
        **{k: str(v) for k, v in params.items()},
    }
    text = method + host + "/?" + "&".join(f"{k}={query[k]}" for k in sorted(query))
    digest = hashlib.sha1 if sign_method == "HmacSHA1" else hashlib.sha256
    query["Signature"] = base64.b64encode(hmac.new(key[1].encode(), text.encode(), digest).digest()).decode()
    if method == "GET":
        return Signed("GET", query, {"Host": ENDPOINT}, b"")
    headers = {"Host": ENDPOINT, "Content-Type": "application/x-www-form-urlencoded"}
    return Signed("POST", {}, headers, encode_query(query).encode())


def tc3(action: str, params: dict, key=ALICE, *, skew: timedelta = timedelta(0), signed_host: str = ENDPOINT) -> Signed:
    """POST / with a JSON body, signed with TC3-HMAC-SHA256 (content-type and host signed, as Tencent's SDK does).
    `signed_host` is the host the signature covers (Tencent's Node.js SDK signs it without the port)."""
    body = json.dumps(params).encode()
    pace_tc3(key[0], key[1], params)  # see PacedDomainClient
    timestamp = int(time.time() + skew.total_seconds())
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    content_type = "application/json"
    canonical_request = "\n".join([
        "POST",
        "/",
        "",
        f"content-type:{content_type}\nhost:{signed_host}\n",
        "content-type;host",
        _sha256_hex(body),
    ])
    scope = f"{date}/{TENCENT_SERVICE}/tc3_request"
    string_to_sign = "\n".join(["TC3-HMAC-SHA256", str(timestamp), scope, _sha256_hex(canonical_request.encode())])
    signature = Sign.sign_tc3(key[1], date, TENCENT_SERVICE, string_to_sign)
    headers = {
        "Host": ENDPOINT,
        "Content-Type": content_type,
        "X-TC-Action": action,
        "X-TC-Timestamp": str(timestamp),
        "X-TC-Version": TENCENT_VERSION,
        "Authorization": f"TC3-HMAC-SHA256 Credential={key[0]}/{scope}, SignedHeaders=content-type;host, Signature={signature}",
    }
    return Signed("POST", {}, headers, body)


# ---------------------------------------------------------------------------------------------------------
# The vendors' envelopes.

def assert_alibaba_error(answer: Answer, code: str, status: int | None = None) -> dict:
    """Alibaba's error: HTTP 4xx, JSON {RequestId, Code, Message}."""
    if status is not None:
        assert answer.status == status, answer
    assert 400 <= answer.status < 500, answer
    assert answer.content_type.startswith("application/json"), answer
    body = answer.json()
    assert set(body) == {"RequestId", "Code", "Message"}, answer
    assert body["Code"] == code, answer
    assert REQUEST_ID.match(body["RequestId"]), answer
    assert body["Message"], answer
    return body


def assert_tencent_error(answer: Answer, code: str) -> dict:
    """Tencent's error: HTTP 200, Content-Type exactly application/json, {"Response": {"Error": {...}, "RequestId"}}."""
    assert answer.status == 200, answer
    assert answer.content_type == "application/json", answer
    body = answer.json()
    assert set(body) == {"Response"}, answer
    assert set(body["Response"]) == {"Error", "RequestId"}, answer
    assert set(body["Response"]["Error"]) == {"Code", "Message"}, answer
    assert body["Response"]["Error"]["Code"] == code, answer
    assert body["Response"]["Error"]["Message"], answer
    assert REQUEST_ID.match(body["Response"]["RequestId"]), answer
    return body["Response"]


def assert_alibaba_ok(answer: Answer) -> dict:
    assert answer.status == 200, answer
    body = answer.json()
    assert "Code" not in body, answer
    assert REQUEST_ID.match(body["RequestId"]), answer
    return body


def assert_tencent_ok(answer: Answer) -> dict:
    assert answer.status == 200, answer
    assert answer.content_type == "application/json", answer
    body = answer.json()
    assert "Error" not in body["Response"], answer
    assert REQUEST_ID.match(body["Response"]["RequestId"]), answer
    return body["Response"]


def record_of(email: str, user: str = "alice") -> Answer:
    """The link record as the per-action Query route shows it to `user`."""
    return route("query-email-verification", {"Email": email}, user)
