"""`make load`, after the load: checks the local stack against what the load tool was told.

Reads the journal that tests/load/locustfile.py wrote (LOAD_OUT/journal.json), the whole table (a scan of
$TABLE_NAME at $AWS_ENDPOINT_URL_DYNAMODB), the SES emulator's store ($SES_URL/store) and the SMS outbox
($SMS_OUTBOX). Prints the results, writes the report section (LOAD_OUT/section.md) and, with --benchmarks FILE,
puts it into that file between `<!-- make load: begin -->` and `<!-- make load: end -->` (replacing the section if
present, appending it if not; the rest of the file is left as it is). Exits 1 when a check fails.

The checks:
- requests: at least --min-requests;
- no request answered with a status >= 500, and every request answered;
- links: every address that was in a SuccessList and not deleted afterwards has its record, exactly one TOKEN item
  of its caller and address, whose hash is the record's current_token and the SHA-256 of a token mailed to the
  address (one live link, and it was mailed); every record in the table has exactly one link item; no link item
  is left over; deleted addresses have neither record nor link; verification status as the tool was told; every
  success answer has its mail;
- codes: every contact confirmed and not deleted afterwards is in the verified list, deleted ones are not; every
  code send answered as a success has its mail or text message;
- quotas: no QUOTA or CODEQUOTA item holds more than QUOTA_MAX_PER_DAY sends in 24 h or two sends less than
  QUOTA_MIN_INTERVAL_SECONDS apart; nor do the success answers the tool received;
- answers: none outside the codes this mix expects, none that contradicts an earlier answer to the same user;
- the front door: every request of the unsigned flood refused in the answer its kind calls for, and shown refused in
  the functions' log before the key lookup (a refusal line that names no key), as many as were sent; no DynamoDB
  request in the flood-only window (DynamoDB Local's request log, --dynamodb-log); every signed tenant's call a
  success, or refused by the caller's rate (Throttling / RequestLimitExceeded, the one documented refusal); every
  tenant's successful send has its record and its mail.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone

import boto3
import requests
from boto3.dynamodb.types import TypeDeserializer

BEGIN = "<!-- make load: begin -->"
END = "<!-- make load: end -->"
TOKEN_RE = re.compile(r"verify-email\?Token=([0-9a-f]{64})")
MAIL_CODE_RE = re.compile(r"^\s+(\d{6})\s*$", re.M)
DAY_MS = 86_400_000


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def scan_table() -> list[dict]:
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"],
                          region_name=os.environ.get("AWS_REGION", "us-east-1"))
    des = TypeDeserializer()
    items = []
    for page in client.get_paginator("scan").paginate(TableName=os.environ["TABLE_NAME"], ConsistentRead=True):
        for raw in page["Items"]:
            items.append({k: des.deserialize(v) for k, v in raw.items()})
    return items


def quota_violations(sends_ms: list[int], min_interval_ms: int, max_per_day: int) -> list[str]:
    """What breaks the quota rules in one list of send times (epoch ms)."""
    sends = sorted(sends_ms)
    out = []
    for a, b in zip(sends, sends[1:]):
        if b - a < min_interval_ms:
            out.append(f"two sends {b - a} ms apart")
    for i, t in enumerate(sends):
        within = [u for u in sends[i:] if u - t < DAY_MS]
        if len(within) > max_per_day:
            out.append(f"{len(within)} sends within 24 h")
            break
    return out


class Audit:
    def __init__(self, journal: dict, items: list[dict], mails: list[dict], sms: list[dict],
                 min_interval_s: int, max_per_day: int, min_requests: int,
                 answered: Counter | None = None, door_lines: Counter | None = None,
                 dynamodb_requests: list[tuple[int, str, int]] | None = None) -> None:
        self.j = journal
        self.answered = answered  # (action, status) -> answers the functions logged during the load
        self.door_lines = door_lines  # the front door's log lines during the load (see front_door_lines)
        self.dynamodb_requests = dynamodb_requests  # (epoch ms, operation, status): DynamoDB Local's request log
        self.min_interval_s = min_interval_s
        self.max_per_day = max_per_day
        self.min_requests = min_requests
        self.checks: list[tuple[str, str, bool, str]] = []  # (name, measured, passed, note)
        self.findings: list[str] = []
        self.figures: dict[str, object] = {}

        self.records = {}
        self.tokens = defaultdict(list)      # (caller, email) -> [hash]
        self.token_items = {}
        self.quotas = []
        self.contacts = {}
        for it in items:
            pk = it["pk"]
            if pk.startswith("EMAIL#"):
                self.records[(it["caller"], it["email"])] = it
            elif pk.startswith("TOKEN#"):
                self.tokens[(it["caller"], it["email"])].append(pk[len("TOKEN#"):])
                self.token_items[pk] = it
            elif pk.startswith("QUOTA#") or pk.startswith("CODEQUOTA#"):
                self.quotas.append(it)
            elif pk.startswith("CONTACT#"):
                self.contacts[(it["caller"], int(it["type"]), it["contact"])] = it
        self.items = items

        # What the emulator and the outbox hold, per address or number.
        self.link_mails = defaultdict(list)   # address -> [(at, token)]
        self.code_msgs = defaultdict(list)    # address or number -> [at]
        for m in mails:
            text = (m.get("body") or {}).get("text") or ""
            for to in (m.get("destination") or {}).get("to") or []:
                to = to.strip().lower()
                if tm := TOKEN_RE.search(text):
                    self.link_mails[to].append((m.get("at", 0), tm.group(1)))
                elif MAIL_CODE_RE.search(text):
                    self.code_msgs[to].append(m.get("at", 0))
        for s in sms:
            self.code_msgs[s.get("to", "")].append(s.get("at", 0) / 1000)
        self.mail_count = len(mails)
        self.sms_count = len(sms)

    def check(self, name: str, measured, passed: bool, note: str = "") -> None:
        self.checks.append((name, str(measured), passed, note))

    def finding(self, text: str) -> None:
        if len(self.findings) < 60:
            self.findings.append(text)

    # -------------------------------------------------------------------------------------------------

    def run(self) -> bool:
        j = self.j
        total = j["requests"]
        status = Counter()
        for _action, s, n in j["status"]:
            status[s] += n
        fivexx = sum(n for s, n in status.items() if s >= 500)
        unanswered = status.get(0, 0)
        self.check(f"requests ≥ {self.min_requests:,}", f"{total:,}", total >= self.min_requests)
        self.audit_5xx(fivexx)
        self.check("requests without an answer (connection error, timeout)", unanswered, unanswered == 0)
        for ex in j["examples"].get("no_answer", [])[:10]:
            self.finding(f"no answer: {ex['action']} {json.dumps(ex['request'])}: {ex['error']}")

        self.audit_links()
        self.audit_codes()
        self.audit_quotas()
        self.audit_door()
        self.audit_tenants()

        unexpected = sum(n for _a, _c, n in j["unexpected"])
        self.check("answers outside the codes this mix expects", unexpected, unexpected == 0)
        for ex in j["examples"].get("unexpected", [])[:15]:
            self.finding(f"unexpected {ex['code']}: {ex['action']} {json.dumps(ex['request'])} → {ex['status']} "
                         f"{ex['answer'][:300]}")
        self.check("answers contradicting earlier answers to the same user", j["contradictions"],
                   j["contradictions"] == 0)
        for ex in j["examples"].get("contradictions", [])[:15]:
            self.finding(f"contradiction: {ex['action']}: {ex['what']}; request {json.dumps(ex['request'])} → "
                         f"{ex['answer'][:300]}")
        return all(c[2] for c in self.checks)

    def audit_5xx(self, fivexx: int) -> None:
        """Every 5xx, and who answered it: the service, or the local emulator in front of it.

        `cargo lambda watch` relays each request to a function instance and its answer back. When the relay
        itself fails it answers 500 with its own problem document ({"type":"https://httpstatuses.com/500",...}),
        which is not an answer of this service (those carry RequestId and Code). Such a 500 is counted apart
        only when the functions' log proves that every request of that action reached its function and was
        answered there with a status below 500 (as many answers as requests, none of them 5xx)."""
        examples = self.j["examples"].get("server_errors", [])
        sent = Counter()
        for action, values in self.j["latency_ms"].items():
            sent[action.replace(" (link page)", "")] += len(values)
        logged = Counter()
        logged_5xx = Counter()
        for (action, status), n in (self.answered or {}).items():
            logged[action] += n
            if status >= 500:
                logged_5xx[action] += n
        relay = 0
        for ex in examples:
            action = ex["action"].replace(" (link page)", "")
            emulator = '"type":"https://httpstatuses.com/' in ex["answer"] and self.answered is not None \
                and logged[action] == sent[action] and not logged_5xx[action]
            if emulator:
                relay += 1
            self.finding(f"5xx ({'from cargo lambda watch, the function had answered' if emulator else 'from the service'}): "
                         f"{ex['action']} {json.dumps(ex['request'])} → {ex['status']} {ex['answer'][:200]}")
        recorded = len(examples)
        service = fivexx - relay
        self.figures.update(fivexx=fivexx, fivexx_relay=relay)
        self.check("responses with status ≥ 500 from the service", service, service == 0,
                   "" if recorded >= fivexx else f"only {recorded} of {fivexx} recorded")
        if relay:
            self.check("responses with status ≥ 500 from the local emulator (cargo lambda watch) for requests its "
                       "function had answered (not counted above)", relay, True)
        if self.answered is not None:
            off = {a: (sent[a], logged[a]) for a in sorted(set(sent) | set(logged)) if sent[a] != logged[a]}
            for a, (x, y) in off.items():
                self.finding(f"{a}: {x} requests sent, {y} answers in the functions' log")
            self.check("requests the functions' log does not show answered once", len(off) and sum(abs(x - y) for x, y in off.values()),
                       not off)

    def audit_links(self) -> None:
        told = self.j["links"]
        expected_present, expected_absent, uncertain = [], [], 0
        for t in told:
            if t["uncertain"]:
                uncertain += 1
                continue
            if not t["sent"]:
                continue
            if t["hot"]:
                expected_present.append(t)
            elif t["final"] in ("pending", "verified"):
                expected_present.append(t)
            elif t["final"] == "gone":
                expected_absent.append(t)
            else:
                # No final state (should not happen): the later of the last send and the last delete decides.
                (expected_present if max(e for _s, e in t["sent"]) > max(t["deleted"] or [0]) else expected_absent).append(t)
        lost = dup = unmailed_link = wrong_status = no_mail = 0
        for t in expected_present:
            key = (t["caller"], t["email"])
            rec = self.records.get(key)
            hashes = self.tokens.get(key, [])
            mailed = {hashlib.sha256(tok.encode()).hexdigest() for _at, tok in self.link_mails.get(t["email"], [])}
            if rec is None or not hashes or not self.link_mails.get(t["email"]):
                lost += 1
                self.finding(f"lost: {key}: record {'present' if rec else 'MISSING'}, {len(hashes)} link item(s), "
                             f"{len(self.link_mails.get(t['email'], []))} mail(s); told {len(t['sent'])} send(s), "
                             f"{len(t['deleted'])} delete(s)")
                continue
            if len(hashes) > 1:
                dup += 1
                self.finding(f"two live links: {key}: {len(hashes)} link items {hashes}, current {rec['current_token']}")
            elif hashes[0] != rec["current_token"]:
                lost += 1
                self.finding(f"lost: {key}: its one link item {hashes[0][:12]}… is not the record's current link "
                             f"{rec['current_token'][:12]}…")
            if rec["current_token"] not in mailed:
                unmailed_link += 1
                self.finding(f"live link never mailed: {key}: current {rec['current_token'][:12]}…, "
                             f"{len(mailed)} mailed token(s)")
            want = 1 if (t["final"] == "verified") else (0 if not t["hot"] else None)
            if want is not None and int(rec["status"]) != want:
                wrong_status += 1
                self.finding(f"status: {key}: told {'verified' if want else 'pending'}, table status {rec['status']}")
        resurrected = 0
        for t in expected_absent:
            key = (t["caller"], t["email"])
            if key in self.records or self.tokens.get(key):
                resurrected += 1
                self.finding(f"deleted but present: {key}: record {'present' if key in self.records else 'absent'}, "
                             f"{len(self.tokens.get(key, []))} link item(s)")
        # The table as a whole: each record exactly one link item, which is its current one; no other link items.
        multi = sum(1 for k in self.records if len(self.tokens.get(k, [])) != 1)
        stray = 0
        for key, hashes in self.tokens.items():
            rec = self.records.get(key)
            for h in hashes:
                if rec is None or rec["current_token"] != h:
                    stray += 1
                    self.finding(f"stray link item: {key}: {h[:12]}… (record {'present' if rec else 'absent'})")
        told_keys = {(t["caller"], t["email"]) for t in told if t["sent"] or t["uncertain"]}
        untold = [k for k in self.records if k not in told_keys and k[0].startswith("load-")]
        for k in untold[:10]:
            self.finding(f"record nobody was told about: {k}")
        # Every success answer has its mail (per address, all callers together; uncertain addresses left out).
        successes = Counter()
        skip = set()
        for t in told:
            if t["uncertain"]:
                skip.add(t["email"])
            successes[t["email"]] += len(t["sent"])
        missing_mail = extra_mail = 0
        for email in set(successes) | set(self.link_mails):
            if email in skip or not email.endswith("@load.example.com"):
                continue
            got, want = len(self.link_mails.get(email, [])), successes.get(email, 0)
            if got < want:
                missing_mail += want - got
                self.finding(f"success without a mail: {email}: {want} success answer(s), {got} link mail(s)")
            elif got > want:
                extra_mail += got - want
                self.finding(f"mail without a success answer: {email}: {want} success answer(s), {got} link mail(s)")
        self.figures.update(links_checked=len(expected_present), links_deleted=len(expected_absent),
                            links_uncertain=uncertain, records=len(self.records),
                            link_items=sum(len(v) for v in self.tokens.values()),
                            verified_records=sum(1 for r in self.records.values() if int(r["status"]) == 1))
        self.check("addresses in a SuccessList (not deleted after): lost (no record, no live link, or no mail)",
                   f"{lost} of {len(expected_present):,}", lost == 0)
        self.check("addresses with two or more live links", dup, dup == 0)
        self.check("records whose live link was never mailed", unmailed_link, unmailed_link == 0)
        self.check("records in the table without exactly one link item", f"{multi} of {len(self.records):,}", multi == 0)
        self.check("stray link items (no record, or not its current link)", stray, stray == 0)
        self.check("deleted addresses still present", f"{resurrected} of {len(expected_absent):,}", resurrected == 0)
        self.check("records nobody was told about", len(untold), not untold)
        self.check("verification status other than told", wrong_status, wrong_status == 0)
        self.check("success answers without their mail", missing_mail, missing_mail == 0)
        self.check("link mails without a success answer", extra_mail, extra_mail == 0)

    def audit_codes(self) -> None:
        told = self.j["contacts"]
        present = absent = lost = resurrected = 0
        for t in told:
            if t["uncertain"] or not t["created"]:
                continue
            key = (t["caller"], t["type"], t["contact"])
            if t["hot"] or t["final"] == "verified":
                present += 1
                if key not in self.contacts:
                    lost += 1
                    self.finding(f"lost contact: {key}: confirmed {len(t['created'])} time(s), "
                                 f"deleted {len(t['deleted'])} time(s), not in the table")
            elif t["final"] == "gone":
                absent += 1
                if key in self.contacts:
                    resurrected += 1
                    self.finding(f"deleted contact still present: {key}")
        told_keys = {(t["caller"], t["type"], t["contact"]) for t in told if t["created"] or t["uncertain"]}
        untold = [k for k in self.contacts if k not in told_keys and k[0].startswith("load-")]
        for k in untold[:10]:
            self.finding(f"contact nobody was told about: {k}")
        successes, skip = Counter(), set()
        for t in told:
            if t["uncertain"]:
                skip.add(t["contact"])
            successes[t["contact"]] += len(t["sent"])
        missing = extra = 0
        for contact in set(successes) | {c for c in self.code_msgs if c.endswith("@load.example.com") or c.startswith("+447400")}:
            if contact in skip:
                continue
            got, want = len(self.code_msgs.get(contact, [])), successes.get(contact, 0)
            if got < want:
                missing += want - got
                self.finding(f"code send without its message: {contact}: {want} success answer(s), {got} message(s)")
            elif got > want:
                extra += got - want
                self.finding(f"code message without a success answer: {contact}: {want} success(es), {got} message(s)")
        self.figures.update(contacts_checked=present, contacts_deleted=absent, contacts_in_table=len(self.contacts),
                            code_sends=sum(successes.values()))
        self.check("confirmed contacts (not deleted after) missing from the verified list", f"{lost} of {present:,}",
                   lost == 0)
        self.check("deleted contacts still listed", f"{resurrected} of {absent:,}", resurrected == 0)
        self.check("verified contacts nobody was told about", len(untold), not untold)
        self.check("code sends answered as a success without their mail or text", missing, missing == 0)
        self.check("code mails or texts without a success answer", extra, extra == 0)

    def audit_quotas(self) -> None:
        min_ms = self.min_interval_s * 1000
        bad_items = 0
        for q in self.quotas:
            v = quota_violations([int(x) for x in q.get("sends", [])], min_ms, self.max_per_day)
            if v:
                bad_items += 1
                self.finding(f"quota item {q['pk']}: {', '.join(v)} (sends {[int(x) for x in q['sends']]})")
        # The success answers the tool received: the widest reading of when each send happened (between the
        # request's start and its answer) still has to keep the interval.
        told_bad = 0
        for kind in ("links", "contacts"):
            for t in self.j[kind]:
                sends = sorted(t["sent"])
                for (s1, e1), (s2, e2) in zip(sends, sends[1:]):
                    # Each send happened between its request's start and its answer: at most this far apart.
                    widest = max(e2 - s1, e1 - s2)
                    if widest < self.min_interval_s:
                        told_bad += 1
                        self.finding(f"two success answers at most {widest:.1f} s apart: {kind} "
                                     f"{t.get('email') or t.get('contact')} of {t['caller']}")
                if len([1 for s, _e in sends if s - sends[0][0] < 86400]) > self.max_per_day:
                    told_bad += 1
                    self.finding(f"more than {self.max_per_day} success answers in 24 h: {t.get('email') or t.get('contact')}")
        self.figures.update(quota_items=len(self.quotas),
                            quota_sends=sum(len(q.get("sends", [])) for q in self.quotas))
        self.check(f"quota items over {self.max_per_day} sends in 24 h or with two sends < {self.min_interval_s} s apart",
                   f"{bad_items} of {len(self.quotas):,}", bad_items == 0)
        self.check("success answers within the interval, or over the daily cap", told_bad, told_bad == 0)


    def audit_door(self) -> None:
        """The front door's flood and tenants (locustfile.py, "The front door")."""
        j = self.j
        flood = [(k, c, v, n) for k, c, v, n in j.get("flood", [])]
        sent = sum(n for *_x, n in flood)
        relayed = sum(n for _k, _c, v, n in flood if v == "500 from cargo lambda watch")
        wrong = sum(n for _k, _c, v, n in flood if v == "not refused as expected")
        self.figures.update(flood_sent=sent, flood_relayed=relayed, flood_wrong=wrong)
        if not sent:
            return
        for ex in j["examples"].get("flood", [])[:10]:
            self.finding(f"flood request not refused as expected: {json.dumps(ex)[:400]}")
        self.check("unsigned flood: requests not refused with the answer of their kind", f"{wrong} of {sent:,}",
                   wrong == 0)
        # The functions' log: one refusal naming no key per flood request, by code (the relayed ones included:
        # the function answered them).
        if self.door_lines is not None:
            by_code = Counter()
            for _k, c, _v, n in flood:
                by_code[c] += n
            keyless = Counter({c: n for (what, c, keyed), n in self.door_lines.items()
                               if what == "refused" and not keyed})
            off = {c: (by_code[c], keyless[c]) for c in set(by_code) | set(keyless) if by_code[c] != keyless[c]}
            for c, (x, y) in sorted(off.items()):
                self.finding(f"flood {c}: {x:,} sent, {y:,} refusals naming no key in the functions' log")
            self.figures.update(flood_logged=sum(keyless.values()))
            self.check("unsigned flood: requests the functions' log does not show refused before the key lookup",
                       sum(abs(x - y) for x, y in off.values()), not off)
        if relayed:
            self.check("unsigned flood: 500s from the local emulator (cargo lambda watch) for requests the front "
                       "door had refused (not counted above)", relayed, self.door_lines is not None and
                       self.figures.get("flood_logged") == sent)
        # The flood-only window: what DynamoDB Local served while only the flood ran.
        solo = j.get("solo") or {}
        if self.dynamodb_requests is not None and solo.get("start") and solo.get("end"):
            gap = j.get("flood_settings", {}).get("solo_gap_s", 0)
            lo, hi = solo["start"] * 1000, (solo["end"] + gap) * 1000
            during = [r for r in self.dynamodb_requests if lo <= r[0] < hi]
            self.figures.update(solo_dynamodb=len(during), solo_seconds=solo["end"] - solo["start"])
            for ms, op, st in during[:10]:
                self.finding(f"DynamoDB request in the flood-only window: {op} (HTTP {st}) at {ms / 1000:.3f}")
            self.check(f"DynamoDB requests while only the flood ran ({solo['requests']:,} unsigned requests)",
                       len(during), not during)
        elif j.get("flood_settings", {}).get("solo"):
            self.check("DynamoDB requests while only the flood ran", "not measured", False,
                       "no DynamoDB request log or no flood-only window")

    def audit_tenants(self) -> None:
        j = self.j
        rows = j.get("tenants", [])
        if not rows:
            return
        verdicts = Counter()
        for _a, _s, v, n in rows:
            verdicts[v] += n
        total = sum(verdicts.values())
        self.figures.update(tenant_calls=total, tenant_verdicts=verdicts)
        for ex in j["examples"].get("tenant_failures", [])[:10]:
            self.finding(f"signed tenant call failed: {json.dumps(ex)[:400]}")
        self.check("signed tenants: calls that failed (other than the documented throttle)",
                   f"{verdicts['failed']} of {total:,}", verdicts["failed"] == 0)
        relayed = verdicts["500 from cargo lambda watch"]
        if relayed:
            self.check("signed tenants: 500s from the local emulator (cargo lambda watch), not from the service",
                       relayed, True)
        missing = 0
        for caller, kind, email in j.get("tenant_sent", []):
            mailed = bool(self.link_mails.get(email)) if kind == "link" else bool(self.code_msgs.get(email))
            recorded = kind != "link" or (caller, email) in self.records
            if not (mailed and recorded):
                missing += 1
                self.finding(f"signed tenant's {kind} send without its {'mail' if recorded else 'record'}: {caller} {email}")
        self.check("signed tenants: successful sends without their record or mail",
                   f"{missing} of {len(j.get('tenant_sent', [])):,}", missing == 0)

