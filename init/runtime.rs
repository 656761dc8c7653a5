//! The event loop of sub-init and PID 1 modes: it owns every fd and carries out
//! the supervisor's actions through `sys`.
//!
//! One `epoll_wait` is the only place foster sleeps. Its timeout is the
//! supervisor's next deadline, or none at all: idle means zero syscalls. The
//! signalfd (every catchable signal blocked but the real-time ones, ignored),
//! readiness pipes, log pipes and the control socket are the sources of events.

use crate::log::{Log, Part};
use crate::out::Line;
use crate::reaper;
use crate::signals::{self, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGTERM};
use crate::spawn::{self, ChildSetup, Env, Exec, Output, Service, Session};
use crate::supervisor::{
    Action, Actions, Mode, Note, Outcome, PidfileRead, SlotId, Slots, Supervisor, MAX_SLOTS,
};
use crate::sys::{self, Errno, ExitStatus, Fd, Paged, Pid, SigSet, StartArgs};
use crate::texts::{text, Packed};
use config_format::{Argv, Entry, Kind, Span, Table, Text, MAX_TABLE_BYTES};
use core::ffi::CStr;

/// PID 1's table when no `-f` names one.
const INITTAB: &CStr = c"/etc/inittab";

/// Epoll tags: the second byte says what kind of source, the low byte which
/// (a slot for readiness and log pipes, a client's index for clients):
/// small constants, short immediates.
const TAG_SIGNAL: u64 = 0;
/// The low byte of a tag: which source of its kind.
const TAG_INDEX: u64 = 0xff;
const TAG_READY: u64 = 1 << 8;
const TAG_LOG: u64 = 2 << 8;
pub const TAG_CONTROL: u64 = 3 << 8;
pub const TAG_CLIENT: u64 = 4 << 8;
// Every slot's index fits in the low byte.
const _: () = assert!(MAX_SLOTS as u64 <= TAG_INDEX + 1);

/// The longest line of a service's log forwarded whole; a longer one is
/// split at this length.
const LOG_LINE: usize = 240;
/// One read of a log pipe.
const LOG_CHUNK: usize = 512;
/// Reads of a log pipe per wakeup (epoll is level-triggered: what is left
/// wakes it again). `u32`: the smallest loop counter.
const LOG_READS_PER_EVENT: u32 = 16;
/// Reads of the log pipe of a process that is gone: enough to empty a pipe
/// of the default capacity (64 KiB).
const LOG_READS_AT_END: u32 = (64 * 1024 / LOG_CHUNK) as u32;

/// What PID 1 adds to its children's environment when missing (NUL-separated).
const PID1_ENV: &[u8] = b"HOME=/\0SHELL=/bin/sh\0USER=root\0TERM=linux";

/// Where `reload` also sends the table's error reports (`ctl reload`).
pub type Report<'r> = &'r mut dyn FnMut(&[u8]);

/// How the runtime was started.
pub struct Config<'a> {
    pub mode: Mode,
    /// Where the table is read from (`None`: PID 1's /etc/inittab, or
    /// BusyBox's default table while that file does not exist; looked at
    /// again at each reload, as BusyBox init does).
    pub table: Option<&'a CStr>,
    pub args: StartArgs,
    pub verbose: bool,
}

/// The log pipes (entries with `log=kmsg` or `log=PATH`): the service
/// writes lines, foster prefixes and forwards them. One cell for every
/// slot, not every entry: a removed entry keeps its pipe while it stops, as
/// the entries replacing it start. A cell is in use while its slot's `open`
/// flag is set (all zero: none). The flags sit apart from the cells: every
/// start looks at its slot's flag, and only a slot with a pipe touches its
/// cell, so the cells' pages are resident only for pipes in use.
#[repr(C)]
struct LogPipes {
    open: [bool; MAX_SLOTS],
    cells: [LogPipe; MAX_SLOTS],
}

/// A slot's log pipe, owned while its flag in [`LogPipes`] is set.
/// `repr(C)`: the small fields first, within short reach of the cell's address.
#[repr(C)]
struct LogPipe {
    /// The cell's own slot (its index), kept for the name its lines get:
    /// one byte read beside the others, smaller than the index passed along.
    slot: SlotId,
    kmsg: bool,
    /// The last write to `sink` failed (reported once, until one succeeds).
    failing: bool,
    /// Bytes in `partial` (a byte: a cell is 256 bytes, its index a shift).
    len: u8,
    /// The pipe's ends and where lines go (/dev/kmsg or the file): owned
    /// while `open`, closed by `drop_log`.
    read: sys::RawFd,
    write: sys::RawFd,
    sink: sys::RawFd,
    partial: [u8; LOG_LINE],
}

// A cell is 256 bytes, and `len` holds a line's length.
const _: () = assert!(core::mem::size_of::<LogPipe>() == 256 && LOG_LINE <= u8::MAX as usize);

/// What one `epoll_wait` reports (all zero before the first).
type Events = [sys::EpollEvent; 8];

/// The table sources: two buffers, one current, one for the next reload
/// (they trade places when a table is applied: the current one is a load
/// away, with no pick). Only spans of a table parsed from a buffer are read
/// from it, each within the length read: no length is kept (the bytes past
/// it are never read).
struct Sources {
    /// The running table's source.
    current: &'static mut Source,
    /// Where the next table is read.
    spare: &'static mut Source,
}

/// The read end of a slot's readiness pipe, when open (all zero: none).
struct ReadyPipe {
    open: bool,
    fd: sys::RawFd,
}

/// The runtime's big state, reserved in one piece and never on the stack:
/// stack pages stay resident once touched, reserved ones only once written
/// (a page only read maps the kernel's shared zero page). `repr(C)` in this
/// order, so that few pages are resident when idle: what every event writes
/// (the action queue, what `epoll_wait` reports) comes first and the slots
/// right after it, so that with 16 services all of it fills the first two
/// pages (checked below); what only some features write (readiness pipes,
/// control connections, log pipes' flags) shares the page after the slots,
/// resident once one is used; then the log pipes' cells and the table's
/// text, which fills its pages from the start. What is given back to the
/// kernel comes last: the parsed table (after each load), then the child's
/// argv and environment (after each start). Last, because on a kernel with
/// pages bigger than 4 KiB a release can reach past its own part: only into
/// the scratch, never live state (checked below).
#[repr(C)]
pub struct Reserved {
    actions: Actions,
    events: Events,
    slots: Slots,
    occasional: Occasional,
    sources: Paged<[[u8; MAX_TABLE_BYTES]; 2]>,
    /// The last parsed table (parsed in place; its pages are given back
    /// once the supervisor has taken its entries).
    table: Paged<Table>,
    scratch: Paged<Scratch>,
}

/// The state only some features write, starting on a page of its own: the
/// small parts first, all within that page (checked below), the log pipes'
/// cells last.
#[repr(C, align(4096))]
struct Occasional {
    ready: [ReadyPipe; MAX_SLOTS],
    clients: crate::control::Clients,
    logs: LogPipes,
}

/// The services the idle-memory budget is set for (DESIGN.md: under 64 kB
/// with 16 services).
const BUDGET_SLOTS: usize = 16;

// With that many slots in use, the state every event writes ends within the
// first two pages (the slots' length comes before their cells).
const _: () = {
    use core::mem::{offset_of, size_of};
    let unused = (MAX_SLOTS - BUDGET_SLOTS) * size_of::<crate::supervisor::Slot>();
    assert!(offset_of!(Reserved, slots) + size_of::<Slots>() - unused <= 2 * 4096);
    let flags = offset_of!(Occasional, logs) + offset_of!(LogPipes, cells);
    assert!(flags <= 4096);
};

// The released parts last, the scratch at the very end (see above).
const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(offset_of!(Reserved, sources) < offset_of!(Reserved, table));
    assert!(offset_of!(Reserved, table) < offset_of!(Reserved, scratch));
    assert!(offset_of!(Reserved, scratch) + size_of::<Paged<Scratch>>() == size_of::<Reserved>());
};

/// Where a child's argv and environment are built: pages of their own,
/// given back to the kernel after each start, so an idle foster keeps none
/// of them.
pub struct Scratch {
    argv: Argv,
    env: Env,
    /// The child's paths and names (tty, dir, user, group, log file).
    paths: SpawnPaths,
}

/// Room for each path or name a child's setup needs: in the scratch pages,
/// so a start adds nothing to foster's resident stack. Arrays, not one
/// buffer split: a callee gets each one's length from its type.
struct SpawnPaths {
    tty: [u8; TTY_BUF],
    dir: CValue,
    user: CValue,
    group: CValue,
    log: CValue,
}

/// A table's source, in one of [`Sources`]' buffers.
type Source = [u8; MAX_TABLE_BYTES];

/// Room for the longest value the table allows, unquoted.
type Value = [u8; config_format::MAX_VALUE];
/// The same plus a NUL.
type CValue = [u8; config_format::MAX_VALUE + 1];

