"""`make load`: the mix of actions that Locust drives against the local stack (see local/load.sh).

Every Locust user is one caller at a time (`X-User-Id`), with addresses, numbers and contacts of its own, so its
requests about them come one after another and each answer can be held to the ones before it. A few "hot"
addresses and numbers are shared by all users (under their own callers), so that sends race on them too; those
are never deleted.

What the tool was told is kept in a journal (LOAD_OUT/journal.json), written when the run stops; tests/load/audit.py
then checks the table, the SES emulator and the SMS outbox against it. Traffic goes only to the local stack
(--host, 127.0.0.1) and to the SES emulator's /store (SES_URL), which a background greenlet polls once a second
with ?since=, so that the users can verify links and confirm codes with what was really mailed or texted.

Beside that mix, the signed front door (`/`) gets two more kinds of traffic (see "The front door" below): one
client floods it with unsigned junk (FloodUser), and signed tenants call it with the vendors' signatures
(TenantUser), signed by tests/sdk/stack.py with the vendors' own helpers. The flood runs alone first (the
flood-only window, whose DynamoDB requests the audit counts), then alongside everything else.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
from collections import Counter, defaultdict
from urllib.parse import quote

import gevent
import gevent.event
import requests
from locust import FastHttpUser, constant, constant_throughput, events, task

# The front door's signed requests and the vendors' envelopes, as the SDK tests build and check them.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk"))
import stack as vendors  # noqa: E402 - tests/sdk/stack.py, found through the path above

OUT = os.environ.get("LOAD_OUT", ".")
CALLERS = int(os.environ.get("LOAD_CALLERS", "50"))
SES_URL = os.environ["SES_URL"].rstrip("/")
SMS_OUTBOX = os.environ["SMS_OUTBOX"]
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "200000"))  # the run also stops after this many requests
MIN_INTERVAL_S = int(os.environ.get("QUOTA_MIN_INTERVAL_SECONDS", "60"))
MAX_PER_DAY = int(os.environ.get("QUOTA_MAX_PER_DAY", "5"))
CODE_LIFETIME_S = 600  # a code works for 10 minutes
HOT_ADDRESSES = 8      # shared addresses (each with one caller), sent to by every user
HOT_CONTACTS = 4       # shared numbers (each with one caller), sent codes by every user
DOMAIN = "load.example.com"
BASE = "/lambda-url"
# The front door's traffic (local/load.sh sets these; 0 turns a part off).
FLOOD_MAX = int(os.environ.get("LOAD_FLOOD_MAX", "20000"))      # unsigned requests at most, in all
FLOOD_RATE = float(os.environ.get("LOAD_FLOOD_RATE", "50"))     # per second at most; 0: no wait at all
FLOOD_SOLO = min(int(os.environ.get("LOAD_FLOOD_SOLO", "300")), FLOOD_MAX)  # sent before anyone else starts
FLOOD_SOLO_GAP_S = 2.0     # after the flood-only window, nobody sends for this long (see FloodUser)
TENANTS = int(os.environ.get("LOAD_TENANTS", "4"))
TENANT_DOMAIN = "tenant.load.example.com"  # not under @load.example.com: the link and code audits leave it out
DOOR = "front door"        # the names of the front door's requests in the journal start with it

# Per-address codes that are a normal outcome under this mix; anything else is an unexpected answer.
LINK_EXPECTED = {"Success", "EmailVerificationExist", "EmailVerified", "EmailVerificationNotExist",
                 "SendTokenQuotaExceeded", "TokenInvalid"}
CODE_EXPECTED = {"", "FailedOperation.SendVerifyCodeIsLimited", "InternalError.VerifiedPhoneEmailErr",
                 "InternalError.VerifyCodeErr", "InternalError.CheckVerifyCodeErr",
                 "ResourceNotFound.PhoneEmailNotExist"}

TOKEN_RE = re.compile(r"verify-email\?Token=([0-9a-f]{64})")
MAIL_CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)
SMS_CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


# ---------------------------------------------------------------------------------------------------------
# What was mailed and texted, as the users see it.

class Inbox:
    def __init__(self) -> None:
        self.tokens: dict[str, list[str]] = defaultdict(list)      # address -> link tokens, in arrival order
        self.codes: dict[str, list[str]] = defaultdict(list)       # address or number -> codes, in arrival order
        self.seen: set[str] = set()
        self.since = 0
        self.sms_offset = 0
        self.polls = 0
        self.poll_errors = 0
        self.running = False

    def poll(self) -> None:
        self.polls += 1
        try:
            answer = requests.get(f"{SES_URL}/store", params={"since": str(self.since)}, timeout=30)
            answer.raise_for_status()
            mails = answer.json().get("emails", [])
        except Exception:  # noqa: BLE001 - a failed poll is tried again in a second
            self.poll_errors += 1
            mails = []
        for mail in mails:
            if mail.get("messageId") in self.seen:
                continue
            self.seen.add(mail.get("messageId"))
            self.since = max(self.since, int(mail.get("at", 0)))
            text = (mail.get("body") or {}).get("text") or ""
            for to in (mail.get("destination") or {}).get("to") or []:
                to = to.strip().lower()
                if m := TOKEN_RE.search(text):
                    self.tokens[to].append(m.group(1))
                elif m := MAIL_CODE_RE.search(text):
                    self.codes[to].append(m.group(1))
        try:
            with open(SMS_OUTBOX, "rb") as f:
                f.seek(self.sms_offset)
                chunk = f.read()
        except OSError:
            chunk = b""
        end = chunk.rfind(b"\n") + 1
        self.sms_offset += end
        for line in chunk[:end].splitlines():
            try:
                sms = json.loads(line)
            except ValueError:
                continue
            if m := SMS_CODE_RE.search(sms.get("body", "")):
                self.codes[sms.get("to", "")].append(m.group(1))

    def loop(self) -> None:
        while self.running:
            self.poll()
            gevent.sleep(1.0)


INBOX = Inbox()


# ---------------------------------------------------------------------------------------------------------
# The journal: every request, every answer that matters to the audit.

class Journal:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)    # action -> ms
        self.status: Counter = Counter()                              # (action, status)
        self.errors: Counter = Counter()                              # (action, whole-request error code)
        self.outcomes: Counter = Counter()                            # (action, per-address code)
        self.unexpected: Counter = Counter()                          # (action, code)
        self.examples: dict[str, list] = defaultdict(list)            # kind -> first examples
        self.contradictions = 0
        self.count = 0
        self.door_latency: dict[str, list[float]] = defaultdict(list)  # front-door request name -> ms
        self.flood: Counter = Counter()                               # (kind, expected code, verdict)
        self.solo = {"start": None, "end": None, "requests": 0}       # the flood-only window
        self.tenants: Counter = Counter()                             # (action, scheme, verdict)
        self.tenant_sent: list = []                                   # [caller, kind, address]: successes
        self.links: dict[tuple[str, str], dict] = {}                  # (caller, address) -> what was told
        self.contacts: dict[tuple[str, int, str], dict] = {}          # (caller, type, contact) -> what was told
        self.started = time.time()
        self.stopped = None
        self.written = False

    def example(self, kind: str, item: dict, limit: int = 25) -> None:
        if len(self.examples[kind]) < limit:
            self.examples[kind].append(item)

    def link(self, caller: str, email: str, hot: bool = False) -> dict:
        return self.links.setdefault((caller, email), {"hot": hot, "sent": [], "deleted": [], "verified": [],
                                                       "uncertain": False, "final": None})

    def contact(self, caller: str, kind: int, contact: str, hot: bool = False) -> dict:
        return self.contacts.setdefault((caller, kind, contact), {"hot": hot, "sent": [], "created": [],
                                                                  "deleted": [], "uncertain": False,
                                                                  "final": None})

    def contradiction(self, action: str, what: str, request: dict, answer: str) -> None:
        self.contradictions += 1
        self.example("contradictions", {"action": action, "what": what, "request": request, "answer": answer[:600]})

    def write(self, environment) -> None:
        if self.written:
            return
        self.written = True
        self.stopped = time.time()
        for user in USERS:
            user.tell_final()
        total = sum(len(v) for v in self.latency.values())  # the per-action mix (the front door's apart)
        doc = {
            "started": self.started,
            "stopped": self.stopped,
            "users": getattr(environment.parsed_options, "num_users", None),
            # The per-action mix's users: the flooding client and the signed tenants are the fixed-count ones.
            "mix_users": (getattr(environment.parsed_options, "num_users", 0) or 0)
            - sum(0 if cls.abstract else cls.fixed_count for cls in (FloodUser, TenantUser)),
            "run_time": getattr(environment.parsed_options, "run_time", None),
            "callers": CALLERS,
            "requests": total,
            "locust_total": environment.stats.total.num_requests,
            "latency_ms": self.latency,
            "status": [[a, s, n] for (a, s), n in sorted(self.status.items())],
            "errors": [[a, c, n] for (a, c), n in sorted(self.errors.items())],
            "outcomes": [[a, c, n] for (a, c), n in sorted(self.outcomes.items())],
            "unexpected": [[a, c, n] for (a, c), n in sorted(self.unexpected.items())],
            "contradictions": self.contradictions,
            "examples": self.examples,
            "links": [{"caller": c, "email": e, **v} for (c, e), v in self.links.items()],
            "contacts": [{"caller": c, "type": t, "contact": k, **v} for (c, t, k), v in self.contacts.items()],
            "inbox": {"polls": INBOX.polls, "poll_errors": INBOX.poll_errors, "mails": len(INBOX.seen)},
            "door_latency_ms": self.door_latency,
            "flood": [[k, c, v, n] for (k, c, v), n in sorted(self.flood.items())],
            "flood_settings": {"max": FLOOD_MAX, "rate": FLOOD_RATE, "solo": FLOOD_SOLO, "solo_gap_s": FLOOD_SOLO_GAP_S},
            "solo": self.solo,
            "tenants": [[a, sc, v, n] for (a, sc, v), n in sorted(self.tenants.items())],
            "tenant_users": 0 if TenantUser.abstract else TenantUser.fixed_count,
            "tenant_sent": self.tenant_sent,
        }
        path = os.path.join(OUT, "journal.json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f)
        os.replace(path + ".tmp", path)


JOURNAL = Journal()


ENVIRONMENT = None


@events.init.add_listener
def _on_init(environment, **_kw):
    global ENVIRONMENT
    ENVIRONMENT = environment


@events.request.add_listener
def _on_request(request_type, name, response_time, response=None, exception=None, **_kw):
    status = getattr(response, "status_code", 0) or 0
    if name.startswith(DOOR):
        JOURNAL.door_latency[name].append(round(response_time, 3))
    else:
        JOURNAL.latency[name].append(round(response_time, 3))
        JOURNAL.status[(name, int(status))] += 1
    JOURNAL.count += 1
    if JOURNAL.count == MAX_REQUESTS and ENVIRONMENT is not None and ENVIRONMENT.runner is not None:
        gevent.spawn(ENVIRONMENT.runner.quit)


@events.test_start.add_listener
def _on_test_start(environment, **_kw):
    os.makedirs(OUT, exist_ok=True)
    JOURNAL.started = time.time()
    INBOX.running = True
    gevent.spawn(INBOX.loop)


@events.test_stop.add_listener
def _on_test_stop(environment, **_kw):
    INBOX.running = False
    gevent.sleep(1.0)
    INBOX.poll()
    JOURNAL.write(environment)


@events.quitting.add_listener
def _on_quitting(environment, **_kw):
    JOURNAL.write(environment)


# ---------------------------------------------------------------------------------------------------------
# The users.

USER_NUMBERS = itertools.count()
USERS: list = []


def hot_caller(i: int) -> str:
    return f"load-{i % CALLERS:03d}"


HOT_LINKS = [(hot_caller(i * 7), f"hot-{i}@{DOMAIN}") for i in range(HOT_ADDRESSES)]
HOT_PHONES = [(hot_caller(i * 11 + 3), f"+447400999{i:03d}") for i in range(HOT_CONTACTS)]


class Answer:
    """One answer, parsed: HTTP status, the body, the JSON (or None), a whole-request error code."""

    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text
        try:
            self.json = json.loads(text) if text and text.lstrip().startswith("{") else None
        except ValueError:
            self.json = None
        self.code = ""
        if isinstance(self.json, dict):
            if "Response" in self.json:
                self.code = ((self.json["Response"] or {}).get("Error") or {}).get("Code", "")
            elif status >= 400:
                self.code = self.json.get("Code", "")
        elif status >= 400 and (m := re.search(r'data-code="([A-Za-z]+)"', text or "")):
            self.code = m.group(1)

    @property
    def answered(self) -> bool:
        return 0 < self.status < 500

    def items(self, field: str) -> list[dict]:
        return list((self.json or {}).get(field) or []) if isinstance(self.json, dict) else []


class LoadUser(FastHttpUser):
    """One caller's traffic. Its own addresses and contacts have a state that every answer is checked against."""

    wait_time = constant(0)
    network_timeout = 90.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        SOLO_DONE.wait(timeout=SOLO_TIMEOUT_S)
        self.n = next(USER_NUMBERS)
        USERS.append(self)
        self.caller = f"load-{self.n % CALLERS:03d}"
        self.fresh = itertools.count()
        self.phones = itertools.count()
        # address -> {"state": pending|verified|gone, "sends": [(start, end)], "uncertain": bool}
        self.addresses: dict[str, dict] = {}
        # (type, contact) -> {"state": none|pending|verified|gone, "sends": [...], "wrong": n, "uncertain": bool}
        self.contacts: dict[tuple[int, str], dict] = {}

    # -- plumbing ----------------------------------------------------------------------------------------

    def call(self, action: str, function: str, *, caller: str | None = None, body: dict | None = None,
             query: dict | None = None, path: str = "") -> Answer:
        headers = {"X-User-Id": caller or self.caller}
        url = f"{BASE}/{function}/{path}"
        if query:
            url += "?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in query.items())
        method = "POST" if body is not None else "GET"
        with self.client.request(method, url, name=action, json=body, headers=headers,
                                 catch_response=True) as r:
            status = int(r.status_code or 0)
            text = r.text or "" if status else ""
            if status == 0 or status >= 500:
                r.failure(f"HTTP {status}")
            else:
                r.success()
        answer = Answer(status, text)
        if answer.code:
            JOURNAL.errors[(action, answer.code)] += 1
        request = {"caller": caller or self.caller, "method": method, "url": url, "body": body}
        if status == 0:
            JOURNAL.example("no_answer", {"action": action, "request": request, "error": str(getattr(r, "error", ""))})
        elif status >= 500:
            JOURNAL.example("server_errors", {"action": action, "request": request, "status": status,
                                              "answer": text[:600], "at": time.time()}, limit=200)
        self.last_request = request
        return answer

    def unexpected(self, action: str, code: str, answer: Answer) -> None:
        JOURNAL.unexpected[(action, code)] += 1
        JOURNAL.example("unexpected", {"action": action, "code": code, "status": answer.status,
                                       "request": self.last_request, "answer": answer.text[:600]})

    def lang(self) -> dict:
        return {"Lang": "zh"} if random.random() < 0.1 else {}

    def new_address(self) -> str:
        local = f"u{self.n:03d}-{next(self.fresh)}"
        return f"{local.upper() if random.random() < 0.1 else local}@{DOMAIN}"

    def own(self, states: tuple[str, ...], k: int = 1, older_than: float | None = None) -> list[str]:
        pool = [a for a, s in self.addresses.items() if s["state"] in states and not s["uncertain"]]
        if older_than is not None:
            now = time.time()
            pool = [a for a in pool if not self.addresses[a]["sends"]
                    or now - self.addresses[a]["sends"][-1][1] > older_than] or pool
        return random.sample(pool, min(k, len(pool)))

    def mark_uncertain(self, addresses) -> None:
        for a in addresses:
            if a in self.addresses:
                self.addresses[a]["uncertain"] = True
            JOURNAL.link(self.caller, a)["uncertain"] = True

    # -- links: per-address answers ----------------------------------------------------------------------

    def sent_list(self, action: str, addresses: list[str], answer: Answer, expect, start: float, caller: str,
                  hot: bool = False) -> None:
        """Reads SuccessList / FailList / ExistList against what each address's state allows."""
        end = time.time()
        if not answer.answered or answer.status != 200:
            if answer.answered:
                self.unexpected(action, answer.code or f"HTTP {answer.status}", answer)
            if not hot:
                self.mark_uncertain(addresses)
            else:
                for a in addresses:
                    JOURNAL.link(caller, a, hot=True)["uncertain"] = True
            return
        seen = set()
        for field in ("SuccessList", "FailList", "ExistList"):
            for item in answer.items(field):
                email = str(item.get("Email", "")).lower()
                code = item.get("Code", "")
                seen.add(email)
                JOURNAL.outcomes[(action, code)] += 1
                if code not in LINK_EXPECTED:
                    self.unexpected(action, code, answer)
                told = JOURNAL.link(caller, email, hot=hot)
                if code == "Success":
                    told["sent"].append([start, end])
                own = None if hot else self.addresses.get(email)
                if own is None or own["uncertain"]:
                    continue
                allowed = expect(own)
                if code not in allowed:
                    JOURNAL.contradiction(action, f"{email}: state {own['state']}, expected {sorted(allowed)}, got {code}",
                                          self.last_request, answer.text)
                if code == "Success":
                    # The tool's own quota check: a success within the interval of the previous one (by the
                    # widest reading of when each was sent), or a sixth in 24 h, contradicts the quota.
                    if own["sends"] and end - own["sends"][-1][0] < MIN_INTERVAL_S:
                        JOURNAL.contradiction(action, f"{email}: sent again {end - own['sends'][-1][0]:.1f} s after the previous send",
                                              self.last_request, answer.text)
                    if len([s for s in own["sends"] if end - s[0] < 86400]) >= MAX_PER_DAY:
                        JOURNAL.contradiction(action, f"{email}: a send beyond {MAX_PER_DAY} in 24 h",
                                              self.last_request, answer.text)
                    own["sends"].append([start, end])
                    own["state"] = "pending"
                    own["verified_token"] = None
        for a in addresses:
            if a.lower() not in seen:
                JOURNAL.contradiction(action, f"{a}: missing from the answer", self.last_request, answer.text)

    # -- the tasks ---------------------------------------------------------------------------------------

    @task(20)
    def submit(self) -> None:
        emails = []
        for _ in range(random.randint(1, 5)):
            if random.random() < 0.75 or not self.addresses:
                emails.append(self.new_address())
            else:
                emails.append(random.choice(list(self.addresses)))
        emails = list({e.lower(): e for e in emails}.values())
        send_if_exist = random.random() < 0.3
        for e in emails:
            self.addresses.setdefault(e.lower(), {"state": "none", "sends": [], "uncertain": False})
        body = {"Email": emails if random.random() < 0.5 else ",".join(emails), **self.lang()}
        if send_if_exist:
            body["SendIfExist"] = True

        def expect(own):
            return {"none": {"Success"}, "gone": {"Success", "SendTokenQuotaExceeded"},
                    "pending": {"Success", "SendTokenQuotaExceeded"} if send_if_exist else {"EmailVerificationExist"},
                    "verified": {"EmailVerified"}}[own["state"]]

        start = time.time()
        answer = self.call("SubmitEmailVerification", "submit-email-verification", body=body)
        self.sent_list("SubmitEmailVerification", [e.lower() for e in emails], answer, expect, start, self.caller)

    @task(8)
    def resend(self) -> None:
        emails = self.own(("pending", "verified", "gone"), random.randint(1, 3),
                          older_than=MIN_INTERVAL_S + 1 if random.random() < 0.5 else None)
        if not emails:
            return self.submit()
        body = {"Email": ",".join(emails), **self.lang()}

        def expect(own):
            return {"pending": {"Success", "SendTokenQuotaExceeded"}, "verified": {"EmailVerified"},
                    "gone": {"EmailVerificationNotExist"}, "none": {"EmailVerificationNotExist"}}[own["state"]]

        start = time.time()
        answer = self.call("ResendEmailVerification", "resend-email-verification", body=body)
        self.sent_list("ResendEmailVerification", emails, answer, expect, start, self.caller)

    @task(8)
    def verify(self) -> None:
        # An address whose every mail has arrived: its newest token is its live link.
        ready = [a for a in self.own(("pending", "verified"), 1000)
                 if len(INBOX.tokens.get(a, ())) == len(self.addresses[a]["sends"])]
        if not ready:
            return self.query()
        email = random.choice(ready)
        token = INBOX.tokens[email][-1]
        if random.random() < 0.7:
            answer = self.call("VerifyEmail", "verify-email", body={"Token": token, **self.lang()})
            ok = answer.status == 200
            action = "VerifyEmail"
        else:
            answer = self.call("VerifyEmail (link page)", "verify-email", path="verify-email",
                               query={"Token": token})
            ok = answer.status == 200 and 'data-code="Success"' in answer.text
            action = "VerifyEmail (link page)"
        JOURNAL.outcomes[(action, answer.code or ("Success" if ok else f"HTTP {answer.status}"))] += 1
        if not answer.answered:
            return self.mark_uncertain([email])
        if not ok:
            self.unexpected(action, answer.code or f"HTTP {answer.status}", answer)
            JOURNAL.contradiction(action, f"{email}: the newest mailed link of a {self.addresses[email]['state']} "
                                          f"address was refused", self.last_request, answer.text)
            return
        self.addresses[email]["state"] = "verified"
        JOURNAL.link(self.caller, email)["verified"].append(time.time())

    @task(10)
    def query(self) -> None:
        known = self.own(("pending", "verified", "gone", "none"), 1)
        email = known[0] if known and random.random() < 0.85 else f"never-{self.n:03d}-{random.randint(0, 10**6)}@{DOMAIN}"
        answer = self.call("QueryEmailVerification", "query-email-verification",
                           query={"Email": email, **self.lang()})
        if not answer.answered:
            return self.mark_uncertain([email])
        if answer.status not in (200, 404) or (answer.status == 404 and answer.code != "EmailVerificationNotExist"):
            return self.unexpected("QueryEmailVerification", answer.code or f"HTTP {answer.status}", answer)
        own = self.addresses.get(email)
        state = own["state"] if own else "none"
        if own and own["uncertain"]:
            return
        if state in ("pending", "verified"):
            want = 0 if state == "pending" else 1
            got = (answer.json or {}).get("VerificationStatus") if answer.status == 200 else None
            if got != want:
                JOURNAL.contradiction("QueryEmailVerification", f"{email}: state {state}, answered "
                                      f"{answer.status} VerificationStatus={got}", self.last_request, answer.text)
        elif answer.status != 404:
            JOURNAL.contradiction("QueryEmailVerification", f"{email}: state {state}, answered {answer.status}",
                                  self.last_request, answer.text)

    @task(6)
    def list_records(self) -> None:
        query = {"PageSize": random.choice([1, 5, 20, 50]), "PageNum": random.randint(1, 3), **self.lang()}
        if random.random() < 0.3:
            query["VerificationStatus"] = random.randint(0, 1)
        answer = self.call("ListEmailVerification", "list-email-verification", query=query)
        if answer.answered and (answer.status != 200 or "TotalItemNum" not in (answer.json or {})):
            self.unexpected("ListEmailVerification", answer.code or f"HTTP {answer.status}", answer)

    @task(2)
    def delete(self) -> None:
        emails = self.own(("pending", "verified"), random.randint(1, 2)) + self.own(("gone",), random.randint(0, 1))
        if not emails:
            return self.list_records()
        answer = self.call("DeleteEmailVerification", "delete-email-verification",
                           body={"Email": emails, **self.lang()})
        if not answer.answered or answer.status != 200:
            if answer.answered:
                self.unexpected("DeleteEmailVerification", answer.code or f"HTTP {answer.status}", answer)
            return self.mark_uncertain(emails)
        for field in ("SuccessList", "FailList"):
            for item in answer.items(field):
                email, code = str(item.get("Email", "")).lower(), item.get("Code", "")
                JOURNAL.outcomes[("DeleteEmailVerification", code)] += 1
                if code not in LINK_EXPECTED:
                    self.unexpected("DeleteEmailVerification", code, answer)
                own = self.addresses.get(email)
                if own is None or own["uncertain"]:
                    continue
                want = "Success" if own["state"] in ("pending", "verified") else "EmailVerificationNotExist"
                if code != want:
                    JOURNAL.contradiction("DeleteEmailVerification", f"{email}: state {own['state']}, expected {want}, "
                                          f"got {code}", self.last_request, answer.text)
                if code == "Success":
                    own["state"] = "gone"
                    JOURNAL.link(self.caller, email)["deleted"].append(time.time())

    # -- codes -------------------------------------------------------------------------------------------

    def contact_state(self, key) -> dict:
        return self.contacts.setdefault(key, {"state": "none", "sends": 0, "wrong": 0, "uncertain": False,
                                              "sent_at": 0.0})

    def new_contact(self) -> tuple[int, str]:
        k = next(self.fresh)
        if random.random() < 0.7 or self.n >= 999 or (m := next(self.phones)) > 999:
            return 2, f"c{self.n:03d}-{k}@{DOMAIN}"
        return 1, f"+447400{self.n:03d}{m:03d}"  # UK mobile numbers of the 07400 range

    def code_answer(self, action: str, answer: Answer, key, allowed: set[str] | None, caller: str, hot=False) -> str | None:
        """The Tencent envelope: the error code ('' for success), checked; None when there was no answer."""
        if not answer.answered:
            told = JOURNAL.contact(caller, *key, hot=hot)
            told["uncertain"] = True
            if not hot:
                self.contact_state(key)["uncertain"] = True
            return None
        code = answer.code if answer.status == 200 and answer.json and "Response" in answer.json else \
            (answer.code or f"HTTP {answer.status}")
        JOURNAL.outcomes[(action, code or "Success")] += 1
        if code not in CODE_EXPECTED:
            self.unexpected(action, code, answer)
        if allowed is not None and code not in allowed:
            JOURNAL.contradiction(action, f"{key[1]}: state {self.contact_state(key)['state']}, expected "
                                  f"{sorted(c or 'Success' for c in allowed)}, got {code or 'Success'}",
                                  self.last_request, answer.text)
        return code

    @task(10)
    def send_code(self) -> None:
        own = [k for k, s in self.contacts.items() if not s["uncertain"]]
        key = random.choice(own) if own and random.random() < 0.35 else self.new_contact()
        state = self.contact_state(key)
        allowed = {"none": {""}, "verified": {"InternalError.VerifiedPhoneEmailErr"}}.get(
            state["state"], {"", "FailedOperation.SendVerifyCodeIsLimited"})
        start = time.time()
        answer = self.call("SendIntlPhoneEmailCode", "send-intl-phone-email-code",
                           body={"Type": key[0], "Code": key[1], **self.lang()})
        code = self.code_answer("SendIntlPhoneEmailCode", answer, key, None if state["uncertain"] else allowed, self.caller)
        if code == "":
            JOURNAL.contact(self.caller, *key)["sent"].append([start, time.time()])
            state["state"], state["sends"], state["wrong"], state["sent_at"] = "pending", state["sends"] + 1, 0, start

    @task(8)
    def create_code(self) -> None:
        # A pending contact whose every message has arrived: the newest code is the live one.
        ready = [k for k, s in self.contacts.items() if s["state"] == "pending" and not s["uncertain"]
                 and len(INBOX.codes.get(k[1], ())) == s["sends"]]
        if not ready:
            return self.describe()
        key = random.choice(ready)
        state = self.contacts[key]
        wrong = random.random() < 0.1
        verify_code = INBOX.codes[key[1]][-1]
        if wrong:
            verify_code = f"{(int(verify_code) + 1) % 10**6:06d}"
        if time.time() - state["sent_at"] > CODE_LIFETIME_S - 30:
            allowed = None  # (long runs) the code may have expired
        elif state["wrong"] >= 5:
            allowed = {"InternalError.CheckVerifyCodeErr"}
        else:
            allowed = {"InternalError.VerifyCodeErr"} if wrong else {""}
        answer = self.call("CreateIntlPhoneEmail", "create-intl-phone-email",
                           body={"Type": key[0], "Code": key[1], "VerifyCode": verify_code, **self.lang()})
        code = self.code_answer("CreateIntlPhoneEmail", answer, key, allowed, self.caller)
        if code == "":
            state["state"] = "verified"
            JOURNAL.contact(self.caller, *key)["created"].append(time.time())
        elif code == "InternalError.VerifyCodeErr":
            state["wrong"] += 1

    @task(5)
    def describe(self) -> None:
        query = {"Type": random.choice([0, 0, 1, 2]), "Offset": random.choice([0, 0, 5]),
                 "Limit": random.choice([5, 20, 100]), **self.lang()}
        answer = self.call("DescribeIntlPhoneEmailList", "describe-intl-phone-email-list", query=query)
        if answer.answered:
            code = answer.code if answer.json and "Response" in answer.json else f"HTTP {answer.status}"
            JOURNAL.outcomes[("DescribeIntlPhoneEmailList", code or "Success")] += 1
            if code or "TotalCount" not in answer.json["Response"]:
                self.unexpected("DescribeIntlPhoneEmailList", code or "no TotalCount", answer)

    @task(1)
    def delete_contact(self) -> None:
        verified = [k for k, s in self.contacts.items() if s["state"] == "verified" and not s["uncertain"]]
        others = [k for k, s in self.contacts.items() if s["state"] != "verified" and not s["uncertain"]]
        pool = verified if verified and random.random() < 0.85 else others
        if not pool:
            return self.describe()
        key = random.choice(pool)
        state = self.contacts[key]
        allowed = {""} if state["state"] == "verified" else {"ResourceNotFound.PhoneEmailNotExist"}
        answer = self.call("DeleteIntlPhoneEmail", "delete-intl-phone-email",
                           body={"Type": key[0], "Code": key[1], **self.lang()})
        code = self.code_answer("DeleteIntlPhoneEmail", answer, key, allowed, self.caller)
        if code == "":
            state["state"] = "gone"
            JOURNAL.contact(self.caller, *key)["deleted"].append(time.time())

    # -- the hot addresses and numbers, shared by all users ----------------------------------------------

    @task(3)
    def hot_send(self) -> None:
        caller, email = random.choice(HOT_LINKS)
        start = time.time()
        if random.random() < 0.7:
            answer = self.call("SubmitEmailVerification", "submit-email-verification", caller=caller,
                               body={"Email": email, "SendIfExist": True})
            action = "SubmitEmailVerification"
        else:
            answer = self.call("ResendEmailVerification", "resend-email-verification", caller=caller,
                               body={"Email": email})
            action = "ResendEmailVerification"
        self.sent_list(action, [email], answer, None, start, caller, hot=True)

    @task(2)
    def hot_code(self) -> None:
        caller, phone = random.choice(HOT_PHONES)
        key = (1, phone)
        if random.random() < 0.6 or not INBOX.codes.get(phone):
            start = time.time()
            answer = self.call("SendIntlPhoneEmailCode", "send-intl-phone-email-code", caller=caller,
                               body={"Type": 1, "Code": phone})
            if self.code_answer("SendIntlPhoneEmailCode", answer, key, None, caller, hot=True) == "":
                JOURNAL.contact(caller, *key, hot=True)["sent"].append([start, time.time()])
        else:
            answer = self.call("CreateIntlPhoneEmail", "create-intl-phone-email", caller=caller,
                               body={"Type": 1, "Code": phone, "VerifyCode": INBOX.codes[phone][-1]})
            if self.code_answer("CreateIntlPhoneEmail", answer, key, None, caller, hot=True) == "":
                JOURNAL.contact(caller, *key, hot=True)["created"].append(time.time())

    def tell_final(self) -> None:
        """What each own address and contact should be in the table now."""
        for email, s in self.addresses.items():
            if (self.caller, email) in JOURNAL.links:
                JOURNAL.links[(self.caller, email)]["final"] = s["state"]
        for key, s in self.contacts.items():
            if (self.caller, *key) in JOURNAL.contacts:
                JOURNAL.contacts[(self.caller, *key)]["final"] = s["state"]


