//! `make bench`, issue 17: the deadline sweep (`shared::workflows::sweep`) over 100,000 records with a
//! deadline, 1 % of them due, in DynamoDB Local, with the SES emulator: the requests and the time of each
//! run, the same for a table of only the 1,000 due records (the index `due` reads what is due, not what
//! exists), and the cost of 1,000,000 reminders at list prices.

use std::sync::Arc;
use std::time::Instant;

use adapters::dynamo::{DynamoStore, TableStream};
use adapters::env::FromEnv;
use bench::count::{counted_app, Counts, RequestCounter, DYNAMODB, SESV2};
use chrono::{DateTime, Duration, Utc};
use shared::app::Config;
use shared::model::{CallerId, DomainName, VerificationRecord, VerificationStatus};
use shared::workflows::sweep::{sweep, SweepReport, SWEEP_LIMIT};

/// Where the reminders' links point (nothing follows them here).
const LINK_BASE: &str = "https://verify.example";
/// The reminder days and the deadline of every record (a registrar's settings, docs/API.md).
const REMIND_AFTER_DAYS: [u32; 3] = [1, 5, 10];
const DEADLINE_DAYS: i64 = 15;
/// Runs are bounded: 1,000 due take 2 runs of `SWEEP_LIMIT`, a third finds nothing.
const MAX_RUNS: usize = 4;

/// One run of the sweep, measured.
pub struct Run {
    pub table: String,
    pub run: usize,
    pub report: SweepReport,
    pub millis: f64,
    pub counts: Counts,
    /// What the queries of the index `due` read (ScannedCount) and cost (ConsumedCapacity).
    pub entries_read: u64,
    pub query_capacity: f64,
}

impl Run {
    fn queries(&self) -> u64 {
        self.counts
            .0
            .get(&(DYNAMODB.to_string(), "Query".to_string()))
            .copied()
            .unwrap_or(0)
    }
}

/// `n` pending records of `caller`, each with a deadline 15 days after its first send and reminders on
/// days 1, 5 and 10; every `every`-th was sent 2 days before `now` (its day-1 reminder is due), the others
/// an hour before (their first reminder is due tomorrow: in the index, not yet due).
fn deadline_records(
    caller: &CallerId,
    n: usize,
    every: usize,
    now: DateTime<Utc>,
) -> Vec<VerificationRecord> {
    let domain = DomainName::parse("registrant.example").expect("domain");
    super::records_of(caller, n, now)
        .into_iter()
        .enumerate()
        .map(|(i, mut r)| {
            let sent = if i.is_multiple_of(every) {
                now - Duration::days(2) - Duration::seconds((i % 3600) as i64)
            } else {
                now - Duration::hours(1) - Duration::milliseconds(i as i64)
            };
            r.status = VerificationStatus::Pending;
            r.confirm_ip = None;
            r.verified_at = None;
            r.created = sent;
            r.modified = sent;
            r.token_sent = sent;
            r.deadline = Some(sent + Duration::days(DEADLINE_DAYS));
            r.remind_after_days = REMIND_AFTER_DAYS.to_vec();
            r.domains = vec![domain.clone()];
            r
        })
        .collect()
}

/// A table of its own with `n` records (1 in `every` due), then sweeps at the fixed time `now` until one
/// finds nothing (at most [`MAX_RUNS`]); the table is deleted after. Also the seconds the load took.
async fn sweep_table(
    aws: &aws_config::SdkConfig,
    counter: &RequestCounter,
    table: &str,
    n: usize,
    every: usize,
    now: DateTime<Utc>,
) -> Result<(f64, Vec<Run>), String> {
    let mut config = Config::from_env().map_err(|e| e.to_string())?;
    config.table_name = table.to_string();
    config.send_pacer = shared::pace::SendPacer::new(10_000.0);
    let clock: shared::app::Clock = Arc::new(move || now);
    let app = counted_app(config, aws, counter, clock);
    let client = bench::count::dynamodb_client(aws, counter);
    DynamoStore::create_table_with(&client, table, TableStream::Off)
        .await
        .map_err(|e| e.to_string())?;
    let result = async {
        app.store
            .layout_for_write()
            .await
            .map_err(|e| e.to_string())?;
        let caller = CallerId::parse("registrar-sweep").map_err(|_| "caller")?;
        eprintln!(
            "==> sweep: loading {n} records with a deadline ({} due) into {table} (BatchWriteItem)",
            n.div_ceil(every)
        );
        let loading = Instant::now();
        app.store
            .load_records(&caller, &deadline_records(&caller, n, every, now))
            .await
            .map_err(|e| e.to_string())?;
        let load_secs = loading.elapsed().as_secs_f64();
        let mut runs = Vec::new();
        for run in 1..=MAX_RUNS {
            counter.take();
            app.store.take_read_stats();
            let started = Instant::now();
            let report = sweep(&app, LINK_BASE)
                .await
                .map_err(|e| format!("sweep run {run}: {e}"))?;
            let millis = started.elapsed().as_secs_f64() * 1000.0;
            let stats = app.store.take_read_stats();
            eprintln!("==> sweep: {table} run {run}: {report:?} in {millis:.0} ms");
            runs.push(Run {
                table: format!("{} records", thousands(n)),
                run,
                report,
                millis,
                counts: counter.take(),
                entries_read: stats.items_read,
                query_capacity: stats.capacity_units,
            });
            if report.due == 0 {
                break;
            }
        }
        Ok::<_, String>((load_secs, runs))
    }
    .await;
    let _ = client.delete_table().table_name(table).send().await;
    result
}

