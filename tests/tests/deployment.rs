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

/// Issue 17: the local clock (`.stack/<port>/clock-offset`) is read only where `LOCAL_CLOCK_FILE` is set:
/// no function of a deployed stack may have it, in any form the template could give it.
#[test]
fn the_local_clock_switch_is_not_in_the_template() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    assert!(
        !text.contains(adapters::clock::LOCAL_CLOCK_FILE) && !text.contains("clock-offset"),
        "a deployed stack must never read a clock offset"
    );
    let t = template();
    let mut functions = 0;
    for (_, r) in t["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        functions += 1;
        for vars in [
            &r["Properties"]["Environment"]["Variables"],
            &t["Globals"]["Function"]["Environment"]["Variables"],
        ] {
            assert!(vars.get(adapters::clock::LOCAL_CLOCK_FILE).is_none());
        }
    }
    assert!(
        functions >= 12,
        "every function was looked at ({functions})"
    );
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
    // The deadline sweep serves no API action; it mails reminders.
    all.push((
        "deadline-sweep".to_string(),
        Info {
            name: "DeadlineSweep",
            dynamodb: edge::sweep::DYNAMODB,
            sends_mail: true,
            sends_sms: false,
            uses_code_secret: false,
            ..ALL_NEEDS
        },
    ));
    // The events function and the webhooks function serve no API action: they read the caller's settings.
    for (function, name, dynamodb) in [
        ("events", "Events", adapters::events::DYNAMODB),
        ("webhooks", "Webhooks", adapters::webhooks::DYNAMODB),
    ] {
        all.push((
            function.to_string(),
            Info {
                name,
                dynamodb,
                sends_mail: false,
                sends_sms: false,
                uses_code_secret: false,
                ..ALL_NEEDS
            },
        ));
    }
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
        // The events' calls besides DynamoDB: only the two functions that make them.
        let granted = |action: &str| policies.contains(action);
        assert_eq!(
            (granted("events:PutEvents"), granted("sqs:SendMessage")),
            (name == "events", name == "events"),
            "{name}: the bus and the webhook queue"
        );
        assert_eq!(
            granted("sqs:ChangeMessageVisibility"),
            name == "webhooks",
            "{name}: the webhook queue's visibility"
        );
        if name != "front-door" {
            // The action's own calls, and its door's (the caller's shared request count); the events and
            // webhooks functions have no door.
            let declared: BTreeSet<String> = if ["events", "webhooks"].contains(&name.as_str()) {
                n.dynamodb.to_vec()
            } else {
                api::actions::function_dynamodb(n)
            }
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
    for var in ["DYNAMODB_PORT", "SES_PORT", "LAMBDA_PORT", "MOTO_PORT"] {
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
    assert_eq!(checked, 4);
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

/// `!Ref Name` (a tagged value) → `Name`.
fn ref_name(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_string),
        _ => None,
    }
}

/// The default of the parameter `v` refers to (`!Ref Name`), as a number.
fn default_of(t: &Yaml, v: &Yaml) -> f64 {
    let name = ref_name(v).unwrap_or_else(|| panic!("not a !Ref: {v:?}"));
    t["Parameters"][name.as_str()]["Default"]
        .as_f64()
        .unwrap_or_else(|| panic!("{name} has no numeric default"))
}