# ---------------------------------------------------------------------------------------------------------
# The report.

ANSWERED_RE = re.compile(r'"timestamp":"([^"]+)".*?"message":"answered","status":(\d+)\}.*?"action":"([A-Za-z]+)"')


def function_answers(path: str, since: float, until: float) -> Counter:
    """(action, status) -> the functions' closing `answered` log lines between since and until (epoch s).

    Read with a pattern rather than as JSON: the watch writes the functions' lines and cargo's own
    ("    Running `target/…`") to one stream, so a line may carry a piece of cargo's."""
    out = Counter()
    with open(path, errors="replace") as f:
        for line in f:
            if '"message":"answered"' not in line or FRONT_DOOR in line:
                continue
            m = ANSWERED_RE.search(line)
            if not m:
                out[("(unreadable log line)", 0)] += 1
                continue
            try:
                at = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
            except ValueError:
                out[("(unreadable log line)", 0)] += 1
                continue
            if since <= at <= until:
                out[(m.group(3), int(m.group(2)))] += 1
    return out


FRONT_DOOR = '"door":"front"'


def log_time(entry: dict) -> float | None:
    try:
        return datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp()
    except (KeyError, AttributeError, ValueError):
        return None


def front_door_lines(path: str, since: float, until: float) -> Counter:
    """The front door's refusals between since and until (epoch s): ("refused", code, names a key) -> lines.

    A refusal that names no key (no key_id in its span) was decided before the key lookup: by the body's size,
    or because the request is signed in no scheme the door knows, before any parameter is read and before the
    caller's rate count and the replay record, the door's only DynamoDB requests before the action. Also
    ("answered", status, names a key) -> lines, and ("unreadable", "", False) for lines that do not parse."""
    out = Counter()
    with open(path, errors="replace") as f:
        for line in f:
            if FRONT_DOOR not in line or "{" not in line:
                continue
            try:  # cargo lambda watch may print its own words before a line of the function's
                entry = json.loads(line[line.index("{"):])
            except ValueError:
                out[("unreadable", "", False)] += 1
                continue
            at = log_time(entry)
            if at is None or not since <= at <= until:
                continue
            span = next((x for x in entry.get("spans", []) if x.get("door") == "front"), {})
            fields = entry.get("fields", {})
            keyed = bool(span.get("key_id"))
            if fields.get("message") == "front door: refused":
                out[("refused", fields.get("code", ""), keyed)] += 1
            elif fields.get("message") == "answered":
                out[("answered", fields.get("status", 0), keyed)] += 1
    return out


