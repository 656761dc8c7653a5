//! The supervisor on a virtual clock with fake pids: no fork, no sleep.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use super::*;
use crate::signals::{SIGKILL, SIGTERM};

impl Supervisor {
    /// [`Supervisor::reaped`] with the wait status of `status`.
    fn child_exited(&mut self, pid: Pid, status: ExitStatus, now: u64) -> Option<usize> {
        let raw = match status {
            ExitStatus::Code(c) => i32::from(c) << 8,
            ExitStatus::Signal(s) => i32::from(s),
        };
        self.reaped(pid, raw, now)
    }
}

/// A harness: the table's source kept alive, a clock, a pid counter, and
/// every action the supervisor produced.
struct Sim {
    sup: Supervisor,
    src: std::vec::Vec<u8>,
    now: u64,
    next_pid: Pid,
    log: std::vec::Vec<Action>,
}

impl Sim {
    fn new(mode: Mode, text: &str) -> Sim {
        let src = text.as_bytes().to_vec();
        let table = config_format::parse(&src, &mut |e| panic!("table error: {e:?}"));
        let mut sup = Supervisor::new(mode, slots(), actions());
        sup.start(&table, 0);
        let mut sim = Sim {
            sup,
            src,
            now: 0,
            next_pid: 100,
            log: vec![],
        };
        sim.pump();
        sim
    }

    fn id(&self, name: &str) -> SlotId {
        self.sup.find(name.as_bytes()).unwrap()
    }

    fn pid(&self, name: &str) -> Option<Pid> {
        self.sup.slot(self.id(name)).unwrap().pid()
    }

    fn state(&self, name: &str) -> State {
        self.sup.slot(self.id(name)).unwrap().state
    }

    /// Drives a stop to its end: a pidfile read is answered at once with
    /// "nothing written" (as the runtime answers it), a live process exits
    /// when `rnd` says so, else time jumps to the next deadline. Whether
    /// the stop finished, within a bound.
    fn finish_stop(&mut self, rnd: &mut dyn FnMut(u64) -> u64) -> bool {
        for _ in 0..10_000 {
            self.take_log();
            if self.sup.finished().is_some() {
                return true;
            }
            let slots = self.sup.slots();
            let asked = slots.iter().position(
                |sl| matches!(sl.state, State::FindingPid { next, .. } if next == u64::MAX),
            );
            let live = slots.iter().find_map(|sl| sl.pid());
            match (asked, live, self.deadline()) {
                (Some(id), _, _) => {
                    self.sup
                        .pidfile_read(id as SlotId, PidfileRead::Missing, self.now)
                }
                (None, Some(pid), _) if rnd(2) == 0 => {
                    self.sup.child_exited(pid, ExitStatus::Signal(15), self.now);
                }
                (None, _, Some(d)) => self.advance_to(d.max(self.now)),
                (None, _, None) => self.sup.no_children_left(self.now),
            }
            self.pump();
        }
        false
    }

    /// Every slot's name and state, for a failure message.
    fn states(&self) -> String {
        let states: std::vec::Vec<_> = self
            .sup
            .slots()
            .iter()
            .map(|sl| (sl.name().as_str(), sl.state))
            .collect();
        format!("{states:?}, next deadline {:?}", self.deadline())
    }

    /// Applies actions like the runtime would: spawns succeed with new pids.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let Some(a) = self.sup.poll_action() else {
                return;
            };
            self.log.push(a);
            if let Action::Spawn { slot } = a {
                if self.sup.should_spawn(slot) {
                    self.next_pid += 1;
                    self.sup.spawned(slot, Ok(self.next_pid), self.now);
                }
            }
        }
        panic!("the supervisor keeps producing actions");
    }

    fn exit(&mut self, name: &str, status: ExitStatus) {
        let pid = self.pid(name).expect("no process");
        self.sup.child_exited(pid, status, self.now);
        self.pump();
    }

    fn advance_to(&mut self, t: u64) {
        self.now = t;
        self.sup.tick(t);
        self.pump();
    }

    /// The supervisor's next deadline, `None` for nothing due.
    fn deadline(&self) -> Option<u64> {
        let d = self.sup.next_deadline();
        (d != u64::MAX).then_some(d)
    }

    /// Jumps from deadline to deadline up to `t`.
    fn run_until(&mut self, t: u64) {
        while let Some(d) = self.deadline() {
            if d > t {
                break;
            }
            self.advance_to(d.max(self.now));
        }
        self.advance_to(t);
    }

    fn take_log(&mut self) -> std::vec::Vec<Action> {
        std::mem::take(&mut self.log)
    }

    fn spawned_names(&mut self) -> std::vec::Vec<std::string::String> {
        let log = self.take_log();
        log.iter()
            .filter_map(|a| match a {
                Action::Note(Note::Started { slot, .. }) => {
                    Some(self.sup.slot(*slot).unwrap().name().as_str().to_string())
                }
                _ => None,
            })
            .collect()
    }
}

fn slots() -> &'static mut Slots {
    Box::leak(Box::new(Slots::new()))
}

/// Whether `log` holds signal `sig` to `pid`, with or without a hangup
/// (for checks that no such signal went).
fn signalled(log: &[Action], pid: Pid, sig: u8) -> bool {
    log.iter()
        .any(|a| matches!(*a, Action::Signal { pid: p, sig: s, .. } if p == pid && s == sig))
}

/// A deterministic random source: `rnd(n)` is in `0..n` (0 for n = 0).
fn xorshift(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n.max(1)
    }
}

fn actions() -> &'static mut Actions {
    Box::leak(Box::new(Actions::new()))
}

const OK: ExitStatus = ExitStatus::Code(0);
const FAIL: ExitStatus = ExitStatus::Code(1);

#[test]
fn boot_runs_sysinit_then_wait_one_at_a_time() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service d -- /d\nsysinit a -- /a\nwait c -- /c\nsysinit b -- /b\nonce e -- /e\n",
    );
    assert_eq!(s.spawned_names(), ["a"]);
    s.exit("a", FAIL); // a failing sysinit does not stop the boot
    assert_eq!(s.spawned_names(), ["b"]);
    s.exit("b", OK);
    assert_eq!(s.spawned_names(), ["c"]);
    s.exit("c", OK);
    assert_eq!(s.spawned_names(), ["d", "e"]);
}

#[test]
fn crash_loop_backs_off_doubling_up_to_max_and_resets_after_healthy_uptime() {
    let mut s = Sim::new(Mode::Pid1, "service c backoff=100ms..1s -- /c\n");
    let mut delays = vec![];
    for _ in 0..6 {
        s.take_log();
        s.exit("c", FAIL);
        let State::Backoff { until } = s.state("c") else {
            panic!("{:?}", s.state("c"))
        };
        delays.push(until - s.now);
        s.advance_to(until);
        assert!(matches!(s.state("c"), State::Running { .. }));
    }
    assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
    // Ten healthy seconds: the next crash restarts after the minimum again.
    s.advance_to(s.now + HEALTHY_UPTIME);
    s.exit("c", FAIL);
    let State::Backoff { until } = s.state("c") else {
        panic!()
    };
    assert_eq!(until - s.now, 100);
    assert_eq!(s.sup.slot(s.id("c")).unwrap().restarts, 7);
}

#[test]
fn restart_policies() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service a restart=on-failure -- /a\nservice b restart=never -- /b\nonce c restart=on-failure -- /c\nservice d -- /d\n",
    );
    s.exit("a", OK);
    assert!(matches!(s.state("a"), State::Done { .. }));
    s.exit("b", FAIL);
    assert!(matches!(s.state("b"), State::Failed { .. }));
    s.exit("c", FAIL);
    assert!(matches!(s.state("c"), State::Backoff { .. }));
    s.exit("d", OK);
    assert!(matches!(s.state("d"), State::Backoff { .. }));
}

#[test]
fn after_waits_for_readiness_when_asked() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service app after=db -- /app\nservice db ready=fd:3 -- /db\nservice web after=app -- /web\n",
    );
    assert_eq!(s.spawned_names(), ["db"]);
    s.sup.ready(s.id("db"), s.now);
    s.pump();
    assert_eq!(s.spawned_names(), ["app", "web"]);
}

#[test]
fn after_an_entry_that_fails_for_good_is_reported_once() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service db restart=never ready=fd:3 -- /db\nservice app after=db -- /app\n",
    );
    s.take_log();
    s.exit("db", FAIL);
    let blocked = s
        .take_log()
        .iter()
        .filter(|a| matches!(a, Action::Note(Note::Blocked { .. })))
        .count();
    assert_eq!(blocked, 1);
    s.advance_to(100_000);
    assert!(!s
        .take_log()
        .iter()
        .any(|a| matches!(a, Action::Note(Note::Blocked { .. }))));
    assert_eq!(s.state("app"), State::Pending);
}

#[test]
fn after_an_entry_that_will_never_start_is_blocked_too() {
    // web waits for app, which waits for db, which failed for good: web
    // will not come up either, and a sub-init has nothing left.
    let mut s = Sim::new(
        Mode::SubInit,
        "service db restart=never ready=fd:3 -- /db\nservice app after=db -- /app\n\
         service web after=app -- /web\n",
    );
    s.take_log();
    s.exit("db", FAIL);
    s.sup.no_children_left(s.now);
    s.pump();
    // The stop's sweep reaps first: still none.
    s.sup.no_children_left(s.now);
    s.pump();
    let log = s.take_log();
    let blocked: std::vec::Vec<_> = log
        .iter()
        .filter_map(|a| match a {
            Action::Note(Note::Blocked { slot, on }) => Some((*slot, *on)),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocked,
        [(s.id("app"), s.id("db")), (s.id("web"), s.id("app"))]
    );
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(0)), "{log:?}");
}

#[test]
fn an_entry_blocked_once_does_not_block_what_runs_after_it_later() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service db restart=never ready=fd:3 -- /db\nservice app after=db -- /app\n\
         service web after=app -- /web\n",
    );
    s.exit("db", FAIL);
    // db started again by hand: the chain comes up.
    assert!(s.sup.start_slot(s.id("db"), s.now));
    s.pump();
    s.sup.ready(s.id("db"), s.now);
    s.pump();
    assert!(matches!(s.state("web"), State::Running { .. }));
    // web stopped and started again while app backs off: it waits for
    // app, which is not blocked any more.
    assert!(s.sup.stop(s.id("web"), s.now));
    s.exit("web", ExitStatus::Signal(15));
    s.exit("app", FAIL);
    assert!(s.sup.start_slot(s.id("web"), s.now));
    s.take_log();
    let State::Backoff { until } = s.state("app") else {
        panic!("{:?}", s.state("app"))
    };
    s.advance_to(until);
    let log = s.take_log();
    assert!(
        !log.iter()
            .any(|a| matches!(a, Action::Note(Note::Blocked { .. }))),
        "{log:?}"
    );
    assert!(matches!(s.state("app"), State::Running { .. }));
}

#[test]
fn pidfile_daemon_is_adopted_supervised_and_restarted() {
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    assert!(matches!(s.state("d"), State::Launching { .. }));
    s.take_log();
    // The launcher's slot is named (the runtime flushes its log then).
    assert_eq!(s.sup.child_exited(launcher, OK, s.now), Some(0));
    s.pump();
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    // Not written yet: foster polls again shortly.
    s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
    s.pump();
    assert_eq!(s.deadline(), Some(PIDFILE_POLL));
    s.advance_to(PIDFILE_POLL);
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4242 });
    // The daemon dies: restarted by launching again.
    s.sup.child_exited(4242, ExitStatus::Signal(9), s.now);
    s.pump();
    // Its pidfile, read again, still names it: no new main pid.
    s.sup.pidfile_read(0, PidfileRead::NotAChild(4242), s.now);
    s.pump();
    let State::Backoff { until } = s.state("d") else {
        panic!()
    };
    s.advance_to(until);
    assert!(matches!(s.state("d"), State::Launching { .. }));
}

#[test]
fn pidfile_naming_a_daemon_that_already_died_counts_as_its_exit() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service d restart=never pidfile=/run/d.pid -- /launcher\n",
    );
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.sup.child_exited(777, ExitStatus::Code(5), s.now); // the daemon, as an orphan
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::NotAChild(777), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Failed {});
    let d = s.sup.slot(s.id("d")).unwrap();
    assert_eq!(d.last_exit, Some(ExitStatus::Code(5)));
}

/// A daemon found dead through its pidfile ends that run only: the next
/// launcher's daemon may write the pidfile late, and until it does the file
/// still names the dead one, which must not end the new run too (a spurious
/// exit with the old status, and a restart next to the new daemon).
#[test]
fn a_dead_daemon_in_a_stale_pidfile_ends_one_run_only() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service d backoff=1s..1s pidfile=/run/d.pid -- /launcher\n",
    );
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.sup.child_exited(777, ExitStatus::Code(3), s.now); // the daemon, as an orphan
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::NotAChild(777), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Backoff { until: 1000 });
    s.advance_to(1000);
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.take_log();
    // The new daemon has not written its pid yet.
    s.sup.pidfile_read(0, PidfileRead::NotAChild(777), s.now);
    s.pump();
    assert!(
        matches!(s.state("d"), State::FindingPid { .. }),
        "{}",
        s.states()
    );
    assert!(!s
        .take_log()
        .iter()
        .any(|a| matches!(a, Action::Note(Note::Exited { .. }))));
    s.advance_to(s.now + PIDFILE_POLL);
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4242 });
}

