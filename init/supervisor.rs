//! The supervisor core: a state machine with no I/O and no clock of its own.
//!
//! The runtime feeds it events (a child exited, a spawn happened, a service
//! said it is ready, a pidfile was read, a request came, time passed) with the
//! current monotonic time in milliseconds, and pulls the resulting actions with
//! [`Supervisor::poll_action`], the next timer with
//! [`Supervisor::next_deadline`] and, once the stop is over, how foster ends
//! with [`Supervisor::finished`]. Everything here is unit-tested on a virtual
//! clock with fake pids.
//!
//! Invariants: a slot's pid is the only process foster signals on its behalf;
//! every deadline in a state is bounded, so stopping always ends; actions are
//! queued in a fixed ring and the runtime drains them after every event.

use crate::sys::{ExitStatus, Pid};
use config_format::{Entry, Kind, Millis, Name, OnExit, RestartPolicy, Table, Text};
use core::mem::discriminant;
use core::num::NonZeroU64;
use heapless::Vec;

/// Slots: every entry of the table, plus room for entries of an old table
/// that are still stopping after a reload.
pub const MAX_SLOTS: usize = config_format::MAX_ENTRIES * 2;
/// Actions queued between two drains by the runtime.
pub const MAX_ACTIONS: usize = 64;
/// Uptime after which a service's backoff starts again from its minimum.
pub const HEALTHY_UPTIME: Millis = 10_000;
/// How long to look for a daemon's pid in its pidfile after the launcher
/// exits; also how long, from its start, a running launcher's pidfile is
/// polled for the launcher's own pid (a daemon that does not fork).
pub const PIDFILE_WAIT: Millis = 5_000;
/// The cadence of both looks.
pub const PIDFILE_POLL: Millis = 100;
/// After a stop killed a `pidfile=` launcher, how long to look for the daemon
/// it may have left.
pub const STOP_FIND_WAIT: Millis = 1_000;
/// After SIGKILL, how long a process may take to be reaped before foster
/// gives up on it (a process stuck in the kernel) and moves on.
pub const KILL_GRACE: Millis = 2_000;

pub type SlotId = u8;

/// What one slot is doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State {
    /// Not started yet: waiting for its phase or its `after=` entries.
    Pending,
    /// A `pidfile=` entry's launcher is running. Its pidfile is polled at
    /// `next` (`u64::MAX`: not now) for [`PIDFILE_WAIT`] after the start: a
    /// daemon that does not fork (`sshd -D`) names the launcher itself.
    Launching { pid: Pid, next: u64 },
    /// The launcher exited; polling the pidfile until `until`. `stop`: a
    /// stop came before the daemon was adopted: stop the daemon as soon as
    /// it is found (or end the stop when none shows up). `exited`: the
    /// status of a main pid that exited, whose pidfile is read once for a
    /// new main pid (a daemon that re-forks, as nginx's upgrade): without
    /// one, the run ended with that status.
    FindingPid {
        next: u64,
        until: u64,
        stop: Option<AfterStop>,
        exited: Option<ExitStatus>,
    },
    /// The main process runs.
    Running { pid: Pid },
    /// Waiting to restart.
    Backoff { until: u64 },
    /// Asked to stop: `stop=` signal sent. SIGKILL at `until`, which then
    /// moves on by [`KILL_GRACE`] (`killed`): given up at that one.
    /// `launcher`: `pid` is a `pidfile=` launcher, whose daemon is looked
    /// for and stopped too once it is gone.
    Stopping {
        pid: Pid,
        then: AfterStop,
        killed: bool,
        launcher: bool,
        until: u64,
    },
    /// Stopped on request; stays down until started.
    Stopped,
    /// Ended for good, with status 0. (Braced though it holds nothing:
    /// code outside matches it as `Done { .. }`.)
    Done {},
    /// Could not be started or ended badly and will not restart.
    /// (Braced, as `Done`; the last status a process of it ended with,
    /// if any, is [`Slot::last_exit`].)
    Failed {},
}

/// What happens to a slot once its process is gone after a stop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AfterStop {
    /// Stay stopped (`ctl stop`, shutdown).
    Stay,
    /// Start again at once (`ctl restart`, changed on reload).
    Restart,
    /// Drop the slot (removed from the table on reload).
    Remove,
}

/// What the runtime found in a pidfile.
///
/// `repr(u8)`: a one-byte tag (not one widened to four), shorter to test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum PidfileRead {
    /// A live child of foster: the daemon, re-parented to the subreaper.
    Child(Pid),
    /// A pid that is not (or no longer) foster's child.
    NotAChild(Pid),
    /// No file, or no pid in it.
    Missing,
}

/// How foster ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Exit(u8),
    Poweroff,
    Reboot,
    Halt,
    /// PID 1: exec the `restart` entry in place of foster.
    ExecRestart(SlotId),
}

/// A step of the orderly stop.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    /// Stopping services newest first, dependents before what they run after.
    StopServices,
    /// Running `shutdown` entries in order, each waited.
    ShutdownEntries,
    /// SIGTERM sent to every remaining process; waiting until
    /// [`Supervisor::stage_until`].
    TermAll,
    /// SIGKILL sent; waiting for the reaper until
    /// [`Supervisor::stage_until`].
    KillAll,
    /// All done: [`Supervisor::finished`] gives the outcome.
    Finished,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Running sysinit then wait entries one by one.
    Boot,
    Running,
    /// Stopping; how it ends is [`Supervisor::outcome`].
    Stopping(Stage),
}

/// Something for the runtime to report (it renders names and texts).
///
/// `repr(u8)`: a one-byte tag, which [`Action`] then shares, rather than
/// the eight-byte niche of `restart_in`: shorter code wherever actions are
/// built or matched.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Note {
    Started {
        slot: SlotId,
        pid: Pid,
    },
    SpawnFailed {
        slot: SlotId,
        errno: u16,
    },
    /// Exited; `restart_in` when it will be restarted (never 0 ms: backoffs
    /// start at 1 ms or more). `quiet`: a success of a run-once entry, not
    /// news unless foster is verbose. Non-zero: the option adds no word, so
    /// an [`Action`] is 16 bytes, not 24.
    Exited {
        slot: SlotId,
        status: ExitStatus,
        quiet: bool,
        restart_in: Option<NonZeroU64>,
    },
    /// The daemon of a `pidfile=` entry was found and adopted.
    Adopted {
        slot: SlotId,
        pid: Pid,
    },
    PidfileMissing {
        slot: SlotId,
    },
    Ready {
        slot: SlotId,
    },
    /// Did not stop in time: SIGKILL sent.
    Killed {
        slot: SlotId,
        pid: Pid,
    },
    /// `after=` names an entry that ended and will not come up.
    Blocked {
        slot: SlotId,
        on: SlotId,
    },
    /// An orphan (not a slot's process) was reaped.
    OrphanReaped {
        pid: Pid,
        status: ExitStatus,
    },
    /// The result line of an `on-exit=` entry (the QEMU runner reads it).
    ExitStatus {
        slot: SlotId,
        code: u8,
    },
    ShutdownBegins {
        outcome: Outcome,
    },
    /// Stop stage timed out with processes left.
    StragglersKilled,
    NothingLeft,
}

/// An order for the runtime.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// Start the slot's process (its entry has the details).
    Spawn {
        slot: SlotId,
    },
    /// Send a signal to a slot's process (and its process group), then
    /// SIGHUP if `hangup` (a [`console_session`]), then SIGCONT unless it
    /// is SIGKILL or SIGCONT: a stopped (SIGSTOP'd) process must wake up
    /// to act on it.
    Signal {
        pid: Pid,
        sig: u8,
        hangup: bool,
    },
    /// Read the slot's pidfile and answer with [`Supervisor::pidfile_read`].
    ReadPidfile {
        slot: SlotId,
    },
    /// The slot's process is gone: close its readiness pipe.
    Release {
        slot: SlotId,
    },
    /// The slot was emptied (its entry removed): drop every resource it had.
    Forget {
        slot: SlotId,
    },
    /// Signal every process foster may signal (PID 1: all; else its
    /// descendants), followed by SIGCONT unless it is SIGKILL, in the same
    /// sweep.
    SignalAll {
        sig: u8,
    },
    Note(Note),
}

