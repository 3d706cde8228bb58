//! Black-box tests: HTTP to the functions under `cargo lambda watch`, mail read back from the SES
//! emulator, state read from DynamoDB Local.

use serde_json::{json, Value};
use stack_tests::*;

const SUBMIT: &str = "submit-email-verification";
const RESEND: &str = "resend-email-verification";
const VERIFY: &str = "verify-email";
const QUERY: &str = "query-email-verification";
const LIST: &str = "list-email-verification";
const DELETE: &str = "delete-email-verification";

fn query(caller: &str, email: &str) -> Answer {
    post_json(QUERY, caller, &json!({ "Email": email }))
}

#[test]
fn submit_mail_click_query_end_to_end() {
    let caller = unique("e2e");
    let address = fresh_address();
    let normalised = address.to_lowercase();

    let submitted = post_json(SUBMIT, &caller, &json!({ "Email": address, "Lang": "en" }));
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let body = submitted.json();
    assert_eq!(
        body["SuccessList"],
        json!([{ "Email": normalised, "Code": "Success", "Message": "Success" }])
    );
    let request_id = body["RequestId"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(request_id).is_ok() && request_id == request_id.to_uppercase());

    let pending = query(&caller, &address).json();
    assert_eq!(pending["VerificationStatus"], 0);
    assert_eq!(pending["VerificationTime"], "");
    assert_eq!(pending["ConfirmIp"], "");

    let mails = mails_to(&address);
    assert_eq!(mails.len(), 1, "one mail for one submit");
    let mail = &mails[0];
    assert_eq!(
        mail.to,
        std::slice::from_ref(&normalised),
        "the `+` survives into the mail's recipient"
    );
    assert_eq!(mail.subject, "Verify your email address");
    let link = link_in(mail);
    assert!(
        mail.html
            .replace("&#x2f;", "/")
            .replace("&amp;", "&")
            .contains(&format!("href=\"{link}\"")),
        "the link is in the HTML part too"
    );
    assert_eq!(token_of(&link).len(), 64);

    let page = get_url(&format!("{link}&UserClientIp=198.51.100.66"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        page.body.contains("data-code=\"Success\"")
            && page.body.contains("Your email address is verified.")
    );

    let verified = query(&caller, &address.to_uppercase()).json();
    assert_eq!(verified["VerificationStatus"], 1, "{verified}");
    assert_eq!(verified["Email"], normalised);
    assert_eq!(verified["UserId"], caller);
    assert_ne!(verified["ConfirmIp"], "");
    assert_ne!(
        verified["ConfirmIp"], "198.51.100.66",
        "the link page records the real source, not a parameter"
    );
    assert_ne!(verified["VerificationTime"], "");
    assert_eq!(verified["EmailVerificationNo"].as_str().unwrap().len(), 32);

    // A mail scanner, or the person, opens the link again: success, and nothing changes.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = get_url(&format!("{link}&UserClientIp=198.51.100.9"));
    assert_eq!(again.status, 200);
    let after = query(&caller, &address).json();
    assert_eq!(after["VerificationTime"], verified["VerificationTime"]);
    assert_eq!(after["ConfirmIp"], verified["ConfirmIp"]);
    assert_eq!(after["GmtModified"], verified["GmtModified"]);

    // Submitting a verified address again sends nothing and says so.
    let resubmit = post_json(
        SUBMIT,
        &caller,
        &json!({ "Email": address, "SendIfExist": "true" }),
    )
    .json();
    assert_eq!(resubmit["ExistList"][0]["Code"], "EmailVerified");
    assert_eq!(mails_to(&address).len(), 1);

    // The logs of these invocations carry the RequestId on every line of the request (not only the last),
    // and neither the address nor the token in clear.
    let log = std::fs::read_to_string(env("LAMBDA_LOG")).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains(request_id) && l.contains("verification mail sent")),
        "the RequestId is on the inner log lines"
    );
    assert!(log
        .lines()
        .any(|l| l.contains(request_id) && l.contains("answered")));
    let lowered = log.to_lowercase();
    assert!(
        !lowered.contains(&normalised),
        "an address is in the logs in clear"
    );
    let local_part = normalised.split('@').next().unwrap();
    assert!(
        !lowered.contains(local_part),
        "an address's local part is in the logs"
    );
    assert!(!log.contains(&token_of(&link)), "a token is in the logs");
}

