// The foster binary has its own `_start` and links no C runtime: static, no PIE,
// no dynamic section. The flags apply to the binary only, so the library's unit
// tests and the host tools link normally.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=init/discard.ld");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if !target.contains("linux") {
        return;
    }
    if target == host {
        // The host's cc driver does the link.
        for arg in [
            "-nostartfiles",
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--build-id=none",
            // Identical functions (monomorphized twins) are kept once.
            "-Wl,--icf=all",
            // Read-only data in the code's segment: one mapping instead of
            // two that share a page (4 kB less resident, one program header
            // less). The data is a few KB of texts and tables, so little
            // gadget surface is added to the code's.
            "-Wl,--no-rosegment",
        ] {
            println!("cargo:rustc-link-arg-bin=foster={arg}");
        }
        println!("cargo:rustc-link-arg-bin=foster=-Wl,-T,{dir}/init/discard.ld");
    } else {
        // Cross targets link with rust-lld (see .cargo/config.toml): plain ld flags.
        for arg in [
            "-nostdlib",
            "-static",
            "--no-pie",
            "--build-id=none",
            "--icf=all",
            "--no-rosegment",
        ] {
            println!("cargo:rustc-link-arg-bin=foster={arg}");
        }
        println!("cargo:rustc-link-arg-bin=foster=-T{dir}/init/discard.ld");
    }
}
