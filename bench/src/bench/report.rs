//! The report: one Markdown text, printed and written to `BENCHMARKS.md`.

use std::fmt::Write;

use crate::coldstart::{ColdStart, Kind};
use crate::cpu::CpuRow;
use crate::delay::DelayResult;
use crate::door::{self, DoorCpu, Path};
use crate::first::{FirstRequest, Way};
use crate::machine::Machine;
use crate::sizes::{rust_target, Size};
use crate::stack::{CountRow, Defence, StackResult, SHARED_UNREACHED};
use crate::Options;
use bench::count::{Counts, DYNAMODB, SESV2};
use bench::signed::Scheme;

/// The targets of issue 4.
pub const ZIP_LIMIT_BYTES: u64 = 3_500_000;
pub const COLD_VS_HELLO: f64 = 1.5;
pub const PYTHON_VS_COLD: f64 = 10.0;
pub const DELAY_RATIO: f64 = 5.0;
/// DynamoDB requests on the happy path of one address.
pub const BUDGETS: [(&str, u64); 3] = [
    ("QueryEmailVerification", 1),
    ("VerifyEmail", 2),
    ("SubmitEmailVerification", 2),
];

pub struct Report<'a> {
    pub opts: &'a Options,
    pub machine: Machine,
    pub sizes: Vec<Size>,
    pub cold: Vec<ColdStart>,
    /// The first request after a cold start, plain and TLS (with the stack only).
    pub first: Option<FirstRequest>,
    pub cpu: Vec<CpuRow>,
    pub door_cpu: DoorCpu,
    pub engine: crate::engine::Engine,
    pub delay: DelayResult,
    pub stack: Option<StackResult>,
    /// Refused unsigned requests and the shared caller rate count against DynamoDB Local (with the stack).
    pub defence: Option<Defence>,
}

