//! Outgoing mail: the verification mail's text and HTML (en, zh), and the mailer behind a trait.

use std::future::Future;

use askama::Template;

use crate::code::VerifyCode;
use crate::error::BackendError;
use crate::model::{EmailAddress, Lang, Token};
use crate::words::{words, Words};

/// A mail ready to be handed over: multipart text + HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: EmailAddress,
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

#[derive(Template)]
#[template(path = "mail.txt", escape = "none")]
struct MailText<'a> {
    w: &'a Words,
    link: &'a str,
    domains: &'a [String],
    /// Lines above the greeting's instruction (a reminder's); none for the first mail.
    notice: &'a [String],
}

#[derive(Template)]
#[template(path = "mail.html")]
struct MailHtml<'a> {
    w: &'a Words,
    link: &'a str,
    lang: &'a str,
    domains: &'a [String],
    notice: &'a [String],
}

#[derive(Template)]
#[template(path = "code.txt", escape = "none")]
struct CodeText<'a> {
    w: &'a Words,
    code: &'a str,
}

#[derive(Template)]
#[template(path = "code.html")]
struct CodeHtml<'a> {
    w: &'a Words,
    code: &'a str,
    lang: &'a str,
}

/// The mail that carries a six-digit code.
pub fn code_mail(
    to: &EmailAddress,
    lang: Lang,
    code: &VerifyCode,
) -> Result<OutgoingMail, BackendError> {
    let w = words(lang);
    let render = |e: askama::Error| BackendError::Mail(format!("template: {e}"));
    let code = code.as_str();
    Ok(OutgoingMail {
        to: to.clone(),
        subject: w.code_subject.to_string(),
        text: CodeText { w, code }.render().map_err(render)?,
        html: CodeHtml {
            w,
            code,
            lang: lang.as_str(),
        }
        .render()
        .map_err(render)?,
        tags: Vec::new(),
    })
}

/// The text message that carries a six-digit code.
pub fn code_sms(lang: Lang, code: &VerifyCode) -> String {
    words(lang).sms_body.replace("{code}", code.as_str())
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

/// The verification mail for `to`, in `lang`, holding `link` in both parts.
pub fn verification_mail(
    to: &EmailAddress,
    lang: Lang,
    link: &str,
    domains: &[crate::model::DomainName],
) -> Result<OutgoingMail, BackendError> {
    link_mail(to, lang, link, domains, None)
}

/// A reminder of a record with a deadline: the verification mail with its fresh `link`, a subject of its own,
/// and first the days left and that no password is ever asked.
pub fn reminder_mail(
    to: &EmailAddress,
    lang: Lang,
    link: &str,
    domains: &[crate::model::DomainName],
    days_left: i64,
) -> Result<OutgoingMail, BackendError> {
    link_mail(to, lang, link, domains, Some(days_left))
}

fn link_mail(
    to: &EmailAddress,
    lang: Lang,
    link: &str,
    domains: &[crate::model::DomainName],
    reminder_days_left: Option<i64>,
) -> Result<OutgoingMail, BackendError> {
    let w = words(lang);
    let notice: Vec<String> = match reminder_days_left {
        Some(1) => vec![
            w.reminder_one_day_left.to_string(),
            w.reminder_no_password.to_string(),
        ],
        Some(n) => vec![
            w.reminder_days_left.replace("{n}", &n.to_string()),
            w.reminder_no_password.to_string(),
        ],
        None => Vec::new(),
    };
    let notice = notice.as_slice();
    let subject = match reminder_days_left {
        Some(_) => w.reminder_subject,
        None => w.mail_subject,
    };
    let render = |e: askama::Error| BackendError::Mail(format!("template: {e}"));
    // As a person reads them (Unicode), in the order given.
    let domains: Vec<String> = domains.iter().map(|d| d.unicode()).collect();
    let domains = domains.as_slice();
    Ok(OutgoingMail {
        to: to.clone(),
        subject: subject.to_string(),
        text: MailText {
            w,
            link,
            domains,
            notice,
        }
        .render()
        .map_err(render)?,
        html: MailHtml {
            w,
            link,
            lang: lang.as_str(),
            domains,
            notice,
        }
        .render()
        .map_err(render)?,
        tags: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            crate::model::DomainName::parse("example.com").unwrap(),
            crate::model::DomainName::parse("bücher.example").unwrap(),
        ];
        let listed = verification_mail(&to, Lang::En, &link, &domains).unwrap();
        for part in [&listed.text, &listed.html] {
            assert!(part.contains("contact of these domain names"), "{part}");
            assert!(
                part.contains("example.com") && part.contains("bücher.example"),
                "{part}"
            );
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
        let en = verification_mail(&to, Lang::En, &link, &[]).unwrap();
        assert!(!en.text.contains("domain names"), "no list without domains");
        let zh = verification_mail(&to, Lang::Zh, &link, &[]).unwrap();
        for m in [&en, &zh] {
            assert!(m.text.contains(&link));
            assert!(m
                .html
                .replace("&#38;", "&")
                .contains(&format!("href=\"{link}\"")));
        }
        assert_eq!(en.subject, "Verify your email address");
        assert!(zh.text.contains("请打开下面的链接"));
        assert!(zh.html.contains("lang=\"zh\""));
    }

    #[test]
    fn code_mails_and_texts_carry_the_code() {
        let code = VerifyCode::parse("042317").unwrap();
        let to = EmailAddress::parse("a@example.com").unwrap();
        for lang in [Lang::En, Lang::Zh] {
            let m = code_mail(&to, lang, &code).unwrap();
            assert!(m.text.contains("042317") && m.html.contains("042317"));
            assert!(code_sms(lang, &code).contains("042317"));
        }
        assert_eq!(
            code_sms(Lang::En, &code),
            "Your verification code is 042317. It expires in 10 minutes."
        );
    }
}
