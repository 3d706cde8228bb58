//! The callers' key pairs: an AccessKeyId (Alibaba) or SecretId (Tencent), its secret, and the caller it
//! acts for. One JSON document holds them all:
//!
//! ```json
//! [{"AccessKeyId": "local-alice", "AccessKeySecret": "local-alice-secret", "Caller": "alice",
//!   "Status": "Active", "Created": "2026-11-29 12:00:00"}]
//! ```
//!
//! The local stack gives it in `ACCESS_KEYS`; a deployed stack keeps it in the Secrets Manager secret
//! named by `ACCESS_KEYS_SECRET_ARN`, read at cold start and again every `ACCESS_KEYS_REFRESH_SECONDS`
//! (300), and at most every 30 s when an unknown key comes in, so that a pair added or revoked with the
//! `access-keys` command works without a redeploy.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use shared::config::ConfigError;
use shared::model::CallerId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum KeyStatus {
    #[default]
    Active,
    Disabled,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKey {
    pub access_key_id: String,
    pub access_key_secret: String,
    pub caller: String,
    #[serde(default)]
    pub status: KeyStatus,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created: String,
    /// The actions this pair may call (the vendors' names, e.g. `QueryEmailVerification`); absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
}

impl std::fmt::Debug for AccessKey {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("caller", &self.caller)
            .field("status", &self.status)
            .field("actions", &self.actions)
            .finish()
    }
}

/// Every key pair, by AccessKeyId.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRing {
    keys: Vec<AccessKey>,
}

/// What a key id is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Active {
        secret: String,
        caller: CallerId,
        /// The actions the pair may call; `None`: every action.
        actions: Option<Vec<String>>,
    },
    Disabled,
    Unknown,
    /// The pairs could not be read for longer than the bound (`ACCESS_KEYS_MAX_STALE_SECONDS`): a key
    /// revoked meanwhile must not keep working, so none does until a read succeeds.
    Stale,
}

/// A pair's list of actions: at least one, each a name of letters (the vendors' action names). A name that
/// is no action of this service allows nothing (the front door refuses what is not listed).
fn check_actions(list: &[String]) -> Result<(), String> {
    if list.is_empty() {
        return Err(
            "Actions is empty: it would allow nothing (leave it out to allow every action)".into(),
        );
    }
    match list
        .iter()
        .find(|a| a.is_empty() || !a.bytes().all(|b| b.is_ascii_alphabetic()))
    {
        Some(bad) => Err(format!(
            "Actions: {bad:?} is not an action name (letters only, e.g. QueryEmailVerification)"
        )),
        None => Ok(()),
    }
}

impl KeyRing {
    /// Reads the JSON document; every caller must be a valid caller id and every AccessKeyId unique.
    pub fn parse(json: &str) -> Result<Self, String> {
        // serde's message may quote the value it could not take, and a value here may be a secret: only
        // the kind of error and where it is are said.
        let keys: Vec<AccessKey> = serde_json::from_str(json).map_err(|e| {
            format!(
                "the key pairs are not a JSON list of key pairs ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            )
        })?;
        let mut seen = HashMap::new();
        for k in &keys {
            if k.access_key_id.is_empty() || k.access_key_secret.len() < 8 {
                return Err(format!(
                    "key pair {:?}: an empty AccessKeyId or a secret under 8 characters",
                    k.access_key_id
                ));
            }
            CallerId::parse(&k.caller).map_err(|e| {
                format!("key pair {:?}: caller {:?}: {e}", k.access_key_id, k.caller)
            })?;
            if let Some(list) = &k.actions {
                check_actions(list).map_err(|e| format!("key pair {:?}: {e}", k.access_key_id))?;
            }
            if seen.insert(k.access_key_id.clone(), ()).is_some() {
                return Err(format!("AccessKeyId {:?} appears twice", k.access_key_id));
            }
        }
        Ok(Self { keys })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.keys).unwrap_or_else(|_| "[]".into())
    }

    pub fn keys(&self) -> &[AccessKey] {
        &self.keys
    }

    pub fn lookup(&self, key_id: &str) -> Lookup {
        match self.keys.iter().find(|k| k.access_key_id == key_id) {
            None => Lookup::Unknown,
            Some(k) if k.status == KeyStatus::Disabled => Lookup::Disabled,
            Some(k) => match CallerId::parse(&k.caller) {
                Ok(caller) => Lookup::Active {
                    secret: k.access_key_secret.clone(),
                    caller,
                    actions: k.actions.clone(),
                },
                Err(_) => Lookup::Disabled,
            },
        }
    }

