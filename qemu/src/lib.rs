//! Boot a kernel with an initramfs in QEMU and hand back the guest's result.
//!
//! [`Config`] says what to boot; [`run`] starts QEMU, streams the serial console
//! live, enforces the host timeout (QEMU is killed when it passes, and also if
//! this process dies: `PR_SET_PDEATHSIG`), and classifies the end as an
//! [`Outcome`]. The guest reports its result with one console line printed by
//! foster when an `on-exit=poweroff|reboot|halt` entry ends:
//!
//! ```text
//! foster: exit-status NAME CODE
//! ```
//!
//! `CODE` is 0..=255 (128+N when the entry was killed by signal N). The runner
//! exits with `CODE`, or with one of its own codes:
//!
//! | code | meaning |
//! |---|---|
//! | [`EXIT_NO_RESULT`] 122 | QEMU ended (guest powered off, rebooted) without a marker line |
//! | [`EXIT_PANIC`] 123 | the kernel printed `Kernel panic - not syncing` (wins over an earlier marker) |
//! | [`EXIT_TIMEOUT`] 124 | the host timeout passed; QEMU was killed |
//! | [`EXIT_ERROR`] 125 | the runner could not start: bad arguments, no kernel, no QEMU, bad image; or QEMU failed (exited non-zero) with no result |
//!
//! A guest test can itself exit 122..=125, so those codes are ambiguous on their
//! own: the runner always prints a one-line verdict on stderr (`qemu: guest test
//! exited 123` vs `qemu: kernel panic`), which is what to read when it matters.
//!
//! Per-architecture settings (QEMU binary, machine, CPU, console) sit in one table,
//! [`ARCHES`]. The accelerator is TCG unless asked otherwise: KVM is used only with
//! `Accel::Kvm`, or with `Accel::Auto` when a probe (the kernel booted under KVM
//! with no initramfs must panic and exit within 3 s) succeeds: nested KVM can
//! hang forever, and it can even run a few instructions of firmware first.

pub mod testimage;

use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Exit code: QEMU ended without the guest reporting a result.
pub const EXIT_NO_RESULT: u8 = 122;
/// Exit code: the guest kernel panicked.
pub const EXIT_PANIC: u8 = 123;
/// Exit code: the host timeout passed.
pub const EXIT_TIMEOUT: u8 = 124;
/// Exit code: the runner itself failed (usage, missing kernel or QEMU, image),
/// or QEMU did.
pub const EXIT_ERROR: u8 = 125;

/// The marker line's prefix (followed by `NAME CODE`).
pub const MARKER: &str = "foster: exit-status ";
/// What the kernel prints when it panics.
pub const PANIC_MARKER: &str = "Kernel panic - not syncing";

/// One architecture's QEMU settings.
#[derive(Debug)]
pub struct ArchSpec {
    /// Name as in `std::env::consts::ARCH` and `--arch`.
    pub name: &'static str,
    pub qemu: &'static str,
    /// Machine when no disk is attached (the fastest to boot).
    pub machine: &'static str,
    /// Kernel arguments that go with `machine` only.
    pub machine_append: &'static str,
    /// Machine when a disk is attached (needs PCI for NVMe).
    pub disk_machine: &'static str,
    pub cpu: Option<&'static str>,
    /// The serial console the kernel writes to.
    pub console: &'static str,
    /// Firmware for `-bios` (riscv64 needs OpenSBI: `default`).
    pub firmware: Option<&'static str>,
    /// ELF `e_machine` of this architecture's executables (`EM_*`).
    pub elf_machine: u16,
    /// Rust target triples whose binaries run here, preferred first (where
    /// `qemu test` looks for foster: `target/<triple>/release/foster`).
    pub triples: &'static [&'static str],
    /// Debian's name for it: where `.ci/fetch-arm64.sh` and the like unpack a
    /// guest kernel (`$FOSTER_CACHE/<debian>/vmlinuz`).
    pub debian: &'static str,
    /// Whether the KVM probe knows how to test this architecture.
    pub kvm_probe: bool,
}