/// One supervised entry and its runtime state.
///
/// `repr(C)` keeps the small, often-read runtime fields ahead of the large
/// entry: within the first 128 bytes they are reached with one-byte
/// displacements, which makes every access to them shorter.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct Slot {
    pub state: State,
    /// When the current process started (for uptime and backoff reset).
    pub since: u64,
    /// The next backoff delay.
    delay: Millis,
    pub restarts: u32,
    /// Order of first start, for stopping newest first.
    start_seq: u32,
    /// The reload that removed the entry ([`IN_TABLE`]: none, it is in the
    /// table in force; else its spans are stale): its `after=` names the
    /// entries of that name not removed before it.
    removed_at: u32,
    pub last_exit: Option<ExitStatus>,
    /// Readiness reported by a `ready=` entry's process (one without is
    /// ready once running: [`Slot::satisfies_after`]). False while pending.
    pub ready: bool,
    /// Blocked by its `after=` at the last look (and so noted already).
    blocked_noted: bool,
    /// An [`Action::Spawn`] for this slot is in the queue (cleared as it
    /// is polled): `advance` does not queue a second one.
    spawn_queued: bool,
    /// A `ctrlaltdel` entry triggered and waiting for its turn.
    cad_queued: bool,
    /// Position in the start order of the table in force: a reload keeps
    /// slots where they are, so `shutdown` entries run by this.
    order: u8,
    pub entry: Entry,
}

/// [`Slot::removed_at`] of an entry no reload removed.
const IN_TABLE: u32 = u32::MAX;

impl Slot {
    /// A reload removed the entry; its spans are stale.
    pub fn removed(&self) -> bool {
        self.removed_at != IN_TABLE
    }

    /// In force, and `table` has its entry, of the same kind (one of
    /// another kind is another entry).
    #[inline(never)]
    fn keeps_slot(&self, table: &Table) -> bool {
        !self.removed()
            && table
                .get(self.name().as_bytes())
                .is_some_and(|(_, e)| e.kind == self.entry.kind)
    }

    #[inline(never)]
    fn new(entry: Entry, order: u8) -> Slot {
        let delay = entry.backoff_min;
        Slot {
            entry,
            state: State::Pending,
            ready: false,
            restarts: 0,
            last_exit: None,
            since: 0,
            delay,
            start_seq: 0,
            removed_at: IN_TABLE,
            order,
            blocked_noted: false,
            spawn_queued: false,
            cad_queued: false,
        }
    }

    pub fn name(&self) -> &Name {
        &self.entry.name
    }

    /// The process foster tracks for this slot, if any.
    pub fn pid(&self) -> Option<Pid> {
        match self.state {
            State::Launching { pid, .. } | State::Running { pid } | State::Stopping { pid, .. } => {
                Some(pid)
            }
            State::Pending
            | State::FindingPid { .. }
            | State::Backoff { .. }
            | State::Stopped
            | State::Done { .. }
            | State::Failed { .. } => None,
        }
    }

    /// A process of it runs, or one is looked for (its pidfile read): it
    /// still holds its slot and its name.
    fn has_process(&self) -> bool {
        self.pid().is_some() || matches!(self.state, State::FindingPid { .. })
    }

    /// Only a run kind restarts: the parser gives the other kinds
    /// `restart=never`, and refuses a `restart=` on them.
    fn restarts_by_policy(&self, status: ExitStatus) -> bool {
        match self.entry.restart {
            RestartPolicy::Always => true,
            RestartPolicy::OnFailure => !status.success(),
            RestartPolicy::Never => false,
        }
    }

    /// When the slot's timer is due; `u64::MAX` when it has none. While
    /// `shutdown_entries` run, a running `shutdown` entry is bounded by
    /// its timeout.
    fn due(&self, shutdown_entries: bool) -> u64 {
        match self.state {
            State::Backoff { until } | State::Stopping { until, .. } => until,
            // A `shutdown` entry (it runs only then) is not polled for
            // its pidfile: launching or running, it is waited for all the
            // same, up to its timeout.
            State::Launching { .. } | State::Running { .. }
                if shutdown_entries && self.entry.kind == Kind::Shutdown =>
            {
                // (No overflow: a `timeout=` is at most 2^62 ms.)
                self.since + self.entry.timeout
            }
            State::FindingPid { next, .. } | State::Launching { next, .. } => next,
            State::Pending
            | State::Running { .. }
            | State::Stopped
            | State::Done { .. }
            | State::Failed { .. } => u64::MAX,
        }
    }

    /// Whether entries that name this one in `after=` may start.
    fn satisfies_after(&self) -> bool {
        match self.state {
            State::Running { .. } => self.ready || self.entry.ready_fd().is_none(),
            State::Done { .. } => true,
            State::Pending
            | State::Launching { .. }
            | State::FindingPid { .. }
            | State::Backoff { .. }
            | State::Stopping { .. }
            | State::Stopped
            | State::Failed { .. } => false,
        }
    }

    /// Whether this slot can never come up again on its own.
    fn is_terminal(&self) -> bool {
        matches!(self.state, State::Stopped | State::Failed { .. })
    }

    /// Still has work: a process, a timer, or a start to come.
    pub fn is_active(&self) -> bool {
        !matches!(
            self.state,
            State::Stopped | State::Done { .. } | State::Failed { .. }
        )
    }

    /// Still runs, waits, or will start (`blocked`: its `after=` entries
    /// ended and will not come up).
    fn keeps_going(&self, blocked: bool) -> bool {
        match self.state {
            // A trigger or shutdown entry waits for its moment, not for
            // foster; an entry blocked by its `after=` waits forever.
            State::Pending => {
                !matches!(
                    self.entry.kind,
                    Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart
                ) && !blocked
            }
            // An entry stopped on request may be started again over the
            // control socket: it keeps a sub-init alive.
            State::Stopped => !self.removed() && is_run_kind(self.entry.kind),
            State::Done { .. } | State::Failed { .. } => false,
            State::Launching { .. }
            | State::FindingPid { .. }
            | State::Running { .. }
            | State::Backoff { .. }
            | State::Stopping { .. } => true,
        }
    }
}

/// A terminal session: a `tty=` (inittab id) entry, an `askfirst` entry or
/// a login shell (`-/bin/sh`).
pub fn on_terminal(entry: &Entry) -> bool {
    entry.has(Text::Tty) || entry.kind == Kind::Askfirst || entry.login
}

/// A console session as BusyBox tables have them: an `askfirst` entry, a
/// login shell, or an inittab line on a tty (a getty), with `stop=` left at
/// TERM. Its stop sends SIGHUP too. Not a native `tty=` service: its own
/// TERM handler must run, not die of the HUP that comes first.
pub fn console_session(entry: &Entry) -> bool {
    // An inittab line is a login shell with its `-`, a getty with a tty.
    let inittab =
        entry.syntax == config_format::Syntax::Inittab && (entry.login || entry.has(Text::Tty));
    entry.stop_signal == crate::signals::SIGTERM && (entry.kind == Kind::Askfirst || inittab)
}

/// Kinds started by the boot sequence (not on demand).
fn is_boot_kind(kind: Kind) -> bool {
    matches!(kind, Kind::Sysinit | Kind::Wait)
}

/// Kinds started once boot is over.
fn is_run_kind(kind: Kind) -> bool {
    matches!(kind, Kind::Once | Kind::Service | Kind::Askfirst)
}

/// What [`Supervisor::gate`] found for a slot.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Gate {
    /// Not a pending run entry, or its `after=` entries are not up yet.
    Idle,
    /// Pending, and every `after=` entry is up (or ended well).
    Start,
    /// Pending, and this `after=` entry ended and will not come up.
    Blocked(SlotId),
}

/// Which entries [`Supervisor::first_in_order`] looks at.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Want {
    Any,
    /// Those with work left ([`Slot::is_active`]).
    Active,
    /// Triggered `ctrlaltdel` entries waiting for their turn.
    Queued,
}

