//! The evidence log (contract, "Evidence"): every message sent and every answer, kept for
//! `EvidenceRetentionDays` so that a registrar can show ICANN Compliance what it sent and what came back.
//!
//! An entry is written by the store in the same write as the change it records (the reservation of a send,
//! the verification, the code's use or wrong try, the missed deadline): no entry without its change, and no
//! change without its entry. A send's entry is written at its reservation as `Pending` and completed at
//! its commit with the SES message id (`Sent`), or `Uncertain` when the mailer's answer was lost; an undo
//! removes it with the rest of the reservation. An entry still `Pending` when read belongs to a send whose
//! function stopped between the two: the message may have gone.

use chrono::{DateTime, Duration, Utc};

use crate::code::Contact;
use crate::model::{CallerId, EmailAddress};

/// The template parameter's default (`EvidenceRetentionDays`): three years.
pub const DEFAULT_RETENTION_DAYS: u32 = 1095;
/// The longest retention the stack takes (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// Whose evidence: the records of one address (the link actions) or one contact (the code actions), of
/// one caller. Only that caller reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Email(EmailAddress),
    Contact(Contact),
}

impl Subject {
    /// The subject's key among its caller's evidence: `L#<address>` or `C#<type>#<contact>`.
    pub fn key(&self) -> String {
        match self {
            Self::Email(e) => format!("L#{}", e.as_str()),
            Self::Contact(c) => format!("C#{}", c.key()),
        }
    }

    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) | Self::Contact(Contact::Email(_)) => Channel::Email,
            Self::Contact(Contact::Phone(_)) => Channel::Sms,
        }
    }

    pub fn destination(&self) -> &str {
        match self {
            Self::Email(e) => e.as_str(),
            Self::Contact(c) => c.as_str(),
        }
    }
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The first link mail of a record (Submit).
    Sent,
    /// A new link mail for an existing record (Resend, or Submit with `SendIfExist`).
    Resent,
    /// A deadline reminder (the sweep).
    Reminded,
    /// A reminder due but not sent: the address is undeliverable, or the caller's mail is stopped.
    ReminderSkipped,
    /// A code by text or mail.
    CodeSent,
    /// The link opened on the public page verified the address.
    LinkOpened,
    /// `VerifyEmail` through the API verified the address.
    Verified,
    /// A code typed right.
    CodeConfirmed,
    /// A code typed wrong.
    CodeRefused,
    /// The deadline passed with the record pending.
    DeadlineMissed,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Self::Sent,
        Self::Resent,
        Self::Reminded,
        Self::ReminderSkipped,
        Self::CodeSent,
        Self::LinkOpened,
        Self::Verified,
        Self::CodeConfirmed,
        Self::CodeRefused,
        Self::DeadlineMissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "Sent",
            Self::Resent => "Resent",
            Self::Reminded => "Reminded",
            Self::ReminderSkipped => "ReminderSkipped",
            Self::CodeSent => "CodeSent",
            Self::LinkOpened => "LinkOpened",
            Self::Verified => "Verified",
            Self::CodeConfirmed => "CodeConfirmed",
            Self::CodeRefused => "CodeRefused",
            Self::DeadlineMissed => "DeadlineMissed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A message that goes out (and so has a template and, by mail, an SES message id).
    pub fn is_message(self) -> bool {
        matches!(
            self,
            Self::Sent | Self::Resent | Self::Reminded | Self::CodeSent
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Email, Self::Sms]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A message being handed over (the function stopped before it knew, when read later).
    Pending,
    /// Handed over (to SES, or the text sender).
    Sent,
    /// The mailer's answer was lost: it may have gone.
    Uncertain,
    /// An answer verified the record or the contact.
    Verified,
    /// An answer verified a record after its deadline had passed.
    VerifiedLate,
    /// A wrong code; the code still works for the tries left.
    WrongCode,
    /// A wrong code, the last try: the code stopped working.
    Locked,
    /// Not sent: the address is undeliverable.
    Undeliverable,
    /// Not sent: the caller's mail is stopped.
    MailSuspended,
    /// The deadline passed.
    Missed,
}

