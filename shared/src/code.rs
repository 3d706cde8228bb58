//! Verification codes (the Tencent-style actions): the contact a code goes to (a phone number in E.164
//! or an e-mail address), the six-digit code, and the keyed hash that is all the table keeps of it.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use chrono::{DateTime, Utc};

use crate::model::{CallerId, EmailAddress, RandomSourceFailed};

/// `Type`: 1 mobile number, 2 e-mail address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactType {
    Phone = 1,
    Email = 2,
}

impl ContactType {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "1" => Some(Self::Phone),
            "2" => Some(Self::Email),
            _ => None,
        }
    }
}

/// A phone number in E.164 (`+8613800138000`). The leading `+` is required: without a country code a
/// number is ambiguous (`18766554433` is a Chinese mobile, or a Jamaican number).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a valid phone number in E.164")]
pub struct InvalidPhone;

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let compact: String = raw
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        if !compact.starts_with('+')
            || compact.len() > 16
            || !compact[1..].bytes().all(|b| b.is_ascii_digit())
        {
            return Err(InvalidPhone);
        }
        let parsed = phonenumber::parse(None, &compact).map_err(|_| InvalidPhone)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(InvalidPhone);
        }
        Ok(Self(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// The number's country (ISO 3166 code, `GB`), from the numbering plan.
    pub fn country(&self) -> Option<String> {
        let parsed = phonenumber::parse(None, &self.0).ok()?;
        parsed.country().id().map(|id| format!("{id:?}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For logs: the country code and the last two digits.
    pub fn masked(&self) -> String {
        let digits = &self.0[1..];
        let tail = &digits[digits.len().saturating_sub(2)..];
        format!("+{}***{tail}", &digits[..digits.len().min(2)])
    }
}

/// Where a code goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Contact {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl Contact {
    /// `<type>#<contact>`: the contact's key among a caller's contacts (its listing order after the time,
    /// its index and count shards).
    pub fn key(&self) -> String {
        format!("{}#{}", self.kind().code(), self.as_str())
    }

    pub fn parse(kind: ContactType, raw: &str) -> Option<Self> {
        match kind {
            ContactType::Phone => PhoneNumber::parse(raw).ok().map(Self::Phone),
            ContactType::Email => EmailAddress::parse(raw).ok().map(Self::Email),
        }
    }

    pub fn kind(&self) -> ContactType {
        match self {
            Self::Phone(_) => ContactType::Phone,
            Self::Email(_) => ContactType::Email,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Phone(p) => p.as_str(),
            Self::Email(e) => e.as_str(),
        }
    }

    pub fn masked(&self) -> String {
        match self {
            Self::Phone(p) => p.masked(),
            Self::Email(e) => e.masked(),
        }
    }
}

/// A six-digit code, uniformly drawn from the OS random source.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a verification code is 6 digits")]
pub struct MalformedCode;

impl VerifyCode {
    pub const DIGITS: usize = 6;

    pub fn generate() -> Result<Self, RandomSourceFailed> {
        // Rejection sampling: 4,294,000,000 is the largest multiple of 10^6 below 2^32, so every code
        // is equally likely.
        loop {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(RandomSourceFailed::from)?;
            let n = u32::from_le_bytes(b);
            if n < 4_294_000_000 {
                return Ok(Self(format!("{:06}", n % 1_000_000)));
            }
        }
    }

    pub fn parse(raw: &str) -> Result<Self, MalformedCode> {
        let raw = raw.trim();
        if raw.len() == Self::DIGITS && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_string()))
        } else {
            Err(MalformedCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerifyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerifyCode(***)")
    }
}

/// The key of the codes' HMAC. A million codes are tried in a blink, so a plain hash in a table dump
/// would give every code away; without this key (kept in Secrets Manager, never in the table) it does not.
#[derive(Clone)]
pub struct CodeSecret(Vec<u8>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the code secret must be at least 32 bytes")]
pub struct WeakSecret;

impl CodeSecret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, WeakSecret> {
        let bytes = bytes.into();
        if bytes.len() < 32 {
            return Err(WeakSecret);
        }
        Ok(Self(bytes))
    }

    /// HMAC-SHA256 over caller, contact and code, hex: binds the code to whom it was sent for. An error,
    /// never an empty hash, when the MAC cannot be made.
    pub fn hash(
        &self,
        caller: &str,
        contact: &Contact,
        code: &VerifyCode,
    ) -> Result<String, HashFailed> {
        Ok(hex::encode(
            self.mac(caller, contact, code)?.finalize().into_bytes(),
        ))
    }

    fn mac(
        &self,
        caller: &str,
        contact: &Contact,
        code: &VerifyCode,
    ) -> Result<Hmac<Sha256>, HashFailed> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).map_err(|_| HashFailed)?;
        for part in [
            caller,
            &contact.kind().code().to_string(),
            contact.as_str(),
            code.as_str(),
        ] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        Ok(mac)
    }

    /// Whether `stored` is the full hash of this code, compared in constant time (`Mac::verify_slice`).
    /// Anything that is not a whole hash, or a MAC that cannot be made, does not verify.
    pub fn verify(&self, caller: &str, contact: &Contact, code: &VerifyCode, stored: &str) -> bool {
        let Ok(stored) = hex::decode(stored) else {
            return false;
        };
        self.mac(caller, contact, code)
            .is_ok_and(|mac| mac.verify_slice(&stored).is_ok())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the code's HMAC could not be made")]
pub struct HashFailed;

impl fmt::Debug for CodeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeSecret(***)")
    }
}