impl Sources {
    /// The current buffer's table source, or (`spare`) the other one's.
    #[inline]
    fn get(&self, spare: bool) -> &Source {
        if spare {
            self.spare
        } else {
            self.current
        }
    }

    fn current(&self) -> &Source {
        self.current
    }
}

/// `repr(C)`: the fields in this order, the most used first, within a
/// one-byte displacement of `self` (measured: the smallest code): the log
/// at `self` itself (its many calls pass `self` as is), the supervisor's
/// most used fields short of 128 bytes.
#[repr(C)]
pub struct Runtime<'a> {
    log: Log,
    ep: Fd,
    sigfd: Fd,
    logs: &'static mut LogPipes,
    ready: &'static mut [ReadyPipe; MAX_SLOTS],
    /// A child's argv and environment are built here (taken while in use).
    scratch: Option<&'static mut Paged<Scratch>>,
    /// The last parsed table (reserved once; parsed in place). Only a load
    /// and what follows it read it: its pages are released after each.
    table: &'static mut Paged<Table>,
    /// [`Config`]'s, kept field by field: its small, most read ones here,
    /// within short reach (its mode is the supervisor's).
    verbose: bool,
    src: Sources,
    sup: Supervisor,
    /// The control socket, when one was asked for.
    control: crate::control::Server,
    /// [`Config`]'s `table`.
    table_path: Option<&'a CStr>,
    args: StartArgs,
    /// What one `epoll_wait` reports: not in the loop's own stack frame,
    /// whose line buffers then stay within a short reach.
    events: &'static mut Events,
}

impl<'a> Runtime<'a> {
    /// Sets up the signalfd, the epoll instance and the reserved memory (the
    /// table is loaded later, by [`Runtime::serve`]). `Err`: what could not
    /// be done and why, for the caller to report: foster cannot supervise.
    pub fn new(cfg: Config<'a>, log: Log) -> Result<Runtime<'a>, (Packed, Errno)> {
        // One exit for every failure: the error is written in one place.
        // Nothing is closed on one (the fds, the log): the caller ends
        // foster or only reaps from here on.
        let failed = 'failed: {
            let sigfd = match signals::open_fd() {
                Ok(fd) => fd.into_raw(),
                Err(e) => break 'failed (text!("open a signalfd"), e),
            };
            signals::ignore_real_time();
            let ep = match sys::epoll_create() {
                Ok(fd) => core::mem::ManuallyDrop::new(fd),
                Err(e) => break 'failed (text!("create an epoll instance"), e),
            };
            if let Err(e) = sys::epoll_add(&ep, sigfd, sys::EPOLLIN, TAG_SIGNAL) {
                break 'failed (text!("watch signals"), e);
            }
            let reserved: &mut Reserved = match sys::reserve_zeroed() {
                Ok(r) => r,
                Err(e) => break 'failed (text!("reserve memory"), e),
            };
            let Reserved {
                sources: Paged([current, spare]),
                slots,
                actions,
                occasional:
                    Occasional {
                        ready,
                        clients,
                        logs,
                    },
                table,
                scratch,
                events,
            } = reserved;
            return Ok(Runtime {
                scratch: Some(scratch),
                sup: Supervisor::new(cfg.mode, slots, actions),
                table,
                verbose: cfg.verbose,
                table_path: cfg.table,
                args: cfg.args,
                ep: core::mem::ManuallyDrop::into_inner(ep),
                sigfd: Fd::from_raw(sigfd),
                src: Sources { current, spare },
                ready,
                logs,
                log,
                control: crate::control::Server::idle(clients),
                events,
            });
        };
        core::mem::forget(log);
        Err(failed)
    }

    pub fn mode(&self) -> Mode {
        self.sup.mode()
    }

    /// The course of both supervising modes once set up: the control socket
    /// at `socket` (none: no socket), the table, the loop, then the close
    /// at exit. When no table could be read, a sub-init ends with
    /// `Exit(1)`; PID 1 says so and runs on, reaping orphans only.
    pub fn serve(&mut self, socket: Option<&'static CStr>) -> Outcome {
        // A failure is reported; foster runs on without until a reload
        // binds it.
        if let Some(path) = socket {
            self.control.listen(&self.ep, path, &self.log);
        }
        let outcome = match self.start() {
            Err(_) if self.mode() == Mode::SubInit => Outcome::Exit(1),
            started => {
                if started.is_err() {
                    self.log
                        .error(text!("no table could be read; reaping orphans only"));
                }
                self.run()
            }
        };
        self.close_at_exit();
        outcome
    }

    /// Removes the control socket file if still foster's, closes the log
    /// pipes and their files: one open for writing keeps its filesystem
    /// from going read-only at shutdown (EBUSY), and the disk would be left
    /// unclean. Every slot's cell goes the way a forgotten slot's does.
    // Cold: runs once, at the end (measured: smaller).
    #[cold]
    fn close_at_exit(&mut self) {
        self.control.remove();
        for slot in 0..MAX_SLOTS {
            drop_log(&self.ep, self.logs, slot as SlotId);
        }
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.sup
    }

    /// The control server ([`crate::control::answer`] reads a request in
    /// its client's buffer).
    pub fn control(&self) -> &crate::control::Server {
        &self.control
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Reads the table into the spare buffer and parses it into `self.table`.
    /// Returns the error count (errors are reported as they are found, to
    /// `report` too when given, then counted; `reload`: the reports say the
    /// running table is kept). A read failure is reported too.
    // Cold: runs at the start and at each reload only (measured: smaller).
    #[cold]
    fn load(&mut self, report: Option<Report<'_>>, reload: bool) -> Result<u32, Errno> {
        let buf = &mut *self.src.spare;
        let given = self.table_path;
        let path = given.unwrap_or(INITTAB);
        let mut file = path.to_bytes();
        // A failure is logged as `[PRE]TEXT[POST]`, TEXT built in `why`,
        // PRE and POST texts of LOAD_FAILED by the failure (`read`: the
        // table was read, with errors) and whether the running table is
        // kept (a reload) or not.
        let mut why = Line::new();
        // A sub-init's first load waits for a FIFO's writer, as `check`
        // does (`foster -f <(gen)`: the table may not be written yet;
        // non-blocking, that read failed with EAGAIN or read nothing).
        // Nothing runs yet: only foster waits, its signals held until the
        // table is read (SIGKILL still ends it). A reload never waits: a
        // FIFO left without a writer would stop supervision for good. Nor
        // does PID 1: a FIFO at /etc/inittab with no writer at boot would
        // hang the whole system, with nothing reaped; read as it is, a FIFO
        // is what it holds then (none: an empty table, a writer that has
        // written nothing yet: EAGAIN) and PID 1 goes on reaping.
        let wait = !reload && self.sup.mode() == Mode::SubInit;
        // A pipe is read once, at the start: at a reload it holds nothing
        // more (its writer done: an empty table, which would stop every
        // entry) or not yet. Refused as a pipe (ESPIPE), the table in
        // force kept; a SIGHUP for logrotate still reopens the logs.
        let pipe =
            reload && sys::stat(path, true).is_ok_and(|st| st.mode & sys::S_IFMT == sys::S_IFIFO);
        let (result, read) = 'failed: {
            let got = match pipe {
                true => Err(Errno::ESPIPE),
                false => sys::read_file_with(path, buf, if wait { 0 } else { sys::O_NONBLOCK }),
            };
            let len = match got {
                Ok(n) => n,
                // PID 1 with no /etc/inittab runs BusyBox's default table.
                Err(Errno::ENOENT) if given.is_none() => {
                    self.log
                        .info(text!("no /etc/inittab: using BusyBox's default table"));
                    file = b"(default table)";
                    let d = config_format::BUSYBOX_DEFAULT_TABLE;
                    // A container's part only: see BUSYBOX_DEFAULT_IN_CONTAINER
                    // (where BusyBox in a runtime's /dev fails to open the
                    // terminals, and would remount the host's volumes
                    // read-only at its end).
                    let d = match crate::pid1::in_container() {
                        true => d
                            .get(..config_format::BUSYBOX_DEFAULT_IN_CONTAINER)
                            .unwrap_or(d),
                        false => d,
                    };
                    crate::bytes::copy(buf, d);
                    d.len().min(buf.len())
                }
                Err(e) => {
                    // A `ctl reload` is told why, not only that it failed:
                    // the same text as the log's.
                    why.t(text!("unable to read ")).bytes(file).colon_errno(e);
                    if let Some(r) = report {
                        r(why.as_bytes());
                    }
                    break 'failed (Err(e), false);
                }
            };
            let src = buf.get(..len).unwrap_or(&[]);
            let log = &self.log;
            let mut errors = 0;
            // The closure takes its captures by value (`move`; the count
            // through this reference): copies in the closure, not pointers
            // to locals that then live on the stack (measured: smaller).
            let count = &mut errors;
            let mut report = report;
            config_format::parse_into(src, &mut self.table.0, &mut move |e| {
                // A BusyBox line of an action BusyBox does not know (a
                // sysvinit `initdefault`) is skipped at a reload too, as
                // BusyBox skips it: reported, but no reason to reject.
                let skipped = matches!(
                    e.kind,
                    config_format::ErrorKind::Message {
                        msg: config_format::Message::UnknownAction,
                        ..
                    }
                );
                *count += u32::from(!(reload && skipped));
                let mut line = Line::new();
                e.report(file, src, &mut line);
                // The report is several lines (message, source, caret): log the first.
                let text = line.as_bytes();
                let first = text.split(|&b| b == b'\n').next().unwrap_or(text);
                log.error_raw(first);
                if let Some(r) = report.as_mut() {
                    r(text);
                }
            });
            if errors == 0 {
                return Ok(0);
            }
            why.u(u64::from(errors));
            (Ok(errors), true)
        };
        let at = 4 * usize::from(read) + 2 * usize::from(reload);
        let text = |i| LOAD_FAILED.get(i).copied().unwrap_or(text!(""));
        let (pre, post) = (text(at), text(at + 1));
        let parts = [Part::Text(pre), Part::Raw(why.as_bytes()), Part::Text(post)];
        self.log.error_with(&parts);
        result
    }

