//! Start order. `parse` has already dropped every entry whose `after=` names
//! nothing startable or closes a cycle, so the `after=` graph of a parsed table
//! is acyclic; the sort still terminates (falling back to file order) if a
//! caller built a table by hand that is not.

use crate::{Kind, Table, MAX_AFTER, MAX_ENTRIES};

fn phase(kind: Kind) -> u8 {
    match kind {
        Kind::Sysinit => 0,
        Kind::Wait => 1,
        Kind::Once | Kind::Service | Kind::Askfirst => 2,
        Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart => 3,
    }
}

impl Table {
    /// Indices in start order: sysinit (file order), wait (file order), then
    /// once/service/askfirst sorted so every entry comes after the ones its
    /// `after=` names (file order otherwise: the earliest entry whose `after=`
    /// are all placed goes next), then shutdown, ctrlaltdel and restart in
    /// file order.
    pub fn start_order(&self) -> heapless::Vec<u8, MAX_ENTRIES> {
        let mut order = heapless::Vec::new();
        let mut placed = [false; MAX_ENTRIES];
        // Resolved `after=` targets within phase 2 (others are always met).
        let mut deps = [[u8::MAX; MAX_AFTER]; MAX_ENTRIES];
        for (e, d) in self.entries.iter().zip(deps.iter_mut()) {
            for (name, t) in e.after.iter().zip(d.iter_mut()) {
                if let Some((j, dep)) = self.get(name.as_bytes()) {
                    if phase(dep.kind) == 2 {
                        *t = j as u8;
                    }
                }
            }
        }
        for p in 0..4 {
            // Phase by phase, the earliest entry not yet placed whose
            // `after=` are (only phase 2 has any); failing that (a cycle, only
            // in hand-built tables), the earliest not yet placed.
            loop {
                let mut next = None;
                for (i, e) in self.entries.iter().enumerate() {
                    if phase(e.kind) != p || placed.get(i) != Some(&false) {
                        continue;
                    }
                    let ready = p != 2
                        || deps.get(i).is_some_and(|d| {
                            d.iter()
                                .all(|&j| j == u8::MAX || placed.get(usize::from(j)) == Some(&true))
                        });
                    if ready {
                        next = Some(i);
                        break;
                    }
                    next = next.or(Some(i));
                }
                let Some(i) = next else { break };
                if let Some(p) = placed.get_mut(i) {
                    *p = true;
                }
                let _ = order.push(i as u8);
            }
        }
        order
    }
}
