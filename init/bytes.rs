//! Byte-string scanning shared by every module: decimal numbers and
//! separator-split pieces, each one small out-of-line loop rather than a
//! `split` or `parse` inlined at every use (foster's size budget).

/// A decimal of 1..=10 digits that fits in a u32 (also foster's other small
/// numbers: pids, option values).
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.len() > 10 {
        return None;
    }
    config_format::parse_decimal(s).and_then(|n| u32::try_from(n).ok())
}

/// A decimal of 1..=9 digits (option values: seconds, exit codes): never
/// overflows whatever is done with it after.
pub fn parse_small(s: &[u8]) -> Option<u64> {
    if s.len() > 9 {
        return None;
    }
    config_format::parse_decimal(s)
}

/// Copies `src` into the start of `dst` (the shorter one sets the length).
/// Instead of `copy_from_slice`: core's out-of-line copy calls `memcpy`
/// through a GOT slot, the only one in foster, and that slot alone gave the
/// binary a writable segment, a resident page (4 kB of idle RSS).
#[inline(never)]
pub fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}

/// Separator-split pieces: one routine, config-format's (its word lists
/// use it too).
pub use config_format::{next_piece, nth_piece};
