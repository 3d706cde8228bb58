//! `make bench`, issue 10: List and Describe for a caller with 100,000 records and 100,000 verified
//! contacts in DynamoDB Local, at pages 1, 10 and 100 (and by NextToken), with filters. For each call: the
//! DynamoDB requests (counted by an SDK interceptor), the index entries and items read and the capacity
//! units DynamoDB reports, the wall time, and the peak of memory the call allocated (a counting global
//! allocator). The same calls for a caller with 1,000 records show whether memory grows with the total.
//! Then the cost of 1,000,000 verifications at list prices, from the requests of one verification.
//!
//! Then issue 17, the deadline sweep (module `sweep`): one sweep of 100,000 records with a deadline, 1 % due.
//!
//! Writes its sections of BENCHMARKS.md (between `<!-- make bench scale: begin -->` and its end line, and
//! between `<!-- make bench sweep: begin -->` and its end line). Run by `local/stack.sh bench` with DynamoDB
//! Local and the SES emulator up; alone:
//! `cargo run --release -p bench --bin scale -- [--records N] [--out FILE] [--sweep-only]`
//! (`--sweep-only`: only the sweep's section).

#[path = "scale/sweep.rs"]
mod sweep;

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use adapters::dynamo::{DynamoStore, TableStream};
use adapters::env::FromEnv;
use adapters::ses::SesMailer;
use api::action::{Action, Reply, Request};
use api::actions::{
    DescribeIntlPhoneEmailList, ListEmailVerification, SubmitEmailVerification, VerifyEmail,
};
use api::params::Params;
use bench::count::{counted_app, RequestCounter, DYNAMODB};
use bench::fakes::LinkKeeper;
use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use shared::app::{App, Config};
use shared::code::{Contact, ContactType};
use shared::model::{
    CallerId, EmailAddress, Lang, TokenHash, VerificationRecord, VerificationStatus,
};
use shared::store::ContactRecord;

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

struct Measured {
    what: String,
    requests: u64,
    breakdown: String,
    items_read: u64,
    capacity: f64,
    millis: f64,
    peak_kib: f64,
    answer: String,
}

type BenchApp = App<DynamoStore, LinkKeeper<SesMailer>>;

fn request(caller: &CallerId, pairs: &[(&str, String)]) -> Request {
    Request::new(
        Params::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str()))),
        Some(caller.clone()),
        "192.0.2.1",
        false,
    )
    .expect("a valid request")
}

async fn measure<A: Action>(
    app: &BenchApp,
    counter: &RequestCounter,
    what: String,
    req: &Request,
) -> (Measured, Value) {
    counter.take();
    app.store.take_read_stats();
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let started = Instant::now();
    let reply = A::handle(app, req).await;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let peak = PEAK.load(Ordering::SeqCst).saturating_sub(base);
    let counts = counter.take();
    let stats = app.store.take_read_stats();
    let body = match reply {
        Ok(Reply::Api(body)) => Value::Object(body),
        other => panic!("{what}: {:?}", other.err()),
    };
    let answer = match (body.get("TotalItemNum"), body.get("TotalCount")) {
        (Some(t), _) => format!("{} of {t}", body["Data"].as_array().map_or(0, Vec::len)),
        (_, Some(t)) => format!(
            "{} of {t}",
            body["PhoneEmailList"].as_array().map_or(0, Vec::len)
        ),
        _ => String::new(),
    };
    let m = Measured {
        what,
        requests: counts.total(DYNAMODB),
        breakdown: counts.breakdown(DYNAMODB),
        items_read: stats.items_read,
        capacity: stats.capacity_units,
        millis,
        peak_kib: peak as f64 / 1024.0,
        answer,
    };
    (m, body)
}

