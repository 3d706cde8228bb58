//! Issue 17, domains: Submit and Resend take `Domains` (IDNA-checked, at most 100); they are stored on the
//! record, listed in the mail, and returned by Query and List; a wrong one refuses the whole call, in the
//! caller's language, with nothing written or sent.

use serde_json::{json, Value};
use stack_tests::*;

const SUBMIT: &str = "submit-email-verification";

#[tokio::test]
async fn domains_are_stored_listed_in_the_mail_and_returned() {
    let caller = unique("domains");
    let address = fresh_address().to_lowercase();
    let sent = post_json(
        SUBMIT,
        &caller,
        &json!({"Email": address, "Domains": "Example.COM, bücher.example, example.com,, 例子.中国"}),
    )
    .json();
    assert_eq!(sent["SuccessList"][0]["Email"], address, "{sent}");
    let mail = &mails_to(&address)[0];
    for part in [&mail.text, &mail.html] {
        assert!(part.contains("contact of these domain names"), "{part}");
        assert!(
            part.contains("example.com")
                && part.contains("bücher.example")
                && part.contains("例子.中国"),
            "{part}"
        );
    }
    let stored = json!([
        "example.com",
        "xn--bcher-kva.example",
        "xn--fsqu00a.xn--fiqs8s"
    ]);
    let query = post_json(
        "query-email-verification",
        &caller,
        &json!({"Email": address}),
    )
    .json();
    assert_eq!(query["Domains"], stored, "{query}");
    let list = post_json("list-email-verification", &caller, &json!({})).json();
    assert_eq!(list["Data"][0]["Domains"], stored, "{list}");
    // In XML too, one element per name.
    let xml = post_json_with_query(
        "query-email-verification",
        &caller,
        "Format=XML",
        &json!({"Email": address}),
    );
    assert!(
        xml.body.contains("<Domains>example.com</Domains>")
            || xml.body.contains("<Domain>example.com</Domain>"),
        "{}",
        xml.body
    );
    // A JSON array works as the comma list does.
    let other = fresh_address().to_lowercase();
    let sent = post_json(
        SUBMIT,
        &caller,
        &json!({"Email": other, "Domains": ["a.example", "b.example"]}),
    )
    .json();
    assert_eq!(sent["SuccessList"][0]["Email"], other, "{sent}");
    let q = post_json(
        "query-email-verification",
        &caller,
        &json!({"Email": other}),
    )
    .json();
    assert_eq!(q["Domains"], json!(["a.example", "b.example"]), "{q}");
    // Without Domains, a record has none and the answer has no such field (the vendors' shape).
    let plain = fresh_address().to_lowercase();
    post_json(SUBMIT, &caller, &json!({"Email": plain}));
    let q = post_json(
        "query-email-verification",
        &caller,
        &json!({"Email": plain}),
    )
    .json();
    assert!(q.get("Domains").is_none(), "{q}");
}

#[tokio::test]
async fn a_wrong_domain_refuses_the_whole_call_in_the_callers_language() {
    let caller = unique("domains-bad");
    let address = fresh_address().to_lowercase();
    for (domains, lang, expected) in [
        (
            json!("good.example, not a domain"),
            "en",
            "The parameter Domains is invalid: expected domain names such as example.com",
        ),
        (
            json!("under_score.example"),
            "zh",
            "参数 Domains 的取值无效",
        ),
        (
            Value::String(
                (0..101)
                    .map(|i| format!("d{i}.example"))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            "en",
            "at most 100 domain names",
        ),
    ] {
        let answer = post_json(
            SUBMIT,
            &caller,
            &json!({"Email": address, "Domains": domains, "Lang": lang}),
        );
        assert_eq!(answer.status, 400, "{}", answer.body);
        let body = answer.json();
        assert_eq!(body["Code"], "ParameterIllegal", "{body}");
        assert!(
            body["Message"].as_str().unwrap().contains(expected),
            "{body}"
        );
        let resend = post_json(
            "resend-email-verification",
            &caller,
            &json!({"Email": address, "Domains": domains, "Lang": lang}),
        );
        assert_eq!(resend.json()["Code"], "ParameterIllegal");
    }
    assert!(items_of(&caller).await.is_empty(), "nothing written");
    assert!(mails_to(&address).is_empty(), "nothing sent");
}
