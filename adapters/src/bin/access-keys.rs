//! Manages the signed front door's key pairs, kept in the stack's Secrets Manager secret
//! (output `AccessKeysSecretArn`) or, for trying it out, in a local JSON file.
//!
//! ```text
//! access-keys --secret-id <arn> create <caller> [--actions A,B]
//!                                                     a new pair for <caller>; its secret is printed once;
//!                                                     with --actions it may call only those actions
//! access-keys --secret-id <arn> list                  every pair: id, caller, status, created (no secrets)
//! access-keys --secret-id <arn> revoke <AccessKeyId>  disables the pair (it stays listed)
//! ```
//!
//! `--file <path>` works on a JSON file instead of the secret; `ACCESS_KEYS_SECRET_ID` can stand for
//! `--secret-id`. A running front door sees a change within `AccessKeysRefreshSeconds` (300 s), and an
//! unknown key id makes it look again after 30 s.
//!
//! Each command reads the whole list, changes it and writes it back, on the condition that nobody wrote it
//! in between, so that two commands at once can never undo each other (a revoke lost to a create would
//! re-enable the key):
//! - the secret: the new list is stored as a version labelled `ACCESSKEYS_NEXT`, then made the current one
//!   with `UpdateSecretVersionStage`, which fails if the current version is no longer the one read; the
//!   command then says so and changes nothing (run it again);
//! - the file: the command holds an exclusive lock on `<path>.lock` from its read to its write, so a second
//!   command waits for the first and reads its result.

use std::process::ExitCode;

use adapters::keys::{read_secret_version, KeyRing};

const USAGE: &str = "usage: access-keys (--secret-id <arn> | --file <path>) (create <caller> [--actions Action1,Action2] | list | revoke <AccessKeyId>)";

enum Place {
    Secret(String),
    File(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("access-keys: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), String> {
    let mut place = std::env::var("ACCESS_KEYS_SECRET_ID")
        .ok()
        .map(Place::Secret);
    let mut rest = Vec::new();
    let mut actions: Option<Vec<String>> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--secret-id" => place = Some(Place::Secret(it.next().ok_or(USAGE)?)),
            "--file" => place = Some(Place::File(it.next().ok_or(USAGE)?)),
            "--actions" => {
                let list = it.next().ok_or(USAGE)?;
                actions = Some(list.split(',').map(|a| a.trim().to_string()).collect());
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => rest.push(a),
        }
    }
    let place = place.ok_or(USAGE)?;
    let client = match &place {
        Place::Secret(_) => Some(aws_sdk_secretsmanager::Client::new(
            &aws_config::load_from_env().await,
        )),
        Place::File(_) => None,
    };
    // The file's lock, held until this command has written (released when dropped).
    let _lock = match &place {
        Place::File(path) => Some(lock(path)?),
        Place::Secret(_) => None,
    };
    let mut read_version = None;
    let mut ring = match (&place, &client) {
        (Place::Secret(id), Some(c)) => {
            let (ring, version) = read_secret_version(c, id).await?;
            read_version = version;
            ring
        }
        (Place::File(path), _) => match std::fs::read_to_string(path) {
            Ok(text) => KeyRing::parse(&text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => KeyRing::default(),
            Err(e) => return Err(format!("{path}: {e}")),
        },
        _ => return Err(USAGE.into()),
    };
    match rest
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] => {
            println!(
                "{:<24} {:<10} {:<21} {:<40} ACTIONS",
                "ACCESS KEY ID", "STATUS", "CREATED (UTC)", "CALLER"
            );
            for k in ring.keys() {
                println!(
                    "{:<24} {:<10} {:<21} {:<40} {}",
                    k.access_key_id,
                    format!("{:?}", k.status),
                    k.created,
                    k.caller,
                    k.actions.as_ref().map_or("*".to_string(), |a| a.join(","))
                );
            }
            Ok(())
        }
        ["create", caller] => {
            let key = ring.create(caller, actions, chrono::Utc::now())?;
            save(&place, client.as_ref(), read_version.as_deref(), &ring).await?;
            println!("AccessKeyId:     {}", key.access_key_id);
            println!("AccessKeySecret: {}", key.access_key_secret);
            println!("Caller:          {}", key.caller);
            if let Some(list) = &key.actions {
                println!("Actions:         {}", list.join(","));
            }
            eprintln!("The secret is shown only now. Alibaba SDKs: access_key_id / access_key_secret; Tencent SDKs: SecretId / SecretKey.");
            Ok(())
        }
        ["revoke", id] => {
            if !ring.revoke(id) {
                return Err(format!("no key pair {id:?}"));
            }
            save(&place, client.as_ref(), read_version.as_deref(), &ring).await?;
            println!("revoked {id}");
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}

/// The label of the version a command writes before it becomes the current one.
const NEXT_STAGE: &str = "ACCESSKEYS_NEXT";

async fn save(
    place: &Place,
    client: Option<&aws_sdk_secretsmanager::Client>,
    read_version: Option<&str>,
    ring: &KeyRing,
) -> Result<(), String> {
    use aws_sdk_secretsmanager::error::DisplayErrorContext;
    match (place, client) {
        (Place::Secret(id), Some(c)) => {
            let written = c
                .put_secret_value()
                .secret_id(id)
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .secret_string(ring.to_json())
                .version_stages(NEXT_STAGE)
                .send()
                .await
                .map_err(|e| format!("PutSecretValue: {}", DisplayErrorContext(e)))?;
            let new_version = written
                .version_id()
                .ok_or("PutSecretValue gave no version id")?;
            // Current only if the current version is still the one this command read.
            let mut stage = c
                .update_secret_version_stage()
                .secret_id(id)
                .version_stage("AWSCURRENT")
                .move_to_version_id(new_version);
            if let Some(read) = read_version {
                stage = stage.remove_from_version_id(read);
            }
            stage.send().await.map(|_| ()).map_err(|e| {
                format!(
                    "another command changed the key pairs since this one read them; nothing was changed, run it again ({})",
                    DisplayErrorContext(e)
                )
            })
        }
        (Place::File(path), _) => write_private(path, &ring.to_json()),
        _ => Err(USAGE.into()),
    }
}

/// Takes the exclusive lock of the file's commands (`<path>.lock`), waiting for another command's.
fn lock(path: &str) -> Result<std::fs::File, String> {
    let name = format!("{path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&name)
        .map_err(|e| format!("{name}: {e}"))?;
    file.lock().map_err(|e| format!("{name}: {e}"))?;
    Ok(file)
}

/// Writes the file readable by its owner only: it holds secrets.
fn write_private(path: &str, text: &str) -> Result<(), String> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path).map_err(|e| format!("{path}: {e}"))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("{path}: {e}"))
}
