//! The operator's commands for what stops mail (docs/operations.md, "Bounces and complaints"):
//!
//! ```text
//! mail-stops [--table <TableName>] show --caller <caller>     whether the caller's mail is stopped, since when, why
//! mail-stops [--table <TableName>] resume --caller <caller>   lets a caller stopped by the bounce circuit breaker send again
//! mail-stops [--table <TableName>] clear --email <address>    makes an undeliverable address deliverable again
//! ```
//!
//! The table is `--table` or `TABLE_NAME`; AWS credentials, region and endpoint come from the environment
//! (`make mail-stops` without `--table` uses the local stack's). A resumed caller sends again within 10 s
//! (the functions keep what they read of a caller that long).

use std::process::ExitCode;

use shared::model::{CallerId, EmailAddress};
use shared::store::CallerStore;

const USAGE: &str = "usage: mail-stops [--table <TableName>] show --caller <caller> | resume --caller <caller> | clear --email <address>";

enum Command {
    Show(CallerId),
    Resume(CallerId),
    Clear(EmailAddress),
}

fn parse(args: &[String]) -> Result<(Option<String>, Command), String> {
    let mut table = std::env::var("TABLE_NAME").ok();
    let (mut verb, mut caller, mut email) = (None, None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--table" => table = it.next().cloned(),
            "--caller" => caller = it.next().cloned(),
            "--email" => email = it.next().cloned(),
            "show" | "resume" | "clear" if verb.is_none() => verb = Some(a.clone()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let caller = || {
        let raw = caller.clone().ok_or("give --caller <caller>")?;
        CallerId::parse(&raw).map_err(|e| format!("--caller: {e}"))
    };
    let command = match verb.as_deref() {
        Some("show") => Command::Show(caller()?),
        Some("resume") => Command::Resume(caller()?),
        Some("clear") => {
            let raw = email.ok_or("give --email <address>")?;
            Command::Clear(EmailAddress::parse(&raw).map_err(|e| format!("--email: {e}"))?)
        }
        _ => return Err("give show, resume or clear".into()),
    };
    Ok((table, command))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    adapters::cli::run_on_table("mail-stops", USAGE, parse(&args), |store, command| async move {
        let e = |e: shared::error::BackendError| e.to_string();
        Ok(match command {
            Command::Show(caller) => match store.caller_state(&caller).await.map_err(e)?.mail_stop {
                Some(stop) => format!(
                    "{caller}: mail stopped since {} ({})",
                    shared::model::format_time(stop.at),
                    stop.reason
                ),
                None => format!("{caller}: mail flows"),
            },
            Command::Resume(caller) => {
                let today = shared::spend::sms_day(chrono::Utc::now());
                if store.resume_caller_mail(&caller, &today).await.map_err(e)? {
                    format!("{caller}: mail resumed (within 10 s); today's outcomes start from zero")
                } else {
                    format!("{caller}: mail was not stopped")
                }
            }
            Command::Clear(email) => {
                if store.clear_undeliverable(&email).await.map_err(e)? {
                    format!("{}: deliverable again", email.masked())
                } else {
                    format!("{}: was not undeliverable", email.masked())
                }
            }
        })
    })
    .await
}
