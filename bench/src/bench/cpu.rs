//! The handler's own CPU time per request: the in-memory store and a mailer that sends nothing, on a
//! current-thread runtime in a thread of its own, timed with that thread's CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`) around each invocation: event parsing, the action, the rendering, the log
//! lines (formatted into a sink). No I/O, so this is the part of a request's cost the code decides.

use chrono::Duration;
use shared::app::App;
use shared::store::MemoryStore;

use crate::events::{body, caller_arn, event, fresh_address, invoke, unique, Act};
use crate::stats::Samples;
use crate::Options;
use bench::fakes::{sms_outbox, LinkKeeper, MovableClock, NoopMailer};

#[derive(Clone, Debug)]
pub struct CpuRow {
    pub label: String,
    /// Microseconds per request.
    pub samples: Samples,
    pub failures: usize,
}

pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

type MemApp = App<MemoryStore, LinkKeeper<NoopMailer>>;

fn app(clock: &MovableClock) -> Result<MemApp, String> {
    let config = crate::events::config()?;
    Ok(App {
        store: MemoryStore::new(),
        mailer: LinkKeeper::new(NoopMailer),
        sms: sms_outbox().into(),
        code_secret: adapters::secrets::local_code_secret().and_then(Result::ok),
        config,
        clock: clock.clock(),
    })
}

/// Times each event; the events are built before, outside the timing.
async fn timed<S: shared::store::Store + shared::store::ReplayGuard, M: shared::mail::Mailer>(
    app: &App<S, M>,
    act: Act,
    events: &[String],
    warmup: usize,
    expect_successes: usize,
) -> (Samples, usize) {
    let mut samples = Vec::with_capacity(events.len());
    let mut failures = 0;
    for (i, e) in events.iter().enumerate() {
        let start = thread_cpu_ns();
        let answer = invoke(act, app, e).await;
        let ns = thread_cpu_ns() - start;
        let ok = answer.status == 200
            && if act.tencent() {
                !answer.tencent_error()
            } else {
                expect_successes == 0 || answer.successes() == expect_successes
            };
        if !ok {
            failures += 1;
            if failures == 1 {
                eprintln!(
                    "    {} (CPU) failed: {} {}",
                    act.name(),
                    answer.status,
                    answer.body
                );
            }
        }
        if i >= warmup {
            samples.push(ns as f64 / 1000.0);
        }
    }
    (Samples::new(samples), failures)
}

async fn run(opts: &Options) -> Result<Vec<CpuRow>, String> {
    let n = opts.cpu_requests;
    let warmup = (n / 10).clamp(1, 100);
    let total = n + warmup;
    let clock = MovableClock::default();
    let app = app(&clock)?;
    // 20 addresses per caller, as for the latency.
    let callers: Vec<String> = (0..total.div_ceil(20))
        .map(|_| caller_arn(&unique("cpu")))
        .collect();
    let addresses: Vec<(String, String)> = (0..total)
        .map(|i| (callers[i / 20].clone(), fresh_address()))
        .collect();
    let mut rows = Vec::new();
    let mut push = |label: &str, (samples, failures): (Samples, usize)| {
        rows.push(CpuRow {
            label: label.to_string(),
            samples,
            failures,
        });
    };

    let per_address = |act: Act| -> Vec<String> {
        addresses
            .iter()
            .map(|(c, a)| event(act, c, &body(act, std::slice::from_ref(a), None)))
            .collect()
    };
    push(
        Act::Submit.name(),
        timed(&app, Act::Submit, &per_address(Act::Submit), warmup, 1).await,
    );
    push(
        Act::Query.name(),
        timed(&app, Act::Query, &per_address(Act::Query), warmup, 0).await,
    );
    clock.advance(Duration::seconds(61));
    push(
        Act::Resend.name(),
        timed(&app, Act::Resend, &per_address(Act::Resend), warmup, 1).await,
    );
    let verify: Vec<String> = addresses
        .iter()
        .map(|(c, a)| {
            event(
                Act::Verify,
                c,
                &body(Act::Verify, &[], app.mailer.token_for(a).as_deref()),
            )
        })
        .collect();
    push(
        Act::Verify.name(),
        timed(&app, Act::Verify, &verify, warmup, 0).await,
    );
    push(
        Act::Delete.name(),
        timed(&app, Act::Delete, &per_address(Act::Delete), warmup, 1).await,
    );
    // The code actions, by mail: send, confirm with the code from the mail, list (up to 20 contacts), delete.
    push(
        Act::SendCode.name(),
        timed(&app, Act::SendCode, &per_address(Act::SendCode), warmup, 0).await,
    );
    let create: Vec<String> = addresses
        .iter()
        .map(|(c, a)| {
            event(
                Act::CreateContact,
                c,
                &body(
                    Act::CreateContact,
                    std::slice::from_ref(a),
                    app.mailer.token_for(a).as_deref(),
                ),
            )
        })
        .collect();
    push(
        Act::CreateContact.name(),
        timed(&app, Act::CreateContact, &create, warmup, 0).await,
    );
    let describe: Vec<String> = (0..total)
        .map(|i| {
            event(
                Act::DescribeContacts,
                &callers[i % callers.len()],
                &body(Act::DescribeContacts, &[], None),
            )
        })
        .collect();
    push("DescribeIntlPhoneEmailList (20 contacts; the in-memory store filters all callers' contacts)", timed(&app, Act::DescribeContacts, &describe, warmup, 0).await);
    push(
        Act::DeleteContact.name(),
        timed(
            &app,
            Act::DeleteContact,
            &per_address(Act::DeleteContact),
            warmup,
            0,
        )
        .await,
    );
    // The table's other actions, with their sample events' bodies.
    for act in Act::unscripted() {
        push(
            act.name(),
            timed(&app, act, &per_address(act), warmup, 0).await,
        );
    }

    // List on a store of its own, so that the in-memory store's full scan stays at 20 records.
    let list_app = self::app(&clock)?;
    let lister = caller_arn(&unique("cpu-list"));
    let twenty: Vec<String> = (0..20).map(|_| fresh_address()).collect();
    invoke(
        Act::Submit,
        &list_app,
        &event(Act::Submit, &lister, &body(Act::Submit, &twenty, None)),
    )
    .await;
    let list: Vec<String> = (0..total)
        .map(|_| event(Act::List, &lister, &body(Act::List, &[], None)))
        .collect();
    push(
        "ListEmailVerification (20 records)",
        timed(&list_app, Act::List, &list, warmup, 0).await,
    );

    // One Submit of 100 addresses: the cost of a full call.
    let big = (n / 20).clamp(5, 100);
    let hundred: Vec<String> = (0..big + 2)
        .map(|_| {
            let addresses: Vec<String> = (0..100).map(|_| fresh_address()).collect();
            event(
                Act::Submit,
                &caller_arn(&unique("cpu100")),
                &body(Act::Submit, &addresses, None),
            )
        })
        .collect();
    push(
        "SubmitEmailVerification (100 addresses)",
        timed(&app, Act::Submit, &hundred, 2, 100).await,
    );
    Ok(rows)
}

pub fn measure(opts: &Options) -> Result<Vec<CpuRow>, String> {
    let opts = opts.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(run(&opts))
    })
    .join()
    .map_err(|_| "the CPU measurement panicked".to_string())?
}
