//! Guest test program: crashes the kernel through `/proc/sysrq-trigger`.
//! Exits 1 if the kernel is still running a second later.
use std::io::Write;

fn main() {
    println!("panic-kernel: writing c to /proc/sysrq-trigger");
    let res = std::fs::OpenOptions::new()
        .write(true)
        .open("/proc/sysrq-trigger")
        .and_then(|mut f| f.write_all(b"c"));
    if let Err(e) = res {
        eprintln!("panic-kernel: unable to write /proc/sysrq-trigger: {e}");
        std::process::exit(1);
    }
    std::thread::sleep(std::time::Duration::from_secs(1));
    eprintln!("panic-kernel: the kernel is still running");
    std::process::exit(1);
}