#[test]
fn pidfile_that_never_names_a_child_fails_after_the_wait() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service d restart=never pidfile=/run/d.pid -- /launcher\n",
    );
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    for _ in 0..200 {
        if !matches!(s.state("d"), State::FindingPid { .. }) {
            break;
        }
        s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
        s.pump();
        let next = s.deadline().unwrap_or(s.now);
        s.advance_to(next);
    }
    assert_eq!(s.state("d"), State::Failed {});
    assert_eq!(s.sup.slot(s.id("d")).unwrap().last_exit, None);
    assert!(s.now >= PIDFILE_WAIT && s.now < PIDFILE_WAIT + 2 * PIDFILE_POLL);
}

/// `d`'s daemon adopted as pid 4242 (its launcher gone), `d` launched by
/// `table`. The simulation, log taken.
fn adopted_daemon(table: &str) -> Sim {
    let mut s = Sim::new(Mode::SubInit, table);
    let d = s.id("d");
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup.pidfile_read(d, PidfileRead::Child(4242), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4242 });
    s.take_log();
    s
}

/// A daemon that moves to a new pid (nginx's binary upgrade: the new master
/// rewrites the pidfile, then the old one exits 0) is tracked at its new
/// pid, as systemd tracks a Type=forking service: no restart, which would
/// start a second, untracked copy. Its pidfile is read once, at once.
#[test]
fn a_pidfile_daemon_that_moves_to_a_new_pid_is_tracked_there() {
    let mut s = adopted_daemon("service d pidfile=/run/d.pid -- /launcher\n");
    s.sup.child_exited(4242, OK, s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::ReadPidfile { slot: 0 }), "{log:?}");
    assert!(matches!(s.state("d"), State::FindingPid { .. }));
    s.sup.pidfile_read(0, PidfileRead::Child(4343), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4343 });
    let log = s.take_log();
    assert!(
        log.contains(&Action::Note(Note::Adopted { slot: 0, pid: 4343 })),
        "{log:?}"
    );
    // Not an end: no exit, no restart, no start, nothing released.
    assert!(!log.iter().any(|a| matches!(
        a,
        Action::Note(Note::Exited { .. }) | Action::Spawn { .. } | Action::Release { .. }
    )));
    let d = s.sup.slot(0).unwrap();
    assert_eq!((d.restarts, d.last_exit), (0, None));
    assert_eq!(s.deadline(), None, "asleep");

    // The new master dies and names no other: the run ends with its status.
    s.sup.child_exited(4343, ExitStatus::Signal(9), s.now);
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::NotAChild(4343), s.now);
    s.pump();
    assert!(
        matches!(s.state("d"), State::Backoff { .. }),
        "{}",
        s.states()
    );
    let log = s.take_log();
    assert!(log.contains(&Action::Release { slot: 0 }));
    assert!(log.iter().any(|a| matches!(
        a,
        Action::Note(Note::Exited {
            status: ExitStatus::Signal(9),
            restart_in: Some(_),
            ..
        })
    )));
    assert!(!log.contains(&Action::Note(Note::PidfileMissing { slot: 0 })));
    assert_eq!(
        s.sup.slot(0).unwrap().last_exit,
        Some(ExitStatus::Signal(9))
    );
}

/// A daemon whose pidfile, read again once its main pid exited, names no
/// new process foster may claim (none, the dead pid, another entry's
/// process, one that is not foster's child) ends as it ended before: at
/// once, with the old pid's status, through its restart policy and
/// `on-exit=`, without the "no live child pid" line.
#[test]
fn a_pidfile_daemon_that_names_no_new_pid_ends_with_its_own_status() {
    let table = "service a -- /a\n\
                 service d restart=on-failure on-exit=exit pidfile=/run/d.pid -- /launcher\n";
    for (i, read) in [
        PidfileRead::Missing,
        PidfileRead::NotAChild(4242),
        PidfileRead::NotAChild(999),
        PidfileRead::Child(101), // `a`'s process
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = adopted_daemon(table);
        assert_eq!(s.pid("a"), Some(101));
        let d = s.id("d");
        let status = ExitStatus::Code(3 + i as u8);
        s.sup.child_exited(4242, status, s.now);
        s.pump();
        s.sup.pidfile_read(d, read, s.now);
        s.pump();
        assert!(matches!(s.state("d"), State::Backoff { .. }), "{read:?}");
        assert_eq!(s.sup.slot(d).unwrap().last_exit, Some(status));
        let log = s.take_log();
        assert!(!log.contains(&Action::Note(Note::PidfileMissing { slot: d })));
        assert!(log.contains(&Action::Release { slot: d }));
        assert_eq!(s.state("a"), State::Running { pid: 101 });
    }
    // Status 0 and no new pid: the pidfile is polled for PIDFILE_WAIT (a
    // launcher that named itself may have forked the daemon), then the run
    // is done, and its `on-exit=` ends foster.
    let mut s = adopted_daemon(table);
    let d = s.id("d");
    let until = s.now + PIDFILE_WAIT;
    s.sup.child_exited(4242, OK, s.now);
    s.pump();
    while s.now < until {
        assert!(s.take_log().contains(&Action::ReadPidfile { slot: d }));
        s.sup.pidfile_read(d, PidfileRead::NotAChild(4242), s.now);
        s.pump();
        assert!(matches!(s.state("d"), State::FindingPid { .. }));
        let next = s.deadline().unwrap();
        assert!(next <= s.now + PIDFILE_POLL);
        s.advance_to(next);
    }
    s.sup.pidfile_read(d, PidfileRead::Missing, s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Done {});
    assert!(s
        .take_log()
        .contains(&Action::Note(Note::ExitStatus { slot: d, code: 0 })));
    assert!(s.sup.is_stopping());
}

/// A launcher taken for the daemon because it wrote its own pid, that then
/// forks the daemon and exits 0 (`echo $$ > F; exec daemon`, a daemon that
/// forks): the daemon, which rewrites the pidfile a moment later, is found
/// and tracked, not started a second time.
#[test]
fn a_launcher_that_named_itself_then_forked_is_followed_to_its_daemon() {
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.advance_to(PIDFILE_POLL);
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    s.sup.pidfile_read(0, PidfileRead::Child(launcher), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: launcher });
    // It forks the daemon and exits; the file still names it for 300 ms.
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    for _ in 0..3 {
        assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
        s.sup
            .pidfile_read(0, PidfileRead::NotAChild(launcher), s.now);
        s.pump();
        let next = s.deadline().unwrap();
        s.advance_to(next);
    }
    s.sup.pidfile_read(0, PidfileRead::Child(4343), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4343 });
    let d = s.sup.slot(0).unwrap();
    assert_eq!((d.restarts, d.last_exit), (0, None));
    assert!(!s
        .take_log()
        .iter()
        .any(|a| matches!(a, Action::Spawn { .. } | Action::Note(Note::Exited { .. }))));
}

/// A stop while foster looks for a daemon's pid (its launcher gone, the
/// pidfile not written yet) waits for it no longer than the entry's
/// `timeout=`, not the whole look.
#[test]
fn a_stop_while_looking_for_the_daemon_is_bounded_by_its_timeout() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service d timeout=1s pidfile=/run/d.pid -- /launcher\n",
    );
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    let start = s.now;
    assert!(s.sup.stop(0, s.now));
    s.pump();
    look_in_vain(&mut s, start + 1_000);
    assert_eq!(s.state("d"), State::Stopped);
}

/// Answers slot 0's pidfile reads with nothing while it looks for its
/// daemon's pid, and checks the look is over by `bound` (give or take a
/// poll).
fn look_in_vain(s: &mut Sim, bound: u64) {
    while matches!(s.state("d"), State::FindingPid { .. }) {
        if s.take_log().contains(&Action::ReadPidfile { slot: 0 }) {
            s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
            s.pump();
            continue;
        }
        let next = s.deadline().unwrap();
        s.advance_to(next);
        assert!(s.now <= bound + PIDFILE_POLL, "{}", s.now);
    }
}

/// The orderly stop bounds a look for a daemon's pid by the entry's
/// `timeout=` too (here the 5 s poll after a clean exit).
#[test]
fn a_shutdown_while_looking_for_the_daemon_is_bounded_by_its_timeout() {
    let mut s = adopted_daemon("service d timeout=1s pidfile=/run/d.pid -- /launcher\n");
    s.sup.child_exited(4242, OK, s.now);
    s.pump();
    let start = s.now;
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    look_in_vain(&mut s, start + 1_000);
    assert!(!s.sup.slot(0).unwrap().is_active(), "{}", s.states());
}

/// A stop that comes while the pidfile of a main pid that exited is read
/// again: the new main pid found is stopped; with none, the entry is down
/// already (its last exit the old pid's). A shutdown waits for the read.
#[test]
fn a_stop_during_the_read_for_a_new_pid_stops_what_it_finds() {
    // Found: stopped.
    let mut s = adopted_daemon("service d pidfile=/run/d.pid -- /launcher\n");
    s.sup.child_exited(4242, OK, s.now);
    s.pump();
    assert!(s.sup.stop(0, s.now));
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::Child(4343), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), 4343, SIGTERM));
    s.sup.child_exited(4343, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Stopped);

    // None: stopped, released, and a restart starts it again.
    let mut s = adopted_daemon("service d pidfile=/run/d.pid -- /launcher\n");
    s.sup.child_exited(4242, FAIL, s.now);
    s.pump();
    assert!(s.sup.restart(0, s.now));
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::NotAChild(4242), s.now);
    s.pump();
    assert!(
        matches!(s.state("d"), State::Launching { .. }),
        "{}",
        s.states()
    );
    assert_eq!(s.sup.slot(0).unwrap().last_exit, Some(FAIL));
    let log = s.take_log();
    assert!(log.contains(&Action::Release { slot: 0 }), "{log:?}");
    assert!(!log
        .iter()
        .any(|a| matches!(a, Action::Note(Note::Exited { .. }))));

    // The orderly stop waits for the read, then stops the new pid.
    let mut s = adopted_daemon("service d pidfile=/run/d.pid -- /launcher\n");
    s.sup.child_exited(4242, OK, s.now);
    s.pump();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(s.sup.finished().is_none());
    s.sup.pidfile_read(0, PidfileRead::Child(4343), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), 4343, SIGTERM));
    assert!(s.finish_stop(&mut xorshift(3)), "{}", s.states());

    // A read lost to a full queue is asked again at the next tick.
    let mut s = adopted_daemon("service d pidfile=/run/d.pid -- /launcher\n");
    s.sup.child_exited(4242, OK, s.now);
    s.take_log();
    s.sup.poll_action();
    assert_eq!(s.deadline(), Some(s.now));
    s.advance_to(s.now);
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
}

/// A `pidfile=` launcher that does not fork (`sshd -D`, `nginx -g 'daemon
/// off;'`) runs once its pidfile names it: foster polls the pidfile while
/// it runs, and what runs `after=` it starts. Any other pid named
/// meanwhile is not claimed (a daemon it forked is not foster's child yet).
#[test]
fn a_pidfile_launcher_that_stays_in_the_foreground_runs_once_named() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service self restart=on-failure pidfile=/run/s.pid -- /sshd\n\
         service dep after=self -- /dep\n",
    );
    let launcher = s.pid("self").unwrap();
    assert_eq!(s.spawned_names(), ["self"]);
    assert_eq!(s.deadline(), Some(PIDFILE_POLL));
    s.advance_to(PIDFILE_POLL);
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    assert_eq!(s.deadline(), None, "no poll while a read is out");
    for read in [
        PidfileRead::Missing,
        PidfileRead::NotAChild(4242),
        PidfileRead::Child(4242),
    ] {
        s.sup.pidfile_read(0, read, s.now);
        s.pump();
        assert!(matches!(s.state("self"), State::Launching { .. }));
        assert_eq!(s.deadline(), Some(s.now + PIDFILE_POLL));
        s.advance_to(s.now + PIDFILE_POLL);
        assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    }
    s.sup.pidfile_read(0, PidfileRead::Child(launcher), s.now);
    s.pump();
    assert_eq!(s.state("self"), State::Running { pid: launcher });
    let log = s.take_log();
    assert!(log.contains(&Action::Note(Note::Adopted {
        slot: 0,
        pid: launcher
    })));
    assert!(matches!(s.state("dep"), State::Running { .. }), "{log:?}");
    assert_eq!(s.deadline(), None, "asleep");

    // Its end: the pidfile still names it, the run ends with its status.
    s.exit("self", FAIL);
    s.sup
        .pidfile_read(0, PidfileRead::NotAChild(launcher), s.now);
    s.pump();
    assert!(matches!(s.state("self"), State::Backoff { .. }));
    assert_eq!(s.sup.slot(0).unwrap().last_exit, Some(FAIL));
}

/// The poll of a running launcher's pidfile is bounded: after
/// [`PIDFILE_WAIT`] foster sleeps, the entry still launching; its
/// launcher's exit then looks for the daemon as before.
#[test]
fn the_poll_of_a_launchers_pidfile_ends_after_the_wait() {
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    let mut reads = 0;
    while let Some(d) = s.deadline() {
        assert!(d < PIDFILE_WAIT + PIDFILE_POLL, "{d}");
        s.advance_to(d);
        if s.take_log().contains(&Action::ReadPidfile { slot: 0 }) {
            reads += 1;
            s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
            s.pump();
        }
    }
    // At 100 ms, 200 ms, ... up to 5 s.
    assert_eq!(reads, PIDFILE_WAIT / PIDFILE_POLL);
    assert!(matches!(s.state("d"), State::Launching { .. }));
    s.advance_to(s.now + 60_000);
    assert!(s.take_log().is_empty());
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4242 });
}

