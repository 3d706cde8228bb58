"""`make load`: the mix of actions that Locust drives against the local stack (see local/load.sh).

Every Locust user is one caller at a time (`X-User-Id`), with addresses, numbers and contacts of its own, so its
requests about them come one after another and each answer can be held to the ones before it. A few "hot"
addresses and numbers are shared by all users (under their own callers), so that sends race on them too; those
are never deleted.

What the tool was told is kept in a journal (LOAD_OUT/journal.json), written when the run stops; tests/load/audit.py
then checks the table, the SES emulator and the SMS outbox against it. Traffic goes only to the local stack
(--host, 127.0.0.1) and to the SES emulator's /store (SES_URL), which a background greenlet polls once a second
with ?since=, so that the users can verify links and confirm codes with what was really mailed or texted.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from collections import Counter, defaultdict
from urllib.parse import quote

import gevent
import requests
from locust import FastHttpUser, constant, events, task

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
        total = sum(len(v) for v in self.latency.values())
        doc = {
            "started": self.started,
            "stopped": self.stopped,
            "users": getattr(environment.parsed_options, "num_users", None),
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
