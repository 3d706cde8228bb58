//! Moves the records and contacts written before the sharded list index to their shards, and counts
//! them (see `shared::store::migrate`). Run once after upgrading from a version without `IndexShards`;
//! running it again changes nothing.
//!
//! ```text
//! migrate-index --table <TableName>     (or TABLE_NAME; AWS credentials and region from the environment)
//! ```

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut table = std::env::var("TABLE_NAME").ok();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--table" => table = args.next(),
            _ => {
                eprintln!("usage: migrate-index --table <TableName>");
                return ExitCode::from(2);
            }
        }
    }
    let Some(table) = table else {
        eprintln!("migrate-index: give --table <TableName> (the stack's output TableName)");
        return ExitCode::from(2);
    };
    let result = async {
        let aws = adapters::sdk::sdk_config()
            .await
            .map_err(|e| e.to_string())?;
        let store = adapters::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), &table);
        adapters::dynamo::migrate::migrate_index(&store)
            .await
            .map_err(|e| e.to_string())
    };
    match result.await {
        Ok(m) => {
            println!(
                "migrated {} records and {} contacts; {} left for another run",
                m.records, m.contacts, m.skipped
            );
            if m.skipped == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("migrate-index: {e}");
            ExitCode::from(2)
        }
    }
}