/// What the front door sent beyond the per-action path for the same action: `Ok("PutItem 1")` when that
/// is exactly one more PutItem to DynamoDB and nothing else, else why not.
fn one_write_more(own: &CountRow, door: &CountRow) -> Result<String, String> {
    if !own.problem.is_empty() {
        return Err(format!("the per-action call failed: {}", own.problem));
    }
    if !door.problem.is_empty() {
        return Err(format!("the front door's call failed: {}", door.problem));
    }
    let extra = difference(&own.counts, &door.counts);
    let text = if extra.is_empty() {
        "none".to_string()
    } else {
        extra
            .iter()
            .map(|((svc, op), n)| format!("{svc} {op} {n:+}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let one_put =
        extra.len() == 1 && extra.get(&(DYNAMODB.to_string(), "PutItem".to_string())) == Some(&1);
    if one_put {
        Ok("PutItem 1".into())
    } else {
        Err(format!("sent {text} beyond the action's own"))
    }
}

/// `door - own` per (service, operation), zeros left out.
fn difference(own: &Counts, door: &Counts) -> std::collections::BTreeMap<(String, String), i64> {
    let mut out = std::collections::BTreeMap::new();
    for (k, n) in &door.0 {
        *out.entry(k.clone()).or_insert(0) += *n as i64;
    }
    for (k, n) in &own.0 {
        *out.entry(k.clone()).or_insert(0) -= *n as i64;
    }
    out.retain(|_, n| *n != 0);
    out
}

/// An action's requests along the per-action path, and per scheme through the front door with what it sent
/// beyond them.
type DoorRow<'a> = (
    &'static str,
    &'a CountRow,
    Vec<(Scheme, &'a CountRow, Result<String, String>)>,
);

/// DynamoDB requests per request over `n` requests: `2.00 (GetItem 1 + PutItem 1)`.
fn per_request(c: &Counts, n: u64) -> String {
    let n = n.max(1) as f64;
    let ops: Vec<String> =
        c.0.iter()
            .filter(|((svc, _), _)| svc == DYNAMODB)
            .map(|((_, op), k)| format!("{op} {}", *k as f64 / n))
            .collect();
    format!(
        "{:.2} ({})",
        c.total(DYNAMODB) as f64 / n,
        if ops.is_empty() {
            "-".into()
        } else {
            ops.join(" + ")
        }
    )
}

/// `2 (GetItem 1 + PutItem 1)`.
fn dynamodb_cell(c: &Counts) -> String {
    format!("{} ({})", c.total(DYNAMODB), c.breakdown(DYNAMODB))
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn pass(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

/// The first words of [`defence`]'s text: `bench --door-only` replaces the text from there to the end of the
/// front door's section.
pub const DEFENCE_START: &str = "**Refused unsigned requests.**";

/// `1,000,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `Ok(())` when `counts` hold no AWS request at all, else what they hold.
fn nothing_sent(counts: &Counts) -> Result<(), String> {
    let n: u64 = counts.0.values().sum();
    if n == 0 {
        Ok(())
    } else {
        let sent: Vec<String> = counts
            .0
            .iter()
            .map(|((svc, op), k)| format!("{svc} {op} {k}"))
            .collect();
        Err(sent.join(" + "))
    }
}

/// The shared count's share: `Ok` when `on` sent exactly one UpdateItem per request more than `off`.
fn one_update_more(off: &Counts, on: &Counts, n: u64) -> Result<(), String> {
    let extra = difference(off, on);
    let update = (DYNAMODB.to_string(), "UpdateItem".to_string());
    if extra.len() == 1 && extra.get(&update) == Some(&(n as i64)) {
        Ok(())
    } else {
        let text: Vec<String> = extra
            .iter()
            .map(|((svc, op), k)| format!("{svc} {op} {:+.2}", *k as f64 / n.max(1) as f64))
            .collect();
        Err(format!("per request: {}", text.join(", ")))
    }
}

/// A throttled request's requests: `Ok` when each sent its count's UpdateItem and nothing else (no replay
/// record, no action).
fn count_only(counts: &Counts, throttled: u64) -> Result<(), String> {
    if throttled == 0 {
        return Err("no request was throttled".into());
    }
    let mut rest = counts.clone();
    let updates = rest
        .0
        .remove(&(DYNAMODB.to_string(), "UpdateItem".to_string()))
        .unwrap_or(0);
    match (updates == throttled, nothing_sent(&rest)) {
        (true, Ok(())) => Ok(()),
        (_, Err(more)) => Err(format!("also sent {more}")),
        (false, Ok(())) => Err(format!("{updates} UpdateItem for {throttled} requests")),
    }
}

/// The front door's defences: what a refused unsigned request costs (CPU time; DynamoDB requests, none),
/// and what the caller's rate count shared across instances adds to an admitted call and costs a
/// throttled one. The last part of the front door's section, written by the full run and by
/// `bench --door-only` alike.
pub fn defence(s: &mut String, opts: &Options, cpu: &DoorCpu, d: Option<&Defence>) {
    let _ = writeln!(
        s,
        "{DEFENCE_START} What a flood of unsigned requests costs the front door. Each is refused by its first two checks, the body's \
size and then whether the request is signed in any scheme at all (an `Authorization` header, `X-TC-Action`, or a `Signature` \
name in the query or the form body): before any parameter is read, and before the key, the caller's rate count and the replay \
record, the door's DynamoDB requests. Handler CPU time per request (in-memory store, {} requests per kind in turns, the \
event's JSON parsed included, as in the table above){}:\n",
        opts.cpu_requests,
        match d {
            Some(d) => format!(
                "; DynamoDB requests per request counted by the SDK interceptor against DynamoDB Local ({} requests per kind, through a \
front door whose caller rate is counted across instances, as deployed)",
                d.unsigned.first().map_or(0, |(_, n, _)| *n)
            ),
            None => String::new(),
        }
    );
    let _ = writeln!(s, "| Request | answer | median µs | p99 µs | mean µs | DynamoDB requests / request | Result |\n|---|---|---:|---:|---:|---:|---|");
    for (kind, x) in &cpu.unsigned {
        let (status, code) = kind.expected();
        let counted = d.and_then(|d| d.unsigned.iter().find(|(k, _, _)| k == kind));
        let (requests, result) = match counted {
            Some((_, n, c)) => match nothing_sent(c) {
                Ok(()) => ("0.00".to_string(), "PASS".to_string()),
                Err(sent) => (
                    format!(
                        "{:.2} ({sent})",
                        c.0.values().sum::<u64>() as f64 / (*n).max(1) as f64
                    ),
                    "**FAIL**".to_string(),
                ),
            },
            None => ("not counted (no stack)".into(), "-".into()),
        };
        let _ = writeln!(
            s,
            "| {} | {status} {code} | {:.1} | {:.1} | {:.1} | {requests} | {result} |",
            kind.label(),
            x.median(),
            x.pct(99.0),
            x.mean()
        );
    }
    if let Some((_, admitted)) = cpu
        .paths
        .iter()
        .find(|(p, _)| *p == Path::Door(Scheme::Acs3))
    {
        let _ = writeln!(
            s,
            "\nFor scale: an admitted `{}` signed with ACS3-HMAC-SHA256 took {:.1} µs at the median in the same run. A row passes \
when its requests sent no DynamoDB request at all.",
            cpu.action,
            admitted.median()
        );
    }
    let Some(d) = d else {
        return;
    };
    let (off, on, n) = (&d.rate_off, &d.rate_on, d.rate_off.samples.len() as u64);
    let _ = writeln!(
        s,
        "\n**The caller's rate, counted across instances.** With `CALLER_RATE_SHARED` set (by default it is `CALLER_RATE_LIMIT`, the \
template's `CallerRateLimit`; `0` turns it off) every signed request of a known key first counts itself in the table, one \
conditional UpdateItem on `RATE#<caller>#<second>`, before the replay record; a caller over the limit is refused \
(`Throttling`, Tencent `RequestLimitExceeded`) with no replay record written. `{}` through the front door ({}), {n} \
requests with the shared count off and on in turns (on: a limit of {} a second, which no request \
reaches), against DynamoDB Local:\n",
        cpu.action,
        d.scheme.label(),
        thousands(u64::from(SHARED_UNREACHED))
    );
    let _ = writeln!(s, "| Shared rate count | p50 ms | p99 ms | mean ms | DynamoDB requests / request |\n|---|---:|---:|---:|---|");
    for (label, t) in [("off (per instance only)", off), ("on", on)] {
        let _ = writeln!(
            s,
            "| {label} | {:.2} | {:.2} | {:.2} | {} |",
            t.samples.pct(50.0),
            t.samples.pct(99.0),
            t.samples.mean(),
            per_request(&t.counts, t.samples.len() as u64)
        );
    }
    let verdict = one_update_more(&off.counts, &on.counts, n);
    let _ = writeln!(
        s,
        "| added by the count | {:+.2} | {:+.2} | {:+.2} | {} |",
        on.samples.pct(50.0) - off.samples.pct(50.0),
        on.samples.pct(99.0) - off.samples.pct(99.0),
        on.samples.mean() - off.samples.mean(),
        match &verdict {
            Ok(()) => "UpdateItem +1.00: PASS".to_string(),
            Err(e) => format!("{e}: **FAIL**"),
        }
    );
    let t = &d.throttled;
    let thr = t.samples.len() as u64;
    let verdict = count_only(&t.counts, thr);
    let _ = writeln!(
        s,
        "\nA throttled request: with a shared limit of 1 a second, {} requests sent back to back: {} admitted, {thr} refused with \
429 `Throttling`. Each refused one sent {} DynamoDB requests: the count's conditional UpdateItem, which failed its \
condition, and no replay record (no PutItem): {}; {:.2} ms at p50, {:.2} ms at p99.",
        thr as usize + d.throttle_admitted,
        d.throttle_admitted,
        per_request(&t.counts, thr),
        match &verdict {
            Ok(()) => "PASS".to_string(),
            Err(e) => format!("**FAIL** ({e})"),
        },
        t.samples.pct(50.0),
        t.samples.pct(99.0)
    );
}

/// Lines the shell scripts ran before this program (`BENCH_COMMANDS`, one a line), then this program.
pub fn commands() -> Vec<String> {
    let mut out: Vec<String> = std::env::var("BENCH_COMMANDS")
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let args: Vec<String> = std::env::args().collect();
    out.push(args.join(" "));
    out
}

struct Target {
    what: String,
    figure: String,
    ok: bool,
    why: String,
}

impl Report<'_> {
    fn hello(&self) -> Option<&ColdStart> {
        self.cold
            .iter()
            .find(|c| c.subject.kind == Kind::Hello && c.error.is_none())
    }

    fn median_of(&self, kind: Kind) -> Option<f64> {
        self.cold
            .iter()
            .find(|c| c.subject.kind == kind && c.error.is_none())
            .map(|c| c.samples.median())
    }

    /// Where a function's cold start goes, from the baselines and diagnostics of the same run.
    fn cold_start_analysis(&self) -> String {
        let Some(h) = self.median_of(Kind::Hello) else {
            return String::new();
        };
        let functions: Vec<f64> = self
            .cold
            .iter()
            .filter(|c| c.subject.kind == Kind::Function && c.error.is_none())
            .map(|c| c.samples.median())
            .collect();
        if functions.is_empty() {
            return String::new();
        }
        let (lo, hi) = functions
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &m| (a.min(m), b.max(m)));
        let mut t = format!(
            "Where the time goes (medians of this run): hello-world {h:.2} ms; the functions {lo:.2} to {hi:.2} ms \
({:.2} to {:.2} ×).",
            lo / h,
            hi / h
        );
        if let Some(sdk) = self.median_of(Kind::HelloSdk) {
            let _ = write!(
                t,
                " With the AWS SDK's defaults (hello-world plus `aws_config::load_from_env`, a DynamoDB and an SES v2 \
client) nothing could start in less than {sdk:.2} ms ({:.2} ×)",
                sdk / h
            );
            match self.median_of(Kind::NoCerts) {
                Some(ns) => {
                    let _ = write!(
                        t,
                        "; {:.2} ms of that is the SDK reading and parsing the platform's root certificates when the \
first client is made (rustls-native-certs reads `SSL_CERT_FILE` and every file of `SSL_CERT_DIR`; the same binary \
with none to load starts in {ns:.2} ms).",
                        sdk - ns
                    );
                }
                None => t.push('.'),
            }
        }
        t.push_str(
            " The functions do not pay that (`adapters/src/sdk.rs`): TLS trusts the five Amazon Trust Services roots \
compiled in; the region, credentials and endpoints Lambda puts in the environment are taken without the SDK's config \
loader (`lambda_sdk_config`: no profile files read, and the default chains' code, STS's client among it, is not linked \
in); and every client (DynamoDB, SES, SMS) is made when first used, for making one builds and throws away an HTTPS \
connector with its rustls configuration to check it.",
        );
        if let Some(svc) = self.median_of(Kind::ServiceSetup) {
            let _ = write!(
                t,
                " That set-up alone on hello-world starts in {svc:.2} ms ({:.2} ×): what the SDK still costs the \
functions at start is {:.2} ms (the configuration, the code linked in); the rest, {:.2} to {:.2} ms, is the functions' \
own: a binary of {} against {} (more pages to map and relocate), lambda_http, logging and configuration. What \
the clients' construction moved out of the cold start is paid by the first request, which builds its HTTPS \
connector either way: see \"First request after a cold start\".",
                svc / h,
                svc - h,
                lo - svc,
                hi - svc,
                self.binary_range(),
                self.sizes.iter().find(|s| s.name == "hello").and_then(|s| s.binary).map_or("?".into(), mb),
            );
        }
        t
    }

    /// The functions' unzipped binaries, smallest to largest: `6.25 to 9.10 MB`.
    fn binary_range(&self) -> String {
        let sizes: Vec<u64> = self
            .sizes
            .iter()
            .filter(|s| s.name != "hello")
            .filter_map(|s| s.binary)
            .collect();
        match (sizes.iter().min(), sizes.iter().max()) {
            (Some(&lo), Some(&hi)) => format!("{:.2} to {}", lo as f64 / 1e6, mb(hi)),
            _ => "?".into(),
        }
    }

    fn function_cold(&self, name: &str) -> Option<f64> {
        self.cold
            .iter()
            .find(|c| {
                c.subject.kind == Kind::Function && c.subject.name == name && c.error.is_none()
            })
            .map(|c| c.samples.median())
    }

    /// The front door's DynamoDB and SES requests per action and scheme, next to the per-action path's
    /// (one address): (action, the per-action row, per scheme the front door's row and its extra requests).
    fn door_rows(&self) -> Vec<DoorRow<'_>> {
        let Some(stack) = &self.stack else {
            return vec![];
        };
        // The one-address scenario's rows (the 100-address one's all name 100).
        let own_rows = stack.counts.iter().filter(|r| r.addresses == 1);
        let mut out = Vec::new();
        for own in own_rows {
            let mut by_scheme = Vec::new();
            for (scheme, rows) in &stack.door_counts {
                if let Some(row) = rows.iter().find(|r| r.action == own.action) {
                    by_scheme.push((*scheme, row, one_write_more(own, row)));
                }
            }
            out.push((own.action, own, by_scheme));
        }
        out
    }

    /// Per scheme: whether every action through the front door sent its own requests plus one PutItem.
    fn door_budget(&self) -> Vec<(Scheme, usize, Vec<String>)> {
        let rows = self.door_rows();
        Scheme::ALL
            .iter()
            .map(|&scheme| {
                let mut misses = Vec::new();
                let mut n = 0;
                for (action, _, by_scheme) in &rows {
                    if let Some((_, _, verdict)) = by_scheme.iter().find(|(s, _, _)| *s == scheme) {
                        n += 1;
                        if let Err(e) = verdict {
                            misses.push(format!("{action}: {e}"));
                        }
                    }
                }
                (scheme, n, misses)
            })
            .filter(|(_, n, _)| *n > 0)
            .collect()
    }

    fn python(&self) -> Option<&ColdStart> {
        self.cold
            .iter()
            .find(|c| c.subject.kind == Kind::Python && c.error.is_none())
    }

    fn hello_zip(&self) -> Option<u64> {
        self.sizes
            .iter()
            .find(|s| s.name == "hello")
            .and_then(|s| s.zip)
    }

    fn targets(&self) -> Vec<Target> {
        let mut t = Vec::new();
        let arch = &self.opts.zip_arch;
        for s in self.sizes.iter().filter(|s| s.name != "hello") {
            let zip = s.zip.unwrap_or(u64::MAX);
            let why = if zip > ZIP_LIMIT_BYTES {
                format!(
                    "the binary is {} unzipped; the hello-world baseline zips to {}",
                    s.binary.map_or("?".into(), mb),
                    self.hello_zip().map_or("?".into(), mb)
                )
            } else {
                String::new()
            };
            t.push(Target {
                what: format!("`{}` zip ({arch}) ≤ 3.5 MB", s.name),
                figure: mb(zip),
                ok: zip <= ZIP_LIMIT_BYTES,
                why,
            });
        }
        let (hello, python) = (
            self.hello().map(|h| h.samples.median()),
            self.python().map(|p| p.samples.median()),
        );
        for c in self
            .cold
            .iter()
            .filter(|c| c.subject.kind == Kind::Function)
        {
            let Some(err) = &c.error else {
                let m = c.samples.median();
                if let Some(h) = hello {
                    let ok = m <= COLD_VS_HELLO * h;
                    let why = if ok {
                        String::new()
                    } else {
                        let sdk = self.median_of(Kind::ServiceSetup).map_or(String::new(), |s| {
                            format!("; hello-world with the functions' SDK set-up alone is {s:.2} ms, {:.2} ×", s / h)
                        });
                        format!("{m:.2} ms against {h:.2} ms{sdk}: see \"Where the time goes\" under Cold start")
                    };
                    t.push(Target {
                        what: format!("`{}` cold start ≤ 1.5 × hello-world", c.subject.name),
                        figure: format!("{:.2} ×", m / h),
                        ok,
                        why,
                    });
                }
                if let Some(p) = python {
                    t.push(Target {
                        what: format!("`{}` cold start ≥ 10 × faster than Python", c.subject.name),
                        figure: format!("{:.1} × faster", p / m),
                        ok: p / m >= PYTHON_VS_COLD,
                        why: String::new(),
                    });
                }
                continue;
            };
            t.push(Target {
                what: format!("`{}` cold start", c.subject.name),
                figure: "failed".into(),
                ok: false,
                why: err.clone(),
            });
        }
        if let Some(stack) = &self.stack {
            for (action, budget) in BUDGETS {
                if let Some(row) = stack
                    .counts
                    .iter()
                    .find(|r| r.action == action && r.addresses == 1)
                {
                    let n = row.counts.total(DYNAMODB);
                    let ok = n <= budget && row.problem.is_empty();
                    t.push(Target {
                        what: format!("{action}, one address: DynamoDB requests ≤ {budget}"),
                        figure: format!("{n} ({})", row.counts.breakdown(DYNAMODB)),
                        ok,
                        why: row.problem.clone(),
                    });
                }
            }
            for (scheme, n, misses) in self.door_budget() {
                t.push(Target {
                    what: format!("`front-door`, {}: DynamoDB requests per SDK call ≤ the action's own + one write", scheme.label()),
                    figure: format!("{} of {n} actions: own + PutItem 1", n - misses.len()),
                    ok: misses.is_empty(),
                    why: misses.join("; "),
                });
            }
        }
        if let Some(d) = &self.defence {
            let sent: Vec<String> = d
                .unsigned
                .iter()
                .filter_map(|(k, _, c)| {
                    nothing_sent(c).err().map(|e| format!("{}: {e}", k.label()))
                })
                .collect();
            t.push(Target {
                what: "`front-door`: refused unsigned requests send no DynamoDB request".into(),
                figure: format!(
                    "{} of {} kinds: 0",
                    d.unsigned.len() - sent.len(),
                    d.unsigned.len()
                ),
                ok: sent.is_empty(),
                why: sent.join("; "),
            });
            let n = d.rate_off.samples.len() as u64;
            let rate = one_update_more(&d.rate_off.counts, &d.rate_on.counts, n).and(count_only(
                &d.throttled.counts,
                d.throttled.samples.len() as u64,
            ));
            t.push(Target {
                what: "`front-door`: the shared caller rate count adds one UpdateItem; a throttled request writes no replay record".into(),
                figure: format!(
                    "{:+.2} ms at p50",
                    d.rate_on.samples.pct(50.0) - d.rate_off.samples.pct(50.0)
                ),
                ok: rate.is_ok(),
                why: rate.err().unwrap_or_default(),
            });
        }
        let ratio = self.delay.ratio();
        t.push(Target {
            what: format!(
                "Submit of 100 addresses ≤ 5 × Submit of 1 ({} ms per call)",
                self.delay.delay_ms
            ),
            figure: format!("{ratio:.2} ×"),
            ok: ratio <= DELAY_RATIO && self.delay.failures == 0,
            why: String::new(),
        });
        t
    }

    /// The front door's section: its zip and cold start against the others, its added time per request,
    /// and its DynamoDB requests per SDK call.
    /// The first request after a cold start, with and without TLS, and the handshake's share of it.
    fn first_request(&self, s: &mut String) {
        let Some(f) = &self.first else {
            return;
        };
        let _ = writeln!(
            s,
            "\n## First request after a cold start, TLS included (`{}`, {} runs per way)\n",
            crate::first::FUNCTION,
            f.runs
        );
        if let Some(e) = &f.error {
            let _ = writeln!(s, "Not measured: {}", e.replace('|', "/"));
            return;
        }
        let _ = writeln!(
            s,
            "| Way to DynamoDB Local | start → first poll ms | first request ms (poll → answer) | start → answer ms | TLS handshake ms | handshake share of the first request | connections / run | answered |\n|---|---:|---:|---:|---:|---:|---:|---|"
        );
        for w in &f.ways {
            let statuses = w
                .statuses
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let (hs, share) = if w.handshake.len() == 0 {
                ("-".to_string(), "-".to_string())
            } else {
                (
                    format!(
                        "{:.2} (p10 {:.2}, p90 {:.2})",
                        w.handshake.median(),
                        w.handshake.pct(10.0),
                        w.handshake.pct(90.0)
                    ),
                    format!("{:.0} %", w.handshake_share.median()),
                )
            };
            let _ = writeln!(
                s,
                "| {} | {:.2} | {:.2} (p10 {:.2}, p90 {:.2}) | {:.2} | {hs} | {share} | {:.1} | {statuses} |",
                w.way.label(),
                w.poll.median(),
                w.request.median(),
                w.request.pct(10.0),
                w.request.pct(90.0),
                w.total.median(),
                w.connections,
            );
        }
        if let (Some(plain), Some(tls)) = (f.way(Way::Plain), f.way(Way::Tls)) {
            let more = tls.request.median() - plain.request.median();
            let _ = writeln!(
                s,
                "\n**TLS share.** The handshake, as the terminator timed it (connection accepted → handshake done), takes \
{:.2} ms, {:.0} % of the first request (median of the runs' shares) and {:.0} % of start → answer. Over HTTPS the first \
request takes {more:+.2} ms against plain HTTP through the same relay ({:.2} against {:.2} ms), {:.0} % of it: the \
handshake plus what the client does for TLS before and after it (its TLS configuration, built with the first \
connection, the root store, encryption).",
                tls.handshake.median(),
                tls.handshake_share.median(),
                100.0 * tls.handshake.median() / tls.total.median(),
                tls.request.median(),
                plain.request.median(),
                100.0 * more / tls.request.median(),
            );
        }
        let _ = writeln!(
            s,
            "\nHow: `{}`. The function is started as for the cold start, with a Runtime API stand-in that answers its first \
poll with one event (QueryEmailVerification of an unknown address, by an IAM caller: one GetItem) and notes when the \
answer is posted. DynamoDB Local is reached through this process, either through a TLS terminator (rustls with \
aws-lc, TLS 1.3, an ECDSA P-256 certificate for 127.0.0.1 signed by a CA made at run time with rcgen) or through a \
plain TCP relay; both connect to DynamoDB Local once they have accepted (and, for TLS, finished the handshake). Both \
ways start the function with `AWS_TLS_ROOTS=native` and `SSL_CERT_FILE` naming only that CA, so both use the SDK's own \
HTTPS client and differ only in the endpoint's scheme. Loopback: the network's round trips, which a real handshake \
with DynamoDB adds (one more for TLS 1.3), are not in these figures.",
            f.command
        );
    }

    /// What the template engine adds (issue 19), measured against hello-world.
    fn template_engine(&self, s: &mut String) {
        let e = &self.engine;
        let _ = writeln!(
            s,
            "\n## Template engine (issue 19: minijinja, every mail and text)\n\n\
`hello-templates` (`bench/src/bin/hello-templates.rs`) is `hello` plus the engine and the built-in templates, used \
as the functions use them: each invocation renders a Link mail, and the built-ins are compiled at the first one, \
not before the first poll. Built and started like the functions. The difference between the two is what the \
engine adds to any function that sends mail; the functions' own figures, engine included, are in the tables \
above and in Targets.\n"
        );
        let _ = writeln!(
            s,
            "| | `hello` | `hello-templates` | added by the engine |\n|---|---:|---:|---:|"
        );
        match (self.hello_zip(), e.templates_zip) {
            (Some(h), Some(t)) => {
                let _ = writeln!(
                    s,
                    "| zip ({}) | {} B | {} B | {}{} B ({:+.1} %) |",
                    self.opts.zip_arch,
                    thousands(h),
                    thousands(t),
                    if t >= h { "+" } else { "-" },
                    thousands(t.abs_diff(h)),
                    100.0 * (t as f64 - h as f64) / h as f64
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "| zip ({}) | not built | not built | - |",
                    self.opts.zip_arch
                );
            }
        }
        match (self.median_of(Kind::Hello), self.median_of(Kind::Templates)) {
            (Some(h), Some(t)) => {
                let _ = writeln!(
                    s,
                    "| cold start, median ({} starts) | {h:.2} ms | {t:.2} ms | {:+.2} ms ({:.2} ×) |",
                    self.opts.starts,
                    t - h,
                    t / h
                );
            }
            _ => {
                let _ = writeln!(s, "| cold start | - | - | not measured |");
            }
        }
        let cpu_of = |kind: Kind| {
            self.cold
                .iter()
                .find(|c| c.subject.kind == kind && c.error.is_none())
                .map(|c| c.cpu.median())
        };
        if let (Some(h), Some(t)) = (cpu_of(Kind::Hello), cpu_of(Kind::Templates)) {
            let _ = writeln!(
                s,
                "| cold start, CPU time to the first poll (user + system), median | {h:.2} ms | {t:.2} ms | {:+.2} ms ({:.2} ×) |",
                t - h,
                t / h
            );
        }
        let _ = writeln!(
            s,
            "\nThe engine's work, in this process ({} runs each; µs):\n\n\
| Step | when | median µs | p99 µs |\n|---|---|---:|---:|\n\
| the built-in templates compiled (4 kinds × 2 languages, every part) | once per cold start, at the first mail | {:.1} | {:.1} |",
            e.runs,
            e.compile_builtin.median(),
            e.compile_builtin.pct(99.0)
        );
        match &e.parse_example {
            Ok(x) => {
                let _ = writeln!(
                    s,
                    "| `{}` parsed, compiled and checked (`put`'s checks: probe renders with short, long and missing values, the SMS length) | once per settings change (and by `put`) | {:.1} | {:.1} |",
                    crate::engine::EXAMPLE,
                    x.median(),
                    x.pct(99.0)
                );
            }
            Err(err) => {
                let _ = writeln!(
                    s,
                    "| `{}` parsed | failed: {} | | |",
                    crate::engine::EXAMPLE,
                    err.replace('|', "/")
                );
            }
        }
        let _ = writeln!(
            s,
            "| a Link mail (subject, text, HTML) rendered with the built-in template | each mail | {:.1} | {:.1} |",
            e.render_builtin.median(),
            e.render_builtin.pct(99.0)
        );
        if let Ok(x) = &e.render_example {
            let _ = writeln!(
                s,
                "| a Link mail rendered with the example's template | each mail | {:.1} | {:.1} |",
                x.median(),
                x.pct(99.0)
            );
        }
    }

    fn front_door(&self, s: &mut String) {
        let _ = writeln!(s, "\n## Front door (`front-door`: every action at `/`, signed with the vendors' schemes)\n");
        let zip = self.sizes.iter().find(|z| z.name == "front-door");
        let largest = self
            .sizes
            .iter()
            .filter(|z| z.name != "hello" && z.name != "front-door")
            .filter_map(|z| z.zip.map(|b| (b, &z.name)))
            .max();
        if let Some(z) = zip {
            let _ = write!(
                s,
                "**Zip.** `front-door` zips to {} ({}, unzipped {}) against the 3.5 MB target",
                z.zip.map_or("?".into(), mb),
                self.opts.zip_arch,
                z.binary.map_or("?".into(), mb)
            );
            if let Some((b, name)) = largest {
                let _ = write!(
                    s,
                    "; the largest per-action function, `{name}`, zips to {}",
                    mb(b)
                );
            }
            let _ = writeln!(
                s,
                ". It links every action and every client, as it serves them all.\n"
            );
        }
        let door_cold = self
            .cold
            .iter()
            .find(|c| c.subject.kind == Kind::Function && c.subject.name == "front-door");
        match door_cold {
            Some(c) if c.error.is_none() => {
                let m = c.samples.median();
                let per_action: Vec<f64> = self
                    .cold
                    .iter()
                    .filter(|c| {
                        c.subject.kind == Kind::Function
                            && c.subject.name != "front-door"
                            && c.error.is_none()
                    })
                    .map(|c| c.samples.median())
                    .collect();
                let _ = write!(
                    s,
                    "**Cold start.** {m:.2} ms median (p10 {:.2}, p90 {:.2})",
                    c.samples.pct(10.0),
                    c.samples.pct(90.0)
                );
                if let Some(h) = self.median_of(Kind::Hello) {
                    let _ = write!(s, ": {:.2} × hello-world ({h:.2} ms)", m / h);
                }
                let compared = door::COMPARED.name();
                let compared_fn = api::actions::ALL
                    .iter()
                    .find(|i| i.name == compared)
                    .map(|i| i.function_name())
                    .unwrap_or_default();
                if let Some(q) = self.function_cold(&compared_fn) {
                    let _ = write!(
                        s,
                        ", {:.2} × `{compared_fn}` ({q:.2} ms, {:+.2} ms)",
                        m / q,
                        m - q
                    );
                }
                if !per_action.is_empty() {
                    let mid = crate::stats::Samples::new(per_action.clone()).median();
                    let (lo, hi) = per_action
                        .iter()
                        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                    let _ = write!(s, "; the per-action functions start in {lo:.2} to {hi:.2} ms (median of their medians {mid:.2} ms, {:+.2} ms to the front door)", m - mid);
                }
                let _ = writeln!(
                    s,
                    ". At start it prepares every client the actions use (DynamoDB, SES, SMS; each is made on first use), reads the \
code secret, and reads its key pairs from `ACCESS_KEYS` (given to it here, as `local/env.sh` does); deployed, it reads them from the Secrets Manager \
secret `ACCESS_KEYS_SECRET_ARN` instead (one GetSecretValue during init, like the code secret's, not in these figures).\n"
                );
            }
            Some(c) => {
                let _ = writeln!(
                    s,
                    "**Cold start.** failed: {}\n",
                    c.error.clone().unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "**Cold start.** not measured: no `functions/front-door`.\n"
                );
            }
        }

        let _ = writeln!(
            s,
            "**Added time per request.** The same action, `{}`, on the same store and the same records: along the per-action \
path (`edge::lambda::handle`, the caller from the IAM authoriser) and through the front door (`edge::front_door::handle`, \
signed with a key pair whose caller is that same principal), requests of the four paths in turns. The front door's extra \
work: tell the scheme, look up the key, check the clock and the signature, and write the replay record (one conditional \
PutItem) before the action runs as in its own function.\n",
            self.door_cpu.action
        );
        if let Some(stack) = &self.stack {
            let _ = writeln!(
                s,
                "Against DynamoDB Local ({} requests per path, wall time in this process):\n",
                stack.requests
            );
            let _ = writeln!(s, "| Path | p50 ms | p99 ms | mean ms | added p50 ms | DynamoDB requests / request |\n|---|---:|---:|---:|---:|---|");
            let base = stack
                .door_latency
                .iter()
                .find(|l| l.path == Path::Function)
                .map(|l| l.samples.pct(50.0));
            for l in &stack.door_latency {
                let n = l.samples.len().max(1) as u64;
                let added = match (l.path, base) {
                    (Path::Function, _) => "-".to_string(),
                    (_, Some(b)) => format!("{:+.2}", l.samples.pct(50.0) - b),
                    _ => "?".into(),
                };
                let _ = writeln!(
                    s,
                    "| {} | {:.2} | {:.2} | {:.2} | {added} | {} |",
                    l.path.label(),
                    l.samples.pct(50.0),
                    l.samples.pct(99.0),
                    l.samples.mean(),
                    per_request(&l.counts, n)
                );
            }
            let r = &stack.replay_record;
            let _ = writeln!(
                s,
                "| the replay record alone (`ReplayGuard::first_use`: one conditional PutItem) | {:.2} | {:.2} | {:.2} | | {} |",
                r.pct(50.0),
                r.pct(99.0),
                r.mean(),
                per_request(&stack.replay_counts, r.len().max(1) as u64)
            );
            let added: Vec<f64> = stack
                .door_latency
                .iter()
                .filter(|l| l.path != Path::Function)
                .filter_map(|l| base.map(|b| l.samples.pct(50.0) - b))
                .collect();
            if !added.is_empty() {
                let (lo, hi) = added
                    .iter()
                    .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
                let _ = writeln!(
                    s,
                    "\nThe front door adds {lo:.2} to {hi:.2} ms at p50; the replay record's round trip alone is {:.2} ms at p50 \
(DynamoDB Local's, in this process; in AWS a conditional PutItem typically takes single-digit milliseconds), and the rest is its CPU time (below).",
                    r.pct(50.0)
                );
            }
            let _ = writeln!(s);
        }
        let c = &self.door_cpu;
        let _ = writeln!(s, "Handler CPU time (in-memory store, mailer that sends nothing, {} requests per path):\n", self.opts.cpu_requests);
        let _ = writeln!(s, "| Path | median µs | p99 µs | mean µs | added median µs | signature check alone, median µs |\n|---|---:|---:|---:|---:|---:|");
        let base = c
            .paths
            .iter()
            .find(|(p, _)| *p == Path::Function)
            .map(|(_, x)| x.median());
        for (path, x) in &c.paths {
            let (added, check) = match path {
                Path::Function => ("-".to_string(), "-".to_string()),
                Path::Door(scheme) => (
                    base.map_or("?".into(), |b| format!("{:+.1}", x.median() - b)),
                    c.checks
                        .iter()
                        .find(|(sc, _)| sc == scheme)
                        .map_or("?".into(), |(_, k)| format!("{:.1}", k.median())),
                ),
            };
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.1} | {:.1} | {added} | {check} |",
                path.label(),
                x.median(),
                x.pct(99.0),
                x.mean()
            );
        }

        let rows = self.door_rows();
        if !rows.is_empty() {
            let _ = writeln!(
                s,
                "\n**DynamoDB requests per SDK call** (happy path, one address, counted by the SDK interceptor against DynamoDB \
Local; each action called once along the per-action path and once through the front door in each scheme, by callers of \
their own):\n"
            );
            let schemes: Vec<Scheme> = rows[0].2.iter().map(|(sc, _, _)| *sc).collect();
            let _ = write!(s, "| Action | per-action function |");
            for sc in &schemes {
                let _ = write!(s, " front door, {} |", sc.label());
            }
            let _ = writeln!(s, " front door's extra | Result |");
            let _ = writeln!(s, "|---|---|{}---|---|", "---|".repeat(schemes.len()));
            for (action, own, by_scheme) in &rows {
                let _ = write!(s, "| {action} | {} |", dynamodb_cell(&own.counts));
                for (_, row, _) in by_scheme {
                    let _ = write!(s, " {} |", dynamodb_cell(&row.counts));
                }
                let verdicts: Vec<&Result<String, String>> =
                    by_scheme.iter().map(|(_, _, v)| v).collect();
                let ok = verdicts.iter().all(|v| v.is_ok());
                let extra = match verdicts.iter().find(|v| v.is_err()) {
                    Some(Err(e)) => e.replace('|', "/"),
                    _ => "PutItem 1".into(),
                };
                let _ = writeln!(s, " {extra} | {} |", pass(ok));
            }
            let _ = writeln!(
                s,
                "\nA row passes when, in every scheme, the front door sent exactly the per-action path's requests plus one DynamoDB \
PutItem (the replay record) and nothing else: SES requests are compared too."
            );
        }
        let _ = writeln!(s);
        defence(s, self.opts, &self.door_cpu, self.defence.as_ref());
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let m = &self.machine;
        let o = self.opts;
        let _ = writeln!(s, "# Benchmarks\n");
        let _ = writeln!(s, "Written by `make bench` (`bench/`); every figure below comes from the run described here. Run it again to refresh.\n");
        let _ = writeln!(s, "| | |\n|---|---|");
        let _ = writeln!(s, "| Date | {} |", m.date);
        let _ = writeln!(s, "| Commit | {} |", m.commit);
        let _ = writeln!(s, "| CPU | {} ({} cores) |", m.cpu, m.cores);
        let _ = writeln!(s, "| Memory | {} |", m.memory);
        let _ = writeln!(s, "| OS | {} ({}) |", m.os, m.kernel);
        let _ = writeln!(s, "| Toolchain | {}; {} |", m.rustc, m.cargo_lambda);
        let _ = writeln!(s, "| Python baseline | {}, boto3 {} |", m.python, m.boto3);
        let _ = writeln!(
            s,
            "\nCommands (from the repository root, with `local/env.sh` sourced):\n\n```sh"
        );
        for c in commands() {
            let _ = writeln!(s, "{c}");
        }
        let _ = writeln!(s, "```\n");
        let _ = writeln!(
            s,
            "Cold-start subjects (each started with the Lambda environment, see below):\n\n```sh"
        );
        for c in &self.cold {
            let _ = writeln!(s, "{}", c.subject.command());
        }
        let _ = writeln!(s, "```\n");

        // Targets first: the question the issue asks.
        let _ = writeln!(s, "## Targets\n");
        let _ = writeln!(
            s,
            "| Target | Measured | Result | Why, for a miss |\n|---|---|---|---|"
        );
        for t in self.targets() {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                t.what,
                t.figure,
                pass(t.ok),
                t.why.replace('|', "/")
            );
        }

        let _ = writeln!(
            s,
            "\n## Zip sizes ({}, `{}`)\n",
            o.zip_arch,
            rust_target(&o.zip_arch)
        );
        let _ = writeln!(
            s,
            "| Function | bootstrap.zip | bootstrap (unzipped) |\n|---|---:|---:|"
        );
        for z in &self.sizes {
            let name = if z.name == "hello" {
                "hello (baseline)".to_string()
            } else {
                format!("`{}`", z.name)
            };
            let warn = z
                .arch_mismatch
                .as_ref()
                .map(|a| format!(" (binary is {a}!)"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "| {name} | {}{warn} | {} |",
                z.zip
                    .map_or("not built".into(), |b| format!("{} ({b} B)", mb(b))),
                z.binary.map_or("-".into(), mb)
            );
        }

        let _ = writeln!(
            s,
            "\n## Cold start (host build `{}`, process start → first poll of the Runtime API, {} starts each)\n",
            o.bin_dir.display(),
            o.starts
        );
        let hello = self.hello().map(|h| h.samples.median());
        let python = self.python().map(|p| p.samples.median());
        let sdk = self.median_of(Kind::HelloSdk);
        let hello_cpu = self.hello().map(|h| h.cpu.median());
        let _ = writeln!(
            s,
            "| Binary | median ms | p10 ms | p90 ms | × hello-world | × hello + SDK | Python ÷ this | CPU ms (median) | CPU × hello-world | page faults, minor / major (median) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for c in &self.cold {
            let name = match c.subject.kind {
                Kind::Function => format!("`{}`", c.subject.name),
                Kind::NoCerts | Kind::ServiceSetup | Kind::Templates => {
                    format!("{} (diagnostic)", c.subject.name)
                }
                _ => format!("{} (baseline)", c.subject.name),
            };
            match &c.error {
                Some(e) => {
                    let _ = writeln!(
                        s,
                        "| {name} | failed: {} | | | | | | | | |",
                        e.replace('|', "/")
                    );
                }
                None => {
                    let med = c.samples.median();
                    let _ = writeln!(
                        s,
                        "| {name} | {med:.2} | {:.2} | {:.2} | {} | {} | {} | {:.2} | {} | {} / {} |",
                        c.samples.pct(10.0),
                        c.samples.pct(90.0),
                        hello.map_or("-".into(), |h| format!("{:.2}", med / h)),
                        sdk.map_or("-".into(), |h| format!("{:.2}", med / h)),
                        python.map_or("-".into(), |p| format!("{:.1}", p / med)),
                        c.cpu.median(),
                        hello_cpu.map_or("-".into(), |h| format!("{:.2}", c.cpu.median() / h)),
                        c.minor_faults.median(),
                        c.major_faults.median(),
                    );
                }
            }
        }

        let analysis = self.cold_start_analysis();
        if !analysis.is_empty() {
            let _ = writeln!(s, "\n{analysis}");
        }

        self.first_request(&mut s);

        self.template_engine(&mut s);

        self.front_door(&mut s);

        if let Some(stack) = &self.stack {
            let _ = writeln!(s, "\n## AWS requests per action (happy path, counted by an SDK interceptor, local stack; the code actions send by mail)\n");
            let _ = writeln!(
                s,
                "A warm process's requests: before counting, one Submit has run in it. Its first write reads the table's \
                 layout (GetItem `CONFIG#layout`, and a PutItem in a table that has none yet) once; every later request \
                 uses the copy it keeps.\n"
            );
            let _ = writeln!(s, "| Action | Addresses | DynamoDB | DynamoDB by operation | SES |\n|---|---:|---:|---|---:|");
            for r in &stack.counts {
                let note = if r.problem.is_empty() {
                    String::new()
                } else {
                    format!(" (not the happy path: {})", r.problem.replace('|', "/"))
                };
                let addresses = match (r.action, r.addresses) {
                    ("ListEmailVerification", 1) => "1 record".to_string(),
                    ("ListEmailVerification", n) => format!("{n} records"),
                    ("DescribeIntlPhoneEmailList", 1) => "1 contact".to_string(),
                    (_, n) => n.to_string(),
                };
                let _ = writeln!(
                    s,
                    "| {}{note} | {addresses} | {} | {} | {} |",
                    r.action,
                    r.counts.total(DYNAMODB),
                    r.counts.breakdown(DYNAMODB),
                    r.counts.total(SESV2)
                );
            }

            let _ = writeln!(s, "\n## Warm latency ({} requests per action, one at a time, in process against DynamoDB Local and the SES emulator)\n", stack.requests);
            let _ = writeln!(s, "| Action | p50 ms | p99 ms | mean ms | DynamoDB requests / request | SES / request | failed |\n|---|---:|---:|---:|---:|---:|---:|");
            for r in &stack.latency {
                let _ = writeln!(
                    s,
                    "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                    r.action,
                    r.samples.pct(50.0),
                    r.samples.pct(99.0),
                    r.samples.mean(),
                    r.dynamodb_per_request,
                    r.ses_per_request,
                    r.failures
                );
            }
        }

        let _ = writeln!(s, "\n## Handler CPU time per request (in-memory store, mailer that sends nothing, {} requests each)\n", o.cpu_requests);
        let _ = writeln!(
            s,
            "| Request | median µs | p99 µs | mean µs | failed |\n|---|---:|---:|---:|---:|"
        );
        for r in &self.cpu {
            let _ = writeln!(
                s,
                "| {} | {:.1} | {:.1} | {:.1} | {} |",
                r.label,
                r.samples.median(),
                r.samples.pct(99.0),
                r.samples.mean(),
                r.failures
            );
        }

        let d = &self.delay;
        let _ = writeln!(
            s,
            "\n## Concurrency (store and mailer wait {} ms per call; SEND_CONCURRENCY = {}; median of {})\n",
            d.delay_ms,
            d.concurrency,
            d.one.len()
        );
        let _ = writeln!(
            s,
            "| Submit | wall ms | store calls | mails |\n|---|---:|---:|---:|"
        );
        let _ = writeln!(s, "| 1 address | {:.1} | 2 | 1 |", d.one.median());
        let _ = writeln!(
            s,
            "| 100 addresses | {:.1} | {} | {} |",
            d.hundred.median(),
            d.store_calls,
            d.mails
        );
        let _ = writeln!(
            s,
            "\n100 addresses take {:.2} × as long as one address. Served one by one they would take about 100 × {:.1} ms = {:.0} ms; \
served {} at a time, about ⌈100 / {}⌉ = {} × as long.",
            d.ratio(),
            d.one.median(),
            100.0 * d.one.median(),
            d.concurrency,
            d.concurrency,
            100usize.div_ceil(d.concurrency.max(1))
        );

        let _ = writeln!(s, "\n## How it was measured\n");
        let _ = writeln!(s, "{}", NOTES.replace("{arch}", &o.zip_arch));
        s
    }
}

