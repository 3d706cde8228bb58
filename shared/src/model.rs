//! Domain types. Each one is parsed once at the edge, so an invalid address, token, caller or status
//! cannot exist inside the service ("parse, don't validate").

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// An e-mail address, trimmed and lower-cased: two spellings of one mailbox are one record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

/// Why an address was refused (the API answers `ParameterIllegal`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid e-mail address")]
pub struct InvalidEmail;

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    /// Normalises, then validates what it will store, so that a stored address always parses back to
    /// itself: NFC, then a local part of ASCII only (SES cannot send to others), lower-cased; the domain
    /// IDNA-encoded (UTS #46, strict: `bücher.example` becomes `xn--bcher-kva.example`); the whole checked
    /// as a plain `local@domain.tld` of at most 254 characters.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let nfc = icu_normalizer::ComposingNormalizerBorrowed::new_nfc().normalize(raw.trim());
        let (local, domain) = nfc.rsplit_once('@').ok_or(InvalidEmail)?;
        if local.is_empty() || !local.is_ascii() || domain.is_empty() {
            return Err(InvalidEmail);
        }
        let domain = idna::domain_to_ascii_strict(domain).map_err(|_| InvalidEmail)?;
        let normalised = format!("{}@{domain}", local.to_ascii_lowercase());
        if normalised.len() > Self::MAX_LEN {
            return Err(InvalidEmail);
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed = email_address::EmailAddress::parse_with_options(&normalised, options)
            .map_err(|_| InvalidEmail)?;
        // Store keys use '#' as a separator before the caller, never inside it, so the address may hold one;
        // control characters and spaces are refused by the parser already.
        if parsed.as_str() != normalised {
            return Err(InvalidEmail);
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as logs may show it: first character of the local part and the domain's last label.
    pub fn masked(&self) -> String {
        mask_email(&self.0)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A domain name a contact covers (the registrar's `Domains`): IDNA-encoded (UTS #46, strict), lower-case,
/// without a final dot, of at least two labels and at most 253 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DomainName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid domain name")]
pub struct InvalidDomain;

impl DomainName {
    pub const MAX_LEN: usize = 253;

    pub fn parse(raw: &str) -> Result<Self, InvalidDomain> {
        let trimmed = raw.trim();
        let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if bare.is_empty() || bare.contains(['/', '@', ':', ' ']) {
            return Err(InvalidDomain);
        }
        let ascii = idna::domain_to_ascii_strict(bare).map_err(|_| InvalidDomain)?;
        let labels: Vec<&str> = ascii.split('.').collect();
        if ascii.len() > Self::MAX_LEN
            || labels.len() < 2
            || labels.iter().any(|l| l.is_empty() || l.len() > 63)
            || labels
                .last()
                .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(InvalidDomain);
        }
        Ok(Self(ascii.to_ascii_lowercase()))
    }

    /// The stored form: ASCII (`xn--bcher-kva.example`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// As a person reads it (`bücher.example`), for mails.
    pub fn unicode(&self) -> String {
        let (text, result) = idna::domain_to_unicode(&self.0);
        if result.is_ok() {
            text
        } else {
            self.0.clone()
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masks any address-like string for logs: `j***@e***.com`.
pub fn mask_email(raw: &str) -> String {
    let (local, domain) = raw.rsplit_once('@').unwrap_or((raw, ""));
    let first = local.chars().next().map(String::from).unwrap_or_default();
    let tld = domain.rsplit_once('.').map(|(_, t)| t).unwrap_or("");
    let domain_first = domain.chars().next().map(String::from).unwrap_or_default();
    format!("{first}***@{domain_first}***.{tld}")
}

/// The caller that owns records: the IAM principal in a deployed stack, the `X-User-Id` header locally.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CallerId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid caller id")]
pub struct InvalidCaller;

impl CallerId {
    pub fn parse(raw: &str) -> Result<Self, InvalidCaller> {
        let ok = !raw.is_empty()
            && raw.len() <= 512
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.:@/+=,".contains(&b));
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err(InvalidCaller)
        }
    }

    /// The stable identity of an IAM principal: an assumed role's session name changes with every
    /// session, so `arn:aws:sts::123:assumed-role/Role/session` becomes `arn:aws:sts::123:assumed-role/Role`.
    pub fn from_iam_arn(arn: &str) -> Result<Self, InvalidCaller> {
        // Only `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` is an assumed role: an IAM
        // user or role whose path merely contains `:assumed-role/` stays as it is.
        let mut parts = arn.splitn(6, ':');
        if let (
            Some("arn"),
            Some(_partition),
            Some("sts"),
            Some(""),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) {
            if let Some(rest) = resource.strip_prefix("assumed-role/") {
                if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
                    let role = rest.split('/').next().unwrap_or(rest);
                    let prefix = &arn[..arn.len() - resource.len()];
                    return Self::parse(&format!("{prefix}assumed-role/{role}"));
                }
            }
        }
        Self::parse(arn)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A verification token as it travels in the mail link: 32 bytes from the OS random source, 64 hex chars.
/// It is never stored; only its [`TokenHash`] is.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a token is {} hexadecimal characters", Token::LEN)]
pub struct MalformedToken;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomSourceFailed(getrandom::Error);

impl From<getrandom::Error> for RandomSourceFailed {
    fn from(e: getrandom::Error) -> Self {
        Self(e)
    }
}

impl Token {
    pub const BYTES: usize = 32;
    pub const LEN: usize = Self::BYTES * 2;

    pub fn generate() -> Result<Self, RandomSourceFailed> {
        let mut bytes = [0u8; Self::BYTES];
        getrandom::fill(&mut bytes).map_err(RandomSourceFailed)?;
        Ok(Self(hex::encode(bytes)))
    }

    pub fn parse(raw: &str) -> Result<Self, MalformedToken> {
        let raw = raw.trim();
        if raw.len() == Self::LEN && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(MalformedToken)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// SHA-256 of a token, hex. A token carries 256 random bits, so its plain hash cannot be reversed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Enough of the hash to correlate log lines, not enough to look the token up.
    pub fn short(&self) -> &str {
        &self.0[..8.min(self.0.len())]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerificationStatus {
    Pending = 0,
    Verified = 1,
}

impl VerificationStatus {
    pub fn code(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("VerificationStatus is 0 or 1")]
pub struct InvalidStatus;

impl FromStr for VerificationStatus {
    type Err = InvalidStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "0" => Ok(Self::Pending),
            "1" => Ok(Self::Verified),
            _ => Err(InvalidStatus),
        }
    }
}

/// Language of messages, mails and pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Lang is en or zh")]
pub struct InvalidLang;

impl FromStr for Lang {
    type Err = InvalidLang;
    /// `en` or `zh`, or a language tag of either (BCP 47, any case, `-` or `_`): `en-US`, `zh-CN`, `zh-Hans`,
    /// `zh_Hans_CN`. Every Chinese tag gets the one Chinese this service writes (simplified).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let tag = s.trim().to_ascii_lowercase().replace('_', "-");
        let mut subtags = tag.split('-');
        let lang = match subtags.next() {
            Some("en") => Self::En,
            Some("zh") => Self::Zh,
            _ => return Err(InvalidLang),
        };
        let well_formed = subtags
            .all(|t| (1..=8).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()));
        if well_formed && tag.len() <= 35 {
            Ok(lang)
        } else {
            Err(InvalidLang)
        }
    }
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh",
        }
    }
}

/// One caller's verification of one address: what Query and List show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationRecord {
    pub caller: CallerId,
    pub email: EmailAddress,
    pub status: VerificationStatus,
    /// 32 hex characters, fixed when the record is created.
    pub verification_no: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub token_sent: DateTime<Utc>,
    pub send_ip: String,
    pub confirm_ip: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    /// Hash of the one token that can verify this record now; earlier links stop working.
    pub current_token: TokenHash,
    pub lang: Lang,
    /// Optimistic-concurrency version: every write names the version it read.
    pub version: u64,
    /// The last SES event about this caller's mail to the address (written by the events consumer).
    pub delivery: Option<Delivery>,
    /// The domain names the contact covers (Submit's and Resend's `Domains`), in the order given.
    pub domains: Vec<DomainName>,
    /// The registrar's deadline (the caller's `Deadline.Days` after the first send), when the caller had one
    /// then. A verification after it still succeeds, and is late ([`Self::verified_late`]).
    pub deadline: Option<DateTime<Utc>>,
    /// When the deadline was found passed with the record still pending (marked once).
    pub deadline_missed: Option<DateTime<Utc>>,
    /// Reminders sent so far.
    pub reminders_sent: u32,
    /// Reminders passed over (the address was undeliverable, or the caller's mail stopped, on their day).
    pub reminders_skipped: u32,
    /// The days after the first send on which reminders go (the caller's `RemindAfterDays` when the record
    /// was made: a later change of the settings does not move a record's schedule).
    pub remind_after_days: Vec<u32>,
}

impl VerificationRecord {
    /// Verified after its deadline: the registrar lifts its hold, and the record says it came late.
    pub fn verified_late(&self) -> bool {
        matches!((self.verified_at, self.deadline), (Some(v), Some(d)) if v > d)
    }

    /// What the deadline sweep has to do next for this record, and when: a reminder on its day, then the
    /// deadline. `None`: nothing (no deadline, verified, or the deadline already marked missed).
    pub fn next_due(&self) -> Option<(Due, DateTime<Utc>)> {
        let deadline = self.deadline?;
        if self.status != VerificationStatus::Pending || self.deadline_missed.is_some() {
            return None;
        }
        let index = (self.reminders_sent + self.reminders_skipped) as usize;
        match self.remind_after_days.get(index) {
            Some(days) => {
                let at = self.created + chrono::Duration::days(i64::from(*days));
                Some(if at < deadline {
                    (Due::Reminder, at)
                } else {
                    (Due::Deadline, deadline)
                })
            }
            None => Some((Due::Deadline, deadline)),
        }
    }

    /// Whole days left until the deadline at `now` (rounded up; 0 once it passed).
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        self.deadline.map_or(0, |d| {
            let secs = (d - now).num_seconds().max(0);
            (secs + 86_399) / 86_400
        })
    }
}

/// What is due for a record with a deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    Reminder,
    Deadline,
}

/// A link token as stored: found by its hash, it names the record it verifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub hash: TokenHash,
    pub caller: CallerId,
    pub email: EmailAddress,
    pub lang: Lang,
    pub expires_at: DateTime<Utc>,
    /// The record's deadline when the link was sent, if it has one: a verification after it is late.
    pub deadline: Option<DateTime<Utc>>,
    /// The caller's `Sender.Name` when the link was sent: the link page's heading names it.
    pub sender_name: Option<String>,
}

