//! Against the local stack (DynamoDB Local and the SES emulator), in this process, with the clients the
//! functions build plus a request counter: the AWS requests each action sends on its happy path, for one
//! address and for 100, and each action's warm latency.

use std::time::Instant;

use chrono::Duration;
use shared::app::{App, Config};
use shared::mail::SesMailer;
use shared::store::DynamoStore;

use crate::events::{body, caller_arn, event, fresh_address, invoke, unique, Act, Answer};
use crate::stats::Samples;
use crate::Options;
use bench::count::{self, Counts, RequestCounter, DYNAMODB, SESV2};
use bench::fakes::{LinkKeeper, MovableClock};

type StackApp = App<DynamoStore, LinkKeeper<SesMailer>>;

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

#[derive(Clone, Debug)]
pub struct StackResult {
    pub counts: Vec<CountRow>,
    pub latency: Vec<LatencyRow>,
    pub requests: usize,
}

/// Whether an answer is the happy path: 200, and every address in `SuccessList` for the list actions.
fn problem(act: Act, answer: &Answer, addresses: usize) -> String {
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

async fn counted(app: &StackApp, counter: &RequestCounter, act: Act, caller: &str, addresses: &[String], token: Option<&str>) -> CountRow {
    let e = event(act, caller, &body(act, addresses, token));
    counter.take();
    let answer = invoke(act, app, &e).await;
    let counts = counter.take();
    let n = if matches!(act, Act::Submit | Act::Resend | Act::Delete) { addresses.len() } else { 1 };
    CountRow { action: act.name(), addresses: n, counts, problem: problem(act, &answer, addresses.len()) }
}

/// The happy path of every action for a caller with `n` fresh addresses.
async fn count_scenario(app: &StackApp, counter: &RequestCounter, clock: &MovableClock, n: usize) -> Vec<CountRow> {
    let caller = caller_arn(&unique("bench-count"));
    let addresses: Vec<String> = (0..n).map(|_| fresh_address()).collect();
    let mut rows = vec![counted(app, counter, Act::Submit, &caller, &addresses, None).await];
    if n == 1 {
        rows.push(counted(app, counter, Act::Query, &caller, &addresses, None).await);
    }
    clock.advance(Duration::seconds(61));
    rows.push(counted(app, counter, Act::Resend, &caller, &addresses, None).await);
    if n == 1 {
        let token = app.mailer.token_for(&addresses[0]);
        rows.push(counted(app, counter, Act::Verify, &caller, &addresses, token.as_deref()).await);
    }
    let mut list = counted(app, counter, Act::List, &caller, &addresses, None).await;
    list.addresses = n;
    rows.push(list);
    rows.push(counted(app, counter, Act::Delete, &caller, &addresses, None).await);
    if n == 1 {
        // The code actions take one contact a call: their figures are for one.
        rows.push(counted(app, counter, Act::SendCode, &caller, &addresses, None).await);
        let code = app.mailer.token_for(&addresses[0]);
        rows.push(counted(app, counter, Act::CreateContact, &caller, &addresses, code.as_deref()).await);
        rows.push(counted(app, counter, Act::DescribeContacts, &caller, &addresses, None).await);
        rows.push(counted(app, counter, Act::DeleteContact, &caller, &addresses, None).await);
    }
    rows
}

async fn latency_of(app: &StackApp, counter: &RequestCounter, act: Act, events: &[String], expect: usize) -> LatencyRow {
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
                eprintln!("    {} failed: {}", act.name(), problem(act, &answer, expect));
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
    let config = Config::from_env().map_err(|e| format!("{e} (run through `make bench`)"))?;
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

    // Warm the connections (and see that the stack answers): Query of an address nobody submitted.
    let probe = event(Act::Query, &caller_arn(&unique("bench-warm")), &body(Act::Query, &[fresh_address()], None));
    for _ in 0..20 {
        let answer = invoke(Act::Query, &app, &probe).await;
        if answer.status != 404 {
            return Err(format!(
                "the local stack did not answer as expected (Query of an unknown address gave {} {}); is it up? Run `make bench`.",
                answer.status, answer.body
            ));
        }
    }

    let mut counts = count_scenario(&app, &counter, &clock, 1).await;
    counts.extend(count_scenario(&app, &counter, &clock, 100).await);

    let n = opts.requests;
    let callers: Vec<String> = (0..n.div_ceil(20)).map(|_| caller_arn(&unique("bench-latency"))).collect();
    let addresses: Vec<(String, String)> = (0..n).map(|i| (callers[i / 20].clone(), fresh_address())).collect();
    let per_address = |act: Act| -> Vec<String> {
        addresses.iter().map(|(c, a)| event(act, c, &body(act, std::slice::from_ref(a), None))).collect()
    };
    let mut latency = vec![latency_of(&app, &counter, Act::Submit, &per_address(Act::Submit), 1).await];
    latency.push(latency_of(&app, &counter, Act::Query, &per_address(Act::Query), 1).await);
    clock.advance(Duration::seconds(61));
    latency.push(latency_of(&app, &counter, Act::Resend, &per_address(Act::Resend), 1).await);
    let verify: Vec<String> = addresses
        .iter()
        .map(|(c, a)| event(Act::Verify, c, &body(Act::Verify, &[], app.mailer.token_for(a).as_deref())))
        .collect();
    latency.push(latency_of(&app, &counter, Act::Verify, &verify, 1).await);
    let list: Vec<String> = (0..n).map(|i| event(Act::List, &callers[i % callers.len()], &body(Act::List, &[], None))).collect();
    latency.push(latency_of(&app, &counter, Act::List, &list, 1).await);
    latency.push(latency_of(&app, &counter, Act::Delete, &per_address(Act::Delete), 1).await);
    // The code actions, by mail, on the same callers and addresses: send, confirm with the code from the mail,
    // list, delete.
    latency.push(latency_of(&app, &counter, Act::SendCode, &per_address(Act::SendCode), 1).await);
    let create: Vec<String> = addresses
        .iter()
        .map(|(c, a)| event(Act::CreateContact, c, &body(Act::CreateContact, std::slice::from_ref(a), app.mailer.token_for(a).as_deref())))
        .collect();
    latency.push(latency_of(&app, &counter, Act::CreateContact, &create, 1).await);
    let describe: Vec<String> =
        (0..n).map(|i| event(Act::DescribeContacts, &callers[i % callers.len()], &body(Act::DescribeContacts, &[], None))).collect();
    latency.push(latency_of(&app, &counter, Act::DescribeContacts, &describe, 1).await);
    latency.push(latency_of(&app, &counter, Act::DeleteContact, &per_address(Act::DeleteContact), 1).await);
    Ok(StackResult { counts, latency, requests: n })
}
