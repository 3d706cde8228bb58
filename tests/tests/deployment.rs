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
        .map(|i| {
            fields
                .iter()
                .map(|f| i[*f].as_str().unwrap_or("?").to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[tokio::test]
async fn the_local_table_is_the_one_the_template_defines() {
    let t = template();
    let props = &t["Resources"]["VerificationTable"]["Properties"];
    let client = stack_tests::dynamo().await;
    let described = client
        .describe_table()
        .table_name(env("TABLE_NAME"))
        .send()
        .await
        .expect("describe");
    let table = described.table().expect("table");

    let local_keys: BTreeSet<String> = table
        .key_schema()
        .iter()
        .map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(
        local_keys,
        set_of(
            props["KeySchema"].as_sequence().unwrap().iter(),
            &["AttributeName", "KeyType"]
        )
    );

    let local_attrs: BTreeSet<String> = table
        .attribute_definitions()
        .iter()
        .map(|a| format!("{} {}", a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    assert_eq!(
        local_attrs,
        set_of(
            props["AttributeDefinitions"].as_sequence().unwrap().iter(),
            &["AttributeName", "AttributeType"]
        )
    );

    let template_indexes = props["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(
        table.global_secondary_indexes().len(),
        template_indexes.len()
    );
    for ti in template_indexes {
        let name = ti["IndexName"].as_str().unwrap();
        let li = table
            .global_secondary_indexes()
            .iter()
            .find(|i| i.index_name() == Some(name))
            .expect("index exists locally");
        let keys: BTreeSet<String> = li
            .key_schema()
            .iter()
            .map(|k| format!("{} {}", k.attribute_name(), k.key_type().as_str()))
            .collect();
        assert_eq!(
            keys,
            set_of(
                ti["KeySchema"].as_sequence().unwrap().iter(),
                &["AttributeName", "KeyType"]
            ),
            "index {name}"
        );
        let projection = li
            .projection()
            .and_then(|p| p.projection_type())
            .map(|p| p.as_str().to_string());
        assert_eq!(
            projection.as_deref(),
            ti["Projection"]["ProjectionType"].as_str(),
            "index {name}"
        );
    }

    let billing = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map(|b| b.as_str().to_string());
    assert_eq!(billing.as_deref(), props["BillingMode"].as_str());

    let ttl = client
        .describe_time_to_live()
        .table_name(env("TABLE_NAME"))
        .send()
        .await
        .expect("ttl");
    let ttl = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(
        ttl.attribute_name(),
        props["TimeToLiveSpecification"]["AttributeName"].as_str()
    );
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
    assert_eq!(
        props["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
    assert_eq!(
        props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn every_function_has_a_template_entry_and_a_sample_event() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let mut in_template = BTreeSet::new();
    for (_, r) in resources {
        if r["Type"].as_str() == Some("AWS::Serverless::Function") {
            let code_uri = r["Properties"]["CodeUri"].as_str().expect("CodeUri");
            assert_eq!(
                r["Metadata"]["BuildMethod"].as_str(),
                Some("rust-cargolambda")
            );
            in_template.insert(code_uri.trim_start_matches("functions/").to_string());
        }
    }
    assert_eq!(in_template, functions_on_disk());
    // `events/<function>.json`, or several named `events/<function>-<what>.json` (the SES events' bounce,
    // complaint and delivery).
    let events: Vec<String> = std::fs::read_dir(root().join("events"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for f in functions_on_disk() {
        assert!(
            events
                .iter()
                .any(|e| e == &format!("{f}.json") || e.starts_with(&format!("{f}-"))),
            "events/{f}.json is missing"
        );
    }
    for kind in ["bounce", "complaint", "delivery"] {
        assert!(
            events.contains(&format!("ses-events-{kind}.json")),
            "events/ses-events-{kind}.json is missing"
        );
    }
}

#[test]
fn the_local_caller_switch_is_not_in_the_template() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(
        !text.contains("LOCAL_CALLER_HEADER"),
        "a deployed stack must never take the caller from a header"
    );
    let t = template();
    // Management routes need IAM; only the link page is public.
    assert_eq!(
        t["Resources"]["HttpApi"]["Properties"]["Auth"]["DefaultAuthorizer"].as_str(),
        Some("AWS_IAM")
    );
    let mut public = Vec::new();
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        for (_, event) in r["Properties"]["Events"].as_mapping().into_iter().flatten() {
            if event["Properties"]["Auth"]["Authorizer"].as_str() == Some("NONE") {
                public.push(
                    event["Properties"]["Path"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
    }
    public.sort();
    // The link page, and the signed front door (it checks the vendors' signatures itself).
    assert_eq!(public, ["/", "/", "/verify-email"]);
    let front = &t["Resources"]["FrontDoorFunction"]["Properties"];
    let methods: BTreeSet<String> = front["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .map(|e| {
            format!(
                "{} {}",
                e["Properties"]["Method"].as_str().unwrap(),
                e["Properties"]["Path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        methods,
        BTreeSet::from(["GET /".to_string(), "POST /".to_string()])
    );
}

/// Issue 9, defect 6: the public link page has a route limit of its own, higher than the API's, so that
/// random-token GETs cannot lock real clicks out through the shared limit; the template says how to put a
/// CDN with a per-IP rule in front of it.
#[test]
fn the_link_page_has_its_own_higher_route_limit() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let page = &api["RouteSettings"]["GET /verify-email"];
    // `!Ref Name` is a tagged value.
    let param = |v: &Yaml| {
        let name = match v {
            Yaml::Tagged(tagged) if tagged.tag == "Ref" => {
                tagged.value.as_str().unwrap_or("?").to_string()
            }
            other => panic!("not a !Ref: {other:?}"),
        };
        t["Parameters"][name.as_str()]["Default"]
            .as_f64()
            .unwrap_or(0.0)
    };
    let (page_rate, api_rate) = (
        param(&page["ThrottlingRateLimit"]),
        param(&api["DefaultRouteSettings"]["ThrottlingRateLimit"]),
    );
    assert!(
        page_rate > api_rate,
        "link page {page_rate}/s, API {api_rate}/s"
    );
    assert!(
        param(&page["ThrottlingBurstLimit"])
            > param(&api["DefaultRouteSettings"]["ThrottlingBurstLimit"])
    );
    let described = serde_yaml::to_string(&t["Parameters"]["PublicBaseUrl"]).unwrap();
    assert!(
        described.contains("CDN") && described.contains("per-IP"),
        "{described}"
    );
}

/// `cargo lambda invoke <function> --data-file events/<function>.json` against the running watch.
fn invoke(event_file: &str, function: &str) -> serde_json::Value {
    let out = std::process::Command::new("cargo")
        .current_dir(root())
        .args([
            "lambda",
            "invoke",
            function,
            "--data-file",
            &format!("events/{event_file}.json"),
        ])
        .args([
            "--invoke-address",
            &env("BIND_HOST"),
            "--invoke-port",
            &env("LAMBDA_PORT"),
            "--output-format",
            "json",
        ])
        .output()
        .expect("cargo lambda invoke runs");
    assert!(
        out.status.success(),
        "{function}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{function}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn every_sample_event_works_with_cargo_lambda_invoke() {
    // Submit first, so that the events that follow find the sample record.
    let submit = invoke("submit-email-verification", "submit-email-verification");
    assert_eq!(submit["statusCode"], 200, "{submit}");
    let body: serde_json::Value = serde_json::from_str(submit["body"].as_str().unwrap()).unwrap();
    let placed = ["SuccessList", "ExistList", "FailList"].iter().any(|l| {
        body[*l].as_array().is_some_and(|a| {
            a.iter()
                .any(|i| i["Email"] == "sample.user+events@example.com")
        })
    });
    assert!(placed, "{body}");
    assert_eq!(body["RequestId"].as_str().map(str::len), Some(36));

    for (event, function, statuses) in [
        (
            "resend-email-verification",
            "resend-email-verification",
            &[200][..],
        ),
        (
            "query-email-verification",
            "query-email-verification",
            &[200],
        ),
        ("list-email-verification", "list-email-verification", &[200]),
        ("verify-email", "verify-email", &[400]),
        ("verify-email-link", "verify-email", &[404]),
        (
            "delete-email-verification",
            "delete-email-verification",
            &[200],
        ),
        (
            "send-intl-phone-email-code",
            "send-intl-phone-email-code",
            &[200],
        ),
        ("create-intl-phone-email", "create-intl-phone-email", &[200]),
        (
            "describe-intl-phone-email-list",
            "describe-intl-phone-email-list",
            &[200],
        ),
        ("delete-intl-phone-email", "delete-intl-phone-email", &[200]),
        // Signed by local-alice in 2025 (ACS3): the signature holds, the clock refuses it.
        ("front-door", "front-door", &[400]),
    ] {
        let out = invoke(event, function);
        let status = out["statusCode"].as_u64().unwrap_or(0) as u16;
        assert!(statuses.contains(&status), "{event}: {out}");
        let body = out["body"].as_str().unwrap_or("");
        if event == "verify-email-link" {
            assert!(body.contains("data-code=\"TokenInvalid\""), "{body}");
        } else if event == "front-door" {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(v["Code"], "InvalidTimeStamp.Expired", "{v}");
        } else {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            // Tencent-style actions wrap their answer in `Response`.
            let id = v["RequestId"]
                .as_str()
                .or_else(|| v["Response"]["RequestId"].as_str());
            assert_eq!(id.map(str::len), Some(36), "{event}: {v}");
        }
    }
}

/// What an action uses (`Action::SENDS_MAIL`...) decides what its function builds at cold start; the
/// template must give it exactly the permissions and settings for that: a function that sends mail and may
/// not, or may and does not, is caught here, not in production. The front door serves every action, so it
/// is held to what they use together, and to every DynamoDB action any of them may take, plus PutItem.
#[test]
fn each_function_may_do_exactly_what_its_action_uses() {
    use api::actions::{Info, ALL, ALL_NEEDS};

    let mut all: Vec<(String, Info)> = ALL
        .iter()
        .map(|info| (info.function_name(), *info))
        .collect();
    all.push(("front-door".to_string(), ALL_NEEDS));
    // The SES events consumer serves no API action; it only records events.
    let consumer = Info {
        name: "SesEvents",
        dynamodb: edge::ses_events::DYNAMODB,
        ..ALL_NEEDS
    };
    all.push((
        "ses-events".to_string(),
        Info {
            sends_mail: false,
            sends_sms: false,
            uses_code_secret: false,
            ..consumer
        },
    ));
    assert_eq!(
        all.iter().map(|(f, _)| f.clone()).collect::<BTreeSet<_>>(),
        functions_on_disk()
    );
    assert!(
        ALL.iter().any(|n| n.sends_mail)
            && ALL.iter().any(|n| n.sends_sms)
            && ALL.iter().any(|n| n.uses_code_secret)
    );
    const { assert!(ALL_NEEDS.sends_mail && ALL_NEEDS.sends_sms && ALL_NEEDS.uses_code_secret) };

    let t = template();
    let function = |name: &str| {
        t["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .find(|r| r["Properties"]["CodeUri"].as_str() == Some(&format!("functions/{name}")))
            .unwrap_or_else(|| panic!("{name} is not in template.yaml"))
            .clone()
    };
    let dynamodb_actions = |f: &Yaml| -> BTreeSet<String> {
        let policies = serde_yaml::to_string(&f["Properties"]["Policies"]).unwrap();
        policies
            .split(|c: char| c.is_whitespace() || c == '-')
            .filter(|w| w.starts_with("dynamodb:"))
            .map(str::to_string)
            .collect()
    };
    for (name, n) in &all {
        let f = function(name);
        let policies = serde_yaml::to_string(&f["Properties"]["Policies"]).unwrap();
        let env = &f["Properties"]["Environment"]["Variables"];
        assert_eq!(
            policies.contains("ses:SendEmail"),
            n.sends_mail,
            "{name}: ses:SendEmail"
        );
        assert_eq!(
            policies.contains("sms-voice:SendTextMessage"),
            n.sends_sms,
            "{name}: sms-voice:SendTextMessage"
        );
        assert_eq!(
            policies.contains("secretsmanager:GetSecretValue"),
            n.uses_code_secret || name == "front-door",
            "{name}: secretsmanager"
        );
        assert_eq!(
            !env["CODE_SECRET_ARN"].is_null(),
            n.uses_code_secret,
            "{name}: CODE_SECRET_ARN"
        );
        assert_eq!(
            !env["ACCESS_KEYS_SECRET_ARN"].is_null(),
            name == "front-door",
            "{name}: ACCESS_KEYS_SECRET_ARN"
        );
        if name != "front-door" {
            // The action's own calls, and its door's (the caller's shared request count).
            let declared: BTreeSet<String> = api::actions::function_dynamodb(n)
                .iter()
                .map(|a| format!("dynamodb:{a}"))
                .collect();
            assert_eq!(
                dynamodb_actions(&f),
                declared,
                "{name}: the template's DynamoDB actions are the ones its code calls"
            );
        }
    }
    let front = function("front-door");
    let front_actions = dynamodb_actions(&front);
    // The actions' together (not the events consumer's), and PutItem: the replay record.
    let mut expected_front = BTreeSet::from(["dynamodb:PutItem".to_string()]);
    expected_front.extend(
        api::actions::DOOR_DYNAMODB
            .iter()
            .map(|a| format!("dynamodb:{a}")),
    );
    for info in ALL {
        expected_front.extend(info.dynamodb.iter().map(|a| format!("dynamodb:{a}")));
    }
    assert_eq!(
        front_actions, expected_front,
        "the front door may do what the actions do together, and PutItem"
    );
    let secrets = serde_yaml::to_string(&front["Properties"]["Policies"]).unwrap();
    assert!(
        secrets.contains("AccessKeysSecret") && secrets.contains("CodeSecret"),
        "{secrets}"
    );
}

/// Issue 9, defect 8: every service of the local stack listens on `BIND_HOST` only (DynamoDB Local used to
/// listen on every interface, with any credentials accepted).
#[test]
fn the_local_stack_listens_on_bind_host_only() {
    let mut checked = 0;
    for var in ["DYNAMODB_PORT", "SES_PORT", "LAMBDA_PORT"] {
        let port: u16 = env(var).parse().unwrap();
        let mut listening = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in std::fs::read_to_string(table)
                .unwrap_or_default()
                .lines()
                .skip(1)
            {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                    continue;
                };
                let (addr, hex_port) = local.rsplit_once(':').unwrap();
                if *state == "0A" && u16::from_str_radix(hex_port, 16).ok() == Some(port) {
                    listening.push(addr.to_string());
                }
            }
        }
        assert!(!listening.is_empty(), "{var} {port}: nothing listens");
        for addr in &listening {
            assert!(
                addr.chars().any(|c| c != '0'),
                "{var} {port} listens on every interface ({addr})"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// Issue 9, defect 8: a second `make run` on the ports of a running stack refuses and says so; it neither
/// stops the running stack nor loses its data.
#[tokio::test]
async fn a_second_stack_on_the_same_ports_refuses_and_leaves_the_first_alone() {
    let marker = stack_tests::unique("still-here");
    let client = stack_tests::dynamo().await;
    client
        .put_item()
        .table_name(env("TABLE_NAME"))
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TEST#{marker}")),
        )
        .send()
        .await
        .expect("the stack answers");
    let out = std::process::Command::new("bash")
        .current_dir(root())
        .args(["local/stack.sh", "run"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("stack.sh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    let kept = client
        .get_item()
        .table_name(env("TABLE_NAME"))
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("TEST#{marker}")),
        )
        .send()
        .await
        .expect("the first stack still answers");
    assert!(kept.item.is_some(), "the first stack's data is still there");
}

/// Issue 11: every function has its Errors and Throttles alarms, notifying the stack's topic, and a line in
/// the dashboard; the other alarms the issue names are there too.
#[test]
fn every_function_has_its_alarms_and_the_operator_alarms_are_there() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let logical = |v: &Yaml| -> Option<String> {
        // `!Ref X` parses as a tagged value.
        match v {
            Yaml::Tagged(tagged) if tagged.tag == "!Ref" => {
                tagged.value.as_str().map(str::to_string)
            }
            _ => None,
        }
    };
    let alarms: Vec<&Yaml> = resources
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .collect();
    let dashboard = serde_yaml::to_string(
        &resources
            .values()
            .find(|r| r["Type"].as_str() == Some("AWS::CloudWatch::Dashboard"))
            .expect("a dashboard")["Properties"],
    )
    .unwrap();
    for (name, r) in resources {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        for metric in ["Errors", "Throttles"] {
            let found = alarms.iter().any(|a| {
                let p = &a["Properties"];
                p["MetricName"].as_str() == Some(metric)
                    && p["Dimensions"].as_sequence().is_some_and(|d| {
                        d.iter()
                            .any(|d| logical(&d["Value"]).as_deref() == Some(name))
                    })
                    && !p["AlarmActions"].is_null()
            });
            assert!(found, "{name} has no {metric} alarm that notifies");
        }
        assert!(
            dashboard.contains(&format!("${{{name}}}")),
            "{name} is not on the dashboard"
        );
    }
    let metrics: BTreeSet<&str> = alarms
        .iter()
        .filter_map(|a| a["Properties"]["MetricName"].as_str())
        .collect();
    for m in [
        "5xx",
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
        "TextMessageMonthlySpend",
        "ApproximateNumberOfMessagesVisible",
    ] {
        assert!(metrics.contains(m), "no alarm on {m}: {metrics:?}");
    }
    assert!(resources
        .values()
        .any(|r| r["Type"].as_str() == Some("AWS::SES::ConfigurationSet")));
}