/// A stop while the launcher's pidfile is polled stops the launcher as
/// before (an answer that comes after changes nothing), and its daemon is
/// looked for; a launcher adopted as the main pid stops as any service,
/// with no daemon to look for.
#[test]
fn a_stop_during_the_launchers_poll_stops_the_launcher() {
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.advance_to(PIDFILE_POLL);
    s.take_log();
    assert!(s.sup.stop(0, s.now));
    s.pump();
    assert!(signalled(&s.take_log(), launcher, SIGTERM));
    s.sup.pidfile_read(0, PidfileRead::Child(launcher), s.now);
    s.pump();
    assert!(matches!(
        s.state("d"),
        State::Stopping { launcher: true, .. }
    ));
    s.sup.child_exited(launcher, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(matches!(
        s.state("d"),
        State::FindingPid {
            stop: Some(AfterStop::Stay),
            ..
        }
    ));
    s.take_log();
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), 4242, SIGTERM));
    s.sup.child_exited(4242, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Stopped);

    // Adopted: stopped and gone, no pidfile read.
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.advance_to(PIDFILE_POLL);
    s.sup.pidfile_read(0, PidfileRead::Child(launcher), s.now);
    s.pump();
    s.take_log();
    assert!(s.sup.restart(0, s.now));
    s.pump();
    assert!(signalled(&s.take_log(), launcher, SIGTERM));
    s.sup.child_exited(launcher, ExitStatus::Signal(15), s.now);
    s.pump();
    let log = s.take_log();
    assert!(!log.contains(&Action::ReadPidfile { slot: 0 }), "{log:?}");
    assert!(matches!(s.state("d"), State::Launching { .. }));

    // The orderly stop while the poll's read is out: the launcher stops.
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.advance_to(PIDFILE_POLL);
    s.take_log();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), launcher, SIGTERM));
    assert!(s.finish_stop(&mut xorshift(9)), "{}", s.states());
}

/// A `shutdown` entry with a `pidfile=` is still bounded by its timeout
/// while its launcher runs (its pidfile poll does not put that off).
#[test]
fn a_pidfile_shutdown_entry_is_bounded_by_its_timeout() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service a -- /a\nshutdown sd timeout=1s pidfile=/run/sd.pid -- /sd\n",
    );
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    s.exit("a", ExitStatus::Signal(15));
    let sd = s.pid("sd").unwrap();
    assert!(matches!(s.state("sd"), State::Launching { .. }));
    let start = s.now;
    let mut killed = false;
    while !killed {
        let d = s.deadline().unwrap();
        assert!(d <= start + 1000, "{d}");
        s.advance_to(d);
        let log = s.take_log();
        if log.contains(&Action::ReadPidfile { slot: s.id("sd") }) {
            s.sup.pidfile_read(s.id("sd"), PidfileRead::Missing, s.now);
            s.pump();
        }
        killed = signalled(&log, sd, SIGTERM);
    }
    assert_eq!(s.now, start + 1000);
}

/// Services stop together, signalled newest first, each bounded by its own
/// `timeout=`: two that ignore their stop signal cost the longer timeout,
/// not the sum.
#[test]
fn shutdown_stops_newest_first_with_timeouts_then_everything() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service a timeout=2s -- /a\nservice b stop=INT timeout=3s -- /b\nshutdown s -- /save\n",
    );
    let (a, b) = (s.pid("a").unwrap(), s.pid("b").unwrap());
    s.take_log();
    s.sup.shutdown(Outcome::Poweroff, s.now);
    s.pump();
    let log = s.take_log();
    let at = |pid, sig| {
        log.iter().position(|x| {
            *x == Action::Signal {
                pid,
                sig,
                hangup: false,
            }
        })
    };
    let (sig_b, sig_a) = (at(b, 2).unwrap(), at(a, SIGTERM).unwrap());
    assert!(sig_b < sig_a, "newest first: {log:?}");
    // Neither stops: a gets SIGKILL at 2 s, b at 3 s.
    s.run_until(1_999);
    assert!(!signalled(&s.take_log(), a, SIGKILL));
    s.advance_to(2_000);
    assert!(signalled(&s.take_log(), a, SIGKILL));
    s.sup.child_exited(a, ExitStatus::Signal(9), s.now);
    s.pump();
    s.run_until(2_999);
    assert!(!signalled(&s.take_log(), b, SIGKILL));
    s.advance_to(3_000);
    assert!(signalled(&s.take_log(), b, SIGKILL));
    s.sup.child_exited(b, ExitStatus::Signal(9), s.now);
    s.pump();
    // Then the shutdown entry, waited.
    assert!(matches!(s.state("s"), State::Running { .. }));
    s.take_log();
    s.exit("s", OK);
    let log = s.take_log();
    assert!(log.contains(&Action::SignalAll { sig: SIGTERM }));
    // Stragglers get SIGKILL after the grace; then foster finishes.
    s.advance_to(s.now + TERM_GRACE);
    assert!(s.take_log().contains(&Action::SignalAll { sig: SIGKILL }));
    s.sup.no_children_left(s.now);
    s.pump();
    assert_eq!(s.take_log(), []);
    assert_eq!(s.sup.finished(), Some(Outcome::Poweroff));
}

/// A `shutdown` entry is bounded by its own `timeout=`: stopped when it
/// runs out (a deadline the runtime wakes up for), then the next one runs.
#[test]
fn a_shutdown_entry_that_hangs_is_stopped_at_its_timeout() {
    let mut s = Sim::new(
        Mode::SubInit,
        "shutdown x timeout=1s -- /x\nshutdown y -- /y\n",
    );
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    let x = s.pid("x").unwrap();
    assert_eq!(s.deadline(), Some(1_000));
    s.run_until(999);
    assert!(!signalled(&s.take_log(), x, SIGTERM));
    s.advance_to(1_000);
    assert!(signalled(&s.take_log(), x, SIGTERM));
    assert_eq!(s.state("y"), State::Pending);
    s.sup.child_exited(x, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(matches!(s.state("y"), State::Running { .. }));
}

#[test]
fn a_process_that_survives_sigkill_does_not_hang_the_stop() {
    let mut s = Sim::new(Mode::SubInit, "service a timeout=1s -- /a\n");
    s.sup.shutdown(Outcome::Exit(0), 0);
    s.pump();
    // Never reaped (stuck in the kernel): the stop goes on anyway.
    s.run_until(1_000 + KILL_GRACE + TERM_GRACE + KILL_GRACE);
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(0)));
}

/// foster woke late (frozen with its cgroup, `docker pause`, SIGSTOP), past
/// both the stop's timeout and the SIGKILL grace: the process still gets its
/// SIGKILL, and a restart waits for its end, not beside it.
#[test]
fn a_stop_timeout_found_late_still_kills_before_giving_up() {
    let mut s = Sim::new(Mode::SubInit, "service a timeout=1s -- /a\n");
    let pid = s.pid("a").unwrap();
    assert!(s.sup.restart(s.id("a"), s.now));
    s.pump();
    s.take_log();
    s.advance_to(1_000 + KILL_GRACE + 500);
    assert!(signalled(&s.take_log(), pid, SIGKILL), "{}", s.states());
    assert!(matches!(s.state("a"), State::Stopping { .. }));
    s.exit("a", ExitStatus::Signal(9));
    assert!(matches!(s.state("a"), State::Running { pid: p } if p != pid));
}

/// `setup` stopped on request: `test` (blocked by it, directly or through
/// a chain) waits and does not end foster; `ctl start` of `setup` and its
/// readiness bring the rest up. The simulation, for the caller's checks.
fn stopped_setup_keeps_test_waiting_until_started(table: &str) -> Sim {
    let mut s = Sim::new(Mode::SubInit, table);
    assert!(s.sup.stop(s.id("setup"), s.now));
    s.pump();
    s.exit("setup", ExitStatus::Signal(15));
    s.run_until(60_000);
    assert_eq!(s.state("test"), State::Pending);
    assert_eq!(s.sup.shutdown_outcome(), None);
    assert!(s.sup.start_slot(s.id("setup"), s.now));
    s.pump();
    s.sup.ready(s.id("setup"), s.now);
    s.pump();
    s
}

/// An `on-exit=` entry blocked by an `after=` that failed ends as a failed
/// start (255), whatever its `restart=`; one whose `after=` is only stopped
/// on request waits for `ctl start` of it.
#[test]
fn an_on_exit_entry_blocked_by_a_failure_ends_but_not_by_a_stop() {
    let table = "service svc -- /svc\nonce setup ready=fd:3 -- /s\n\
                 service test after=setup restart=on-failure on-exit=exit -- /t\n";
    let mut s = Sim::new(Mode::SubInit, table);
    s.exit("setup", FAIL);
    let log = s.take_log();
    let test = s.id("test");
    assert!(log.contains(&Action::Note(Note::ExitStatus {
        slot: test,
        code: 255
    })));
    assert_eq!(s.state("test"), State::Failed {});
    assert_eq!(s.sup.slot(test).unwrap().last_exit, None);
    assert_eq!(s.sup.shutdown_outcome(), Some(Outcome::Exit(255)));

    let s = stopped_setup_keeps_test_waiting_until_started(table);
    assert!(matches!(s.state("test"), State::Running { .. }));
}

/// Through a chain (`test` after `mid` after `setup`): what counts is the
/// root of the block, a failure or only a stop on request.
#[test]
fn an_on_exit_entry_blocked_through_a_chain_looks_at_its_root() {
    let table = "service svc -- /svc\nservice setup ready=fd:3 restart=never -- /s\n\
                 service mid after=setup -- /m\nonce test after=mid on-exit=exit -- /t\n";
    let mut s = Sim::new(Mode::SubInit, table);
    s.exit("setup", FAIL);
    s.pump();
    assert_eq!(s.sup.shutdown_outcome(), Some(Outcome::Exit(255)));

    let s = stopped_setup_keeps_test_waiting_until_started(table);
    assert!(matches!(s.state("mid"), State::Running { .. }));
    assert!(matches!(s.state("test"), State::Running { .. }));
}

/// `ctl restart` of an entry still waiting for its `after=` is a start (it
/// stays waiting, as runit and systemd start what is not running); `ctl
/// start` of it already answered so.
#[test]
fn a_restart_of_an_entry_waiting_for_its_after_is_a_start() {
    let table = "service a ready=fd:3 -- /a\nservice b after=a -- /b\n";
    let mut s = Sim::new(Mode::SubInit, table);
    assert_eq!(s.state("b"), State::Pending);
    assert!(s.sup.bring_up(s.id("b"), s.now, true));
    assert!(s.sup.bring_up(s.id("b"), s.now, false));
    s.pump();
    assert_eq!(s.state("b"), State::Pending);
    s.sup.ready(s.id("a"), s.now);
    s.pump();
    assert!(matches!(s.state("b"), State::Running { .. }));
}

#[test]
fn subinit_exits_when_nothing_is_left_with_the_on_exit_code() {
    let mut s = Sim::new(Mode::SubInit, "once a -- /a\nonce b on-exit=exit:7 -- /b\n");
    s.exit("a", OK);
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    assert_eq!(s.sup.finished(), None);
    s.exit("b", FAIL);
    s.sup.no_children_left(s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::Note(Note::ExitStatus { slot: 1, code: 1 })));
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(7)));
}

#[test]
fn bare_on_exit_exit_ends_with_the_entry_status() {
    for (status, code) in [(ExitStatus::Code(5), 5), (ExitStatus::Signal(9), 137)] {
        let mut s = Sim::new(Mode::SubInit, "once b on-exit=exit -- /b\n");
        s.exit("b", status);
        s.sup.no_children_left(s.now);
        s.pump();
        s.take_log();
        assert_eq!(s.sup.finished(), Some(Outcome::Exit(code)));
        assert_eq!(s.sup.exit_code(), code);
    }
}

#[test]
fn subinit_with_nothing_left_but_orphans_waits_for_them() {
    let mut s = Sim::new(Mode::SubInit, "once a -- /a\n");
    s.exit("a", OK);
    s.take_log();
    assert_eq!(s.sup.finished(), None);
    s.sup.child_exited(999, OK, s.now);
    s.sup.no_children_left(s.now);
    s.pump();
    // The stop's sweep reaps first: still none.
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(0)));
    assert_eq!(s.sup.orphans_reaped, 1);
}

/// An orphan adopted after the reaper last said ECHILD (a daemon whose
/// parent ran outside PID 1's namespace) gets the SIGTERM grace: the stop
/// asks the reaper again rather than finish on the old answer.
#[test]
fn the_term_sweep_waits_for_an_orphan_adopted_after_no_children() {
    let mut s = Sim::new(Mode::Pid1, "once a -- /a\n");
    s.exit("a", OK);
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    s.sup.shutdown(Outcome::Poweroff, s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::SignalAll { sig: SIGTERM }), "{log:?}");
    assert_eq!(s.sup.finished(), None, "{log:?}");
    s.sup.child_exited(999, OK, s.now);
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Poweroff));
}

