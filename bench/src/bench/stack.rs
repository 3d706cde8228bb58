//! Against the local stack (DynamoDB Local and the SES emulator), in this process, with the clients the
//! functions build plus a request counter: the AWS requests each action sends on its happy path, for one
//! address and for 100, and each action's warm latency; then the same through the front door: each
//! action's requests in each signature scheme, and the latency of one action along the per-action path
//! and the front door's.

use std::time::Instant;

use adapters::dynamo::DynamoStore;
use adapters::ses::SesMailer;
use chrono::Duration;
use edge::front_door::FrontDoor;
use shared::app::App;
use shared::store::ReplayGuard;

use crate::door::{self, invoke_path, path_event, refusal, Caller, Path, COMPARED};
use crate::events::{body, caller_arn, event, fresh_address, invoke, unique, Act, Answer};
use crate::stats::Samples;
use crate::Options;
use bench::count::{self, Counts, RequestCounter, DYNAMODB, SESV2};
use bench::fakes::{LinkKeeper, MovableClock};
use bench::signed::Scheme;

type StackApp = App<DynamoStore, LinkKeeper<SesMailer>>;
type StackDoor = FrontDoor<DynamoStore, LinkKeeper<SesMailer>>;

#[derive(Clone, Debug)]
pub struct CountRow {
    pub action: &'static str,
    pub addresses: usize,
    pub counts: Counts,
    /// Empty when the call succeeded for every address.
    pub problem: String,
}

#[derive(Clone, Debug)]
pub struct LatencyRow {
    pub action: &'static str,
    /// Milliseconds per request.
    pub samples: Samples,
    pub dynamodb_per_request: f64,
    pub ses_per_request: f64,
    pub failures: usize,
}

/// One path's warm latency for the compared action.
#[derive(Clone, Debug)]
pub struct PathLatency {
    pub path: Path,
    /// Milliseconds per request.
    pub samples: Samples,
    /// Every AWS request of every measured request along this path.
    pub counts: Counts,
}

#[derive(Clone, Debug)]
pub struct StackResult {
    pub counts: Vec<CountRow>,
    pub latency: Vec<LatencyRow>,
    pub requests: usize,
    /// Every action through the front door, one address, per scheme.
    pub door_counts: Vec<(Scheme, Vec<CountRow>)>,
    /// [`COMPARED`] along each path.
    pub door_latency: Vec<PathLatency>,
    /// The replay record alone (`ReplayGuard::first_use`, a conditional PutItem), timed as often.
    pub replay_record: Samples,
    pub replay_counts: Counts,
}

/// Whether an answer is the happy path: 200, and every address in `SuccessList` for the list actions.
pub fn problem(act: Act, answer: &Answer, addresses: usize) -> String {
    let list_action = matches!(act, Act::Submit | Act::Resend | Act::Delete);
    let ok = if act.tencent() {
        answer.status == 200 && !answer.tencent_error()
    } else {
        answer.status == 200 && (!list_action || answer.successes() == addresses)
    };
    if ok {
        return String::new();
    }
    let mut text = answer.body.clone();
    text.truncate(300);
    format!("status {}: {text}", answer.status)
}

async fn counted(
    door: &StackDoor,
    counter: &RequestCounter,
    path: Path,
    act: Act,
    caller: &Caller,
    addresses: &[String],
    token: Option<&str>,
) -> CountRow {
    let e = path_event(
        path,
        act,
        caller,
        &body(act, addresses, token),
        door.app.now(),
    );
    counter.take();
    let answer = invoke_path(door, path, act, &e).await;
    let counts = counter.take();
    let n = if matches!(act, Act::Submit | Act::Resend | Act::Delete) {
        addresses.len()
    } else {
        1
    };
    let mut problem = problem(act, &answer, addresses.len());
    if problem.is_empty() && path != Path::Function {
        problem = refusal(&answer).unwrap_or_default();
    }
    CountRow {
        action: act.name(),
        addresses: n,
        counts,
        problem,
    }
}

