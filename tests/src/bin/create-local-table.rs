//! Creates the service's table in DynamoDB Local (the same definition as `template.yaml`; a test compares
//! them). Used by `make run` and `make test`; does nothing if the table is there already.

use adapters::dynamo::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let table = std::env::var("TABLE_NAME")?;
    let aws = aws_config::load_from_env().await;
    let client = aws_sdk_dynamodb::Client::new(&aws);
    let existing = client.list_tables().send().await?;
    if existing.table_names().iter().any(|t| t == &table) {
        println!("table {table} exists");
        return Ok(());
    }
    DynamoStore::create_table(&client, &table).await?;
    println!("table {table} created");
    Ok(())
}