#[test]
fn pid1_never_finishes_on_its_own() {
    let mut s = Sim::new(Mode::Pid1, "once a -- /a\n");
    s.exit("a", OK);
    s.sup.no_children_left(s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::Note(Note::NothingLeft)));
    assert_eq!(s.sup.finished(), None);
}

#[test]
fn on_exit_poweroff_reports_the_code_and_shuts_down() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service web -- /web\nonce test on-exit=poweroff -- /test\n",
    );
    s.take_log();
    s.exit("test", ExitStatus::Code(3));
    let log = s.take_log();
    assert!(log.contains(&Action::Note(Note::ExitStatus { slot: 1, code: 3 })));
    assert!(log.contains(&Action::Note(Note::ShutdownBegins {
        outcome: Outcome::Poweroff
    })));
    assert_eq!(s.sup.shutdown_outcome(), Some(Outcome::Poweroff));
}

#[test]
fn ctl_stop_start_restart() {
    let mut s = Sim::new(Mode::Pid1, "service a -- /a\n");
    let id = s.id("a");
    let pid = s.pid("a").unwrap();
    assert!(s.sup.stop(id, s.now));
    s.pump();
    s.sup.child_exited(pid, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.state("a"), State::Stopped);
    s.advance_to(60_000);
    assert_eq!(s.state("a"), State::Stopped, "a stopped service stays down");
    assert!(s.sup.start_slot(id, s.now));
    s.pump();
    let pid2 = s.pid("a").unwrap();
    assert_ne!(pid, pid2);
    assert!(s.sup.restart(id, s.now));
    s.pump();
    s.sup.child_exited(pid2, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(matches!(s.state("a"), State::Running { pid } if pid != pid2));
}

/// `ctl stop` of an entry with no process that will not start again by
/// itself (a finished boot or `once` entry, one that failed for good) is
/// done already, as `s6-svc -d` or `systemctl stop` of a stopped unit: it
/// succeeds and changes nothing (a finished `after=` target still counts). A
/// service stopped in its backoff is not started by the backoff's timer.
#[test]
fn ctl_stop_of_an_entry_down_for_good_succeeds_and_it_stays_down() {
    let mut s = Sim::new(
        Mode::SubInit,
        "sysinit s -- /s\nonce o -- /o\nonce bad -- /bad\n\
         service crash backoff=1s..1s -- /c\nservice web after=o -- /w\n",
    );
    s.exit("s", OK);
    s.exit("o", OK);
    s.exit("bad", FAIL);
    s.exit("crash", FAIL);
    assert!(matches!(s.state("crash"), State::Backoff { .. }));
    let web = s.pid("web").unwrap();
    s.take_log();
    for name in ["s", "o", "bad", "crash"] {
        let before = s.state(name);
        assert!(s.sup.stop(s.id(name), s.now), "stop {name} refused");
        s.pump();
        if name != "crash" {
            assert_eq!(s.state(name), before, "{name}");
        }
    }
    assert_eq!(s.state("crash"), State::Stopped);
    s.run_until(60_000);
    assert!(matches!(s.state("s"), State::Done { .. }));
    assert!(matches!(s.state("o"), State::Done { .. }));
    assert!(matches!(s.state("bad"), State::Failed { .. }));
    assert_eq!(s.state("crash"), State::Stopped);
    assert_eq!(s.state("web"), State::Running { pid: web });
    assert!(s.spawned_names().is_empty());
}

#[test]
fn ctl_restart_of_a_backing_off_service_starts_it_and_says_so() {
    let mut s = Sim::new(Mode::SubInit, "service a backoff=5s..20s -- /a\n");
    let id = s.id("a");
    s.exit("a", FAIL);
    s.advance_to(5_000);
    s.exit("a", FAIL);
    assert_eq!(s.state("a"), State::Backoff { until: 15_000 });
    // Done at once (reported so), and from the minimum delay again.
    assert!(s.sup.restart(id, s.now), "restart refused");
    s.pump();
    assert!(matches!(s.state("a"), State::Running { .. }));
    s.exit("a", FAIL);
    assert_eq!(
        s.state("a"),
        State::Backoff {
            until: s.now + 5_000
        }
    );
}

#[test]
fn reload_keeps_unchanged_restarts_changed_stops_removed_starts_new() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service keep -- /k\nservice change -- /c\nservice gone -- /g\n",
    );
    let keep = s.pid("keep").unwrap();
    let change = s.pid("change").unwrap();
    let gone = s.pid("gone").unwrap();
    let new_src = b"service keep -- /k\nservice change -- /c --flag\nservice new -- /n\n".to_vec();
    let table = config_format::parse(&new_src, &mut |e| panic!("{e:?}"));
    let old_src = s.src.clone();
    s.take_log();
    s.sup
        .reload(&table, &|a, b| a.same_as(&old_src, b, &new_src), s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::Signal {
        pid: change,
        sig: SIGTERM,
        hangup: false,
    }));
    assert!(log.contains(&Action::Signal {
        pid: gone,
        sig: SIGTERM,
        hangup: false,
    }));
    assert!(!signalled(&log, keep, SIGTERM));
    assert!(s.pid("new").is_some());
    assert!(s.sup.find(b"gone").is_none());
    s.sup.child_exited(change, ExitStatus::Signal(15), s.now);
    s.sup.child_exited(gone, ExitStatus::Signal(15), s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.iter().any(|a| matches!(a, Action::Forget { .. })));
    assert_eq!(s.pid("keep"), Some(keep));
    assert!(s.pid("change").is_some_and(|p| p != change));
}

#[test]
fn reload_reuses_room_of_removed_entries() {
    let mut s = Sim::new(Mode::SubInit, "service a -- /a\n");
    for round in 0..(MAX_SLOTS * 2) {
        let name = format!("n{round}");
        let src = format!("service {name} -- /x\n").into_bytes();
        let table = config_format::parse(&src, &mut |e| panic!("{e:?}"));
        let pids: std::vec::Vec<Pid> = s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
        assert_eq!(s.sup.reload(&table, &|_, _| false, s.now), 0);
        s.pump();
        for p in pids {
            s.sup.child_exited(p, ExitStatus::Signal(15), s.now);
        }
        s.pump();
        assert!(s.pid(&name).is_some(), "round {round}");
    }
    assert!(s.sup.slots().len() <= 3);
}

#[test]
fn orphans_are_counted_not_confused_with_services() {
    let mut s = Sim::new(Mode::Pid1, "service a -- /a\n");
    let pid = s.pid("a").unwrap();
    for orphan in 5000..7000 {
        s.sup.child_exited(orphan, OK, s.now);
        s.pump();
    }
    assert_eq!(s.sup.orphans_reaped, 2000);
    assert_eq!(s.pid("a"), Some(pid));
}

#[test]
fn ctrlaltdel_trigger_and_restart_lookup() {
    let mut s = Sim::new(
        Mode::Pid1,
        "ctrlaltdel c -- /reboot\nrestart r -- /init\nservice a -- /a\n",
    );
    assert_eq!(s.state("c"), State::Pending);
    assert_eq!(s.sup.trigger(Kind::CtrlAltDel, s.now), 1);
    s.pump();
    assert!(matches!(s.state("c"), State::Running { .. }));
    assert_eq!(s.sup.first_of(Kind::Restart), Some(s.id("r")));
}

#[test]
fn spawn_failure_is_an_exit_with_backoff() {
    let src = b"service a -- /a\n".to_vec();
    let table = config_format::parse(&src, &mut |e| panic!("{e:?}"));
    let mut sup = Supervisor::new(Mode::Pid1, slots(), actions());
    sup.start(&table, 0);
    assert_eq!(sup.poll_action(), Some(Action::Spawn { slot: 0 }));
    sup.spawned(0, Err(11), 0);
    let mut saw = false;
    while let Some(a) = sup.poll_action() {
        saw |= a == Action::Note(Note::SpawnFailed { slot: 0, errno: 11 });
    }
    assert!(saw);
    assert!(matches!(sup.slot(0).unwrap().state, State::Backoff { .. }));
}

/// Random events on a virtual clock: the core never panics, never loops
/// forever, keeps pids unique, and a stop always finishes.
#[test]
fn random_event_storm_keeps_invariants_and_always_stops() {
    let mut rnd = xorshift(0x5eed_f057_e12a_0001);
    for round in 0..200 {
        let text = "sysinit s -- /s\nservice a after=b -- /a\nservice b ready=fd:3 -- /b\n\
                    service c restart=on-failure timeout=500ms -- /c\nonce d -- /d\n\
                    service e pidfile=/e.pid -- /e\nshutdown z -- /z\n";
        let mut s = Sim::new(
            if round % 2 == 0 {
                Mode::Pid1
            } else {
                Mode::SubInit
            },
            text,
        );
        for _ in 0..300 {
            let live: std::vec::Vec<Pid> = s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
            match rnd(7) {
                0 if !live.is_empty() => {
                    let pid = live[rnd(live.len() as u64) as usize];
                    let st = if rnd(2) == 0 {
                        OK
                    } else {
                        ExitStatus::Signal(9)
                    };
                    s.sup.child_exited(pid, st, s.now);
                }
                1 => {
                    s.sup.child_exited(90_000 + rnd(100) as Pid, OK, s.now);
                }
                2 => s.sup.ready(rnd(8) as SlotId, s.now),
                3 => {
                    let r = match rnd(3) {
                        0 => PidfileRead::Child(80_000 + rnd(100) as Pid),
                        1 => PidfileRead::NotAChild(1234),
                        _ => PidfileRead::Missing,
                    };
                    s.sup.pidfile_read(rnd(8) as SlotId, r, s.now);
                }
                4 => {
                    let id = rnd(8) as SlotId;
                    match rnd(3) {
                        0 => s.sup.stop(id, s.now),
                        1 => s.sup.start_slot(id, s.now),
                        _ => s.sup.restart(id, s.now),
                    };
                }
                _ => {
                    let t = s.now + rnd(3000);
                    s.advance_to(t);
                }
            }
            s.pump();
            let mut pids: std::vec::Vec<Pid> =
                s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
            let n = pids.len();
            pids.sort_unstable();
            pids.dedup();
            assert_eq!(n, pids.len(), "two slots share a pid");
        }
        s.take_log();
        s.sup.shutdown(Outcome::Exit(0), s.now);
        s.pump();
        // Nothing exits on its own now but what `rnd` picks: the bounds
        // alone must finish.
        let finished = s.finish_stop(&mut rnd);
        assert!(
            finished,
            "round {round}: the stop never finished: {}",
            s.states()
        );
    }
}

/// A daemon that says it is ready before its launcher exits (the launcher
/// waits for that, then exits): the readiness is kept until it is adopted.
#[test]
fn readiness_before_the_launcher_exits_is_not_lost() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service d ready=fd:3 pidfile=/run/d.pid -- /launcher\nservice app after=d -- /app\n",
    );
    assert_eq!(s.spawned_names(), ["d"]);
    let launcher = s.pid("d").unwrap();
    s.sup.ready(s.id("d"), s.now);
    s.pump();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup
        .pidfile_read(s.id("d"), PidfileRead::Child(4242), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Running { pid: 4242 });
    assert_eq!(s.spawned_names(), ["app"]);
}

/// A stale pidfile whose pid now belongs to another entry's process: that
/// process is not adopted (two slots would own, and stop, one pid).
#[test]
fn pidfile_naming_another_entrys_process_is_not_adopted() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service a -- /a\nservice d pidfile=/run/d.pid -- /launcher\n",
    );
    let a = s.pid("a").unwrap();
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup.pidfile_read(s.id("d"), PidfileRead::Child(a), s.now);
    s.pump();
    assert!(matches!(s.state("d"), State::FindingPid { .. }));
    assert_eq!(s.state("a"), State::Running { pid: a });
}

/// `ctl start` of what runs, or waits for its `after=`, is done already and
/// changes nothing; of one still stopping, it comes back once down; of a
/// running boot entry, or while foster stops, it is refused.
#[test]
fn ctl_start_of_what_runs_is_done_and_of_what_stops_brings_it_back() {
    let mut s = Sim::new(
        Mode::SubInit,
        "sysinit s -- /s\nservice db ready=fd:3 -- /db\nservice web after=db -- /web\n",
    );
    assert!(!s.sup.start_named(s.id("s"), s.now), "a running boot entry");
    s.exit("s", OK);
    let db = s.pid("db").unwrap();
    assert_eq!(s.state("web"), State::Pending);
    s.take_log();
    assert!(s.sup.start_named(s.id("db"), s.now));
    assert!(s.sup.start_named(s.id("web"), s.now));
    s.pump();
    assert!(!s
        .take_log()
        .iter()
        .any(|a| matches!(a, Action::Spawn { .. })));
    assert_eq!((s.pid("db"), s.state("web")), (Some(db), State::Pending));

    assert!(s.sup.stop(s.id("db"), s.now));
    s.pump();
    assert!(matches!(s.state("db"), State::Stopping { .. }));
    assert!(s.sup.start_named(s.id("db"), s.now));
    s.sup.child_exited(db, ExitStatus::Signal(15), s.now);
    s.pump();
    let db2 = s.pid("db");
    assert!(db2.is_some_and(|p| p != db), "{}", s.states());

    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(!s.sup.start_named(s.id("web"), s.now));
}