const NOTES: &str = "\
- **Profile.** Every binary (functions, `hello`, `bench`) is built with the workspace's `[profile.release]`: \
`opt-level = \"z\"` (but \"s\" for TLS and its crypto, the hashes and HMACs, and JSON: `Cargo.toml` says why), \
`lto = true`, `codegen-units = 1`, `panic = \"abort\"`, `strip = true`. The AWS SDK crates are \
built without their default features (no legacy hyper 0.14 / rustls 0.21 client, no SigV4a): only `rt-tokio` and \
`default-https-client`.
- **Zips.** `local/build.sh` runs `cargo lambda build --release --output-format zip` for {arch}; the size is the size of \
`target/lambda/<function>/bootstrap.zip`, what Lambda is given. `hello` is built the same way, for scale.
- **Cold start.** arm64 binaries cannot run here, so cold start is measured on the same code built for this machine \
(`cargo build --release`, same profile). Each process is started with the Lambda environment \
(`AWS_LAMBDA_RUNTIME_API` pointing at a local stand-in for the Runtime API, `AWS_LAMBDA_FUNCTION_*`) and the \
app's environment from `local/env.sh`; the time is from just before `spawn` to the arrival of the request line of its \
first `GET /2018-06-01/runtime/invocation/next`; then it is killed, and reaped with `wait4`, whose user and system \
time are the \"CPU ms\" column: what the process computed to its poll, without the waits for a core or a page that \
make a shared machine's wall clock noisy (the targets are on the wall clock); and its major page faults, the pages \
of its binary it had to read from disk again because the kernel had evicted them since its last start, beside its \
minor ones (pages mapped from memory: code and data touched, pages the dynamic loader's relocations wrote, stacks, \
heap). Subjects are started in turn, round after round \
(after unmeasured warm-up rounds), so the ratios hold on a noisy machine. It is the part of a Lambda cold start the \
code decides: the sandbox and the download of the zip come on top and are the same for every function. Baselines: \
`hello` (`bench/src/bin/hello.rs`, `lambda_runtime` and nothing else), `hello-sdk` (the same plus \
`aws_config::load_from_env` and a DynamoDB and an SES v2 client: the AWS SDK's defaults, what a typical Rust Lambda \
pays) and Python (`bench/python_baseline.py`: imports boto3, creates DynamoDB and SES v2 clients, polls; the real \
Python runtime adds its own bootstrap on top). Diagnostics: `hello-sdk` started with `SSL_CERT_FILE` and \
`SSL_CERT_DIR` pointing at nothing, so that it has no root certificates to load, and `hello-sdk --service-setup`, \
hello-world with the functions' own SDK set-up (`adapters::sdk::lambda_sdk_config`, DynamoDB and SES clients made on \
first use). \
The functions load no platform certificates at all (they trust the Amazon roots compiled in), so the size of this \
machine's `/etc/ssl/certs` does not enter their figures; it does enter `hello-sdk`'s, and in AWS the Lambda image's \
certificate store (Amazon Linux 2023) would take its place. \
Functions whose environment in `template.yaml` names a `CODE_SECRET_ARN` also read that secret from Secrets Manager \
during init in AWS; here `CODE_HMAC_SECRET` from `local/env.sh` stands in, so that round trip is not in these figures.
- **Warm latency.** The handler every function runs per invocation (`edge::lambda::handle`, the API Gateway event \
parsed from JSON first) is called in this process, with the clients the functions build, against DynamoDB Local and \
the SES emulator of the local stack: it shows the code's round trips, not AWS's latency. The clock is moved 61 s \
before Resend so that the send quota allows it. The code actions send their codes by mail (`Type` 2) to the same \
addresses, and CreateIntlPhoneEmail confirms each with the code read from its mail.
- **Limits.** The bench's in-process applications take the configuration of `local/env.sh` with the per-caller rate \
(`CALLER_RATE_LIMIT`) set beyond reach: it measures the handlers, not the throttle (the bucket is still taken on every \
request, so its cost is in the figures); `make bench` sets `MAX_SEND_RATE` high for the same reason.
- **CPU time.** The same handler against the in-memory store and a mailer that sends nothing, on a current-thread \
runtime, timed with `CLOCK_THREAD_CPUTIME_ID`; log lines are formatted as in the functions (JSON) into a sink.
- **Request counts.** An SDK interceptor on both clients counts every request sent (each attempt), by operation; \
`tests/tests/request_budget.rs` holds the same budgets in `make test`.
- **Concurrency.** The store and the mailer wait a fixed time per call; a Submit of 1 and one of 100 addresses are \
timed end to end.
- **Front door.** Its zip and cold start are measured with the other functions (started with `ACCESS_KEYS`, the key \
pairs it reads at start). For its added time, `bench/src/signed.rs` signs API Gateway events of `POST /` as the SDKs \
do, with the front door's public signing helpers: ACS3-HMAC-SHA256 (parameters in the query string; signed headers \
`host`, `x-acs-action`, `x-acs-content-sha256`, `x-acs-date`, `x-acs-signature-nonce`, `x-acs-version`; a new nonce \
per request), RPC HMAC-SHA1 (every parameter in the query string, `SignatureNonce` new per request) and \
TC3-HMAC-SHA256 (a JSON body; signed headers `content-type`, `host`, `x-tc-action`). Each event is built and signed \
before the timing, at the app's clock; the time measured is `edge::front_door::handle` from the event's JSON to the \
answer, against `edge::lambda::handle` for the same action, store and records. Every front-door answer is checked to \
be the action's success, not a refusal; any other answer stops the bench. The signature check alone is the front \
door's canonical request, string to sign and HMAC comparison, re-run with the same public helpers on the parsed \
request. The DynamoDB counts run every action once along each path, one address, through the counted clients.
- **Front door's defences.** Unsigned requests are API Gateway events of `POST /` with a body and a content type and \
nothing else (`bench::signed::unsigned_event`), each checked to be answered with the refusal of its kind. Their \
DynamoDB requests, and those of the shared rate count, are counted through front doors over the counted clients, one \
per setting of `CALLER_RATE_SHARED` (off; a limit no request reaches; 1 a second), each warmed with five requests \
first. The throttled requests are the ones refused, among requests sent back to back, by a limit of 1 a second; every \
other answer must be the action's success.
- **Size and start-up: what was tried (issue 16, part 6).** Figures from the same machine, before → after. Kept: \
(1) the functions' SDK configuration built from the environment without aws-config's loader \
(`adapters::sdk::lambda_sdk_config`): the default credential and region chains (profiles, SSO, STS, container and \
instance metadata) are no longer linked, about 0.68 MB off every binary (x86_64 `front-door` 9,989,072 → 9,306,480 B, \
`query-email-verification` 7,361,512 → 6,683,400 B; arm64 `front-door` zip 3,619,970 → 3,378,543 B), and ~4 % fewer \
instructions before the first poll (callgrind: `front-door` 1.88 → 1.80 M, `query-email-verification` 1.73 → 1.66 M). \
(2) The DynamoDB client made on first use, like SES's and SMS's: making an SDK client runs its HTTP client's \
`validate_base_client_config`, which builds an HTTPS connector with its rustls configuration and throws it away; \
it was the larger part of the SDK's start-up (callgrind: hello-world 0.47 M instructions, with the functions' former \
SDK set-up 1.49 M). The first request builds the connector it keeps either way, so nothing moves there but the \
client's own construction (see \"First request after a cold start\"). Seen and not changed: the dynamic loader's \
relocation of the position-independent binary is ~20 % of the instructions before the first poll and grows with \
the binary; linking non-PIE (`-C relocation-model=static`) would remove it but also the executable's address-space \
randomisation, and packed relocations (`-z pack-relative-relocs`) need glibc 2.36 (Lambda's provided.al2023 has \
2.34). (3) Issue 19's template engine put the front door's zip over 3.5 MB (3,731,972 B); registering only the \
engine's allowed filters, tests and functions (`Environment::empty`) and `opt-level = \"z\"` for all but the \
crates named under Profile brought it back under (see Targets). Not tried: dropping serde_json's `preserve_order`. \
Open: the TLS handshake's tens of milliseconds on loopback (see \"First request after a cold start\") are far more \
than its computation; a stall of that size is typical of Nagle's algorithm meeting delayed ACKs (small TLS records \
written one after another), not investigated. The wall-clock \
cold start of a single binary was too noisy on this shared 2-core machine (load ~4) to rank these changes; the \
instruction counts above and this report's round-robin medians are what they rest on.";
