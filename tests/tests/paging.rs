//! Issue 10: List and Describe page through a caller's records at the cost of a page, with exact totals
//! from the count items, against DynamoDB Local. Records are written by the real actions (in this process,
//! with a clock the test moves, so that creation times are known); pages are read over HTTP from the
//! functions under `cargo lambda watch`, as a caller reads them.

use std::collections::BTreeSet;
use std::sync::Arc;

use adapters::dynamo::DynamoStore;
use adapters::ses::SesMailer;
use api::action::{Action, Reply, Request};
use api::actions::SubmitEmailVerification;
use api::params::Params;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use shared::app::App;
use shared::code::{Contact, ContactType};
use shared::store::{CodeRecord, CodeStore, Store};
use stack_tests::*;

const LIST: &str = "list-email-verification";
const DESCRIBE: &str = "describe-intl-phone-email-list";

async fn fast_app(clock: &TestClock) -> App<DynamoStore, SesMailer> {
    let mut app = local_app(clock).await;
    app.config.send_pacer = shared::pace::SendPacer::new(1_000.0);
    app
}

fn caller_id(caller: &str) -> shared::model::CallerId {
    shared::model::CallerId::parse(caller).expect("caller id")
}

/// Submits `emails` as `caller` now; every one must be sent.
async fn submit(app: &App<DynamoStore, SesMailer>, caller: &str, emails: &[String]) {
    let joined = emails.join(",");
    let req = Request::new(
        Params::from_pairs([("Email", joined.as_str())]),
        Some(caller_id(caller)),
        "192.0.2.1",
        false,
    )
    .expect("request")
    .with_link_base(env("PUBLIC_BASE_URL"));
    match SubmitEmailVerification::handle(app, &req).await {
        Ok(Reply::Api(body)) => assert_eq!(
            body["SuccessList"].as_array().map_or(0, Vec::len),
            emails.len(),
            "{body:?}"
        ),
        other => panic!("Submit: {:?}", other.err()),
    }
}

/// `count` new addresses in batches of `batch`, one second apart; newest first, as List orders them.
async fn create_records(
    app: &App<DynamoStore, SesMailer>,
    clock: &TestClock,
    caller: &str,
    count: usize,
    batch: usize,
) -> Vec<(DateTime<Utc>, String)> {
    let mut made = Vec::new();
    let mut n = 0;
    while n < count {
        let emails: Vec<String> = (n..(n + batch).min(count))
            .map(|_| fresh_address().to_lowercase())
            .collect();
        submit(app, caller, &emails).await;
        let at = clock.now();
        made.extend(emails.into_iter().map(|e| (at, e)));
        n += batch;
        clock.advance(Duration::seconds(1));
    }
    made.sort_by(|a, b| (b.0.timestamp_millis(), &b.1).cmp(&(a.0.timestamp_millis(), &a.1)));
    made
}

fn list(caller: &str, params: Value) -> Value {
    let answer = post_json(LIST, caller, &params);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()
}