fn records_of(
    caller: &CallerId,
    n: usize,
    start: chrono::DateTime<Utc>,
) -> Vec<VerificationRecord> {
    (0..n)
        .map(|i| {
            let created = start + Duration::seconds(i as i64);
            VerificationRecord {
                caller: caller.clone(),
                email: EmailAddress::parse(&format!("contact{i}@registrant{}.example", i % 997))
                    .expect("address"),
                status: if i % 3 == 0 {
                    VerificationStatus::Verified
                } else {
                    VerificationStatus::Pending
                },
                verification_no: format!("{i:032x}"),
                created,
                modified: created,
                token_sent: created,
                send_ip: "192.0.2.1".into(),
                confirm_ip: (i % 3 == 0).then(|| "192.0.2.2".to_string()),
                verified_at: (i % 3 == 0).then_some(created),
                current_token: TokenHash::from_stored(format!("{i:064x}")),
                lang: Lang::En,
                version: 1,
                delivery: None,
                domains: Vec::new(),
                deadline: None,
                deadline_missed: None,
                reminders_sent: 0,
                reminders_skipped: 0,
                remind_after_days: Vec::new(),
            }
        })
        .collect()
}

fn contacts_of(caller: &CallerId, n: usize, start: chrono::DateTime<Utc>) -> Vec<ContactRecord> {
    (0..n)
        .map(|i| {
            let contact = if i % 2 == 0 {
                Contact::parse(ContactType::Phone, &format!("+44790{:07}", i)).expect("number")
            } else {
                Contact::parse(ContactType::Email, &format!("person{i}@example.org"))
                    .expect("address")
            };
            ContactRecord {
                caller: caller.clone(),
                contact,
                created: start + Duration::seconds(i as i64),
            }
        })
        .collect()
}

/// The List and Describe calls measured for one caller with `n` records and `n` contacts.
async fn listing_calls(
    app: &BenchApp,
    counter: &RequestCounter,
    caller: &CallerId,
    n: usize,
    label: &str,
) -> Vec<Measured> {
    let mut out = Vec::new();
    let size = 20usize;
    for page in [1usize, 10, 100] {
        let req = request(
            caller,
            &[
                ("PageNum", page.to_string()),
                ("PageSize", size.to_string()),
            ],
        );
        out.push(
            measure::<ListEmailVerification>(
                app,
                counter,
                format!("{label}: List page {page} (PageSize 20)"),
                &req,
            )
            .await
            .0,
        );
    }
    // Page 100 by NextToken: walk pages 1..99 (unmeasured), then measure the 100th.
    let mut token: Option<String> = None;
    for _ in 1..100 {
        let mut pairs = vec![("PageSize", size.to_string())];
        if let Some(t) = &token {
            pairs.push(("NextToken", t.clone()));
        }
        let reply = ListEmailVerification::handle(app, &request(caller, &pairs))
            .await
            .expect("a page");
        token = match reply {
            Reply::Api(body) => body
                .get("NextToken")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        };
    }
    if let Some(t) = token {
        let req = request(caller, &[("PageSize", size.to_string()), ("NextToken", t)]);
        out.push(
            measure::<ListEmailVerification>(
                app,
                counter,
                format!("{label}: List page 100 by NextToken"),
                &req,
            )
            .await
            .0,
        );
    }
    let req = request(
        caller,
        &[("VerificationStatus", "1".into()), ("PageNum", "10".into())],
    );
    out.push(
        measure::<ListEmailVerification>(
            app,
            counter,
            format!("{label}: List VerificationStatus=1, page 10"),
            &req,
        )
        .await
        .0,
    );
    let start = Utc
        .timestamp_millis_opt(1_700_000_000_000)
        .single()
        .expect("time");
    let (from, to) = (
        start + Duration::seconds(n as i64 / 2),
        start + Duration::seconds(n as i64 / 2 + 999),
    );
    let req = request(
        caller,
        &[
            ("BeginCreateTime", from.timestamp_millis().to_string()),
            ("EndCreateTime", to.timestamp_millis().to_string()),
        ],
    );
    out.push(
        measure::<ListEmailVerification>(
            app,
            counter,
            format!("{label}: List of 1,000 seconds (BeginCreateTime/EndCreateTime), page 1"),
            &req,
        )
        .await
        .0,
    );
    let req = request(
        caller,
        &[(
            "Email",
            format!("contact{}@registrant{}.example", n / 2, (n / 2) % 997),
        )],
    );
    out.push(
        measure::<ListEmailVerification>(
            app,
            counter,
            format!("{label}: List Email=<one address>"),
            &req,
        )
        .await
        .0,
    );
    for page in [1usize, 10, 100] {
        let req = request(
            caller,
            &[
                ("Offset", ((page - 1) * size).to_string()),
                ("Limit", size.to_string()),
            ],
        );
        out.push(
            measure::<DescribeIntlPhoneEmailList>(
                app,
                counter,
                format!("{label}: Describe page {page} (Limit 20)"),
                &req,
            )
            .await
            .0,
        );
    }
    let req = request(
        caller,
        &[
            ("Type", "1".into()),
            ("Offset", "180".into()),
            ("Limit", "20".into()),
        ],
    );
    out.push(
        measure::<DescribeIntlPhoneEmailList>(
            app,
            counter,
            format!("{label}: Describe Type=1, page 10"),
            &req,
        )
        .await
        .0,
    );
    out
}