# ---------------------------------------------------------------------------------------------------------
# The front door: an unsigned flood from one client, and signed tenants.
#
# The flood is one Locust user that sends junk to `/`, at most FLOOD_MAX requests and FLOOD_RATE a second: no
# signature of any scheme, bodies that are not JSON or not even text, bodies over 64 KiB, headers that look like a
# vendor's but sign nothing. The door must refuse each before it reads a parameter or asks DynamoDB anything, in
# the answer its checks give (below, per kind). Its first FLOOD_SOLO requests are the flood-only window: every
# other user waits until they are answered and FLOOD_SOLO_GAP_S more seconds have passed, so that the DynamoDB
# requests that DynamoDB Local logs in that window (local/load.sh sets DYNAMODB_REQUEST_LOG) are the flood's.
#
# The tenants sign with the key pairs of ACCESS_KEYS (local/env.sh), with the vendors' own signing helpers
# (tests/sdk/stack.py): Submit and Query with ACS3-HMAC-SHA256 and RPC HMAC-SHA1, SendIntlPhoneEmailCode and
# DescribeIntlPhoneEmailList with TC3-HMAC-SHA256 and Tencent's older HmacSHA256. Every call must succeed; the one
# documented refusal is the caller's rate (Alibaba Throttling, HTTP 429; Tencent RequestLimitExceeded).

