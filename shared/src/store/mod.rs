//! Storage behind a trait (the store port): DynamoDB in the service (`adapters::dynamo`), memory in fast
//! unit tests. Both implement the same
//! conditional writes, so a lost race is a [`WriteError::Conflict`] in either.

mod memory;
mod port;

pub use memory::MemoryStore;
pub use port::*;