fn markdown_table(rows: &[Measured]) -> String {
    let mut t = String::from("| call | answer | DynamoDB requests | index entries and items read | capacity units | wall ms | peak memory KiB |\n|---|---|---|---|---|---|---|\n");
    for m in rows {
        t.push_str(&format!(
            "| {} | {} | {} ({}) | {} | {:.1} | {:.1} | {:.0} |\n",
            m.what,
            m.answer,
            m.requests,
            m.breakdown,
            m.items_read,
            m.capacity,
            m.millis,
            m.peak_kib
        ));
    }
    t
}

const USAGE: &str = "usage: scale [--records N] [--out FILE] [--sweep-only]";

struct Options {
    records: usize,
    out: std::path::PathBuf,
    sweep_only: bool,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        records: 100_000,
        out: "BENCHMARKS.md".into(),
        sweep_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--records" => {
                o.records = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--records needs a number")?
            }
            "--out" => o.out = args.next().ok_or("--out needs a file")?.into(),
            "--sweep-only" => o.sweep_only = true,
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    Ok(o)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let opts = options()?;
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let table = format!("bench-scale-{}", std::process::id());
    let mut sections = Vec::new();
    if !opts.sweep_only {
        DynamoStore::create_table_with(&client, &table, TableStream::Off)
            .await
            .map_err(|e| e.to_string())?;
        let result = run(&opts, &aws, &table).await;
        let _ = client.delete_table().table_name(&table).send().await;
        sections.push((SCALE, result?));
    }
    eprintln!(
        "==> sweep: the deadline sweep at {} records, 1 % due",
        opts.records
    );
    sections.push((
        SWEEP,
        sweep::section(opts.records, &aws, &table, &commit()).await?,
    ));
    let mut text = std::fs::read_to_string(&opts.out).unwrap_or_default();
    for ((begin, end), section) in &sections {
        println!("{section}");
        text = replace_section(&text, begin, end, section);
    }
    std::fs::write(&opts.out, text).map_err(|e| e.to_string())?;
    eprintln!("==> wrote its sections of {}", opts.out.display());
    Ok(())
}

/// The markers of each section this binary writes.
const SCALE: (&str, &str) = (
    "<!-- make bench scale: begin -->",
    "<!-- make bench scale: end -->",
);
const SWEEP: (&str, &str) = (
    "<!-- make bench sweep: begin -->",
    "<!-- make bench sweep: end -->",
);