/// `ctl start` of a boot entry after boot would leave it waiting forever
/// (only the boot sequence starts those), and a sub-init would never exit.
#[test]
fn ctl_start_of_a_finished_boot_entry_is_refused() {
    let mut s = Sim::new(
        Mode::SubInit,
        "sysinit s -- /s\nservice a restart=never -- /a\nshutdown sd -- /sd\n",
    );
    s.exit("s", OK);
    // A shutdown entry waiting for its moment is not stopped (it would
    // never run again) and holds nothing up.
    assert!(!s.sup.stop(s.id("sd"), s.now));
    assert_eq!(s.state("sd"), State::Pending);
    assert!(matches!(s.state("a"), State::Running { .. }));
    assert!(!s.sup.start_slot(s.id("s"), s.now));
    assert!(matches!(s.state("s"), State::Done { .. }));
    s.exit("a", OK);
    s.sup.no_children_left(s.now);
    s.pump();
    // Nothing left: the stop runs the shutdown entry, then ends.
    s.exit("sd", OK);
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(0)));
}

/// A stop that comes while a `pidfile=` entry's daemon is still being looked
/// for must stop the daemon once found, not leave it running untracked.
#[test]
fn stopping_a_pidfile_entry_before_adoption_stops_the_daemon() {
    // Stopped while foster is still reading the pidfile.
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    assert!(matches!(s.state("d"), State::FindingPid { .. }));
    assert!(s.sup.stop(0, s.now));
    s.pump();
    s.take_log();
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    assert!(s.take_log().contains(&Action::Signal {
        pid: 4242,
        sig: SIGTERM,
        hangup: false,
    }));
    s.sup.child_exited(4242, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Stopped);

    // Stopped while the launcher still runs: after it exits, the daemon it
    // left is looked for and stopped too.
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    assert!(s.sup.stop(0, s.now));
    s.pump();
    s.sup.child_exited(launcher, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
    s.sup.pidfile_read(0, PidfileRead::Child(5151), s.now);
    s.pump();
    assert!(s.take_log().contains(&Action::Signal {
        pid: 5151,
        sig: SIGTERM,
        hangup: false,
    }));
    s.sup.child_exited(5151, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.state("d"), State::Stopped);

    // No daemon ever shows up: the stop still ends, bounded.
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.sup.stop(0, s.now);
    s.pump();
    s.sup.child_exited(launcher, ExitStatus::Signal(15), s.now);
    s.pump();
    for _ in 0..200 {
        if s.state("d") == State::Stopped {
            break;
        }
        s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
        s.pump();
        let next = s.deadline().unwrap_or(s.now);
        s.advance_to(next);
    }
    assert_eq!(s.state("d"), State::Stopped);
}

#[test]
fn reload_without_room_is_refused_whole() {
    let table_of = |prefix: &str| -> std::vec::Vec<u8> {
        (0..config_format::MAX_ENTRIES)
            .map(|i| format!("service {prefix}{i} -- /x\n"))
            .collect::<std::string::String>()
            .into_bytes()
    };
    let a = table_of("a");
    let mut s = Sim::new(Mode::SubInit, std::str::from_utf8(&a).unwrap());
    let a_pids: std::vec::Vec<Pid> = s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
    // The a-entries stop (and hold their slots until they exit); the
    // b-entries take the other half of the slots.
    let b = table_of("b");
    let table = config_format::parse(&b, &mut |e| panic!("{e:?}"));
    assert_eq!(s.sup.reload(&table, &|_, _| false, s.now), 0);
    s.pump();
    s.advance_to(s.now + 1);
    let b0 = s.pid("b0").unwrap();
    // A second reload before any of them exited: no slot is left for the
    // c-entries. Refused whole: the b-entries run on, no c-entry exists.
    let c = table_of("c");
    let table = config_format::parse(&c, &mut |e| panic!("{e:?}"));
    s.take_log();
    let short = s.sup.reload(&table, &|_, _| false, s.now);
    assert_eq!(short, config_format::MAX_ENTRIES);
    s.pump();
    assert!(s.take_log().is_empty());
    assert_eq!(s.pid("b0"), Some(b0));
    assert!(s.sup.find(b"c0").is_none());
    // One a-entry gone is not room enough for all 64 c-entries either.
    let (first, rest) = a_pids.split_first().unwrap();
    s.sup.child_exited(*first, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.sup.reload(&table, &|_, _| false, s.now), 63);
    // Once the old ones are gone, the same table is taken.
    for &p in rest {
        s.sup.child_exited(p, ExitStatus::Signal(15), s.now);
    }
    s.pump();
    assert_eq!(s.sup.reload(&table, &|_, _| false, s.now), 0);
    s.pump();
    s.advance_to(s.now + 1);
    assert!(s.pid("c63").is_some());
    assert!(s.sup.find(b"b0").is_none());
}

/// Reloads `s` with `text`, entries compared by content.
fn reload(s: &mut Sim, text: &str) {
    let new_src = text.as_bytes().to_vec();
    let table = config_format::parse(&new_src, &mut |e| panic!("{e:?}"));
    let old_src = std::mem::replace(&mut s.src, new_src.clone());
    s.sup
        .reload(&table, &|a, b| a.same_as(&old_src, b, &new_src), s.now);
    s.pump();
}

/// Fills the action queue, as a burst handled just before the runtime's
/// tick can (a `ctl reload` of a big table queues a stop per old entry).
fn fill_queue(s: &mut Sim) {
    while s
        .sup
        .actions
        .push_back(Action::Note(Note::NothingLeft))
        .is_ok()
    {}
}

/// What the runtime does after a tick: drain, and tick again while actions
/// were dropped.
fn tick_like_the_runtime(s: &mut Sim) {
    s.sup.tick(s.now);
    s.pump();
    s.sup.tick(s.now);
    s.pump();
}

/// A pidfile poll due while the queue is full is put off, not lost: the
/// entry went on waiting for an answer that never came, forever.
#[test]
fn a_pidfile_poll_put_off_by_a_full_queue_is_not_lost() {
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
    s.pump();
    s.take_log();
    fill_queue(&mut s);
    s.now = PIDFILE_POLL;
    tick_like_the_runtime(&mut s);
    assert!(s.take_log().contains(&Action::ReadPidfile { slot: 0 }));
}

/// The end of a stop is not lost to a full queue (foster would never
/// exit, PID 1 never reboot): it is the supervisor's state, not an action.
#[test]
fn the_end_of_a_stop_is_not_lost_to_a_full_queue() {
    let mut s = Sim::new(Mode::SubInit, "service a -- /a\n");
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    s.exit("a", ExitStatus::Signal(15));
    s.advance_to(s.now + TERM_GRACE);
    assert!(s.take_log().contains(&Action::SignalAll { sig: SIGKILL }));
    fill_queue(&mut s);
    s.now += KILL_GRACE;
    tick_like_the_runtime(&mut s);
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(0)));
}

/// A `ctrlaltdel` trigger that finds the queue full starts its entry once
/// the queue drains: the entry stayed pending, never to start before the
/// next Ctrl-Alt-Del.
#[test]
fn a_ctrlaltdel_trigger_is_not_lost_to_a_full_queue() {
    let mut s = Sim::new(Mode::Pid1, "ctrlaltdel c -- /reboot\nservice a -- /a\n");
    fill_queue(&mut s);
    assert_eq!(s.sup.trigger(Kind::CtrlAltDel, s.now), 1);
    s.pump();
    tick_like_the_runtime(&mut s);
    assert!(
        matches!(s.state("c"), State::Running { .. }),
        "{:?}",
        s.state("c")
    );
}

/// fork failing again and again (EAGAIN: pid exhaustion) backs off
/// doubling. The uptime of the last run (or, never started, the time since
/// boot) reset the delay to the minimum at every failure: a retry every
/// 100 ms, forever.
#[test]
fn repeated_spawn_failures_back_off_doubling() {
    let mut s = Sim::new(Mode::Pid1, "service a backoff=100ms..1s -- /a\n");
    s.advance_to(60_000);
    s.exit("a", FAIL);
    let mut delays = vec![];
    for _ in 0..5 {
        let State::Backoff { until } = s.state("a") else {
            panic!("{:?}", s.state("a"))
        };
        delays.push(until - s.now);
        s.now = until;
        s.sup.tick(until);
        while let Some(a) = s.sup.poll_action() {
            if let Action::Spawn { slot } = a {
                s.sup.spawned(slot, Err(11), s.now);
            }
        }
    }
    assert_eq!(delays, [100, 200, 400, 800, 1000]);
}

/// An entry others run `after=` stops only once they are gone: web (after
/// db) and cache stop at once, db when web has ended, even if that takes
/// web's whole timeout and a SIGKILL.
#[test]
fn a_service_stops_after_the_services_that_run_after_it() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db -- /db\nservice web after=db timeout=3s -- /web\nservice cache -- /cache\n",
    );
    let (db, web, cache) = (
        s.pid("db").unwrap(),
        s.pid("web").unwrap(),
        s.pid("cache").unwrap(),
    );
    s.take_log();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    let log = s.take_log();
    assert!(
        signalled(&log, web, SIGTERM) && signalled(&log, cache, SIGTERM),
        "{log:?}"
    );
    assert!(
        !signalled(&log, db, SIGTERM),
        "db stopped before web: {log:?}"
    );
    s.exit("cache", ExitStatus::Signal(15));
    db_waits_out_webs_timeout(&mut s, web, db);
}

/// `web` (`timeout=3s`, signalled at 0) ignores its stop: `db`, which web
/// runs `after=`, is not signalled until web is killed at 3 s and gone.
fn db_waits_out_webs_timeout(s: &mut Sim, web: Pid, db: Pid) {
    s.run_until(2_999);
    assert!(!signalled(&s.take_log(), db, SIGTERM));
    s.advance_to(3_000);
    let log = s.take_log();
    assert!(signalled(&log, web, SIGKILL) && !signalled(&log, db, SIGTERM));
    s.sup.child_exited(web, ExitStatus::Signal(9), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), db, SIGTERM));
}

/// A reload that removes `web` (after `db`) and `db` stops them as the
/// orderly stop does: web first, db once web is gone, here after web's
/// whole `timeout=` and a SIGKILL (both were signalled at the same moment,
/// db gone while web still ran). An entry that stays is left alone.
#[test]
fn a_reload_stops_a_removed_entry_after_the_removed_ones_that_run_after_it() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db -- /db\nservice web after=db timeout=3s -- /web\nservice keep -- /k\n",
    );
    let (db, web, keep) = (
        s.pid("db").unwrap(),
        s.pid("web").unwrap(),
        s.pid("keep").unwrap(),
    );
    s.take_log();
    reload(&mut s, "service keep -- /k\n");
    let log = s.take_log();
    assert!(
        signalled(&log, web, SIGTERM) && !signalled(&log, db, SIGTERM),
        "{log:?}"
    );
    db_waits_out_webs_timeout(&mut s, web, db);
    s.sup.child_exited(db, ExitStatus::Signal(15), s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::Forget { slot: 0 }), "{log:?}");
    assert!(!log.iter().any(|a| matches!(a, Action::Spawn { .. })));
    assert_eq!(s.pid("keep"), Some(keep));
    assert!(s
        .sup
        .slots()
        .iter()
        .all(|sl| sl.removed() != sl.is_active()));
}

/// What a held entry becomes: one that ends on its own is forgotten (no
/// restart, no `on-exit=`), its end logged as any other; a reload while it
/// waits leaves it waiting and can bring its name back as a new entry,
/// which starts once the old process is gone; a shutdown stops each in its
/// turn.
#[test]
fn a_removed_entry_held_by_a_reload_ends_reloads_and_shuts_down_cleanly() {
    let table = "service db on-exit=poweroff -- /db\nservice web after=db -- /web\n";
    let mut s = Sim::new(Mode::Pid1, table);
    let (db, web) = (s.pid("db").unwrap(), s.pid("web").unwrap());
    reload(&mut s, "");
    s.take_log();
    s.sup.child_exited(db, FAIL, s.now);
    s.pump();
    let log = s.take_log();
    assert!(log.contains(&Action::Forget { slot: 0 }), "{log:?}");
    let logged = Action::Note(Note::Exited {
        slot: 0,
        status: FAIL,
        quiet: false,
        restart_in: None,
    });
    assert!(log.contains(&logged), "{log:?}");
    assert!(s.sup.shutdown_outcome().is_none(), "{log:?}");
    s.sup.child_exited(web, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(
        s.sup.slots().iter().all(|sl| !sl.is_active()),
        "{}",
        s.states()
    );

    let mut s = Sim::new(Mode::Pid1, table);
    let (db, web) = (s.pid("db").unwrap(), s.pid("web").unwrap());
    reload(&mut s, "");
    reload(&mut s, table);
    // The names are back while the old processes still stop: the new
    // entries wait for them, the old `db` for the old `web` after it.
    assert_eq!(s.state("db"), State::Pending, "{}", s.states());
    assert_eq!(s.state("web"), State::Pending, "{}", s.states());
    s.take_log();
    s.sup.child_exited(web, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), db, SIGTERM));
    assert_eq!(s.state("db"), State::Pending, "{}", s.states());
    s.sup.child_exited(db, ExitStatus::Signal(15), s.now);
    s.pump();
    let (db2, web2) = (s.pid("db").unwrap(), s.pid("web").unwrap());
    assert!(db2 != db && web2 != web);
    s.take_log();
    s.sup.shutdown(Outcome::Reboot, s.now);
    s.pump();
    let log = s.take_log();
    assert!(signalled(&log, web2, SIGTERM), "{log:?}");
    assert!(!signalled(&log, db2, SIGTERM), "db before the web after it");
    s.sup.child_exited(web2, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), db2, SIGTERM));
    assert!(s.finish_stop(&mut xorshift(7)), "{}", s.states());
}