impl Outcome {
    pub const ALL: [Outcome; 10] = [
        Self::Pending,
        Self::Sent,
        Self::Uncertain,
        Self::Verified,
        Self::VerifiedLate,
        Self::WrongCode,
        Self::Locked,
        Self::Undeliverable,
        Self::MailSuspended,
        Self::Missed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Sent => "Sent",
            Self::Uncertain => "Uncertain",
            Self::Verified => "Verified",
            Self::VerifiedLate => "VerifiedLate",
            Self::WrongCode => "WrongCode",
            Self::Locked => "Locked",
            Self::Undeliverable => "Undeliverable",
            Self::MailSuspended => "MailSuspended",
            Self::Missed => "Missed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Unique within the subject, and in time order: `<ms, 13 digits><8 hex digits>`.
    pub id: String,
    pub at: DateTime<Utc>,
    pub kind: Kind,
    pub channel: Channel,
    /// The address or the number.
    pub destination: String,
    /// `link.en`, `reminder.zh`, `code.en`, `sms.en`; empty for an answer.
    pub template: String,
    pub template_version: String,
    /// SES's id of the mail, once handed over.
    pub message_id: Option<String>,
    /// The request's source: the API caller's (`UserClientIp`) for a send, the person's for an answer.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: Outcome,
}

/// An entry of one caller's subject: what a store writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub caller: CallerId,
    pub subject: Subject,
    pub entry: Entry,
    /// Kept at least until then ([`Retention`] after the entry).
    pub keep_until: DateTime<Utc>,
}

/// The longest User-Agent kept (a header can be kilobytes; the start says what it is).
const MAX_USER_AGENT: usize = 256;

/// Where a request came from, as evidence keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Source {
    pub fn new(ip: &str, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        Self {
            ip: (!ip.is_empty()).then(|| ip.to_string()),
            user_agent,
        }
    }
}

impl Evidence {
    /// A new entry at `at`, with a fresh id. `template` is the built-in template's name (a message's).
    pub fn new(
        caller: &CallerId,
        subject: Subject,
        kind: Kind,
        at: DateTime<Utc>,
        source: &Source,
        outcome: Outcome,
    ) -> Self {
        let mut salt = [0u8; 4];
        // The id's randomness only separates entries of one millisecond; the OS source failing leaves it
        // zero, which the millisecond and the kind still separate in practice.
        let _ = getrandom::fill(&mut salt);
        let id = format!(
            "{:013}{:08x}",
            at.timestamp_millis().max(0),
            u32::from_be_bytes(salt)
        );
        let entry = Entry {
            id,
            at,
            kind,
            channel: subject.channel(),
            destination: subject.destination().to_string(),
            template: String::new(),
            template_version: String::new(),
            message_id: None,
            ip: source.ip.clone(),
            user_agent: source.user_agent.clone(),
            outcome,
        };
        Self {
            caller: caller.clone(),
            subject,
            entry,
            keep_until: at + Retention::default().duration(),
        }
    }

    /// Kept for `retention` after the entry.
    pub fn kept_for(mut self, retention: Retention) -> Self {
        self.keep_until = self.entry.at + retention.duration();
        self
    }

    /// A message's entry names its template (`link.en`, `reminder.zh`, `code.en`, `sms.en`) and version
    /// (`builtin-2`, or `caller-` and a hash of the caller's template).
    pub fn with_template(mut self, used: &crate::templates::TemplateUsed) -> Self {
        self.entry.template = used.name.clone();
        self.entry.template_version = used.version.clone();
        self
    }