/// Every architecture the runner knows.
pub const ARCHES: &[ArchSpec] = &[
    ArchSpec {
        name: "x86_64",
        qemu: "qemu-system-x86_64",
        // microvm boots in ~2.3 s under TCG vs ~3.3 s for pc, but only when the
        // kernel is told the TSC frequency instead of calibrating it; no PCI.
        // Its reboot is a triple fault (`reboot=t`), which -no-reboot makes
        // QEMU's exit: the kernel's default methods (ACPI, keyboard controller)
        // reach nothing there and it ends in a real-mode jump to the firmware,
        // which on a loaded host sometimes boots the kernel again.
        machine: "microvm",
        machine_append: "tsc_early_khz=2000000 reboot=t",
        disk_machine: "pc",
        cpu: None,
        console: "ttyS0",
        firmware: None,
        elf_machine: 62,
        triples: &["x86_64-unknown-linux-musl", "x86_64-unknown-linux-gnu"],
        debian: "amd64",
        kvm_probe: true,
    },
    ArchSpec {
        name: "aarch64",
        qemu: "qemu-system-aarch64",
        machine: "virt",
        machine_append: "",
        disk_machine: "virt",
        // `-cpu max` is about 4x slower under TCG.
        cpu: Some("cortex-a57"),
        console: "ttyAMA0",
        firmware: None,
        elf_machine: 183,
        triples: &["aarch64-unknown-linux-musl", "aarch64-unknown-linux-gnu"],
        debian: "arm64",
        kvm_probe: false,
    },
    ArchSpec {
        name: "riscv64",
        qemu: "qemu-system-riscv64",
        machine: "virt",
        machine_append: "",
        disk_machine: "virt",
        cpu: None,
        console: "ttyS0",
        // OpenSBI, shipped with QEMU (Debian: opensbi, with qemu-system-misc).
        firmware: Some("default"),
        elf_machine: 243,
        triples: &[
            "riscv64gc-unknown-linux-musl",
            "riscv64gc-unknown-linux-gnu",
        ],
        debian: "riscv64",
        kvm_probe: false,
    },
];

/// Looks up an architecture by name.
pub fn arch(name: &str) -> Option<&'static ArchSpec> {
    ARCHES.iter().find(|a| a.name == name)
}

/// The host's architecture, if the table has it.
pub fn host_arch() -> Option<&'static ArchSpec> {
    arch(std::env::consts::ARCH)
}

/// Checks that the ELF executable at `path` (packed as `what`) is built for
/// `arch`: a binary of another architecture would only fail inside the guest
/// ("Exec format error", or a kernel panic when it is `/init`). Scripts pass.
pub fn check_arch(arch: &ArchSpec, what: &str, path: &Path) -> Result<(), Error> {
    let data = std::fs::read(path)
        .map_err(|e| Error(format!("unable to read {what} {}: {e}", path.display())))?;
    if data.starts_with(b"#!") {
        return Ok(());
    }
    let em = image::elf::machine(&data)
        .map_err(|e| Error(format!("unable to use {what} {}: {e}", path.display())))?;
    if em == arch.elf_machine {
        return Ok(());
    }
    let is = ARCHES
        .iter()
        .find(|a| a.elf_machine == em)
        .map_or_else(|| format!("EM {em}"), |a| a.name.to_owned());
    Err(Error(format!(
        "unable to use {what} {}: it is built for {is}, not {} (Rust: --target {})",
        path.display(),
        arch.name,
        arch.triples.first().copied().unwrap_or("?"),
    )))
}

/// Accelerator choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
    /// KVM if the probe answers within its timeout, else TCG.
    Auto,
}