    /// Adds a new pair for `caller`, made from the OS random source; returns it (the only time its
    /// secret is shown).
    pub fn create(
        &mut self,
        caller: &str,
        actions: Option<Vec<String>>,
        now: DateTime<Utc>,
    ) -> Result<AccessKey, String> {
        CallerId::parse(caller).map_err(|e| format!("caller {caller:?}: {e}"))?;
        if let Some(list) = &actions {
            check_actions(list)?;
        }
        let id = format!(
            "VK{}",
            random_text(18, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")?
        );
        let secret = random_text(
            40,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )?;
        let key = AccessKey {
            access_key_id: id,
            access_key_secret: secret,
            caller: caller.to_string(),
            status: KeyStatus::Active,
            created: shared::model::format_time(now),
            actions,
        };
        self.keys.push(key.clone());
        Ok(key)
    }

    /// Disables a pair (it stays listed, so that its id is never reused); `false` if there is none.
    pub fn revoke(&mut self, key_id: &str) -> bool {
        match self.keys.iter_mut().find(|k| k.access_key_id == key_id) {
            Some(k) => {
                k.status = KeyStatus::Disabled;
                true
            }
            None => false,
        }
    }
}

/// `len` characters of `alphabet`, from the OS random source (rejection sampling: no bias).
fn random_text(len: usize, alphabet: &[u8]) -> Result<String, String> {
    let limit = 256 - 256 % alphabet.len();
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).map_err(|e| format!("the OS random source failed: {e}"))?;
        for b in buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

type Loading = Pin<Box<dyn Future<Output = Result<KeyRing, String>> + Send>>;
/// Reads the key pairs from where they live.
pub type Loader = Arc<dyn Fn() -> Loading + Send + Sync>;

/// How often the key pairs are read again.
pub const DEFAULT_REFRESH_SECONDS: i64 = 300;
/// An unknown key id makes the pairs be read again, at most this often.
pub const UNKNOWN_KEY_RELOAD_SECONDS: i64 = 30;
/// How long after the last good read the pairs in use stay trusted while reads fail: a revoked key works
/// at most this long into an outage of Secrets Manager (and `DEFAULT_REFRESH_SECONDS` otherwise).
pub const DEFAULT_MAX_STALE_SECONDS: i64 = 900;

/// The key pairs in use, read again as they age.
pub struct Keys {
    loader: Loader,
    refresh: Duration,
    max_stale: Duration,
    /// The pairs, when they were last tried, and when they were last read.
    current: Mutex<(Arc<KeyRing>, DateTime<Utc>, DateTime<Utc>)>,
}

impl Keys {
    /// Reads the pairs once now (a failure is the caller's to report).
    pub async fn load(
        loader: Loader,
        refresh: Duration,
        now: DateTime<Utc>,
    ) -> Result<Self, String> {
        let ring = loader().await?;
        Ok(Self {
            loader,
            refresh,
            max_stale: Duration::seconds(DEFAULT_MAX_STALE_SECONDS).max(refresh),
            current: Mutex::new((Arc::new(ring), now, now)),
        })
    }

    /// How long the pairs stay trusted while reads fail (never below the refresh interval).
    pub fn with_max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale.max(self.refresh);
        self
    }

    /// Fixed pairs that never change (tests, the bench).
    pub fn fixed(ring: KeyRing) -> Self {
        let shared = ring.clone();
        let loader: Loader = Arc::new(move || {
            let ring = shared.clone();
            Box::pin(async move { Ok(ring) })
        });
        Self {
            loader,
            refresh: Duration::days(36500),
            max_stale: Duration::days(36500),
            current: Mutex::new((Arc::new(ring), Utc::now(), Utc::now())),
        }
    }