impl TokenRecord {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// A new record's number: 32 hex characters, as in the vendor's examples.
pub fn new_verification_no() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `YYYY-MM-DD HH:MM:SS`, UTC: how every time appears in answers.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// What happened to one mail at one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    Delivered,
    /// A bounce SES calls `Transient` (a full mailbox, a server that said "later"): the address stays usable.
    SoftBounce,
    /// A `Permanent` (or `Undetermined`) bounce, including SES's own suppression list.
    HardBounce,
    Complaint,
    /// SES refused to send it (a virus, for instance): a fault of the mail, not of the address.
    Rejected,
}

impl DeliveryKind {
    /// The `DeliveryState` shown in Query and List.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "Delivered",
            Self::SoftBounce => "SoftBounce",
            Self::HardBounce => "HardBounce",
            Self::Complaint => "Complaint",
            Self::Rejected => "Rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Delivered,
            Self::SoftBounce,
            Self::HardBounce,
            Self::Complaint,
            Self::Rejected,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the address is never mailed again.
    pub fn makes_undeliverable(self) -> bool {
        matches!(self, Self::HardBounce | Self::Complaint)
    }
}

/// One address's part of one SES event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryEvent {
    pub address: EmailAddress,
    pub kind: DeliveryKind,
    /// When SES says it happened (the bounce's, complaint's or delivery's own time).
    pub at: DateTime<Utc>,
    /// The caller whose mail it was (its `caller` tag), when the tag is there.
    pub caller: Option<CallerId>,
    /// `link` or `code` (the `family` tag).
    pub family: Option<String>,
    /// SES's words: the bounce type and subtype, the complaint's feedback type, the reject reason.
    pub reason: String,
}