impl std::str::FromStr for Accel {
    type Err = String;
    fn from_str(s: &str) -> Result<Accel, String> {
        match s {
            "tcg" => Ok(Accel::Tcg),
            "kvm" => Ok(Accel::Kvm),
            "auto" => Ok(Accel::Auto),
            _ => Err(format!("accel must be tcg, kvm or auto, not {s:?}")),
        }
    }
}

/// A runner failure (maps to [`EXIT_ERROR`]).
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<image::Error> for Error {
    fn from(e: image::Error) -> Error {
        Error(e.to_string())
    }
}

/// How the console is shown while the guest runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Console {
    /// Bytes copied to stdout as they arrive.
    Raw,
    /// Each line on stdout behind this prefix.
    Prefixed(String),
    /// Not shown (still scanned, and kept in [`RunResult::console`]).
    Silent,
}

/// What to boot and how.
#[derive(Debug, Clone)]
pub struct Config {
    pub arch: &'static ArchSpec,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    /// Extra kernel arguments, appended after the runner's own.
    pub append: Vec<String>,
    /// QEMU `-m` value.
    pub memory: String,
    /// A raw disk image attached as NVMe (serial `foster0`).
    pub disk: Option<PathBuf>,
    pub timeout: Duration,
    pub accel: Accel,
    pub console: Console,
    /// Extra QEMU arguments, last on the command line.
    pub qemu_args: Vec<String>,
}

impl Config {
    /// Defaults for the host architecture: 256M, 60 s, TCG, raw console.
    pub fn new(kernel: PathBuf, initrd: PathBuf) -> Config {
        Config {
            arch: host_arch().unwrap_or(&ARCHES[0]),
            kernel,
            initrd,
            append: Vec::new(),
            memory: "256M".into(),
            disk: None,
            timeout: Duration::from_secs(60),
            accel: Accel::Tcg,
            console: Console::Raw,
            qemu_args: Vec::new(),
        }
    }

    /// The kernel command line.
    pub fn cmdline(&self) -> String {
        let a = self.arch;
        let mut parts = vec![format!("console={}", a.console), "panic=-1".into()];
        parts.push("quiet".into());
        if self.disk.is_none() && !a.machine_append.is_empty() {
            parts.push(a.machine_append.into());
        }
        parts.extend(self.append.iter().cloned());
        parts.join(" ")
    }

    /// The QEMU command (accelerator already decided: `Auto` must be resolved).
    pub fn command(&self, accel: Accel) -> Command {
        let a = self.arch;
        let mut c = Command::new(a.qemu);
        let machine = if self.disk.is_some() {
            a.disk_machine
        } else {
            a.machine
        };
        c.args(["-machine", machine]);
        c.args(["-accel", if accel == Accel::Kvm { "kvm" } else { "tcg" }]);
        if let Some(cpu) = a.cpu {
            c.args(["-cpu", cpu]);
        }
        if let Some(bios) = a.firmware {
            c.args(["-bios", bios]);
        }
        c.args(["-m", &self.memory]);
        c.args(["-nodefaults", "-no-reboot", "-display", "none"]);
        c.args(["-serial", "stdio", "-monitor", "none"]);
        c.arg("-kernel").arg(&self.kernel);
        c.arg("-initrd").arg(&self.initrd);
        c.args(["-append", &self.cmdline()]);
        if let Some(disk) = &self.disk {
            let mut drive = std::ffi::OsString::from("file=");
            // QEMU option values escape a comma by doubling it.
            drive.push(disk.as_os_str().to_string_lossy().replace(',', ",,"));
            drive.push(",if=none,id=d0,format=raw");
            c.arg("-drive").arg(drive);
            c.args(["-device", "nvme,drive=d0,serial=foster0"]);
        }
        c.args(&self.qemu_args);
        c
    }
}

