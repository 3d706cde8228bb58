//! The parts of `template.yaml` that follow from the action table (`api::actions::ALL`): each action's
//! function and log group, every function's Errors and Throttles alarms, and the dashboard's per-function
//! lines. They sit between `# BEGIN GENERATED <part>` and `# END GENERATED <part>` lines; `make template`
//! (`cargo run -p stack-tests --bin gen-template`) rewrites what is between them and leaves the rest of the
//! file, written by hand, as it is. tests/tests/generated.rs fails when the file is not what this writes.
//!
//! Plain text rather than a YAML serializer: the output keeps its comments and its layout, and is the same
//! on every run.

use std::fmt::Write;

use api::actions::{Info, ALL};
use api::routes::Route;

/// Functions that serve no action of the table, written by hand in template.yaml: (logical name, function).
pub const OTHER_FUNCTIONS: [(&str, &str); 5] = [
    ("FrontDoor", "front-door"),
    ("SesEvents", "ses-events"),
    ("DeadlineSweep", "deadline-sweep"),
    ("Events", "events"),
    ("Webhooks", "webhooks"),
];

/// Every function: the table's, then the others.
pub fn all_functions() -> Vec<(String, String)> {
    ALL.iter()
        .map(|i| (i.name.to_string(), i.function_name()))
        .chain(
            OTHER_FUNCTIONS
                .iter()
                .map(|(l, f)| (l.to_string(), f.to_string())),
        )
        .collect()
}

/// The generated parts: (name in the markers, its text).
pub fn parts() -> Vec<(&'static str, String)> {
    vec![
        ("functions", functions()),
        ("alarms", alarms()),
        ("dashboard", dashboard()),
    ]
}

/// `template` with each generated part rewritten; an error when a part's markers are missing.
pub fn generate(template: &str) -> Result<String, String> {
    let mut out = template.to_string();
    for (name, text) in parts() {
        out = replace_part(&out, name, &text)?;
    }
    Ok(out)
}

fn replace_part(template: &str, name: &str, text: &str) -> Result<String, String> {
    let begin = format!("# BEGIN GENERATED {name}:");
    let end = format!("# END GENERATED {name}");
    let lines: Vec<&str> = template.split_inclusive('\n').collect();
    let find = |marker: &str| {
        let found: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with(marker))
            .map(|(i, _)| i)
            .collect();
        match found[..] {
            [i] => Ok(i),
            _ => Err(format!(
                "template.yaml needs exactly one line starting with {marker:?} (found {})",
                found.len()
            )),
        }
    };
    let (b, e) = (find(&begin)?, find(&end)?);
    if e <= b {
        return Err(format!("{end:?} comes before {begin:?}"));
    }
    let mut out = lines[..=b].concat();
    out.push_str(text);
    out.push_str(&lines[e..].concat());
    Ok(out)
}

const NOTIFY: &str = "      AlarmActions:
        - !If [CreateAlarmTopic, !Ref AlarmTopic, !Ref AlarmTopicArn]
      OKActions:
        - !If [CreateAlarmTopic, !Ref AlarmTopic, !Ref AlarmTopicArn]
";

/// `ses:SendEmail` on the sender's identities only: SenderAddress's address identity and its domain identity
/// (SES authorises the send on whichever of them is verified), and the configuration set every mail is sent
/// with; and, when CallerSenderAddresses lists any, the account's identities for those From addresses only
/// (`ses:FromAddress`), for the callers' own `Sender`. Also the front door's (written by hand; tests/tests/deployment.rs holds it to this text).
pub const SEND_EMAIL_STATEMENT: &str = "            - Effect: Allow
              Action: ses:SendEmail
              Resource:
                - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderAddress}
                - !Sub
                  - arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderDomain}
                  - SenderDomain: !Select [1, !Split [\"@\", !Ref SenderAddress]]
                - !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}
            # The callers' own senders (Sender in their settings): only the From addresses that
            # CallerSenderAddresses lists (such as *@registrar.example), on this account's identities.
            - !If
              - HasCallerSenders
              - Effect: Allow
                Action: ses:SendEmail
                Resource: !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*
                Condition:
                  StringLike:
                    ses:FromAddress: !Ref CallerSenderAddresses
              - !Ref AWS::NoValue
";

/// `sms-voice:SendTextMessage` on SmsOriginationIdentity when its ARN is known: given as an ARN, or as a phone
/// number ID or pool ID (whose ARNs follow from the ID). Otherwise (empty: End User Messaging picks the
/// identity at send time; an E.164 number or a bare sender ID: their ARNs carry IDs the stack cannot look
/// up) on every identity of the account. Also the front door's.
pub const SEND_TEXT_STATEMENT: &str = "            - Effect: Allow
              Action: sms-voice:SendTextMessage
              # The origination identity's ARN when it is known (conditions SmsIdentity*); else \"*\", since the
              # identity is then chosen at send time or named by a value whose ARN the stack cannot derive.
              Resource: !If
                - SmsIdentityIsArn
                - !Ref SmsOriginationIdentity
                - !If
                  - SmsIdentityIsPhoneNumberId
                  - !Sub arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}:phone-number/${SmsOriginationIdentity}
                  - !If
                    - SmsIdentityIsPoolId
                    - !Sub arn:${AWS::Partition}:sms-voice:${AWS::Region}:${AWS::AccountId}:pool/${SmsOriginationIdentity}
                    - \"*\"