SOLO_DONE = gevent.event.Event()
SOLO_TIMEOUT_S = 300.0  # the others start anyway if the flood-only window has not ended by then
if FLOOD_MAX <= 0 or FLOOD_SOLO <= 0:
    SOLO_DONE.set()

JUNK_WORDS = ["Action", "SubmitEmailVerification", "Email", "AccessKeyId", "local-alice", "SignatureNonce",
              "Timestamp", "{", "}", "[", "\"", "=", "&", "%", "\\u0000", "漢字", "null", "<xml>", "'"]


def junk_text(n: int, ascii_only: bool = False) -> str:
    """Junk for a body, or (ascii_only) for a header value, which must be printable ASCII to be sent at all."""
    words = [w for w in JUNK_WORDS if w.isascii() and w != "\\u0000"] if ascii_only else JUNK_WORDS
    return "".join(random.choice(words) for _ in range(n))


def flood_request(i: int) -> tuple[str, str, str, dict, bytes, str, int]:
    """The i-th junk request: (kind, method, target, headers, body, expected code, expected status).

    Expected: no signature at all is Alibaba's MissingParameter (400); an Authorization header of no scheme the door
    knows is IncompleteSignature (400); a body over 64 KiB is RequestEntityTooLarge (413), checked before anything
    else; Tencent's headers without a signature are answered in Tencent's envelope, AuthFailure.InvalidAuthorization
    (HTTP 200)."""
    r = random.random()
    lang = "?Lang=zh" if random.random() < 0.1 else ""
    if r < 0.06:
        size = random.choice([64 * 1024 + 1, 100 * 1024, 256 * 1024])
        ct = random.choice(["application/json", "application/x-www-form-urlencoded", "text/plain"])
        body = {"application/json": b'{"Email":"' + b"a" * size + b'"}',
                "application/x-www-form-urlencoded": b"Email=" + b"a" * size}.get(ct, b"a" * size)
        return "body over 64 KiB", "POST", "/" + lang, {"Content-Type": ct}, body, "RequestEntityTooLarge", 413
    if r < 0.36:
        return ("junk JSON", "POST", "/" + lang, {"Content-Type": "application/json"},
                junk_text(random.randint(1, 400)).encode(), "MissingParameter", 400)
    if r < 0.50:
        body = f"Action=SubmitEmailVerification&Email=flood-{i}%40{DOMAIN}&AccessKeyId=local-alice&SignatureNonce={i}"
        return ("form without Signature", "POST", "/" + lang, {"Content-Type": "application/x-www-form-urlencoded"},
                body.encode(), "MissingParameter", 400)
    if r < 0.64:
        target = (f"/?Action=QueryEmailVerification&Email=flood-{i}%40{DOMAIN}&AccessKeyId=local-bob"
                  f"&SignatureMethod=HMAC-SHA1&SignatureNonce={i}{'&Lang=zh' if lang else ''}")
        return "query without Signature", "GET", target, {}, b"", "MissingParameter", 400
    if r < 0.74:
        return ("binary body", "POST", "/" + lang, {"Content-Type": "application/octet-stream"},
                os.urandom(random.randint(1, 4096)), "MissingParameter", 400)
    if r < 0.84:
        headers = {"Content-Type": "application/json", "X-Acs-Action": "DeleteEmailVerification",
                   "X-Acs-Version": vendors.ALIBABA_VERSION, "X-Acs-Signature-Nonce": f"flood-{i}",
                   "X-Acs-Date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "X-User-Id": "alice",
                   "X-Forwarded-For": "203.0.113.7", "Cookie": f"session={junk_text(3, ascii_only=True)}"}
        return ("vendor headers without a signature", "POST", "/" + lang, headers,
                json.dumps({"Email": f"flood-{i}@{DOMAIN}"}).encode(), "MissingParameter", 400)
    if r < 0.95:
        auth = random.choice([f"Bearer {os.urandom(16).hex()}", "Basic bG9jYWwtYWxpY2U6eA==",
                              "AWS4-HMAC-SHA256 Credential=local-alice/20260101/us-east-1/domain/aws4_request",
                              junk_text(5, ascii_only=True)])
        return ("Authorization of no scheme", "POST", "/" + lang, {"Content-Type": "application/json",
                                                                   "Authorization": auth},
                junk_text(20).encode(), "IncompleteSignature", 400)
    headers = {"Content-Type": "application/json", "X-TC-Action": "DeleteIntlPhoneEmail",
               "X-TC-Timestamp": str(int(time.time())), "X-TC-Version": vendors.TENCENT_VERSION}
    return ("Tencent headers without a signature", "POST", "/", headers, b'{"Type":2,"Code":"x"}',
            "AuthFailure.InvalidAuthorization", 200)