/// The kernel to boot: `explicit`, else `FOSTER_KERNEL`, else the newest readable
/// `/boot/vmlinuz-*` (by version order of the file names).
pub fn find_kernel(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(k) = explicit {
        return Ok(k.to_path_buf());
    }
    if let Some(k) = std::env::var_os("FOSTER_KERNEL").filter(|k| !k.is_empty()) {
        return Ok(k.into());
    }
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir("/boot")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let version = name.strip_prefix("vmlinuz-")?.to_owned();
            std::fs::File::open(e.path()).ok()?;
            Some((version, e.path()))
        })
        .collect();
    found.sort_by(|a, b| version_cmp(&a.0, &b.0));
    found.pop().map(|(_, p)| p).ok_or_else(|| {
        Error(
            "unable to find a kernel: pass --kernel, set FOSTER_KERNEL, or install one \
             readable as /boot/vmlinuz-* (apt-get install linux-image-cloud-amd64)"
                .into(),
        )
    })
}

/// Where fetched guest kernels and binaries are cached: `$FOSTER_CACHE`, else
/// `/var/cache/foster`.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("FOSTER_CACHE")
        .filter(|c| !c.is_empty())
        .map_or_else(|| PathBuf::from("/var/cache/foster"), PathBuf::from)
}

/// The kernel to boot on `arch`: `explicit`, else `FOSTER_KERNEL_<ARCH>` (e.g.
/// `FOSTER_KERNEL_AARCH64`), else `FOSTER_KERNEL`; then, on the host's
/// architecture, [`find_kernel`]'s `/boot` search, and on another one the
/// fetched kernel `<cache>/<debian arch>/vmlinuz` (see [`cache_dir`]).
pub fn find_kernel_for(arch: &ArchSpec, explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(k) = explicit {
        return Ok(k.to_path_buf());
    }
    let var = format!("FOSTER_KERNEL_{}", arch.name.to_ascii_uppercase());
    for v in [var.as_str(), "FOSTER_KERNEL"] {
        if let Some(k) = std::env::var_os(v).filter(|k| !k.is_empty()) {
            return Ok(k.into());
        }
    }
    if host_arch().is_some_and(|h| h.name == arch.name) {
        return find_kernel(None);
    }
    let cached = cache_dir().join(arch.debian).join("vmlinuz");
    if cached.is_file() {
        return Ok(cached);
    }
    Err(Error(format!(
        "unable to find a kernel for {}: pass --kernel, set {var}, or put one at {} \
         (for aarch64: .ci/fetch-arm64.sh); /boot holds the host's kernels",
        arch.name,
        cached.display()
    )))
}

