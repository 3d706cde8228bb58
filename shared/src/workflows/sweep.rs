//! The deadline sweep (function `deadline-sweep`, every 5 minutes deployed, every 10 s under `make run`):
//! for each record whose work is due ([`crate::store::SweepStore::due_records`]), either a reminder or the
//! deadline.
//!
//! - **A reminder** (a day of the record's `RemindAfterDays`): a mail with a fresh link (which replaces the
//!   old one) that says how many days are left. It spends no per-address quota; it counts in the caller's
//!   `MailPerDay` (a full day leaves it for a later sweep). An undeliverable address, or a caller whose
//!   mail is stopped, gets none: the reminder is passed over (`reminders_skipped`).
//! - **At most once:** the reminder is claimed (the record's count moves on, conditional on the version read)
//!   before its mail goes, then committed, or given back if the mail was refused. Two sweeps at once claim it
//!   once; a sweep that dies between the mail and the commit leaves it claimed, so it is never sent again.
//! - **The deadline:** a record still pending is marked `DeadlineMissed`, once (conditional on the version).

use chrono::{DateTime, Utc};

use super::day::{take_day, DayTaken};
use crate::app::App;
use crate::error::BackendError;
use crate::evidence::{self, Evidence, Handed, Kind, Source, Subject};
use crate::mail::{verification_link, DeadlineNote, Letter, Mailer};
use crate::model::{CallerId, Due, EmailAddress, Token, TokenRecord, VerificationRecord};
use crate::spend::Daily;
use crate::store::{Store, SweepStore, WriteError};

/// The most records one run looks at; the rest wait for the next run (5 minutes deployed).
pub const SWEEP_LIMIT: usize = 500;

/// What one run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Records the due index gave.
    pub due: usize,
    pub reminded: usize,
    /// Reminders passed over (undeliverable address, stopped mail).
    pub skipped: usize,
    pub missed: usize,
    /// Reminders left for a later run (the caller's day of mail is full).
    pub deferred: usize,
    /// Another writer came first (a concurrent sweep, a verification): nothing done here.
    pub lost: usize,
    /// Reminders whose mail was refused (given back; tried again next run).
    pub not_sent: usize,
}

enum Outcome {
    Nothing,
    Reminded,
    Skipped,
    Missed,
    Deferred,
    Lost,
    NotSent,
}

/// One run: every due record (at most [`SWEEP_LIMIT`]), one at a time. Links in reminders point at
/// `link_base`.
#[tracing::instrument(skip_all)]
pub async fn sweep<S: Store + SweepStore, M: Mailer>(
    app: &App<S, M>,
    link_base: &str,
) -> Result<SweepReport, BackendError> {
    let now = app.now();
    let due = app.store.due_records(now, SWEEP_LIMIT).await?;
    let mut report = SweepReport {
        due: due.len(),
        ..SweepReport::default()
    };
    for (caller, email) in due {
        match one(app, &caller, &email, now, link_base).await {
            Ok(Outcome::Nothing) => {}
            Ok(Outcome::Reminded) => report.reminded += 1,
            Ok(Outcome::Skipped) => report.skipped += 1,
            Ok(Outcome::Missed) => report.missed += 1,
            Ok(Outcome::Deferred) => report.deferred += 1,
            Ok(Outcome::Lost) => report.lost += 1,
            Ok(Outcome::NotSent) => report.not_sent += 1,
            Err(e) => {
                tracing::error!(error = %crate::error::Chain(&e), email = %email.masked(), "deadline sweep: a record failed; the next run tries it again");
                report.not_sent += 1;
            }
        }
    }
    tracing::info!(?report, "deadline sweep done");
    Ok(report)
}

