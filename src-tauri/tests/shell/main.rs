//! The shell's tests, in one binary (each Tauri test binary is large to link): commands through the real
//! invoke handler on the mock runtime, the queue channel, send-to batches, secrets kept off the disk, the
//! generated bindings and command lists, and `pandrop integrate`.

mod bindings;
mod channel;
mod corpus;
mod integrate;
mod ipc;
mod secrets;
mod sendto;
mod signin;
mod support;
