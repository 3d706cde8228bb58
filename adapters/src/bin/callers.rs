//! Each caller's settings document (docs/API.md, "Caller settings"):
//!
//! ```text
//! callers [--table <TableName>] put --caller <caller> --file <settings.json>   checks the whole document, then stores it
//! callers [--table <TableName>] get --caller <caller>                          prints the stored document
//! callers [--table <TableName>] delete --caller <caller>                       back to the stack's defaults
//! callers [--table <TableName>] preview (--caller <caller> | --file <settings.json>) --kind <Link|Reminder|Code|Sms>
//!         --lang <en|zh> [--out <dir>]                                         renders one mail or text to files
//! ```
//!
//! `put` stores nothing when any part is wrong: it names each wrong field and why, and exits with 1. Against
//! a deployed stack it also asks SES (`GetEmailIdentity`) that `Sender.Address`, or its domain, is a verified
//! identity of the account; against the local stack (an SES endpoint on loopback) any address is taken. The
//! table is `--table` or `TABLE_NAME`; AWS credentials, region and endpoint come from the environment
//! (`make callers` without `--table` uses the local stack's). The functions see a change within 10 s.
//!
//! `preview` renders with sample values (`shared::templates::preview_vars`) the caller's stored template of
//! that kind and language, or the built-in one, or those of a document not yet stored (`--file`), and writes
//! `<dir>/<name>-<Kind>-<lang>.html` and `.txt` (default dir: `preview`).

use std::process::ExitCode;

use std::path::PathBuf;

use adapters::dynamo::DynamoStore;
use shared::model::{CallerId, Lang};
use shared::settings::{CallerSettings, Problem, Sender, TemplateKind};
use shared::store::CallerStore;

const USAGE: &str = "usage: callers [--table <TableName>] put --caller <caller> --file <settings.json> | get --caller <caller> | delete --caller <caller>";

enum Command {
    Put(CallerId, String),
    Get(CallerId),
    Delete(CallerId),
    Preview(Preview),
}

struct Preview {
    /// The stored settings of a caller, or a document's text.
    from: Result<CallerId, String>,
    kind: TemplateKind,
    lang: Lang,
    out: PathBuf,
}

fn parse(args: &[String]) -> Result<(Option<String>, Command), String> {
    let mut table = std::env::var("TABLE_NAME").ok();
    let (mut verb, mut caller, mut file) = (None, None, None);
    let (mut kind, mut lang, mut out) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--table" => table = it.next().cloned(),
            "--caller" => caller = it.next().cloned(),
            "--file" => file = it.next().cloned(),
            "--kind" => kind = it.next().cloned(),
            "--lang" => lang = it.next().cloned(),
            "--out" => out = it.next().cloned(),
            "put" | "get" | "delete" | "preview" if verb.is_none() => verb = Some(a.clone()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    if verb.as_deref() == Some("preview") {
        let kind = kind.ok_or("preview: give --kind Link, Reminder, Code or Sms")?;
        let kind = TemplateKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(&kind))
            .ok_or("--kind: Link, Reminder, Code or Sms")?;
        let lang: Lang = lang
            .ok_or("preview: give --lang en or zh")?
            .parse()
            .map_err(|_| "--lang: en or zh")?;
        let from = match (caller, file) {
            (_, Some(path)) => {
                Err(std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?)
            }
            (Some(raw), None) => Ok(CallerId::parse(&raw).map_err(|e| format!("--caller: {e}"))?),
            (None, None) => {
                return Err("preview: give --caller <caller> or --file <settings.json>".into())
            }
        };
        let out = PathBuf::from(out.unwrap_or_else(|| "preview".into()));
        // A document's preview needs no table.
        let table = table.or_else(|| from.is_err().then(String::new));
        return Ok((
            table,
            Command::Preview(Preview {
                from,
                kind,
                lang,
                out,
            }),
        ));
    }
    let raw = caller.ok_or("give --caller <caller>")?;
    let caller = CallerId::parse(&raw).map_err(|e| format!("--caller: {e}"))?;
    let command = match verb.as_deref() {
        Some("put") => {
            let path = file.ok_or("put: give --file <settings.json>")?;
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            Command::Put(caller, text)
        }
        Some("get") => Command::Get(caller),
        Some("delete") => Command::Delete(caller),
        _ => return Err("give put, get, delete or preview".into()),
    };
    Ok((table, command))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    adapters::cli::run_on_table(
        "callers",
        USAGE,
        parse(&args),
        |store, command| async move {
            let e = |e: shared::error::BackendError| e.to_string();
            match command {
                Command::Put(caller, text) => {
                    // The whole document is checked before anything is written.
                    let settings = CallerSettings::parse(&text).map_err(|p| not_stored(&p))?;
                    let plain = plain_http_webhooks(&settings);
                    if !plain.is_empty() {
                        return Err(not_stored(&plain));
                    }
                    if let Some(sender) = &settings.sender {
                        if let Some(problem) = sender_identity_problem(sender).await {
                            return Err(not_stored(&[problem]));
                        }
                    }
                    store.put_caller_settings(&caller, &text).await.map_err(e)?;
                    Ok(format!(
                        "{caller}: settings stored; the functions use them within 10 s"
                    ))
                }
                Command::Get(caller) => {
                    match store.caller_settings_text(&caller).await.map_err(e)? {
                        Some(text) => Ok(text),
                        None => Err(format!(
                            "{caller} has no settings (the stack's defaults apply)"
                        )),
                    }
                }
                Command::Preview(p) => preview(&store, p).await,
                Command::Delete(caller) => {
                    if store.delete_caller_settings(&caller).await.map_err(e)? {
                        Ok(format!(
                            "{caller}: settings deleted; the stack's defaults apply within 10 s"
                        ))
                    } else {
                        Ok(format!("{caller} had no settings"))
                    }
                }
            }
        },
    )
    .await
}