/// `db`, a `pidfile=` daemon, died and was launched again while `web`
/// (`after=db`) ran on: the new launcher has exited and its daemon is still
/// looked for. The simulation, and web's pid.
fn daemon_looked_for_again_while_web_runs() -> (Sim, Pid) {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db pidfile=/run/db.pid -- /launcher\nservice web after=db -- /web\n",
    );
    let launcher = s.pid("db").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    let web = s.pid("web").unwrap();
    s.sup.child_exited(4242, ExitStatus::Signal(9), s.now);
    s.pump();
    // Its pidfile, read again, still names it: no new main pid.
    s.sup.pidfile_read(0, PidfileRead::NotAChild(4242), s.now);
    s.pump();
    s.run_until(s.deadline().unwrap());
    let launcher = s.pid("db").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
    s.pump();
    assert!(matches!(s.state("db"), State::FindingPid { .. }));
    (s, web)
}

/// A removed `pidfile=` daemon still looked for when the reload comes is
/// stopped once found, but not before the removed entry that runs after it.
#[test]
fn a_removed_daemon_found_after_the_reload_still_waits_for_its_dependents() {
    let (mut s, web) = daemon_looked_for_again_while_web_runs();
    reload(&mut s, "");
    assert!(signalled(&s.take_log(), web, SIGTERM));
    s.advance_to(s.now + PIDFILE_POLL);
    s.sup.pidfile_read(0, PidfileRead::Child(5151), s.now);
    s.pump();
    let log = s.take_log();
    assert!(!signalled(&log, 5151, SIGTERM), "db before web: {log:?}");
    s.sup.child_exited(web, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), 5151, SIGTERM));

    // None shows up: the entry is dropped without a word.
    let mut s = Sim::new(
        Mode::SubInit,
        "service db pidfile=/run/db.pid -- /launcher
",
    );
    s.exit("db", OK);
    reload(&mut s, "");
    let mut log = vec![];
    while s.now <= PIDFILE_WAIT && s.sup.slot(0).unwrap().is_active() {
        log.extend(s.take_log());
        s.sup.pidfile_read(0, PidfileRead::Missing, s.now);
        s.advance_to(s.now + PIDFILE_POLL);
    }
    log.extend(s.take_log());
    assert!(log.contains(&Action::Forget { slot: 0 }), "{log:?}");
    assert!(!log.contains(&Action::Note(Note::PidfileMissing { slot: 0 })));
}

/// A removed `pidfile=` entry whose launcher still runs (launched again
/// after a crash, `web` ran on) stops its launcher at once: held for `web`,
/// it could outlive the text of its pidfile path (the next reload
/// overwrites it) and leave a daemon nobody looks for. The daemon it may
/// have left still waits for `web`.
#[test]
fn a_removed_launcher_stops_at_once_and_its_daemon_in_its_turn() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db pidfile=/run/db.pid -- /launcher\nservice web after=db -- /web\n",
    );
    s.exit("db", OK);
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    let web = s.pid("web").unwrap();
    s.sup.child_exited(4242, ExitStatus::Signal(9), s.now);
    s.pump();
    // Its pidfile, read again, still names it: no new main pid.
    s.sup.pidfile_read(0, PidfileRead::NotAChild(4242), s.now);
    s.pump();
    s.run_until(s.deadline().unwrap());
    let launcher = s.pid("db").unwrap();
    assert!(matches!(s.state("db"), State::Launching { .. }));
    s.take_log();
    reload(&mut s, "");
    let log = s.take_log();
    assert!(signalled(&log, launcher, SIGTERM), "{log:?}");
    assert!(signalled(&log, web, SIGTERM));
    s.sup.child_exited(launcher, ExitStatus::Signal(15), s.now);
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::Child(5151), s.now);
    s.pump();
    assert!(!signalled(&s.take_log(), 5151, SIGTERM), "db before web");
    s.sup.child_exited(web, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), 5151, SIGTERM));
}

/// A removed entry is never held by one that stays (`after=` names only
/// entries of the new table): a service `db` replaced by a `once db` stops
/// at once, though the unchanged `web` runs `after=` a `db`.
#[test]
fn an_entry_replaced_by_one_of_another_kind_stops_at_once() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db -- /db
service web after=db -- /web
",
    );
    let (db, web) = (s.pid("db").unwrap(), s.pid("web").unwrap());
    s.take_log();
    reload(
        &mut s,
        "once db -- /db
service web after=db -- /web
",
    );
    let log = s.take_log();
    assert!(signalled(&log, db, SIGTERM), "{log:?}");
    assert!(!signalled(&log, web, SIGTERM) && s.pid("web") == Some(web));
}

/// Entries removed by different reloads may name each other by the same
/// names (`a` ran after `b`, a later `b` after a later `a`): what one of
/// them runs `after=` is what had that name when it was removed, so they
/// never wait for each other in a circle (a stop that never ended).
#[test]
fn entries_removed_by_successive_reloads_never_wait_in_a_circle() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service b -- /b\nservice a after=b -- /a\nservice c after=a timeout=2s -- /c\n\
         service k -- /k\n",
    );
    let c = s.pid("c").unwrap();
    reload(&mut s, "service k -- /k\n");
    reload(
        &mut s,
        "service k -- /k\nservice a -- /a\nservice b after=a -- /b\n",
    );
    reload(&mut s, "service k -- /k\n");
    s.take_log();
    s.run_until(2_000);
    s.sup.child_exited(c, ExitStatus::Signal(9), s.now);
    s.pump();
    // Each one signalled ends: the next in line is signalled in turn.
    for _ in 0..10 {
        let stopping: std::vec::Vec<Pid> = s
            .sup
            .slots()
            .iter()
            .filter(|sl| matches!(sl.state, State::Stopping { .. }))
            .filter_map(|sl| sl.pid())
            .collect();
        for p in stopping {
            s.sup.child_exited(p, ExitStatus::Signal(15), s.now);
        }
        s.pump();
    }
    assert!(
        s.sup
            .slots()
            .iter()
            .all(|sl| !sl.removed() || !sl.is_active()),
        "{}",
        s.states()
    );
    assert_eq!(s.sup.slots().iter().filter(|sl| sl.is_active()).count(), 1);
}

/// Sixteen services that all ignore SIGTERM: the services' part of the stop
/// takes one `timeout=` (5 s), not sixteen.
#[test]
fn services_that_ignore_their_stop_signal_cost_one_timeout_not_one_each() {
    let table: String = (0..16)
        .map(|i| format!("service s{i} -- /s{i}\n"))
        .collect();
    let mut s = Sim::new(Mode::SubInit, &table);
    let pids: std::vec::Vec<Pid> = s.sup.slots().iter().filter_map(|x| x.pid()).collect();
    assert_eq!(pids.len(), 16);
    s.take_log();
    let t0 = s.now;
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    let log = s.take_log();
    assert!(pids.iter().all(|&p| signalled(&log, p, SIGTERM)), "{log:?}");
    s.run_until(t0 + 5_000);
    let log = s.take_log();
    assert!(pids.iter().all(|&p| signalled(&log, p, SIGKILL)), "{log:?}");
    for p in pids {
        s.sup.child_exited(p, ExitStatus::Signal(9), s.now);
    }
    s.pump();
    assert!(s.take_log().contains(&Action::SignalAll { sig: SIGTERM }));
    assert_eq!(s.now, t0 + 5_000);
}

/// `ctl restart` while foster shuts down can restart nothing: refused (it
/// said ok), and an entry still needed by another is not stopped before it.
#[test]
fn ctl_restart_during_shutdown_is_refused() {
    let mut s = Sim::new(Mode::SubInit, "service a -- /a\nservice b after=a -- /b\n");
    let a = s.pid("a").unwrap();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    s.take_log();
    assert!(!s.sup.restart(s.id("a"), s.now));
    s.pump();
    assert!(!signalled(&s.take_log(), a, SIGTERM));
    assert!(matches!(s.state("a"), State::Running { .. }));
}

/// An `on-exit=exit` entry that ends on its own while a stop runs (before
/// its turn) sets the sub-init's status, as its `exit-status` line says.
#[test]
fn an_on_exit_entry_ending_during_the_stop_sets_the_exit_status() {
    let mut s = Sim::new(
        Mode::SubInit,
        "once t on-exit=exit -- /t\nservice slow after=t -- /slow\n",
    );
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(matches!(s.state("slow"), State::Stopping { .. }));
    assert!(matches!(s.state("t"), State::Running { .. }));
    s.exit("t", ExitStatus::Code(3));
    s.exit("slow", ExitStatus::Signal(15));
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(3)));
}

/// `ctl stop web`, then a reload that changed web's line while web is still
/// stopping: web stays down, as it does when it stopped a moment sooner.
#[test]
fn a_reload_does_not_restart_an_entry_stopping_on_request() {
    for exit_first in [true, false] {
        let mut s = Sim::new(Mode::SubInit, "service web -- /web\n");
        let pid = s.pid("web").unwrap();
        assert!(s.sup.stop(0, s.now));
        s.pump();
        if exit_first {
            s.exit("web", ExitStatus::Signal(15));
        }
        reload(&mut s, "service web -- /web --new\n");
        if !exit_first {
            s.sup.child_exited(pid, ExitStatus::Signal(15), s.now);
            s.pump();
        }
        assert_eq!(s.state("web"), State::Stopped, "exited first: {exit_first}");
    }
}

/// Shutdown entries run in the order of the table in force: a reload keeps
/// slots where they are, and a new entry may take a removed one's room
/// (BusyBox moves a matching entry to the end on reload for exactly this).
#[test]
fn shutdown_entries_run_in_the_reloaded_tables_order() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service a -- /a\nshutdown umount -- /umount\nshutdown swapoff -- /swapoff\nshutdown x -- /x\n",
    );
    reload(
        &mut s,
        "service a -- /a\nshutdown new -- /new\nshutdown swapoff -- /swapoff\nshutdown umount -- /umount\n",
    );
    s.take_log();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    s.exit("a", ExitStatus::Signal(15));
    let mut ran = s.spawned_names();
    for _ in 0..3 {
        let name = ran.last().unwrap().clone();
        s.exit(&name, OK);
        ran.extend(s.spawned_names());
    }
    assert_eq!(ran, ["new", "swapoff", "umount"]);
}

/// A reload while foster stops is refused, as BusyBox init ignores SIGHUP
/// then: the table in force is kept, nothing new starts, nothing is removed.
#[test]
fn a_reload_during_a_stop_changes_nothing() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service a -- /a\nshutdown z -- /z\nshutdown w -- /w\n",
    );
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    s.take_log();
    reload(
        &mut s,
        "service a -- /a --new\nservice c -- /c\nshutdown y -- /y\nshutdown w -- /w\n",
    );
    assert!(s.sup.find(b"c").is_none() && s.sup.find(b"y").is_none());
    assert_eq!(s.state("z"), State::Pending);
    assert!(s.sup.slots().iter().all(|x| !x.removed()));
    s.exit("a", ExitStatus::Signal(15));
    assert_eq!(s.spawned_names(), ["z"]);
}

/// The `restart` entry SIGQUIT chose is the one exec'd at the end of the
/// stop: a reload then cannot remove it and give its slot to another entry.
#[test]
fn a_reload_during_a_stop_keeps_the_restart_entry() {
    let mut s = Sim::new(Mode::Pid1, "restart r -- /init\nservice a -- /a\n");
    let r = s.sup.first_of(Kind::Restart).unwrap();
    s.sup.shutdown(Outcome::ExecRestart(r), s.now);
    s.pump();
    reload(&mut s, "restart x -- /other\nservice a -- /a\n");
    let slot = s.sup.slot(r).unwrap();
    assert_eq!(slot.name().as_str(), "r");
    assert!(!slot.removed());
}

/// A reload that would remove the running shutdown entry does not let the
/// next one start beside it: one at a time.
#[test]
fn a_reload_during_shutdown_entries_keeps_them_one_at_a_time() {
    let mut s = Sim::new(Mode::SubInit, "shutdown a -- /a\nshutdown b -- /b\n");
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(matches!(s.state("a"), State::Running { .. }));
    reload(&mut s, "shutdown b -- /b\n");
    assert_eq!(s.state("b"), State::Pending);
    s.exit("a", OK);
    assert!(matches!(s.state("b"), State::Running { .. }));
}

/// SIGQUIT execs the first `restart` entry of the table in force, not the
/// one in the first slot (a reload keeps slots where they are).
#[test]
fn the_restart_entry_is_the_first_of_the_reloaded_table() {
    let mut s = Sim::new(Mode::Pid1, "restart a -- /a\nrestart b -- /b\n");
    reload(&mut s, "restart b -- /b\nrestart a -- /a\n");
    assert_eq!(s.sup.first_of(Kind::Restart), Some(s.id("b")));
}

