//! What ties the code to its deployment: the table `template.yaml` defines is the one the local stack
//! creates, every function has its template entry and sample event, each event works with
//! `cargo lambda invoke`, and the local caller switch cannot reach a deployed stack.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::Value as Yaml;
use stack_tests::env;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Yaml {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

fn functions_on_disk() -> BTreeSet<String> {
    std::fs::read_dir(root().join("functions"))
        .expect("functions/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn set_of<'a>(items: impl Iterator<Item = &'a Yaml>, fields: &[&str]) -> BTreeSet<String> {
    items
        .map(|i| fields.iter().map(|f| i[*f].as_str().unwrap_or("?").to_string()).collect::<Vec<_>>().join(" "))
        .collect()
}

#[tokio::test]
async fn the_local_table_is_the_one_the_template_defines() {
    let t = template();
    let props = &t["Resources"]["VerificationTable"]["Properties"];
    let client = stack_tests::dynamo().await;
    let described = client.describe_table().table_name(env("TABLE_NAME")).send().await.expect("describe");
    let table = described.table().expect("table");

    let local_keys: BTreeSet<String> =
        table.key_schema().iter().map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str())).collect();
    assert_eq!(local_keys, set_of(props["KeySchema"].as_sequence().unwrap().iter(), &["AttributeName", "KeyType"]));

    let local_attrs: BTreeSet<String> = table
        .attribute_definitions()
        .iter()
        .map(|a| format!("{} {}", a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    assert_eq!(local_attrs, set_of(props["AttributeDefinitions"].as_sequence().unwrap().iter(), &["AttributeName", "AttributeType"]));

    let template_indexes = props["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(table.global_secondary_indexes().len(), template_indexes.len());
    for ti in template_indexes {
        let name = ti["IndexName"].as_str().unwrap();
        let li = table.global_secondary_indexes().iter().find(|i| i.index_name() == Some(name)).expect("index exists locally");
        let keys: BTreeSet<String> = li.key_schema().iter().map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str())).collect();
        assert_eq!(keys, set_of(ti["KeySchema"].as_sequence().unwrap().iter(), &["AttributeName", "KeyType"]), "index {name}");
        let projection = li.projection().and_then(|p| p.projection_type()).map(|p| p.as_str().to_string());
        assert_eq!(projection.as_deref(), ti["Projection"]["ProjectionType"].as_str(), "index {name}");
    }

    let billing = table.billing_mode_summary().and_then(|b| b.billing_mode()).map(|b| b.as_str().to_string());
    assert_eq!(billing.as_deref(), props["BillingMode"].as_str());

    let ttl = client.describe_time_to_live().table_name(env("TABLE_NAME")).send().await.expect("ttl");
    let ttl = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(ttl.attribute_name(), props["TimeToLiveSpecification"]["AttributeName"].as_str());
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(props["TimeToLiveSpecification"]["Enabled"].as_bool(), Some(true));
    assert_eq!(props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
}

#[test]
fn every_function_has_a_template_entry_and_a_sample_event() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let mut in_template = BTreeSet::new();
    for (_, r) in resources {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            let code_uri = r["Properties"]["CodeUri"].as_str().expect("CodeUri");
            assert_eq!(r["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
            in_template.insert(code_uri.trim_start_matches("functions/").to_string());
        }
    }
    assert_eq!(in_template, functions_on_disk());
    for f in functions_on_disk() {
        assert!(root().join(format!("events/{f}.json")).exists(), "events/{f}.json is missing");
    }
}

#[test]
fn the_local_caller_switch_is_not_in_the_template() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(!text.contains("LOCAL_CALLER_HEADER"), "a deployed stack must never take the caller from a header");
    let t = template();
    // Management routes need IAM; only the link page is public.
    assert_eq!(t["Resources"]["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"].as_str(), Some("AWS_IAM"));
    let mut public = Vec::new();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        for (_, event) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Properties"]["Auth"]["Authorizer"].as_str() == Some("NONE") {
                public.push(event["Properties"]["Path"].as_str().unwrap_or("").to_string());
            }
        }
    }
    assert_eq!(public, ["/verify-email"]);
}