/// Issue 20, item 1: the signed front door's routes (`POST /`, `GET /`), where every tenant of the vendors'
/// SDKs comes in, have limits of their own, sized above the per-action routes'; and with the defaults one
/// caller is throttled (CallerRateLimit, across instances; CallerBurstLimit per instance) before any route.
#[test]
fn the_root_routes_have_their_own_limits_and_one_caller_is_throttled_first() {
    let t = template();
    let api = &t["Resources"]["HttpApi"]["Properties"];
    let per_action = &api["DefaultRouteSettings"];
    let caller_rate = t["Parameters"]["CallerRateLimit"]["Default"]
        .as_f64()
        .unwrap();
    let caller_burst = t["Parameters"]["CallerBurstLimit"]["Default"]
        .as_f64()
        .unwrap();
    assert_eq!((caller_rate, caller_burst), (10.0, 20.0));
    let (action_rate, action_burst) = (
        default_of(&t, &per_action["ThrottlingRateLimit"]),
        default_of(&t, &per_action["ThrottlingBurstLimit"]),
    );
    assert_eq!((action_rate, action_burst), (50.0, 100.0));
    assert!(action_rate > caller_rate && action_burst > caller_burst);
    for route in ["POST /", "GET /"] {
        let limits = &api["RouteSettings"][route];
        assert_eq!(
            ref_name(&limits["ThrottlingRateLimit"]).as_deref(),
            Some("FrontDoorRateLimit"),
            "{route}"
        );
        assert_eq!(
            ref_name(&limits["ThrottlingBurstLimit"]).as_deref(),
            Some("FrontDoorBurstLimit"),
            "{route}"
        );
        let (rate, burst) = (
            default_of(&t, &limits["ThrottlingRateLimit"]),
            default_of(&t, &limits["ThrottlingBurstLimit"]),
        );
        assert_eq!((rate, burst), (200.0, 400.0), "{route}");
        assert!(rate > action_rate && burst > action_burst, "{route}");
    }
    let described = serde_yaml::to_string(&t["Parameters"]["CallerRateLimit"]).unwrap();
    assert!(
        described.contains("across all function instances"),
        "{described}"
    );

    // The functions' settings of issue 20, on every function.
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (var, param) in [
        ("CALLER_RATE_LIMIT", "CallerRateLimit"),
        ("CALLER_BURST_LIMIT", "CallerBurstLimit"),
        ("MAIL_PER_DAY_PER_CALLER", "MailPerDayPerCaller"),
        ("TENCENT_READ_REPLAY", "TencentReadReplay"),
    ] {
        assert_eq!(ref_name(&env[var]).as_deref(), Some(param), "{var}");
    }
    let mail = &t["Parameters"]["MailPerDayPerCaller"];
    assert_eq!(
        (mail["Default"].as_u64(), mail["MinValue"].as_u64()),
        (Some(10000), Some(0))
    );
    assert!(mail["Description"].as_str().unwrap().contains("0 = no cap"));
    let replay = &t["Parameters"]["TencentReadReplay"];
    assert_eq!(replay["Default"].as_str(), Some("guard"));
    let allowed: Vec<&str> = replay["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(allowed, ["guard", "skip"]);
}

/// Issue 20, item 2: HTTP APIs publish no 429 metric, so metric filters on the access log count the root
/// routes' 429s, and an alarm that notifies the stack's topic goes off on any that API Gateway itself gave
/// (the routes' shared limit reached). Every field the filters read is in the access log's format.
#[test]
fn the_root_routes_429s_are_counted_from_the_access_log_and_alarmed() {
    let t = template();
    let resources = &t["Resources"];
    let format = resources["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap()
        .to_string();
    let mut throttled_metric = None;
    let mut filters = 0;
    for (_, r) in resources.as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Logs::MetricFilter") {
            continue;
        }
        let p = &r["Properties"];
        if ref_name(&p["LogGroupName"]).as_deref() != Some("HttpApiAccessLogGroup") {
            continue;
        }
        let pattern = p["FilterPattern"].as_str().unwrap();
        if !pattern.contains(r#"$.status = "429""#) {
            continue;
        }
        filters += 1;
        assert!(
            pattern.contains(r#"$.routeKey = "POST /""#)
                && pattern.contains(r#"$.routeKey = "GET /""#),
            "{pattern}"
        );
        // Every `$.field` the pattern (or a dimension) reads is a field of the access log's JSON.
        let dims = serde_yaml::to_string(&p["MetricTransformations"]).unwrap();
        for text in [pattern, dims.as_str()] {
            for field in text.split("$.").skip(1) {
                let name: String = field
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                assert!(
                    format.contains(&format!("\"{name}\":\"$context.")),
                    "the access log has no field {name}: {format}"
                );
            }
        }
        let transform = &p["MetricTransformations"][0];
        assert_eq!(
            transform["MetricNamespace"].as_str(),
            Some(shared::metrics::NAMESPACE)
        );
        if pattern.contains("integrationStatus") {
            throttled_metric = transform["MetricName"].as_str().map(str::to_string);
        }
    }
    assert_eq!(
        filters, 2,
        "all the root routes' 429s, and API Gateway's own"
    );
    let throttled_metric = throttled_metric.expect("a filter of API Gateway's own 429s");
    let alarm = resources
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| {
            r["Type"].as_str() == Some("AWS::CloudWatch::Alarm")
                && r["Properties"]["MetricName"].as_str() == Some(throttled_metric.as_str())
        })
        .expect("an alarm on the root routes' throttled requests");
    let p = &alarm["Properties"];
    assert_eq!(p["Namespace"].as_str(), Some(shared::metrics::NAMESPACE));
    assert_eq!(p["Period"].as_u64(), Some(300));
    assert_eq!(p["Threshold"].as_f64(), Some(0.0));
    assert_eq!(
        p["ComparisonOperator"].as_str(),
        Some("GreaterThanThreshold")
    );
    assert_eq!(
        ref_name(&p["Dimensions"][0]["Value"]).as_deref(),
        Some("HttpApi")
    );
    let notifies = serde_yaml::to_string(&p["AlarmActions"]).unwrap();
    assert!(
        notifies.contains("AlarmTopic") && notifies.contains("AlarmTopicArn"),
        "{notifies}"
    );
    // The front door's log lines carry API Gateway's request id, the access log's requestId.
    assert!(format.contains(r#""requestId":"$context.requestId""#));
    let ops = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
    assert!(ops.contains("apigw_request_id") && ops.contains(&throttled_metric));
}

/// Issue 20, item 3: the optional front (FrontDomainName): CloudFront with AWS WAF before the API, which
/// gets a custom domain of the same name, the viewer's Host forwarded (TC3 and ACS3 sign it), nothing
/// cached; the web ACL the stack makes (us-east-1, none given) has a per-IP rate-based rule.
#[test]
fn the_front_is_optional_keeps_the_signed_host_and_limits_each_ip() {
    let t = template();
    let r = &t["Resources"];
    assert_eq!(
        t["Parameters"]["FrontDomainName"]["Default"].as_str(),
        Some("")
    );
    for (name, condition) in [
        ("FrontApiDomain", "HasFront"),
        ("FrontApiMapping", "HasFront"),
        ("FrontDistribution", "HasFront"),
        ("FrontWebAcl", "CreateWebAcl"),
    ] {
        assert_eq!(r[name]["Condition"].as_str(), Some(condition), "{name}");
    }
    let conditions = serde_yaml::to_string(&t["Conditions"]["CreateWebAcl"]).unwrap();
    for needed in ["HasFront", "InUsEast1", "HasWebAclArn"] {
        assert!(conditions.contains(needed), "{conditions}");
    }
    assert!(serde_yaml::to_string(&t["Conditions"]["InUsEast1"])
        .unwrap()
        .contains("us-east-1"));

    // The same name on both sides: the API's custom domain and the distribution's alias.
    assert_eq!(
        ref_name(&r["FrontApiDomain"]["Properties"]["DomainName"]).as_deref(),
        Some("FrontDomainName")
    );
    let config = &r["FrontDistribution"]["Properties"]["DistributionConfig"];
    assert_eq!(
        ref_name(&config["Aliases"][0]).as_deref(),
        Some("FrontDomainName")
    );
    let origin = serde_yaml::to_string(&config["Origins"][0]["DomainName"]).unwrap();
    assert!(
        origin.contains("FrontApiDomain.RegionalDomainName"),
        "{origin}"
    );
    assert_eq!(
        ref_name(&r["FrontApiMapping"]["Properties"]["ApiId"]).as_deref(),
        Some("HttpApi")
    );
    let behavior = &config["DefaultCacheBehavior"];
    // Managed policies: CachingDisabled; AllViewer (the viewer's Host included), never
    // AllViewerExceptHostHeader (b689b0a8-...), which would send the origin's own name as Host.
    assert_eq!(
        behavior["CachePolicyId"].as_str(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    );
    assert_eq!(
        behavior["OriginRequestPolicyId"].as_str(),
        Some("216adef6-5c7f-47e4-b989-5492eafa07d3")
    );
    let methods: BTreeSet<&str> = behavior["AllowedMethods"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    assert!(methods.contains("POST") && methods.contains("GET") && methods.contains("DELETE"));
    let acl_ref = serde_yaml::to_string(&config["WebACLId"]).unwrap();
    assert!(
        acl_ref.contains("FrontWebAcl.Arn") && acl_ref.contains("WebAclArn"),
        "{acl_ref}"
    );

    let acl = &r["FrontWebAcl"]["Properties"];
    assert_eq!(acl["Scope"].as_str(), Some("CLOUDFRONT"));
    let rate = acl["Rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|rule| !rule["Statement"]["RateBasedStatement"].is_null())
        .expect("a rate-based rule");
    let statement = &rate["Statement"]["RateBasedStatement"];
    assert_eq!(statement["AggregateKeyType"].as_str(), Some("IP"));
    assert_eq!(
        ref_name(&statement["Limit"]).as_deref(),
        Some("WafRateLimitPerIp")
    );
    assert!(!rate["Action"]["Block"].is_null());

    let outputs = &t["Outputs"];
    assert_eq!(
        outputs["FrontDistributionDomainName"]["Condition"].as_str(),
        Some("HasFront")
    );
    let ops = std::fs::read_to_string(root().join("docs/operations.md")).unwrap();
    for named in [
        "REST API",
        "CloudFront",
        "$3.50",
        "$1.00",
        "AllViewerExceptHostHeader",
    ] {
        assert!(
            ops.contains(named),
            "docs/operations.md does not compare the options: {named}"
        );
    }
}

/// Issue 20, item 4: a function may send mail from the sender's identities only (its address identity and
/// its domain identity, and the configuration set), `identity/*` only for the callers' listed From addresses
/// (issue 19); and text from the origination
/// identity when its ARN is known. The front door's hand-written policy holds the generator's statements.
#[test]
fn ses_and_sms_permissions_are_narrowed_to_the_senders_identities() {
    use stack_tests::template::{SEND_EMAIL_STATEMENT, SEND_TEXT_STATEMENT};
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    // Every identity only for the callers' own From addresses (ses:FromAddress), and only when the stack
    // lists some (CallerSenderAddresses); never plainly.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("identity/*"))
    {
        assert!(
            lines[i - 3].trim() == "- HasCallerSenders"
                && lines[i + 3].trim() == "ses:FromAddress: !Ref CallerSenderAddresses",
            "ses:SendEmail is allowed on every identity (line {}): {line}",
            i + 1
        );
    }
    assert_eq!(
        text.matches("ses:FromAddress: !Ref CallerSenderAddresses")
            .count(),
        text.matches("identity/*").count()
    );
    let statement = |s: &str| -> Yaml {
        let list: Yaml = serde_yaml::from_str(s).unwrap();
        list[0].clone()
    };
    let (mail, sms) = (
        statement(SEND_EMAIL_STATEMENT),
        statement(SEND_TEXT_STATEMENT),
    );
    let mail_resources = serde_yaml::to_string(&mail["Resource"]).unwrap();
    assert!(
        mail_resources.contains("identity/${SenderAddress}")
            && mail_resources.contains("identity/${SenderDomain}")
            && mail_resources.contains("configuration-set/${MailConfigurationSet}"),
        "{mail_resources}"
    );
    let sms_resource = serde_yaml::to_string(&sms["Resource"]).unwrap();
    for part in [
        "SmsIdentityIsArn",
        "SmsOriginationIdentity",
        "phone-number/${SmsOriginationIdentity}",
        "pool/${SmsOriginationIdentity}",
    ] {
        assert!(sms_resource.contains(part), "{sms_resource}");
    }

    let t = template();
    let (mut mailers, mut texters) = (0, 0);
    for (name, r) in t["Resources"].as_mapping().unwrap() {
        let statements = &r["Properties"]["Policies"][0]["Statement"];
        for s in statements.as_sequence().into_iter().flatten() {
            match s["Action"].as_str() {
                Some("ses:SendEmail") => {
                    assert_eq!(s, &mail, "{name:?}");
                    mailers += 1;
                }
                Some("sms-voice:SendTextMessage") => {
                    assert_eq!(s, &sms, "{name:?}");
                    texters += 1;
                }
                _ => {}
            }
        }
    }
    // Submit, Resend, Send and the front door send mail; Send and the front door text.
    assert!(mailers >= 2 && texters >= 2, "{mailers} {texters}");
    // The SMS conditions tell an ARN and the two IDs apart by their prefixes.
    let conditions = serde_yaml::to_string(&t["Conditions"]).unwrap();
    for prefix in ["arn", "phone", "pool"] {
        assert!(
            conditions.contains(&format!("- {prefix}\n")),
            "{conditions}"
        );
    }
}

/// Issue 20, item 5: PublicBaseUrl is empty or an https URL without a trailing slash (the links in the mails
/// lead to the link page, which must not be reached in clear text).
#[test]
fn public_base_url_is_https_or_empty() {
    let t = template();
    let param = &t["Parameters"]["PublicBaseUrl"];
    let pattern = regex::Regex::new(param["AllowedPattern"].as_str().unwrap()).unwrap();
    // CloudFormation matches the whole value.
    let allowed = |v: &str| pattern.find(v).is_some_and(|m| m.as_str() == v);
    for good in [
        "",
        "https://verify.example.com",
        "https://verify.example.com/mail",
        "https://api.example.com:8443/a/b",
    ] {
        assert!(allowed(good), "{good:?} is refused");
    }
    for bad in [
        "http://verify.example.com",
        "https://verify.example.com/",
        "https://verify.example.com/mail/",
        "https://",
        "ftp://verify.example.com",
        "https://verify example.com",
        "verify.example.com",
    ] {
        assert!(!allowed(bad), "{bad:?} is allowed");
    }
    assert!(param["ConstraintDescription"]
        .as_str()
        .unwrap()
        .contains("https"));
}
