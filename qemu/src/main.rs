//! `qemu`: boot a kernel with an initramfs and exit with the guest's result.
//! The exit codes and the marker line are documented in the library.

use qemu::testimage::{self, Init, TestImage};
use qemu::{Accel, Config, Console, Error, EXIT_ERROR};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: qemu boot --initrd FILE [OPTIONS]
       qemu test [OPTIONS] [TEST OPTIONS] -- STATIC-BINARY [ARG]...

boot: boots FILE. test: packs foster as /init, STATIC-BINARY as /test and a
table `once test on-exit=poweroff -- /test ARG...`, boots it, and exits with
the test's exit code.

Options:
  --kernel FILE        kernel (default: $FOSTER_KERNEL_<ARCH>, $FOSTER_KERNEL, else
                       the newest /boot/vmlinuz-* for the host's architecture, or
                       $FOSTER_CACHE/<debian arch>/vmlinuz for another one)
  --arch ARCH          x86_64, aarch64 or riscv64 (default: the host's)
  --accel MODE         tcg (default, or $FOSTER_ACCEL), kvm, or auto (KVM if a
                       3-second probe answers, else TCG)
  --append ARGS        extra kernel arguments (repeatable)
  --memory SIZE        guest memory (default 256M)
  --disk FILE          raw disk image attached as NVMe (/dev/nvme0n1)
  --timeout SECS       host timeout; QEMU is killed after it (default 60)
  --prefix[=STR]       prefix each console line (default STR: \"guest| \")
  --quiet              do not show the console
  --qemu-arg ARG       extra QEMU argument (repeatable)
Test options:
  --foster FILE        foster binary (default: $FOSTER_BIN, else target/release/foster,
                       or target/<arch triple>/release/foster)
  --init foster|busybox  the init to run the test under (default foster)
  --busybox[=SRC]      add BusyBox (default /bin/busybox) with applets in /bin
  --file PATH=SRC      add a host file (repeatable)
  --save-image FILE    also keep the generated initramfs here

Exit status: the guest's CODE from `foster: exit-status NAME CODE` (the last
one); 122 no result; 123 kernel panic; 124 host timeout; 125 runner or QEMU
error. A guest can exit 122-125 too: the verdict line on stderr tells them apart.
";

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("qemu: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[derive(PartialEq)]
enum Mode {
    Boot,
    Test,
}

fn run() -> Result<u8, Error> {
    use lexopt::prelude::*;
    let err = |e: lexopt::Error| Error(format!("{e}\n{USAGE}"));
    let mut p = lexopt::Parser::from_env();
    let mode = match p.next().map_err(err)? {
        Some(Value(v)) if v == "boot" => Mode::Boot,
        Some(Value(v)) if v == "test" => Mode::Test,
        Some(Short('h') | Long("help")) => {
            print!("{USAGE}");
            return Ok(0);
        }
        _ => return Err(Error(format!("expected `boot` or `test`\n{USAGE}"))),
    };
    let mut kernel: Option<PathBuf> = None;
    let mut initrd: Option<PathBuf> = None;
    let mut arch = qemu::host_arch().unwrap_or(&qemu::ARCHES[0]);
    let mut accel: Accel = match std::env::var("FOSTER_ACCEL") {
        Ok(v) if !v.is_empty() => v.parse().map_err(Error)?,
        _ => Accel::Tcg,
    };
    let mut append = Vec::new();
    let mut memory = "256M".to_string();
    let mut disk = None;
    let mut timeout = Duration::from_secs(60);
    let mut console = Console::Raw;
    let mut qemu_args = Vec::new();
    let mut foster: Option<PathBuf> = None;
    let mut init_busybox = false;
    let mut busybox: Option<PathBuf> = None;
    let mut files = Vec::new();
    let mut save: Option<PathBuf> = None;
    let mut command: Vec<String> = Vec::new();
    while let Some(arg) = p.next().map_err(err)? {
        match arg {
            Long("kernel") => kernel = Some(p.value().map_err(err)?.into()),
            Long("initrd") if mode == Mode::Boot => initrd = Some(p.value().map_err(err)?.into()),
            Long("arch") => {
                let v = p.value().map_err(err)?.string().map_err(err)?;
                arch = qemu::arch(&v).ok_or_else(|| Error(format!("unknown arch {v:?}")))?;
            }
            Long("accel") => {
                accel = p
                    .value()
                    .map_err(err)?
                    .string()
                    .map_err(err)?
                    .parse()
                    .map_err(Error)?
            }
            Long("append") => append.push(p.value().map_err(err)?.string().map_err(err)?),
            Long("memory") => memory = p.value().map_err(err)?.string().map_err(err)?,
            Long("disk") => disk = Some(PathBuf::from(p.value().map_err(err)?)),
            Long("timeout") => {
                let secs: f64 = p.value().map_err(err)?.parse().map_err(err)?;
                if !(secs > 0.0 && secs < 1e6) {
                    return Err(Error(format!("bad timeout {secs}")));
                }
                timeout = Duration::from_secs_f64(secs);
            }
            Long("prefix") => {
                let s = match p.optional_value() {
                    Some(v) => v.string().map_err(err)?,
                    None => "guest| ".into(),
                };
                console = Console::Prefixed(s);
            }
            Long("quiet") => console = Console::Silent,
            Long("qemu-arg") => qemu_args.push(p.value().map_err(err)?.string().map_err(err)?),
            Long("foster") if mode == Mode::Test => foster = Some(p.value().map_err(err)?.into()),
            Long("init") if mode == Mode::Test => {
                match p.value().map_err(err)?.string().map_err(err)?.as_str() {
                    "foster" => init_busybox = false,
                    "busybox" => init_busybox = true,
                    v => {
                        return Err(Error(format!(
                            "--init must be foster or busybox, not {v:?}"
                        )))
                    }
                }
            }
            Long("busybox") if mode == Mode::Test => {
                busybox = Some(match p.optional_value() {
                    Some(v) => v.into(),
                    None => image::DEFAULT_BUSYBOX.into(),
                })
            }
            Long("file") if mode == Mode::Test => {
                let v = p.value().map_err(err)?.string().map_err(err)?;
                let (path, src) = v
                    .split_once('=')
                    .ok_or_else(|| Error(format!("--file wants PATH=SRC, not {v:?}")))?;
                files.push((path.to_string(), PathBuf::from(src)));
            }
            Long("save-image") if mode == Mode::Test => save = Some(p.value().map_err(err)?.into()),
            Value(v) if mode == Mode::Test => {
                command.push(v.string().map_err(err)?);
                for v in p.raw_args().map_err(err)? {
                    command.push(
                        v.into_string()
                            .map_err(|v| Error(format!("argument {v:?} is not UTF-8")))?,
                    );
                }
            }
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(0);
            }
            _ => return Err(err(arg.unexpected())),
        }
    }

    let kernel = qemu::find_kernel_for(arch, kernel.as_deref())?;
    // The test image, unlinked: QEMU opens it through this process's fd.
    let mut temp = None;
    let initrd = match mode {
        Mode::Boot => initrd.ok_or_else(|| Error(format!("boot needs --initrd FILE\n{USAGE}")))?,
        Mode::Test => {
            let Some((test, args)) = command.split_first() else {
                return Err(Error(format!(
                    "test needs -- STATIC-BINARY [ARG]...\n{USAGE}"
                )));
            };
            let init = if init_busybox {
                Init::Busybox
            } else {
                let f = foster
                    .or_else(|| testimage::default_foster(arch))
                    .ok_or_else(|| {
                        Error(format!(
                            "unable to find foster for {}: build it (cargo build --release \
                             --target {}) or pass --foster",
                            arch.name,
                            arch.triples.first().copied().unwrap_or("?")
                        ))
                    })?;
                qemu::check_arch(arch, "/init", &f)?;
                Init::Foster(f)
            };
            qemu::check_arch(arch, "/test", Path::new(test))?;
            let packed_busybox = match (&busybox, init_busybox) {
                (Some(b), _) => Some(b.as_path()),
                (None, true) => Some(Path::new(image::DEFAULT_BUSYBOX)),
                (None, false) => None,
            };
            if let Some(b) = packed_busybox {
                qemu::check_arch(arch, "/bin/busybox", b)?;
            }
            let mut t = TestImage::new(init, test.into(), args.to_vec());
            t.busybox = busybox;
            t.files = files;
            t.check_table()?;
            let img = t.build()?;
            if let Some(save) = &save {
                img.write_to_file(save, true)?;
            }
            let (file, path) = testimage::write_temp(&img)?;
            temp = Some(file);
            path
        }
    };

    let mut cfg = Config::new(kernel, initrd);
    cfg.arch = arch;
    cfg.append = append;
    cfg.memory = memory;
    cfg.disk = disk;
    cfg.timeout = timeout;
    cfg.accel = accel;
    cfg.console = console;
    cfg.qemu_args = qemu_args;
    let res = qemu::run(&cfg)?;
    drop(temp);
    if accel == Accel::Auto {
        eprintln!("qemu: accel auto chose {:?}", res.accel);
    }
    eprintln!("{}", res.outcome.verdict());
    Ok(res.outcome.exit_code())
}
