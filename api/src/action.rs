//! The shape every action shares: a parsed request in, a reply or an error out, and what the action
//! declares of itself (its name, envelope, what it uses).

use std::future::Future;

use shared::app::App;
use shared::mail::Mailer;
use shared::model::{CallerId, Lang};
use shared::store::Store;

use crate::error::ApiError;
use crate::params::Params;
use crate::render::{Body, Style};

/// A request as every action sees it, whatever carried it.
#[derive(Clone, Debug)]
pub struct Request {
    pub params: Params,
    pub lang: Lang,
    /// `None` when the request carries no identity (the public link page).
    pub caller: Option<CallerId>,
    /// `UserClientIp` when given, else the connection's source address.
    pub client_ip: String,
    /// The public link page (`GET /verify-email`) rather than the API.
    pub public_link: bool,
    /// Where this request's mail links point (see [`shared::config::Config::public_base_url`]).
    pub link_base: String,
    /// Until when this request may hand messages over ([`shared::config::Config::send_budget`] from its start).
    pub deadline: tokio::time::Instant,
    /// The request's `User-Agent` header (evidence keeps it).
    pub user_agent: Option<String>,
}

impl Request {
    /// Builds a request from parameters, reading `Lang` and `UserClientIp` the same way for every action.
    /// On the public link page `UserClientIp` is ignored: whoever holds a link must not choose the
    /// `ConfirmIp` it records.
    pub fn new(
        params: Params,
        caller: Option<CallerId>,
        source_ip: &str,
        public_link: bool,
    ) -> Result<Self, ApiError> {
        let lang = params.lang()?;
        let given_ip = params.get("UserClientIp").filter(|_| !public_link);
        let client_ip = match given_ip {
            // An IP address, written back in its canonical form: nothing else is ever stored.
            Some(ip) => ip
                .parse::<std::net::IpAddr>()
                .map_err(|_| ApiError::invalid("UserClientIp", crate::phrases::AN_IP_ADDRESS))?
                .to_string(),
            None => source_ip.to_string(),
        };
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        Ok(Self {
            params,
            lang,
            caller,
            client_ip,
            public_link,
            link_base: String::new(),
            deadline,
            user_agent: None,
        })
    }

    /// The request may hand messages over for `budget` from now.
    pub fn with_send_budget(mut self, budget: std::time::Duration) -> Self {
        self.deadline = tokio::time::Instant::now() + budget;
        self
    }

    pub fn with_user_agent(mut self, user_agent: Option<String>) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Where the request came from, as the evidence log keeps it.
    pub fn source(&self) -> shared::evidence::Source {
        shared::evidence::Source::new(&self.client_ip, self.user_agent.as_deref())
    }

    pub fn with_link_base(mut self, base: impl Into<String>) -> Self {
        self.link_base = base.into();
        self
    }

    /// What the workflows need of this request.
    pub fn context(&self) -> shared::workflows::Context {
        shared::workflows::Context {
            lang: self.lang,
            client_ip: self.client_ip.clone(),
            link_base: self.link_base.clone(),
            deadline: self.deadline,
            domains: None,
            user_agent: self.user_agent.clone(),
        }
    }

    pub fn caller(&self) -> Result<&CallerId, ApiError> {
        self.caller.as_ref().ok_or(ApiError::Forbidden)
    }
}

/// What an action answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// An API answer, rendered as JSON or XML with the request id added.
    Api(Body),
    /// An HTML page (the public link).
    Page { status: u16, html: String },
}

/// One API action: its name and what it does.
pub trait Action: Send + Sync + 'static {
    /// The action's name, as in the vendor's API (`SubmitEmailVerification`).
    const NAME: &'static str;
    /// The envelope its answers and errors come in.
    const STYLE: Style = Style::Alibaba;
    /// What it uses besides the table. A function builds only these, so that its binary holds no client
    /// (and no SDK code) it never calls, and its cold start makes nothing it does not need.
    const SENDS_MAIL: bool = false;
    const SENDS_SMS: bool = false;
    const USES_CODE_SECRET: bool = false;
    /// The DynamoDB API actions its store calls make (`GetItem`, ...; a transaction needs the action of
    /// each of its items). The template grants each function exactly these (tests/tests/deployment.rs).
    const DYNAMODB: &'static [&'static str];
    /// The HTTP routes its function takes (template.yaml's events are generated from them, `make template`);
    /// the function answers any other request 404, as a deployed API does.
    const ROUTES: &'static [crate::routes::Route] = &[crate::routes::Route::POST];

    fn handle<S: Store, M: Mailer>(
        app: &App<S, M>,
        req: &Request,
    ) -> impl Future<Output = Result<Reply, ApiError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ip(ip: &str) -> Result<Request, ApiError> {
        Request::new(
            Params::from_pairs([("UserClientIp", ip)]),
            None,
            "203.0.113.9",
            false,
        )
    }

    /// Issue 9, defect 5: `UserClientIp` is an IP address or nothing; a 390 KB value once went into 100
    /// records per call and made List answers exceed Lambda's 6 MB.
    #[test]
    fn user_client_ip_is_an_ip_address() {
        assert_eq!(with_ip("198.51.100.7").unwrap().client_ip, "198.51.100.7");
        assert_eq!(with_ip(" 2001:db8::1 ").unwrap().client_ip, "2001:db8::1");
        for bad in [
            "x".repeat(390_000).as_str(),
            "not an ip",
            "198.51.100.7, 10.0.0.1",
            "1.2.3",
            "<script>",
        ] {
            assert_eq!(
                with_ip(bad).err().map(|e| e.code()),
                Some("ParameterIllegal"),
                "{:.40}",
                bad
            );
        }
        assert_eq!(
            Request::new(Params::default(), None, "203.0.113.9", false)
                .unwrap()
                .client_ip,
            "203.0.113.9"
        );
        // The link page ignores it, whatever it holds.
        let page = Request::new(
            Params::from_pairs([("UserClientIp", "junk")]),
            None,
            "203.0.113.9",
            true,
        )
        .unwrap();
        assert_eq!(page.client_ip, "203.0.113.9");
    }
}