/// `cargo lambda invoke <function> --data-file events/<function>.json` against the running watch.
fn invoke(event_file: &str, function: &str) -> serde_json::Value {
    let out = std::process::Command::new("cargo")
        .current_dir(root())
        .args(["lambda", "invoke", function, "--data-file", &format!("events/{event_file}.json")])
        .args(["--invoke-address", &env("BIND_HOST"), "--invoke-port", &env("LAMBDA_PORT"), "--output-format", "json"])
        .output()
        .expect("cargo lambda invoke runs");
    assert!(out.status.success(), "{function}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{function}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn every_sample_event_works_with_cargo_lambda_invoke() {
    // Submit first, so that the events that follow find the sample record.
    let submit = invoke("submit-email-verification", "submit-email-verification");
    assert_eq!(submit["statusCode"], 200, "{submit}");
    let body: serde_json::Value = serde_json::from_str(submit["body"].as_str().unwrap()).unwrap();
    let placed = ["SuccessList", "ExistList", "FailList"].iter().any(|l| body[*l].as_array().is_some_and(|a| a.iter().any(|i| i["Email"] == "sample.user+events@example.com")));
    assert!(placed, "{body}");
    assert_eq!(body["RequestId"].as_str().map(str::len), Some(36));

    for (event, function, statuses) in [
        ("resend-email-verification", "resend-email-verification", &[200][..]),
        ("query-email-verification", "query-email-verification", &[200]),
        ("list-email-verification", "list-email-verification", &[200]),
        ("verify-email", "verify-email", &[400]),
        ("verify-email-link", "verify-email", &[404]),
        ("delete-email-verification", "delete-email-verification", &[200]),
        ("send-intl-phone-email-code", "send-intl-phone-email-code", &[200]),
        ("create-intl-phone-email", "create-intl-phone-email", &[200]),
        ("describe-intl-phone-email-list", "describe-intl-phone-email-list", &[200]),
        ("delete-intl-phone-email", "delete-intl-phone-email", &[200]),
    ] {
        let out = invoke(event, function);
        let status = out["statusCode"].as_u64().unwrap_or(0) as u16;
        assert!(statuses.contains(&status), "{event}: {out}");
        let body = out["body"].as_str().unwrap_or("");
        if event == "verify-email-link" {
            assert!(body.contains("data-code=\"TokenInvalid\""), "{body}");
        } else {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            // Tencent-style actions wrap their answer in `Response`.
            let id = v["RequestId"].as_str().or_else(|| v["Response"]["RequestId"].as_str());
            assert_eq!(id.map(str::len), Some(36), "{event}: {v}");
        }
    }
}

/// What an action uses (`Action::SENDS_MAIL`...) decides what its function builds at cold start; the
/// template must give it exactly the permissions and settings for that: a function that sends mail and may
/// not, or may and does not, is caught here, not in production.
#[test]
fn each_function_may_do_exactly_what_its_action_uses() {
    use shared::actions::*;
    use shared::app::Action;

    struct Needs {
        function: String,
        mail: bool,
        sms: bool,
        code_secret: bool,
    }
    fn needs<A: Action>() -> Needs {
        // SubmitEmailVerification -> submit-email-verification
        let mut function = String::new();
        for (i, c) in A::NAME.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                function.push('-');
            }
            function.push(c.to_ascii_lowercase());
        }
        Needs { function, mail: A::SENDS_MAIL, sms: A::SENDS_SMS, code_secret: A::USES_CODE_SECRET }
    }
    let all = [
        needs::<SubmitEmailVerification>(),
        needs::<ResendEmailVerification>(),
        needs::<VerifyEmail>(),
        needs::<QueryEmailVerification>(),
        needs::<ListEmailVerification>(),
        needs::<DeleteEmailVerification>(),
        needs::<SendIntlPhoneEmailCode>(),
        needs::<CreateIntlPhoneEmail>(),
        needs::<DescribeIntlPhoneEmailList>(),
        needs::<DeleteIntlPhoneEmail>(),
    ];
    assert_eq!(all.iter().map(|n| n.function.clone()).collect::<BTreeSet<_>>(), functions_on_disk());
    assert!(all.iter().any(|n| n.mail) && all.iter().any(|n| n.sms) && all.iter().any(|n| n.code_secret));

    let t = template();
    for n in &all {
        let (_, f) = t["Resources"]
            .as_mapping()
            .unwrap()
            .iter()
            .find(|(_, r)| r["Properties"]["CodeUri"].as_str() == Some(&format!("functions/{}", n.function)))
            .unwrap_or_else(|| panic!("{} is not in template.yaml", n.function));
        let policies = serde_yaml::to_string(&f["Properties"]["Policies"]).unwrap();
        let env = &f["Properties"]["Environment"]["Variables"];
        assert_eq!(policies.contains("ses:SendEmail"), n.mail, "{}: ses:SendEmail", n.function);
        assert_eq!(policies.contains("sms-voice:SendTextMessage"), n.sms, "{}: sms-voice:SendTextMessage", n.function);
        assert_eq!(policies.contains("secretsmanager:GetSecretValue"), n.code_secret, "{}: secretsmanager", n.function);
        assert_eq!(!env["CODE_SECRET_ARN"].is_null(), n.code_secret, "{}: CODE_SECRET_ARN", n.function);
    }
}