/// `100000` as `100,000`.
fn thousands(n: usize) -> String {
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

/// `1 run`, `2 runs`.
fn runs(n: usize) -> String {
    format!("{n} run{}", if n == 1 { "" } else { "s" })
}

/// The section of BENCHMARKS.md between `<!-- make bench sweep: begin -->` and its end line.
pub async fn section(
    records: usize,
    aws: &aws_config::SdkConfig,
    table: &str,
    commit: &str,
) -> Result<String, String> {
    let counter = RequestCounter::new();
    // A fixed clock: the time of the bench, truncated to the second.
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).ok_or("time")?;
    let due = (records / 100).max(1);
    let every = records / due;
    let (big_load, big) = sweep_table(
        aws,
        &counter,
        &format!("{table}-sweep"),
        records,
        every,
        now,
    )
    .await?;
    let (_, small) =
        sweep_table(aws, &counter, &format!("{table}-sweep-small"), due, 1, now).await?;
    Ok(render(records, due, big_load, &big, &small, commit))
}

fn render(
    records: usize,
    due: usize,
    load_secs: f64,
    big: &[Run],
    small: &[Run],
    commit: &str,
) -> String {
    let mut s = String::from("## Deadline sweep (issue 17)\n\n");
    s.push_str(&format!(
        "Run {} UTC at commit {commit}.\n\n",
        Utc::now().format("%Y-%m-%d %H:%M")
    ));
    let runs_needed = due.div_ceil(SWEEP_LIMIT);
    let (n_records, n_due) = (thousands(records), thousands(due));
    s.push_str(&format!(
        "`make bench` (scale part: `target/release/scale`; alone: `target/release/scale --sweep-only`), DynamoDB Local \
         {} and the SES emulator on this machine. One caller with {n_records} pending records with a deadline \
         ({DEADLINE_DAYS} days, reminders on days {}), written with BatchWriteItem ({load_secs:.0} s) through the \
         store's own `record_to_item`, so each is in the sparse index `due`; {n_due} of them (1 %) were sent 2 days \
         ago, so their day-1 reminder is due, the other {} an hour ago (in the index, due tomorrow). Then \
         `shared::workflows::sweep::sweep` at a fixed clock, as the `deadline-sweep` function runs it, until a run \
         finds nothing. One run handles at most `SWEEP_LIMIT` = {SWEEP_LIMIT} records, so the {n_due} due take \
         **{}** (deployed: one every 5 minutes); the last run of each table below is the idle one that follows. \
         The same again in a table of only the {n_due} due records. Requests are counted by an SDK interceptor; \
         entries read and capacity units are what DynamoDB Local reports for the queries of `due` (ScannedCount, \
         ConsumedCapacity); the mails go to the SES emulator; the runs are one after the other, each record in \
         turn, as deployed.\n\n",
        std::env::var("DYNAMODB_LOCAL_VERSION").unwrap_or_else(|_| "3.3.0".into()),
        REMIND_AFTER_DAYS.map(|d| d.to_string()).join(", "),
        thousands(records - due),
        runs(runs_needed),
    ));
    s.push_str(
        "| table | run | due (the index gave) | reminded | DynamoDB requests | SES requests | `due` entries read | Query capacity units | wall ms | ms per reminder |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in big.iter().chain(small) {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} ({}) | {} | {} | {:.1} | {:.0} | {} |\n",
            r.table,
            r.run,
            r.report.due,
            r.report.reminded,
            r.counts.total(DYNAMODB),
            r.counts.breakdown(DYNAMODB),
            r.counts.total(SESV2),
            r.entries_read,
            r.query_capacity,
            r.millis,
            if r.report.reminded > 0 {
                format!("{:.2}", r.millis / r.report.reminded as f64)
            } else {
                "-".into()
            },
        ));
    }
    // One sweep of all that is due: the runs that reminded.
    let working: Vec<&Run> = big.iter().filter(|r| r.report.due > 0).collect();
    let reminded: usize = working.iter().map(|r| r.report.reminded).sum();
    let millis: f64 = working.iter().map(|r| r.millis).sum();
    // Lambda bills each run's duration rounded up to the millisecond.
    let billed_ms: f64 = working.iter().map(|r| r.millis.ceil()).sum();
    let mut all = Counts::default();
    for r in &working {
        for (k, n) in &r.counts.0 {
            *all.0.entry(k.clone()).or_default() += n;
        }
    }
    let dynamo = all.total(DYNAMODB);
    let queries: u64 = working.iter().map(|r| r.queries()).sum();
    s.push_str(&format!(
        "\n**One sweep of the {n_due} due at {n_records} records** ({}): {} reminded, {millis:.0} ms, \
         DynamoDB {} requests ({}), SES {}: **{:.2} DynamoDB requests per due record** ({:.2} without the \
         queries).\n\n",
        runs(working.len()),
        thousands(reminded),
        thousands(dynamo as usize),
        all.breakdown(DYNAMODB),
        thousands(all.total(SESV2) as usize),
        dynamo as f64 / due as f64,
        (dynamo - queries) as f64 / due as f64,
    ));
    // The check: the queries do not grow with the records that are not due.
    let same = big.len() == small.len()
        && big
            .iter()
            .zip(small)
            .all(|(b, s)| b.queries() == s.queries() && b.entries_read == s.entries_read);
    let all_reminded = reminded == due && big.last().is_some_and(|r| r.report.due == 0);
    s.push_str(&format!(
        "Check: the queries of `due` do not grow with the {} records that are not due: run by run, the same Query \
         requests ({}) and the same index entries read ({}) at {n_records} records as at {n_due}: **{}**. \
         Every due record reminded once ({} of {n_due}, and the run after found nothing): **{}**. Each of the \
         16 queries reads up to `SWEEP_LIMIT` entries of its shard, so a run reads what is due up to 16 × \
         {SWEEP_LIMIT} entries and handles the earliest {SWEEP_LIMIT}; what it leaves is read again by the next.\n",
        thousands(records - due),
        big.iter()
            .map(|r| r.queries().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        big.iter()
            .map(|r| thousands(r.entries_read as usize))
            .collect::<Vec<_>>()
            .join(", "),
        if same { "PASS" } else { "FAIL" },
        thousands(reminded),
        if all_reminded { "PASS" } else { "FAIL" },
    ));
    let idle = big.iter().find(|r| r.report.due == 0);
    s.push_str(&cost(
        reminded,
        billed_ms,
        working.len(),
        &all,
        working.iter().map(|r| r.query_capacity).sum(),
        idle,
    ));
    s
}