def dynamodb_requests(path: str) -> list[tuple[int, str, int]]:
    """DynamoDB Local's request log (local/DynamoDBLocalOnHost.java): (epoch ms, operation, HTTP status)."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit() and parts[2].isdigit():
                out.append((int(parts[0]), parts[1], int(parts[2])))
    return out


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
            mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    osname = platform.system()
    try:
        with open("/etc/os-release") as f:
            osname = next((l.split("=", 1)[1].strip().strip('"') for l in f if l.startswith("PRETTY_NAME=")), osname)
    except OSError:
        pass
    load = ""
    try:
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        pass
    return {"cpu": f"{cpu} ({os.cpu_count()} cores)", "memory": mem,
            "os": f"{osname} (Linux {platform.release()} {platform.machine()})", "load": load}


def fmt_ms(v: float) -> str:
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def section(audit: Audit, journal: dict, passed: bool, args) -> str:
    j = journal
    m = machine()
    duration = j["stopped"] - j["started"]
    total = j["requests"]
    lines = [BEGIN, "", "## Load and soak (`make load`)", ""]
    lines += [
        "Written by `make load` (`local/load.sh`, `tests/load/`): Locust drives the local stack for a set time, then "
        "an audit checks the table, the SES emulator and the SMS outbox against what Locust was told, and the "
        "front door's answers to an unsigned flood and to signed tenants against the functions' log and DynamoDB "
        "Local's request log. Every figure "
        "below comes from the run described here; run `make load` again to refresh this section (the rest of the "
        "file is written by other commands).",
        "",
        "| | |", "|---|---|",
        f"| Command | `{args.command}` |",
        f"| Date | {datetime.fromtimestamp(j['started'], timezone.utc):%Y-%m-%d %H:%M} UTC |",
        f"| Commit | {args.commit} |",
        f"| Machine | {m['cpu']}, {m['memory']}, {m['os']}; load average at the audit {m['load']} (the machine is shared) |",
        f"| Tool | Locust {args.locust_version} (headless, `FastHttpUser`, no wait between tasks), Python {platform.python_version()} |",
        f"| Duration | {duration:.0f} s of load (`LOAD_SECONDS`={args.seconds}, plus the last tasks' finish) |",
        f"| Users | {j.get('mix_users', j['users'])} Locust users over {j['callers']} callers (`X-User-Id`), ramped up at {args.spawn_rate}/s"
        + (f"; beside them, at the front door, one client flooding it unsigned and {j.get('tenant_users', 0)} signed tenants"
           if j.get("flood") or j.get("tenants") else "") + " |",
        f"| Stack | `local/stack.sh run` on its own ports ({args.ports}): debug builds under `cargo lambda watch --concurrency 8`, DynamoDB Local (in memory), the SES v2 emulator |",
        f"| Sending rate | `MAX_SEND_RATE=100000` for this run: the service's pacing (14 mails or texts per second per function instance, SES's rate for a new account) is lifted, since the local SES emulator throttles nothing |",
        f"| Quota | {audit.min_interval_s} s between sends, {audit.max_per_day} per 24 h, per caller and address (the service's defaults) |",
        f"| Result | **{'PASS' if passed else 'FAIL'}**: {total:,} requests ({total / duration:.0f}/s)"
        + (f"; at the front door {audit.figures.get('flood_sent', 0):,} unsigned and {audit.figures.get('tenant_calls', 0):,} signed"
           if j.get("flood") or j.get("tenants") else "") + " |",
        "",
        "The mix, per Locust user (one caller each, with addresses and numbers of its own, so that every answer can "
        "be held to the ones before it), by weight: Submit of 1 to 5 addresses, mostly new ones, 30 % with "
        "SendIfExist (20); Resend of 1 to 3 of its addresses, half of them sent to more than 60 s before (8); "
        "VerifyEmail with the newest link mailed to one of its addresses, 70 % by the API action and 30 % by the "
        "link page (8); Query (10); List (6); Delete of 1 to 3 addresses (2); SendIntlPhoneEmailCode to a new or "
        "known address (Type 2) or UK mobile number (Type 1) (10); CreateIntlPhoneEmail with the code from the "
        "mail or the SMS outbox, 10 % a wrong one (8); DescribeIntlPhoneEmailList (5); DeleteIntlPhoneEmail (1); "
        "and, shared by all users so that their sends race, Submit with SendIfExist or Resend of 8 \"hot\" "
        "addresses (3) and SendIntlPhoneEmailCode or CreateIntlPhoneEmail for 4 hot numbers (2). 10 % of the "
        "requests ask for Chinese (`Lang=zh`). Mails are read from the SES emulator (`GET /store?since=`, once a "
        "second) and texts from the SMS outbox.",
        "",
        "### Requests and latency", "",
        "| action | requests | p50 ms | p99 ms | max ms | statuses |", "|---|---:|---:|---:|---:|---|",
    ]
    status_by = defaultdict(Counter)
    for a, s, n in j["status"]:
        status_by[a][s] += n
    everything = []
    for action in sorted(j["latency_ms"]):
        values = sorted(j["latency_ms"][action])
        everything += values
        st = ", ".join(f"{s}: {n:,}" for s, n in sorted(status_by[action].items()))
        lines.append(f"| {action} | {len(values):,} | {fmt_ms(percentile(values, 50))} | {fmt_ms(percentile(values, 99))} "
                     f"| {fmt_ms(values[-1])} | {st} |")
    everything.sort()
    hist = Counter()
    for _a, s, n in j["status"]:
        hist[s] += n
    lines.append(f"| **all** | **{len(everything):,}** | **{fmt_ms(percentile(everything, 50))}** | "
                 f"**{fmt_ms(percentile(everything, 99))}** | **{fmt_ms(everything[-1]) if everything else ''}** | "
                 f"{', '.join(f'{s}: {n:,}' for s, n in sorted(hist.items()))} |")
    lines += ["", "Latency is Locust's, from sending the request to the end of the answer, on the same 2 cores as the stack.",
              "", "### Answers and errors by code", "",
              "Whole-request errors (link actions: the HTTP 4xx/5xx `Code`; code actions: `Response.Error.Code`, HTTP 200) "
              "and per-address outcomes (the items of SuccessList, FailList and ExistList; for the code actions "
              "`Success` is an answer without `Error`). Refusals by the quota, codes that were replaced, and addresses "
              "already pending or verified are normal outcomes of this mix.", "",
              "| action | whole-request errors | outcomes |", "|---|---|---|"]
    errors_by, outcomes_by = defaultdict(Counter), defaultdict(Counter)
    for a, c, n in j["errors"]:
        errors_by[a][c] += n
    for a, c, n in j["outcomes"]:
        outcomes_by[a][c] += n
    for action in sorted(set(errors_by) | set(outcomes_by)):
        e = ", ".join(f"{c}: {n:,}" for c, n in errors_by[action].most_common()) or "none"
        o = ", ".join(f"{c}: {n:,}" for c, n in outcomes_by[action].most_common()) or ""
        lines.append(f"| {action} | {e} | {o} |")
    lines += door_section(audit, j)
    f = audit.figures
    lines += ["", "### Audit", "",
              f"After the load: {f['records']:,} records, {f['link_items']:,} link items, {f['verified_records']:,} "
              f"verified records, {f['quota_items']:,} quota items holding {f['quota_sends']:,} sends, "
              f"{f['contacts_in_table']:,} verified contacts in the table; {audit.mail_count:,} mails in the SES "
              f"emulator and {audit.sms_count:,} text messages in the SMS outbox. Addresses checked: "
              f"{f['links_checked']:,} that were in a SuccessList and not deleted after, {f['links_deleted']:,} deleted; "
              f"contacts checked: {f['contacts_checked']:,} confirmed, {f['contacts_deleted']:,} deleted "
              f"({f['links_uncertain']} addresses left out because a request about them got no answer).", "",
              "| check | found | result |", "|---|---:|---|"]
    for name, measured, ok, _note in audit.checks:
        lines.append(f"| {name} | {measured} | {'pass' if ok else '**FAIL**'} |")
    if f.get("fivexx_relay"):
        lines += ["", f"{f['fivexx_relay']} answer(s) with status 500 came from the local emulator, not from the service: "
                  "the body is `cargo lambda watch`'s own problem document (`{\"type\":\"https://httpstatuses.com/500\",...}`, "
                  "where the service's errors carry `RequestId` and `Code`), and the functions' log holds one `answered` line "
                  "with a status below 500 for every request of that action sent during the load, so the function had "
                  "answered the request and the watch failed to relay its answer."]
    if audit.findings:
        lines += ["", "Findings (first ones):", ""]
        lines += [f"- {x}" for x in audit.findings[:30]]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def door_section(audit: Audit, j: dict) -> list[str]:
    """The front door's part of the report: the unsigned flood, the flood-only window, the signed tenants."""
    flood, tenants = j.get("flood", []), j.get("tenants", [])
    if not flood and not tenants:
        return []
    f, fs = audit.figures, j.get("flood_settings", {})
    rate = f"at most {fs.get('rate', 0):g} a second" if fs.get("rate") else "with no wait"
    lines = ["", "### The front door: an unsigned flood beside signed tenants", "",
             f"One Locust user floods `/` with unsigned junk ({rate}, at most {fs.get('max', 0):,} requests, one "
             f"connection), while {j.get('tenant_users', 0)} signed tenants call it with the key pairs of `ACCESS_KEYS` "
             "(`local/env.sh`: `alice`, `bob`), signed with the vendors' own helpers as the SDK tests sign "
             "(`tests/sdk/stack.py`): Submit and Query with ACS3-HMAC-SHA256 and RPC HMAC-SHA1, SendIntlPhoneEmailCode "
             "(Type 2) and DescribeIntlPhoneEmailList with TC3-HMAC-SHA256 and Tencent's older HmacSHA256, no wait "
             "between calls; the per-action mix above runs all the while. The flood's first "
             f"{fs.get('solo', 0):,} requests run alone (every other user waits for them, and {fs.get('solo_gap_s', 0):g} s "
             "more): in that flood-only window, DynamoDB Local's own request log (`DYNAMODB_REQUEST_LOG`, one line per "
             "request it answered) counts the DynamoDB requests the flood caused.", ""]
    if flood:
        lines += ["| flood request | expected answer | sent | refused as expected | other |", "|---|---|---:|---:|---:|"]
        by_kind = defaultdict(Counter)
        expected = {}
        for kind, code, verdict, n in flood:
            by_kind[kind][verdict] += n
            expected[kind] = code
        shape = {"AuthFailure.InvalidAuthorization": "Tencent's envelope, HTTP 200",
                 "RequestEntityTooLarge": "Alibaba's envelope, HTTP 413"}
        alibaba_400 = "Alibaba's envelope, HTTP 400"
        for kind in sorted(by_kind, key=lambda k: -sum(by_kind[k].values())):
            c = by_kind[kind]
            other = ", ".join(f"{v}: {n:,}" for v, n in c.items() if v != "refused as expected") or "0"
            lines.append(f"| {kind} | {expected[kind]} ({shape.get(expected[kind], alibaba_400)}) | "
                         f"{sum(c.values()):,} | {c['refused as expected']:,} | {other} |")
        values = sorted(v for name, vs in j.get("door_latency_ms", {}).items() if name.endswith("unsigned flood") for v in vs)
        total = sum(n for *_x, n in flood)
        lines.append(f"| **all** | | **{total:,}** | **{total - f.get('flood_wrong', 0) - f.get('flood_relayed', 0):,}** | "
                     f"{f.get('flood_wrong', 0) + f.get('flood_relayed', 0):,} |")
        if values:
            lines += ["", f"The flood's answers took {fmt_ms(percentile(values, 50))} ms at p50 and "
                      f"{fmt_ms(percentile(values, 99))} ms at p99 (Locust's time, on the loaded machine)."]
        solo = j.get("solo") or {}
        if "solo_dynamodb" in f:
            ops = Counter(op for ms, op, _st in (audit.dynamodb_requests or [])
                          if j["started"] * 1000 <= ms <= j["stopped"] * 1000)
            lines += ["", f"**DynamoDB requests caused by the flood: {f['solo_dynamodb']}.** In the flood-only window "
                      f"({solo.get('requests', 0):,} unsigned requests in {f['solo_seconds']:.1f} s, plus "
                      f"{fs.get('solo_gap_s', 0):g} s of quiet) DynamoDB Local answered {f['solo_dynamodb']} requests; over "
                      f"the whole load it answered {sum(ops.values()):,} ("
                      + ", ".join(f"{op} {n:,}" for op, n in ops.most_common()) + ")."]
        if "flood_logged" in f:
            lines += ["", f"The functions' log shows {f['flood_logged']:,} front-door refusals that name no key, for "
                      f"{total:,} flood requests sent: each was refused by the checks before the key lookup (the body's "
                      "size, then whether the request is signed in any scheme at all), which read no parameter and ask "
                      "no service; the caller's rate count and the replay record, the door's DynamoDB requests before "
                      "an action, come after the key."]
    if tenants:
        lines += ["", "| signed tenant call | scheme | calls | succeeded | throttled | failed | p50 ms | p99 ms |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        rows = defaultdict(Counter)
        for action, scheme, verdict, n in tenants:
            rows[(action, scheme)][verdict] += n
        for (action, scheme), c in sorted(rows.items()):
            values = sorted(j.get("door_latency_ms", {}).get(f"front door: {action} ({scheme})", []))
            failed = c["failed"] + c["500 from cargo lambda watch"]
            lines.append(f"| {action} | {scheme} | {sum(c.values()):,} | {c['succeeded']:,} | {c['throttled']:,} | "
                         f"{failed:,} | {fmt_ms(percentile(values, 50)) if values else ''} | "
                         f"{fmt_ms(percentile(values, 99)) if values else ''} |")
        v = f.get("tenant_verdicts", Counter())
        lines += ["", f"Signed tenants: {v['succeeded']:,} calls succeeded, {v['throttled']:,} were throttled by the "
                  f"caller's rate (`Throttling` / `RequestLimitExceeded`, the documented refusal; `CALLER_RATE_LIMIT` is "
                  f"{os.environ.get('CALLER_RATE_LIMIT', '?')}/s on the local stack), {v['failed']:,} failed otherwise"
                  + (f", {v['500 from cargo lambda watch']:,} got a 500 from cargo lambda watch" if v['500 from cargo lambda watch'] else "")
                  + "."]
    return lines


def put_section(path: str, text: str) -> None:
    """Replaces the marked section of `path`, or appends it; the rest of the file is kept. Atomic (rename)."""
    try:
        with open(path, encoding="utf-8") as f:
            old = f.read()
    except FileNotFoundError:
        old = ""
    start, end = old.find(BEGIN), old.find(END)
    if start != -1 and end != -1 and end > start:
        rest = old[end + len(END):]
        new = old[:start] + text.rstrip("\n") + ("\n" + rest.lstrip("\n") if rest.strip() else "\n")
    else:
        new = old + ("\n" if old and not old.endswith("\n") else "") + ("\n" if old else "") + text
    tmp = f"{path}.load-{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="the load's output directory (journal.json)")
    p.add_argument("--benchmarks", help="the file to put the report section into (BENCHMARKS.md)")
    p.add_argument("--min-requests", type=int, default=10_000)
    p.add_argument("--lambda-log", help="the functions' log (.stack/<LAMBDA_PORT>/lambda.log), to tell who answered a 5xx")
    p.add_argument("--dynamodb-log", help="DynamoDB Local's request log (DYNAMODB_REQUEST_LOG), for the flood-only window")
    p.add_argument("--command", default="make load")
    p.add_argument("--commit", default="")
    p.add_argument("--seconds", default="")
    p.add_argument("--spawn-rate", default="")
    p.add_argument("--ports", default="")
    p.add_argument("--locust-version", default="")
    args = p.parse_args()

    with open(os.path.join(args.out, "journal.json")) as f:
        journal = json.load(f)
    min_interval = int(os.environ.get("QUOTA_MIN_INTERVAL_SECONDS", "60"))
    max_per_day = int(os.environ.get("QUOTA_MAX_PER_DAY", "5"))
    t0 = time.time()
    items = scan_table()
    store = requests.get(f"{os.environ['SES_URL'].rstrip('/')}/store", timeout=300)
    store.raise_for_status()
    mails = store.json().get("emails", [])
    sms = []
    try:
        with open(os.environ["SMS_OUTBOX"]) as f:
            sms = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        pass
    print(f"audit: {len(items):,} items, {len(mails):,} mails, {len(sms):,} text messages read in {time.time() - t0:.1f} s")

    answered = door_lines = ddb = None
    if args.lambda_log:
        answered = function_answers(args.lambda_log, journal["started"], journal["stopped"] + 5)
        door_lines = front_door_lines(args.lambda_log, journal["started"], journal["stopped"] + 5)
    if args.dynamodb_log:
        ddb = dynamodb_requests(args.dynamodb_log)
    audit = Audit(journal, items, mails, sms, min_interval, max_per_day, args.min_requests, answered, door_lines, ddb)
    passed = audit.run()
    for name, measured, ok, _ in audit.checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {measured}")
    for x in audit.findings[:30]:
        print(f"  - {x}")
    text = section(audit, journal, passed, args)
    with open(os.path.join(args.out, "section.md"), "w") as f:
        f.write(text)
    if args.benchmarks:
        put_section(args.benchmarks, text)
        print(f"audit: the section is in {args.benchmarks}")
    print(f"audit: {'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