/// A reload that changes an entry's kind replaces the entry. Kept, a
/// running service went on as a `shutdown` entry (not stopped with the
/// services, and its past deadline made the runtime spin while another
/// shutdown entry ran); a pending `shutdown` entry turned `sysinit` waited
/// forever and a sub-init never exited.
#[test]
fn a_reload_that_changes_a_kind_replaces_the_entry() {
    let mut s = Sim::new(Mode::SubInit, "service z -- /z\nshutdown a -- /a\n");
    let z = s.pid("z").unwrap();
    s.take_log();
    reload(&mut s, "shutdown a -- /a\nshutdown z -- /z\n");
    assert!(s.take_log().contains(&Action::Signal {
        pid: z,
        sig: SIGTERM,
        hangup: false,
    }));
    s.sup.child_exited(z, ExitStatus::Signal(15), s.now);
    s.pump();
    s.advance_to(10_000);
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert_eq!(s.spawned_names(), ["a"]);
    s.advance_to(10_001);
    assert!(s.deadline().is_none_or(|d| d > s.now));

    let mut s = Sim::new(
        Mode::SubInit,
        "service a restart=never -- /a\nshutdown x -- /x\n",
    );
    reload(&mut s, "service a restart=never -- /a\nsysinit x -- /x\n");
    s.exit("a", OK);
    s.sup.no_children_left(s.now);
    s.pump();
    // The stop's sweep reaps first: still none.
    s.sup.no_children_left(s.now);
    s.pump();
    s.take_log();
    assert_eq!(s.sup.finished(), Some(Outcome::Exit(0)));
}

/// `ctl stop` of a `shutdown` or `ctrlaltdel` entry waiting for its moment
/// is refused: it made the entry Stopped, skipped at its moment for good
/// (`ctl start` does not take those kinds), e.g. a `umount -a -r`.
#[test]
fn ctl_stop_does_not_disable_shutdown_and_trigger_entries() {
    let mut s = Sim::new(
        Mode::Pid1,
        "service a -- /a\nshutdown sd -- /umount\nctrlaltdel k -- /k\n",
    );
    assert!(!s.sup.stop(s.id("sd"), s.now));
    assert!(!s.sup.stop(s.id("k"), s.now));
    s.pump();
    assert_eq!(s.sup.trigger(Kind::CtrlAltDel, s.now), 1);
    s.pump();
    s.exit("k", OK);
    // Done, it waits for its next moment: still not stopped.
    assert!(!s.sup.stop(s.id("k"), s.now));
    assert_eq!(s.sup.trigger(Kind::CtrlAltDel, s.now), 1);
    s.pump();
    s.exit("k", OK);
    // Stopped while it runs, it still runs at the next Ctrl-Alt-Del.
    assert_eq!(s.sup.trigger(Kind::CtrlAltDel, s.now), 1);
    s.pump();
    assert!(s.sup.stop(s.id("k"), s.now));
    s.pump();
    s.exit("k", ExitStatus::Signal(15));
    assert_eq!(s.state("k"), State::Stopped);
    assert_eq!(s.sup.trigger(Kind::CtrlAltDel, s.now), 1);
    s.pump();
    s.exit("k", OK);
    s.take_log();
    s.sup.shutdown(Outcome::Poweroff, s.now);
    s.pump();
    s.exit("a", ExitStatus::Signal(15));
    assert_eq!(s.spawned_names(), ["sd"]);
}

/// Random events, reloads among tables whose entries change kind and
/// order, triggers and stops on a virtual clock, checked after every
/// runtime-like tick: no deadline left in the past (the runtime would
/// spin), no start lost, no boot entry waiting forever after boot, one
/// shutdown entry at a time; and every stop finishes.
#[test]
fn random_reloads_leave_no_deadline_in_the_past() {
    let mut rnd = xorshift(0x1234_5678_9abc_def1);
    let tables: [&str; 3] = [
        "sysinit s -- /s\nservice a after=b -- /a\nservice b ready=fd:3 -- /b\n\
         service c restart=on-failure timeout=500ms -- /c\nonce d -- /d\n\
         service e pidfile=/e.pid -- /e\nshutdown z -- /z\nshutdown y timeout=1s -- /y\n\
         ctrlaltdel k -- /k\n",
        "service a -- /a2\nservice b ready=fd:3 -- /b\nshutdown e -- /e\nservice z -- /z\n\
         shutdown y -- /y\nonce f on-exit=exit:4 -- /f\n",
        "wait w -- /w\nservice c timeout=2s -- /c\nservice e pidfile=/e.pid stop=INT -- /e\n\
         shutdown z -- /z\n",
    ];
    for round in 0..300 {
        let mode = if round % 2 == 0 {
            Mode::Pid1
        } else {
            Mode::SubInit
        };
        let mut s = Sim::new(mode, tables[0]);
        let mut finished = false;
        for step in 0..300 {
            let live: std::vec::Vec<Pid> = s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
            let n = s.sup.slots().len() as u64;
            match rnd(11) {
                0 | 1 if !live.is_empty() => {
                    let pid = live[rnd(live.len() as u64) as usize];
                    let st = match rnd(3) {
                        0 => OK,
                        1 => FAIL,
                        _ => ExitStatus::Signal(9),
                    };
                    s.sup.child_exited(pid, st, s.now);
                }
                2 => s.sup.ready(rnd(n) as SlotId, s.now),
                3 => {
                    let r = match rnd(3) {
                        0 => PidfileRead::Child(80_000 + rnd(100) as Pid),
                        1 => PidfileRead::NotAChild(1234),
                        _ => PidfileRead::Missing,
                    };
                    s.sup.pidfile_read(rnd(n) as SlotId, r, s.now);
                }
                4 => {
                    let id = rnd(n) as SlotId;
                    match rnd(3) {
                        0 => s.sup.stop(id, s.now),
                        1 => s.sup.start_slot(id, s.now),
                        _ => s.sup.restart(id, s.now),
                    };
                }
                5 => reload(&mut s, tables[rnd(3) as usize]),
                6 if rnd(8) == 0 => s.sup.shutdown(Outcome::Reboot, s.now),
                7 => {
                    s.sup.trigger(Kind::CtrlAltDel, s.now);
                }
                8 => s.sup.no_children_left(s.now),
                _ => s.now += rnd(3000),
            }
            s.pump();
            s.sup.tick(s.now);
            s.pump();
            // Pidfile reads are answered at once, as the runtime does.
            let mut log = s.take_log();
            for a in log.clone() {
                if let Action::ReadPidfile { slot } = a {
                    s.sup.pidfile_read(slot, PidfileRead::Missing, s.now);
                }
            }
            s.pump();
            log.extend(s.take_log());
            if s.sup.finished().is_some() {
                finished = true;
                break;
            }
            let slots = s.sup.slots();
            for (i, sl) in slots.iter().enumerate() {
                assert!(!s.sup.may_start(i), "round {round} step {step}: start lost");
                let waits = sl.state == State::Pending && is_boot_kind(sl.entry.kind);
                assert!(
                    s.sup.phase != Phase::Running || sl.removed() || !waits,
                    "round {round} step {step}: {} waits forever",
                    sl.name().as_str()
                );
            }
            if let Phase::Stopping(Stage::ShutdownEntries) = s.sup.phase {
                let running = slots
                    .iter()
                    .filter(|x| x.entry.kind == Kind::Shutdown && x.pid().is_some())
                    .count();
                assert!(running <= 1, "round {round} step {step}: {running} at once");
            }
            let due = s.deadline();
            assert!(
                due.is_none_or(|d| d > s.now),
                "round {round} step {step}: deadline {due:?} not after {}",
                s.now
            );
        }
        if !finished {
            s.sup.shutdown(Outcome::Exit(0), s.now);
            s.pump();
            finished = s.finish_stop(&mut rnd);
        }
        assert!(
            finished,
            "round {round}: the stop never finished: {}",
            s.states()
        );
    }
}

/// A console session (an askfirst shell, a getty) is hung up along with
/// its SIGTERM; a native service, on a `tty=` or not, is not.
#[test]
fn console_sessions_are_hung_up_when_stopped() {
    let mut s = Sim::new(
        Mode::SubInit,
        "::askfirst:-/bin/sh\nttyS0::respawn:/sbin/getty ttyS0\n\
         service t tty=tty2 -- /t\nservice u -- /u\n",
    );
    let cases = [
        ("console.askfirst", true),
        ("ttyS0.respawn", true),
        ("t", false),
        ("u", false),
    ];
    for (name, hangup) in cases {
        let pid = s.pid(name).unwrap();
        s.take_log();
        assert!(s.sup.stop(s.id(name), s.now));
        s.pump();
        assert!(
            s.take_log().contains(&Action::Signal {
                pid,
                sig: SIGTERM,
                hangup,
            }),
            "{name}"
        );
    }
}

/// A `pidfile=` entry stopped while its launcher still runs is still
/// stopping while foster looks for the daemon the launcher left: what it
/// runs `after=` waits for that daemon too (it was signalled as soon as the
/// launcher died, the daemon after it).
#[test]
fn a_launching_pidfile_entry_holds_its_after_until_its_daemon_is_gone() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db -- /db\nservice web after=db pidfile=/run/web.pid -- /launcher\n",
    );
    let (db, launcher) = (s.pid("db").unwrap(), s.pid("web").unwrap());
    assert!(matches!(s.state("web"), State::Launching { .. }));
    s.take_log();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    let log = s.take_log();
    assert!(signalled(&log, launcher, SIGTERM) && !signalled(&log, db, SIGTERM));
    s.sup.child_exited(launcher, ExitStatus::Signal(15), s.now);
    s.pump();
    s.sup.pidfile_read(1, PidfileRead::Missing, s.now);
    s.pump();
    let log = s.take_log();
    assert!(
        !signalled(&log, db, SIGTERM),
        "db before web's daemon: {log:?}"
    );
    s.advance_to(PIDFILE_POLL);
    s.sup.pidfile_read(1, PidfileRead::Child(5151), s.now);
    s.pump();
    let log = s.take_log();
    assert!(signalled(&log, 5151, SIGTERM) && !signalled(&log, db, SIGTERM));
    s.sup.child_exited(5151, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), db, SIGTERM));
}

/// A daemon still looked for when the stop begins (its launcher has just
/// exited) is stopped in its turn once found: it was left running
/// untracked until the final SIGTERM to all, without its `stop=` and
/// `timeout=`, and what it runs `after=` was stopped before it. As the
/// target of an `after=`, it still waits for its dependents.
#[test]
fn a_daemon_looked_for_when_the_stop_begins_is_stopped_in_its_turn() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db -- /db\nservice web after=db stop=INT pidfile=/run/web.pid -- /launcher\n",
    );
    let (db, launcher) = (s.pid("db").unwrap(), s.pid("web").unwrap());
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    s.sup.pidfile_read(1, PidfileRead::Missing, s.now);
    s.pump();
    assert!(matches!(s.state("web"), State::FindingPid { .. }));
    s.take_log();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(!signalled(&s.take_log(), db, SIGTERM), "db before web");
    s.advance_to(PIDFILE_POLL);
    s.sup.pidfile_read(1, PidfileRead::Child(5151), s.now);
    s.pump();
    let log = s.take_log();
    assert!(
        signalled(&log, 5151, 2) && !signalled(&log, db, SIGTERM),
        "{log:?}"
    );
    s.sup.child_exited(5151, ExitStatus::Signal(2), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), db, SIGTERM));

    // The daemon looked for is db's (launched again after a crash, web ran
    // on): found, it still waits for web.
    let (mut s, web) = daemon_looked_for_again_while_web_runs();
    s.take_log();
    s.sup.shutdown(Outcome::Exit(0), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), web, SIGTERM));
    s.advance_to(s.now + PIDFILE_POLL);
    s.sup.pidfile_read(0, PidfileRead::Child(5151), s.now);
    s.pump();
    let log = s.take_log();
    assert!(
        !signalled(&log, 5151, SIGTERM),
        "db's daemon before web: {log:?}"
    );
    s.sup.child_exited(web, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(signalled(&s.take_log(), 5151, SIGTERM));
}

/// A random table of `service`/`once` entries e0, e1, ... with `after=`
/// graphs, `pidfile=`, `ready=` and timeouts.
fn random_table(rnd: &mut dyn FnMut(u64) -> u64) -> String {
    let n = 2 + rnd(10);
    let mut text = String::new();
    for i in 0..n {
        let mut opts = String::new();
        for _ in 0..rnd(3) {
            let after = format!("after=e{} ", rnd(i));
            if i > 0 && !opts.contains(&after) {
                opts += &after;
            }
        }
        if rnd(3) == 0 {
            opts += &format!("pidfile=/p{i} ");
        }
        if rnd(4) == 0 {
            opts += "ready=fd:3 ";
        }
        let kind = if rnd(5) == 0 { "once" } else { "service" };
        text += &format!("{kind} e{i} {opts}timeout={}ms -- /x\n", 100 + rnd(3000));
    }
    text
}

/// What a slot held before a reload, to tell whether a new entry took it.
type SlotWas = (bool, Name, Kind);

fn slots_were(s: &Sim) -> std::vec::Vec<SlotWas> {
    let slots = s.sup.slots().iter();
    slots
        .map(|sl| (sl.removed(), sl.entry.name, sl.entry.kind))
        .collect()
}

