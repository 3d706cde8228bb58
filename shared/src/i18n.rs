//! Every sentence the service says, in English and Chinese. Codes stay as the vendors spell them;
//! only messages are translated.

use crate::front_door::Refusal;
use crate::model::Lang;

/// What a parameter error is about; the message names the parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamProblem {
    Missing(&'static str),
    /// The value is not one of the allowed ones; `expected` says which are allowed (the same in both languages).
    Invalid { name: &'static str, expected: &'static str },
    TooManyEmails { max: usize },
    MalformedJson,
    MalformedToken,
}

/// A sentence of the service, ready to be put in a language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Success,
    Param(ParamProblem),
    InvalidEmail,
    QuotaExceeded { retry_after_seconds: i64 },
    EmailVerificationExist,
    EmailVerified,
    EmailVerificationNotExist,
    NetworkIo,
    TokenInvalid,
    TokenExpired,
    Forbidden,
    Internal,
    CodeSendLimited { retry_after_seconds: i64 },
    CodeWrong { tries_left: u32 },
    CodeExpired,
    CodeMissing,
    CodeLocked,
    ContactVerified,
    ContactNotFound,
    CodeSendFailed,
    /// The front door refused a signed request.
    Refused(Refusal),
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
                    format!("The parameter {name} is invalid: expected {expected}.")
                }
                ParamProblem::TooManyEmails { max } => {
                    format!("The parameter Email holds more than {max} addresses.")
                }
                ParamProblem::MalformedJson => "The request body is not valid JSON.".into(),
                ParamProblem::MalformedToken => {
                    "The parameter Token is invalid: expected 64 hexadecimal characters.".into()
                }
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
            Msg::Refused(r) => match r {
                Refusal::NotSigned => "The request is not signed: sign it with ACS3-HMAC-SHA256, HMAC-SHA1 (RPC) or TC3-HMAC-SHA256.".into(),
                Refusal::Missing(what) => format!("The signed request lacks {what}."),
                Refusal::Malformed(what) => format!("The signature information is malformed: {what}."),
                Refusal::BadTimestamp => "The request time is not in the required format.".into(),
                Refusal::UnknownKey => "The AccessKeyId (SecretId) does not exist.".into(),
                Refusal::DisabledKey => "The AccessKeyId (SecretId) is disabled.".into(),
                Refusal::Expired { max_minutes } => format!("The request time differs from the server's by more than {max_minutes} minutes: check the clock and sign again."),
                Refusal::BadSignature => "The request signature does not match: check the secret and how the request is signed.".into(),
                Refusal::Replayed => "This signed request was already received: sign every request anew.".into(),
                Refusal::UnknownAction(a) => format!("The action {a:?} does not exist."),
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
                    format!("参数 {name} 的取值无效，应为 {expected}。")
                }
                ParamProblem::TooManyEmails { max } => format!("参数 Email 中的邮箱超过 {max} 个。"),
                ParamProblem::MalformedJson => "请求体不是合法的 JSON。".into(),
                ParamProblem::MalformedToken => "参数 Token 无效，应为 64 位十六进制字符。".into(),
            },
            Msg::InvalidEmail => "邮箱地址格式不正确。".into(),
            Msg::QuotaExceeded { retry_after_seconds } => {
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
            Msg::CodeSendLimited { retry_after_seconds } => {
                format!("向该联系方式发送验证码过于频繁，请在 {retry_after_seconds} 秒后重试。")
            }
            Msg::CodeWrong { tries_left: 0 } => "验证码错误，已无剩余尝试次数，请重新获取验证码。".into(),
            Msg::CodeWrong { tries_left } => format!("验证码错误，还可尝试 {tries_left} 次。"),
            Msg::CodeExpired => "验证码已过期，请重新获取。".into(),
            Msg::CodeMissing => "该联系方式没有待验证的验证码（未发送或已使用）。".into(),
            Msg::CodeLocked => "验证码错误次数过多，请重新获取验证码。".into(),
            Msg::ContactVerified => "该手机号或邮箱已验证。".into(),
            Msg::ContactNotFound => "该手机号或邮箱不在已验证列表中。".into(),
            Msg::CodeSendFailed => "验证码发送失败。".into(),
            Msg::Refused(r) => match r {
                Refusal::NotSigned => "请求未签名：请使用 ACS3-HMAC-SHA256、HMAC-SHA1（RPC）或 TC3-HMAC-SHA256 签名。".into(),
                Refusal::Missing(what) => format!("签名请求缺少 {what}。"),
                Refusal::Malformed(what) => format!("签名信息格式错误：{what}。"),
                Refusal::BadTimestamp => "请求时间的格式不正确。".into(),
                Refusal::UnknownKey => "AccessKeyId（SecretId）不存在。".into(),
                Refusal::DisabledKey => "AccessKeyId（SecretId）已被禁用。".into(),
                Refusal::Expired { max_minutes } => format!("请求时间与服务器时间相差超过 {max_minutes} 分钟，请校准时钟后重新签名。"),
                Refusal::BadSignature => "请求签名不匹配，请检查密钥和签名方法。".into(),
                Refusal::Replayed => "该签名请求已被接收过，每个请求都须重新签名。".into(),
                Refusal::UnknownAction(a) => format!("接口 {a:?} 不存在。"),
                Refusal::Unavailable => "暂时无法验证请求身份，请稍后重试。".into(),
            },
        }
    }
}

