//! Outgoing mail: a caller's mails and texts made from its templates (or the built-in ones, `crate::templates`)
//! with its sender, and the mailer behind a trait.

use std::future::Future;

use base64::Engine;
use chrono::{DateTime, Utc};

use crate::code::VerifyCode;
use crate::error::BackendError;
use crate::model::{format_time, DomainName, EmailAddress, Lang, Token};
use crate::settings::{CallerSettings, Sender, TemplateKind};
use crate::templates::{render, TemplateUsed, Vars};

/// A mail ready to be handed over: multipart text + HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: EmailAddress,
    /// The caller's `Sender` (`"Name" <address>`); `None`: the stack's `SenderAddress`.
    pub from: Option<String>,
    /// The caller's `Sender.ReplyTo`.
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// SES message tags (name, value): `caller` and `family`, for the events consumer.
    pub tags: Vec<(String, String)>,
}

impl OutgoingMail {
    /// Tagged with whose mail it is (see [`crate::delivery::caller_tag`]) and its family (`link`, `code`).
    pub fn tagged(mut self, caller: &crate::model::CallerId, family: &str) -> Self {
        if let Some(tag) = crate::delivery::caller_tag(caller) {
            self.tags.push(("caller".into(), tag));
        }
        self.tags.push(("family".into(), family.into()));
        self
    }
}

pub trait Mailer: Send + Sync + 'static {
    /// Hands the mail over; the provider's message id when it gives one (SES does), for the evidence log.
    fn send(
        &self,
        mail: &OutgoingMail,
    ) -> impl Future<Output = Result<Option<String>, BackendError>> + Send;
}

/// The phrase for how long a link or code stays valid, in `lang`: "3 days", "10 minutes", "3 天".
pub fn valid_for(lang: Lang, lifetime: chrono::Duration) -> String {
    let secs = lifetime.num_seconds().max(0);
    let (n, unit_en, unit_zh) = if secs >= 86_400 && secs % 86_400 == 0 {
        (secs / 86_400, "day", "天")
    } else if secs >= 3_600 && secs % 3_600 == 0 {
        (secs / 3_600, "hour", "小时")
    } else {
        ((secs / 60).max(1), "minute", "分钟")
    };
    match lang {
        Lang::En if n == 1 => format!("1 {unit_en}"),
        Lang::En => format!("{n} {unit_en}s"),
        Lang::Zh => format!("{n} {unit_zh}"),
    }
}

/// Who a mail goes to, in which language, for which caller (its sender and templates, when it has set them).
#[derive(Clone, Copy, Debug)]
pub struct Letter<'a> {
    pub settings: Option<&'a CallerSettings>,
    pub to: &'a EmailAddress,
    pub lang: Lang,
}

/// The deadline a reminder (or a first mail of a record with one) speaks of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadlineNote {
    pub at: DateTime<Utc>,
    pub days_left: i64,
}

impl Letter<'_> {
    fn vars(&self) -> Vars {
        Vars {
            email: Some(self.to.as_str().to_string()),
            contact: Some(self.to.as_str().to_string()),
            sender_name: self
                .settings
                .and_then(|s| s.sender.as_ref())
                .and_then(|s| s.name.clone()),
            ..Vars::default()
        }
    }

    fn mail(
        &self,
        kind: TemplateKind,
        vars: &Vars,
    ) -> Result<(OutgoingMail, TemplateUsed), BackendError> {
        let (r, used) = render(
            self.settings.and_then(CallerSettings::template_set),
            self.lang,
            kind,
            vars,
        )
        .map_err(|e| BackendError::Mail(format!("template: {e}")))?;
        let sender = self.settings.and_then(|s| s.sender.as_ref());
        Ok((
            OutgoingMail {
                to: self.to.clone(),
                from: sender.map(from_header),
                reply_to: sender
                    .and_then(|s| s.reply_to.as_ref())
                    .map(|a| a.as_str().to_string()),
                subject: r.subject,
                text: r.text,
                html: r.html,
                tags: Vec::new(),
            },
            used,
        ))
    }

    /// The verification mail holding `link` in both parts; `deadline` when the record has one.
    pub fn link(
        &self,
        link: &str,
        domains: &[DomainName],
        deadline: Option<DeadlineNote>,
        lifetime: chrono::Duration,
    ) -> Result<(OutgoingMail, TemplateUsed), BackendError> {
        self.mail(
            TemplateKind::Link,
            &self.link_vars(link, domains, deadline, lifetime),
        )
    }

    /// A reminder of a record with a deadline: a fresh `link` and the days left.
    pub fn reminder(
        &self,
        link: &str,
        domains: &[DomainName],
        deadline: DeadlineNote,
        lifetime: chrono::Duration,
    ) -> Result<(OutgoingMail, TemplateUsed), BackendError> {
        self.mail(
            TemplateKind::Reminder,
            &self.link_vars(link, domains, Some(deadline), lifetime),
        )
    }

    /// The mail that carries a six-digit code.
    pub fn code(
        &self,
        code: &VerifyCode,
        lifetime: chrono::Duration,
    ) -> Result<(OutgoingMail, TemplateUsed), BackendError> {
        let vars = Vars {
            code: Some(code.as_str().to_string()),
            valid_for: valid_for(self.lang, lifetime),
            ..self.vars()
        };
        self.mail(TemplateKind::Code, &vars)
    }

    fn link_vars(
        &self,
        link: &str,
        domains: &[DomainName],
        deadline: Option<DeadlineNote>,
        lifetime: chrono::Duration,
    ) -> Vars {
        Vars {
            link: Some(link.to_string()),
            // As a person reads them (Unicode), in the order given.
            domains: domains.iter().map(DomainName::unicode).collect(),
            deadline: deadline.map(|d| format_time(d.at)),
            days_left: deadline.map(|d| d.days_left),
            valid_for: valid_for(self.lang, lifetime),
            ..self.vars()
        }
    }
}