";

/// Each action's function and its log group.
pub fn functions() -> String {
    let mut out = String::from(
        "  # One function per action of the table, each with exactly what its action declares:
  # - its routes (Action::ROUTES): POST /<Action>, signed, and whatever else it takes;
  # - DynamoDB: the API actions its store calls make (Action::DYNAMODB). A transaction (TransactWriteItems,
  #   TransactGetItems) is authorised by the actions of its parts; Query also on the table's indexes;
  # - ses:SendEmail when it sends mail (SENDS_MAIL). SES v2 SendEmail is authorised on the sending identity
  #   and, for a mail sent with a configuration set, on that configuration set too: SenderAddress's own
  #   identity and its domain's (whichever of the two is verified), and MailConfigurationSet; no other identity;
  # - sms-voice:SendTextMessage when it sends text messages (SENDS_SMS): AWS End User Messaging SMS
  #   (pinpoint-sms-voice-v2), authorised on the origination identity. Narrowed to SmsOriginationIdentity when
  #   that is an ARN, a phone number ID (phone-...) or a pool ID (pool-...); when it is empty (End User Messaging
  #   picks one of the account's identities at send time), an E.164 number or a bare sender ID, the ARN is not
  #   known when the stack is made, so the resource stays \"*\" (conditions SmsIdentity*);
  # - the codes' HMAC key (CodeSecret) when it makes or checks codes (USES_CODE_SECRET), read once at cold start.
  # Each function writes to its own log group (LoggingConfig), created before the function with a retention
  # (LogRetentionDays, 30 days by default), so Lambda never creates a group that keeps logs forever. Logs go
  # with the stack.
",
    );
    for info in ALL.iter() {
        out.push('\n');
        function(&mut out, info);
        out.push('\n');
        log_group(&mut out, info.name, &info.function_name());
    }
    out
}

