//! Against the local stack (DynamoDB Local and the SES emulator), in this process, with the clients the
//! functions build plus a request counter: the AWS requests each action sends on its happy path, for one
//! address and for 100, and each action's warm latency; then the same through the front door: each
//! action's requests in each signature scheme, and the latency of one action along the per-action path
//! and the front door's; and ([`defence`]) what refused unsigned requests send to DynamoDB (nothing), and
//! what the caller's rate count shared across instances adds to an admitted call and costs a throttled one.

use std::time::Instant;

use adapters::dynamo::DynamoStore;
use adapters::ses::SesMailer;
use chrono::Duration;
use edge::front_door::FrontDoor;
use shared::app::App;
use shared::store::ReplayGuard;

use crate::door::{
    self, invoke_door, invoke_path, path_event, refusal, Caller, Path, Unsigned, COMPARED,
};
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
    let ways: Vec<(&StackDoor, Path)> = Path::ALL.iter().map(|&p| (door, p)).collect();
    let timed = in_turns(&ways, counter, caller, n).await?;
    Ok(Path::ALL
        .iter()
        .zip(timed)
        .map(|(&path, t)| PathLatency {
            path,
            samples: t.samples,
            counts: t.counts,
        })
        .collect())
}

/// Requests of one kind: milliseconds each, and every AWS request they sent.
#[derive(Clone, Debug)]
pub struct Timed {
    pub samples: Samples,
    pub counts: Counts,
}

impl Timed {
    fn of(samples: Vec<f64>, counts: Counts) -> Self {
        Self {
            samples: Samples::new(samples),
            counts,
        }
    }
}

/// [`COMPARED`] along each way (a front door, or its app's per-action path, and a path), in turns, on `n`
/// addresses the caller submitted (along the first way's per-action path). Any answer that is not a success
/// fails the bench.
async fn in_turns(
    ways: &[(&StackDoor, Path)],
    counter: &RequestCounter,
    caller: &Caller,
    n: usize,
) -> Result<Vec<Timed>, String> {
    let Some((first, _)) = ways.first() else {
        return Ok(Vec::new());
    };
    let addresses = submitted(first, caller, n).await?;
    let events: Vec<Vec<String>> = ways
        .iter()
        .map(|&(d, p)| {
            addresses
                .iter()
                .map(|a| {
                    path_event(
                        p,
                        COMPARED,
                        caller,
                        &body(COMPARED, std::slice::from_ref(a), None),
                        d.app.now(),
                    )
                })
                .collect()
        })
        .collect();
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(n); ways.len()];
    let mut counts: Vec<Counts> = vec![Counts::default(); ways.len()];
    // Request i of every way, in an order that turns with i.
    #[allow(clippy::needless_range_loop)]
    for i in 0..n {
        for k in 0..ways.len() {
            let w = (i + k) % ways.len();
            let (d, p) = ways[w];
            counter.take();
            let start = Instant::now();
            let answer = invoke_path(d, p, COMPARED, &events[w][i]).await;
            samples[w].push(start.elapsed().as_secs_f64() * 1000.0);
            add(&mut counts[w], counter.take());
            let why = match problem(COMPARED, &answer, 1) {
                w if w.is_empty() => refusal(&answer).unwrap_or_default(),
                w => w,
            };
            if !why.is_empty() {
                return Err(format!(
                    "front door latency: {} along {} was not answered with success: {why}",
                    COMPARED.name(),
                    p.label()
                ));
            }
        }
    }
    Ok(samples
        .into_iter()
        .zip(counts)
        .map(|(s, c)| Timed::of(s, c))
        .collect())
}

fn add(to: &mut Counts, more: Counts) {
    for (key, c) in more.0 {
        *to.0.entry(key).or_default() += c;
    }
}

