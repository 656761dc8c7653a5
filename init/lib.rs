//! foster: a tiny static init. This library holds everything but the entry point,
//! so the supervisor core and the parsers are unit-tested on the host with std.
//!
//! Invariants: no allocator, no libc; `sys` is the only module with `unsafe`.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod fatal;
pub mod out;
pub mod sys;

pub use sys::StartArgs;

/// Picks the mode from argv[0] and the arguments; returns the exit status.
pub fn main(args: StartArgs) -> i32 {
    let _ = args;
    0
}
