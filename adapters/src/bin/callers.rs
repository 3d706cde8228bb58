//! Each caller's settings document (docs/API.md, "Caller settings"):
//!
//! ```text
//! callers [--table <TableName>] put --caller <caller> --file <settings.json>   checks the whole document, then stores it
//! callers [--table <TableName>] get --caller <caller>                          prints the stored document
//! callers [--table <TableName>] delete --caller <caller>                       back to the stack's defaults
//! ```
//!
//! `put` stores nothing when any part is wrong: it names each wrong field and why, and exits with 1. The
//! table is `--table` or `TABLE_NAME`; AWS credentials, region and endpoint come from the environment
//! (`make callers` without `--table` uses the local stack's). The functions see a change within 10 s.

use std::process::ExitCode;

use shared::model::CallerId;
use shared::settings::CallerSettings;
use shared::store::CallerStore;

const USAGE: &str = "usage: callers [--table <TableName>] put --caller <caller> --file <settings.json> | get --caller <caller> | delete --caller <caller>";

enum Command {
    Put(CallerId, String),
    Get(CallerId),
    Delete(CallerId),
}

fn parse(args: &[String]) -> Result<(Option<String>, Command), String> {
    let mut table = std::env::var("TABLE_NAME").ok();
    let (mut verb, mut caller, mut file) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--table" => table = it.next().cloned(),
            "--caller" => caller = it.next().cloned(),
            "--file" => file = it.next().cloned(),
            "put" | "get" | "delete" if verb.is_none() => verb = Some(a.clone()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
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
        _ => return Err("give put, get or delete".into()),
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
                    if let Err(problems) = CallerSettings::parse(&text) {
                        let lines: Vec<String> =
                            problems.iter().map(|p| format!("  {p}")).collect();
                        return Err(format!(
                            "the settings were not stored; {} problem(s):\n{}",
                            problems.len(),
                            lines.join("\n")
                        ));
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
