//! Benchmark: boot-to-result wall time under TCG, foster vs BusyBox init, side by
//! side in one run. Both images hold the same files (BusyBox with its applets, the
//! test program as `/test`); only `/init` and its table differ. Runs alternate
//! between the two so drift on the host hits both alike; medians are reported.
//!
//! Build and run it for the musl target, so the default test program next to it
//! (`exit-with 0`) is static:
//!
//! ```text
//! cargo build --release
//! cargo run --release -p qemu --target x86_64-unknown-linux-musl --bin boot-bench -- --runs 5
//! ```

use qemu::testimage::{self, Init, TestImage};
use qemu::{Accel, Config, Console, Outcome};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: boot-bench [--runs N] [--arch A] [--kernel K] [--foster F] \
                     [--busybox B] [--accel A] [-- TEST [ARG]...]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("boot-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let mut runs = 5usize;
    let mut kernel: Option<PathBuf> = None;
    let mut foster: Option<PathBuf> = None;
    let mut busybox = PathBuf::from(image::DEFAULT_BUSYBOX);
    let mut arch = qemu::host_arch().unwrap_or(&qemu::ARCHES[0]);
    let mut accel = Accel::Tcg;
    let mut test: Vec<String> = Vec::new();
    let e = |e: lexopt::Error| format!("{e}\n{USAGE}");
    while let Some(arg) = p.next().map_err(e)? {
        match arg {
            Long("runs") => runs = p.value().map_err(e)?.parse().map_err(e)?,
            Long("kernel") => kernel = Some(p.value().map_err(e)?.into()),
            Long("foster") => foster = Some(p.value().map_err(e)?.into()),
            Long("busybox") => busybox = p.value().map_err(e)?.into(),
            Long("arch") => {
                let v = p.value().map_err(e)?.string().map_err(e)?;
                arch = qemu::arch(&v).ok_or_else(|| format!("unknown arch {v:?}"))?;
            }
            Long("accel") => accel = p.value().map_err(e)?.string().map_err(e)?.parse()?,
            Value(v) => {
                test.push(v.string().map_err(e)?);
                for v in p.raw_args().map_err(e)? {
                    test.push(v.to_string_lossy().into_owned());
                }
            }
            Long("help") | Short('h') => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => return Err(e(arg.unexpected())),
        }
    }
    if test.is_empty() {
        let here = std::env::current_exe().map_err(|e| e.to_string())?;
        let exit_with = here.with_file_name("exit-with");
        test = vec![exit_with.display().to_string(), "0".into()];
    }
    let kernel = qemu::find_kernel_for(arch, kernel.as_deref()).map_err(|e| e.to_string())?;
    let foster = foster
        .or_else(|| testimage::default_foster(arch))
        .ok_or("unable to find foster: cargo build --release, or pass --foster")?;
    let (prog, args) = test.split_first().ok_or(USAGE)?;
    for (what, path) in [
        ("/init", &foster),
        ("/test", &PathBuf::from(prog)),
        ("/bin/busybox", &busybox),
    ] {
        qemu::check_arch(arch, what, path).map_err(|e| e.to_string())?;
    }

    let mut images = Vec::new();
    for (label, init) in [("foster", Init::Foster(foster)), ("busybox", Init::Busybox)] {
        let mut t = TestImage::new(init, prog.into(), args.to_vec());
        t.busybox = Some(busybox.clone());
        let img = t.build().map_err(|e| e.to_string())?;
        let (file, path) = testimage::write_temp(&img).map_err(|e| e.to_string())?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        images.push((label, path, size, file));
    }
    println!(
        "{}: kernel {}, {accel:?}, {runs} runs each, test: {}",
        arch.name,
        kernel.display(),
        test.join(" ")
    );
    let mut times: Vec<(Vec<Duration>, Vec<Duration>)> = vec![Default::default(); images.len()];
    let mut failure = None;
    'outer: for _ in 0..runs {
        for (i, (label, path, _, _)) in images.iter().enumerate() {
            let mut cfg = Config::new(kernel.clone(), path.clone());
            cfg.arch = arch;
            cfg.accel = accel;
            cfg.console = Console::Silent;
            cfg.timeout = Duration::from_secs(60);
            let res = qemu::run(&cfg).map_err(|e| e.to_string())?;
            match (&res.outcome, res.result_after) {
                (Outcome::Exited { .. }, Some(t)) => {
                    times[i].0.push(t);
                    times[i].1.push(res.total);
                }
                _ => {
                    failure = Some(format!(
                        "{label}: {}\n{}",
                        res.outcome.verdict(),
                        res.console
                    ));
                    break 'outer;
                }
            }
        }
    }
    if let Some(f) = failure {
        return Err(f);
    }
    println!(
        "{:<8} {:>10} {:>18} {:>18} {:>14}",
        "init", "image", "to result (med)", "to qemu exit (med)", "result min-max"
    );
    for ((label, _, size, _), (result, total)) in images.iter().zip(&mut times) {
        let (rmin, rmax) = (min(result), max(result));
        println!(
            "{:<8} {:>8} K {:>16.3} s {:>16.3} s {:>6.3}-{:.3} s",
            label,
            size / 1024,
            median(result).as_secs_f64(),
            median(total).as_secs_f64(),
            rmin.as_secs_f64(),
            rmax.as_secs_f64(),
        );
    }
    Ok(())
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn min(v: &[Duration]) -> Duration {
    v.iter().min().copied().unwrap_or_default()
}

fn max(v: &[Duration]) -> Duration {
    v.iter().max().copied().unwrap_or_default()
}