/// The cost of 1,000,000 reminders from the counted requests of `runs` sweeps that reminded `reminded`
/// in `billed_ms` (their durations, each rounded up to the millisecond).
fn cost(
    reminded: usize,
    billed_ms: f64,
    runs: usize,
    counts: &Counts,
    query_capacity: f64,
    idle: Option<&Run>,
) -> String {
    // List prices, us-east-1, as in "Cost of 1,000,000 verifications".
    const WRU: f64 = 0.625 / 1e6;
    const RRU: f64 = 0.125 / 1e6;
    const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    const SES_PER_MAIL: f64 = 0.10 / 1000.0;
    if reminded == 0 {
        return "\n### Cost of 1,000,000 reminders\n\nNo reminder was sent: no figures.\n".into();
    }
    let per = 1e6;
    let op = |name: &str| {
        counts
            .0
            .get(&(DYNAMODB.to_string(), name.to_string()))
            .copied()
            .unwrap_or(0) as f64
            / reminded as f64
    };
    let (batch_get, update, transact) = (
        op("BatchGetItem"),
        op("UpdateItem"),
        op("TransactWriteItems"),
    );
    // Write units of one reminder (every item under 1 KB): the day's mail count (UpdateItem, 1); the claim
    // (TransactWriteItems: the record's update and the new link's put, 2 items x 2) with the record's entry
    // in gsi1 (projection ALL: 1) and its move in `due` (a new sort key: delete and put, 2); the commit
    // (TransactWriteItems: the record's update and the old link's delete, 2 x 2) with gsi1 again (1).
    let day_wru = 1.0;
    let claim_wru = 2.0 * 2.0 + 1.0 + 2.0;
    let commit_wru = 2.0 * 2.0 + 1.0;
    let wru = day_wru + claim_wru + commit_wru;
    // Read units: the record, its quota item and the address's delivery item, one strongly consistent
    // BatchGetItem (1 unit an item, found or not), and the queries' share: what DynamoDB Local reported, or
    // what DynamoDB bills at least (half a unit a query, eventually consistent), whichever is more.
    let queries = counts
        .0
        .get(&(DYNAMODB.to_string(), "Query".to_string()))
        .copied()
        .unwrap_or(0) as f64;
    let query_capacity = query_capacity.max(0.5 * queries);
    let rru = 3.0 + query_capacity / reminded as f64;
    let dynamo = (wru * WRU + rru * RRU) * per;
    let ms_per = billed_ms / reminded as f64;
    let lambda_requests = runs as f64 / reminded as f64;
    let lambda_at = |ms: f64| {
        (lambda_requests * LAMBDA_REQUEST + ms / 1000.0 * 0.125 * LAMBDA_GB_SECOND_ARM) * per
    };
    let (lambda, lambda_10x) = (lambda_at(ms_per), lambda_at(10.0 * ms_per));
    let ses = SES_PER_MAIL * per;
    let total = dynamo + lambda;
    let mut s = format!(
        "\n### Cost of 1,000,000 reminders (on paper, list prices, us-east-1)\n\n\
Per reminder, counted above: DynamoDB BatchGetItem {batch_get:.2}, UpdateItem {update:.2} (the caller's mails of \
the day), TransactWriteItems {transact:.2} (claim, then commit), and 1 SES SendEmail; Query is shared by the run \
({SWEEP_LIMIT} records a run). Prices as in \"Cost of 1,000,000 verifications\": DynamoDB on demand $0.625 per \
million write units and $0.125 per million read units, Lambda arm64 128 MB $0.20 per million requests and \
$0.0000133334 per GB-s, SES $0.10 per 1,000 mails.\n\n\
| part | per reminder | per 1,000,000 |\n|---|---|---|\n\
| DynamoDB: {wru:.0} write units | the day's count 1; claim: record + new link, 2 transactional items × 2, gsi1 1, `due` moved 2; commit: record + old link deleted, 2 × 2, gsi1 1 | ${:.2} |\n\
| DynamoDB: {rru:.2} read units | record, quota, delivery: 3 consistent reads; the queries of `due`, {:.3} (at least half a unit a query) | ${:.2} |\n\
| Lambda arm64 128 MB: {lambda_requests:.3} requests and {ms_per:.2} ms billed | one run of {SWEEP_LIMIT} per request; local duration | ${lambda:.2} |\n\
| **this service** | | **${total:.2}** |\n\
| SES: 1 mail | | ${ses:.2} |\n\n\
Overhead: **{:.1} % of SES**. DynamoDB is nearly all of it, and its transactions bill every item twice: the 8 \
transactional write units are ${:.2}. Lambda is billed for the waits too; the duration here is DynamoDB Local's \
and the SES emulator's on this machine, and at ten times it Lambda would be ${lambda_10x:.2}: under 1 % of SES \
either way. No API Gateway: an EventBridge schedule starts the sweep.\n",
        wru * WRU * per,
        query_capacity / reminded as f64,
        rru * RRU * per,
        total / ses * 100.0,
        8.0 * WRU * per,
    );
    if let Some(idle) = idle {
        let runs_a_month = 12.0 * 24.0 * 30.0;
        let idle_units = idle.query_capacity.max(0.5 * idle.queries() as f64);
        let idle_dynamo = idle_units * RRU * runs_a_month;
        let idle_lambda = (LAMBDA_REQUEST
            + idle.millis.ceil() / 1000.0 * 0.125 * LAMBDA_GB_SECOND_ARM)
            * runs_a_month;
        s.push_str(&format!(
            "\nWhether anything is due or not, the sweep runs every 5 minutes: a run that finds nothing costs {} \
             DynamoDB requests ({}; {idle_units:.1} read units, at least half a unit a query) and {:.0} ms here; 8,640 \
             runs a month come to ${:.4} of DynamoDB and ${:.4} of Lambda, whatever the number of records.\n",
            idle.counts.total(DYNAMODB),
            idle.counts.breakdown(DYNAMODB),
            idle.millis,
            idle_dynamo,
            idle_lambda,
        ));
    }
    s
}