/// The happy path of every action for a caller with `n` fresh addresses, along `path`.
async fn count_scenario(
    door: &StackDoor,
    counter: &RequestCounter,
    clock: &MovableClock,
    path: Path,
    caller: &Caller,
    n: usize,
) -> Vec<CountRow> {
    let app = &door.app;
    let addresses: Vec<String> = (0..n).map(|_| fresh_address()).collect();
    let mut rows = vec![counted(door, counter, path, Act::Submit, caller, &addresses, None).await];
    if n == 1 {
        rows.push(counted(door, counter, path, Act::Query, caller, &addresses, None).await);
    }
    clock.advance(Duration::seconds(61));
    rows.push(counted(door, counter, path, Act::Resend, caller, &addresses, None).await);
    if n == 1 {
        let token = app.mailer.token_for(&addresses[0]);
        rows.push(
            counted(
                door,
                counter,
                path,
                Act::Verify,
                caller,
                &addresses,
                token.as_deref(),
            )
            .await,
        );
    }
    let mut list = counted(door, counter, path, Act::List, caller, &addresses, None).await;
    list.addresses = n;
    rows.push(list);
    rows.push(counted(door, counter, path, Act::Delete, caller, &addresses, None).await);
    if n == 1 {
        // The code actions take one contact a call: their figures are for one.
        rows.push(counted(door, counter, path, Act::SendCode, caller, &addresses, None).await);
        let code = app.mailer.token_for(&addresses[0]);
        rows.push(
            counted(
                door,
                counter,
                path,
                Act::CreateContact,
                caller,
                &addresses,
                code.as_deref(),
            )
            .await,
        );
        rows.push(
            counted(
                door,
                counter,
                path,
                Act::DescribeContacts,
                caller,
                &addresses,
                None,
            )
            .await,
        );
        rows.push(
            counted(
                door,
                counter,
                path,
                Act::DeleteContact,
                caller,
                &addresses,
                None,
            )
            .await,
        );
        // The table's other actions, with their sample events' bodies.
        for act in Act::unscripted() {
            rows.push(counted(door, counter, path, act, caller, &addresses, None).await);
        }
    }
    rows
}

/// [`COMPARED`] along every path, in turns, on `n` addresses the caller submitted: wall time and AWS
/// requests per path. Any answer that is not a success fails the bench.
async fn compare_paths(
    door: &StackDoor,
    counter: &RequestCounter,
    caller: &Caller,
    n: usize,
) -> Result<Vec<PathLatency>, String> {
    let addresses: Vec<String> = (0..n).map(|_| fresh_address()).collect();
    for chunk in addresses.chunks(100) {
        let answer = invoke(
            Act::Submit,
            &door.app,
            &event(Act::Submit, &caller.arn, &body(Act::Submit, chunk, None)),
        )
        .await;
        if !problem(Act::Submit, &answer, chunk.len()).is_empty() {
            return Err(format!(
                "front door latency: the set-up Submit failed: {}",
                problem(Act::Submit, &answer, chunk.len())
            ));
        }
    }
    let now = door.app.now();
    let events: Vec<Vec<String>> = Path::ALL
        .iter()
        .map(|&p| {
            addresses
                .iter()
                .map(|a| {
                    path_event(
                        p,
                        COMPARED,
                        caller,
                        &body(COMPARED, std::slice::from_ref(a), None),
                        now,
                    )
                })
                .collect()
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(n); Path::ALL.len()];
    let mut counts: Vec<Counts> = vec![Counts::default(); Path::ALL.len()];
    // Request i of every path, in an order that turns with i.
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        for k in 0..Path::ALL.len() {
            let p = (i + k) % Path::ALL.len();
            counter.take();
            let start = Instant::now();
            let answer = invoke_path(door, Path::ALL[p], COMPARED, &events[p][i]).await;
            samples[p].push(start.elapsed().as_secs_f64() * 1000.0);
            for (key, c) in counter.take().0 {
                *counts[p].0.entry(key).or_default() += c;
            }
            let why = match problem(COMPARED, &answer, 1) {
                w if w.is_empty() => refusal(&answer).unwrap_or_default(),
                w => w,
            };
            if !why.is_empty() {
                return Err(format!(
                    "front door latency: {} along {} was not answered with success: {why}",
                    COMPARED.name(),
                    Path::ALL[p].label()
                ));
            }
        }
    }
    Ok(Path::ALL
        .iter()
        .zip(samples)
        .zip(counts)
        .map(|((&path, s), counts)| PathLatency {
            path,
            samples: Samples::new(s),
            counts,
        })
        .collect())
}