/// Compares version strings with digit runs as numbers ("6.10" > "6.9").
pub fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let ord = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then(x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if ord.is_ne() {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

/// How long the KVM probe may take before KVM counts as not working.
pub const KVM_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether KVM can boot `kernel` here (see [`probe`]), within `timeout`.
pub fn kvm_works(arch: &ArchSpec, kernel: &Path, timeout: Duration) -> bool {
    if !arch.kvm_probe || Some(arch.name) != host_arch().map(|a| a.name) {
        return false;
    }
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_err()
    {
        return false;
    }
    probe(arch, kernel, "kvm", timeout)
}

/// Boots `kernel` with no initramfs under `accel`: a working kernel panics at
/// once ("VFS: Unable to mount root fs") and, with `panic=-1` and `-no-reboot`,
/// QEMU exits. True if that happens within `timeout`. A smaller probe (firmware
/// that only runs real-mode code) is not enough: nested KVM on some hosts runs
/// that fine and then hangs in the kernel.
pub fn probe(arch: &ArchSpec, kernel: &Path, accel: &str, timeout: Duration) -> bool {
    let mut c = Command::new(arch.qemu);
    c.args(["-machine", arch.machine, "-accel", accel]);
    if let Some(cpu) = arch.cpu {
        c.args(["-cpu", cpu]);
    }
    if let Some(bios) = arch.firmware {
        c.args(["-bios", bios]);
    }
    c.args([
        "-m",
        "128M",
        "-nodefaults",
        "-no-reboot",
        "-display",
        "none",
    ])
    .args(["-monitor", "none", "-serial", "none", "-kernel"])
    .arg(kernel)
    .args([
        "-append",
        &format!("panic=-1 quiet {}", arch.machine_append),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    kill_with_parent(&mut c);
    let Ok(mut child) = c.spawn() else {
        return false;
    };
    let status = wait_timeout(&mut child, timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status.is_some_and(|s| s.success())
}

fn wait_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return None,
        }
    }
}

/// A fresh path in the temporary directory (unique per process and call).
pub fn scratch_path(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("foster-qemu-{}-{n}-{name}", std::process::id()))
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The marker line: entry NAME ended with CODE.
    Exited { name: String, code: u8 },
    /// The kernel panicked; the panic line, and the marker if one came first.
    Panic {
        line: String,
        after: Option<(String, u8)>,
    },
    /// QEMU ended with no marker; its exit status.
    NoResult { status: String },
    /// QEMU failed (an exit status other than 0: its own error, such as a
    /// kernel it cannot load, a crash, or a kill) with no marker.
    QemuFailed { qemu: &'static str, status: String },
    /// The host timeout passed; the marker if one came (shutdown hung).
    Timeout {
        after: Duration,
        marker: Option<(String, u8)>,
    },
}

impl Outcome {
    /// The process exit code for this outcome.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Exited { code, .. } => *code,
            Outcome::Panic { .. } => EXIT_PANIC,
            Outcome::NoResult { .. } => EXIT_NO_RESULT,
            Outcome::QemuFailed { .. } => EXIT_ERROR,
            Outcome::Timeout { .. } => EXIT_TIMEOUT,
        }
    }

    /// The one-line verdict printed on stderr.
    pub fn verdict(&self) -> String {
        match self {
            Outcome::Exited { name, code } => format!("qemu: guest {name} exited {code}"),
            Outcome::Panic { line, after } => {
                let after = after
                    .as_ref()
                    .map(|(n, c)| format!(" (after guest {n} exited {c})"))
                    .unwrap_or_default();
                format!("qemu: kernel panic{after}: {line}")
            }
            Outcome::NoResult { status } => {
                format!("qemu: no result (qemu exited with {status} and no exit-status line)")
            }
            Outcome::QemuFailed { qemu, status } => {
                format!("qemu: {qemu} failed ({status}) before the guest reported a result")
            }
            Outcome::Timeout { after, marker } => {
                let m = marker
                    .as_ref()
                    .map(|(n, c)| format!(" (guest {n} exited {c} but the guest did not stop)"))
                    .unwrap_or_default();
                format!("qemu: timeout after {} s{m}", after.as_secs_f64())
            }
        }
    }
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub outcome: Outcome,
    /// Everything the console printed (lossy UTF-8, `\r` removed).
    pub console: String,
    /// From spawning QEMU to the marker or panic line, if one came.
    pub result_after: Option<Duration>,
    /// From spawning QEMU to its exit (or kill).
    pub total: Duration,
    /// The accelerator actually used.
    pub accel: Accel,
}

/// Parses `foster: exit-status NAME CODE` out of one console line (the last
/// one in it: a test's output left without a newline runs into foster's).
pub fn parse_marker(line: &str) -> Option<(String, u8)> {
    let mut rest = &line[line.rfind(MARKER)? + MARKER.len()..];
    // A kernel message can come between foster's line and its newline: the
    // kernel writes it to the serial port at once, while the tty sends the
    // line's "\r\n" later. `CODE[    2.162251] message` ends at the `[`.
    if let Some(i) = rest.find('[').filter(|&i| is_printk_time(&rest[i..])) {
        rest = &rest[..i];
    }
    let mut words = rest.split_whitespace();
    let (name, code) = (words.next()?, words.next()?);
    if words.next().is_some() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((name.to_owned(), code.parse().ok()?))
}

