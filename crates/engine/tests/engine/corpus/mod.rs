//! The bad-input corpus, engine side: every case of `docs/robustness.md` "Bad input and local mishaps" that the
//! engine decides, run against fakecloud over real HTTP. Each case is bounded in time, so a hang fails.

mod support;

mod local;
mod names;
mod sizes;
mod store;
mod walk;