async fn latency_of(
    app: &StackApp,
    counter: &RequestCounter,
    act: Act,
    events: &[String],
    expect: usize,
) -> LatencyRow {
    counter.take();
    let mut samples = Vec::with_capacity(events.len());
    let mut failures = 0;
    for e in events {
        let start = Instant::now();
        let answer = invoke(act, app, e).await;
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
        if !problem(act, &answer, expect).is_empty() {
            failures += 1;
            if failures == 1 {
                eprintln!(
                    "    {} failed: {}",
                    act.name(),
                    problem(act, &answer, expect)
                );
            }
        }
    }
    let counts = counter.take();
    let per = |service: &str| counts.total(service) as f64 / events.len().max(1) as f64;
    LatencyRow {
        action: act.name(),
        samples: Samples::new(samples),
        dynamodb_per_request: per(DYNAMODB),
        ses_per_request: per(SESV2),
        failures,
    }
}

pub async fn measure(opts: &Options) -> Result<StackResult, String> {
    let config = crate::events::config()?;
    let aws = aws_config::load_from_env().await;
    let counter = RequestCounter::new();
    let clock = MovableClock::default();
    let base = count::counted_app(config, &aws, &counter, clock.clock());
    let app: StackApp = App {
        store: base.store,
        mailer: LinkKeeper::new(base.mailer),
        sms: base.sms,
        code_secret: base.code_secret,
        config: base.config,
        clock: base.clock,
    };
    // The per-action paths call `door.app`, the front door `door`: one store, one mailer, one counter.
    let (one, hundred) = (Caller::new("bench-count"), Caller::new("bench-count"));
    let by_scheme: Vec<(Scheme, Caller)> = Scheme::ALL
        .iter()
        .map(|&s| (s, Caller::new("bench-count-door")))
        .collect();
    let compared = Caller::new("bench-door-latency");
    let mut keyed: Vec<&Caller> = vec![&one, &hundred, &compared];
    keyed.extend(by_scheme.iter().map(|(_, c)| c));
    let door = door::door(app, &keyed)?;
    let app = &door.app;

    // Warm the connections (and see that the stack answers): Query of an address nobody submitted.
    let probe = event(
        Act::Query,
        &caller_arn(&unique("bench-warm")),
        &body(Act::Query, &[fresh_address()], None),
    );
    for _ in 0..20 {
        let answer = invoke(Act::Query, app, &probe).await;
        if answer.status != 404 {
            return Err(format!(
                "the local stack did not answer as expected (Query of an unknown address gave {} {}); is it up? Run `make bench`.",
                answer.status, answer.body
            ));
        }
    }

    // A warm function has written before: the first write of a process reads the table's layout
    // (CONFIG#layout, and stores it in a table that has none), once; the counts below are a warm process's.
    let first = event(
        Act::Submit,
        &caller_arn(&unique("bench-warm")),
        &body(Act::Submit, &[fresh_address()], None),
    );
    let answer = invoke(Act::Submit, app, &first).await;
    if answer.status != 200 {
        return Err(format!(
            "the warm-up Submit was answered {} {}",
            answer.status, answer.body
        ));
    }

    let mut counts = count_scenario(&door, &counter, &clock, Path::Function, &one, 1).await;
    counts.extend(count_scenario(&door, &counter, &clock, Path::Function, &hundred, 100).await);
    let mut door_counts = Vec::new();
    for (scheme, caller) in &by_scheme {
        let rows = count_scenario(&door, &counter, &clock, Path::Door(*scheme), caller, 1).await;
        if let Some(bad) = rows.iter().find(|r| !r.problem.is_empty()) {
            return Err(format!(
                "front door, {}: {} was not answered with success: {}",
                scheme.label(),
                bad.action,
                bad.problem
            ));
        }
        door_counts.push((*scheme, rows));
    }

    let n = opts.requests;
    let callers: Vec<String> = (0..n.div_ceil(20))
        .map(|_| caller_arn(&unique("bench-latency")))
        .collect();
    let addresses: Vec<(String, String)> = (0..n)
        .map(|i| (callers[i / 20].clone(), fresh_address()))
        .collect();
    let per_address = |act: Act| -> Vec<String> {
        addresses
            .iter()
            .map(|(c, a)| event(act, c, &body(act, std::slice::from_ref(a), None)))
            .collect()
    };
    let mut latency =
        vec![latency_of(app, &counter, Act::Submit, &per_address(Act::Submit), 1).await];
    latency.push(latency_of(app, &counter, Act::Query, &per_address(Act::Query), 1).await);
    clock.advance(Duration::seconds(61));
    latency.push(latency_of(app, &counter, Act::Resend, &per_address(Act::Resend), 1).await);
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
    latency.push(latency_of(app, &counter, Act::Verify, &verify, 1).await);
    let list: Vec<String> = (0..n)
        .map(|i| {
            event(
                Act::List,
                &callers[i % callers.len()],
                &body(Act::List, &[], None),
            )
        })
        .collect();
    latency.push(latency_of(app, &counter, Act::List, &list, 1).await);
    latency.push(latency_of(app, &counter, Act::Delete, &per_address(Act::Delete), 1).await);
    // The code actions, by mail, on the same callers and addresses: send, confirm with the code from the mail,
    // list, delete.
    latency.push(latency_of(app, &counter, Act::SendCode, &per_address(Act::SendCode), 1).await);
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
    latency.push(latency_of(app, &counter, Act::CreateContact, &create, 1).await);
    let describe: Vec<String> = (0..n)
        .map(|i| {
            event(
                Act::DescribeContacts,
                &callers[i % callers.len()],
                &body(Act::DescribeContacts, &[], None),
            )
        })
        .collect();
    latency.push(latency_of(app, &counter, Act::DescribeContacts, &describe, 1).await);
    latency.push(
        latency_of(
            app,
            &counter,
            Act::DeleteContact,
            &per_address(Act::DeleteContact),
            1,
        )
        .await,
    );
    // The table's other actions, with their sample events' bodies.
    for act in Act::unscripted() {
        latency.push(latency_of(app, &counter, act, &per_address(act), 1).await);
    }

    eprintln!("==> front door: {} along the per-action path and the front door's three schemes, {n} requests each, in turns", COMPARED.name());
    let door_latency = compare_paths(&door, &counter, &compared, n).await?;
    // The front door's one write on its own: what its share of the added time is.
    counter.take();
    let mut put = Vec::with_capacity(n);
    for _ in 0..n {
        let (key, now) = (unique("bench-replay"), door.app.now());
        let start = Instant::now();
        let fresh = door
            .app
            .store
            .first_use(&key, now, now + Duration::minutes(16))
            .await;
        put.push(start.elapsed().as_secs_f64() * 1000.0);
        if !matches!(fresh, Ok(true)) {
            return Err(format!(
                "the replay record alone: a new key was not recorded: {fresh:?}"
            ));
        }
    }
    let replay_counts = counter.take();
    Ok(StackResult {
        counts,
        latency,
        requests: n,
        door_counts,
        door_latency,
        replay_record: Samples::new(put),
        replay_counts,
    })
}