def door_answer(r) -> "vendors.Answer":
    """A Locust response as the SDK tests' Answer (status, lower-case headers, body)."""
    return vendors.Answer(int(r.status_code or 0), {k.lower(): v for k, v in (r.headers or {}).items()}, r.content or b"")


def refusal_holds(answer, code: str, status: int) -> bool:
    """Whether `answer` is the door's refusal `code` in its vendor's envelope (tests/sdk/stack.py's checks)."""
    try:
        if status == 200:
            vendors.assert_tencent_error(answer, code)
        else:
            vendors.assert_alibaba_error(answer, code, status)
        return True
    except (AssertionError, ValueError, KeyError, TypeError):
        return False


def relayed_500(answer) -> bool:
    """`cargo lambda watch`'s own 500 (its problem document), not an answer of the service: see audit.py."""
    return answer.status == 500 and b'"type":"https://httpstatuses.com/' in answer.body


class FloodUser(FastHttpUser):
    """One client that floods `/` with unsigned junk (see above)."""

    abstract = FLOOD_MAX <= 0  # LOAD_FLOOD_MAX=0: no flood
    fixed_count = 1
    wait_time = constant_throughput(FLOOD_RATE) if FLOOD_RATE > 0 else constant(0)
    network_timeout = 90.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        self.sent = 0

    @task
    def flood(self) -> None:
        if self.sent >= FLOOD_MAX:
            gevent.sleep(1.0)  # bounded: the count is reached, the user idles until the run ends
            return
        if self.sent == 0:
            JOURNAL.solo["start"] = time.time()
        kind, method, target, headers, body, code, status = flood_request(self.sent)
        with self.client.request(method, target, name=f"{DOOR}: unsigned flood", headers=headers, data=body or None,
                                 catch_response=True) as r:
            answer = door_answer(r)
            if refusal_holds(answer, code, status):
                verdict = "refused as expected"
                r.success()
            elif relayed_500(answer):
                verdict = "500 from cargo lambda watch"
                r.failure("HTTP 500 from the emulator")
            else:
                verdict = "not refused as expected"
                r.failure(f"expected {code} ({status})")
                JOURNAL.example("flood", {"kind": kind, "method": method, "target": target[:200], "expected": code,
                                          "status": answer.status, "answer": answer.body[:400].decode("utf-8", "replace")})
        JOURNAL.flood[(kind, code, verdict)] += 1
        self.sent += 1
        if self.sent == FLOOD_SOLO and not SOLO_DONE.is_set():
            JOURNAL.solo.update(end=time.time(), requests=self.sent)
            gevent.sleep(FLOOD_SOLO_GAP_S)
            SOLO_DONE.set()