/// How foster behaves when every entry is finished.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// PID 1: never exits; says once that nothing is left and keeps reaping.
    Pid1,
    /// Sub-init: exits when nothing is left to run or wait for.
    SubInit,
}

/// Storage for the slots: reserved once by the runtime, outside the stack.
pub type Slots = Vec<Slot, MAX_SLOTS>;

/// Storage for the action queue: reserved once by the runtime, outside the stack.
pub type Actions = crate::sys::Ring<Action, MAX_ACTIONS>;

/// The supervisor.
///
/// `repr(C)`, in this order (measured: the smallest of the orders tried):
/// the slots at `self` itself (read on every event, with no displacement),
/// the other words next, then the one-byte fields packed in after them, and
/// the orphan list last. All but that list sit in the first 64 bytes, so
/// they are within a one-byte displacement of `self` and, where the
/// runtime embeds the supervisor after its own hot fields, of the runtime's.
#[repr(C)]
pub struct Supervisor {
    slots: &'static mut Slots,
    actions: &'static mut Actions,
    /// When the stop's [`Stage::TermAll`] or [`Stage::KillAll`] is over;
    /// `u64::MAX` in every other phase (a deadline that never comes:
    /// [`Supervisor::next_deadline`] takes it as it is).
    stage_until: u64,
    /// Orphans reaped in all, modulo 2^32 (the next of
    /// [`Supervisor::recent_orphans`] to overwrite is this one, modulo
    /// their number, 8: a divisor of 2^32, so the wrap keeps the order).
    pub orphans_reaped: u32,
    /// Actions that did not fit in the queue, or timer work put off because
    /// they would not have, since the runtime last looked: it drains the
    /// queue, resets this and ticks again while it is not 0 (a burst, e.g.
    /// every entry of a full table timing out at once, must not lose a
    /// SIGKILL).
    pub dropped_actions: u32,
    /// The last start order given (0: none yet; the first is 1). Counted
    /// up before use, so the counters all start at 0 and are set together
    /// (measured: smaller than a 1 among them).
    next_seq: u32,
    /// Tables loaded (the first at the start, then one per reload applied),
    /// to tell apart entries removed by different reloads.
    reloads: u32,
    phase: Phase,
    /// How the stop ends, once one runs.
    outcome: Outcome,
    mode: Mode,
    /// foster has no children at all (the reaper said ECHILD).
    no_children: bool,
    /// Exit status set by an `on-exit=exit:CODE` entry.
    exit_code: u8,
    nothing_left_noted: bool,
    /// A child was reaped since the last SIGKILL round: while killing, the
    /// children it left came to foster after that round and need another.
    rekill: bool,
    /// Orphans reaped recently: a pidfile naming one means the daemon already died.
    recent_orphans: [(Pid, ExitStatus); 8],
}

/// The empty ring of recent orphans (pid 0 matches none).
const NO_ORPHANS: [(Pid, ExitStatus); 8] = [(0, ExitStatus::Code(0)); 8];

impl Supervisor {
    /// A supervisor keeping its slots in `slots` (cleared first).
    pub fn new(mode: Mode, slots: &'static mut Slots, actions: &'static mut Actions) -> Supervisor {
        slots.clear();
        actions.clear();
        Supervisor {
            slots,
            actions,
            phase: Phase::Boot,
            outcome: Outcome::Exit(0),
            stage_until: u64::MAX,
            mode,
            next_seq: 0,
            reloads: 0,
            no_children: false,
            exit_code: 0,
            nothing_left_noted: false,
            recent_orphans: NO_ORPHANS,
            dropped_actions: 0,
            orphans_reaped: 0,
            rekill: false,
        }
    }

    /// Loads the table's entries (in start order) and starts the boot
    /// sequence: the first [`Supervisor::reload`], one path for both.
    pub fn start(&mut self, table: &Table, now: u64) {
        // The first load: no slot to compare with, and room for every entry
        // (MAX_SLOTS is twice the table's capacity).
        self.reload(table, &|_, _| true, now);
    }

    pub fn slots(&self) -> &[Slot] {
        self.slots
    }

    /// Removed entries keep no spans (only a pidfile path is read after a
    /// removal): their table text is about to be overwritten.
    pub fn forget_removed_spans(&mut self) {
        for s in self.slots.iter_mut().filter(|s| s.removed()) {
            s.entry.unset(Text::Pidfile);
        }
    }

    pub fn slot(&self, id: SlotId) -> Option<&Slot> {
        self.slots.get(id as usize)
    }

    // A call of `lookup`, inlined where made (measured: smaller).
    #[inline(always)]
    pub fn find(&self, name: &[u8]) -> Option<SlotId> {
        self.lookup(name).map(|(i, _)| i)
    }

    /// The slot of the entry `name` in the table in force, with its id.
    #[inline(never)]
    fn lookup(&self, name: &[u8]) -> Option<(SlotId, &Slot)> {
        self.slots
            .iter()
            .enumerate()
            .find(|(_, s)| !s.removed() && s.name().as_bytes() == name)
            .map(|(i, s)| (i as SlotId, s))
    }

    /// How the running stop will end, if one runs.
    pub fn shutdown_outcome(&self) -> Option<Outcome> {
        match self.phase {
            Phase::Stopping(_) => Some(self.outcome),
            Phase::Boot | Phase::Running => None,
        }
    }

    /// How foster runs: the runtime's mode too (kept here only).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How foster ends, once the stop is over (a state, not an action:
    /// it cannot be lost to a full queue). The runtime asks after each
    /// drain, so every action queued before it is carried out first.
    pub fn finished(&self) -> Option<Outcome> {
        (self.phase == Phase::Stopping(Stage::Finished)).then_some(self.outcome)
    }