fn emails_of(page: &Value) -> Vec<String> {
    page["Data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn list_pages_by_number_and_by_token_walk_every_record_once_newest_first() {
    let clock = TestClock::default();
    let app = fast_app(&clock).await;
    let caller = unique("pages");
    let made = create_records(&app, &clock, &caller, 45, 9).await;
    let expected: Vec<String> = made.iter().map(|(_, e)| e.clone()).collect();

    // By page number.
    let mut by_number = Vec::new();
    for page_num in 1..=7 {
        let page = list(&caller, json!({"PageNum": page_num, "PageSize": 7}));
        assert_eq!(
            (page["TotalItemNum"].as_u64(), page["TotalPageNum"].as_u64()),
            (Some(45), Some(7)),
            "{page}"
        );
        assert_eq!(page["CurrentPageNum"], page_num);
        assert_eq!(page["NextPage"], page_num < 7);
        assert_eq!(page["PrePage"], page_num > 1);
        assert_eq!(page["NextToken"].is_string(), page_num < 7, "{page}");
        by_number.extend(emails_of(&page));
    }
    assert_eq!(
        by_number, expected,
        "pages by number: newest first, each record once"
    );
    let beyond = list(&caller, json!({"PageNum": 8, "PageSize": 7}));
    assert_eq!(
        (emails_of(&beyond).len(), beyond["TotalItemNum"].as_u64()),
        (0, Some(45))
    );
    let far_beyond = list(
        &caller,
        json!({"PageNum": 4_000_000_000u64, "PageSize": 500}),
    );
    assert_eq!(
        (
            emails_of(&far_beyond).len(),
            far_beyond["TotalItemNum"].as_u64()
        ),
        (0, Some(45))
    );

    // By NextToken: the same records in the same order.
    let mut by_token = Vec::new();
    let mut page = list(&caller, json!({"PageSize": 7}));
    let mut pages = 1;
    loop {
        assert_eq!(page["TotalItemNum"], 45);
        assert_eq!(page["CurrentPageNum"], pages);
        by_token.extend(emails_of(&page));
        match page["NextToken"].as_str() {
            Some(token) => page = list(&caller, json!({"PageSize": 7, "NextToken": token})),
            None => break,
        }
        pages += 1;
    }
    assert_eq!((by_token, pages), (expected.clone(), 7));

    // A page size that divides the total exactly: the last page says there is no next one.
    let last = list(&caller, json!({"PageNum": 3, "PageSize": 15}));
    assert_eq!(
        (last["NextPage"].clone(), last["NextToken"].is_null()),
        (json!(false), true),
        "{last}"
    );
    assert_eq!(emails_of(&last), expected[30..45]);

    // Another caller sees none of them, whatever token it is handed.
    let other = unique("pages-other");
    let token = list(&caller, json!({"PageSize": 7}))["NextToken"]
        .as_str()
        .unwrap()
        .to_string();
    let stranger = list(&other, json!({"PageSize": 7, "NextToken": token}));
    assert_eq!(
        (
            emails_of(&stranger).len(),
            stranger["TotalItemNum"].as_u64()
        ),
        (0, Some(0))
    );

    // A token that is not one: a clear error that names it.
    for bad in ["not-a-token", "eyJwIjoyfQ"] {
        let answer = post_json(LIST, &caller, &json!({"NextToken": bad}));
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert!(
            answer.json()["Message"]
                .as_str()
                .unwrap()
                .contains("NextToken"),
            "{}",
            answer.body
        );
    }
}

#[tokio::test]
async fn status_and_time_filters_count_exactly_and_page_in_order() {
    let clock = TestClock::default();
    let app = fast_app(&clock).await;
    let caller = unique("filters");
    let made = create_records(&app, &clock, &caller, 30, 6).await;
    // Verify every third record through the store's own path (the link's token).
    let mut verified = BTreeSet::new();
    for (_, email) in made.iter().step_by(3) {
        let record = app
            .store
            .get_record(
                &caller_id(&caller),
                &shared::model::EmailAddress::parse(email).unwrap(),
            )
            .await
            .unwrap()
            .unwrap();
        let token = app
            .store
            .get_token(&record.current_token)
            .await
            .unwrap()
            .expect("the live link");
        app.store
            .mark_verified(&token, clock.now(), "192.0.2.9", &opened(&token))
            .await
            .unwrap();
        verified.insert(email.clone());
    }
    let verified_page = list(&caller, json!({"VerificationStatus": 1, "PageSize": 4}));
    assert_eq!(verified_page["TotalItemNum"], verified.len());
    let mut walked = Vec::new();
    let mut page = verified_page;
    loop {
        walked.extend(emails_of(&page));
        match page["NextToken"].as_str() {
            Some(t) => {
                page = list(
                    &caller,
                    json!({"VerificationStatus": 1, "PageSize": 4, "NextToken": t}),
                )
            }
            None => break,
        }
    }
    let expected_verified: Vec<String> = made
        .iter()
        .filter(|(_, e)| verified.contains(e))
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(walked, expected_verified);
    let pending = list(&caller, json!({"VerificationStatus": 0, "PageSize": 100}));
    assert_eq!(pending["TotalItemNum"], 30 - verified.len());
    assert!(emails_of(&pending).iter().all(|e| !verified.contains(e)));

    // A creation-time range: the second and third batch (12 records), exactly.
    let times: BTreeSet<i64> = made.iter().map(|(t, _)| t.timestamp_millis()).collect();
    let times: Vec<i64> = times.into_iter().collect();
    let (from, to) = (times[1], times[2]);
    let ranged = list(
        &caller,
        json!({"BeginCreateTime": from, "EndCreateTime": to, "PageSize": 5, "PageNum": 2}),
    );
    assert_eq!(ranged["TotalItemNum"], 12, "{ranged}");
    let in_range: Vec<String> = made
        .iter()
        .filter(|(t, _)| (from..=to).contains(&t.timestamp_millis()))
        .map(|(_, e)| e.clone())
        .collect();
    assert_eq!(emails_of(&ranged), in_range[5..10]);
    // Range and status together.
    let both = list(
        &caller,
        json!({"BeginCreateTime": from, "EndCreateTime": to, "VerificationStatus": 1, "PageSize": 50}),
    );
    let expected_both: Vec<String> = in_range
        .iter()
        .filter(|e| verified.contains(*e))
        .cloned()
        .collect();
    assert_eq!(
        (both["TotalItemNum"].as_u64(), emails_of(&both)),
        (Some(expected_both.len() as u64), expected_both)
    );
    // One exact address.
    let one = list(&caller, json!({"Email": made[0].1, "PageSize": 5}));
    assert_eq!(
        (one["TotalItemNum"].as_u64(), emails_of(&one)),
        (Some(1), vec![made[0].1.clone()])
    );

    assert_eq!(
        counts_of(&caller).await,
        counted_items_of(&caller).await,
        "the counts are the records"
    );
}

#[tokio::test]
async fn counts_stay_exact_through_concurrent_creates_verifies_and_deletes() {
    let clock = TestClock::default();
    let app = Arc::new(fast_app(&clock).await);
    let caller = unique("counts");
    let emails: Vec<String> = (0..40).map(|_| fresh_address().to_lowercase()).collect();
    let creates = emails.iter().map(|e| {
        let (app, caller, e) = (app.clone(), caller.clone(), e.clone());
        tokio::spawn(async move { submit(&app, &caller, &[e]).await })
    });
    for c in futures_util::future::join_all(creates).await {
        c.unwrap();
    }
    assert_eq!(counts_of(&caller).await, [40, 0, 0, 0]);
    // Half are deleted while the other half are verified, all at once; some deletes hit verified ones.
    let jobs = emails.iter().enumerate().map(|(i, e)| {
        let (app, caller, e) = (app.clone(), caller.clone(), e.clone());
        tokio::spawn(async move {
            let email = shared::model::EmailAddress::parse(&e).unwrap();
            if i % 2 == 0 || i % 5 == 0 {
                if let Some(r) = app
                    .store
                    .get_record(&caller_id(&caller), &email)
                    .await
                    .unwrap()
                {
                    if let Some(t) = app.store.get_token(&r.current_token).await.unwrap() {
                        app.store
                            .mark_verified(&t, Utc::now(), "192.0.2.9", &opened(&t))
                            .await
                            .unwrap();
                    }
                }
            }
            if i % 2 == 1 {
                app.store
                    .delete_record(&caller_id(&caller), &email, false)
                    .await
                    .unwrap();
            }
        })
    });
    for j in futures_util::future::join_all(jobs).await {
        j.unwrap();
    }
    let counted = counted_items_of(&caller).await;
    assert_eq!(counts_of(&caller).await, counted);
    assert_eq!(counted[0], 20);
    assert_eq!(list(&caller, json!({}))["TotalItemNum"], 20);
    assert_eq!(
        list(&caller, json!({"VerificationStatus": 1}))["TotalItemNum"],
        counted[1]
    );
}

/// A verified contact written through the store's own path (a code, then its use).
async fn verified_contact(store: &DynamoStore, caller: &str, contact: &Contact, at: DateTime<Utc>) {
    let code = CodeRecord {
        caller: caller_id(caller),
        contact: contact.clone(),
        hash: "test-hash".into(),
        attempts: 0,
        sent_at: at,
        expires_at: at + Duration::minutes(5),
    };
    let entry = |kind, outcome| {
        shared::evidence::Evidence::new(
            &code.caller,
            shared::evidence::Subject::Contact(contact.clone()),
            kind,
            at,
            &Default::default(),
            outcome,
        )
    };
    use shared::evidence::{Kind, Outcome};
    store
        .put_code(&code, &entry(Kind::CodeSent, Outcome::Sent))
        .await
        .unwrap();
    store
        .consume_code(&code, at, &entry(Kind::CodeConfirmed, Outcome::Verified))
        .await
        .unwrap();
}

/// The evidence of a link opened (the store writes it with the verification).
fn opened(token: &shared::model::TokenRecord) -> shared::evidence::Evidence {
    shared::evidence::Evidence::new(
        &token.caller,
        shared::evidence::Subject::Email(token.email.clone()),
        shared::evidence::Kind::LinkOpened,
        Utc::now(),
        &Default::default(),
        shared::evidence::Outcome::Verified,
    )
}

fn describe(caller: &str, params: Value) -> Value {
    let answer = post_json(DESCRIBE, caller, &params);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["Response"].clone()
}

fn codes_of(page: &Value) -> Vec<String> {
    page["PhoneEmailList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Code"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn describe_pages_both_types_newest_first_with_exact_totals() {
    let clock = TestClock::default();
    let app = fast_app(&clock).await;
    let caller = unique("contacts");
    let mut made: Vec<(i64, String, String)> = Vec::new(); // (created ms, type#contact, contact)
    for i in 0..23 {
        let (kind, raw) = if i % 3 == 0 {
            (ContactType::Phone, fresh_phone())
        } else {
            (ContactType::Email, fresh_address().to_lowercase())
        };
        let contact = Contact::parse(kind, &raw).unwrap();
        // Pairs share a creation time: the order then goes by type and contact.
        let at = clock.now();
        verified_contact(&app.store, &caller, &contact, at).await;
        made.push((
            at.timestamp_millis(),
            format!("{}#{}", kind as u8, contact.as_str()),
            contact.as_str().to_string(),
        ));
        if i % 2 == 1 {
            clock.advance(Duration::milliseconds(1500));
        }
    }
    // Verified again: counted once, keeps its first time.
    let again = Contact::parse(ContactType::Email, &made[1].2).unwrap();
    verified_contact(&app.store, &caller, &again, clock.now()).await;
    made.sort_by(|a, b| (b.0, &b.1).cmp(&(a.0, &a.1)));
    let all: Vec<String> = made.iter().map(|m| m.2.clone()).collect();

    let mut walked = Vec::new();
    for offset in (0..23).step_by(5) {
        let page = describe(&caller, json!({"Offset": offset, "Limit": 5}));
        assert_eq!(page["TotalCount"], 23, "{page}");
        walked.extend(codes_of(&page));
    }
    assert_eq!(walked, all);
    let mut by_token = Vec::new();
    let mut page = describe(&caller, json!({"Limit": 4}));
    loop {
        by_token.extend(codes_of(&page));
        match page["NextToken"].as_str() {
            Some(t) => page = describe(&caller, json!({"Limit": 4, "NextToken": t})),
            None => break,
        }
    }
    assert_eq!(by_token, all);
    let phones: Vec<String> = made
        .iter()
        .filter(|m| m.1.starts_with("1#"))
        .map(|m| m.2.clone())
        .collect();
    let phone_page = describe(&caller, json!({"Type": 1, "Limit": 50}));
    assert_eq!(
        (phone_page["TotalCount"].as_u64(), codes_of(&phone_page)),
        (Some(phones.len() as u64), phones)
    );
    assert_eq!(describe(&caller, json!({"Type": 2}))["TotalCount"], 23 - 8);
    let one = describe(&caller, json!({"Code": all[3]}));
    assert_eq!(
        (one["TotalCount"].as_u64(), codes_of(&one)),
        (Some(1), vec![all[3].clone()])
    );
    assert_eq!(
        describe(&caller, json!({"Offset": 23}))["PhoneEmailList"],
        json!([])
    );

    // Deleting keeps the total exact.
    let gone = Contact::parse(
        ContactType::Email,
        &made.iter().find(|m| m.1.starts_with("2#")).unwrap().2,
    )
    .unwrap();
    assert!(app
        .store
        .delete_contact(&caller_id(&caller), &gone, false)
        .await
        .unwrap());
    assert!(!app
        .store
        .delete_contact(&caller_id(&caller), &gone, false)
        .await
        .unwrap());
    assert_eq!(describe(&caller, json!({}))["TotalCount"], 22);
    assert_eq!(counts_of(&caller).await, counted_items_of(&caller).await);
}

#[tokio::test]
async fn records_and_contacts_written_before_the_shards_are_listed_after_the_migration() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let client = dynamo().await;
    let table = env("TABLE_NAME");
    let caller = unique("legacy");
    let now = Utc::now().timestamp_millis();
    let s = |v: &str| A::S(v.to_string());
    let n = |v: i64| A::N(v.to_string());
    // As the version before the shards wrote them: the index key is the caller itself, and no `cs`.
    let mut legacy = Vec::new();
    for i in 0..5i64 {
        let email = fresh_address().to_lowercase();
        let created = now - 10_000 + i;
        let item = [
            ("pk", s(&format!("EMAIL#{caller}#{email}"))),
            ("kind", s("record")),
            ("caller", s(&caller)),
            ("email", s(&email)),
            ("status", n(i64::from(i == 0))),
            ("vno", s(&format!("vno-{i}"))),
            ("created", n(created)),
            ("modified", n(created)),
            ("token_sent", n(created)),
            ("send_ip", s("192.0.2.1")),
            ("current_token", s(&format!("{:064x}", i + 1))),
            ("lang", s("en")),
            ("version", n(1)),
            ("gsi1pk", s(&caller)),
            ("gsi1sk", s(&format!("{created:015}#{email}"))),
        ];
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(
                item.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            ))
            .send()
            .await
            .unwrap();
        legacy.push(email);
    }
    let phone = fresh_phone();
    let contact = [
        ("pk", s(&format!("CONTACT#{caller}#1#{phone}"))),
        ("kind", s("contact")),
        ("caller", s(&caller)),
        ("type", n(1)),
        ("contact", s(&phone)),
        ("created", n(now)),
        ("gsi1pk", s(&format!("CONTACTS#{caller}"))),
        ("gsi1sk", s(&format!("1#{now:015}#{phone}"))),
    ];
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(
            contact
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        ))
        .send()
        .await
        .unwrap();

    // Until the migration they are not in the listing (every other action finds them by their key), and
    // one can still be verified: uncounted, as it was written.
    assert_eq!(list(&caller, json!({}))["TotalItemNum"], 0);
    let store = DynamoStore::new(client.clone(), &table);
    let hash = format!("{:064x}", 2);
    let token = [
        ("pk", s(&format!("TOKEN#{hash}"))),
        ("kind", s("token")),
        ("caller", s(&caller)),
        ("email", s(&legacy[1])),
        ("lang", s("en")),
        ("expires_at", n(now + 3_600_000)),
        ("ttl", n(now / 1000 + 3_600)),
    ];
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(
            token.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ))
        .send()
        .await
        .unwrap();
    let token = store
        .get_token(&shared::model::TokenHash::from_stored(hash))
        .await
        .unwrap()
        .expect("the legacy link");
    assert_eq!(
        store
            .mark_verified(&token, Utc::now(), "192.0.2.9", &opened(&token))
            .await
            .unwrap(),
        shared::store::VerifyOutcome::Verified
    );
    assert_eq!(
        counts_of(&caller).await,
        [0, 0, 0, 0],
        "an uncounted record stays uncounted"
    );
    let first = adapters::dynamo::migrate::migrate_index(&store)
        .await
        .unwrap();
    assert!(
        first.records >= 5 && first.contacts >= 1 && first.skipped == 0,
        "{first:?}"
    );
    let page = list(&caller, json!({"PageSize": 10}));
    assert_eq!(page["TotalItemNum"], 5);
    let mut expected = legacy.clone();
    expected.reverse();
    assert_eq!(emails_of(&page), expected);
    assert_eq!(
        list(&caller, json!({"VerificationStatus": 1}))["TotalItemNum"],
        2
    );
    assert_eq!(describe(&caller, json!({}))["TotalCount"], 1);
    assert_eq!(counts_of(&caller).await, [5, 2, 1, 0]);
    // Again: nothing more to move, nothing counted twice.
    let second = adapters::dynamo::migrate::migrate_index(&store)
        .await
        .unwrap();
    assert_eq!((second.records, second.contacts), (0, 0), "{second:?}");
    assert_eq!(counts_of(&caller).await, [5, 2, 1, 0]);
    // A migrated record is deleted with its count.
    assert!(store
        .delete_record(
            &caller_id(&caller),
            &shared::model::EmailAddress::parse(&legacy[0]).unwrap(),
            false
        )
        .await
        .unwrap());
    assert_eq!(counts_of(&caller).await, counted_items_of(&caller).await);
}
