//! The durable store against real SQLite files in temporary folders: schema and migrations, the queue,
//! resume state, the hash cache, history and pruning, persistence, concurrency, and that no secret is
//! written.

mod support;

mod concurrency;
mod hash_cache;
mod history;
mod persistence;
mod profiles;
mod resume;
mod schema;
mod secrets;
mod tasks;