/// Which slot runs `after=` which: for an entry of the table in force, the
/// entries its `after=` names now; for one a reload removed, those it named
/// then (kept from before that reload). Called after each load with what
/// the slots held before it: one a new entry took is another entry (a
/// removed one's room, or one removed by this reload and taken at once,
/// then by an entry of another kind).
fn update_after_pairs(s: &Sim, pairs: &mut std::vec::Vec<(usize, usize)>, was: &[SlotWas]) {
    let slots = s.sup.slots();
    let fresh = |i: usize| {
        let sl = &slots[i];
        !sl.removed()
            && was
                .get(i)
                .is_none_or(|w| w.0 || w.1 != sl.entry.name || w.2 != sl.entry.kind)
    };
    pairs.retain(|&(h, x)| slots[h].removed() && !fresh(x));
    for (h, sl) in slots.iter().enumerate().filter(|(_, sl)| !sl.removed()) {
        for dep in sl.entry.after.iter() {
            pairs.push((h, s.sup.find(dep.as_bytes()).unwrap() as usize));
        }
    }
}

/// The slot whose pidfile read is out, if any, and its launcher if it is
/// one that still runs (polled during [`PIDFILE_WAIT`] after its start).
fn asked(s: &Sim) -> Option<(SlotId, Option<Pid>)> {
    s.sup
        .slots()
        .iter()
        .enumerate()
        .find_map(|(i, sl)| match sl.state {
            State::FindingPid { next, .. } if next == u64::MAX => Some((i as SlotId, None)),
            State::Launching { pid, next }
                if next == u64::MAX && s.now < sl.since + PIDFILE_WAIT =>
            {
                Some((i as SlotId, Some(pid)))
            }
            _ => None,
        })
}

/// Random tables, random events and reloads to other random tables (whose
/// entries share names: kept, changed, of another kind, removed), then a
/// stop: no entry gets its stop signal, from the stop or from a reload that
/// removed it, while an entry that runs `after=` it still has a process or
/// a daemon looked for, and the stop always finishes.
#[test]
fn random_stops_never_signal_an_entry_before_what_runs_after_it() {
    let mut rnd = xorshift(0x1234_5678_9abc_def1);
    for round in 0..2000 {
        let mut text = random_table(&mut rnd);
        let mut s = Sim::new(Mode::SubInit, &text);
        let mut pairs = vec![];
        update_after_pairs(&s, &mut pairs, &[]);
        let mut daemon = 70_000;
        let mut step = |s: &mut Sim, rnd: &mut dyn FnMut(u64) -> u64, stopping: bool| {
            // The runtime answers a pidfile read at once.
            if let Some((id, launcher)) = asked(s) {
                daemon += 1;
                let read = match rnd(2) {
                    // A launcher that stays in the foreground names itself.
                    0 => PidfileRead::Child(launcher.unwrap_or(daemon)),
                    _ => PidfileRead::Missing,
                };
                s.sup.pidfile_read(id, read, s.now);
            } else {
                let live: std::vec::Vec<Pid> =
                    s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
                match rnd(5) {
                    0 if !live.is_empty() => {
                        let pid = live[rnd(live.len() as u64) as usize];
                        let st = [OK, ExitStatus::Signal(9)][rnd(2) as usize];
                        s.sup.child_exited(pid, st, s.now);
                    }
                    1 => s
                        .sup
                        .ready(rnd(s.sup.slots().len() as u64) as SlotId, s.now),
                    2 if !stopping => s.advance_to(s.now + rnd(500)),
                    _ => match s.deadline() {
                        Some(d) => s.advance_to(d.max(s.now)),
                        None => s.sup.no_children_left(s.now),
                    },
                }
            }
            s.pump();
        };
        // Whether the log ends the stop; fails on a stop signal to an entry
        // (one a reload removed, or any while stopping) still waited for.
        let check = |s: &mut Sim, pairs: &[(usize, usize)], text: &str| {
            let finished = s.sup.finished().is_some();
            for a in s.take_log() {
                let Action::Signal { pid, sig: 15, .. } = a else {
                    continue;
                };
                let slots = s.sup.slots();
                let Some(me) = slots.iter().position(|sl| sl.pid() == Some(pid)) else {
                    continue;
                };
                // A changed entry restarts at once (its daemon once found),
                // a removed launcher stops at once (its daemon, once found,
                // waits its turn).
                if matches!(
                    slots[me].state,
                    State::Stopping {
                        then: AfterStop::Restart | AfterStop::Remove,
                        ..
                    }
                ) {
                    continue;
                }
                let waits =
                    pairs
                        .iter()
                        .map(|&(h, _)| &slots[h])
                        .zip(pairs)
                        .find(|(o, &(_, x))| {
                            x == me
                                && (o.pid().is_some()
                                    || matches!(o.state, State::FindingPid { .. }))
                        });
                assert!(
                    waits.is_none(),
                    "round {round}: {} stopped before {:?}\n{text}\n{pairs:?} {} {}",
                    slots[me].name().as_str(),
                    waits.map(|(o, _)| (o.name().as_str(), o.state)),
                    me,
                    s.states()
                );
            }
            finished
        };
        let mut ended = false;
        for _ in 0..rnd(60) {
            if rnd(10) == 0 {
                let was = slots_were(&s);
                let new = random_table(&mut rnd);
                reload(&mut s, &new);
                text = format!("{text}-- reload --\n{new}");
                update_after_pairs(&s, &mut pairs, &was);
            } else {
                step(&mut s, &mut rnd, false);
            }
            // A sub-init with nothing left may have ended on its own.
            ended = check(&mut s, &pairs, &text);
            if ended {
                break;
            }
        }
        if ended {
            continue;
        }
        s.sup.shutdown(Outcome::Exit(0), s.now);
        s.pump();
        let mut finished = false;
        for _ in 0..5000 {
            finished = check(&mut s, &pairs, &text);
            if finished {
                break;
            }
            step(&mut s, &mut rnd, true);
        }
        assert!(finished, "round {round}: the stop never finished\n{text}");
    }
}

/// Random tables, reloads, `ctl` requests (to entries of the table in
/// force: the only ones `ctl` finds) and exits: an entry a reload removed
/// never starts again, never sets an `on-exit=` outcome, and never waits
/// for its turn to stop unless a removed entry that runs `after=` it still
/// has a process.
#[test]
fn random_removed_entries_never_restart_and_never_stall() {
    let mut rnd = xorshift(0xdead_beef_1234_5678);
    for round in 0..1000 {
        let table = |rnd: &mut dyn FnMut(u64) -> u64| {
            let t = random_table(rnd);
            t.replace("once e1 ", "once e1 on-exit=exit:3 ")
        };
        let mut text = table(&mut rnd);
        let mut s = Sim::new(Mode::SubInit, &text);
        let mut daemon = 70_000;
        for step in 0..80 {
            let n = s.sup.slots().len() as u64;
            let live: std::vec::Vec<Pid> = s.sup.slots().iter().filter_map(|sl| sl.pid()).collect();
            let id = rnd(n) as SlotId;
            match rnd(9) {
                0 => {
                    let new = table(&mut rnd);
                    reload(&mut s, &new);
                    text = format!("{text}-- reload --\n{new}");
                }
                1 if !live.is_empty() => {
                    let pid = live[rnd(live.len() as u64) as usize];
                    let st = [OK, FAIL, ExitStatus::Signal(9)][rnd(3) as usize];
                    s.sup.child_exited(pid, st, s.now);
                }
                2 if !s.sup.slots()[id as usize].removed() => {
                    match rnd(3) {
                        0 => s.sup.stop(id, s.now),
                        1 => s.sup.start_slot(id, s.now),
                        _ => s.sup.restart(id, s.now),
                    };
                }
                3 => s.sup.ready(id, s.now),
                4 => {
                    if let Some((id, launcher)) = asked(&s) {
                        daemon += 1;
                        let read = [
                            PidfileRead::Child(launcher.unwrap_or(daemon)),
                            PidfileRead::Missing,
                        ];
                        s.sup.pidfile_read(id, read[rnd(2) as usize], s.now);
                    }
                }
                _ => s.advance_to(s.now + rnd(1500)),
            }
            s.pump();
            let log = s.take_log();
            let slots = s.sup.slots();
            for a in log {
                if let Action::Note(Note::ExitStatus { slot, .. }) = a {
                    assert!(
                        !slots[slot as usize].removed(),
                        "round {round} step {step}: on-exit of a removed entry\n{text}"
                    );
                }
            }
            if s.sup.is_stopping() {
                break;
            }
            for sl in slots.iter().filter(|sl| sl.removed()) {
                let restarts = matches!(sl.state, State::Pending | State::Backoff { .. });
                let stalls = matches!(sl.state, State::Running { .. } | State::Launching { .. })
                    && !s.sup.is_held(sl);
                assert!(
                    !restarts && !stalls,
                    "round {round} step {step}: removed {} {:?}\n{text}\n{}",
                    sl.name().as_str(),
                    sl.state,
                    s.states()
                );
            }
        }
    }
}

/// `ctl stop` then `ctl start` while a `pidfile=` entry's daemon is still
/// looked for: the start must win, as it does for one still stopping (the
/// stop pending for the daemon used to stop it for good after `ok`).
#[test]
fn ctl_start_after_a_stop_pending_for_the_daemon_brings_it_back() {
    let mut s = Sim::new(Mode::SubInit, "service d pidfile=/run/d.pid -- /launcher\n");
    let launcher = s.pid("d").unwrap();
    s.sup.child_exited(launcher, OK, s.now);
    s.pump();
    assert!(s.sup.stop(0, s.now));
    assert!(s.sup.start_named(0, s.now));
    s.pump();
    s.sup.pidfile_read(0, PidfileRead::Child(4242), s.now);
    s.pump();
    s.sup.child_exited(4242, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(
        !matches!(s.state("d"), State::Stopped),
        "started, yet left stopped: {}",
        s.states()
    );
}

/// `ctl start` and `ctl restart` of an entry whose `after=` entry is down
/// for good are refused and change nothing: the entry would wait forever (a
/// restart would have stopped what runs for nothing). A start of what runs
/// is still fine, and once the `after=` entry is back both work.
#[test]
fn ctl_start_and_restart_behind_an_after_down_for_good_are_refused() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service db -- /db\nservice web after=db -- /web\n",
    );
    let (db, web) = (s.id("db"), s.id("web"));
    let db_pid = s.pid("db").unwrap();
    let web_pid = s.pid("web").unwrap();
    assert!(s.sup.stop(db, s.now));
    s.pump();
    s.sup.child_exited(db_pid, ExitStatus::Signal(15), s.now);
    s.pump();
    assert_eq!(s.state("db"), State::Stopped);
    assert_eq!(
        s.sup.blocked_by(web).map(|x| x.name().as_bytes()),
        Some(&b"db"[..])
    );
    assert!(s.sup.start_named(web, s.now), "web runs: a start is done");
    assert!(!s.sup.restart(web, s.now));
    s.pump();
    assert_eq!(
        s.pid("web"),
        Some(web_pid),
        "a refused restart stops nothing"
    );
    assert!(s.sup.stop(web, s.now));
    s.pump();
    s.sup.child_exited(web_pid, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(!s.sup.start_named(web, s.now));
    assert_eq!(s.state("web"), State::Stopped);
    assert!(s.sup.start_named(db, s.now));
    s.pump();
    assert!(s.sup.blocked_by(web).is_none());
    assert!(s.sup.start_named(web, s.now));
    s.pump();
    assert!(matches!(s.state("web"), State::Running { .. }));
}

/// A `shutdown` (or trigger) entry waiting for its moment: a restart is
/// refused as a start is, not answered "done" with nothing done.
#[test]
fn ctl_restart_of_an_entry_waiting_for_its_moment_is_refused() {
    let mut s = Sim::new(
        Mode::SubInit,
        "service a -- /a\nshutdown sd -- /sd\nctrlaltdel cad -- /cad\n",
    );
    for name in ["sd", "cad"] {
        assert!(!s.sup.restart(s.id(name), s.now), "{name}");
        assert!(!s.sup.start_named(s.id(name), s.now), "{name}");
        assert_eq!(s.state(name), State::Pending, "{name}");
    }
}

/// A sub-init powers nothing off: `on-exit=poweroff|reboot|halt` there ends
/// it with the entry's status, as `on-exit=exit` does (a kernel test's
/// table run as a sub-init still reports the failure).
#[test]
fn subinit_on_exit_poweroff_exits_with_the_entry_status() {
    for word in ["poweroff", "reboot", "halt"] {
        let mut s = Sim::new(
            Mode::SubInit,
            &format!("service web -- /web\nonce test on-exit={word} -- /test\n"),
        );
        s.take_log();
        s.exit("test", ExitStatus::Code(4));
        assert_eq!(s.sup.shutdown_outcome(), Some(Outcome::Exit(4)), "{word}");
    }
}

/// A reload that changes an entry's kind (or adds back a name it removed
/// while the old process still stops) starts the new entry only once the
/// old process is gone: never both at once.
#[test]
fn a_reload_that_replaces_a_name_waits_for_the_old_process() {
    let mut s = Sim::new(Mode::SubInit, "service a -- /a\nservice b -- /b\n");
    let old = s.pid("a").unwrap();
    reload(&mut s, "once a -- /a2\nservice b -- /b\n");
    assert_eq!(s.state("a"), State::Pending, "the new `a` waits");
    assert!(signalled(&s.take_log(), old, SIGTERM));
    s.advance_to(s.now + 500);
    assert_eq!(s.state("a"), State::Pending);
    s.sup.child_exited(old, ExitStatus::Signal(15), s.now);
    s.pump();
    assert!(matches!(s.state("a"), State::Running { pid } if pid != old));
}