    /// The entry as its send ended: handed over with SES's id, or uncertain.
    pub fn handed(&self, handed: &Handed) -> Self {
        let mut done = self.clone();
        match handed {
            Handed::Sent(id) => {
                done.entry.outcome = Outcome::Sent;
                done.entry.message_id = id.clone();
            }
            Handed::Uncertain => done.entry.outcome = Outcome::Uncertain,
        }
        done
    }
}

/// What became of a message handed over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handed {
    /// Taken, with the provider's message id when it gives one.
    Sent(Option<String>),
    /// The provider's answer was lost: it may have gone.
    Uncertain,
}

/// How long entries are kept (`EvidenceRetentionDays`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: DEFAULT_RETENTION_DAYS,
        }
    }
}

impl Retention {
    /// `None` outside 1 to [`MAX_RETENTION_DAYS`].
    pub fn days(days: u32) -> Option<Self> {
        (1..=MAX_RETENTION_DAYS)
            .contains(&days)
            .then_some(Self { days })
    }

    pub fn as_days(self) -> u32 {
        self.days
    }

    pub fn duration(self) -> Duration {
        Duration::days(i64::from(self.days))
    }

    /// Whether an entry of `at` is still kept at `now` (a store's TTL may remove it later than that).
    pub fn keeps(self, at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        at > now - self.duration()
    }
}

/// Entries in the order they happened (their ids begin with their time).
pub fn in_order(mut entries: Vec<Entry>) -> Vec<Entry> {
    entries.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> CallerId {
        CallerId::parse("alice").unwrap()
    }

    #[test]
    fn names_round_trip_and_ids_follow_time() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        let subject = Subject::Email(EmailAddress::parse("a@example.com").unwrap());
        let t0 = Utc::now();
        let source = Source::new("198.51.100.7", Some("curl/8\u{7}"));
        let a = Evidence::new(
            &caller(),
            subject.clone(),
            Kind::Sent,
            t0,
            &source,
            Outcome::Pending,
        )
        .with_template(&crate::templates::TemplateUsed {
            name: "link.zh".into(),
            version: crate::templates::BUILTIN_VERSION.into(),
        });
        let b = Evidence::new(
            &caller(),
            subject,
            Kind::LinkOpened,
            t0 + Duration::milliseconds(1),
            &source,
            Outcome::Verified,
        );
        assert!(a.entry.id < b.entry.id);
        assert_eq!(a.entry.id.len(), 21);
        assert_eq!(a.entry.template, "link.zh");
        assert_eq!(
            a.entry.user_agent.as_deref(),
            Some("curl/8"),
            "controls dropped"
        );
        let done = a.handed(&Handed::Sent(Some("m-1".into())));
        assert_eq!(
            (done.entry.outcome, done.entry.message_id.as_deref()),
            (Outcome::Sent, Some("m-1"))
        );
        assert_eq!(
            a.handed(&Handed::Uncertain).entry.outcome,
            Outcome::Uncertain
        );
        let order = in_order(vec![b.entry.clone(), a.entry.clone()]);
        assert_eq!(order[0].kind, Kind::Sent);
    }

    #[test]
    fn subjects_key_by_family_and_retention_is_bounded() {
        let email = EmailAddress::parse("a@example.com").unwrap();
        assert_eq!(Subject::Email(email.clone()).key(), "L#a@example.com");
        assert_eq!(
            Subject::Contact(Contact::Email(email)).key(),
            "C#2#a@example.com"
        );
        assert_eq!(Retention::days(0), None);
        assert_eq!(Retention::days(MAX_RETENTION_DAYS + 1), None);
        let r = Retention::days(2).unwrap();
        let now = Utc::now();
        assert!(r.keeps(now - Duration::days(1), now));
        assert!(!r.keeps(now - Duration::days(2), now));
        let long = "x".repeat(10_000);
        assert_eq!(
            Source::new("", Some(&long)).user_agent.unwrap().len(),
            MAX_USER_AGENT
        );
        assert_eq!(Source::new("", Some("  ")), Source::default());
    }
}