def tenant_keys() -> list[tuple[str, str, str]]:
    """The key pairs of the local stack (ACCESS_KEYS, from local/env.sh): (AccessKeyId, secret, caller)."""
    pairs = json.loads(os.environ.get("ACCESS_KEYS") or "[]")
    return [(p["AccessKeyId"], p["AccessKeySecret"], p["Caller"]) for p in pairs if p.get("Status", "Active") == "Active"]


TENANT_KEYS = tenant_keys()
TENANT_NUMBERS = itertools.count()


class TenantUser(FastHttpUser):
    """A signed tenant: the vendors' signatures, through the front door, next to the flood."""

    abstract = TENANTS <= 0 or not TENANT_KEYS  # LOAD_TENANTS=0: no tenants
    fixed_count = max(TENANTS, 1)
    wait_time = constant(0)
    network_timeout = 90.0
    connection_timeout = 30.0

    def on_start(self) -> None:
        SOLO_DONE.wait(timeout=SOLO_TIMEOUT_S)
        self.n = next(TENANT_NUMBERS)
        key_id, secret, self.caller = TENANT_KEYS[self.n % len(TENANT_KEYS)]
        self.key = (key_id, secret)
        self.fresh = itertools.count()
        self.submitted: list[str] = []

    def address(self) -> str:
        return f"t{self.n:02d}-{next(self.fresh)}@{TENANT_DOMAIN}"

    def call(self, action: str, scheme: str, params: dict, vendor: str, check=lambda body: "") -> dict | None:
        """One signed call, counted by its verdict; the answer's body when it succeeded. A success must also pass
        `check` (what this tenant's own calls before it imply; it returns the problem, or "")."""
        if scheme == "ACS3-HMAC-SHA256":
            signed = vendors.acs3(action, params, self.key)
        elif scheme == "RPC-HMAC-SHA1":
            signed = vendors.rpc(action, params, self.key)
        elif scheme == "TC3-HMAC-SHA256":
            signed = vendors.tc3(action, params, self.key)
        else:
            signed = vendors.tencent_v1(action, params, self.key)
        with self.client.request(signed.method, signed.target(), name=f"{DOOR}: {action} ({scheme})",
                                 headers=signed.headers, data=signed.body or None, catch_response=True) as r:
            answer = door_answer(r)
            body, problem = None, ""
            try:
                body = vendors.assert_alibaba_ok(answer) if vendor == "alibaba" else vendors.assert_tencent_ok(answer)
                problem = check(body)
                verdict = "failed" if problem else "succeeded"
            except (AssertionError, ValueError, KeyError, TypeError):
                if refusal_holds(answer, "Throttling", 429) or refusal_holds(answer, "RequestLimitExceeded", 200):
                    verdict = "throttled"
                elif relayed_500(answer):
                    verdict = "500 from cargo lambda watch"
                else:
                    verdict = "failed"
            if verdict == "failed":
                r.failure(problem or f"HTTP {answer.status}")
                JOURNAL.example("tenant_failures", {"action": action, "scheme": scheme, "caller": self.caller,
                                                    "status": answer.status, "problem": problem,
                                                    "answer": answer.body[:400].decode("utf-8", "replace")})
            else:
                r.success()
        JOURNAL.tenants[(action, scheme, verdict)] += 1
        return body if verdict == "succeeded" else None

    @task(3)
    def submit(self) -> None:
        email, scheme = self.address(), random.choice(["ACS3-HMAC-SHA256", "RPC-HMAC-SHA1"])

        def check(body: dict) -> str:
            codes = [i.get("Code") for i in body.get("SuccessList") or [] if str(i.get("Email", "")).lower() == email]
            return "" if codes == ["Success"] else f"{email}: not Success in SuccessList"

        if self.call("SubmitEmailVerification", scheme, {"Email": email}, "alibaba", check) is not None:
            self.submitted.append(email)
            JOURNAL.tenant_sent.append([self.caller, "link", email])

    @task(3)
    def query(self) -> None:
        if not self.submitted:
            return self.submit()
        email, scheme = random.choice(self.submitted), random.choice(["ACS3-HMAC-SHA256", "RPC-HMAC-SHA1"])

        def check(body: dict) -> str:
            ok = str(body.get("Email", "")).lower() == email and body.get("VerificationStatus") == 0
            return "" if ok else f"{email}: not the pending record it submitted"

        self.call("QueryEmailVerification", scheme, {"Email": email}, "alibaba", check)

    @task(2)
    def send_code(self) -> None:
        email, scheme = self.address(), random.choice(["TC3-HMAC-SHA256", "TencentCloud-v1 HmacSHA256"])
        if self.call("SendIntlPhoneEmailCode", scheme, {"Type": 2, "Code": email}, "tencent") is not None:
            JOURNAL.tenant_sent.append([self.caller, "code", email])

    @task(2)
    def describe(self) -> None:
        scheme = random.choice(["TC3-HMAC-SHA256", "TencentCloud-v1 HmacSHA256"])
        self.call("DescribeIntlPhoneEmailList", scheme, {"Type": 0, "Limit": 20}, "tencent",
                  lambda body: "" if "TotalCount" in body else "no TotalCount")