fn not_stored(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    format!(
        "the settings were not stored; {} problem(s):\n{}",
        problems.len(),
        lines.join("\n")
    )
}

/// Whether SES is the local emulator (an endpoint on loopback): then any sender is taken.
fn local_ses() -> bool {
    std::env::var("AWS_ENDPOINT_URL_SESV2").is_ok_and(|url| {
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        matches!(host, "127.0.0.1" | "localhost" | "[" | "::1") || url.contains("://[::1]")
    })
}

/// Deployed, every webhook is `https://` (the settings take `http://` to a loopback host, for the local
/// stack's receivers, which a deployed function cannot reach anyway).
fn plain_http_webhooks(settings: &CallerSettings) -> Vec<Problem> {
    if local_ses() {
        return Vec::new();
    }
    settings
        .webhooks
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.url.starts_with("https://"))
        .map(|(i, _)| Problem {
            field: format!("Webhooks[{i}].Url"),
            reason: "must be an https:// URL in a deployed stack".into(),
        })
        .collect()
}

/// Deployed: `Sender.Address` must be a verified SES identity of the account, as an address or through its
/// domain. (The functions may send from it only when the stack's `CallerSenderAddresses` also covers it.)
async fn sender_identity_problem(sender: &Sender) -> Option<Problem> {
    if local_ses() {
        eprintln!("callers: local stack: Sender.Address is not checked against SES (any address is taken)");
        return None;
    }
    let problem = |reason: String| Problem {
        field: "Sender.Address".into(),
        reason,
    };
    let aws = match adapters::sdk::sdk_config().await {
        Ok(aws) => aws,
        Err(e) => return Some(problem(format!("could not be checked with SES: {e}"))),
    };
    let ses = aws_sdk_sesv2::Client::new(&aws);
    let address = sender.address.as_str();
    let domain = address.rsplit('@').next().unwrap_or_default();
    let mut errors = Vec::new();
    for identity in [address, domain] {
        match ses
            .get_email_identity()
            .email_identity(identity)
            .send()
            .await
        {
            Ok(found) if found.verified_for_sending_status() => return None,
            Ok(_) => errors.push(format!(
                "{identity} is an SES identity not yet verified for sending"
            )),
            Err(e) => {
                let code = aws_sdk_sesv2::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                match code.as_deref() {
                    Some("NotFoundException") => {
                        errors.push(format!("{identity} is not an SES identity"))
                    }
                    _ => errors.push(format!(
                        "{identity} could not be checked with SES: {}",
                        aws_sdk_sesv2::error::DisplayErrorContext(&e)
                    )),
                }
            }
        }
    }
    Some(problem(format!(
        "is not a verified SES identity of this account and region, nor is its domain ({})",
        errors.join("; ")
    )))
}

async fn preview(store: &DynamoStore, p: Preview) -> Result<String, String> {
    use shared::store::CallerStore;
    let (name, settings) = match &p.from {
        Ok(caller) => {
            let text = store
                .caller_settings_text(caller)
                .await
                .map_err(|e| e.to_string())?;
            let settings = match text {
                Some(text) => Some(CallerSettings::parse(&text).map_err(|problems| {
                    format!(
                        "{caller}'s stored settings do not pass the checks: {}",
                        problems[0]
                    )
                })?),
                None => None,
            };
            (caller.as_str().to_string(), settings)
        }
        Err(text) => (
            "document".to_string(),
            Some(CallerSettings::parse(text).map_err(|p| {
                not_stored(&p).replace("were not stored", "do not pass the checks")
            })?),
        ),
    };
    let sender_name = settings
        .as_ref()
        .and_then(|s| s.sender.as_ref())
        .and_then(|s| s.name.as_deref());
    let vars = shared::templates::preview_vars(p.kind, p.lang, sender_name);
    let (r, used) = shared::templates::render(
        settings.as_ref().and_then(CallerSettings::template_set),
        p.lang,
        p.kind,
        &vars,
    )?;
    std::fs::create_dir_all(&p.out).map_err(|e| format!("{}: {e}", p.out.display()))?;
    let base = p
        .out
        .join(format!("{name}-{}-{}", p.kind.as_str(), p.lang.as_str()));
    let mut written = Vec::new();
    let text_path = base.with_extension("txt");
    let text = if p.kind == TemplateKind::Sms {
        r.text.clone()
    } else {
        format!("Subject: {}\n\n{}", r.subject, r.text)
    };
    std::fs::write(&text_path, text).map_err(|e| format!("{}: {e}", text_path.display()))?;
    written.push(text_path.display().to_string());
    if p.kind != TemplateKind::Sms {
        let html_path = base.with_extension("html");
        std::fs::write(&html_path, &r.html).map_err(|e| format!("{}: {e}", html_path.display()))?;
        written.push(html_path.display().to_string());
    }
    Ok(format!(
        "{} {} ({}, {}): {}",
        p.kind.as_str(),
        p.lang.as_str(),
        used.name,
        used.version,
        written.join(", ")
    ))
}
