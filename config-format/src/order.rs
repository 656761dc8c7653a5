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
        let n = self.entries.len();
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
        for p in [0, 1] {
            for (i, e) in self.entries.iter().enumerate() {
                if phase(e.kind) == p {
                    let _ = order.push(i as u8);
                }
            }
        }
        let waiting = self.entries.iter().filter(|e| phase(e.kind) == 2).count();
        for _ in 0..waiting {
            let next = (0..n).find(|&i| {
                let ready = deps.get(i).is_some_and(|d| {
                    d.iter()
                        .all(|&j| j == u8::MAX || placed.get(usize::from(j)) == Some(&true))
                });
                let e = self.entries.get(i);
                ready && e.is_some_and(|e| phase(e.kind) == 2) && placed.get(i) == Some(&false)
            });
            // A cycle (only in hand-built tables): the rest in file order.
            let next = next.or_else(|| {
                (0..n).find(|&i| {
                    placed.get(i) == Some(&false)
                        && self.entries.get(i).is_some_and(|e| phase(e.kind) == 2)
                })
            });
            let Some(i) = next else { break };
            if let Some(p) = placed.get_mut(i) {
                *p = true;
            }
            let _ = order.push(i as u8);
        }
        for (i, e) in self.entries.iter().enumerate() {
            if phase(e.kind) == 3 {
                let _ = order.push(i as u8);
            }
        }
        order
    }
}