#[test]
fn pending_addresses_go_to_exist_list_and_quota_refuses_quick_resends() {
    let caller = unique("quota");
    let address = fresh_address();
    assert_eq!(
        post_json(SUBMIT, &caller, &json!({ "Email": address })).status,
        200
    );

    let again = post_json(SUBMIT, &caller, &json!({ "Email": address })).json();
    assert_eq!(again["ExistList"][0]["Code"], "EmailVerificationExist");
    assert_eq!(again["SuccessList"], json!([]));

    let resend = post_json(RESEND, &caller, &json!({ "Email": address })).json();
    let fail = &resend["FailList"][0];
    assert_eq!(fail["Code"], "SendTokenQuotaExceeded");
    let retry = fail["RetryAfterSeconds"].as_i64().unwrap();
    assert!((1..=60).contains(&retry), "retry after {retry} s");
    assert_eq!(
        mails_to(&address).len(),
        1,
        "the refused sends sent nothing"
    );
    assert!(
        resend.get("ExistList").is_none(),
        "Resend answers SuccessList and FailList only"
    );
}

#[test]
fn one_caller_cannot_see_resend_verify_or_delete_anothers_records() {
    let (alice, bob) = (unique("alice"), unique("bob"));
    let address = fresh_address();
    assert_eq!(
        post_json(SUBMIT, &alice, &json!({ "Email": address })).status,
        200
    );
    let token = token_of(&link_in(&mails_to(&address)[0]));

    let q = query(&bob, &address);
    assert_eq!(
        (q.status, q.json()["Code"].clone()),
        (404, json!("EmailVerificationNotExist"))
    );
    let list = get_query(LIST, &bob, "").json();
    assert_eq!(list["TotalItemNum"], 0);
    let resend = post_json(RESEND, &bob, &json!({ "Email": address })).json();
    assert_eq!(resend["FailList"][0]["Code"], "EmailVerificationNotExist");
    let verify = post_json(VERIFY, &bob, &json!({ "Token": token }));
    assert_eq!(
        (verify.status, verify.json()["Code"].clone()),
        (400, json!("TokenInvalid"))
    );
    let delete = post_json(DELETE, &bob, &json!({ "Email": address })).json();
    assert_eq!(delete["FailList"][0]["Code"], "EmailVerificationNotExist");

    // Bob's own submit of the same address is his own record, and Alice's is untouched.
    assert_eq!(query(&alice, &address).json()["VerificationStatus"], 0);
    let verify = post_json(VERIFY, &alice, &json!({ "Token": token }));
    assert_eq!(verify.status, 200, "{}", verify.body);
    assert_eq!(query(&alice, &address).json()["VerificationStatus"], 1);
}

#[test]
fn list_filters_and_pages_and_delete_removes_records_and_links() {
    let caller = unique("list");
    let addresses: Vec<String> = (0..3).map(|_| fresh_address()).collect();
    let submitted = post_json(SUBMIT, &caller, &json!({ "Email": addresses.join(",") })).json();
    assert_eq!(submitted["SuccessList"].as_array().unwrap().len(), 3);
    let link = link_in(&mails_to(&addresses[0])[0]);
    assert_eq!(get_url(&link).status, 200);

    let all = get_query(LIST, &caller, "PageSize=2").json();
    assert_eq!(
        (
            all["TotalItemNum"].clone(),
            all["TotalPageNum"].clone(),
            all["NextPage"].clone()
        ),
        (json!(3), json!(2), json!(true))
    );
    assert_eq!(all["Data"].as_array().unwrap().len(), 2);
    let page2 = get_query(LIST, &caller, "PageSize=2&PageNum=2").json();
    assert_eq!(
        (
            page2["Data"].as_array().unwrap().len(),
            page2["PrePage"].clone()
        ),
        (1, json!(true))
    );

    let verified = get_query(LIST, &caller, "VerificationStatus=1").json();
    assert_eq!(verified["TotalItemNum"], 1);
    assert_eq!(verified["Data"][0]["Email"], addresses[0].to_lowercase());
    let by_email = post_json(LIST, &caller, &json!({ "Email": addresses[1] })).json();
    assert_eq!(by_email["TotalItemNum"], 1);
    let future = chrono::Utc::now().timestamp_millis() + 3_600_000;
    let none = get_query(LIST, &caller, &format!("BeginCreateTime={future}")).json();
    assert_eq!(none["TotalItemNum"], 0);

    let deleted = post_json(
        DELETE,
        &caller,
        &json!({ "Email": format!("{},{},nobody@example.com", addresses[0], addresses[1]) }),
    )
    .json();
    assert_eq!(
        deleted["SuccessList"].as_array().unwrap().len(),
        2,
        "{deleted}"
    );
    assert_eq!(deleted["FailList"][0]["Code"], "EmailVerificationNotExist");
    assert_eq!(get_query(LIST, &caller, "").json()["TotalItemNum"], 1);
    // The link of a deleted record no longer works.
    let page = get_url(&link);
    assert_eq!(page.status, 404);
    assert!(page.body.contains("data-code=\"TokenInvalid\""));
}