    /// Loads the table and starts the boot sequence.
    // Cold: runs once (measured: smaller).
    #[cold]
    fn start(&mut self) -> Result<(), Errno> {
        let errors = self.load(None, false)?;
        if self.table.0.entries.is_empty() {
            match self.mode() {
                Mode::Pid1 => self
                    .log
                    .error(text!("no entry can run; reaping orphans only")),
                // Every line broken: a failed start (exit 1, which systemd
                // and scripts see), not a clean end with nothing to run.
                Mode::SubInit if errors > 0 => {
                    self.log.error(text!("no entry can run"));
                    return Err(Errno::EINVAL);
                }
                Mode::SubInit => {}
            }
        }
        self.apply();
        let _ = self.reap();
        Ok(())
    }

    /// Reload on SIGHUP or `ctl reload`: a table with errors is rejected
    /// whole. Returns the number of errors (0: applied, or ignored while
    /// stopping).
    pub fn reload(&mut self, mut report: Option<Report<'_>>) -> u32 {
        // At every reload, refused or not: a control socket lost since the
        // start (or never bound) is made again, and the log files are
        // opened again (logrotate's postrotate is a `kill -HUP`, whatever
        // the table holds).
        self.control.refresh(&self.ep, &self.log);
        self.reopen_logs();
        // Before the spare buffer is touched: a stop keeps the table in force.
        if self.sup.is_stopping() {
            self.log
                .info(text!("reload ignored: foster is shutting down"));
            return 0;
        }
        // The spare buffer, about to be overwritten, holds the spans of the
        // entries an earlier reload removed: those still stopping lose them.
        self.sup.forget_removed_spans();
        let errors = self
            .load(report.as_mut().map(|r| &mut **r as Report<'_>), true)
            .unwrap_or(1);
        if errors != 0 {
            // Rejected: the parsed table is done with.
            self.table.release();
            return errors;
        }
        let short = self.apply();
        if short == 0 {
            self.log.info(text!("table reloaded"));
            return 0;
        }
        let mut why = Line::new();
        why.t(text!("reload rejected: no room for "))
            .u(short as u64)
            .t(text!(" more entries while old ones stop"));
        self.log.error_raw(why.as_bytes());
        if let Some(r) = report {
            r(why.as_bytes());
        }
        1
    }

    /// Opens every `log=PATH` file in use again, as daemons do on their
    /// postrotate signal: a file logrotate moved away (`a.log` to
    /// `a.log.1`) stops getting lines, a new one at the path gets the next.
    /// Only the sink changes: the pipe and the line being gathered stay, so
    /// no line is lost or written twice (what the pipe still holds goes to
    /// the new file). The same open as at a start (no symlink, appending,
    /// 0644), of the path of the entry in force (a `log=` changed by a
    /// reload while its entry did not run: the new one's, as its next start
    /// would). One that fails keeps the old file, with one line saying so.
    /// An entry removed by a reload and still stopping keeps its file: its
    /// spans may point into a table text since overwritten.
    // Cold: runs at reloads only.
    #[cold]
    fn reopen_logs(&mut self) {
        let Some(scratch) = self.scratch.as_deref_mut() else {
            return;
        };
        let src = self.src.current();
        for slot in 0..MAX_SLOTS as SlotId {
            let (Some(_), Some(s)) = (log_of(self.logs, slot), self.sup.slot(slot)) else {
                continue;
            };
            let entry = &s.entry;
            if entry.log != config_format::Log::File || s.removed() {
                continue;
            }
            let buf = &mut scratch.0.paths.log;
            let post = text!("; logging to the old file");
            let _ = log_pipe_for(&self.ep, self.logs, &self.log, src, slot, entry, buf, post);
        }
        scratch.release();
    }

    /// Hands the table just loaded to the supervisor and makes its source
    /// the current one. One path for the start (no slot yet: no name kept,
    /// nothing compared, room for every entry) and a reload. Returns how
    /// many entries found no room (old ones still stopping hold slots): then
    /// the table is refused whole, and the one in force stays.
    fn apply(&mut self) -> usize {
        let (old_src, new_src) = (&*self.src.current, &*self.src.spare);
        // BusyBox keeps a reloaded inittab line by process and tty
        // (each copy of a repeated line its own running one).
        let slots = self.sup.slots();
        self.table
            .0
            .keep_names(&|e: &Entry, taken: config_format::Taken| {
                let s = slots.iter().find(|s| {
                    !s.removed() && s.entry.same_line(old_src, e, new_src) && !taken(&s.entry.name)
                });
                s.map(|s| &s.entry.name)
            });
        let same = |a: &Entry, b: &Entry| a.same_as(old_src, b, new_src);
        let now = sys::now_ms();
        let short = self.sup.reload(&self.table.0, &same, now);
        if short == 0 {
            core::mem::swap(&mut self.src.current, &mut self.src.spare);
        }
        // The slots hold copies of the entries: until the next load, the
        // parsed table would only keep its pages resident.
        self.table.release();
        short
    }

    /// The loop. Returns once the supervisor has finished
    /// ([`Supervisor::finished`]): a sub-init's exit, PID 1's shutdown.
    fn run(&mut self) -> Outcome {
        // The control server's next deadline, as its last tick left it (no
        // client yet at the start; only events change the clients).
        let mut control = u64::MAX;
        loop {
            self.apply_actions();
            if let Some(outcome) = self.sup.finished() {
                return outcome;
            }
            let now = sys::now_ms();
            let deadline = self.sup.next_deadline().min(control);
            let timeout = match deadline {
                u64::MAX => -1,
                t => t.saturating_sub(now).min(i32::MAX as u64) as i32,
            };
            let n = sys::epoll_wait(&self.ep, self.events, timeout).unwrap_or(0);
            // By index: the handlers below borrow all of `self`. Bounded by
            // the buffer too (as `epoll_wait` is): the index checks fold.
            for i in 0..n.min(self.events.len()) {
                let Some(ev) = self.events.get(i) else { break };
                let (_, data) = sys::epoll_event_data(ev);
                let index = (data & TAG_INDEX) as usize;
                match data & !TAG_INDEX {
                    TAG_SIGNAL => self.on_signals(),
                    TAG_READY => self.on_ready(index),
                    TAG_LOG => self.on_log(index, false),
                    TAG_CONTROL => {
                        self.control.on_listener(&self.ep, &self.log, sys::now_ms());
                    }
                    TAG_CLIENT => self.on_client(index),
                    _ => {}
                }
            }
            let now = sys::now_ms();
            control = self.control.on_tick(&self.ep, now);
            self.sup.tick(now);
        }
    }

    /// A control client sent something: its request is answered, then it
    /// is closed.
    fn on_client(&mut self, index: usize) {
        if let Some((fd, len)) = self.control.read_client(&self.ep, index) {
            let now = sys::now_ms();
            crate::control::answer(self, fd, index, len, now);
            self.control.close_client(&self.ep, index);
        }
    }

    /// Reaps every exited child, carrying out the supervisor's actions after
    /// each one, so an orphan storm never overflows the action queue.
    /// Returns whether children are left.
    #[inline(never)]
    fn reap(&mut self) -> bool {
        let now = sys::now_ms();
        loop {
            match sys::wait4(-1, sys::WNOHANG) {
                Ok(Some((pid, status))) => {
                    // Whatever a slot's process (a `pidfile=` launcher too)
                    // left without a newline goes now, not glued to what
                    // the next one writes, nor lost when none comes.
                    let owner = self.sup.reaped(pid, status, now);
                    if let Some(i) = owner {
                        self.on_log(i, true);
                    }
                    self.apply_actions();
                }
                Ok(None) => return true,
                Err(Errno::ECHILD) => {
                    self.sup.no_children_left(now);
                    return false;
                }
                Err(_) => return true,
            }
        }
    }

    fn on_signals(&mut self) {
        while let Ok(Some(info)) = sys::read_signal(&self.sigfd) {
            match info.signo {
                SIGCHLD => {
                    self.reap();
                }
                sig => {
                    let now = sys::now_ms();
                    // Not one foster raised itself (SIGPIPE for its own line
                    // on a closed stderr): logging it would raise the next,
                    // for ever.
                    let report = self.verbose && info.pid != sys::getpid();
                    self.on_signal(sig, report, now);
                }
            }
        }
    }

    /// A signal other than SIGCHLD; `report`: it is logged (`-v`).
    fn on_signal(&mut self, sig: u8, report: bool, now: u64) {
        if report {
            let mut l = Line::new();
            signals::put_name(l.t(text!("got ")), sig);
            self.log.info_raw(l.as_bytes());
        }
        // SIGHUP reloads in both modes (one call for both).
        if sig == SIGHUP {
            self.reload(None);
            return;
        }
        match self.mode() {
            Mode::SubInit => {
                // Keeps the code of an `on-exit=exit:CODE` entry that ended.
                if sig == SIGTERM || sig == SIGINT {
                    let code = self.sup.exit_code();
                    self.sup.shutdown(Outcome::Exit(code), now)
                }
            }
            Mode::Pid1 => crate::pid1::on_signal(self, sig, now),
        }
    }

    pub fn supervisor_mut(&mut self) -> &mut Supervisor {
        &mut self.sup
    }

    // Not inlined (measured: smaller).
    #[inline(never)]
    fn on_ready(&mut self, slot: usize) {
        let Some(&ReadyPipe { open: true, fd }) = self.ready.get(slot) else {
            return;
        };
        // Only a newline counts, not what comes before it: a small buffer
        // (less to zero), one read per wakeup (epoll is level-triggered:
        // what is left wakes it again), so a service flooding its fd
        // cannot keep foster from the rest. A newline says ready; end of
        // file or an error ends the pipe too.
        let mut buf = [0u8; 16];
        let ready = match sys::read(fd, &mut buf) {
            Err(Errno::EAGAIN) => return,
            // Only what was read can hold a newline: the rest is zeros.
            Ok(n) if n > 0 && !config_format::has_byte(&buf, b'\n') => return,
            r => r.is_ok_and(|n| n > 0),
        };
        close_ready(&self.ep, self.ready, slot);
        if ready {
            self.sup.ready(slot as SlotId, sys::now_ms());
        }
    }

    /// Forwards what the slot's service wrote. `end`: its process is gone,
    /// so a last line without its newline goes too, not glued to the next
    /// run's first.
    #[inline(never)]
    fn on_log(&mut self, slot: usize, end: bool) {
        let Some(pipe) = log_of(self.logs, slot as SlotId) else {
            return;
        };
        let mut chunk = [core::mem::MaybeUninit::uninit(); LOG_CHUNK];
        // Bounded: a chatty service cannot keep foster from other events.
        // At its end, up to a pipe's default size is read out at once.
        let mut empty = false;
        let reads = if end {
            LOG_READS_AT_END
        } else {
            LOG_READS_PER_EVENT
        };
        for _ in 0..reads {
            // End of file or an error: nothing waiting either.
            let data = sys::read_some(pipe.read, &mut chunk);
            for &b in data {
                let newline = b == b'\n';
                if newline || usize::from(pipe.len) == LOG_LINE {
                    emit_log_line(pipe, &self.sup, &self.log);
                }
                if let Some(p) = pipe
                    .partial
                    .get_mut(usize::from(pipe.len))
                    .filter(|_| !newline)
                {
                    *p = b;
                    pipe.len += 1;
                }
            }
            // A short read (none at all too): nothing more is waiting.
            empty = data.len() < LOG_CHUNK;
            if empty {
                break;
            }
        }
        // The last line, once nothing follows it (a pipe with more left,
        // enlarged past the default, goes on at its next event).
        if end && empty && pipe.len > 0 {
            emit_log_line(pipe, &self.sup, &self.log);
        }
    }

    /// Carries out queued actions until the queue is empty.
    fn apply_actions(&mut self) {
        // A burst (a reload of a full table: a stop for every old entry, a
        // start for every new one) can overflow the supervisor's queue. What
        // did not fit is still due: once the queue is drained the supervisor
        // is asked again, instead of at the next event, which may be seconds
        // away. Bounded: each round carries out a full queue (counted in a
        // `u32`: no REX prefix).
        for _ in 0..MAX_SLOTS as u32 {
            self.drain_actions();
            // Reset as read: each round sees what the last one dropped.
            if core::mem::take(&mut self.sup.dropped_actions) == 0 {
                break;
            }
            self.sup.tick(sys::now_ms());
        }
    }

    #[inline]
    fn drain_actions(&mut self) {
        while let Some(action) = self.sup.poll_action() {
            match action {
                Action::Spawn { slot } => self.spawn(slot),
                Action::Signal { pid, sig, hangup } => signal_service(pid, sig, hangup),
                Action::ReadPidfile { slot } => self.read_pidfile(slot),
                Action::Release { slot } => close_ready(&self.ep, self.ready, slot as usize),
                Action::Forget { slot } => {
                    close_ready(&self.ep, self.ready, slot as usize);
                    drop_log(&self.ep, self.logs, slot);
                }
                Action::SignalAll { sig } => {
                    // A sub-init with no children has no descendants
                    // (orphans come to foster): its sweep, a walk of all
                    // /proc, would find nobody. PID 1's one kill(-1) also
                    // reaches processes that are not its descendants
                    // (nsenter'd ones, the kernel's usermode helpers).
                    let children = self.reap();
                    if children || self.mode() == Mode::Pid1 {
                        signal_all(sig, self.mode());
                        self.reap();
                    }
                }
                Action::Note(ref note) => self.note(note),
            }
        }
    }

    /// Renders a note: `[PRE][NAME]TEXT[NUMBER][DETAIL]`, the text read
    /// from [`NOTE_TEXTS`] by the note's kind, the rest from its fields.
    #[inline(never)]
    fn note(&self, note: &Note) {
        let sup = &self.sup;
        let name = |id: SlotId| slot_name(sup, id);
        let verbose = self.verbose;
        // The note's place in NOTE_TEXTS: its kind, or a shutdown's word.
        let mut piece = note_kind(note);
        let mut error = ERROR_NOTES & (1 << piece) != 0;
        let mut l = Line::new();
        match *note {
            Note::SpawnFailed { .. } => {
                l.t(text!("unable to start "));
            }
            Note::Exited { status, quiet, .. } => {
                if quiet && !verbose {
                    return;
                }
                error = !status.success();
            }
            Note::OrphanReaped { .. } if !verbose => return,
            // The result line the QEMU runner reads from the console.
            Note::ExitStatus { .. } => {
                // Written as it would be to /dev/kmsg: no second line buffer.
                l.t(text!("<6>foster: exit-status "));
            }
            Note::ShutdownBegins { outcome } => piece = SHUTDOWN_TEXTS + outcome_index(outcome),
            _ => {}
        }
        if let Some(id) = note_slot(note) {
            l.bytes(name(id));
        }
        l.piece(NOTE_TEXTS, piece, b'|');
        let n = note_number(note);
        if n >= 0 {
            l.i(n);
        }
        match *note {
            Note::SpawnFailed { errno, .. } => {
                l.errno(Errno(errno));
            }
            Note::Exited {
                status, restart_in, ..
            } => {
                describe_exit(&mut l, status);
                if let Some(ms) = restart_in {
                    l.t(text!("; restarting in "));
                    duration(&mut l, ms);
                }
            }
            Note::Adopted { .. } => {
                l.t(text!(" adopted from its pidfile"));
            }
            Note::Blocked { on, .. } => {
                l.bytes(name(on)).t(text!("` will not come up"));
            }
            Note::OrphanReaped { status, .. } => describe_exit(&mut l, status),
            Note::ExitStatus { .. } => {
                l.byte(b'\n');
                return self.log.kmsg_marker(l.as_bytes());
            }
            _ => {}
        }
        self.log.raw(error, l.as_bytes());
    }

    // Cold: only `pidfile=` entries read one (measured: smaller).
    #[cold]
    fn read_pidfile(&mut self, slot: SlotId) {
        let now = sys::now_ms();
        let Some(s) = self.sup.slot(slot) else {
            return;
        };
        let span = s.entry.text(Text::Pidfile);
        // A removed entry's spans are in the table before the last reload:
        // the spare buffer now (see `Runtime::reload`).
        let src = self.src.get(s.removed());
        let mut path: CValue = [0; config_format::MAX_VALUE + 1];
        let read = match unquoted_cstr(span, src, &mut path) {
            Some(p) => pidfile_pid(p, &mut self.sup, now),
            None => PidfileRead::Missing,
        };
        self.sup.pidfile_read(slot, read, now);
    }

    /// PID 1's `restart` entry: exec its command in place of foster (the pid
    /// stays 1). Returns only if the exec failed.
    #[inline]
    pub fn exec_in_place(&mut self, slot: SlotId) {
        // The reserved scratch buffers: no 8 KB of argv and environment (nor
        // the paths below) on PID 1's stack at the very end (not put back:
        // nothing spawns after).
        let Some(Paged(Scratch { argv, env, paths })) = self.scratch.take() else {
            return;
        };
        let Some(entry) = self.sup.slot(slot).map(|s| &s.entry) else {
            return;
        };
        // An `env=` value that does not fit is only left out here: the
        // exec still beats a dead PID 1 (a command too long never gets
        // past the table's checks).
        let src = self.src.current();
        let _ = self.command(entry, src, argv, env, &mut paths.user);
        // As BusyBox: the entry's terminal is its stdio. With the entry's
        // `env=`, `dir=` and `umask=`, as any start of it. A failure is only
        // reported: the exec still beats a dead PID 1.
        if let Some(dir) = unquoted_cstr(entry.text(Text::Dir), src, &mut paths.dir) {
            if let Err(e) = sys::chdir(dir) {
                self.log
                    .unable(text!("change directory to "), dir.to_bytes(), e);
            }
        }
        if let Some(mask) = entry.umask() {
            sys::umask(u32::from(mask));
        }
        if let Some(tty) = tty_path(entry.text(Text::Tty).get(src), &mut paths.tty) {
            if let Err(e) = spawn::stdio_on_tty(tty) {
                self.log.unable(text!("open "), tty.to_bytes(), e);
            }
        }
        signals::reset_for_child(SigSet::EMPTY, SigSet::EMPTY);
        let e = spawn::execvp(argv, env.envp(), env.path());
        let _ = sys::sigprocmask(sys::SIG_BLOCK, signals::catchable());
        signals::ignore_real_time();
        let prog = argv.word(0).unwrap_or(b"?");
        self.log.unable(text!("exec the restart entry "), prog, e);
    }

    /// `env` set to foster's own environment, with what is missing of the
    /// defaults (PID 1's are BusyBox init's: console shells and scripts
    /// expect them; a kernel's or caller's value stays).
    fn base_env(&self, env: &mut Env) {
        env.clear();
        for kv in self.args.env_entries() {
            env.set(kv.to_bytes());
        }
        env.set_missing(spawn::PATH_VAR);
        if self.mode() == Mode::Pid1 {
            // BusyBox init's console_init: a console that is no Linux VT (a
            // serial port, hvc, a pty) gets vt102 for no TERM or the
            // kernel's default `linux`, which only a VT understands (a VT
            // gets `linux` below when none was passed).
            if env.get(b"TERM").is_none_or(|t| t == b"linux") && !sys::is_vt(0) {
                env.set(b"TERM=vt102");
            }
            let mut rest = Some(PID1_ENV);
            while let Some(kv) = crate::bytes::next_piece(&mut rest, 0) {
                env.set_missing(kv);
            }
        }
    }

    /// The entry's command into `argv`, and into `env` its environment:
    /// [`Runtime::base_env`], `FOSTER_SHUTDOWN` for a shutdown entry, then
    /// the entry's `env=` values. One copy for a start and for PID 1's
    /// restart entry. E2BIG also for an `env=` value that does not fit
    /// (foster's own environment took the room). `src`: the current table
    /// source, the caller's too (one pointer, computed once). `buf`: room to
    /// unquote a value in (one of the paths' buffers, filled only after).
    #[inline(never)]
    fn command(
        &self,
        entry: &Entry,
        src: &Source,
        argv: &mut Argv,
        env: &mut Env,
        buf: &mut CValue,
    ) -> Result<(), Errno> {
        if entry.argv(src, argv).is_err() {
            return Err(Errno::E2BIG);
        }
        self.base_env(env);
        if entry.kind == Kind::Shutdown {
            if let Some(o) = self.sup.shutdown_outcome() {
                // A sub-init's stop ends foster only, not the machine: an
                // exit is PID 1's poweroff. A restart of init reboots.
                let o = match o {
                    Outcome::Exit(_) if self.mode() == Mode::Pid1 => Outcome::Poweroff,
                    Outcome::ExecRestart(_) => Outcome::Reboot,
                    o => o,
                };
                if let Some(kv) = crate::bytes::nth_piece(SHUTDOWN_ENV, b'|', outcome_index(o)) {
                    env.set(kv);
                }
            }
        }
        // Each value unquoted (at most the longest value the table allows).
        for span in &entry.env {
            if unquoted_cstr(*span, src, buf).is_some_and(|kv| !env.set(kv.to_bytes())) {
                return Err(Errno::E2BIG);
            }
        }
        Ok(())
    }

    fn spawn(&mut self, slot: SlotId) {
        let now = sys::now_ms();
        if !self.sup.should_spawn(slot) {
            return;
        }
        let result = self.spawn_entry(slot);
        self.sup.spawned(slot, result.map_err(|e| e.0), now);
    }

    // Not inlined (measured: smaller; its caller is inlined instead).
    #[inline(never)]
    fn spawn_entry(&mut self, slot: SlotId) -> Result<Pid, Errno> {
        let Some(scratch) = self.scratch.take() else {
            return Err(Errno::EBUSY);
        };
        let Scratch { argv, env, paths } = &mut scratch.0;
        let result = self.spawn_with(slot, argv, env, paths);
        scratch.release();
        self.scratch = Some(scratch);
        result
    }

    // Not inlined (measured: smaller).
    #[inline(never)]
    fn spawn_with(
        &mut self,
        slot: SlotId,
        argv: &mut Argv,
        env: &mut Env,
        buf: &mut SpawnPaths,
    ) -> Result<Pid, Errno> {
        // The entry in place in its slot, not a copy: only the pipes' cells
        // are changed below, the supervisor is only read.
        let entry = &self.sup.slot(slot).ok_or(Errno::EINVAL)?.entry;
        // An `env=` value that does not fit fails the start, as a command
        // too long does: the entry never runs without it.
        let src = self.src.current();
        self.command(entry, src, argv, env, &mut buf.user)?;
        let SpawnPaths {
            tty: tty_buf,
            dir: dir_buf,
            user: user_buf,
            group: group_buf,
            log: log_buf,
        } = buf;
        let stdin_null = entry.log == config_format::Log::Null;
        // Owned here until the fork: /dev/null for `log=null` (the write end
        // of the readiness pipe is closed after it too, from `pass_fd`).
        let mut null = None;
        // Each field stored in place as it is found (measured: smaller than
        // a struct built from locals or from a literal with calls in it),
        // in this order: the paths, the log pipe, then the readiness pipe.
        let mut service = Service {
            tty: None,
            stdin_null,
            output: Output::Inherit,
            pass_fd: None,
            dir: None,
            umask: entry.umask().map(u32::from),
            user: None,
            group: None,
            ask_first: entry.kind == Kind::Askfirst,
        };
        service.tty = match entry.text(Text::Tty) {
            // A tty that makes no path (an inittab id past 255 bytes or with
            // a quote in it; BusyBox fails to open it) fails the start: the
            // entry never runs on foster's own stdio instead.
            span if span.len > 0 => Some(tty_path(span.get(src), tty_buf).ok_or(Errno::EINVAL)?),
            // /dev/console cannot be a controlling terminal: a console shell
            // gets the real device behind it, so job control works. Not in
            // a container: sysfs names the host's console there.
            _ if crate::supervisor::on_terminal(entry)
                && self.mode() == Mode::Pid1
                && !crate::pid1::in_container() =>
            {
                // The list read where the dir goes next.
                active_console(tty_buf, dir_buf)
            }
            _ => None,
        };
        service.dir = unquoted_cstr(entry.text(Text::Dir), src, dir_buf);
        service.user = unquoted_cstr(entry.text(Text::User), src, user_buf).map(CStr::to_bytes);
        service.group = unquoted_cstr(entry.text(Text::Group), src, group_buf).map(CStr::to_bytes);
        let piped = match entry.log {
            config_format::Log::Kmsg | config_format::Log::File => {
                let post = text!("; logging to the console");
                log_pipe_for(
                    &self.ep, self.logs, &self.log, src, slot, entry, log_buf, post,
                )
            }
            config_format::Log::Console | config_format::Log::Null => None,
        };
        // No log pipe (none asked for, or it failed): the slot's old one,
        // if any, goes.
        service.output = match piped {
            Some(fd) => Some(fd),
            None => {
                drop_log(&self.ep, self.logs, slot);
                if stdin_null {
                    null = sys::open_opt(c"/dev/null", sys::O_WRONLY | sys::O_CLOEXEC, 0);
                }
                null.as_ref().map(Fd::raw)
            }
        }
        .map_or(Output::Inherit, Output::Fd);
        // Readiness: a fresh pipe per start; the child gets the write end
        // as fd N. Without one the service could never be ready: the
        // start fails.
        close_ready(&self.ep, self.ready, slot as usize);
        if let Some(n) = entry.ready_fd() {
            // Closed by `close_ready`.
            let cell = self.ready.get_mut(slot as usize).ok_or(Errno::EINVAL)?;
            let mut w = 0;
            reader_pipe(&self.ep, TAG_READY | slot as u64, &mut cell.fd, &mut w)?;
            cell.open = true;
            service.pass_fd = Some((w, n as sys::RawFd));
        }
        let env: &Env = env;
        let setup = ChildSetup {
            name: entry.name.as_bytes(),
            exec: Exec::Table(argv),
            envp: env.envp(),
            path: env.path(),
            session: Session::New,
            keep_ignored: SigSet::EMPTY,
            mask: SigSet::EMPTY,
            service: Some(&service),
        };
        let result = spawn::spawn(&setup);
        if let Some((w, _)) = service.pass_fd {
            drop(Fd::from_raw(w));
        }
        result
    }
}

/// The write end of the log pipe of `slot` for its `entry` (`log=kmsg` or
/// `log=PATH`, a span of `src`, unquoted into `path`), opened or reused,
/// with a new sink: at a start, and at a reload for a file in use (an open
/// pipe keeps the line it is gathering). `None`: it failed, reported with
/// `post` saying what is done instead, and the cell is as it was (a start
/// closes it: the console; a reload keeps the old file).
/// Given the runtime's parts, not the runtime: the entry is borrowed from
/// its slot while the pipe cells change (hence the arguments, over
/// clippy's count: the failure returned for the callers to report
/// measured 144 bytes bigger).
#[allow(clippy::too_many_arguments)]
fn log_pipe_for(
    ep: &Fd,
    logs: &mut LogPipes,
    log: &Log,
    src: &Source,
    slot: SlotId,
    entry: &Entry,
    path: &mut CValue,
    post: Packed,
) -> Option<sys::RawFd> {
    let name = &entry.name;
    // `log=kmsg` or `log=PATH` (the caller's match). The sink is opened at
    // every start, so a path changed by a reload takes effect with the
    // next start (a file rotated away is opened again at each reload too:
    // see `Runtime::reopen_logs`).
    let kmsg = entry.log == config_format::Log::Kmsg;
    let target = match kmsg {
        true => Some(c"/dev/kmsg"),
        false => unquoted_cstr(entry.text(Text::Log), src, path),
    };
    // One report for either failure (see `log_failed`).
    let (what, target, e) = 'failed: {
        let Some(target) = target else {
            break 'failed (text!("open its log file"), &b""[..], Errno::ENAMETOOLONG);
        };
        let sink = match sys::open(target, LOG_FLAGS, LOG_MODE) {
            Ok(fd) => fd,
            Err(e) => break 'failed (text!("open "), target.to_bytes(), e),
        };
        // The slot's own cell (its pipe from its previous start, if open).
        let open = logs.open.get_mut(slot as usize)?;
        let p = logs.cells.get_mut(slot as usize)?;
        if *open {
            // The previous start's sink is closed.
            drop(Fd::from_raw(p.sink));
        } else {
            if let Err(e) = reader_pipe(ep, TAG_LOG | slot as u64, &mut p.read, &mut p.write) {
                break 'failed (text!("create its log pipe"), b"", e);
            }
            *open = true;
            p.slot = slot;
            p.len = 0;
            p.failing = false;
        }
        p.sink = sink.into_raw();
        p.kmsg = kmsg;
        return Some(p.write);
    };
    log_failed(log, name, what, target, e, post);
    None
}

/// How a log sink is opened, at a start and at a reload alike. Not through
/// a symlink: a service's user could plant one at its log path and have
/// root append to any file (or open a device). Appending: a file truncated
/// under foster (logrotate's copytruncate) is written from its new end.
const LOG_FLAGS: u32 = sys::O_WRONLY
    | sys::O_CREAT
    | sys::O_APPEND
    | sys::O_CLOEXEC
    | sys::O_NONBLOCK
    | sys::O_NOFOLLOW;
/// A log file's mode when foster creates it (less foster's umask).
const LOG_MODE: u32 = 0o644;

/// `NAME: unable to WHAT TARGET: ERRNO POST` (POST: what is done instead).
fn log_failed(
    log: &Log,
    name: &config_format::Name,
    what: Packed,
    target: &[u8],
    e: Errno,
    post: Packed,
) {
    let parts = [
        Part::Raw(name.as_bytes()),
        Part::Text(text!(": unable to ")),
        Part::Text(what),
        Part::Raw(target),
        Part::Errno(e),
        Part::Text(post),
    ];
    log.error_with(&parts);
}

/// Closes the log pipe of `slot` and its sink, if it has one.
#[inline(never)]
fn drop_log(ep: &Fd, logs: &mut LogPipes, slot: SlotId) {
    let i = slot as usize;
    if let (Some(open), Some(p)) = (logs.open.get_mut(i), logs.cells.get(i)) {
        // Written only when set: a start without a log pipe leaves the
        // flags' page unwritten (see `Occasional`).
        if *open {
            *open = false;
            unwatch(ep, p.read);
            drop(Fd::from_raw(p.write));
            drop(Fd::from_raw(p.sink));
        }
    }
}

/// Closes the readiness pipe of `slot`, if open.
#[inline(never)]
fn close_ready(ep: &Fd, ready: &mut [ReadyPipe], slot: usize) {
    if let Some(p) = ready.get_mut(slot).filter(|p| p.open) {
        p.open = false;
        unwatch(ep, p.fd);
    }
}

/// Takes an fd foster owns out of `ep`, then closes it (epoll forgets an fd
/// only once every copy of its open file is closed).
#[inline(never)]
pub fn unwatch(ep: &Fd, fd: sys::RawFd) {
    let _ = sys::epoll_del(ep, fd);
    drop(Fd::from_raw(fd));
}

/// The name of a slot's entry (`?` for none).
#[inline(never)]
fn slot_name(sup: &Supervisor, id: SlotId) -> &[u8] {
    sup.slot(id).map_or(&b"?"[..], |s| s.name().as_bytes())
}

/// The open log pipe of `slot`, if it has one (inlined: a bounds check and a
/// flag, smaller than a call).
#[inline]
fn log_of(logs: &mut LogPipes, slot: SlotId) -> Option<&mut LogPipe> {
    // Slot ids are below MAX_SLOTS: the remainder changes none, it only
    // spares the bounds checks.
    let i = usize::from(slot) % MAX_SLOTS;
    match logs.open.get(i) {
        Some(true) => logs.cells.get_mut(i),
        _ => None,
    }
}

/// A pipe whose read end (foster's) is non-blocking and whose write end (the
/// child's stdout or readiness fd) blocks: O_NONBLOCK lives in the shared
/// open file description, and a child whose stdout says EAGAIN fails.
/// The read end is watched in `ep` under `data`; both ends are owned by the
/// caller from `*read` and `*write` (out-parameters: a result holding an fd
/// or the pair is packed and unpacked at every step), set only on success.
#[inline(never)]
fn reader_pipe(
    ep: &Fd,
    data: u64,
    read: &mut sys::RawFd,
    write: &mut sys::RawFd,
) -> Result<(), Errno> {
    let (r, w) = sys::pipe(0)?;
    // Cannot fail on a pipe end just made (F_SETFL refuses a bad fd, or
    // O_APPEND/O_DIRECT changes, neither here): no error path to carry.
    let _ = sys::fcntl(r.raw(), sys::F_SETFL, sys::O_NONBLOCK as usize);
    sys::epoll_add(ep, r.raw(), sys::EPOLLIN, data)?;
    *read = r.into_raw();
    *write = w.into_raw();
    Ok(())
}

#[inline(never)]
fn emit_log_line(pipe: &mut LogPipe, sup: &Supervisor, log: &Log) {
    let name = slot_name(sup, pipe.slot);
    let mut l = Line::new();
    if pipe.kmsg {
        l.t(text!("<6>"));
    }
    l.bytes(name)
        .t(text!(": "))
        .bytes(pipe.partial.get(..usize::from(pipe.len)).unwrap_or(&[]));
    pipe.len = 0;
    // With its newline (the text holds none). A full disk, a full FIFO:
    // the line is dropped, as the next ones will be.
    l.flush(pipe.sink);
    let failed = l.failed();
    if let (Some(e), false) = (failed, pipe.failing) {
        log.unable(text!("write the log of "), name, e);
    }
    pipe.failing = failed.is_some();
}

/// Signals a service: its process group first (it ran `setsid`), so helpers
/// it started go too; the process alone when it leads no group. SIGHUP
/// follows when `hangup`, then SIGCONT (not after a SIGKILL or a SIGCONT):
/// a stopped service must wake up to act on the signal. One loop for the
/// three, a byte each in one word, lowest first (a 0 byte: no signal).
fn signal_service(pid: Pid, sig: u8, hangup: bool) {
    if pid <= 0 {
        return;
    }
    let cont = if sig == SIGKILL || sig == SIGCONT {
        0
    } else {
        SIGCONT
    };
    let hup = if hangup { SIGHUP } else { 0 };
    let mut list = u32::from(sig) | u32::from(hup) << 8 | u32::from(cont) << 16;
    while list != 0 {
        let s = list as u8;
        list >>= 8;
        if s != 0 && sys::kill(-pid, s).is_err() {
            let _ = sys::kill(pid, s);
        }
    }
}

/// The PRE and POST of a failed load's report, by the failure (unreadable,
/// errors) and whether the running table is kept (a reload) or not.
const LOAD_FAILED: [Packed; 8] = [
    text!(""),
    text!(""),
    text!("reload: "),
    text!("; keeping the running table"),
    text!(""),
    text!(" error(s); their lines skipped, running the rest"),
    text!("reload rejected: "),
    text!(" error(s); keeping the running table"),
];

/// PID 1 signals every process; a sub-init only its own descendants (those
/// of an adopted orphan too, before they come to foster in their turn).
/// SIGCONT follows in the same sweep (one walk of /proc, not two): a
/// stopped process must wake up to act on the signal.
// Cold: shutdown only (measured: smaller).
#[cold]
fn signal_all(sig: u8, mode: Mode) {
    // Their groups too, so grandchildren that still have a parent go.
    let _ = reaper::signal_all(sig, mode == Mode::Pid1, true, sig != SIGKILL);
}

/// The text of each kind of [`Note`], in the order of its variants (the
/// name goes before, a number after); then, from [`SHUTDOWN_TEXTS`], the
/// shutdown's word for each [`Outcome`], in the order of its variants.
const NOTE_TEXTS: Packed = text!(
    ": started, pid |: ||: daemon pid \
    |: no live child pid in its pidfile after the launcher exited|: ready\
    |: did not stop in time; sending SIGKILL to pid |: not started: `after=|reaped orphan \
    | ||processes left after SIGTERM; sending SIGKILL|nothing left to run; reaping orphans\
    |stopping|powering off|rebooting|halting|restarting init"
);
/// Where the shutdown words start in [`NOTE_TEXTS`]: after one text per
/// kind of [`Note`].
const SHUTDOWN_TEXTS: usize = NOTE_KINDS;
/// `FOSTER_SHUTDOWN` for each [`Outcome`], in the order of its variants
/// (but the last).
const SHUTDOWN_ENV: &[u8] = b"FOSTER_SHUTDOWN=exit|FOSTER_SHUTDOWN=poweroff\
    |FOSTER_SHUTDOWN=reboot|FOSTER_SHUTDOWN=halt";
/// The kinds of [`Note`] logged as errors (an exit: when it failed), a bit
/// per kind.
const ERROR_NOTES: u32 =
    1 << kind::SPAWN_FAILED | 1 << kind::PIDFILE_MISSING | 1 << kind::KILLED | 1 << kind::BLOCKED;

/// The number of each [`Note`] variant, in declaration order: its text's
/// place in [`NOTE_TEXTS`] and its bit in [`ERROR_NOTES`].
mod kind {
    pub const STARTED: usize = 0;
    pub const SPAWN_FAILED: usize = 1;
    pub const EXITED: usize = 2;
    pub const ADOPTED: usize = 3;
    pub const PIDFILE_MISSING: usize = 4;
    pub const READY: usize = 5;
    pub const KILLED: usize = 6;
    pub const BLOCKED: usize = 7;
    pub const ORPHAN_REAPED: usize = 8;
    pub const EXIT_STATUS: usize = 9;
    pub const SHUTDOWN_BEGINS: usize = 10;
    pub const STRAGGLERS_KILLED: usize = 11;
    pub const NOTHING_LEFT: usize = 12;
}
/// How many kinds of [`Note`] there are.
const NOTE_KINDS: usize = kind::NOTHING_LEFT + 1;

/// The note's variant, numbered in declaration order.
#[inline(never)]
fn note_kind(note: &Note) -> usize {
    match note {
        Note::Started { .. } => kind::STARTED,
        Note::SpawnFailed { .. } => kind::SPAWN_FAILED,
        Note::Exited { .. } => kind::EXITED,
        Note::Adopted { .. } => kind::ADOPTED,
        Note::PidfileMissing { .. } => kind::PIDFILE_MISSING,
        Note::Ready { .. } => kind::READY,
        Note::Killed { .. } => kind::KILLED,
        Note::Blocked { .. } => kind::BLOCKED,
        Note::OrphanReaped { .. } => kind::ORPHAN_REAPED,
        Note::ExitStatus { .. } => kind::EXIT_STATUS,
        Note::ShutdownBegins { .. } => kind::SHUTDOWN_BEGINS,
        Note::StragglersKilled => kind::STRAGGLERS_KILLED,
        Note::NothingLeft => kind::NOTHING_LEFT,
    }
}

fn outcome_index(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Exit(_) => 0,
        Outcome::Poweroff => 1,
        Outcome::Reboot => 2,
        Outcome::Halt => 3,
        Outcome::ExecRestart(_) => 4,
    }
}