/// Whether `s` starts with a kernel log timestamp, `[    2.162251]`.
fn is_printk_time(s: &str) -> bool {
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    s.strip_prefix('[')
        .and_then(|s| s.split_once(']'))
        .and_then(|(stamp, _)| stamp.trim_start().split_once('.'))
        .is_some_and(|(secs, frac)| digits(secs) && digits(frac))
}

#[derive(Default)]
struct Scan {
    console: String,
    marker: Option<(String, u8, Instant)>,
    panic: Option<(String, Instant)>,
}

impl Scan {
    fn line(&mut self, line: &str) {
        let line = line.trim_end_matches(['\r', '\n']);
        // The last marker is foster's: a test can print the same text, but
        // only before it ends. Nothing runs after a real panic, so a panic
        // line before a marker was printed by a program too, also one that
        // the marker ends (a test's last output without a newline).
        let mut after = line;
        if let Some((n, c)) = parse_marker(line) {
            self.marker = Some((n, c, Instant::now()));
            self.panic = None;
            after = line.rfind(MARKER).map_or(line, |i| &line[i..]);
        }
        if self.panic.is_none() {
            if let Some(i) = after.find(PANIC_MARKER) {
                self.panic = Some((after[i..].to_owned(), Instant::now()));
            }
        }
        self.console.push_str(line);
        self.console.push('\n');
    }
}

/// Boots `cfg` and waits for the outcome, streaming the console as configured.
pub fn run(cfg: &Config) -> Result<RunResult, Error> {
    let mut inputs = vec![("kernel", &cfg.kernel), ("initramfs", &cfg.initrd)];
    if let Some(disk) = &cfg.disk {
        inputs.push(("disk", disk));
    }
    for (what, p) in inputs {
        std::fs::File::open(p)
            .map_err(|e| Error(format!("unable to read {what} {}: {e}", p.display())))?;
    }
    let accel = match cfg.accel {
        Accel::Auto if kvm_works(cfg.arch, &cfg.kernel, KVM_PROBE_TIMEOUT) => Accel::Kvm,
        Accel::Auto => Accel::Tcg,
        a => a,
    };
    let mut cmd = cfg.command(accel);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    kill_with_parent(&mut cmd);
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| Error(format!("unable to start {}: {e}", cfg.arch.qemu)))?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let console = cfg.console.clone();
    let reader = std::thread::spawn(move || {
        let mut scan = Scan::default();
        let mut pending: Vec<u8> = Vec::new();
        let mut buf = [0u8; 4096];
        let out = std::io::stdout();
        loop {
            let n = match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if console == Console::Raw {
                let mut o = out.lock();
                let _ = o.write_all(chunk);
                let _ = o.flush();
            }
            pending.extend_from_slice(chunk);
            while let Some(i) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=i).collect();
                let line = String::from_utf8_lossy(&line);
                if let Console::Prefixed(p) = &console {
                    let mut o = out.lock();
                    let _ = writeln!(o, "{p}{}", line.trim_end_matches(['\r', '\n']));
                    let _ = o.flush();
                }
                scan.line(&line);
            }
        }
        if !pending.is_empty() {
            let line = String::from_utf8_lossy(&pending).into_owned();
            if let Console::Prefixed(p) = &console {
                let _ = writeln!(out.lock(), "{p}{line}");
            }
            scan.line(&line);
        }
        scan
    });
    let status = wait_timeout(&mut child, cfg.timeout);
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let total = start.elapsed();
    let scan = reader.join().unwrap_or_default();
    let marker = scan.marker.as_ref().map(|(n, c, _)| (n.clone(), *c));
    let outcome = match (&scan.panic, status) {
        (Some((line, _)), _) => Outcome::Panic {
            line: line.clone(),
            after: marker,
        },
        (None, None) => Outcome::Timeout {
            after: cfg.timeout,
            marker,
        },
        (None, Some(status)) => match marker {
            Some((name, code)) => Outcome::Exited { name, code },
            None if !status.success() => Outcome::QemuFailed {
                qemu: cfg.arch.qemu,
                status: status.to_string(),
            },
            None => Outcome::NoResult {
                status: status.to_string(),
            },
        },
    };
    let result_at = match &outcome {
        Outcome::Panic { .. } => scan.panic.as_ref().map(|p| p.1),
        _ => scan.marker.as_ref().map(|m| m.2),
    };
    Ok(RunResult {
        outcome,
        console: scan.console,
        result_after: result_at.map(|t| t.duration_since(start)),
        total,
        accel,
    })
}

