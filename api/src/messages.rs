//! Every sentence the service says, in English and Chinese. Codes stay as the vendors spell them;
//! only messages are translated.

use shared::model::Lang;

use crate::phrases::Phrase;
use crate::refusal::Refusal;

/// What a parameter error is about; the message names the parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamProblem {
    Missing(&'static str),
    /// The value is not one of the allowed ones; `expected` says which are allowed (the same in both languages).
    Invalid {
        name: &'static str,
        expected: Phrase,
    },
    TooManyEmails {
        max: usize,
    },
    MalformedJson,
    MalformedToken,
    /// A `Lang` that is neither language: the request's language is unknown, so the message says it in both.
    UnknownLang,
    /// The same name twice in the query string, or twice in the body: which one counts would be a guess
    /// (and a signature covers both).
    Duplicate(String),
}

/// A sentence of the service, ready to be put in a language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Success,
    Param(ParamProblem),
    InvalidEmail,
    QuotaExceeded {
        retry_after_seconds: i64,
    },
    EmailVerificationExist,
    EmailVerified,
    EmailVerificationNotExist,
    NetworkIo,
    TokenInvalid,
    TokenExpired,
    Forbidden,
    Internal,
    CodeSendLimited {
        retry_after_seconds: i64,
    },
    CodeWrong {
        tries_left: u32,
    },
    CodeExpired,
    CodeMissing,
    CodeLocked,
    ContactVerified,
    ContactNotFound,
    CodeSendFailed,
    /// The front door refused a signed request.
    Refused(Refusal),
    /// The request body is over the limit.
    BodyTooLarge {
        max_kib: usize,
    },
    /// The caller is over its request rate.
    Throttled {
        retry_after_seconds: i64,
    },
    EmailUndeliverable,
    MailSuspended,
    SmsCountryNotAllowed,
    SmsDailyLimit,
}

