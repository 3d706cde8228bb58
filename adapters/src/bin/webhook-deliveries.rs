//! `make webhooks`: the webhook deliveries that failed every attempt (the dead-letter queue), counted or
//! put back on the webhook queue, where they are tried again with their schedule from the start and their
//! ids unchanged.
//!
//! ```text
//! make webhooks ARGS='count'                  # the local stack's dead-letter queue
//! make webhooks ARGS='replay [--max N]'       # every parked delivery (or N) back to the webhook queue
//! make webhooks ARGS='replay --queue-url <WebhookDeadLetterQueueUrl> --target <WebhookQueueUrl>'   # deployed
//! ```

use std::process::ExitCode;

const USAGE: &str = "usage: webhooks count|replay [--max N] [--queue-url <WebhookDeadLetterQueueUrl>] [--target <WebhookQueueUrl>]";

struct Args {
    command: String,
    dlq: String,
    target: String,
    max: usize,
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        command: String::new(),
        dlq: std::env::var("WEBHOOK_DLQ_URL").unwrap_or_default(),
        target: std::env::var("WEBHOOK_QUEUE_URL").unwrap_or_default(),
        max: usize::MAX,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--queue-url" => out.dlq = value()?,
            "--target" => out.target = value()?,
            "--max" => out.max = value()?.parse().map_err(|_| "--max takes a number")?,
            "count" | "replay" if out.command.is_empty() => out.command = a.clone(),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if out.command.is_empty() {
        return Err("give count or replay".into());
    }
    if out.dlq.is_empty() || (out.command == "replay" && out.target.is_empty()) {
        return Err("give --queue-url (and --target to replay): the stack's outputs".into());
    }
    Ok(out)
}

async fn count(sqs: &aws_sdk_sqs::Client, dlq: &str) -> Result<String, String> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(dlq)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    let n = out
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .cloned()
        .unwrap_or_else(|| "0".into());
    Ok(format!(
        "{n} webhook deliveries wait in the dead-letter queue"
    ))
}

/// Moves each message: sent to the target first, then deleted from the dead-letter queue, so that a failure
/// in between leaves a copy in both (the same id: a receiver drops the second), never none.
async fn replay(sqs: &aws_sdk_sqs::Client, a: &Args) -> Result<String, String> {
    let err = |e: String| format!("stopped: {e}");
    let mut moved = 0usize;
    let mut empty = 0;
    while moved < a.max && empty < 2 {
        let got = sqs
            .receive_message()
            .queue_url(&a.dlq)
            .max_number_of_messages((a.max - moved).min(10) as i32)
            .wait_time_seconds(1)
            .visibility_timeout(60)
            .send()
            .await
            .map_err(|e| err(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        let messages = got.messages();
        if messages.is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in messages {
            sqs.send_message()
                .queue_url(&a.target)
                .message_body(m.body().unwrap_or_default())
                .send()
                .await
                .map_err(|e| err(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
            sqs.delete_message()
                .queue_url(&a.dlq)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .map_err(|e| err(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
            moved += 1;
        }
    }
    Ok(format!(
        "{moved} webhook deliveries put back on the webhook queue"
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("webhooks: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let outcome = match adapters::sdk::sdk_config().await {
        Ok(aws) => {
            let sqs = aws_sdk_sqs::Client::new(&aws);
            if a.command == "count" {
                count(&sqs, &a.dlq).await
            } else {
                replay(&sqs, &a).await
            }
        }
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("webhooks: {e}");
            ExitCode::FAILURE
        }
    }
}