    /// The pairs as the environment says: `ACCESS_KEYS` (local), else the secret `ACCESS_KEYS_SECRET_ARN`
    /// (deployed), else none (every signed request is refused).
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let refresh = match std::env::var("ACCESS_KEYS_REFRESH_SECONDS") {
            Ok(v) => v.trim().parse::<i64>().map_err(|_| {
                ConfigError::new(format!(
                    "ACCESS_KEYS_REFRESH_SECONDS is not a number: {v:?}"
                ))
            })?,
            Err(_) => DEFAULT_REFRESH_SECONDS,
        };
        let loader: Loader = if let Ok(json) = std::env::var("ACCESS_KEYS") {
            let ring =
                KeyRing::parse(&json).map_err(|e| ConfigError::new(format!("ACCESS_KEYS: {e}")))?;
            Arc::new(move || {
                let ring = ring.clone();
                Box::pin(async move { Ok(ring) })
            })
        } else if let Ok(arn) = std::env::var("ACCESS_KEYS_SECRET_ARN") {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            Arc::new(move || {
                let (client, arn) = (client.clone(), arn.clone());
                Box::pin(async move { read_secret(&client, &arn).await })
            })
        } else {
            tracing::warn!("neither ACCESS_KEYS nor ACCESS_KEYS_SECRET_ARN is set: the front door refuses every request");
            Arc::new(|| Box::pin(async { Ok(KeyRing::default()) }))
        };
        let max_stale = match std::env::var("ACCESS_KEYS_MAX_STALE_SECONDS") {
            Ok(v) => v.trim().parse::<i64>().map_err(|_| {
                ConfigError::new(format!(
                    "ACCESS_KEYS_MAX_STALE_SECONDS is not a number: {v:?}"
                ))
            })?,
            Err(_) => DEFAULT_MAX_STALE_SECONDS,
        };
        Ok(
            Self::load(loader, Duration::seconds(refresh.max(1)), Utc::now())
                .await
                .map_err(|e| ConfigError::new(format!("reading the key pairs: {e}")))?
                .with_max_stale(Duration::seconds(max_stale)),
        )
    }

    /// What `key_id` is now, reading the pairs again first when they are due.
    pub async fn lookup(&self, key_id: &str, now: DateTime<Utc>) -> Lookup {
        let (ring, tried_at, _) = self.snapshot();
        let ring = if now - tried_at >= self.refresh {
            self.reload(now).await
        } else {
            match ring.lookup(key_id) {
                Lookup::Unknown
                    if now - tried_at >= Duration::seconds(UNKNOWN_KEY_RELOAD_SECONDS) =>
                {
                    self.reload(now).await
                }
                _ => ring,
            }
        };
        let (_, _, read_at) = self.snapshot();
        if now - read_at > self.max_stale {
            return Lookup::Stale;
        }
        ring.lookup(key_id)
    }

    fn snapshot(&self) -> (Arc<KeyRing>, DateTime<Utc>, DateTime<Utc>) {
        match self.current.lock() {
            Ok(c) => (Arc::clone(&c.0), c.1, c.2),
            Err(p) => (Arc::clone(&p.get_ref().0), p.get_ref().1, p.get_ref().2),
        }
    }

    /// Reads the pairs again; when that fails, the ones in use stay (and are tried again at the next
    /// refresh), so that an outage of Secrets Manager does not lock every caller out.
    async fn reload(&self, now: DateTime<Utc>) -> Arc<KeyRing> {
        let fresh = (self.loader)().await;
        let mut current = match self.current.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        match fresh {
            Ok(ring) => *current = (Arc::new(ring), now, now),
            Err(e) => {
                tracing::error!(error = %e, "reading the key pairs failed; the ones in use stay until the bound");
                current.1 = now;
            }
        }
        Arc::clone(&current.0)
    }
}

/// The secret's JSON document.
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<KeyRing, String> {
    read_secret_version(client, id).await.map(|(ring, _)| ring)
}