impl Msg {
    pub fn text(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.en(),
            Lang::Zh => self.zh(),
        }
    }

    fn en(&self) -> String {
        match self {
            Msg::Success => "Success".into(),
            Msg::Param(p) => match p {
                ParamProblem::Missing(name) => format!("The parameter {name} is required."),
                ParamProblem::Invalid { name, expected } => {
                    format!("The parameter {name} is invalid: expected {}.", expected.en)
                }
                ParamProblem::TooManyEmails { max } => {
                    format!("The parameter Email holds more than {max} addresses.")
                }
                ParamProblem::MalformedJson => "The request body is not valid JSON.".into(),
                ParamProblem::Duplicate(name) => format!("The parameter {name} is given more than once."),
                ParamProblem::MalformedToken => {
                    "The parameter Token is invalid: expected 64 hexadecimal characters.".into()
                }
                ParamProblem::UnknownLang => format!("{} {}", "The parameter Lang is invalid: expected en or zh, or a tag of either such as en-US, zh-CN or zh-Hans.", "参数 Lang 的取值无效，应为 en 或 zh，或其语言标签，例如 en-US、zh-CN、zh-Hans。"),
            },
            Msg::InvalidEmail => "The email address is not valid.".into(),
            Msg::QuotaExceeded { retry_after_seconds } => format!(
                "The maximum number of attempts allowed to send the email verification link is exceeded. Try again in {retry_after_seconds} seconds."
            ),
            Msg::EmailVerificationExist => {
                "A verification mail for this address is already pending.".into()
            }
            Msg::EmailVerified => "The email address has already been verified.".into(),
            Msg::EmailVerificationNotExist => "No verification exists for this email address.".into(),
            Msg::NetworkIo => "Network IO Error: the mail could not be sent.".into(),
            Msg::TokenInvalid => "The verification link is not valid or has been replaced by a newer one.".into(),
            Msg::TokenExpired => "The verification link has expired.".into(),
            Msg::Forbidden => "The request is not authenticated.".into(),
            Msg::Internal => "An internal error occurred. Try again later.".into(),
            Msg::CodeSendLimited { retry_after_seconds } => {
                format!("Verification codes are sent too often to this contact. Try again in {retry_after_seconds} seconds.")
            }
            Msg::CodeWrong { tries_left: 0 } => {
                "The verification code is wrong. No tries are left: request a new code.".into()
            }
            Msg::CodeWrong { tries_left: 1 } => "The verification code is wrong. 1 try left.".into(),
            Msg::CodeWrong { tries_left } => format!("The verification code is wrong. {tries_left} tries left."),
            Msg::CodeExpired => "The verification code has expired: request a new code.".into(),
            Msg::CodeMissing => "No verification code is pending for this contact (none was sent, or it was used).".into(),
            Msg::CodeLocked => "The verification code was tried wrongly too often: request a new code.".into(),
            Msg::ContactVerified => "This phone number or email address is already verified.".into(),
            Msg::ContactNotFound => "This phone number or email address is not in the verified list.".into(),
            Msg::CodeSendFailed => "The verification code could not be sent.".into(),
            Msg::Throttled { retry_after_seconds } => {
                format!("Too many requests from this caller. Try again in {retry_after_seconds} seconds.")
            }
            Msg::EmailUndeliverable => {
                "The email address bounced permanently or its owner marked our mail as spam: it is not mailed again.".into()
            }
            Msg::MailSuspended => {
                "Mail from this caller is suspended: its mail bounced or drew complaints above the service's limit. Nothing was sent; the service's operator must resume it.".into()
            }
            Msg::SmsCountryNotAllowed => "Text messages to this country are not enabled for this service.".into(),
            Msg::SmsDailyLimit => "This caller has sent its text messages for today. Try again tomorrow (UTC).".into(),
            Msg::BodyTooLarge { max_kib } => format!("The request body is over {max_kib} KiB."),
            Msg::Refused(r) => match r {
                Refusal::NotSigned => "The request is not signed: sign it with ACS3-HMAC-SHA256, HMAC-SHA1 (RPC) or TC3-HMAC-SHA256.".into(),
                Refusal::Missing(what) => format!("The signed request lacks {what}."),
                Refusal::Malformed(what) => format!("The signature information is malformed: {}.", what.en),
                Refusal::BadTimestamp => "The request time is not in the required format.".into(),
                Refusal::UnknownKey => "The AccessKeyId (SecretId) does not exist.".into(),
                Refusal::DisabledKey => "The AccessKeyId (SecretId) is disabled.".into(),
                Refusal::Expired { max_minutes } => format!("The request time differs from the server's by more than {max_minutes} minutes: check the clock and sign again."),
                Refusal::BadSignature => "The request signature does not match: check the secret and how the request is signed.".into(),
                Refusal::Replayed => "This signed request was already received: sign every request anew.".into(),
                Refusal::UnknownAction(a) => format!("The action {a:?} does not exist."),
                Refusal::ActionNotAllowed(a) => format!("This AccessKey may not call {a}."),
                Refusal::Unavailable => "The request could not be authenticated now. Try again later.".into(),
            },
        }
    }

    fn zh(&self) -> String {
        match self {
            Msg::Success => "成功".into(),
            Msg::Param(p) => match p {
                ParamProblem::Missing(name) => format!("缺少必填参数 {name}。"),
                ParamProblem::Invalid { name, expected } => {
                    format!("参数 {name} 的取值无效，应为{}。", expected.zh)
                }
                ParamProblem::TooManyEmails { max } => {
                    format!("参数 Email 中的邮箱超过 {max} 个。")
                }
                ParamProblem::MalformedJson => "请求体不是合法的 JSON。".into(),
                ParamProblem::Duplicate(name) => format!("参数 {name} 重复出现。"),
                ParamProblem::MalformedToken => "参数 Token 无效，应为 64 位十六进制字符。".into(),
                ParamProblem::UnknownLang => format!("{} {}", "参数 Lang 的取值无效，应为 en 或 zh，或其语言标签，例如 en-US、zh-CN、zh-Hans。", "The parameter Lang is invalid: expected en or zh, or a tag of either such as en-US, zh-CN or zh-Hans."),
            },
            Msg::InvalidEmail => "邮箱地址格式不正确。".into(),
            Msg::QuotaExceeded {
                retry_after_seconds,
            } => {
                format!("发送验证邮件的次数已超过上限，请在 {retry_after_seconds} 秒后重试。")
            }
            Msg::EmailVerificationExist => "该邮箱已有待验证的验证邮件。".into(),
            Msg::EmailVerified => "该邮箱已完成验证。".into(),
            Msg::EmailVerificationNotExist => "该邮箱的验证记录不存在。".into(),
            Msg::NetworkIo => "网络I/O异常，邮件未能发送。".into(),
            Msg::TokenInvalid => "验证链接无效，或已被新的链接取代。".into(),
            Msg::TokenExpired => "验证链接已过期。".into(),
            Msg::Forbidden => "请求未通过身份认证。".into(),
            Msg::Internal => "服务内部错误，请稍后重试。".into(),
            Msg::CodeSendLimited {
                retry_after_seconds,
            } => {
                format!("向该联系方式发送验证码过于频繁，请在 {retry_after_seconds} 秒后重试。")
            }
            Msg::CodeWrong { tries_left: 0 } => {
                "验证码错误，已无剩余尝试次数，请重新获取验证码。".into()
            }
            Msg::CodeWrong { tries_left } => format!("验证码错误，还可尝试 {tries_left} 次。"),
            Msg::CodeExpired => "验证码已过期，请重新获取。".into(),
            Msg::CodeMissing => "该联系方式没有待验证的验证码（未发送或已使用）。".into(),
            Msg::CodeLocked => "验证码错误次数过多，请重新获取验证码。".into(),
            Msg::ContactVerified => "该手机号或邮箱已验证。".into(),
            Msg::ContactNotFound => "该手机号或邮箱不在已验证列表中。".into(),
            Msg::CodeSendFailed => "验证码发送失败。".into(),
            Msg::Throttled {
                retry_after_seconds,
            } => format!("该调用方的请求过于频繁，请在 {retry_after_seconds} 秒后重试。"),
            Msg::EmailUndeliverable => {
                "该邮箱地址曾永久退信或被收件人标记为垃圾邮件，不再向其发送邮件。".into()
            }
            Msg::MailSuspended => {
                "该调用方的邮件已暂停发送：其邮件的退信率或投诉率超过本服务的上限。本次未发送任何邮件，需由服务运营方恢复。".into()
            }
            Msg::SmsCountryNotAllowed => "本服务未开通发往该国家或地区的短信。".into(),
            Msg::SmsDailyLimit => "该调用方今日的短信发送量已达上限，请于明天（UTC）再试。".into(),
            Msg::BodyTooLarge { max_kib } => format!("请求体超过 {max_kib} KiB。"),
            Msg::Refused(r) => match r {
                Refusal::NotSigned => {
                    "请求未签名：请使用 ACS3-HMAC-SHA256、HMAC-SHA1（RPC）或 TC3-HMAC-SHA256 签名。"
                        .into()
                }
                Refusal::Missing(what) => format!("签名请求缺少 {what}。"),
                Refusal::Malformed(what) => format!("签名信息格式错误：{}。", what.zh),
                Refusal::BadTimestamp => "请求时间的格式不正确。".into(),
                Refusal::UnknownKey => "AccessKeyId（SecretId）不存在。".into(),
                Refusal::DisabledKey => "AccessKeyId（SecretId）已被禁用。".into(),
                Refusal::Expired { max_minutes } => format!(
                    "请求时间与服务器时间相差超过 {max_minutes} 分钟，请校准时钟后重新签名。"
                ),
                Refusal::BadSignature => "请求签名不匹配，请检查密钥和签名方法。".into(),
                Refusal::Replayed => "该签名请求已被接收过，每个请求都须重新签名。".into(),
                Refusal::UnknownAction(a) => format!("接口 {a:?} 不存在。"),
                Refusal::ActionNotAllowed(a) => format!("该 AccessKey 无权调用接口 {a}。"),
                Refusal::Unavailable => "暂时无法验证请求身份，请稍后重试。".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every quoted string after `marker(` up to the closing quote, in `source`, skipping the first
    /// `skip` string arguments.
    fn quoted_after(source: &str, marker: &str, skip: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (i, _) in source.match_indices(marker) {
            let rest = &source[i + marker.len()..];
            // Only this call's own arguments: up to its closing parenthesis (none inside the strings).
            let (mut depth, mut end, mut in_string) = (1, rest.len(), false);
            for (j, c) in rest.char_indices() {
                match c {
                    '"' => in_string = !in_string,
                    '(' if !in_string => depth += 1,
                    ')' if !in_string => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            // The argument `skip` (counted by commas outside strings) must itself be a string literal.
            let args = &rest[..end];
            let mut parts = Vec::new();
            let (mut start, mut in_string, mut nested) = (0, false, 0);
            for (j, c) in args.char_indices() {
                match c {
                    '"' => in_string = !in_string,
                    '(' | '[' if !in_string => nested += 1,
                    ')' | ']' if !in_string => nested -= 1,
                    ',' if !in_string && nested == 0 => {
                        parts.push(args[start..j].trim());
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            parts.push(args[start..].trim());
            if let Some(arg) = parts
                .get(skip)
                .and_then(|a| a.strip_prefix('"'))
                .and_then(|a| a.strip_suffix('"'))
            {
                out.push(arg.to_string());
            }
        }
        out
    }

    /// Issue 9, defect 8: a Chinese message carries no English fragment. Every "expected …" of a parameter
    /// error and every detail of a front-door refusal, as written anywhere in the sources, has its Chinese.
    #[test]
    fn chinese_messages_carry_no_english_fragments() {
        let sources = [
            include_str!("actions/list.rs"),
            include_str!("actions/codes/describe.rs"),
            include_str!("params.rs"),
            include_str!("render.rs"),
            include_str!("action.rs"),
            include_str!("../../edge/src/front_door.rs"),
        ]
        .join("\n");
        // Every phrase is typed where it is written: no English string literal is left for a lookup.
        let mut literals = quoted_after(&sources, "ApiError::invalid(", 1);
        literals.extend(quoted_after(&sources, ".int(", 2));
        literals.extend(quoted_after(&sources, "Refusal::Malformed(", 0));
        assert!(literals.is_empty(), "untyped phrases: {literals:?}");
        assert!(crate::phrases::ALL.len() > 20);
        for phrase in crate::phrases::ALL {
            let en = phrase.en;
            let msg = Msg::Param(ParamProblem::Invalid {
                name: "X",
                expected: *phrase,
            });
            let zh = msg.text(Lang::Zh);
            // What may stay in Latin letters: names of parameters and headers, formats and standards.
            let mut rest = zh.clone();
            let mut tokens = vec![
                "X",
                "JSON",
                "XML",
                "E.164",
                "IPv4",
                "IPv6",
                "application/json",
                "application/x-www-form-urlencoded",
                "en",
                "zh",
                "ACS3-HMAC-SHA256",
                "TC3-HMAC-SHA256",
                "HMAC-SHA1",
                "Credential",
                "SignedHeaders",
                "Signature",
                "SignatureMethod",
                "SignatureVersion",
                "Authorization",
                "X-TC-Content-SHA256",
                "UNSIGNED-PAYLOAD",
                "X-TC-Timestamp",
                "UTC",
                "x-acs-action",
                "x-acs-date",
                "x-acs-signature-nonce",
                "content-type",
                "host",
                "tc3_request",
                "date",
                "service",
                "true",
                "false",
                "+8613800138000",
                "X-TC-Action",
                "AccessKeyId",
                "SignatureNonce",
                "Timestamp",
                "Action",
                "NextToken",
                "Unix",
                "SignatureMethod",
                "HmacSHA1",
                "HmacSHA256",
                "Email",
                "Type",
                "Code",
            ];
            // Longest first, so that `X` does not eat the X of `XML`.
            tokens.sort_by_key(|t| std::cmp::Reverse(t.len()));
            for token in tokens {
                rest = rest.replace(token, "");
            }
            assert!(
                !rest.chars().any(|c| c.is_ascii_alphabetic()),
                "{en:?} has no Chinese: {zh:?}"
            );
        }
    }

    #[test]
    fn every_message_exists_in_both_languages_and_differs() {
        let all = [
            Msg::Success,
            Msg::Param(ParamProblem::Missing("Email")),
            Msg::Param(ParamProblem::Invalid {
                name: "Lang",
                expected: crate::phrases::EN_OR_ZH,
            }),
            Msg::Param(ParamProblem::TooManyEmails { max: 100 }),
            Msg::Param(ParamProblem::MalformedJson),
            Msg::Param(ParamProblem::MalformedToken),
            Msg::Param(ParamProblem::UnknownLang),
            Msg::Param(ParamProblem::Duplicate("Email".into())),
            Msg::InvalidEmail,
            Msg::QuotaExceeded {
                retry_after_seconds: 42,
            },
            Msg::EmailVerificationExist,
            Msg::EmailVerified,
            Msg::EmailVerificationNotExist,
            Msg::NetworkIo,
            Msg::TokenInvalid,
            Msg::TokenExpired,
            Msg::Forbidden,
            Msg::Internal,
            Msg::CodeSendLimited {
                retry_after_seconds: 7,
            },
            Msg::CodeWrong { tries_left: 3 },
            Msg::CodeWrong { tries_left: 0 },
            Msg::CodeExpired,
            Msg::CodeMissing,
            Msg::CodeLocked,
            Msg::ContactVerified,
            Msg::ContactNotFound,
            Msg::Throttled {
                retry_after_seconds: 1,
            },
            Msg::EmailUndeliverable,
            Msg::MailSuspended,
            Msg::SmsCountryNotAllowed,
            Msg::SmsDailyLimit,
            Msg::Refused(Refusal::NotSigned),
            Msg::Refused(Refusal::Missing("x-acs-date")),
            Msg::Refused(Refusal::Malformed("Authorization".into())),
            Msg::Refused(Refusal::BadTimestamp),
            Msg::Refused(Refusal::UnknownKey),
            Msg::Refused(Refusal::DisabledKey),
            Msg::Refused(Refusal::Expired { max_minutes: 15 }),
            Msg::Refused(Refusal::BadSignature),
            Msg::Refused(Refusal::Replayed),
            Msg::Refused(Refusal::UnknownAction("X".into())),
            Msg::Refused(Refusal::ActionNotAllowed("X".into())),
            Msg::Refused(Refusal::Unavailable),
            Msg::CodeSendFailed,
            Msg::BodyTooLarge { max_kib: 64 },
        ];
        for m in all {
            let (en, zh) = (m.text(Lang::En), m.text(Lang::Zh));
            assert!(!en.is_empty() && !zh.is_empty());
            assert_ne!(en, zh, "{m:?} is not translated");
        }
        assert!(Msg::QuotaExceeded {
            retry_after_seconds: 42
        }
        .text(Lang::Zh)
        .contains("42"));
    }
}
