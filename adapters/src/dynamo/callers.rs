//! What is kept of each caller as a whole (`CALLER#<caller>`: its mail stop), its mail outcomes per UTC day
//! (`OUTCOMES#<caller>#<day>`), and the operator's clear of an undeliverable address.

use aws_sdk_dynamodb::types::ReturnValue;

use super::keys::{caller_pk, delivery_pk, outcomes_pk};
use super::table::*;
use shared::callers::{CallerState, MailOutcomes, MailStop};
use shared::error::BackendError;
use shared::model::{CallerId, EmailAddress};
use shared::settings::CallerSettings;
use shared::store::CallerStore;

fn item_to_caller(item: Option<&Item>) -> Result<CallerState, BackendError> {
    let Some(item) = item else {
        return Ok(CallerState::default());
    };
    let mail_stop = get_opt_time(item, "mail_stopped_at")?.map(|at| MailStop {
        at,
        reason: item
            .get("mail_stop_reason")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default(),
    });
    // A document stored by `make callers` was checked then; one that no longer passes (rules tightened
    // since) is not used, and says so, rather than failing every send of the caller.
    let settings = match item.get("settings").and_then(|v| v.as_s().ok()) {
        None => None,
        Some(text) => parsed(text),
    };
    Ok(CallerState {
        mail_stop,
        settings,
    })
}

/// A stored document, checked and its templates compiled once per text: the caller cache's refresh (every
/// 10 s) of an unchanged document reuses them.
fn parsed(text: &str) -> Option<std::sync::Arc<CallerSettings>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<String, Arc<CallerSettings>>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Default::default);
    if let Some(s) = seen.lock().ok().and_then(|m| m.get(text).cloned()) {
        return Some(s);
    }
    match CallerSettings::parse(text) {
        Ok(s) => {
            let s = Arc::new(s);
            if let Ok(mut m) = seen.lock() {
                // A warm function sees few documents; one that sees many starts over.
                if m.len() >= 256 {
                    m.clear();
                }
                m.insert(text.to_string(), s.clone());
            }
            Some(s)
        }
        Err(problems) => {
            tracing::error!(problem = %problems[0], "the caller's stored settings do not pass the checks: the stack's defaults apply; put them again");
            None
        }
    }
}

fn count(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

impl DynamoStore {
    /// The caller's state for a send: the cached copy, or the caller item read along with the send's own
    /// items (then cached). No request of its own.
    pub(crate) fn caller_state_from(
        &self,
        caller: &CallerId,
        cached: Option<CallerState>,
        read: Option<&Option<Item>>,
    ) -> Result<CallerState, BackendError> {
        if let Some(state) = cached {
            return Ok(state);
        }
        let state = item_to_caller(read.and_then(Option::as_ref))?;
        self.callers.put(caller, state.clone());
        Ok(state)
    }
}

impl CallerStore for DynamoStore {
    #[tracing::instrument(skip_all)]
    async fn caller_state(&self, caller: &CallerId) -> Result<CallerState, BackendError> {
        if let Some(state) = self.callers.get(caller) {
            return Ok(state);
        }
        let item = self.get(caller_pk(caller)).await?;
        self.caller_state_from(caller, None, Some(&item))
    }

    #[tracing::instrument(skip_all)]
    async fn count_mail_outcomes(
        &self,
        caller: &CallerId,
        day: &str,
        add: MailOutcomes,
    ) -> Result<MailOutcomes, BackendError> {
        // Kept two days past its own day, then swept by TTL.
        let expires = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map_err(|_| malformed("day"))?
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
            + 3 * 86_400;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(outcomes_pk(caller, day)))
            .update_expression(
                "SET kind = :kind, #ttl = :ttl ADD mails :m, bounces :b, complaints :c",
            )
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":kind", s("outcomes"))
            .expression_attribute_values(":ttl", n(expires))
            .expression_attribute_values(":m", n(add.mails as i64))
            .expression_attribute_values(":b", n(add.bounces as i64))
            .expression_attribute_values(":c", n(add.complaints as i64))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(store_err)?;
        let item = out.attributes.unwrap_or_default();
        Ok(MailOutcomes {
            mails: count(&item, "mails"),
            bounces: count(&item, "bounces"),
            complaints: count(&item, "complaints"),
        })
    }

    #[tracing::instrument(skip_all)]
    async fn stop_caller_mail(
        &self,
        caller: &CallerId,
        stop: &MailStop,
    ) -> Result<bool, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(caller_pk(caller)))
            .update_expression("SET kind = :kind, mail_stopped_at = :at, mail_stop_reason = :why")
            .condition_expression("attribute_not_exists(mail_stopped_at)")
            .expression_attribute_values(":kind", s("caller"))
            .expression_attribute_values(":at", ms(stop.at))
            .expression_attribute_values(":why", s(&stop.reason))
            .send()
            .await;
        applied(result)
    }

    #[tracing::instrument(skip_all)]
    async fn resume_caller_mail(&self, caller: &CallerId, day: &str) -> Result<bool, BackendError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(outcomes_pk(caller, day)))
            .send()
            .await
            .map_err(store_err)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(caller_pk(caller)))
            .update_expression("REMOVE mail_stopped_at, mail_stop_reason")
            .condition_expression("attribute_exists(mail_stopped_at)")
            .send()
            .await;
        applied(result)
    }

    #[tracing::instrument(skip_all)]
    async fn put_caller_settings(&self, caller: &CallerId, text: &str) -> Result<(), BackendError> {
        CallerSettings::parse(text)
            .map_err(|p| BackendError::Store(format!("settings not checked: {}", p[0])))?;
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(caller_pk(caller)))
            .update_expression("SET kind = :kind, settings = :doc, settings_at = :at")
            .expression_attribute_values(":kind", s("caller"))
            .expression_attribute_values(":doc", s(text))
            .expression_attribute_values(":at", ms(chrono::Utc::now()))
            .send()
            .await
            .map_err(store_err)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn caller_settings_text(
        &self,
        caller: &CallerId,
    ) -> Result<Option<String>, BackendError> {
        Ok(self
            .get(caller_pk(caller))
            .await?
            .and_then(|item| item.get("settings").and_then(|v| v.as_s().ok()).cloned()))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_caller_settings(&self, caller: &CallerId) -> Result<bool, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(caller_pk(caller)))
            .update_expression("REMOVE settings, settings_at")
            .condition_expression("attribute_exists(settings)")
            .send()
            .await;
        applied(result)
    }

    #[tracing::instrument(skip_all, fields(email = %email.masked()))]
    async fn clear_undeliverable(&self, email: &EmailAddress) -> Result<bool, BackendError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(delivery_pk(email.as_str())))
            .update_expression("REMOVE undeliverable, undeliverable_at, undeliverable_reason")
            .condition_expression("attribute_exists(undeliverable)")
            .send()
            .await;
        applied(result)
    }
}
