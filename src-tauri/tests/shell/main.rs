//! The shell's tests, in one binary (each Tauri test binary is large to link): commands through the real
//! invoke handler on the mock runtime, the queue channel, secrets kept off the disk, and the generated
//! bindings and command lists.

mod bindings;
mod channel;
mod ipc;
mod secrets;
mod support;