/// The pairs of the secret's current version, and that version's id (for a conditional write).
pub async fn read_secret_version(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<(KeyRing, Option<String>), String> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetSecretValue: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(e)
            )
        })?;
    let ring = KeyRing::parse(out.secret_string().unwrap_or("[]"))?;
    Ok((ring, out.version_id().map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const TWO: &str = r#"[{"AccessKeyId":"local-alice","AccessKeySecret":"local-alice-secret","Caller":"alice"},
        {"AccessKeyId":"local-bob","AccessKeySecret":"local-bob-secret","Caller":"bob","Status":"Disabled"}]"#;

    #[test]
    fn pairs_are_found_disabled_or_unknown() {
        let ring = KeyRing::parse(TWO).unwrap();
        assert_eq!(
            ring.lookup("local-alice"),
            Lookup::Active {
                secret: "local-alice-secret".into(),
                caller: CallerId::parse("alice").unwrap(),
                actions: None,
            }
        );
        assert_eq!(ring.lookup("local-bob"), Lookup::Disabled);
        assert_eq!(ring.lookup("local-carol"), Lookup::Unknown);
        assert_eq!(ring.lookup(""), Lookup::Unknown);
    }

    #[test]
    fn bad_documents_are_refused() {
        for bad in [
            "{}",
            r#"[{"AccessKeyId":"a","AccessKeySecret":"short","Caller":"alice"}]"#,
            r#"[{"AccessKeyId":"a","AccessKeySecret":"long-enough","Caller":"bad#caller"}]"#,
            r#"[{"AccessKeyId":"a","AccessKeySecret":"long-enough","Caller":"x"},{"AccessKeyId":"a","AccessKeySecret":"long-enough","Caller":"y"}]"#,
        ] {
            assert!(KeyRing::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_pair_may_be_limited_to_some_actions() {
        let mut ring = KeyRing::default();
        let reader = ring
            .create(
                "alice",
                Some(vec!["QueryEmailVerification".into()]),
                Utc::now(),
            )
            .unwrap();
        let back = KeyRing::parse(&ring.to_json()).unwrap();
        assert!(matches!(
            back.lookup(&reader.access_key_id),
            Lookup::Active { actions: Some(a), .. } if a == ["QueryEmailVerification"]
        ));
        assert!(ring.to_json().contains("\"Actions\""));
        for bad in [
            vec![],
            vec!["".to_string()],
            vec!["Query Email".to_string()],
        ] {
            let e = ring.create("alice", Some(bad), Utc::now()).unwrap_err();
            assert!(e.contains("Actions"), "{e}");
        }
        let doc = r#"[{"AccessKeyId":"k","AccessKeySecret":"secret-12345","Caller":"alice","Actions":[]}]"#;
        assert!(KeyRing::parse(doc)
            .unwrap_err()
            .contains("Actions is empty"));
    }

    #[test]
    fn created_pairs_are_random_work_at_once_and_revoke() {
        let mut ring = KeyRing::default();
        let a = ring.create("alice", None, Utc::now()).unwrap();
        let b = ring.create("alice", None, Utc::now()).unwrap();
        assert_ne!(a.access_key_id, b.access_key_id);
        assert_ne!(a.access_key_secret, b.access_key_secret);
        assert_eq!(a.access_key_secret.len(), 40);
        assert!(ring.create("not a caller#", None, Utc::now()).is_err());
        let round_trip = KeyRing::parse(&ring.to_json()).unwrap();
        assert!(matches!(
            round_trip.lookup(&a.access_key_id),
            Lookup::Active { .. }
        ));
        assert!(ring.revoke(&a.access_key_id));
        assert!(!ring.revoke("nope"));
        assert_eq!(
            KeyRing::parse(&ring.to_json())
                .unwrap()
                .lookup(&a.access_key_id),
            Lookup::Disabled
        );
        assert!(
            !format!("{a:?}").contains(&a.access_key_secret),
            "Debug must not show the secret"
        );
    }

    /// A loader whose answer the test changes, counting its reads.
    fn changing(doc: Arc<Mutex<Result<String, String>>>, reads: Arc<AtomicUsize>) -> Loader {
        Arc::new(move || {
            let (doc, reads) = (doc.clone(), reads.clone());
            Box::pin(async move {
                reads.fetch_add(1, Ordering::SeqCst);
                let d = doc.lock().unwrap().clone();
                d.and_then(|d| KeyRing::parse(&d))
            })
        })
    }

    #[tokio::test]
    async fn pairs_are_read_again_when_due_and_a_failed_read_keeps_the_old_ones() {
        let doc = Arc::new(Mutex::new(Ok(TWO.to_string())));
        let reads = Arc::new(AtomicUsize::new(0));
        let t0 = Utc::now();
        let keys = Keys::load(
            changing(doc.clone(), reads.clone()),
            Duration::seconds(300),
            t0,
        )
        .await
        .unwrap();
        assert!(matches!(
            keys.lookup("local-alice", t0).await,
            Lookup::Active { .. }
        ));
        assert_eq!(reads.load(Ordering::SeqCst), 1);

        // Alice's pair is revoked in the secret: it still works until the refresh is due...
        *doc.lock().unwrap() = Ok(r#"[{"AccessKeyId":"local-alice","AccessKeySecret":"local-alice-secret","Caller":"alice","Status":"Disabled"}]"#.into());
        assert!(matches!(
            keys.lookup("local-alice", t0 + Duration::seconds(299))
                .await,
            Lookup::Active { .. }
        ));
        // ...and not after.
        assert_eq!(
            keys.lookup("local-alice", t0 + Duration::seconds(300))
                .await,
            Lookup::Disabled
        );
        assert_eq!(reads.load(Ordering::SeqCst), 2);

        // Secrets Manager fails: the pairs in use stay.
        *doc.lock().unwrap() = Err("unavailable".into());
        assert_eq!(
            keys.lookup("local-alice", t0 + Duration::seconds(700))
                .await,
            Lookup::Disabled
        );
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_unknown_key_reads_the_pairs_again_but_not_more_than_every_30_seconds() {
        let doc = Arc::new(Mutex::new(Ok("[]".to_string())));
        let reads = Arc::new(AtomicUsize::new(0));
        let t0 = Utc::now();
        let keys = Keys::load(
            changing(doc.clone(), reads.clone()),
            Duration::seconds(300),
            t0,
        )
        .await
        .unwrap();
        *doc.lock().unwrap() = Ok(TWO.to_string());
        assert_eq!(
            keys.lookup("local-alice", t0 + Duration::seconds(5)).await,
            Lookup::Unknown
        );
        assert_eq!(reads.load(Ordering::SeqCst), 1, "no read within 30 s");
        assert!(matches!(
            keys.lookup("local-alice", t0 + Duration::seconds(31)).await,
            Lookup::Active { .. }
        ));
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        for s in 32..40 {
            assert_eq!(
                keys.lookup("local-nobody", t0 + Duration::seconds(s)).await,
                Lookup::Unknown
            );
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "unknown keys cannot make the pairs be read on every request"
        );
    }

    /// Issue 20: a malformed key document never puts a secret into the logs (serde quotes what it could
    /// not take).
    #[test]
    fn a_malformed_document_is_refused_without_quoting_a_secret() {
        for doc in [
            r#"[{"AccessKeyId":"k1","AccessKeySecret":"s3cr3t-value-1234","Caller":"alice","Status":"s3cr3t-value-1234"}]"#,
            r#"[{"AccessKeyId":"k1","AccessKeySecret":["s3cr3t-value-1234"],"Caller":"alice"}]"#,
            r#"{"AccessKeyId":"k1","AccessKeySecret":"s3cr3t-value-1234"}"#,
            r#"[{"AccessKeyId":"k1","AccessKeySecret":"s3cr3t-value-1234","Caller":"alice""#,
        ] {
            let err = KeyRing::parse(doc).unwrap_err();
            assert!(!err.contains("s3cr3t"), "{err}");
            assert!(err.contains("line 1"), "{err}");
        }
    }

    /// Issue 20: a revoked key keeps working while the pairs cannot be read, but only up to the bound:
    /// past it every key is refused (the door answers ServiceUnavailable) until a read succeeds.
    #[tokio::test]
    async fn while_reads_fail_the_pairs_in_use_are_trusted_only_up_to_the_bound() {
        let doc = Arc::new(Mutex::new(Ok(TWO.to_string())));
        let reads = Arc::new(AtomicUsize::new(0));
        let t0 = Utc::now();
        let keys = Keys::load(
            changing(doc.clone(), reads.clone()),
            Duration::seconds(300),
            t0,
        )
        .await
        .unwrap()
        .with_max_stale(Duration::seconds(900));
        *doc.lock().unwrap() = Err("Secrets Manager is down".into());
        for at in [301, 600, 900] {
            assert!(
                matches!(
                    keys.lookup("local-alice", t0 + Duration::seconds(at)).await,
                    Lookup::Active { .. }
                ),
                "{at} s: the pairs in use stay"
            );
        }
        assert_eq!(
            keys.lookup("local-alice", t0 + Duration::seconds(901))
                .await,
            Lookup::Stale
        );
        assert_eq!(
            keys.lookup("local-bob", t0 + Duration::seconds(1200)).await,
            Lookup::Stale
        );
        *doc.lock().unwrap() = Ok(TWO.to_string());
        assert!(matches!(
            keys.lookup("local-alice", t0 + Duration::seconds(1500))
                .await,
            Lookup::Active { .. }
        ));
        // The bound is never under the refresh interval.
        let short = Keys::load(changing(doc, reads), Duration::seconds(300), t0)
            .await
            .unwrap()
            .with_max_stale(Duration::seconds(10));
        assert!(matches!(
            short
                .lookup("local-alice", t0 + Duration::seconds(299))
                .await,
            Lookup::Active { .. }
        ));
    }
}
