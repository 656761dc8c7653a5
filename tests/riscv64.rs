//! foster on riscv64: the static build from the same sources, and its
//! single-command and sub-init modes under `qemu-riscv64` (qemu-user), a smoke
//! test of the syscall layer and of `_start` on RISC-V.
//!
//! Built for `riscv64gc-unknown-linux-gnu`: foster links no libc, so the
//! triple's libc does not matter, and rustup serves this target's std where it
//! may not serve `riscv64gc-unknown-linux-musl`. When that musl target is
//! installed, it is checked too (it takes musl's crt1 path, like aarch64 musl).
//! No riscv64 kernel is fetched (the registry has none here): booting one is
//! described in docs/embedded.md.

mod common;

use common::cross::{assert_static_for, qemu_user_smoke, size, RISCV64};
use common::qemu::{cargo_build, require};
use std::path::PathBuf;

fn foster() -> PathBuf {
    cargo_build(RISCV64, &["-p", "foster", "--bin", "foster"]).join("foster")
}

#[test]
fn foster_builds_static_for_riscv64() {
    let foster = foster();
    assert_static_for(&foster, "RISC-V");
    eprintln!("riscv64 ({RISCV64}): {} bytes", size(&foster));
}

#[test]
fn single_command_and_sub_init_run_under_qemu_user() {
    require("qemu-riscv64", "qemu-user");
    qemu_user_smoke("qemu-riscv64", &foster());
}