/// The slot whose name a note starts with.
fn note_slot(note: &Note) -> Option<SlotId> {
    match *note {
        Note::Started { slot, .. }
        | Note::SpawnFailed { slot, .. }
        | Note::Exited { slot, .. }
        | Note::Adopted { slot, .. }
        | Note::PidfileMissing { slot }
        | Note::Ready { slot }
        | Note::Killed { slot, .. }
        | Note::Blocked { slot, .. }
        | Note::ExitStatus { slot, .. } => Some(slot),
        Note::OrphanReaped { .. }
        | Note::ShutdownBegins { .. }
        | Note::StragglersKilled
        | Note::NothingLeft => None,
    }
}

/// The number that follows a note's text (a pid, an exit code: never
/// negative), or -1 for none.
#[inline(never)]
fn note_number(note: &Note) -> i64 {
    match *note {
        Note::Started { pid, .. }
        | Note::Adopted { pid, .. }
        | Note::Killed { pid, .. }
        | Note::OrphanReaped { pid, .. } => pid.into(),
        Note::ExitStatus { code, .. } => code.into(),
        _ => -1,
    }
}

#[inline(never)]
fn describe_exit(l: &mut Line, status: ExitStatus) {
    match status {
        ExitStatus::Code(c) => {
            l.t(text!(": exited with status ")).u(c as u64);
        }
        ExitStatus::Signal(s) => {
            signals::put_name(l.t(text!(": killed by ")), s);
        }
    }
}