#[test]
fn xml_and_chinese_answers() {
    let caller = unique("xml");
    let address = fresh_address();
    // Submit takes POST only (a GET is 404, as deployed): the parameters in the query string, no body.
    let a = post_json_with_query(
        SUBMIT,
        &caller,
        &format!("Email={}&Format=XML&Lang=zh", address.replace('+', "%2B")),
        &json!({}),
    );
    assert_eq!(a.status, 200);
    assert!(a.content_type.contains("xml"));
    assert!(a.body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><SubmitEmailVerificationResponse><RequestId>"), "{}", a.body);
    assert!(
        a.body.contains("<SuccessList><SendResult><Email>")
            && a.body.contains("<Message>成功</Message>"),
        "{}",
        a.body
    );
    let mail = &mails_to(&address)[0];
    assert_eq!(mail.subject, "请验证您的邮箱地址");
    assert!(mail.text.contains("请打开下面的链接"));
    // The link page speaks the mail's language.
    let link = link_in(mail);
    let page = get_url(&link);
    assert!(
        page.body.contains("您的邮箱地址已验证成功"),
        "{}",
        page.body
    );
    // A link that no longer works still speaks the mail's language.
    let broken = link.replace(&token_of(&link), &"0".repeat(64));
    let page = get_url(&broken);
    assert_eq!(page.status, 404);
    assert!(page.body.contains("此链接已失效"), "{}", page.body);

    let err = get_query(QUERY, &caller, "Format=XML&Lang=zh");
    assert_eq!(err.status, 400);
    assert!(
        err.body.contains("<Error><RequestId>")
            && err
                .body
                .contains("<Code>ParameterIllegal</Code><Message>缺少必填参数 Email。</Message>"),
        "{}",
        err.body
    );
}

/// Every kind of bad input gets its code and a message in the caller's language, and leaves no trace:
/// no item in the table and no mail.
#[tokio::test]
async fn bad_input_is_refused_and_leaves_nothing_behind() {
    let caller = unique("bad");
    let good = fresh_address();
    let hundred_and_one = (0..101)
        .map(|i| format!("u{i}.{}@example.com", uuid::Uuid::new_v4().simple()))
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        (
            SUBMIT,
            json!({}),
            400,
            "ParameterIllegal",
            "The parameter Email is required.",
        ),
        (
            SUBMIT,
            json!({ "Email": "" }),
            400,
            "ParameterIllegal",
            "The parameter Email is required.",
        ),
        (
            SUBMIT,
            json!({ "Email": " , ", "Lang": "zh" }),
            400,
            "ParameterIllegal",
            "缺少必填参数 Email。",
        ),
        (
            SUBMIT,
            json!({ "Email": hundred_and_one }),
            400,
            "ParameterIllegal",
            "The parameter Email holds more than 100 addresses.",
        ),
        (
            SUBMIT,
            json!({ "Email": good, "Lang": "fr" }),
            400,
            "ParameterIllegal",
            "The parameter Lang is invalid: expected en or zh, or a tag of either such as en-US, zh-CN or zh-Hans. 参数 Lang 的取值无效，应为 en 或 zh，或其语言标签，例如 en-US、zh-CN、zh-Hans。",
        ),
        (
            SUBMIT,
            json!({ "Email": good, "SendIfExist": "maybe" }),
            400,
            "ParameterIllegal",
            "The parameter SendIfExist is invalid: expected true or false.",
        ),
        (
            SUBMIT,
            json!({ "Email": good, "Format": "YAML" }),
            400,
            "ParameterIllegal",
            "The parameter Format is invalid: expected JSON or XML.",
        ),
        (
            RESEND,
            json!({ "Lang": "zh" }),
            400,
            "ParameterIllegal",
            "缺少必填参数 Email。",
        ),
        (
            DELETE,
            json!({}),
            400,
            "ParameterIllegal",
            "The parameter Email is required.",
        ),
        (
            QUERY,
            json!({ "Email": "not-an-address" }),
            400,
            "ParameterIllegal",
            "The parameter Email is invalid: expected one valid email address.",
        ),
        (
            VERIFY,
            json!({}),
            400,
            "ParameterIllegal",
            "The parameter Token is required.",
        ),
        (
            VERIFY,
            json!({ "Token": "abc123" }),
            400,
            "ParameterIllegal",
            "The parameter Token is invalid: expected 64 hexadecimal characters.",
        ),
        (
            VERIFY,
            json!({ "Token": "a".repeat(64), "Lang": "zh" }),
            400,
            "TokenInvalid",
            "验证链接无效，或已被新的链接取代。",
        ),
        (
            LIST,
            json!({ "PageSize": 0 }),
            400,
            "ParameterIllegal",
            "The parameter PageSize is invalid: expected an integer from 1 to 500.",
        ),
        (
            LIST,
            json!({ "PageSize": 501 }),
            400,
            "ParameterIllegal",
            "The parameter PageSize is invalid: expected an integer from 1 to 500.",
        ),
        (
            LIST,
            json!({ "PageNum": 0 }),
            400,
            "ParameterIllegal",
            "The parameter PageNum is invalid: expected an integer of at least 1.",
        ),
        (
            LIST,
            json!({ "VerificationStatus": 2 }),
            400,
            "ParameterIllegal",
            "The parameter VerificationStatus is invalid: expected 0 or 1.",
        ),
        (
            LIST,
            json!({ "BeginCreateTime": "yesterday" }),
            400,
            "ParameterIllegal",
            "The parameter BeginCreateTime is invalid: expected epoch milliseconds.",
        ),
    ];
    for (function, body, status, code, message) in cases {
        let a = post_json(function, &caller, &body);
        let v = a.json();
        assert_eq!(
            (
                a.status,
                v["Code"].as_str().unwrap_or(""),
                v["Message"].as_str().unwrap_or("")
            ),
            (status, code, message),
            "{function} {body}"
        );
        assert!(v["RequestId"].as_str().is_some_and(|id| id.len() == 36));
    }
    let malformed = post_raw(
        SUBMIT,
        &caller,
        "application/json",
        "{\"Email\": \"a@example.com\"",
    );
    assert_eq!(
        (
            malformed.status,
            malformed.json()["Code"].clone(),
            malformed.json()["Message"].clone()
        ),
        (
            400,
            json!("ParameterIllegal"),
            json!("The request body is not valid JSON.")
        )
    );

    // A malformed address among good ones: the good one is served, the bad one fails alone.
    let mixed = post_json(
        SUBMIT,
        &caller,
        &json!({ "Email": format!("{good},not an address") }),
    )
    .json();
    assert_eq!(mixed["SuccessList"][0]["Email"], good.to_lowercase());
    assert_eq!(
        mixed["FailList"],
        json!([{ "Email": "not an address", "Code": "ParameterIllegal", "Message": "The email address is not valid." }])
    );

    // Nothing of the refused requests is in the table or the mailbox: only the mixed call's address.
    let items = items_of(&caller).await;
    let emails: std::collections::BTreeSet<String> = items
        .iter()
        .filter_map(|i| i.get("email").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    assert_eq!(
        emails.into_iter().collect::<Vec<_>>(),
        [good.to_lowercase()]
    );
    // The caller's mail count of the day (MailPerDay) counts the one mail sent.
    let days = items
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("MAILDAY#")))
        .count();
    assert_eq!(days, 1, "one day count");
    let evidence = items
        .iter()
        .filter(|i| i["pk"].as_s().is_ok_and(|pk| pk.starts_with("EVIDENCE#")))
        .count();
    assert_eq!(evidence, 1, "the one mail's evidence");
    assert_eq!(
        items.len(),
        5,
        "one record, one quota item, one link token, one day count, one evidence item"
    );
    assert_eq!(mails_to(&good).len(), 1);
}

#[test]
fn form_bodies_and_query_strings_work_and_the_body_wins() {
    let caller = unique("form");
    let address = fresh_address();
    let encoded = address.replace('+', "%2B").replace('@', "%40");
    let a = post_raw(
        SUBMIT,
        &caller,
        "application/x-www-form-urlencoded",
        &format!("Email={encoded}&Lang=en"),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["SuccessList"][0]["Email"], address.to_lowercase());
    // The Alibaba SDK's shape: every parameter in the query string, booleans as True/False.
    let sdk = post_json_with_query(
        SUBMIT,
        &caller,
        &format!("Email={encoded}&SendIfExist=False"),
        &json!({}),
    )
    .json();
    assert_eq!(sdk["ExistList"][0]["Code"], "EmailVerificationExist");
    // The body's Lang wins over the query string's.
    let q = post_json_with_query(
        QUERY,
        &caller,
        "Lang=en",
        &json!({ "Email": "nobody@example.com", "Lang": "zh" }),
    );
    assert_eq!(q.json()["Message"], "该邮箱的验证记录不存在。");
}
