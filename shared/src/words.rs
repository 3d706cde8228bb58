//! The words of the link page, in English and Chinese. (The mails' and texts' words are templates:
//! `crate::templates`; the API's own messages are the vendors' wire: `api::messages`.)

use crate::model::Lang;

/// The words of the link page.
pub struct Words {
    pub page_title: &'static str,
    pub page_verified: &'static str,
    pub page_verified_detail: &'static str,
    pub page_failed: &'static str,
    pub page_what_next: &'static str,
    /// A link cut short (its token is not 64 hexadecimal characters, or missing), and what to do.
    pub page_incomplete: &'static str,
    pub page_incomplete_next: &'static str,
    /// A link past its three days.
    pub page_expired: &'static str,
    /// A well-formed link that no record knows (replaced by a newer mail, or deleted).
    pub page_unknown: &'static str,
    /// The service could not check the link just now.
    pub page_busy: &'static str,
    pub page_busy_next: &'static str,
}

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Zh => &ZH,
    }
}

static EN: Words = Words {
    page_title: "Email verification",
    page_verified: "Your email address is verified.",
    page_verified_detail: "Thank you. You can close this page.",
    page_failed: "Your email address could not be verified.",
    page_what_next: "Ask the service that sent you the mail for a new verification link.",
    page_incomplete: "This link is incomplete: part of it was lost on the way from the mail.",
    page_incomplete_next: "Open the link again from the mail. If you copy it, copy all of it; if it breaks over two lines, join them. If it still fails, ask for a new verification mail.",
    page_expired: "This link has expired.",
    page_unknown: "This link is no longer valid: a newer mail may have replaced it.",
    page_busy: "The link could not be checked just now.",
    page_busy_next: "Please try again in a few minutes.",
};

static ZH: Words = Words {
    page_title: "邮箱验证",
    page_verified: "您的邮箱地址已验证成功。",
    page_verified_detail: "谢谢。您可以关闭此页面。",
    page_failed: "您的邮箱地址未能验证。",
    page_what_next: "请联系向您发送邮件的服务，重新获取验证链接。",
    page_incomplete: "此链接不完整：从邮件中打开时部分内容丢失了。",
    page_incomplete_next: "请从邮件中重新打开链接。如需复制，请复制完整链接；如链接被分成两行，请将其连起来。如仍无法验证，请重新获取验证邮件。",
    page_expired: "此链接已过期。",
    page_unknown: "此链接已失效：可能已被更新的邮件取代。",
    page_busy: "暂时无法检查此链接。",
    page_busy_next: "请几分钟后再试。",
};