fn function(out: &mut String, info: &Info) {
    let (name, function) = (info.name, info.function_name());
    let mut description = name.to_string();
    for route in info.routes {
        if let Route::Public(page) = route {
            let _ = write!(
                description,
                ", and {} {} {}",
                page.title,
                page.method.as_str(),
                page.path
            );
        }
    }
    let _ = write!(
        out,
        "  {name}Function:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: {function}
    Properties:
      CodeUri: functions/{function}
      LoggingConfig:
        LogGroup: !Ref {name}LogGroup
      Description: {description}
"
    );
    if info.uses_code_secret || info.sends_sms {
        out.push_str("      Environment:\n        Variables:\n");
        if info.uses_code_secret {
            out.push_str("          CODE_SECRET_ARN: !Ref CodeSecret\n");
        }
        if info.sends_sms {
            out.push_str("          SMS_ORIGINATION_IDENTITY: !Ref SmsOriginationIdentity\n");
        }
    }
    out.push_str("      Events:\n");
    for route in info.routes {
        let (event, method, path, public) = match route {
            Route::Api(m) => (m.event_name(), m.as_str(), format!("/{name}"), false),
            Route::Public(page) => {
                for line in page.why {
                    let _ = writeln!(out, "        # {line}");
                }
                (
                    page.event,
                    page.method.as_str(),
                    page.path.to_string(),
                    true,
                )
            }
        };
        let _ = write!(
            out,
            "        {event}:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: {method}
            Path: {path}
"
        );
        if public {
            out.push_str("            Auth:\n              Authorizer: NONE\n");
        }
    }
    let mut statements = String::new();
    let dynamodb = api::actions::function_dynamodb(info);
    if !dynamodb.is_empty() {
        statements.push_str("            - Effect: Allow\n              Action:\n");
        for action in &dynamodb {
            let _ = writeln!(statements, "                - dynamodb:{action}");
        }
        if info.dynamodb.contains(&"Query") {
            statements.push_str(
                "              Resource:
                - !GetAtt VerificationTable.Arn
                - !Sub ${VerificationTable.Arn}/index/*
",
            );
        } else {
            statements.push_str("              Resource: !GetAtt VerificationTable.Arn\n");
        }
    }
    if info.sends_mail {
        statements.push_str(SEND_EMAIL_STATEMENT);
    }
    if info.sends_sms {
        statements.push_str(SEND_TEXT_STATEMENT);
    }
    if info.uses_code_secret {
        statements.push_str(
            "            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Ref CodeSecret
",
        );
    }
    // A function that needs nothing has no policy of its own (SAM still gives it its logs and X-Ray).
    if !statements.is_empty() {
        out.push_str(
            "      Policies:
        - Version: \"2012-10-17\"
          Statement:
",
        );
        out.push_str(&statements);
    }
}

fn log_group(out: &mut String, name: &str, function: &str) {
    let _ = write!(
        out,
        "  {name}LogGroup:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Properties:
      LogGroupName: !Sub /aws/lambda/${{AWS::StackName}}-{function}
      RetentionInDays: !Ref LogRetentionDays
"
    );
}

/// The Errors and Throttles alarms of each action's function and of the front door (the SES events
/// consumer's, which say what its failures mean, are written by hand).
pub fn alarms() -> String {
    let mut out = String::new();
    let functions = ALL
        .iter()
        .map(|i| (i.name.to_string(), i.function_name()))
        .chain([
            ("FrontDoor".to_string(), "front-door".to_string()),
            ("DeadlineSweep".to_string(), "deadline-sweep".to_string()),
            ("Events".to_string(), "events".to_string()),
            ("Webhooks".to_string(), "webhooks".to_string()),
        ]);
    for (name, function) in functions {
        for (metric, what) in [
            (
                "Errors",
                "invocations that failed (Lambda Errors: a crash, a timeout, an error returned to Lambda; not 4xx/5xx answers), in 5 minutes.",
            ),
            (
                "Throttles",
                "invocations Lambda throttled (concurrency limit), in 5 minutes.",
            ),
        ] {
            let _ = write!(
                out,
                "  {name}{metric}Alarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: \"{function}: {what}\"
      Namespace: AWS/Lambda
      MetricName: {metric}
      Dimensions:
        - Name: FunctionName
          Value: !Ref {name}Function
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
{NOTIFY}"
            );
        }
    }
    out
}

/// The dashboard's three per-function widgets (errors, throttles, duration), one line per function: one
/// item of the `!Join` that makes the dashboard's body.
pub fn dashboard() -> String {
    let functions = all_functions();
    let widget = |x: u32, title: &str, metric: &str, stat: &str, per_line: &str| {
        let lines: Vec<String> = functions
            .iter()
            .map(|(name, function)| {
                format!(
                    "[\"AWS/Lambda\",\"{metric}\",\"FunctionName\",\"${{{name}Function}}\",{{\"label\":\"{function}\"{per_line}}}]"
                )
            })
            .collect();
        format!(
            "            {{\"type\":\"metric\",\"x\":{x},\"y\":10,\"width\":8,\"height\":6,\"properties\":{{\"title\":\"{title}\",\"region\":\"${{AWS::Region}}\",\"metrics\":[{}],\"stat\":\"{stat}\",\"period\":300,\"view\":\"timeSeries\",\"stacked\":false}}}},\n",
            lines.join(",")
        )
    };
    let mut out = String::from("          - !Sub |\n");
    out.push_str(&widget(0, "Errors", "Errors", "Sum", ""));
    out.push_str(&widget(8, "Throttles", "Throttles", "Sum", ""));
    out.push_str(&widget(
        16,
        "Duration p99 (ms)",
        "Duration",
        "p99",
        ",\"stat\":\"p99\"",
    ));
    out
}

/// `template.yaml` at the workspace's root.
pub fn path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}
