//! The signed front door at `/`: every action, for the vendors' own SDKs. It lives in `shared::front_door`.

#[tokio::main]
async fn main() -> Result<(), shared::lambda::Error> {
    shared::front_door::run().await
}
