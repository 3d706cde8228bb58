//! The signed front door at `/`: every action, for the vendors' own SDKs. It lives in `edge::front_door`.

#[tokio::main]
async fn main() -> Result<(), edge::lambda::Error> {
    edge::front_door::run().await
}