/// `ms` as whole seconds when it is a whole number of them, else as ms
/// (never 0, which would read `0 s`: a restart waits at least 1 ms).
fn duration(l: &mut Line, ms: core::num::NonZeroU64) {
    let ms = ms.get();
    if !ms.is_multiple_of(1000) {
        l.u(ms).t(text!(" ms"));
    } else {
        l.u(ms / 1000).t(text!(" s"));
    }
}

/// An option's value (a span of the table source `src`) unquoted into
/// `buf`, NUL-terminated; `None` when the option is absent or its value
/// does not fit. One copy for every value, those used as bytes too (a
/// table line holds no NUL: the parser refuses one).
#[inline(never)]
fn unquoted_cstr<'b>(span: Span, src: &Source, buf: &'b mut CValue) -> Option<&'b CStr> {
    if span.len == 0 {
        return None;
    }
    let value: &mut Value = buf.first_chunk_mut()?;
    let n = config_format::unquote(span.get(src), value)?;
    // `unquote` gives at most MAX_VALUE bytes: said, the checks below fold.
    let n = n.min(config_format::MAX_VALUE);
    *buf.get_mut(n)? = 0;
    sys::cstr(buf.get(..=n)?)
}

/// Bytes [`tty_path`] needs: `/dev/`, the longest value, a NUL.
const TTY_BUF: usize = b"/dev/".len() + config_format::MAX_VALUE + 1;