    /// The status an `on-exit=exit:CODE` entry set (0 otherwise).
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }

    pub fn is_stopping(&self) -> bool {
        matches!(self.phase, Phase::Stopping(_))
    }

    // Not inlined (measured: smaller).
    #[inline(never)]
    pub fn poll_action(&mut self) -> Option<Action> {
        let action = self.actions.pop_front();
        if let Some(Action::Spawn { slot }) = action {
            if let Some(s) = self.slots.get_mut(slot as usize) {
                s.spawn_queued = false;
            }
        }
        action
    }

    /// Queues `action`; one that does not fit is counted as dropped.
    fn push(&mut self, action: Action) {
        // Tested here, not from `push_back`'s answer: that is the action
        // given back, whose tag would be tested again.
        if self.actions.is_full() {
            self.dropped_actions += 1;
        } else {
            let _ = self.actions.push_back(action);
        }
    }

    fn note(&mut self, note: Note) {
        self.push(Action::Note(note));
    }

    /// The earliest time something is due; `u64::MAX` when nothing is (a
    /// plain number: an `Option` would come back through memory).
    pub fn next_deadline(&self) -> u64 {
        // Running shutdown entries are bounded by their timeout.
        let shutdown_entries = matches!(self.phase, Phase::Stopping(Stage::ShutdownEntries));
        let mut next = self.stage_until;
        for s in self.slots.iter() {
            next = next.min(s.due(shutdown_entries));
        }
        // u64::MAX: nothing due (a pidfile poll waiting for its answer).
        next
    }

    // ------------------------------------------------------------ events

    /// Whether an [`Action::Spawn`] for this slot is still wanted (it may have
    /// been overtaken by a stop between queueing and applying).
    pub fn should_spawn(&self, id: SlotId) -> bool {
        self.slots
            .get(id as usize)
            .is_some_and(|s| matches!(s.state, State::Pending))
    }

    /// Result of an [`Action::Spawn`]. Inlined into the runtime's one call
    /// (measured: smaller).
    #[inline]
    pub fn spawned(&mut self, id: SlotId, result: Result<Pid, u16>, now: u64) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        if !matches!(slot.state, State::Pending) {
            return;
        }
        match result {
            Ok(pid) => {
                slot.since = now;
                slot.state = if slot.entry.has(Text::Pidfile) {
                    State::Launching {
                        pid,
                        next: now + PIDFILE_POLL,
                    }
                } else {
                    State::Running { pid }
                };
                if slot.start_seq == 0 {
                    self.next_seq += 1;
                    slot.start_seq = self.next_seq;
                }
                self.no_children = false;
                self.note(Note::Started { slot: id, pid });
            }
            Err(errno) => {
                // No uptime: the backoff doubles (`since` may be a long run
                // ago, or 0, and would reset it to the minimum every time).
                slot.since = now;
                self.note(Note::SpawnFailed { slot: id, errno });
                // A fork failure (EAGAIN, ENOMEM) is transient: treat as an exit.
                self.ended(id, None, now);
            }
        }
        self.advance(now);
    }

    /// A child was reaped, with its wait status as the kernel gave it
    /// (decoded here: one copy for both of the runtime's reaps). Returns
    /// the slot it was the process of, if any.
    pub fn reaped(&mut self, pid: Pid, wait_status: i32, now: u64) -> Option<usize> {
        let status = ExitStatus::from_wait(wait_status);
        self.rekill = true;
        let owner = self.slots.iter().position(|s| s.pid() == Some(pid));
        match owner {
            Some(i) => {
                let id = i as SlotId;
                let slot = self.slots.get_mut(i)?;
                // The pidfile to read, as (until, stop, exited) of
                // FindingPid: one copy of the state's building for all.
                let look = match slot.state {
                    State::Launching { .. } if status.success() => {
                        Some((now + PIDFILE_WAIT, None, None))
                    }
                    // A daemon may move to a new pid (nginx's binary
                    // upgrade): its new master rewrites the pidfile, then
                    // the old one exits. The pidfile is read at once, as
                    // systemd does for Type=forking: restarting here would
                    // run a second, untracked copy. After a clean exit it is
                    // polled as after a launcher's: a launcher taken for the
                    // daemon because it wrote its own pid (`echo $$ > F;
                    // exec daemon`) may then fork, and the daemon rewrite
                    // the file after. A crash is read once (`until`: now).
                    State::Running { .. } if slot.entry.has(Text::Pidfile) => {
                        let wait = if status.success() { PIDFILE_WAIT } else { 0 };
                        Some((now + wait, None, Some(status)))
                    }
                    State::Stopping { then, launcher, .. } => {
                        slot.last_exit = Some(status);
                        if launcher {
                            // The launcher is gone; the daemon it may have
                            // left must be found and stopped too (briefly
                            // looked for).
                            Some((now + STOP_FIND_WAIT, Some(then), None))
                        } else {
                            self.stopped(id, then, now, true);
                            None
                        }
                    }
                    State::Launching { .. }
                    | State::Running { .. }
                    | State::Pending
                    | State::FindingPid { .. }
                    | State::Backoff { .. }
                    | State::Stopped
                    | State::Done { .. }
                    | State::Failed { .. } => {
                        self.push(Action::Release { slot: id });
                        self.ended(id, Some(status), now);
                        None
                    }
                };
                if let Some((until, stop, exited)) = look {
                    if let Some(slot) = self.slots.get_mut(i) {
                        slot.state = State::FindingPid {
                            until,
                            next: now,
                            stop,
                            exited,
                        };
                    }
                    self.push(Action::ReadPidfile { slot: id });
                }
            }
            None => {
                let next = self.orphans_reaped % self.recent_orphans.len() as u32;
                if let Some(r) = self.recent_orphans.get_mut(next as usize) {
                    *r = (pid, status);
                }
                self.orphans_reaped = self.orphans_reaped.wrapping_add(1);
                // A storm of orphans (all reaped in one drain, before the
                // runtime pulls actions) must not crowd out slot actions: the
                // verbose-only note goes while the queue has room to spare.
                if self.actions.len() < MAX_ACTIONS / 2 {
                    self.note(Note::OrphanReaped { pid, status });
                }
            }
        }
        self.advance(now);
        owner
    }

    /// The reaper found that foster has no children left.
    pub fn no_children_left(&mut self, now: u64) {
        self.no_children = true;
        self.advance(now);
    }

    /// A service wrote its readiness newline.
    // Inlined into the runtime's one call (measured: smaller).
    #[inline]
    pub fn ready(&mut self, id: SlotId, now: u64) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        // A daemon may say so before its launcher exits (the launcher often
        // waits for that): kept, it counts once the daemon is adopted.
        if let State::Running { .. } | State::Launching { .. } | State::FindingPid { .. } =
            slot.state
        {
            if !slot.ready {
                slot.ready = true;
                self.note(Note::Ready { slot: id });
            }
        }
        self.advance(now);
    }

    /// Answer to [`Action::ReadPidfile`].
    // Only `pidfile=` entries read one. Not inlined, and not marked cold
    // (measured: smaller than either).
    #[inline(never)]
    pub fn pidfile_read(&mut self, id: SlotId, read: PidfileRead, now: u64) {
        // A stale pidfile may name a pid reused by another entry's process:
        // never adopt that one, keep looking. (Slot `id` itself has no pid
        // while it looks for one: any owner is another entry's.) Found
        // first, before the slot is borrowed for the rest.
        let owned = match read {
            PidfileRead::Child(pid) => self.slots.iter().any(|s| s.pid() == Some(pid)),
            PidfileRead::NotAChild(_) | PidfileRead::Missing => false,
        };
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        // `launcher`: the pid of a launcher still running (0 once the
        // daemon is looked for), polled for [`PIDFILE_WAIT`] after its
        // start: a daemon that stays in the foreground names itself.
        let (until, stop, exited, launcher) = match slot.state {
            State::Launching { pid, .. } => (slot.since + PIDFILE_WAIT, None, None, pid),
            State::FindingPid {
                until,
                stop,
                exited,
                ..
            } => (until, stop, exited, 0),
            _ => return,
        };
        // While the launcher runs, only the launcher: a daemon it forked is
        // not yet foster's child.
        let read = match read {
            PidfileRead::Child(pid) if pid != launcher && (launcher > 0 || owned) => {
                PidfileRead::Missing
            }
            other => other,
        };
        let died = match read {
            // Taken, not just read: a stale pidfile that still names it
            // while the next run's daemon starts must not end that run too.
            // Not while the launcher runs: left for the look that follows.
            PidfileRead::NotAChild(pid) if launcher == 0 => self
                .recent_orphans
                .iter_mut()
                .find(|(p, _)| *p == pid && pid > 0)
                .map(|r| {
                    r.0 = 0;
                    r.1
                }),
            PidfileRead::NotAChild(_) | PidfileRead::Child(_) | PidfileRead::Missing => None,
        };
        if let PidfileRead::Child(pid) = read {
            slot.state = State::Running { pid };
            // Removed, it stops in its turn (`stop_next`), not before the
            // removed entries that run `after=` it.
            let removed = slot.removed();
            self.note(Note::Adopted { slot: id, pid });
            if let Some(then) = stop.filter(|_| !removed) {
                self.request_stop(id, then, now);
            }
        } else if died.is_some() || now >= until {
            // A launcher's poll is over: it stays launching, asleep.
            // Else the daemon came and went before foster read its
            // pidfile, or none came in time; or the main pid that exited
            // named no new one: its own exit ends the run, as it would
            // have at once. (Its readiness pipe closes either way: nothing
            // of the run is left that foster knows of.)
            let status = exited.or(died);
            match stop {
                _ if launcher > 0 => {}
                // Asked to stop: nothing is left to stop.
                Some(then) => {
                    if exited.is_some() {
                        slot.last_exit = exited;
                    }
                    self.stopped(id, then, now, true)
                }
                None => {
                    if status.is_none() {
                        self.note(Note::PidfileMissing { slot: id });
                    }
                    self.push(Action::Release { slot: id });
                    self.ended(id, status, now);
                }
            }
        } else if let State::FindingPid { next, .. } | State::Launching { next, .. } =
            &mut slot.state
        {
            *next = now + PIDFILE_POLL;
        }
        self.advance(now);
    }

    /// Time passed: fire every deadline that is due.
    #[inline(never)]
    pub fn tick(&mut self, now: u64) {
        let shutdown_entries = matches!(self.phase, Phase::Stopping(Stage::ShutdownEntries));
        for i in 0..self.slots.len() {
            let id = i as SlotId;
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            if now < slot.due(shutdown_entries) {
                continue;
            }
            match &mut slot.state {
                // Started by `advance` below, like any pending slot.
                State::Backoff { .. } => slot.state = State::Pending,
                State::FindingPid { next, .. } | State::Launching { next, .. } => {
                    // Due before its poll (`due`: a looking slot is due
                    // by its poll only): a `shutdown` entry's launcher ran
                    // out of time. Else poll again; the answer moves the
                    // deadline. Put off while the queue is full (kept due,
                    // so not lost).
                    if now < *next {
                        self.request_stop(id, AfterStop::Stay, now);
                    } else if self.actions.is_full() {
                        self.dropped_actions += 1;
                    } else {
                        *next = u64::MAX;
                        self.push(Action::ReadPidfile { slot: id });
                    }
                }
                State::Stopping {
                    pid,
                    then,
                    killed,
                    until,
                    ..
                } => {
                    // Room for what this step queues (a stop may also queue
                    // a note, a restart and a release), else the next tick.
                    if self.actions.len() + 4 > MAX_ACTIONS {
                        self.dropped_actions += 1;
                        continue;
                    }
                    let pid = *pid;
                    if *killed {
                        // SIGKILL did not get it reaped in time: a process
                        // stuck in the kernel must not hang the stop.
                        let then = *then;
                        self.stopped(id, then, now, true);
                    } else {
                        // The grace counts from the SIGKILL: a late tick
                        // (foster frozen with its cgroup) still sends it.
                        *killed = true;
                        *until = now + KILL_GRACE;
                        self.note(Note::Killed { slot: id, pid });
                        self.push(Action::Signal {
                            pid,
                            sig: crate::signals::SIGKILL,
                            hangup: false,
                        });
                    }
                }
                // A `shutdown` entry ran out of time (the other states
                // are never due: `due` is `u64::MAX`).
                State::Running { .. }
                | State::Pending
                | State::Stopped
                | State::Done { .. }
                | State::Failed { .. } => {
                    self.request_stop(id, AfterStop::Stay, now);
                }
            }
        }
        if let Phase::Stopping(stage) = self.phase {
            // Whether a SIGKILL round goes out now.
            let kill = match stage {
                Stage::TermAll if now >= self.stage_until => {
                    self.phase = Phase::Stopping(Stage::KillAll);
                    self.stage_until = now + KILL_GRACE;
                    let left = !self.no_children;
                    if left {
                        self.note(Note::StragglersKilled);
                    }
                    left
                }
                Stage::KillAll if now >= self.stage_until => {
                    self.finish();
                    false
                }
                // A sub-init signals its children only: grandchildren in
                // sessions of their own come back level by level.
                Stage::KillAll if self.rekill => {
                    self.rekill = false;
                    true
                }
                Stage::StopServices
                | Stage::ShutdownEntries
                | Stage::TermAll
                | Stage::KillAll
                | Stage::Finished => false,
            };
            if kill {
                self.push(Action::SignalAll {
                    sig: crate::signals::SIGKILL,
                });
            }
        }
        self.advance(now);
    }

    // ------------------------------------------------------------ requests

    /// Begin the orderly stop that ends in `outcome`. A second request while
    /// stopping only changes how it ends (poweroff after a reboot request, ...).
    pub fn shutdown(&mut self, outcome: Outcome, now: u64) {
        match self.phase {
            Phase::Stopping(Stage::Finished) => {}
            // Said again only when that changes: the console said
            // "powering off", a reboot must not come unannounced (a
            // sub-init's exit code is no news).
            Phase::Stopping(_) if discriminant(&outcome) == discriminant(&self.outcome) => {
                self.outcome = outcome;
            }
            phase => {
                if !matches!(phase, Phase::Stopping(_)) {
                    self.phase = Phase::Stopping(Stage::StopServices);
                    // Nothing pending may start any more. A daemon still
                    // looked for is stopped in its turn once found, not
                    // left running untracked; looked for no longer than
                    // its entry's `timeout=`, as `ctl stop` would.
                    for s in self.slots.iter_mut() {
                        match s.state {
                            State::Pending | State::Backoff { .. }
                                if s.entry.kind != Kind::Shutdown =>
                            {
                                s.state = State::Stopped
                            }
                            State::FindingPid { ref mut until, .. } => {
                                *until = (*until).min(now + s.entry.timeout)
                            }
                            _ => {}
                        }
                    }
                }
                self.note(Note::ShutdownBegins { outcome });
                self.outcome = outcome;
            }
        }
        self.advance(now);
    }

    /// Run every entry of `kind` now (PID 1: `ctrlaltdel` on SIGINT). Entries
    /// still running from an earlier trigger are left alone.
    // Not inlined (measured: smaller).
    #[inline(never)]
    pub fn trigger(&mut self, kind: Kind, now: u64) -> u32 {
        if self.is_stopping() {
            return 0;
        }
        let mut n = 0;
        for slot in self.slots.iter_mut() {
            if slot.entry.kind != kind || slot.removed() {
                continue;
            }
            // A run `ctl stop` cut short (Stopped) is not a moment taken
            // away: the next trigger runs the entry again.
            if matches!(
                slot.state,
                State::Pending | State::Stopped | State::Done { .. } | State::Failed { .. }
            ) {
                // Started one at a time, in table order (`step_running`).
                slot.state = State::Pending;
                slot.cad_queued = true;
                n += 1;
            }
        }
        self.advance(now);
        n
    }

    /// The first entry of `kind` (the `restart` entry for SIGQUIT) in the
    /// table's order: a reload keeps slots where they are.
    pub fn first_of(&self, kind: Kind) -> Option<SlotId> {
        self.first_in_order(kind, Want::Any)
    }

    /// The first entry of `kind` in the table's order (of those removed by
    /// no reload) that is as `want` says.
    #[inline(never)]
    fn first_in_order(&self, kind: Kind, want: Want) -> Option<SlotId> {
        // (order, slot): no order reaches `u8::MAX` (a table holds fewer
        // entries).
        let mut first = (u8::MAX, 0);
        for (i, s) in self.slots.iter().enumerate() {
            let wanted = match want {
                Want::Any => true,
                Want::Active => s.is_active(),
                Want::Queued => s.cad_queued,
            };
            if s.entry.kind == kind && !s.removed() && s.order < first.0 && wanted {
                first = (s.order, i as SlotId);
            }
        }
        (first.0 < u8::MAX).then_some(first.1)
    }

    /// `ctl stop NAME`: stop and keep stopped. What is down and will not
    /// start again by itself (stopped, or a run that ended for good) is done
    /// already, as for `s6-svc -d` or `systemctl stop`, and stays as it is; a
    /// `shutdown` or trigger entry waiting for its moment is refused.
    pub fn stop(&mut self, id: SlotId, now: u64) -> bool {
        self.request_stop(id, AfterStop::Stay, now)
    }

    /// `ctl restart NAME`: what is down (a backoff included) starts now,
    /// what runs stops first. Refused while shutting down (nothing restarts).
    pub fn restart(&mut self, id: SlotId, now: u64) -> bool {
        self.bring_up(id, now, true)
    }

    /// `ctl start NAME`: what is down starts now; what runs, or starts as
    /// soon as its `after=` allows, is fine as it is; one still stopping
    /// (`ctl stop` answers before the end) comes back once down. As
    /// `s6-svc -u`, `sv up` and `systemctl start` have it.
    pub fn start_named(&mut self, id: SlotId, now: u64) -> bool {
        self.bring_up(id, now, false)
    }

    /// [`Supervisor::restart`] if `restart`, else [`Supervisor::start_named`]:
    /// both start what is down; what is up, a restart stops first. Both are
    /// refused for an entry whose `after=` names one down for good
    /// ([`Supervisor::blocked_by`]): it would never start. (`ctl` calls it
    /// with the flag: one call for both requests.)
    #[inline(never)]
    pub fn bring_up(&mut self, id: SlotId, now: u64, restart: bool) -> bool {
        // Nothing starts while foster stops.
        if self.is_stopping() {
            return false;
        }
        let Some(slot) = self.slot(id) else {
            return false;
        };
        // `start_slot` changes no state where it refuses.
        let state = slot.state;
        let run = is_run_kind(slot.entry.kind);
        // What runs is fine for a start, whatever its `after=` does now.
        let up = matches!(
            state,
            State::Launching { .. } | State::FindingPid { stop: None, .. } | State::Running { .. }
        );
        if (restart || !up) && matches!(self.after_gate(slot), Gate::Blocked(_)) {
            return false;
        }
        if self.start_slot(id, now) {
            return true;
        }
        // Refused by `start_slot` while foster runs on and for a run kind,
        // it is up already: pending, starting, running or stopping. A
        // start leaves it so, unless it is stopping (or its daemon is to be
        // stopped once found); so does a restart of one still waiting for
        // its `after=` (nothing runs to stop: as a start, as runit's).
        // A restart of another kind: only of one that runs (a `sysinit`
        // still running); one waiting for its moment is refused, as a start.
        let pending = matches!(state, State::Pending);
        (run || (restart && !pending))
            && (((!restart || pending)
                && !matches!(
                    state,
                    State::Stopping { .. } | State::FindingPid { stop: Some(_), .. }
                ))
                || self.request_stop(id, AfterStop::Restart, now))
    }

    /// Start a stopped, failed, done or backing-off entry now (`ctl start`
    /// and `ctl restart`).
    // Inlined into `bring_up` (measured: smaller).
    #[inline]
    pub fn start_slot(&mut self, id: SlotId, now: u64) -> bool {
        if self.is_stopping() {
            return false;
        }
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return false;
        };
        // Only the boot sequence, a shutdown or a trigger starts the other
        // kinds: set pending here, one would wait forever.
        if !is_run_kind(slot.entry.kind) {
            return false;
        }
        match slot.state {
            State::Stopped | State::Failed { .. } | State::Done { .. } | State::Backoff { .. } => {
                slot.state = State::Pending;
                slot.delay = slot.entry.backoff_min;
                slot.blocked_noted = false;
            }
            State::Pending
            | State::Launching { .. }
            | State::FindingPid { .. }
            | State::Running { .. }
            | State::Stopping { .. } => return false,
        }
        self.advance(now);
        true
    }

    /// Stops slot `id`, then `then`. Whether it is stopping now (its stop
    /// signalled, or its daemon to be stopped once found) or, for `Stay`,
    /// down already: [`Supervisor::stop`]'s answer.
    fn request_stop(&mut self, id: SlotId, then: AfterStop, now: u64) -> bool {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return false;
        };
        let sig = slot.entry.stop_signal;
        let timeout = slot.entry.timeout;
        let kind = slot.entry.kind;
        match slot.state {
            State::FindingPid {
                ref mut stop,
                ref mut until,
                ..
            } => {
                // Stop the daemon once found; the look goes on no longer
                // than the entry's `timeout=` (a stop's own bound).
                *stop = Some(then);
                *until = (*until).min(now + timeout);
                true
            }
            State::Running { pid } | State::Launching { pid, .. } => {
                slot.state = State::Stopping {
                    pid,
                    killed: false,
                    launcher: matches!(slot.state, State::Launching { .. }),
                    until: now + timeout,
                    then,
                };
                // One action per stop (the runtime adds the SIGCONT), so a
                // reload that removes a whole table fits in the queue.
                // Interactive shells ignore SIGTERM: a console session ends
                // as a hangup ends it, or every poweroff from a console
                // shell waits out its timeout.
                let hangup = console_session(&slot.entry);
                self.push(Action::Signal { pid, sig, hangup });
                true
            }
            State::Stopping {
                then: ref mut old, ..
            } => {
                // The last request wins: a removed entry is dropped
                // whatever it says (`stopped`).
                *old = then;
                true
            }
            State::Pending
            | State::Backoff { .. }
            | State::Stopped
            | State::Done { .. }
            | State::Failed { .. } => {
                // `ctl stop` keeps a service from starting, but must not
                // take a shutdown or trigger entry's moment away for good
                // (nothing but a reload could give it back): pending, or
                // its run ended, such an entry waits for its next moment.
                let waits = then == AfterStop::Stay
                    && matches!(kind, Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart)
                    && matches!(
                        slot.state,
                        State::Pending | State::Done { .. } | State::Failed { .. }
                    );
                // What waits to start stops now (`ctl stop` lets a moment
                // wait); what is down stays as it is, unless removed.
                if then == AfterStop::Remove
                    || (!waits && matches!(slot.state, State::Pending | State::Backoff { .. }))
                {
                    self.stopped(id, then, now, false);
                }
                // For `ctl stop`, down now or already.
                then == AfterStop::Stay && !waits
            }
        }
    }

    /// Apply a reloaded table: unchanged entries keep running, changed ones
    /// restart with their new settings, removed ones stop, new ones start.
    /// `same(old_entry, new_entry)` compares by content (the runtime knows both
    /// sources). Ignored while stopping, as BusyBox init does: the `restart`
    /// entry to exec and the shutdown entries under way must stay those of
    /// the table in force. The first load ([`Supervisor::start`]) goes
    /// through here too: every entry is new, and its boot entries run.
    ///
    /// Returns how many entries would find no slot (0: applied). Old
    /// entries whose process still stops keep their slots; a table that
    /// does not fit beside them is refused whole, nothing changed: half a
    /// table applied and the rest dropped would read as done.
    // Not inlined (measured: smaller).
    #[inline(never)]
    pub fn reload(
        &mut self,
        table: &Table,
        same: &dyn Fn(&Entry, &Entry) -> bool,
        now: u64,
    ) -> usize {
        if self.is_stopping() {
            return 0;
        }
        // Slots taken once applied: one per entry of the table (names are
        // unique: an entry kept is one of them), plus the dropped ones
        // whose process still stops (one with none frees its slot at once).
        let mut taken = table.entries.len();
        for s in self.slots.iter() {
            if !s.keeps_slot(table) && s.has_process() {
                taken += 1;
            }
        }
        let short = taken.saturating_sub(MAX_SLOTS);
        if short != 0 {
            return short;
        }
        self.reloads += 1;
        // The table loaded at the start (the first) runs its boot entries.
        let reloaded = self.reloads > 1;
        // Mark everything that is not in the new table. An entry of another
        // kind is another entry: kept, a service would run on as a shutdown
        // entry, a pending shutdown entry wait forever as a sysinit.
        for i in 0..self.slots.len() {
            let Some(s) = self
                .slots
                .get_mut(i)
                .filter(|s| !s.removed() && !s.keeps_slot(table))
            else {
                continue;
            };
            s.removed_at = self.reloads;
            // What runs stops in its turn, as in the orderly stop: after the
            // removed entries that run `after=` it (`stop_next`; a daemon
            // looked for, once found). A launcher stops at once: held, it
            // could outlive the text of its pidfile path (the next reload
            // overwrites it) and leave a daemon nobody looks for.
            if !matches!(s.state, State::Running { .. }) {
                self.request_stop(i as SlotId, AfterStop::Remove, now);
            }
        }
        for (order, &idx) in table.start_order().iter().enumerate() {
            let Some(new) = table.entries.get(idx as usize) else {
                continue;
            };
            let order = order as u8;
            match self.find(new.name.as_bytes()) {
                Some(id) => {
                    let Some(slot) = self.slots.get_mut(id as usize) else {
                        continue;
                    };
                    slot.order = order;
                    // Still stopping on request (`ctl stop`): it stays down,
                    // as it would had it stopped a moment sooner.
                    let held = matches!(
                        slot.state,
                        State::Stopping {
                            then: AfterStop::Stay,
                            ..
                        } | State::FindingPid {
                            stop: Some(AfterStop::Stay),
                            ..
                        }
                    );
                    let changed = !same(&slot.entry, new);
                    // The spans must point into the new source either way.
                    slot.entry = new.clone();
                    if changed {
                        slot.delay = new.backoff_min;
                    }
                    if changed && is_run_kind(new.kind) && !held {
                        self.request_stop(id, AfterStop::Restart, now);
                    }
                }
                // Room was checked above.
                None => {
                    if let Some(slot) = self.add_slot(new, order) {
                        // Boot entries of a reloaded table do not run again.
                        if is_boot_kind(new.kind) && reloaded {
                            slot.state = State::Done {}
                        }
                    }
                }
            }
        }
        self.nothing_left_noted = false;
        self.advance(now);
        0
    }

    // ------------------------------------------------------------ internals

    /// A new slot for `entry`, at `order` in the start order, in place of a
    /// removed one that is done, else at the end; `None` when all are taken.
    // Cold: runs at the start and at each reload only (measured: smaller).
    #[cold]
    #[inline(never)]
    fn add_slot(&mut self, entry: &Entry, order: u8) -> Option<&mut Slot> {
        let end = self.slots.len();
        let tomb = self
            .slots
            .iter()
            .position(|s| s.removed() && !s.is_active());
        let i = tomb.unwrap_or(end);
        // Built once for both places (smaller than a copy per branch).
        let slot = Slot::new(entry.clone(), order);
        if i == end {
            self.slots.push(slot).ok()?;
        } else {
            *self.slots.get_mut(i)? = slot;
        }
        self.slots.get_mut(i)
    }

    /// A slot's process is gone after a stop request (`release`: it had
    /// one, now gone or given up on, whose readiness pipe closes).
    fn stopped(&mut self, id: SlotId, then: AfterStop, now: u64, release: bool) {
        let stopping = self.is_stopping();
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        slot.ready = false;
        slot.state = State::Stopped;
        // A removed entry is dropped, whoever stopped it (the orderly stop
        // too), with every resource it had (its readiness pipe too);
        // nothing restarts while foster stops.
        if slot.removed() {
            self.push(Action::Forget { slot: id });
            return;
        }
        if then == AfterStop::Restart && !stopping {
            slot.state = State::Pending;
            slot.since = now;
        }
        if release {
            self.push(Action::Release { slot: id });
        }
    }

    /// A slot's process ended on its own (or could not start: `status` None).
    // Inlined (measured: smaller).
    #[inline]
    fn ended(&mut self, id: SlotId, status: Option<ExitStatus>, now: u64) {
        let stopping = self.is_stopping();
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        // Removed, it was only waiting for its turn to stop: no restart, no
        // `on-exit=`, dropped as if stopped, but its end is logged.
        if slot.removed() {
            if let Some(status) = status {
                self.note(Note::Exited {
                    slot: id,
                    status,
                    quiet: false,
                    restart_in: None,
                });
            }
            return self.stopped(id, AfterStop::Remove, now, false);
        }
        let mut restart_in = None;
        // A start that failed counts as status 255.
        let st = status.unwrap_or(ExitStatus::Code(255));
        let exit_code = slot.entry.exit_code;
        slot.ready = false;
        if status.is_some() {
            slot.last_exit = status;
        }
        // Blocked by its `after=` (an `on-exit=` entry, `step_running`),
        // it would only be blocked again: failed for good.
        let restart = !stopping && !slot.blocked_noted && slot.restarts_by_policy(st);
        if restart {
            // A healthy run: up for `HEALTHY_UPTIME` or more.
            if now >= slot.since + HEALTHY_UPTIME {
                slot.delay = slot.entry.backoff_min;
            }
            let delay = slot.delay;
            // Never 0: the parser keeps `0 < MIN <= MAX`; nor past 2^62,
            // its longest duration, so the doubling cannot overflow.
            slot.delay = (delay * 2).min(slot.entry.backoff_max);
            slot.restarts += 1;
            slot.state = State::Backoff { until: now + delay };
            restart_in = NonZeroU64::new(delay);
        } else if !st.success() {
            slot.state = State::Failed {};
        } else {
            slot.state = State::Done {};
        }
        let on_exit = if restart { None } else { slot.entry.on_exit() };
        let quiet = !restart && st.success() && slot.entry.kind != Kind::Service;
        if let Some(status) = status {
            self.note(Note::Exited {
                slot: id,
                status,
                quiet,
                restart_in,
            });
        }
        if let Some(on_exit) = on_exit {
            let code = st.shell_code();
            self.note(Note::ExitStatus { slot: id, code });
            let outcome = match on_exit {
                OnExit::Exit => Outcome::Exit(exit_code),
                // A sub-init powers nothing off: it exits with the entry's
                // status, so a kernel test's table run as a sub-init still
                // reports a failure.
                _ if self.mode == Mode::SubInit => Outcome::Exit(code),
                OnExit::Poweroff => Outcome::Poweroff,
                OnExit::Reboot => Outcome::Reboot,
                OnExit::Halt => Outcome::Halt,
                // `Nothing` never comes here: `on_exit()` leaves it out.
                OnExit::ExitStatus | OnExit::Nothing => Outcome::Exit(code),
            };
            if let Outcome::Exit(c) = outcome {
                self.exit_code = c;
            }
            // During a stop this changes how it ends (a sub-init's status).
            self.shutdown(outcome, now);
        }
    }

    /// Whether a pending slot may start now (phase and `after=`).
    #[cfg(test)]
    fn may_start(&self, i: usize) -> bool {
        matches!(self.phase, Phase::Running) && self.gate(i) == Gate::Start
    }

    /// Where a slot stands with its `after=` entries: one pass over them
    /// answers both "may it start" and "does it wait forever".
    // Not inlined (measured: smaller).
    #[inline(never)]
    fn gate(&self, i: usize) -> Gate {
        let Some(slot) = self.slots.get(i) else {
            return Gate::Idle;
        };
        if !matches!(slot.state, State::Pending) || slot.removed() || !is_run_kind(slot.entry.kind)
        {
            return Gate::Idle;
        }
        // An entry a reload replaced under the same name (its kind changed,
        // or removed and added back) still runs: the new one waits for its
        // end, as a changed entry waits for its own restart, so the two
        // never run side by side (a port bound twice).
        if self
            .slots
            .iter()
            .any(|s| s.removed() && s.name() == slot.name() && s.has_process())
        {
            return Gate::Idle;
        }
        self.after_gate(slot)
    }

    /// The `after=` entry that holds up a start of `id` for good: the
    /// first one down that will not come up (`ctl start` and `restart`
    /// refuse such a start rather than leave the entry waiting forever).
    #[inline(never)]
    pub fn blocked_by(&self, id: SlotId) -> Option<&Slot> {
        match self.after_gate(self.slot(id)?) {
            Gate::Blocked(j) => self.slot(j),
            _ => None,
        }
    }

    /// Where `slot`'s `after=` entries stand, whatever its own state.
    #[inline(never)]
    fn after_gate(&self, slot: &Slot) -> Gate {
        let mut gate = Gate::Start;
        // Every slot: an unused one holds an empty name, which no entry has.
        for dep in slot.entry.after.padded() {
            // An entry not in the table does not hold anything up.
            let Some((j, s)) = self.lookup(dep.as_bytes()) else {
                continue;
            };
            // Down for good, or waiting for one that is (as found at its
            // own last look: `blocked_noted`).
            if s.is_terminal() || (s.blocked_noted && matches!(s.state, State::Pending)) {
                return Gate::Blocked(j);
            }
            if !s.satisfies_after() {
                gate = Gate::Idle;
            }
        }
        gate
    }

    /// Moves the boot sequence, starts what may start, drives the stop.
    fn advance(&mut self, now: u64) {
        // Each pass may change states that let others move; bounded by slots.
        for _ in 0..self.slots.len() + 5 {
            if !self.step(now) {
                break;
            }
        }
    }

    /// One pass; true if anything changed.
    fn step(&mut self, now: u64) -> bool {
        if let Phase::Stopping(stage) = self.phase {
            return self.step_stopping(stage, now);
        }
        // Entries a reload removed stop as the orderly stop stops all.
        self.stop_next(now) == Some(true)
            || match self.phase {
                Phase::Boot => self.step_boot(),
                Phase::Running | Phase::Stopping(_) => self.step_running(now),
            }
    }

    fn step_boot(&mut self) -> bool {
        // One boot entry at a time, sysinit before wait (start order).
        for i in 0..self.slots.len() {
            let Some(slot) = self.slots.get(i) else {
                continue;
            };
            if !is_boot_kind(slot.entry.kind) {
                continue;
            }
            if slot.is_active() {
                self.queue_spawn(i as SlotId);
                return false;
            }
        }
        self.phase = Phase::Running;
        true
    }

    #[inline(never)]
    fn step_running(&mut self, now: u64) -> bool {
        self.start_next_ctrlaltdel();
        let mut changed = false;
        // Something still runs, waits, or will start (found in the same
        // pass: what is queued or noted here changes no state).
        let mut left = false;
        for i in 0..self.slots.len() {
            let gate = self.gate(i);
            let Some(slot) = self.slots.get_mut(i) else {
                continue;
            };
            let blocked = matches!(gate, Gate::Blocked(_));
            left |= slot.keeps_going(blocked);
            // Kept up to date (what runs `after=` it reads it), noted once
            // each time it becomes blocked.
            let noted = core::mem::replace(&mut slot.blocked_noted, blocked);
            let on_exit = slot.entry.on_exit().is_some();
            match gate {
                Gate::Start => self.queue_spawn(i as SlotId),
                Gate::Blocked(blocker) if !noted => {
                    self.note(Note::Blocked {
                        slot: i as SlotId,
                        on: blocker,
                    });
                    changed = true;
                    // An `on-exit=` entry that cannot run ends as a
                    // start that failed: foster's outcome (a test's
                    // verdict) must not wait for ever, nor read 0. Not
                    // while what it waits for is only stopped on
                    // request: `ctl start` brings that back, through
                    // a chain too (its root is what counts).
                    if on_exit {
                        let mut root = blocker;
                        for _ in 0..MAX_SLOTS {
                            let Gate::Blocked(next) = self.gate(root as usize) else {
                                break;
                            };
                            root = next;
                        }
                        if self.slot(root).is_some_and(|b| b.state != State::Stopped) {
                            self.ended(i as SlotId, None, now);
                        }
                    }
                }
                Gate::Blocked(_) | Gate::Idle => {}
            }
        }
        if !left {
            match self.mode {
                Mode::SubInit if self.no_children => {
                    self.shutdown(Outcome::Exit(self.exit_code), now);
                    return true;
                }
                Mode::Pid1 if !self.nothing_left_noted => {
                    self.nothing_left_noted = true;
                    self.note(Note::NothingLeft);
                }
                Mode::SubInit | Mode::Pid1 => {}
            }
        }
        changed
    }

    /// Queues a start of slot `id` if it is pending, unless one is queued
    /// already.
    #[inline(never)]
    fn queue_spawn(&mut self, id: SlotId) {
        let Some(s) = self.slots.get_mut(id as usize) else {
            return;
        };
        let wanted = matches!(s.state, State::Pending) && !s.spawn_queued;
        // A full queue: the start (and a triggered `ctrlaltdel` entry's
        // turn) waits for the next step.
        if wanted && self.actions.is_full() {
            self.dropped_actions += 1;
            return;
        }
        s.spawn_queued |= wanted;
        // A triggered `ctrlaltdel` entry (the only ones queued) has its turn.
        s.cad_queued = false;
        if wanted {
            self.push(Action::Spawn { slot: id });
        }
    }

    /// Triggered `ctrlaltdel` entries run one at a time in table order,
    /// each waited, as BusyBox runs them (`umount -a -r` before `reboot`):
    /// the first one queued starts once none runs.
    // Inlined into its one caller (measured: smaller).
    #[inline]
    fn start_next_ctrlaltdel(&mut self) {
        let busy = self.slots.iter().any(|s| {
            s.entry.kind == Kind::CtrlAltDel
                && (s.spawn_queued || (s.is_active() && !matches!(s.state, State::Pending)))
        });
        if busy {
            return;
        }
        if let Some(i) = self.first_in_order(Kind::CtrlAltDel, Want::Queued) {
            self.queue_spawn(i);
        }
    }

    #[inline(never)]
    fn step_stopping(&mut self, stage: Stage, now: u64) -> bool {
        match stage {
            Stage::StopServices => match self.stop_next(now) {
                Some(changed) => changed,
                None => {
                    self.phase = Phase::Stopping(Stage::ShutdownEntries);
                    true
                }
            },
            Stage::ShutdownEntries => {
                // One at a time, in table order (no reload while stopping):
                // the first one still active runs or starts next.
                // (`tick` bounds a running one by its timeout.)
                if let Some(i) = self.first_in_order(Kind::Shutdown, Want::Active) {
                    self.queue_spawn(i);
                    return false;
                }
                self.push(Action::SignalAll {
                    sig: crate::signals::SIGTERM,
                });
                // Asked again by the sweep's reap: an orphan adopted since
                // the last ECHILD (a daemon whose parent ran outside the
                // namespace) must get its grace too.
                self.no_children = false;
                self.phase = Phase::Stopping(Stage::TermAll);
                self.stage_until = now + TERM_GRACE;
                true
            }
            Stage::TermAll | Stage::KillAll => {
                if self.no_children {
                    self.finish();
                    return true;
                }
                false
            }
            Stage::Finished => false,
        }
    }

    /// Stops the next service: while foster stops, every one; else those
    /// a reload removed. Newest first and together, but an entry that others
    /// run `after=` waits until they are gone: the stop takes the longest
    /// chain of `timeout=`s, not their sum (as dinit and s6-rc stop). One
    /// stop per pass of `advance`. `Some(whether one was signalled)` while
    /// there is one to wait for, `None` when all are gone.
    fn stop_next(&mut self, now: u64) -> Option<bool> {
        let stopping = self.is_stopping();
        // (start_seq, slot) of the newest: every slot that ever ran has a
        // start_seq of 1 or more, so 0 is none.
        let mut victim: (u32, SlotId) = (0, 0);
        let mut waiting = false;
        for (i, s) in self.slots.iter().enumerate() {
            match s.state {
                State::Stopping { .. } | State::FindingPid { .. } => waiting = true,
                State::Running { .. } | State::Launching { .. }
                    if s.entry.kind != Kind::Shutdown && (stopping || s.removed()) =>
                {
                    if self.is_held(s) {
                        waiting = true;
                    } else if s.start_seq >= victim.0 {
                        victim = (s.start_seq, i as SlotId);
                    }
                }
                _ => {}
            }
        }
        match victim {
            (0, _) => waiting.then_some(false),
            // Each stop queues one signal: the rest once there is room.
            _ if self.actions.is_full() => {
                self.dropped_actions += 1;
                Some(false)
            }
            (_, id) => Some(self.request_stop(id, AfterStop::Stay, now)),
        }
    }

    /// Whether an entry with a process (or a daemon still looked for) runs
    /// `after=` slot `x`. The entries of one table have no cycle; one that
    /// a reload removed names those of the table it was removed from: an
    /// entry removed later (or still in the table) does not hold an earlier
    /// one of the same name, so entries removed by different reloads never
    /// wait for each other in a circle.
    // Inlined into its one caller (measured: smaller).
    #[inline]
    fn is_held(&self, x: &Slot) -> bool {
        self.slots.iter().any(|s| {
            s.has_process()
                && s.removed_at <= x.removed_at
                && s.entry.after.padded().contains(x.name())
        })
    }

    /// Ends the stop; called in [`Stage::TermAll`] and [`Stage::KillAll`]
    /// only.
    fn finish(&mut self) {
        self.phase = Phase::Stopping(Stage::Finished);
        self.stage_until = u64::MAX;
    }
}

/// SIGTERM to everything left, then this long before SIGKILL.
pub const TERM_GRACE: Millis = 2_000;

#[cfg(test)]
#[path = "supervisor_tests.rs"]
mod tests;