/// The text message that carries a six-digit code to `contact`.
pub fn code_sms(
    settings: Option<&CallerSettings>,
    lang: Lang,
    contact: &str,
    code: &VerifyCode,
    lifetime: chrono::Duration,
) -> Result<(String, TemplateUsed), BackendError> {
    let vars = Vars {
        code: Some(code.as_str().to_string()),
        contact: Some(contact.to_string()),
        valid_for: valid_for(lang, lifetime),
        sender_name: settings
            .and_then(|s| s.sender.as_ref())
            .and_then(|s| s.name.clone()),
        ..Vars::default()
    };
    let (r, used) = render(
        settings.and_then(CallerSettings::template_set),
        lang,
        TemplateKind::Sms,
        &vars,
    )
    .map_err(|e| BackendError::Mail(format!("template: {e}")))?;
    Ok((r.text, used))
}

/// `"Name" <address>`, the name in RFC 2047 words when it is not plain ASCII; the bare address without one.
pub fn from_header(sender: &Sender) -> String {
    match &sender.name {
        None => sender.address.as_str().to_string(),
        Some(name) if name.is_ascii() => format!("\"{name}\" <{}>", sender.address.as_str()),
        Some(name) => format!(
            "=?UTF-8?B?{}?= <{}>",
            base64::engine::general_purpose::STANDARD.encode(name.as_bytes()),
            sender.address.as_str()
        ),
    }
}