/// A tty option or inittab id: `/dev/` is prepended to a bare name.
#[inline(never)]
fn tty_path<'b>(raw: &[u8], buf: &'b mut [u8; TTY_BUF]) -> Option<&'b CStr> {
    const DEV: usize = b"/dev/".len();
    // The name goes after room for the prefix.
    let n = config_format::unquote(raw, buf.get_mut(DEV..DEV + config_format::MAX_VALUE)?)?;
    if n == 0 {
        return None;
    }
    let end = DEV + n;
    *buf.get_mut(end)? = 0;
    let start = match buf.get(DEV) {
        Some(b'/') => DEV,
        _ => {
            *buf.first_chunk_mut()? = *b"/dev/";
            0
        }
    };
    sys::cstr(buf.get(start..=end)?)
}

/// The device behind /dev/console (the last one listed in
/// /sys/class/tty/console/active, the one the kernel prints to), as `/dev/NAME`
/// in `buf`. The list is read into `scratch` (at most 96 bytes of it): a
/// spare buffer of the caller's, not one more to zero on the stack.
// Not inlined (measured: smaller).
#[inline(never)]
fn active_console<'b>(buf: &'b mut [u8; TTY_BUF], scratch: &mut CValue) -> Option<&'b CStr> {
    let text = scratch.get_mut(..96)?;
    let n = sys::read_file(c"/sys/class/tty/console/active", text).ok()?;
    // Names are separated by blanks, the list ends with a newline.
    let name = text
        .get(..n)?
        .trim_ascii_end()
        .rsplit(|&b| b == b' ')
        .next()?;
    tty_path(name, buf)
}