/// The last thing known of mail to an address: the extension fields of Query and List.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub kind: DeliveryKind,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        let a = EmailAddress::parse("  Alice+Tag@Example.COM ").unwrap();
        assert_eq!(a.as_str(), "alice+tag@example.com");
        assert_eq!(a, EmailAddress::parse("alice+tag@example.com").unwrap());
    }

    #[test]
    fn domain_names_are_idna_checked_and_kept_in_ascii() {
        let d = DomainName::parse(" Bücher.Example. ").unwrap();
        assert_eq!(d.as_str(), "xn--bcher-kva.example");
        assert_eq!(d.unicode(), "bücher.example");
        assert_eq!(
            DomainName::parse("例子.中国").unwrap().as_str(),
            "xn--fsqu00a.xn--fiqs8s"
        );
        assert_eq!(
            DomainName::parse("EXAMPLE.com").unwrap().as_str(),
            "example.com"
        );
        for bad in [
            "",
            "example",
            "exa mple.com",
            "-bad.example",
            "under_score.example",
            "a..b",
            "http://example.com",
            "a@example.com",
            "192.168.0.1",
            &format!("{}.example", "a".repeat(64)),
            &format!("{}example", "a.".repeat(127)),
        ] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "   ",
            "plain",
            "a@",
            "@b.com",
            "a@b",
            "Alice <a@b.com>",
            "a b@c.com",
            "a@[1.2.3.4]",
            "a@@b.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(InvalidEmail),
                "{bad:?} was accepted"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(EmailAddress::parse(&long), Err(InvalidEmail));
    }

    /// Issue 9, defects 4 and 5: what is stored is exactly what validation accepts. `İ@example.com` was
    /// accepted, then lower-cased into `i̇@example.com`, which fails validation each time it is read back.
    /// Every normalisation step (trim, NFC, ASCII lower case, IDNA) must give an address that parses to itself.
    #[test]
    fn every_accepted_address_parses_back_to_itself() {
        let inputs = [
            "İ@example.com",
            "\u{130}nfo@example.com",
            "user@EXAMPLE.com",
            " Alice+Tag@Example.COM ",
            "user@bücher.example",
            "user@BÜCHER.example",
            "user@bu\u{308}cher.example",
            "user@xn--bcher-kva.example",
            "\u{212a}elvin@example.com",
            "ünicode@example.com",
            "用户@例子.中国",
            "user@例子.中国",
            "user@ＥＸＡＭＰＬＥ.com",
            "a.b-c_d+e@sub.example.co.uk",
            "user@exa\u{301}mple.com",
            "user@-bad.example",
            "user@a..example",
            "ǅ@example.com",
            "ß@example.com",
            "user@straße.de",
        ];
        for raw in inputs {
            if let Ok(a) = EmailAddress::parse(raw) {
                assert!(
                    a.as_str().is_ascii(),
                    "{raw:?} was stored as non-ASCII {:?}",
                    a.as_str()
                );
                assert_eq!(
                    EmailAddress::parse(a.as_str()).as_ref(),
                    Ok(&a),
                    "{raw:?} -> {:?} does not parse back to itself",
                    a.as_str()
                );
            }
        }
    }

    #[test]
    fn local_parts_are_ascii_and_domains_idna_encoded() {
        for bad in [
            "İ@example.com",
            "ünicode@example.com",
            "用户@例子.中国",
            "user@-bad.example",
            "user@a..example",
        ] {
            assert_eq!(
                EmailAddress::parse(bad),
                Err(InvalidEmail),
                "{bad:?} was accepted"
            );
        }
        let idn = EmailAddress::parse("User@Bücher.Example").unwrap();
        assert_eq!(idn.as_str(), "user@xn--bcher-kva.example");
        // NFC: a decomposed ü is the same domain as the composed one.
        assert_eq!(
            EmailAddress::parse("user@bu\u{308}cher.example").unwrap(),
            idn
        );
        assert_eq!(
            EmailAddress::parse("user@xn--bcher-kva.example").unwrap(),
            idn
        );
        assert_eq!(
            EmailAddress::parse("user@例子.中国").unwrap().as_str(),
            "user@xn--fsqu00a.xn--fiqs8s"
        );
        // NFC comes first: the Kelvin sign is the letter K.
        assert_eq!(
            EmailAddress::parse("\u{212a}elvin@example.com")
                .unwrap()
                .as_str(),
            "kelvin@example.com"
        );
    }

    #[test]
    fn masking_hides_the_address() {
        let masked = EmailAddress::parse("someone.secret@private-domain.org")
            .unwrap()
            .masked();
        assert_eq!(masked, "s***@p***.org");
        assert!(!masked.contains("secret"));
    }

    #[test]
    fn tokens_are_random_hex_and_hash_stably() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), Token::LEN);
        assert_eq!(
            Token::parse(&a.as_str().to_uppercase()).unwrap().hash(),
            a.hash()
        );
        assert_ne!(a.hash(), b.hash());
        assert_eq!(format!("{a:?}"), "Token(***)");
    }

    #[test]
    fn tokens_of_the_wrong_shape_are_refused() {
        assert_eq!(Token::parse("abc"), Err(MalformedToken));
        assert_eq!(Token::parse(&"g".repeat(64)), Err(MalformedToken));
        assert_eq!(Token::parse(&"a".repeat(65)), Err(MalformedToken));
        assert!(Token::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn an_iam_user_whose_path_holds_assumed_role_stays_its_own_caller() {
        // Issue 9, defect 5: two IAM users under a path that contains `:assumed-role/` are two callers.
        let a = CallerId::from_iam_arn("arn:aws:iam::123456789012:user/x:assumed-role/Team/alice")
            .unwrap();
        let b = CallerId::from_iam_arn("arn:aws:iam::123456789012:user/x:assumed-role/Team/bob")
            .unwrap();
        assert_ne!(a, b);
        assert_eq!(
            a.as_str(),
            "arn:aws:iam::123456789012:user/x:assumed-role/Team/alice"
        );
        // Only an STS assumed-role ARN, in any partition, loses its session name.
        let cn = CallerId::from_iam_arn("arn:aws-cn:sts::123456789012:assumed-role/Registrar/s-1")
            .unwrap();
        assert_eq!(
            cn.as_str(),
            "arn:aws-cn:sts::123456789012:assumed-role/Registrar"
        );
    }

    #[test]
    fn assumed_role_sessions_are_one_caller() {
        let a =
            CallerId::from_iam_arn("arn:aws:sts::123456789012:assumed-role/Registrar/session-1")
                .unwrap();
        let b =
            CallerId::from_iam_arn("arn:aws:sts::123456789012:assumed-role/Registrar/session-2")
                .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.as_str(),
            "arn:aws:sts::123456789012:assumed-role/Registrar"
        );
        let user = CallerId::from_iam_arn("arn:aws:iam::123456789012:user/alice").unwrap();
        assert_ne!(user, a);
    }

    #[test]
    fn callers_cannot_hold_key_separators() {
        assert!(CallerId::parse("tenant#1").is_err());
        assert!(CallerId::parse("").is_err());
        assert!(CallerId::parse("tenant-1").is_ok());
    }
}
