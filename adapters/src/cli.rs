//! What the operator's table commands share (`callers`, `mail-stops`): the table from `--table` or
//! `TABLE_NAME`, the store on it, and how an outcome becomes a line and an exit code (2: the command line is
//! wrong; 1: the work failed or was refused; 0: done).

use std::future::Future;
use std::process::ExitCode;

use crate::dynamo::DynamoStore;

/// Runs `work` on the store of the parsed command's table, and prints its outcome.
pub async fn run_on_table<C, F, Fut>(
    name: &str,
    usage: &str,
    parsed: Result<(Option<String>, C), String>,
    work: F,
) -> ExitCode
where
    F: FnOnce(DynamoStore, C) -> Fut,
    Fut: Future<Output = Result<String, String>>,
{
    let (table, command) = match parsed {
        Ok((Some(table), command)) => (table, command),
        Ok((None, _)) => {
            eprintln!("{name}: give --table <TableName> (the stack's output TableName)");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{name}: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    let outcome = match crate::sdk::sdk_config().await {
        Ok(aws) => {
            let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &table);
            work(store, command).await
        }
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            ExitCode::from(1)
        }
    }
}