/// `old` with the lines from `begin` to `end` replaced by `section` between them (appended when absent).
fn replace_section(old: &str, begin: &str, end: &str, section: &str) -> String {
    let block = format!("{begin}\n{section}\n{end}\n");
    match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if e > b => format!(
            "{}{block}{}",
            &old[..b],
            old[e + end.len()..].trim_start_matches('\n')
        ),
        _ => format!("{}\n{block}", old.trim_end()),
    }
}

/// The commit measured (its short hash; empty outside a git work tree).
fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

async fn run(opts: &Options, aws: &aws_config::SdkConfig, table: &str) -> Result<String, String> {
    let counter = RequestCounter::new();
    let mut config = Config::from_env().map_err(|e| e.to_string())?;
    config.table_name = table.to_string();
    config.send_pacer = shared::pace::SendPacer::new(10_000.0);
    let plain = counted_app(config, aws, &counter, shared::app::system_clock());
    let app = App {
        store: plain.store,
        mailer: LinkKeeper::new(plain.mailer),
        sms: plain.sms,
        code_secret: plain.code_secret,
        config: plain.config,
        clock: plain.clock,
    };
    let layout = app
        .store
        .layout_for_write()
        .await
        .map_err(|e| e.to_string())?;
    let start = Utc
        .timestamp_millis_opt(1_700_000_000_000)
        .single()
        .ok_or("time")?;

    let big = CallerId::parse("registrar-scale").map_err(|_| "caller")?;
    let small = CallerId::parse("registrar-small").map_err(|_| "caller")?;
    let loading = Instant::now();
    for (caller, n) in [(&big, opts.records), (&small, 1_000)] {
        eprintln!("==> scale: loading {n} records and {n} contacts for {caller} (BatchWriteItem)");
        app.store
            .load_records(caller, &records_of(caller, n, start))
            .await
            .map_err(|e| e.to_string())?;
        app.store
            .load_contacts(caller, &contacts_of(caller, n, start))
            .await
            .map_err(|e| e.to_string())?;
    }
    let load_secs = loading.elapsed().as_secs_f64();
    // Warm: the first call of a function instance reads the layout; a page of another caller does it.
    let _ = ListEmailVerification::handle(
        &app,
        &request(&CallerId::parse("warm-up").map_err(|_| "caller")?, &[]),
    )
    .await;

    eprintln!("==> scale: List and Describe");
    let mut rows = listing_calls(
        &app,
        &counter,
        &big,
        opts.records,
        &format!("{}k records", opts.records / 1000),
    )
    .await;
    let small_rows = listing_calls(&app, &counter, &small, 1_000, "1k records").await;

    // One verification: Submit of one new address, then the click on its link.
    eprintln!("==> scale: 200 verifications (Submit of one new address, then Verify)");
    let (mut submit_ms, mut verify_ms) = (Vec::new(), Vec::new());
    let (mut submit_req, mut verify_req) = (String::new(), String::new());
    // The evidence item of the first address after its Submit (one entry) and after its Verify (two).
    let mut evidence_sizes = (0usize, 0usize);
    let me = CallerId::parse("registrar-costs").map_err(|_| "caller")?;
    for i in 0..200 {
        let email = format!("cost{i}.{}@example.com", uuid::Uuid::new_v4().simple());
        counter.take();
        let t = Instant::now();
        let reply =
            SubmitEmailVerification::handle(&app, &request(&me, &[("Email", email.clone())]))
                .await
                .map_err(|e| format!("{e:?}"))?;
        submit_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let c = counter.take();
        submit_req = format!("{} ({})", c.total(DYNAMODB), c.breakdown(DYNAMODB));
        if let Reply::Api(body) = &reply {
            if body["SuccessList"].as_array().map_or(0, Vec::len) != 1 {
                return Err(format!("Submit: {body:?}"));
            }
        }
        if i == 0 {
            evidence_sizes.0 = evidence_item_size(&app.store, &me, &email).await?;
        }
        let token = app.mailer.token_for(&email).ok_or("the link of the mail")?;
        counter.take();
        let t = Instant::now();
        VerifyEmail::handle(&app, &request(&me, &[("Token", token)]))
            .await
            .map_err(|e| format!("{e:?}"))?;
        verify_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let c = counter.take();
        verify_req = format!("{} ({})", c.total(DYNAMODB), c.breakdown(DYNAMODB));
        if i == 0 {
            evidence_sizes.1 = evidence_item_size(&app.store, &me, &email).await?;
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (submit_med, verify_med) = (median(&mut submit_ms), median(&mut verify_ms));

    // The other side of the choice: the same caller in a table of 4 index shards (docs/API.md, "Pages and their cost").
    let four = four_shards(&app, aws, &counter, table, &big, opts.records, start).await?;

    rows.extend(small_rows);
    rows.extend(four);
    let mut s = String::new();
    s.push_str("## Registrar scale (issue 10)\n\n");
    s.push_str(&format!(
        "Run {} UTC at commit {}.\n\n",
        Utc::now().format("%Y-%m-%d %H:%M"),
        commit()
    ));
    s.push_str(&format!(
        "`make bench` (scale part: `target/release/scale`), DynamoDB Local {} on this machine. One caller with {} records and {} verified contacts \
         (BatchWriteItem, {:.0} s for both callers), another with 1,000 of each; {} index shards, {} count shards. \
         Requests are counted by an SDK interceptor; entries read and capacity units are what DynamoDB Local reports \
         (ScannedCount, ConsumedCapacity); peak memory is what the call allocated at most, above what was allocated before it. \
         The last two rows load the big caller again into a table of 4 index shards: the first page's cost with \
         `IndexShards` 4, which meets the page target (at most 5 requests) and carries about 2,600 new addresses a \
         second per caller instead of 5,000 (docs/API.md, \"Pages and their cost\").\n\n",
        std::env::var("DYNAMODB_LOCAL_VERSION").unwrap_or_else(|_| "3.3.0".into()),
        opts.records,
        opts.records,
        load_secs,
        layout.index_shards(),
        layout.count_shards()
    ));
    s.push_str(&markdown_table(&rows));
    s.push_str(&cost_section(
        submit_med,
        verify_med,
        &submit_req,
        &verify_req,
        evidence_sizes,
    ));
    s.push_str(&caller_rate_section().await);
    Ok(s)
}

/// The first pages of List and Describe for one caller with `n` records and contacts in a table of 4 index
/// shards (a table of its own, deleted after): 4 Query and the counts' BatchGetItem.
async fn four_shards(
    app: &BenchApp,
    aws: &aws_config::SdkConfig,
    counter: &RequestCounter,
    table: &str,
    caller: &CallerId,
    n: usize,
    start: chrono::DateTime<Utc>,
) -> Result<Vec<Measured>, String> {
    let table = format!("{table}-4");
    let client = bench::count::dynamodb_client(aws, counter);
    DynamoStore::create_table_with(&client, &table, TableStream::Off)
        .await
        .map_err(|e| e.to_string())?;
    let layout = adapters::dynamo::Layout::new(4).ok_or("4 shards")?;
    let four = App {
        store: DynamoStore::with_layout(client.clone(), &table, layout),
        mailer: app.mailer.clone(),
        sms: app.sms.clone(),
        code_secret: None,
        config: app.config.clone(),
        clock: app.clock.clone(),
    };
    let result = async {
        four.store.layout_for_write().await.map_err(|e| e.to_string())?;
        eprintln!("==> scale: loading {n} records and {n} contacts for {caller} into a table of 4 index shards");
        four.store.load_records(caller, &records_of(caller, n, start)).await.map_err(|e| e.to_string())?;
        four.store.load_contacts(caller, &contacts_of(caller, n, start)).await.map_err(|e| e.to_string())?;
        let label = format!("{}k records, IndexShards 4", n / 1000);
        let list = request(caller, &[("PageNum", "1".into()), ("PageSize", "20".into())]);
        let describe = request(caller, &[("Offset", "0".into()), ("Limit", "20".into())]);
        Ok::<_, String>(vec![
            measure::<ListEmailVerification>(&four, counter, format!("{label}: List page 1 (PageSize 20)"), &list).await.0,
            measure::<DescribeIntlPhoneEmailList>(&four, counter, format!("{label}: Describe page 1 (Limit 20)"), &describe).await.0,
        ])
    }
    .await;
    let _ = client.delete_table().table_name(&table).send().await;
    result
}

/// Issue 9: the per-caller rate (`shared::rate::CallerRate`, the template's defaults 20/s, burst 40), measured:
/// what one check costs, and what a flooding caller and a quiet one get in two seconds.
async fn caller_rate_section() -> String {
    use shared::rate::CallerRate;
    let ids: Vec<CallerId> = (0..10_000)
        .map(|i| CallerId::parse(&format!("caller{i}")).expect("id"))
        .collect();
    let per_call = |rate: &CallerRate, n: usize, pick: &dyn Fn(usize) -> usize| {
        let t = Instant::now();
        for i in 0..n {
            let _ = rate.take(&ids[pick(i)]);
        }
        t.elapsed().as_nanos() as f64 / n as f64
    };
    let one = per_call(&CallerRate::new(20.0, 40.0), 200_000, &|_| 0);
    let many = per_call(&CallerRate::new(20.0, 40.0), 200_000, &|i| i % 10_000);
    // Full (10,000 callers remembered, none idle): every new caller sweeps the map for idle ones.
    let full = CallerRate::new(20.0, 40.0);
    for id in &ids {
        let _ = full.take(id);
    }
    let newcomers: Vec<CallerId> = (0..200)
        .map(|i| CallerId::parse(&format!("newcomer{i}")).expect("id"))
        .collect();
    let t = Instant::now();
    for id in &newcomers {
        let _ = full.take(id);
    }
    let sweep = t.elapsed().as_nanos() as f64 / newcomers.len() as f64;
    // Two seconds: one caller as fast as it can (bounded), another 10 requests a second.
    let rate = CallerRate::new(20.0, 40.0);
    let (flood, quiet) = (&ids[0], &ids[1]);
    let (mut flood_sent, mut flood_served, mut quiet_sent, mut quiet_served) =
        (0u64, 0u64, 0u64, 0u64);
    let start = Instant::now();
    let mut next_quiet = start;
    while start.elapsed() < std::time::Duration::from_secs(2) && flood_sent < 50_000_000 {
        flood_sent += 1;
        flood_served += u64::from(rate.take(flood).is_ok());
        if Instant::now() >= next_quiet {
            quiet_sent += 1;
            quiet_served += u64::from(rate.take(quiet).is_ok());
            next_quiet += std::time::Duration::from_millis(100);
        }
        if flood_sent % 1000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    format!(
        "\n### Per-caller rate (issue 9: `CallerRateLimit` 20/s, `CallerBurstLimit` 40 per function instance)\n\n\
| measured | figure |\n|---|---|\n\
| one check, one caller | {one:.0} ns |\n\
| one check, 10,000 callers in turn | {many:.0} ns |\n\
| one check by a new caller when 10,000 are remembered (the sweep for idle ones) | {:.2} ms |\n\
| 2 s of a caller sending as fast as it can | {flood_served} served of {flood_sent} (burst 40 + 20/s × 2 s = 80 expected) |\n\
| the same 2 s, another caller at 10/s | {quiet_served} served of {quiet_sent} |\n\n\
The limiter costs no request to any service; a refused request answers `Throttling` (429) or `RequestLimitExceeded` \
before any store or mail call (tests/tests/rules.rs checks that through the functions).\n",
        sweep / 1e6
    )
}

/// The size in bytes of `caller`'s evidence item of `email` this month, by DynamoDB's rules.
async fn evidence_item_size(
    store: &DynamoStore,
    caller: &CallerId,
    email: &str,
) -> Result<usize, String> {
    let subject =
        shared::evidence::Subject::Email(EmailAddress::parse(email).map_err(|_| "email")?);
    let item = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(adapters::dynamo::evidence_pk(
                caller,
                &subject,
                Utc::now(),
            )),
        )
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .item
        .ok_or("no evidence item")?;
    Ok(item.iter().map(|(k, v)| k.len() + value_size(v)).sum())
}

/// A value's size by DynamoDB's item-size rules: strings and binaries their bytes; numbers about one byte
/// per two significant digits, plus one; maps and lists 3 bytes, plus 1 an element.
fn value_size(v: &aws_sdk_dynamodb::types::AttributeValue) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    match v {
        V::S(s) => s.len(),
        V::N(n) => {
            let digits = n
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .trim_start_matches('0')
                .len()
                .max(1);
            digits.div_ceil(2) + 1
        }
        V::B(b) => b.as_ref().len(),
        V::Bool(_) | V::Null(_) => 1,
        V::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        V::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        _ => 0,
    }
}

fn cost_section(
    submit_ms: f64,
    verify_ms: f64,
    submit_req: &str,
    verify_req: &str,
    evidence_sizes: (usize, usize),
) -> String {
    // List prices, us-east-1 (on-demand DynamoDB since November 2024; Lambda arm64; HTTP API first 300 M).
    const WRU: f64 = 0.625 / 1e6;
    const RRU: f64 = 0.125 / 1e6;
    const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    const SES_PER_MAIL: f64 = 0.10 / 1000.0;
    // Write and read units of one verification, from the items the two actions write and read (each under
    // 1 KB, under 4 KB read): transactional writes cost 2 units an item, index entries 1, strongly
    // consistent reads 1 an item.
    // The evidence (docs/API.md, "Evidence"): its item is written in the Submit's reservation (2 units a KB
    // or part), completed by one UpdateItem once SES took the mail (1 a KB), and written again in the
    // Verify's transaction (2 a KB); its sizes were read back from the table.
    let kb = |bytes: usize| bytes.div_ceil(1024).max(1) as f64;
    let (after_submit, after_verify) = evidence_sizes;
    let evidence_submit_wru = 2.0 * kb(after_submit) + kb(after_submit);
    let evidence_verify_wru = 2.0 * kb(after_verify);
    let evidence_wru = evidence_submit_wru + evidence_verify_wru;
    let submit_wru = 4.0 * 2.0 + 1.0 + evidence_submit_wru; // record, count, quota, link in one transaction; the index entry
    let submit_rru = 2.0; // record and quota, one consistent BatchGetItem
    let verify_wru = 3.0 * 2.0 + 1.0 + evidence_verify_wru; // record, link, count in one transaction; the index entry (status)
    let verify_rru = 1.0; // the link
    let per = 1e6;
    let dynamo = ((submit_wru + verify_wru) * WRU + (submit_rru + verify_rru) * RRU) * per;
    let billed_ms = submit_ms.ceil() + verify_ms.ceil();
    let lambda = (2.0 * LAMBDA_REQUEST + billed_ms / 1000.0 * 0.125 * LAMBDA_GB_SECOND_ARM) * per;
    let api = 2.0 * HTTP_API_REQUEST * per;
    let total = dynamo + lambda + api;
    let ses = SES_PER_MAIL * per;
    let floor_dynamo = 2.0 * WRU * per;
    let floor = api + lambda + floor_dynamo;
    let evidence_dollars = evidence_wru * WRU * per;
    let evidence_section = format!(
        "\n### What the evidence adds to the cost of 1,000,000 verifications\n\n\
One address's evidence item (`EVIDENCE#<caller>#L#<address>#<month>`), read back from the table after its Submit: \
{after_submit} bytes (one entry, with SES's message id); after the click: {after_verify} bytes (two entries). \
Each write of it costs what the item weighs, 1 write unit per KB or part, twice in a transaction:\n\n\
| write | units |\n|---|---:|\n\
| Submit: the entry, `Pending`, in the reservation's transaction | {:.0} |\n\
| Submit: the entry completed (`Sent`, message id), one UpdateItem after SES took the mail | {:.0} |\n\
| Verify: the `LinkOpened` entry, in the verification's transaction | {:.0} |\n\
| **per verification** | **{evidence_wru:.0}** |\n\n\
It adds **{evidence_wru:.0} write units and 1 request** (the Submit's UpdateItem, counted above) to a \
verification: **${evidence_dollars:.2} per 1,000,000 verifications** ({:.1} % of SES), included in the \
DynamoDB row above. Why this layout: an index of entries would add 1 unit an entry (3 a verification) and double \
the storage; an item per entry could not be read in order without one; a list in the record would grow every \
write of the record and go with a delete. Reading a log (DescribeVerificationEvidence) is one BatchGetItem of \
the months within the retention (36 or 37 keys for three years, absent ones at the least a read costs).\n",
        2.0 * kb(after_submit),
        kb(after_submit),
        evidence_verify_wru,
        evidence_dollars / ses * 100.0,
    );
    let section = format!(
        "\n### Cost of 1,000,000 verifications (on paper, list prices, us-east-1)\n\n\
One verification = one Submit of a new address (DynamoDB: {submit_req}) and one click on its link (DynamoDB: {verify_req}), \
measured above 200 times against DynamoDB Local and the SES emulator: median {submit_ms:.1} ms and {verify_ms:.1} ms.\n\n\
| part | per verification | per 1,000,000 |\n|---|---|---|\n\
| DynamoDB on demand: {:.0} write units ($0.625/M) and {:.0} read units ($0.125/M) | Submit: 4 transactional items × 2 + 1 index entry + the evidence; Verify: 3 × 2 + 1 + the evidence; reads 2 + 1 | ${dynamo:.2} |\n\
| Lambda arm64 128 MB: 2 requests ($0.20/M) and {billed_ms:.0} ms billed ($0.0000133334/GB-s) | local durations; AWS's own are of the same order | ${lambda:.2} |\n\
| API Gateway HTTP API: 2 requests ($1.00/M) | | ${api:.2} |\n\
| **this service** | | **${total:.2}** |\n\
| SES: 1 mail ($0.10 per 1,000) | | ${ses:.2} |\n\n\
Overhead: **{:.1} % of SES** (target 3 %: {}). What stands in the way, in figures: API Gateway alone is ${api:.2} ({:.1} %), \
and DynamoDB's transactions bill every item twice: the {:.0} write units are ${:.2} of the ${dynamo:.2}. \
Without transactions the same items would cost half, but a failed send could then leave a half-written record \
(issue 9); the quota and link items could fold into the record for a new address (3 items fewer, about $3.75), \
and the count shards (2 units a create and a verify, $2.50) are the price of exact totals at registrar scale. \
No design on these services reaches 3 %: API Gateway's 2 requests (${api:.2}), Lambda's (${lambda:.2}) and the least \
DynamoDB can bill for a record that is created and later marked verified (1 write unit each, ${floor_dynamo:.2}) \
already come to ${floor:.2}, {:.1} % of SES.\n",
        submit_wru + verify_wru,
        submit_rru + verify_rru,
        total / ses * 100.0,
        if total / ses <= 0.03 { "met" } else { "missed" },
        api / ses * 100.0,
        submit_wru + verify_wru,
        (submit_wru + verify_wru) * WRU * per,
        floor / ses * 100.0,
    );
    section + &evidence_section
}
