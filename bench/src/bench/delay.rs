//! Concurrency: a Submit of 100 addresses against a store and a mailer that each wait a fixed time per
//! call, next to a Submit of one address. Served one by one, 100 addresses would take 100 times as long;
//! served `SEND_CONCURRENCY` at once, about `ceil(100 / SEND_CONCURRENCY)` times as long.

use std::time::{Duration, Instant};

use shared::app::App;
use shared::store::MemoryStore;

use crate::events::{body, caller_arn, event, fresh_address, invoke, unique, Act};
use crate::stats::Samples;
use crate::Options;
use bench::fakes::{sms_outbox, DelayMailer, DelayStore, MovableClock};

#[derive(Clone, Debug)]
pub struct DelayResult {
    pub delay_ms: u64,
    pub concurrency: usize,
    /// Wall milliseconds of a 1-address and a 100-address Submit.
    pub one: Samples,
    pub hundred: Samples,
    /// Store calls and mails of one 100-address Submit.
    pub store_calls: u64,
    pub mails: u64,
    pub failures: usize,
}

impl DelayResult {
    pub fn ratio(&self) -> f64 {
        self.hundred.median() / self.one.median()
    }
}

pub async fn measure(opts: &Options) -> Result<DelayResult, String> {
    let delay = Duration::from_millis(opts.delay_ms);
    let config = crate::events::config()?;
    let concurrency = config.send_concurrency;
    let clock = MovableClock::default();
    let app = App {
        store: DelayStore::new(MemoryStore::new(), delay),
        mailer: DelayMailer::new(delay),
        sms: sms_outbox().into(),
        code_secret: None,
        config,
        clock: clock.clock(),
    };
    let (mut one, mut hundred, mut failures) = (Vec::new(), Vec::new(), 0);
    let (mut store_calls, mut mails) = (0, 0);
    for _ in 0..opts.delay_repeats {
        for n in [1usize, 100] {
            let addresses: Vec<String> = (0..n).map(|_| fresh_address()).collect();
            let e = event(
                Act::Submit,
                &caller_arn(&unique("delay")),
                &body(Act::Submit, &addresses, None),
            );
            let (calls_before, mails_before) = (app.store.calls(), app.mailer.sent());
            let start = Instant::now();
            let answer = invoke(Act::Submit, &app, &e).await;
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            if answer.status != 200 || answer.successes() != n {
                failures += 1;
                eprintln!(
                    "    delayed Submit of {n} failed: {} {}",
                    answer.status, answer.body
                );
            }
            if n == 1 {
                one.push(ms);
            } else {
                hundred.push(ms);
                store_calls = app.store.calls() - calls_before;
                mails = app.mailer.sent() - mails_before;
            }
        }
    }
    Ok(DelayResult {
        delay_ms: opts.delay_ms,
        concurrency,
        one: Samples::new(one),
        hundred: Samples::new(hundred),
        store_calls,
        mails,
        failures,
    })
}