/// `n` fresh addresses that `caller` submitted along `door`'s per-action path (100 a call).
async fn submitted(door: &StackDoor, caller: &Caller, n: usize) -> Result<Vec<String>, String> {
    let addresses: Vec<String> = (0..n).map(|_| fresh_address()).collect();
    for chunk in addresses.chunks(100) {
        let answer = invoke(
            Act::Submit,
            &door.app,
            &event(Act::Submit, &caller.arn, &body(Act::Submit, chunk, None)),
        )
        .await;
        let why = problem(Act::Submit, &answer, chunk.len());
        if !why.is_empty() {
            return Err(format!("the set-up Submit failed: {why}"));
        }
    }
    Ok(addresses)
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

/// The application as the functions build it, its DynamoDB and SES requests counted by `counter`, keeping
/// the links it mails.
fn stack_app(
    config: shared::app::Config,
    aws: &aws_config::SdkConfig,
    counter: &RequestCounter,
    clock: &MovableClock,
) -> StackApp {
    let base = count::counted_app(config, aws, counter, clock.clock());
    App {
        store: base.store,
        mailer: LinkKeeper::new(base.mailer),
        sms: base.sms,
        code_secret: base.code_secret,
        config: base.config,
        clock: base.clock,
    }
}

pub async fn measure(opts: &Options) -> Result<StackResult, String> {
    let config = crate::events::config()?;
    let aws = aws_config::load_from_env().await;
    let counter = RequestCounter::new();
    let clock = MovableClock::default();
    let app = stack_app(config, &aws, &counter, &clock);
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

/// A shared limit no measurement reaches: every request is counted, none is refused.
pub const SHARED_UNREACHED: u32 = 1_000_000;

/// What the front door's defences cost against DynamoDB Local.
#[derive(Clone, Debug)]
pub struct Defence {
    /// Per kind of unsigned request: how many were sent, and the AWS requests they caused.
    pub unsigned: Vec<(Unsigned, usize, Counts)>,
    /// The scheme the rate measurements sign with.
    pub scheme: Scheme,
    /// [`COMPARED`] through the front door with the caller's rate counted per instance only, and also
    /// across instances (`CALLER_RATE_SHARED`, one conditional UpdateItem per request), in turns.
    pub rate_off: Timed,
    pub rate_on: Timed,
    /// With a shared limit of 1 a second: the requests it throttled, and the ones it admitted.
    pub throttled: Timed,
    pub throttle_admitted: usize,
}

/// Unsigned requests and the caller's shared rate count, against the local stack's DynamoDB Local: each
/// front door here has the configuration of `make bench` (`crate::events::config`) with the shared count
/// set as said.
pub async fn defence(opts: &Options) -> Result<Defence, String> {
    let aws = aws_config::load_from_env().await;
    let counter = RequestCounter::new();
    let clock = MovableClock::default();
    let door_with = |limit: Option<u32>, callers: &[&Caller]| -> Result<StackDoor, String> {
        let mut config = crate::events::config()?;
        config.caller_rate = config.caller_rate.shared(limit);
        door::door(stack_app(config, &aws, &counter, &clock), callers)
    };
    let (rated, throttled) = (Caller::new("bench-rate"), Caller::new("bench-throttled"));
    let off = door_with(None, &[&rated, &throttled])?;
    let on = door_with(Some(SHARED_UNREACHED), &[&rated])?;
    let one_a_second = door_with(Some(1), &[&throttled])?;
    let n = opts.requests;
    let scheme = Scheme::Acs3;
    let query = |d: &StackDoor, caller: &Caller, address: &str| {
        path_event(
            Path::Door(scheme),
            COMPARED,
            caller,
            &body(COMPARED, &[address.to_string()], None),
            d.app.now(),
        )
    };
    // Each door's first requests open its connections (and do what a process does once): not measured.
    for (d, c) in [(&off, &rated), (&on, &rated), (&one_a_second, &throttled)] {
        for _ in 0..5 {
            invoke_door(d, &query(d, c, &fresh_address())).await;
        }
    }

    // Unsigned: through the door whose caller rate is shared (as deployed), each refused, nothing sent.
    let mut unsigned = Vec::new();
    for kind in Unsigned::ALL {
        let e = kind.event();
        counter.take();
        for _ in 0..n {
            kind.refused(&invoke_door(&on, &e).await)?;
        }
        unsigned.push((kind, n, counter.take()));
    }

    // Admitted calls with the shared count off and on, in turns (the addresses submitted once, along
    // the per-action path of the door without the count).
    eprintln!(
        "==> front door: the shared caller rate count off and on, {n} requests each, in turns, {}",
        scheme.label()
    );
    let mut timed = in_turns(
        &[(&off, Path::Door(scheme)), (&on, Path::Door(scheme))],
        &counter,
        &rated,
        n,
    )
    .await?;
    let rate_on = timed.pop().ok_or("no figures with the shared count on")?;
    let rate_off = timed.pop().ok_or("no figures with the shared count off")?;

    // Throttled: a shared limit of 1 a second; the addresses submitted along the door without the count.
    let addresses = submitted(&off, &throttled, n).await?;
    let (mut thr, mut thr_counts, mut admitted) = (Vec::new(), Counts::default(), 0);
    for a in &addresses {
        let e = query(&one_a_second, &throttled, a);
        counter.take();
        let start = Instant::now();
        let answer = invoke_door(&one_a_second, &e).await;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let counts = counter.take();
        let code = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v["Code"].as_str().map(str::to_string))
            .unwrap_or_default();
        match (answer.status, code.as_str()) {
            (429, "Throttling") => {
                thr.push(ms);
                add(&mut thr_counts, counts);
            }
            _ if refusal(&answer).is_none() => admitted += 1,
            _ => {
                return Err(format!(
                    "a shared limit of 1 a second: neither admitted nor throttled: {}",
                    refusal(&answer).unwrap_or_default()
                ))
            }
        }
    }
    Ok(Defence {
        unsigned,
        scheme,
        rate_off,
        rate_on,
        throttled: Timed::of(thr, thr_counts),
        throttle_admitted: admitted,
    })
}
