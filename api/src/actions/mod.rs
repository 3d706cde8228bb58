//! The actions. Each file holds one, as a unit type implementing [`crate::action::Action`]: the six
//! Alibaba-style link actions here (`send` holds what Submit and Resend share), the four Tencent-style
//! code actions in `codes`, and the evidence log's reader (`evidence`, an extension in Alibaba's style).

mod codes;
mod delete;
mod evidence;
pub mod items;
mod list;
mod query;
mod resend;
mod send;
mod submit;
mod verify;

pub use codes::{
    CreateIntlPhoneEmail, DeleteIntlPhoneEmail, DescribeIntlPhoneEmailList, SendIntlPhoneEmailCode,
};
pub use delete::DeleteEmailVerification;
pub use evidence::DescribeVerificationEvidence;
pub use list::ListEmailVerification;
pub use query::QueryEmailVerification;
pub use resend::ResendEmailVerification;
pub use submit::SubmitEmailVerification;
pub use verify::{page, VerifyEmail};

use std::future::Future;
use std::pin::Pin;

use crate::action::{Action, Reply, Request};
use crate::error::ApiError;
use crate::render::Style;
use shared::app::App;
use shared::mail::Mailer;
use shared::store::Store;

/// What an action is and what it uses, read off its [`Action`] constants: the one description that the
/// per-action functions, the front door, the template test and the bench all go by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// `SubmitEmailVerification`.
    pub name: &'static str,
    pub style: Style,
    pub sends_mail: bool,
    pub sends_sms: bool,
    pub uses_code_secret: bool,
    /// The DynamoDB API actions it calls ([`Action::DYNAMODB`]).
    pub dynamodb: &'static [&'static str],
    /// Its function's HTTP routes ([`Action::ROUTES`]).
    pub routes: &'static [crate::routes::Route],
    /// It only reads (every one of its DynamoDB actions reads): repeating it changes nothing, so the front
    /// door records no replay entry for a Tencent-signed call of it (whose signature is per second).
    pub reads_only: bool,
}

/// The DynamoDB actions that every function's door takes before its action runs: `UpdateItem`, the
/// caller's shared request count ([`shared::rate::admit`]). The template grants them beside the action's
/// own ([`Info::dynamodb`]).
pub const DOOR_DYNAMODB: &[&str] = &["UpdateItem"];

/// What a function of `info` may do in DynamoDB: its action's calls, then the door's, once each.
pub fn function_dynamodb(info: &Info) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = info.dynamodb.to_vec();
    for d in DOOR_DYNAMODB {
        if !all.contains(d) {
            all.push(d);
        }
    }
    all
}

/// The DynamoDB API actions that only read.
const READS: [&str; 4] = ["GetItem", "BatchGetItem", "Query", "Scan"];

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether every one of `dynamodb` only reads.
const fn only_reads(dynamodb: &[&str]) -> bool {
    let mut i = 0;
    while i < dynamodb.len() {
        let mut j = 0;
        let mut read = false;
        while j < READS.len() {
            read |= same(dynamodb[i], READS[j]);
            j += 1;
        }
        if !read {
            return false;
        }
        i += 1;
    }
    true
}

impl Info {
    pub const fn of<A: Action>() -> Self {
        Self {
            name: A::NAME,
            style: A::STYLE,
            sends_mail: A::SENDS_MAIL,
            sends_sms: A::SENDS_SMS,
            uses_code_secret: A::USES_CODE_SECRET,
            dynamodb: A::DYNAMODB,
            routes: A::ROUTES,
            reads_only: only_reads(A::DYNAMODB) && !A::SENDS_MAIL && !A::SENDS_SMS,
        }
    }

    /// The function's (and binary's) name: `SubmitEmailVerification` -> `submit-email-verification`.
    pub fn function_name(&self) -> String {
        let mut out = String::with_capacity(self.name.len() + 4);
        for (i, c) in self.name.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }
}

/// The future an action's handler returns, boxed so that the ten fit in one table.
pub type Handled<'a> = Pin<Box<dyn Future<Output = Result<Reply, ApiError>> + Send + 'a>>;

/// One action: what it is, and its handler for a store `S` and a mailer `M`.
pub struct Entry<S, M> {
    pub info: Info,
    pub handle: for<'a> fn(&'a App<S, M>, &'a Request) -> Handled<'a>,
}

impl<S, M> Clone for Entry<S, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, M> Copy for Entry<S, M> {}

fn boxed<'a, A: Action, S: Store, M: Mailer>(app: &'a App<S, M>, req: &'a Request) -> Handled<'a> {
    Box::pin(A::handle(app, req))
}

impl<S: Store, M: Mailer> Entry<S, M> {
    pub fn of<A: Action>() -> Self {
        Self {
            info: Info::of::<A>(),
            handle: boxed::<A, S, M>,
        }
    }
}

/// Every action, once, in one list: [`ALL`] says what each is and uses, [`table`] holds their handlers.
/// The per-action functions each serve one entry; the front door finds its action here by name.
macro_rules! action_table {
    ($($action:ty),* $(,)?) => {
        pub const ALL: [Info; [$(stringify!($action)),*].len()] = [$(Info::of::<$action>()),*];

        pub fn table<S: Store, M: Mailer>() -> [Entry<S, M>; ALL.len()] {
            [$(Entry::of::<$action>()),*]
        }
    };
}

action_table![
    SubmitEmailVerification,
    ResendEmailVerification,
    VerifyEmail,
    QueryEmailVerification,
    ListEmailVerification,
    DeleteEmailVerification,
    SendIntlPhoneEmailCode,
    CreateIntlPhoneEmail,
    DescribeIntlPhoneEmailList,
    DeleteIntlPhoneEmail,
    DescribeVerificationEvidence,
];

/// What the actions of the table use together (the front door serves them all, so it builds all of it).
pub const ALL_NEEDS: Info = {
    // Its DynamoDB actions are the union of theirs plus PutItem (the replay record): tests/tests/deployment.rs.
    let mut all = Info {
        name: "*",
        style: Style::Alibaba,
        sends_mail: false,
        sends_sms: false,
        uses_code_secret: false,
        dynamodb: &[],
        routes: &[],
        reads_only: false,
    };
    let mut i = 0;
    while i < ALL.len() {
        all.sends_mail |= ALL[i].sends_mail;
        all.sends_sms |= ALL[i].sends_sms;
        all.uses_code_secret |= ALL[i].uses_code_secret;
        i += 1;
    }
    all
};

/// The action of that name (exactly as the vendors spell it).
pub fn find<S: Store, M: Mailer>(name: &str) -> Option<Entry<S, M>> {
    table::<S, M>().into_iter().find(|e| e.info.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reads_are_query_list_and_describe() {
        let reads: Vec<&str> = ALL
            .iter()
            .filter(|i| i.reads_only)
            .map(|i| i.name)
            .collect();
        assert_eq!(
            reads,
            [
                "QueryEmailVerification",
                "ListEmailVerification",
                "DescribeIntlPhoneEmailList",
                "DescribeVerificationEvidence"
            ]
        );
    }
}
