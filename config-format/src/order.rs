//! Start order. `parse` has already dropped every entry whose `after=` names
//! nothing startable or closes a cycle, so the `after=` graph of a parsed table
//! is acyclic; the sort still terminates (falling back to file order) if a
//! caller built a table by hand that is not.

use crate::{Kind, Table, MAX_ENTRIES};

/// The phase of each kind, in [`Kind`] order: sysinit, wait, then
/// once/service/askfirst, then shutdown/ctrlaltdel/restart.
fn phase(kind: Kind) -> u8 {
    const PHASES: [u8; 8] = [0, 1, 2, 2, 2, 3, 3, 3];
    PHASES.get(kind as usize).copied().unwrap_or(3)
}

impl Table {
    /// Indices in start order: sysinit (file order), wait (file order), then
    /// once/service/askfirst sorted so every entry comes after the ones its
    /// `after=` names (file order otherwise: the earliest entry whose `after=`
    /// are all placed goes next), then shutdown, ctrlaltdel and restart in
    /// file order.
    pub fn start_order(&self) -> heapless::Vec<u8, MAX_ENTRIES> {
        let mut order = heapless::Vec::new();
        // Sets of entries as bits: a table holds at most 64 (`MAX_ENTRIES`),
        // so every index shifts by less than 64.
        const { assert!(MAX_ENTRIES <= 64) };
        let mut placed = 0u64;
        // Per entry, its resolved `after=` targets within phase 2, where
        // they order (others are always met, and only there is an entry
        // ever not ready).
        let mut deps = [0u64; MAX_ENTRIES];
        for (e, d) in self.entries.iter().zip(deps.iter_mut()) {
            if phase(e.kind) != 2 {
                continue;
            }
            // Every slot: an unused one holds an empty name, which no entry has.
            for name in e.after.padded() {
                if let Some((j, dep)) = self.get(name.as_bytes()) {
                    if phase(dep.kind) == 2 {
                        *d |= 1 << j;
                    }
                }
            }
        }
        // One pick per entry: the not yet placed entry with the lowest phase,
        // within it the earliest whose `after=` are placed (only phase 2
        // has any); failing that (a cycle, only in hand-built tables), the
        // earliest not yet placed. Ranked as `2 * phase + not ready`, the
        // first of the lowest rank wins.
        for _ in 0..self.entries.len() {
            let mut best = (u8::MAX, 0);
            for (i, (e, &d)) in self.entries.iter().zip(&deps).enumerate() {
                if placed >> i & 1 != 0 {
                    continue;
                }
                let p = phase(e.kind);
                let ready = d & !placed == 0;
                let rank = 2 * p + u8::from(!ready);
                if rank < best.0 {
                    best = (rank, i);
                }
            }
            placed |= 1 << best.1;
            let _ = order.push(best.1 as u8);
        }
        order
    }
}