/// Reads a pid from a pidfile and checks whether it is foster's live child.
/// A daemon that died before foster looked is reaped right here: `sup`
/// learns its status first, then (from the caller) that it is gone.
fn pidfile_pid(path: &CStr, sup: &mut Supervisor, now: u64) -> PidfileRead {
    let mut buf = [0u8; 32];
    let n = match sys::read_file_nofollow(path, &mut buf) {
        Ok(n) => n,
        Err(_) => return PidfileRead::Missing,
    };
    let text = buf.get(..n).unwrap_or(&[]).trim_ascii_start();
    let mut pid: Pid = 0;
    for &d in text.iter().take_while(|b| b.is_ascii_digit()) {
        // Past the largest pid: no pid (checked at each digit, so that
        // it never overflows).
        match pid
            .checked_mul(10)
            .and_then(|p| p.checked_add(Pid::from(d - b'0')))
        {
            Some(p) => pid = p,
            None => return PidfileRead::Missing,
        }
    }
    // No digits leave 0.
    if pid <= 1 {
        return PidfileRead::Missing;
    }
    // wait4 on one pid with WNOHANG: 0 means a live child of ours.
    match sys::wait4(pid, sys::WNOHANG) {
        // The pidfile's text is done with: its buffer takes the digits.
        Ok(None)
            if buf
                .first_chunk_mut()
                .is_some_and(|d| may_claim(path, pid, d)) =>
        {
            PidfileRead::Child(pid)
        }
        Ok(None) => PidfileRead::Missing,
        Ok(Some((_, status))) => {
            sup.reaped(pid, status, now);
            PidfileRead::NotAChild(pid)
        }
        Err(_) => PidfileRead::NotAChild(pid),
    }
}