/// Makes the kernel kill QEMU when this process dies, so no guest outlives a
/// killed runner (or a test harness that gave up on it).
#[allow(unsafe_code)]
fn kill_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs in the forked child before exec and only makes
    // one async-signal-safe system call.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert_eq!(
            parse_marker("foster: exit-status test 3"),
            Some(("test".into(), 3))
        );
        assert_eq!(
            parse_marker("[    1.2] foster: exit-status t-1 255\r"),
            Some(("t-1".into(), 255))
        );
        assert_eq!(parse_marker("foster: exit-status test 256"), None);
        assert_eq!(parse_marker("foster: exit-status test"), None);
        assert_eq!(parse_marker("foster: exit-status test 3 x"), None);
        assert_eq!(parse_marker("foster: exit-status test -1"), None);
        // A kernel message written to the console before the line's newline.
        assert_eq!(
            parse_marker("foster: exit-status test 7[    2.162251] random: crng init done"),
            Some(("test".into(), 7))
        );
        assert_eq!(
            parse_marker("foster: exit-status test 7 [12345.000001] x: y"),
            Some(("test".into(), 7))
        );
        assert_eq!(parse_marker("foster: exit-status test 7[x] y"), None);
        assert_eq!(parse_marker("foster: exit-status test 7 [1.5 y"), None);
    }

    #[test]
    fn the_last_marker_wins_and_cancels_an_earlier_panic_line() {
        let mut scan = Scan::default();
        // A test that prints a marker, then fails: foster's marker comes last.
        scan.line("foster: exit-status test 0\n");
        scan.line("foster: exit-status test 0foster: exit-status test 1\r\n");
        assert_eq!(scan.marker.as_ref().map(|m| m.1), Some(1));
        // A panic line printed by the test: the marker after it says it ended.
        let mut scan = Scan::default();
        scan.line("Kernel panic - not syncing: in the test's output");
        scan.line("foster: exit-status test 0");
        assert!(scan.panic.is_none());
        // The same text as the test's last output, without a newline: the
        // marker ends that line.
        let mut quoted = Scan::default();
        quoted.line("Kernel panic - not syncing: quotedfoster: exit-status test 0\r\n");
        assert!(quoted.panic.is_none());
        assert_eq!(quoted.marker.as_ref().map(|m| m.1), Some(0));
        // A kernel message between the marker and its newline still counts.
        quoted.line("foster: exit-status test 0[    2.0] Kernel panic - not syncing: x");
        assert!(quoted.panic.is_some());
        // A real panic comes after the marker (here: during power-off).
        scan.line("[    2.0] Kernel panic - not syncing: Attempted to kill init!");
        assert!(scan.panic.is_some());
    }

    #[test]
    fn versions() {
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("6.10.0-1-cloud", "6.9.0-9-cloud"), Greater);
        assert_eq!(version_cmp("6.1.0-56-cloud", "6.1.0-56-cloud"), Equal);
        assert_eq!(version_cmp("6.1.0-9", "6.1.0-10"), Less);
    }

    #[test]
    fn command_line_per_machine() {
        let mut cfg = Config::new("k".into(), "i".into());
        cfg.arch = arch("x86_64").unwrap();
        cfg.append.push("foo=1".into());
        assert_eq!(
            cfg.cmdline(),
            "console=ttyS0 panic=-1 quiet tsc_early_khz=2000000 reboot=t foo=1"
        );
        let args = |c: &Config| {
            c.command(Accel::Tcg)
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(args(&cfg).contains("-machine microvm -accel tcg"));
        assert!(args(&cfg).contains("-no-reboot"));
        cfg.disk = Some("/tmp/a,b.img".into());
        assert!(!cfg.cmdline().contains("tsc_early_khz"));
        assert!(!cfg.cmdline().contains("reboot="));
        let a = args(&cfg);
        assert!(a.contains("-machine pc"), "{a}");
        assert!(
            a.contains("file=/tmp/a,,b.img,if=none,id=d0,format=raw"),
            "{a}"
        );
        assert!(a.contains("-device nvme,drive=d0,serial=foster0"), "{a}");
    }

    #[test]
    fn command_line_per_arch() {
        let args = |name: &str| {
            let mut cfg = Config::new("k".into(), "i".into());
            cfg.arch = arch(name).unwrap();
            let c = cfg.command(Accel::Tcg);
            let a: Vec<String> = c
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            (c.get_program().to_string_lossy().into_owned(), a.join(" "))
        };
        let (prog, a) = args("aarch64");
        assert_eq!(prog, "qemu-system-aarch64");
        assert!(
            a.contains("-machine virt -accel tcg -cpu cortex-a57"),
            "{a}"
        );
        assert!(a.contains("-append console=ttyAMA0 panic=-1 quiet"), "{a}");
        assert!(!a.contains("-bios"), "{a}");
        let (prog, a) = args("riscv64");
        assert_eq!(prog, "qemu-system-riscv64");
        assert!(a.contains("-machine virt -accel tcg -bios default"), "{a}");
        assert!(a.contains("-append console=ttyS0 panic=-1 quiet"), "{a}");
        assert!(!a.contains("-cpu"), "{a}");
        for spec in ARCHES {
            assert!(spec
                .triples
                .iter()
                .all(|t| t.starts_with(spec.name) || t.starts_with(&format!("{}gc", spec.name))));
        }
    }

    #[test]
    fn executables_of_another_arch_are_refused() {
        let exe = std::env::current_exe().unwrap();
        let host = host_arch().unwrap();
        check_arch(host, "/test", &exe).unwrap();
        let other = ARCHES.iter().find(|a| a.name != host.name).unwrap();
        let e = check_arch(other, "/test", &exe).unwrap_err().0;
        assert!(
            e.contains(&format!(
                "it is built for {}, not {}",
                host.name, other.name
            )),
            "{e}"
        );
        let script = scratch_path("script");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        check_arch(other, "/test", &script).unwrap();
        let _ = std::fs::remove_file(&script);
    }

    #[test]
    fn probe_boots_the_kernel_under_tcg() {
        let a = arch("x86_64").unwrap();
        if Command::new(a.qemu).arg("--version").output().is_err() {
            return; // no QEMU here
        }
        let Ok(kernel) = find_kernel(None) else {
            return;
        };
        assert!(probe(a, &kernel, "tcg", Duration::from_secs(30)));
    }

    #[test]
    fn verdicts() {
        let o = Outcome::Exited {
            name: "test".into(),
            code: 3,
        };
        assert_eq!(
            (o.exit_code(), o.verdict().as_str()),
            (3, "qemu: guest test exited 3")
        );
        let o = Outcome::Timeout {
            after: Duration::from_secs(60),
            marker: None,
        };
        assert_eq!(o.verdict(), "qemu: timeout after 60 s");
        assert_eq!(o.exit_code(), EXIT_TIMEOUT);
        // `--timeout` takes fractions of a second.
        let o = Outcome::Timeout {
            after: Duration::from_millis(2500),
            marker: None,
        };
        assert_eq!(o.verdict(), "qemu: timeout after 2.5 s");
    }
}