/// The link a mail carries: `<base>/verify-email?Token=<token>&Lang=<lang>`. The language rides along so
/// that the page speaks the mail's language even when the token is unknown or expired.
pub fn verification_link(public_base_url: &str, token: &Token, lang: Lang) -> String {
    format!(
        "{}/verify-email?Token={}&Lang={}",
        public_base_url.trim_end_matches('/'),
        token.as_str(),
        lang.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    const THREE_DAYS: Duration = Duration::days(3);

    #[test]
    fn the_link_is_in_both_parts_and_the_language_is_right() {
        let token = Token::generate().unwrap();
        let link = verification_link("https://api.example.com/", &token, Lang::Zh);
        assert_eq!(
            link,
            format!(
                "https://api.example.com/verify-email?Token={}&Lang=zh",
                token.as_str()
            )
        );
        let to = EmailAddress::parse("a+b@example.com").unwrap();
        let domains = [
            DomainName::parse("example.com").unwrap(),
            DomainName::parse("bücher.example").unwrap(),
        ];
        let en = Letter {
            settings: None,
            to: &to,
            lang: Lang::En,
        };
        let (listed, used) = en.link(&link, &domains, None, THREE_DAYS).unwrap();
        assert_eq!(
            (used.name.as_str(), used.version.as_str()),
            ("link.en", crate::templates::BUILTIN_VERSION)
        );
        assert_eq!(
            (listed.from.as_ref(), listed.reply_to.as_ref()),
            (None, None)
        );
        for part in [&listed.text, &listed.html] {
            assert!(part.contains("contact of these domain names"), "{part}");
            assert!(
                part.contains("example.com") && part.contains("bücher.example"),
                "{part}"
            );
            assert!(part.contains("valid for 3 days"), "{part}");
        }
        assert!(
            listed.text.contains("- bücher.example\n"),
            "{}",
            listed.text
        );
        assert!(
            listed.html.contains("<li>bücher.example</li>"),
            "{}",
            listed.html
        );
        let (plain, _) = en.link(&link, &[], None, THREE_DAYS).unwrap();
        assert!(
            !plain.text.contains("domain names"),
            "no list without domains"
        );
        let zh = Letter {
            lang: Lang::Zh,
            ..en
        };
        let (zh, _) = zh.link(&link, &[], None, THREE_DAYS).unwrap();
        for m in [&plain, &zh] {
            assert!(m.text.contains(&link));
            assert!(
                m.html.contains(&format!(
                    "href=\"{}\"",
                    link.replace('/', "&#x2f;")
                        .replace('&', "&amp;")
                        .replace("&amp;#x2f;", "&#x2f;")
                )),
                "{}",
                m.html
            );
        }
        assert_eq!(plain.subject, "Verify your email address");
        assert!(zh.text.contains("请打开下面的链接"));
        assert!(zh.text.contains("链接在 3 天内有效"), "{}", zh.text);
        assert!(zh.html.contains("lang=\"zh\""));
    }

    #[test]
    fn a_reminder_says_the_days_left_and_a_caller_sender_goes_in_the_headers() {
        let settings = CallerSettings::parse(
            r#"{"Sender": {"Address": "verify@registrar.example", "Name": "Example Registrar", "ReplyTo": "help@registrar.example"}}"#,
        )
        .unwrap();
        let to = EmailAddress::parse("a@example.com").unwrap();
        let letter = Letter {
            settings: Some(&settings),
            to: &to,
            lang: Lang::En,
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-20T10:00:00Z")
            .unwrap()
            .to_utc();
        let (m, used) = letter
            .reminder(
                "https://x.example/verify-email?Token=1",
                &[],
                DeadlineNote { at, days_left: 2 },
                THREE_DAYS,
            )
            .unwrap();
        assert_eq!(used.name, "reminder.en");
        assert!(m.text.contains("2 days are left"), "{}", m.text);
        assert!(
            m.text.contains("never ask you for a password"),
            "{}",
            m.text
        );
        assert!(
            m.text.trim_end().ends_with("Example Registrar"),
            "{}",
            m.text
        );
        assert_eq!(
            m.from.as_deref(),
            Some("\"Example Registrar\" <verify@registrar.example>")
        );
        assert_eq!(m.reply_to.as_deref(), Some("help@registrar.example"));
        let (one, _) = letter
            .reminder(
                "https://x.example/verify-email?Token=1",
                &[],
                DeadlineNote { at, days_left: 1 },
                THREE_DAYS,
            )
            .unwrap();
        assert!(one.text.contains("1 day is left"), "{}", one.text);
        let zh = Sender {
            address: EmailAddress::parse("v@registrar.example").unwrap(),
            name: Some("示例注册商".into()),
            reply_to: None,
        };
        assert_eq!(
            from_header(&zh),
            "=?UTF-8?B?56S65L6L5rOo5YaM5ZWG?= <v@registrar.example>"
        );
    }

    #[test]
    fn code_mails_and_texts_carry_the_code() {
        let code = VerifyCode::parse("042317").unwrap();
        let to = EmailAddress::parse("a@example.com").unwrap();
        let ten = Duration::minutes(10);
        for lang in [Lang::En, Lang::Zh] {
            let (m, _) = Letter {
                settings: None,
                to: &to,
                lang,
            }
            .code(&code, ten)
            .unwrap();
            assert!(m.text.contains("042317") && m.html.contains("042317"));
            assert!(code_sms(None, lang, "+8613800138000", &code, ten)
                .unwrap()
                .0
                .contains("042317"));
        }
        assert_eq!(
            code_sms(None, Lang::En, "+12025550100", &code, ten)
                .unwrap()
                .0,
            "Your verification code is 042317. It expires in 10 minutes."
        );
        assert_eq!(valid_for(Lang::En, Duration::hours(1)), "1 hour");
        assert_eq!(valid_for(Lang::Zh, Duration::seconds(90)), "1 分钟");
    }
}