/// Whether a pidfile may hand foster's child `pid` to its entry: one
/// written by root or foster's uid may, one written by another user only
/// when that user owns `pid` (as systemd refuses a foreign pid from a
/// pidfile not owned by root): else a `user=` daemon could have its stop
/// kill any orphan foster adopted. /proc/PID's owner is the process's
/// effective uid (an undumpable process's too). `digits`: room for the
/// pid's digits, a buffer of the caller's (one less to zero here).
#[cold]
fn may_claim(pidfile: &CStr, pid: Pid, digits: &mut [u8; 20]) -> bool {
    let Ok(owner) = sys::owner(pidfile) else {
        return false;
    };
    let mut path = [0u8; reaper::PROC_PATH];
    owner == 0
        || owner == sys::getuid()
        || reaper::proc_path(&mut path, crate::out::decimal(pid as u64, digits), b"")
            .is_some_and(|p| sys::owner(p) == Ok(owner))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed note texts follow the order of `Note`'s and `Outcome`'s
    /// variants.
    #[test]
    fn note_texts_match_their_kinds() {
        let mut all = Vec::new();
        NOTE_TEXTS.each(&mut |b| all.push(b));
        let text = |i| all.split(|&b| b == b'|').nth(i).map(|t| t.to_vec());
        let kinds: [(Note, &[u8]); NOTE_KINDS] = [
            (Note::Started { slot: 0, pid: 1 }, b": started, pid "),
            (Note::SpawnFailed { slot: 0, errno: 2 }, b": "),
            (
                Note::Exited {
                    slot: 0,
                    status: ExitStatus::Code(0),
                    quiet: false,
                    restart_in: None,
                },
                b"",
            ),
            (Note::Adopted { slot: 0, pid: 1 }, b": daemon pid "),
            (
                Note::PidfileMissing { slot: 0 },
                b": no live child pid in its pidfile after the launcher exited",
            ),
            (Note::Ready { slot: 0 }, b": ready"),
            (
                Note::Killed { slot: 0, pid: 1 },
                b": did not stop in time; sending SIGKILL to pid ",
            ),
            (Note::Blocked { slot: 0, on: 1 }, b": not started: `after="),
            (
                Note::OrphanReaped {
                    pid: 1,
                    status: ExitStatus::Code(0),
                },
                b"reaped orphan ",
            ),
            (Note::ExitStatus { slot: 0, code: 1 }, b" "),
            (
                Note::ShutdownBegins {
                    outcome: Outcome::Halt,
                },
                b"",
            ),
            (
                Note::StragglersKilled,
                b"processes left after SIGTERM; sending SIGKILL",
            ),
            (Note::NothingLeft, b"nothing left to run; reaping orphans"),
        ];
        for (i, (note, expected)) in kinds.iter().enumerate() {
            assert_eq!(note_kind(note), i);
            assert_eq!(text(i).as_deref(), Some(*expected));
        }
        let outcomes: [(Outcome, &[u8]); 5] = [
            (Outcome::Exit(3), b"stopping"),
            (Outcome::Poweroff, b"powering off"),
            (Outcome::Reboot, b"rebooting"),
            (Outcome::Halt, b"halting"),
            (Outcome::ExecRestart(0), b"restarting init"),
        ];
        for (outcome, expected) in outcomes {
            let i = SHUTDOWN_TEXTS + outcome_index(outcome);
            assert_eq!(text(i).as_deref(), Some(expected));
        }
        assert_eq!(text(SHUTDOWN_TEXTS + 5), None);
    }

    /// `FOSTER_SHUTDOWN`'s values follow the order of `Outcome`'s variants
    /// (a restart of init reads the reboot's: it has none of its own).
    #[test]
    fn shutdown_env_matches_outcomes() {
        let env = |o| crate::bytes::nth_piece(SHUTDOWN_ENV, b'|', outcome_index(o));
        let expected: [(Outcome, &[u8]); 4] = [
            (Outcome::Exit(3), b"FOSTER_SHUTDOWN=exit"),
            (Outcome::Poweroff, b"FOSTER_SHUTDOWN=poweroff"),
            (Outcome::Reboot, b"FOSTER_SHUTDOWN=reboot"),
            (Outcome::Halt, b"FOSTER_SHUTDOWN=halt"),
        ];
        for (outcome, kv) in expected {
            assert_eq!(env(outcome), Some(kv));
        }
        assert_eq!(env(Outcome::ExecRestart(0)), None);
    }

    /// A failed load's PRE and POST texts, in the order `load` picks them:
    /// unreadable, then errors; each first at the start, then at a reload.
    #[test]
    fn load_failed_texts() {
        let pieces = LOAD_FAILED.map(|t| {
            let mut text = Vec::new();
            t.each(&mut |b| text.push(b));
            text
        });
        let expected: [&[u8]; 8] = [
            b"",
            b"",
            b"reload: ",
            b"; keeping the running table",
            b"",
            b" error(s); their lines skipped, running the rest",
            b"reload rejected: ",
            b" error(s); keeping the running table",
        ];
        assert_eq!(pieces, expected);
    }

    #[test]
    fn tty_paths_get_dev_prepended_once() {
        let mut buf = [0u8; TTY_BUF];
        let path =
            |raw: &[u8], buf: &mut [u8; TTY_BUF]| tty_path(raw, buf).map(|p| p.to_bytes().to_vec());
        assert_eq!(path(b"tty1", &mut buf).as_deref(), Some(&b"/dev/tty1"[..]));
        assert_eq!(
            path(b"/dev/ttyS0", &mut buf).as_deref(),
            Some(&b"/dev/ttyS0"[..])
        );
        assert_eq!(
            path(b"\"tty 2\"", &mut buf).as_deref(),
            Some(&b"/dev/tty 2"[..])
        );
        assert_eq!(path(b"", &mut buf), None);
        assert_eq!(path(b"\"\"", &mut buf), None);
        // Every value the table allows fits.
        let max = config_format::MAX_VALUE;
        assert!(
            path(&[b'a'; config_format::MAX_VALUE], &mut buf).is_some_and(|p| p.len() == 5 + max)
        );
        assert_eq!(path(&[b'a'; config_format::MAX_VALUE + 1], &mut buf), None);
    }
}