/// A code as stored: only its keyed hash, how often a wrong code was tried, and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRecord {
    pub caller: CallerId,
    pub contact: Contact,
    pub hash: String,
    pub attempts: u32,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A contact verified by a code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    pub caller: CallerId,
    pub contact: Contact,
    pub created: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 9, defect 5: hashing is a `Result`, and nothing but the right code's full hash verifies.
    #[test]
    fn only_the_full_hash_of_the_right_code_verifies() {
        let secret = CodeSecret::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        let contact = Contact::parse(ContactType::Email, "a@example.com").unwrap();
        let code = VerifyCode::parse("123456").unwrap();
        let stored: String = secret.hash("alice", &contact, &code).unwrap();
        assert!(secret.verify("alice", &contact, &code, &stored));
        for wrong in [
            String::new(),
            stored[..63].to_string(),
            stored[..32].to_string(),
            "00".repeat(32),
            format!("{stored}00"),
        ] {
            assert!(
                !secret.verify("alice", &contact, &code, &wrong),
                "{wrong:?}"
            );
        }
        assert!(!secret.verify("bob", &contact, &code, &stored));
        assert!(!secret.verify(
            "alice",
            &contact,
            &VerifyCode::parse("123457").unwrap(),
            &stored
        ));
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        assert_eq!(
            PhoneNumber::parse("+86 138-0013-8000").unwrap().as_str(),
            "+8613800138000"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (650) 253-0000").unwrap().as_str(),
            "+16502530000"
        );
        for bad in [
            "18766554433",
            "+86123",
            "+999 1234567",
            "phone",
            "",
            "+8613800138000x",
            "++8613800138000",
        ] {
            assert_eq!(
                PhoneNumber::parse(bad),
                Err(InvalidPhone),
                "{bad:?} was accepted"
            );
        }
        assert_eq!(
            PhoneNumber::parse("+8613800138000").unwrap().masked(),
            "+86***00"
        );
    }

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|_| VerifyCode::generate().unwrap().as_str().to_string())
            .collect();
        assert!(
            codes.len() > 190,
            "200 draws gave only {} distinct codes",
            codes.len()
        );
        assert!(codes
            .iter()
            .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(VerifyCode::parse("12345"), Err(MalformedCode));
        assert_eq!(VerifyCode::parse("1234567"), Err(MalformedCode));
        assert_eq!(VerifyCode::parse("12345a"), Err(MalformedCode));
        assert_eq!(
            format!("{:?}", VerifyCode::parse("123456").unwrap()),
            "VerifyCode(***)"
        );
    }

    #[test]
    fn the_keyed_hash_depends_on_key_caller_contact_and_code() {
        let k1 = CodeSecret::new(vec![1u8; 32]).unwrap();
        let k2 = CodeSecret::new(vec![2u8; 32]).unwrap();
        let phone = Contact::Phone(PhoneNumber::parse("+8613800138000").unwrap());
        let email = Contact::Email(EmailAddress::parse("a@example.com").unwrap());
        let code = VerifyCode::parse("123456").unwrap();
        let h = k1.hash("alice", &phone, &code).unwrap();
        assert_eq!(h.len(), 64);
        assert!(k1.verify("alice", &phone, &code, &h));
        assert!(
            !k2.verify("alice", &phone, &code, &h),
            "another key gives another hash"
        );
        assert!(!k1.verify("bob", &phone, &code, &h));
        assert!(!k1.verify("alice", &email, &code, &h));
        assert!(!k1.verify("alice", &phone, &VerifyCode::parse("123457").unwrap(), &h));
        assert_eq!(CodeSecret::new(vec![0u8; 31]).unwrap_err(), WeakSecret);
    }
}