async fn one<S: Store + SweepStore, M: Mailer>(
    app: &App<S, M>,
    caller: &CallerId,
    email: &EmailAddress,
    now: DateTime<Utc>,
    link_base: &str,
) -> Result<Outcome, BackendError> {
    let state = app.store.load_send_state(caller, email).await?;
    let Some(read) = state.record else {
        return Ok(Outcome::Nothing);
    };
    let Some((due, at)) = read.next_due() else {
        return Ok(Outcome::Nothing);
    };
    if at > now {
        return Ok(Outcome::Nothing);
    }
    let mut next = read.clone();
    next.version += 1;
    let evidence = |kind, outcome| {
        Evidence::new(
            caller,
            Subject::Email(email.clone()),
            kind,
            now,
            &Source::default(),
            outcome,
        )
        .kept_for(app.config.evidence_retention)
    };
    match due {
        Due::Deadline => {
            next.deadline_missed = Some(now);
            next.modified = now;
            let missed = evidence(Kind::DeadlineMissed, evidence::Outcome::Missed);
            if app.store.advance(&read, &next, Some(&missed)).await? {
                tracing::info!(email = %email.masked(), "deadline missed: marked");
                Ok(Outcome::Missed)
            } else {
                Ok(Outcome::Lost)
            }
        }
        Due::Reminder if state.undeliverable || state.caller.mail_stop.is_some() => {
            next.reminders_skipped += 1;
            let why = if state.undeliverable {
                evidence::Outcome::Undeliverable
            } else {
                evidence::Outcome::MailSuspended
            };
            let skipped = evidence(Kind::ReminderSkipped, why);
            Ok(if app.store.advance(&read, &next, Some(&skipped)).await? {
                Outcome::Skipped
            } else {
                Outcome::Lost
            })
        }
        Due::Reminder => {
            remind(
                app,
                caller,
                email,
                read,
                next,
                now,
                link_base,
                &state.caller,
            )
            .await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn remind<S: Store + SweepStore, M: Mailer>(
    app: &App<S, M>,
    caller: &CallerId,
    email: &EmailAddress,
    read: VerificationRecord,
    mut next: VerificationRecord,
    now: DateTime<Utc>,
    link_base: &str,
    caller_state: &crate::callers::CallerState,
) -> Result<Outcome, BackendError> {
    let token = Token::generate()?;
    let link = verification_link(link_base, &token, read.lang);
    let letter = Letter {
        settings: caller_state.settings.as_deref(),
        to: email,
        lang: read.lang,
    };
    let note = DeadlineNote {
        at: read.deadline.unwrap_or(now),
        days_left: read.days_left(now),
    };
    let (mail, used) = letter.reminder(&link, &read.domains, note, app.config.link_lifetime)?;
    let mail = mail.tagged(caller, "link");
    let token = TokenRecord {
        hash: token.hash(),
        caller: caller.clone(),
        email: email.clone(),
        lang: read.lang,
        expires_at: now + app.config.link_lifetime,
        deadline: read.deadline,
        sender_name: caller_state
            .settings
            .as_ref()
            .and_then(|s| s.sender.as_ref())
            .and_then(|s| s.name.clone()),
    };
    let evidence = Evidence::new(
        caller,
        Subject::Email(email.clone()),
        Kind::Reminded,
        now,
        &Source::default(),
        evidence::Outcome::Pending,
    )
    .with_template(&used)
    .kept_for(app.config.evidence_retention);
    next.reminders_sent += 1;
    next.current_token = token.hash.clone();
    next.token_sent = now;
    next.modified = now;
    // The caller's mails of the day count reminders too.
    let counted = DayTaken::default();
    if let Some(cap) = caller_state.mail_per_day(app.config.mail_per_day) {
        match take_day(&app.store, caller, Daily::Mails, now, cap).await? {
            Some(shard) => counted.set(now, shard),
            None => return Ok(Outcome::Deferred),
        }
    }
    match app
        .store
        .reserve_reminder(&read, &next, &token, &evidence)
        .await
    {
        Ok(()) => {}
        Err(WriteError::Conflict) => {
            counted.give_back(&app.store, caller, Daily::Mails).await;
            return Ok(Outcome::Lost);
        }
        Err(WriteError::Backend(e)) => {
            counted.give_back(&app.store, caller, Daily::Mails).await;
            return Err(e);
        }
    }
    let deadline = tokio::time::Instant::now() + app.config.send_budget;
    match crate::pace::deliver(&app.config.send_pacer, deadline, || app.mailer.send(&mail)).await {
        // Sent, or maybe sent: its link must work.
        handed @ (Ok(_) | Err(BackendError::Uncertain(_))) => {
            let handed = match handed {
                Ok(id) => Handed::Sent(id),
                Err(_) => Handed::Uncertain,
            };
            match app
                .store
                .commit_reminder(
                    &next,
                    &token,
                    &read.current_token,
                    &evidence.handed(&handed),
                )
                .await
            {
                Ok(()) | Err(WriteError::Conflict) => {}
                Err(WriteError::Backend(e)) => return Err(e),
            }
            crate::metrics::count(crate::metrics::Metric::MailsSent, "DeadlineSweep", "link");
            tracing::info!(email = %email.masked(), n = next.reminders_sent, "reminder sent");
            Ok(Outcome::Reminded)
        }
        Err(e) => {
            tracing::warn!(error = %crate::error::Chain(&e), email = %email.masked(), "reminder not sent; given back for the next run");
            app.store
                .undo_reminder(&read, &next, &token, &evidence)
                .await?;
            counted.give_back(&app.store, caller, Daily::Mails).await;
            Ok(Outcome::NotSent)
        }
    }
}
