//! The report: one Markdown text, printed and written to `BENCHMARKS.md`.

use std::fmt::Write;

use crate::coldstart::{ColdStart, Kind};
use crate::cpu::CpuRow;
use crate::delay::DelayResult;
use crate::machine::Machine;
use crate::sizes::{rust_target, Size};
use crate::stack::StackResult;
use crate::Options;
use bench::count::{DYNAMODB, SESV2};

/// The targets of issue 4.
pub const ZIP_LIMIT_BYTES: u64 = 3_500_000;
pub const COLD_VS_HELLO: f64 = 1.5;
pub const PYTHON_VS_COLD: f64 = 10.0;
pub const DELAY_RATIO: f64 = 5.0;
/// DynamoDB requests on the happy path of one address.
pub const BUDGETS: [(&str, u64); 3] =
    [("QueryEmailVerification", 1), ("VerifyEmail", 2), ("SubmitEmailVerification", 2)];

pub struct Report<'a> {
    pub opts: &'a Options,
    pub machine: Machine,
    pub sizes: Vec<Size>,
    pub cold: Vec<ColdStart>,
    pub cpu: Vec<CpuRow>,
    pub delay: DelayResult,
    pub stack: Option<StackResult>,
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

/// Lines the shell scripts ran before this program (`BENCH_COMMANDS`, one a line), then this program.
fn commands() -> Vec<String> {
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
        self.cold.iter().find(|c| c.subject.kind == Kind::Hello && c.error.is_none())
    }

    fn median_of(&self, kind: Kind) -> Option<f64> {
        self.cold.iter().find(|c| c.subject.kind == kind && c.error.is_none()).map(|c| c.samples.median())
    }

    /// Where a function's cold start goes, from the baselines and diagnostics of the same run.
    fn cold_start_analysis(&self) -> String {
        let Some(h) = self.median_of(Kind::Hello) else { return String::new() };
        let functions: Vec<f64> = self
            .cold
            .iter()
            .filter(|c| c.subject.kind == Kind::Function && c.error.is_none())
            .map(|c| c.samples.median())
            .collect();
        if functions.is_empty() {
            return String::new();
        }
        let (lo, hi) = functions.iter().fold((f64::MAX, f64::MIN), |(a, b), &m| (a.min(m), b.max(m)));
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
            " The functions do not pay that (`shared/src/aws.rs`): TLS trusts the five Amazon Trust Services roots \
compiled in, the region and credentials Lambda puts in the environment are taken without building the default \
provider chains, and the SES and SMS clients are made when first used.",
        );
        if let Some(svc) = self.median_of(Kind::ServiceSetup) {
            let _ = write!(
                t,
                " That set-up alone on hello-world starts in {svc:.2} ms ({:.2} ×): the SDK costs the functions \
{:.2} ms (making the DynamoDB client, whose rustls/aws-lc TLS configuration is built when the client is), and \
the rest, {:.2} to {:.2} ms, is the functions' own: a binary of 6 to 8 MB against 1 MB (more pages to map and \
relocate), lambda_http, logging and configuration.",
                svc / h,
                svc - h,
                lo - svc,
                hi - svc
            );
        }
        t
    }

    fn python(&self) -> Option<&ColdStart> {
        self.cold.iter().find(|c| c.subject.kind == Kind::Python && c.error.is_none())
    }

    fn hello_zip(&self) -> Option<u64> {
        self.sizes.iter().find(|s| s.name == "hello").and_then(|s| s.zip)
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
            t.push(Target { what: format!("`{}` zip ({arch}) ≤ 3.5 MB", s.name), figure: mb(zip), ok: zip <= ZIP_LIMIT_BYTES, why });
        }
        let (hello, python) = (self.hello().map(|h| h.samples.median()), self.python().map(|p| p.samples.median()));
        for c in self.cold.iter().filter(|c| c.subject.kind == Kind::Function) {
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
            t.push(Target { what: format!("`{}` cold start", c.subject.name), figure: "failed".into(), ok: false, why: err.clone() });
        }
        if let Some(stack) = &self.stack {
            for (action, budget) in BUDGETS {
                if let Some(row) = stack.counts.iter().find(|r| r.action == action && r.addresses == 1) {
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
        }
        let ratio = self.delay.ratio();
        t.push(Target {
            what: format!("Submit of 100 addresses ≤ 5 × Submit of 1 ({} ms per call)", self.delay.delay_ms),
            figure: format!("{ratio:.2} ×"),
            ok: ratio <= DELAY_RATIO && self.delay.failures == 0,
            why: String::new(),
        });
        t
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
        let _ = writeln!(s, "\nCommands (from the repository root, with `local/env.sh` sourced):\n\n```sh");
        for c in commands() {
            let _ = writeln!(s, "{c}");
        }
        let _ = writeln!(s, "```\n");
        let _ = writeln!(s, "Cold-start subjects (each started with the Lambda environment, see below):\n\n```sh");
        for c in &self.cold {
            let _ = writeln!(s, "{}", c.subject.command());
        }
        let _ = writeln!(s, "```\n");

        // Targets first: the question the issue asks.
        let _ = writeln!(s, "## Targets\n");
        let _ = writeln!(s, "| Target | Measured | Result | Why, for a miss |\n|---|---|---|---|");
        for t in self.targets() {
            let _ = writeln!(s, "| {} | {} | {} | {} |", t.what, t.figure, pass(t.ok), t.why.replace('|', "/"));
        }

        let _ = writeln!(s, "\n## Zip sizes ({}, `{}`)\n", o.zip_arch, rust_target(&o.zip_arch));
        let _ = writeln!(s, "| Function | bootstrap.zip | bootstrap (unzipped) |\n|---|---:|---:|");
        for z in &self.sizes {
            let name = if z.name == "hello" { "hello (baseline)".to_string() } else { format!("`{}`", z.name) };
            let warn = z.arch_mismatch.as_ref().map(|a| format!(" (binary is {a}!)")).unwrap_or_default();
            let _ = writeln!(
                s,
                "| {name} | {}{warn} | {} |",
                z.zip.map_or("not built".into(), |b| format!("{} ({b} B)", mb(b))),
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
        let _ = writeln!(
            s,
            "| Binary | median ms | p10 ms | p90 ms | × hello-world | × hello + SDK | Python ÷ this |\n|---|---:|---:|---:|---:|---:|---:|"
        );
        for c in &self.cold {
            let name = match c.subject.kind {
                Kind::Function => format!("`{}`", c.subject.name),
                Kind::NoCerts | Kind::ServiceSetup => format!("{} (diagnostic)", c.subject.name),
                _ => format!("{} (baseline)", c.subject.name),
            };
            match &c.error {
                Some(e) => {
                    let _ = writeln!(s, "| {name} | failed: {} | | | | | |", e.replace('|', "/"));
                }
                None => {
                    let med = c.samples.median();
                    let _ = writeln!(
                        s,
                        "| {name} | {med:.2} | {:.2} | {:.2} | {} | {} | {} |",
                        c.samples.pct(10.0),
                        c.samples.pct(90.0),
                        hello.map_or("-".into(), |h| format!("{:.2}", med / h)),
                        sdk.map_or("-".into(), |h| format!("{:.2}", med / h)),
                        python.map_or("-".into(), |p| format!("{:.1}", p / med)),
                    );
                }
            }
        }

        let analysis = self.cold_start_analysis();
        if !analysis.is_empty() {
            let _ = writeln!(s, "\n{analysis}");
        }

        if let Some(stack) = &self.stack {
            let _ = writeln!(s, "\n## AWS requests per action (happy path, counted by an SDK interceptor, local stack; the code actions send by mail)\n");
            let _ = writeln!(s, "| Action | Addresses | DynamoDB | DynamoDB by operation | SES |\n|---|---:|---:|---|---:|");
            for r in &stack.counts {
                let note = if r.problem.is_empty() { String::new() } else { format!(" (not the happy path: {})", r.problem.replace('|', "/")) };
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
        let _ = writeln!(s, "| Request | median µs | p99 µs | mean µs | failed |\n|---|---:|---:|---:|---:|");
        for r in &self.cpu {
            let _ = writeln!(s, "| {} | {:.1} | {:.1} | {:.1} | {} |", r.label, r.samples.median(), r.samples.pct(99.0), r.samples.mean(), r.failures);
        }

        let d = &self.delay;
        let _ = writeln!(
            s,
            "\n## Concurrency (store and mailer wait {} ms per call; SEND_CONCURRENCY = {}; median of {})\n",
            d.delay_ms,
            d.concurrency,
            d.one.len()
        );
        let _ = writeln!(s, "| Submit | wall ms | store calls | mails |\n|---|---:|---:|---:|");
        let _ = writeln!(s, "| 1 address | {:.1} | 2 | 1 |", d.one.median());
        let _ = writeln!(s, "| 100 addresses | {:.1} | {} | {} |", d.hundred.median(), d.store_calls, d.mails);
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
`opt-level = \"s\"`, `lto = true`, `codegen-units = 1`, `panic = \"abort\"`, `strip = true`. The AWS SDK crates are \
built without their default features (no legacy hyper 0.14 / rustls 0.21 client, no SigV4a): only `rt-tokio` and \
`default-https-client`.
- **Zips.** `local/build.sh` runs `cargo lambda build --release --output-format zip` for {arch}; the size is the size of \
`target/lambda/<function>/bootstrap.zip`, what Lambda is given. `hello` is built the same way, for scale.
- **Cold start.** arm64 binaries cannot run here, so cold start is measured on the same code built for this machine \
(`cargo build --release`, same profile). Each process is started with the Lambda environment \
(`AWS_LAMBDA_RUNTIME_API` pointing at a local stand-in for the Runtime API, `AWS_LAMBDA_FUNCTION_*`) and the \
app's environment from `local/env.sh`; the time is from just before `spawn` to the arrival of the request line of its \
first `GET /2018-06-01/runtime/invocation/next`; then it is killed. Subjects are started in turn, round after round \
(after unmeasured warm-up rounds), so the ratios hold on a noisy machine. It is the part of a Lambda cold start the \
code decides: the sandbox and the download of the zip come on top and are the same for every function. Baselines: \
`hello` (`bench/src/bin/hello.rs`, `lambda_runtime` and nothing else), `hello-sdk` (the same plus \
`aws_config::load_from_env` and a DynamoDB and an SES v2 client: the AWS SDK's defaults, what a typical Rust Lambda \
pays) and Python (`bench/python_baseline.py`: imports boto3, creates DynamoDB and SES v2 clients, polls; the real \
Python runtime adds its own bootstrap on top). Diagnostics: `hello-sdk` started with `SSL_CERT_FILE` and \
`SSL_CERT_DIR` pointing at nothing, so that it has no root certificates to load, and `hello-sdk --service-setup`, \
hello-world with the functions' own SDK set-up (`shared::aws::sdk_config`, a DynamoDB client, SES made on first use). \
The functions load no platform certificates at all (they trust the Amazon roots compiled in), so the size of this \
machine's `/etc/ssl/certs` does not enter their figures; it does enter `hello-sdk`'s, and in AWS the Lambda image's \
certificate store (Amazon Linux 2023) would take its place. \
Functions whose environment in `template.yaml` names a `CODE_SECRET_ARN` also read that secret from Secrets Manager \
during init in AWS; here `CODE_HMAC_SECRET` from `local/env.sh` stands in, so that round trip is not in these figures.
- **Warm latency.** The handler every function runs per invocation (`shared::lambda::handle`, the API Gateway event \
parsed from JSON first) is called in this process, with the clients the functions build, against DynamoDB Local and \
the SES emulator of the local stack: it shows the code's round trips, not AWS's latency. The clock is moved 61 s \
before Resend so that the send quota allows it. The code actions send their codes by mail (`Type` 2) to the same \
addresses, and CreateIntlPhoneEmail confirms each with the code read from its mail.
- **CPU time.** The same handler against the in-memory store and a mailer that sends nothing, on a current-thread \
runtime, timed with `CLOCK_THREAD_CPUTIME_ID`; log lines are formatted as in the functions (JSON) into a sink.
- **Request counts.** An SDK interceptor on both clients counts every request sent (each attempt), by operation; \
`tests/tests/request_budget.rs` holds the same budgets in `make test`.
- **Concurrency.** The store and the mailer wait a fixed time per call; a Submit of 1 and one of 100 addresses are \
timed end to end.";
