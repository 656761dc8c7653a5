//! The shipped binary: static, no dynamic section, no allocator, no panic
//! message strings from core formatting, and its size printed.

use std::path::PathBuf;
use std::process::Command;

fn foster() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_foster"))
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// (p_type, p_flags) of every program header, and e_type
fn elf_headers(bytes: &[u8]) -> (Vec<(u32, u32)>, u16) {
    assert_eq!(&bytes[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(bytes[4], 2, "not a 64-bit ELF");
    let e_type = u16_at(bytes, 16);
    let phoff = u64_at(bytes, 32) as usize;
    let phentsize = u16_at(bytes, 54) as usize;
    let phnum = u16_at(bytes, 56) as usize;
    let types = (0..phnum)
        .map(|i| {
            let at = phoff + i * phentsize;
            (u32_at(bytes, at), u32_at(bytes, at + 4))
        })
        .collect();
    (types, e_type)
}

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const ET_EXEC: u16 = 2;
const PF_W: u32 = 2;

#[test]
fn static_no_interpreter_no_dynamic_section() {
    let bytes = std::fs::read(foster()).unwrap();
    let (headers, e_type) = elf_headers(&bytes);
    let types: Vec<u32> = headers.iter().map(|h| h.0).collect();
    assert_eq!(
        e_type, ET_EXEC,
        "foster must be a static, non-PIE executable"
    );
    assert!(
        !types.contains(&PT_INTERP),
        "foster asks for a dynamic loader"
    );
    assert!(!types.contains(&PT_DYNAMIC), "foster has a dynamic section");
    println!(
        "foster binary: {} bytes ({:.1} KiB)",
        bytes.len(),
        bytes.len() as f64 / 1024.0
    );
    if let Ok(out) = Command::new("file").arg(foster()).output() {
        let text = String::from_utf8_lossy(&out.stdout);
        println!("{}", text.trim());
        assert!(text.contains("statically linked"), "{text}");
    }
}

/// foster keeps its state in reserved mappings and on the stack: a writable
/// segment would be one more page resident in every foster for a few bytes
/// (it was an 8-byte GOT slot). musl triples link crt1.o's data, so x86_64
/// (the budget's binary) only.
#[cfg(target_arch = "x86_64")]
#[test]
fn no_writable_segment() {
    let bytes = std::fs::read(foster()).unwrap();
    let (headers, _) = elf_headers(&bytes);
    let loads: Vec<_> = headers.iter().filter(|h| h.0 == PT_LOAD).collect();
    assert!(!loads.is_empty(), "no PT_LOAD at all?");
    for (i, (_, flags)) in loads.iter().enumerate() {
        assert_eq!(
            flags & PF_W,
            0,
            "PT_LOAD #{i} is writable (flags {flags:#x}): see `readelf -lS` for what put data or a GOT there"
        );
    }
}

#[test]
fn no_core_panic_messages_in_the_binary() {
    let bytes = std::fs::read(foster()).unwrap();
    for needle in [
        &b"called `Option::unwrap()`"[..],
        b"called `Result::unwrap()`",
        b"index out of bounds",
        b"attempt to add with overflow",
        b"attempt to subtract with overflow",
        b"attempt to multiply with overflow",
        b"slice index starts at",
        b"range end index",
    ] {
        let found = bytes.windows(needle.len()).any(|w| w == needle);
        assert!(
            !found,
            "panic message {:?} is in the binary",
            String::from_utf8_lossy(needle)
        );
    }
}

/// Symbols need an unstripped build: made once into its own target dir.
#[test]
fn no_allocator_or_libc_symbols() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target").join("nostrip");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--bin",
            "foster",
            "--config",
            "profile.release.strip=false",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&root)
        .status()
        .unwrap();
    assert!(status.success());
    let bin = target.join("release").join("foster");
    let out = Command::new("nm")
        .arg(&bin)
        .output()
        .expect("nm (binutils) is needed");
    assert!(out.status.success());
    let syms = String::from_utf8_lossy(&out.stdout);
    // Each symbol's name, the last word of its `nm` line.
    let names: Vec<&str> = syms
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert!(
        syms.contains(" T _start") || syms.contains(" T __libc_start_main"),
        "no entry point?"
    );
    for bad in [
        "malloc",
        "free",
        "__rust_alloc",
        "__rust_dealloc",
        "__libc_malloc",
        "printf",
    ] {
        let hit = names
            .iter()
            .find(|name| **name == bad || name.starts_with(&format!("{bad}@")));
        assert!(hit.is_none(), "symbol {bad} is linked in");
    }
    // core::fmt costs kilobytes (and pulls in panic messages): none of it may
    // be linked. Mangled `core::fmt::..` paths hold `4core3fmt`, trait impls
    // such as `<T as core::fmt::Debug>` hold `core..fmt`.
    let fmt: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| name.contains("4core3fmt") || name.contains("core..fmt"))
        .collect();
    assert!(fmt.is_empty(), "core::fmt is linked in: {fmt:?}");
    // No code path can panic at all (no unchecked index, slice or split
    // survives the optimiser): `core::panicking` and the panic handler are
    // not linked. One such path alone costs about 150 B of panic plumbing.
    let panics: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| name.contains("9panicking") || name.contains("panicked"))
        .collect();
    assert!(panics.is_empty(), "a panic path is linked in: {panics:?}");
}
