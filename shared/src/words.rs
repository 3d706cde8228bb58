//! The words a person reads: the verification mail, the code mail and text, and the link page, in
//! English and Chinese. (The API's own messages are the vendors' wire: `api::messages`.)

use crate::model::Lang;

/// The words of the verification mail and of the link page.
pub struct Words {
    pub mail_subject: &'static str,
    pub mail_greeting: &'static str,
    pub mail_instruction: &'static str,
    pub mail_button: &'static str,
    pub mail_expiry: &'static str,
    pub mail_ignore: &'static str,
    /// Before the list of the domain names the address is the contact of (`Domains`).
    pub mail_domains: &'static str,
    /// A reminder's subject, and its first line (`{n}`: whole days left until the deadline).
    pub reminder_subject: &'static str,
    pub reminder_days_left: &'static str,
    pub reminder_one_day_left: &'static str,
    pub reminder_no_password: &'static str,
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
    mail_instruction:
        "Please confirm that this email address belongs to you by opening the link below:",
    mail_button: "Verify email address",
    mail_expiry: "The link is valid for 3 days.",
    mail_ignore: "If you did not ask for this, you can ignore this mail.",
    mail_domains: "This address is the contact of these domain names:",
    reminder_subject: "Reminder: verify your email address",
    reminder_days_left: "Reminder: {n} days are left to verify this email address. After that, the domain names below may be suspended until it is verified.",
    reminder_one_day_left: "Reminder: 1 day is left to verify this email address. After that, the domain names below may be suspended until it is verified.",
    reminder_no_password: "We will never ask you for a password.",
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
    mail_domains: "此邮箱地址是以下域名的联系人：",
    reminder_subject: "提醒：请验证您的邮箱地址",
    reminder_days_left: "提醒：距离验证此邮箱地址的截止日期还有 {n} 天。逾期未验证，下列域名可能被暂停解析，直至验证完成。",
    reminder_one_day_left: "提醒：距离验证此邮箱地址的截止日期还有 1 天。逾期未验证，下列域名可能被暂停解析，直至验证完成。",
    reminder_no_password: "我们绝不会向您索要密码。",
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