/// The words of the verification mail and of the link page.
pub struct Words {
    pub mail_subject: &'static str,
    pub mail_greeting: &'static str,
    pub mail_instruction: &'static str,
    pub mail_button: &'static str,
    pub mail_expiry: &'static str,
    pub mail_ignore: &'static str,
    pub page_title: &'static str,
    pub page_verified: &'static str,
    pub page_verified_detail: &'static str,
    pub page_failed: &'static str,
    pub page_what_next: &'static str,
    pub code_subject: &'static str,
    pub code_intro: &'static str,
    pub code_expiry: &'static str,
    /// `{code}` stands for the code.
    pub sms_body: &'static str,
}

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

static EN: Words = Words {
    mail_subject: "Verify your email address",
    mail_greeting: "Hello,",
    mail_instruction: "Please confirm that this email address belongs to you by opening the link below:",
    mail_button: "Verify email address",
    mail_expiry: "The link is valid for 3 days.",
    mail_ignore: "If you did not ask for this, you can ignore this mail.",
    page_title: "Email verification",
    page_verified: "Your email address is verified.",
    page_verified_detail: "Thank you. You can close this page.",
    page_failed: "Your email address could not be verified.",
    page_what_next: "Ask the service that sent you the mail for a new verification link.",
    code_subject: "Your verification code",
    code_intro: "Your verification code is:",
    code_expiry: "It expires in 10 minutes and can be used once.",
    sms_body: "Your verification code is {code}. It expires in 10 minutes.",
};

static ZH: Words = Words {
    mail_subject: "请验证您的邮箱地址",
    mail_greeting: "您好：",
    mail_instruction: "请打开下面的链接，确认此邮箱地址属于您：",
    mail_button: "验证邮箱地址",
    mail_expiry: "链接在 3 天内有效。",
    mail_ignore: "如果这不是您本人的操作，请忽略此邮件。",
    page_title: "邮箱验证",
    page_verified: "您的邮箱地址已验证成功。",
    page_verified_detail: "谢谢。您可以关闭此页面。",
    page_failed: "您的邮箱地址未能验证。",
    page_what_next: "请联系向您发送邮件的服务，重新获取验证链接。",
    code_subject: "您的验证码",
    code_intro: "您的验证码是：",
    code_expiry: "验证码 10 分钟内有效，仅可使用一次。",
    sms_body: "您的验证码是 {code}，10 分钟内有效。",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_exists_in_both_languages_and_differs() {
        let all = [
            Msg::Success,
            Msg::Param(ParamProblem::Missing("Email")),
            Msg::Param(ParamProblem::Invalid { name: "Lang", expected: "en or zh" }),
            Msg::Param(ParamProblem::TooManyEmails { max: 100 }),
            Msg::Param(ParamProblem::MalformedJson),
            Msg::Param(ParamProblem::MalformedToken),
            Msg::InvalidEmail,
            Msg::QuotaExceeded { retry_after_seconds: 42 },
            Msg::EmailVerificationExist,
            Msg::EmailVerified,
            Msg::EmailVerificationNotExist,
            Msg::NetworkIo,
            Msg::TokenInvalid,
            Msg::TokenExpired,
            Msg::Forbidden,
            Msg::Internal,
            Msg::CodeSendLimited { retry_after_seconds: 7 },
            Msg::CodeWrong { tries_left: 3 },
            Msg::CodeWrong { tries_left: 0 },
            Msg::CodeExpired,
            Msg::CodeMissing,
            Msg::CodeLocked,
            Msg::ContactVerified,
            Msg::ContactNotFound,
            Msg::Refused(Refusal::NotSigned),
            Msg::Refused(Refusal::Missing("x-acs-date")),
            Msg::Refused(Refusal::Malformed("Authorization")),
            Msg::Refused(Refusal::BadTimestamp),
            Msg::Refused(Refusal::UnknownKey),
            Msg::Refused(Refusal::DisabledKey),
            Msg::Refused(Refusal::Expired { max_minutes: 15 }),
            Msg::Refused(Refusal::BadSignature),
            Msg::Refused(Refusal::Replayed),
            Msg::Refused(Refusal::UnknownAction("X".into())),
            Msg::Refused(Refusal::Unavailable),
            Msg::CodeSendFailed,
        ];
        for m in all {
            let (en, zh) = (m.text(Lang::En), m.text(Lang::Zh));
            assert!(!en.is_empty() && !zh.is_empty());
            assert_ne!(en, zh, "{m:?} is not translated");
        }
        assert!(Msg::QuotaExceeded { retry_after_seconds: 42 }.text(Lang::Zh).contains("42"));
    }
}
