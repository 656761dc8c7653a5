//! Just enough ELF reading to tell whether an executable needs a dynamic loader.
//!
//! An initramfs has no `ld.so` and no shared libraries, so `/init` must be static:
//! no `PT_INTERP` program header and no `DT_NEEDED` entry in its dynamic section.
//! A static-pie binary has a `PT_DYNAMIC` segment (for its self-relocation) but
//! neither of those, and is accepted. Both classes (32/64-bit) and both byte
//! orders are read, so images for other architectures are checked the same way.

use std::fmt;

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;

/// Why an executable cannot run as a static program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linkage {
    /// Statically linked (including static-pie).
    Static,
    /// Has a `PT_INTERP` header naming this loader.
    Interpreter(String),
    /// Has `DT_NEEDED` entries (shared libraries) but no interpreter.
    Needed(usize),
}

/// The file is not an ELF executable this module can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotElf(pub &'static str);

impl fmt::Display for NotElf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// The `e_machine` field, for "is this the host's architecture" checks.
pub fn machine(data: &[u8]) -> Result<u16, NotElf> {
    Ok(Header::read(data)?.machine)
}

/// `EM_*` value of the architecture this tool was built for (0 if unknown).
pub fn host_machine() -> u16 {
    match std::env::consts::ARCH {
        "x86" => 3,
        "arm" => 40,
        "x86_64" => 62,
        "aarch64" => 183,
        "riscv64" => 243,
        _ => 0,
    }
}

/// Classifies an ELF file's linkage.
pub fn linkage(data: &[u8]) -> Result<Linkage, NotElf> {
    let h = Header::read(data)?;
    let mut dynamic = None;
    for i in 0..h.phnum {
        let off = h.phoff + i * h.phentsize;
        let p_type = h.u32(data, off)?;
        let (p_offset, p_filesz) = if h.is64 {
            (h.u64(data, off + 8)?, h.u64(data, off + 32)?)
        } else {
            (h.u32(data, off + 4)? as u64, h.u32(data, off + 16)? as u64)
        };
        let seg = data
            .get(p_offset as usize..(p_offset.saturating_add(p_filesz)) as usize)
            .ok_or(NotElf("program header points past the end of the file"))?;
        match p_type {
            PT_INTERP => {
                let name = seg.split(|&b| b == 0).next().unwrap_or_default();
                return Ok(Linkage::Interpreter(
                    String::from_utf8_lossy(name).into_owned(),
                ));
            }
            PT_DYNAMIC => dynamic = Some(seg),
            _ => {}
        }
    }
    let Some(dynamic) = dynamic else {
        return Ok(Linkage::Static);
    };
    let entsize = if h.is64 { 16 } else { 8 };
    let mut needed = 0;
    for ent in dynamic.chunks_exact(entsize) {
        let tag = if h.is64 {
            h.u64(ent, 0)?
        } else {
            h.u32(ent, 0)? as u64
        };
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed += 1,
            _ => {}
        }
    }
    Ok(if needed == 0 {
        Linkage::Static
    } else {
        Linkage::Needed(needed)
    })
}

struct Header {
    is64: bool,
    little: bool,
    machine: u16,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
}

impl Header {
    fn read(data: &[u8]) -> Result<Header, NotElf> {
        if data.get(..4) != Some(b"\x7fELF") {
            return Err(NotElf("not an ELF file"));
        }
        let is64 = match data.get(4) {
            Some(1) => false,
            Some(2) => true,
            _ => return Err(NotElf("unknown ELF class")),
        };
        let little = match data.get(5) {
            Some(1) => true,
            Some(2) => false,
            _ => return Err(NotElf("unknown ELF byte order")),
        };
        let mut h = Header {
            is64,
            little,
            machine: 0,
            phoff: 0,
            phentsize: 0,
            phnum: 0,
        };
        h.machine = h.u16(data, 18)?;
        if is64 {
            h.phoff = h.u64(data, 32)?;
            h.phentsize = h.u16(data, 54)? as u64;
            h.phnum = h.u16(data, 56)? as u64;
        } else {
            h.phoff = h.u32(data, 28)? as u64;
            h.phentsize = h.u16(data, 42)? as u64;
            h.phnum = h.u16(data, 44)? as u64;
        }
        let min = if is64 { 56 } else { 32 };
        if h.phnum > 0 && h.phentsize < min {
            return Err(NotElf("program header entries too small"));
        }
        Ok(h)
    }

    fn bytes<const N: usize>(&self, data: &[u8], off: u64) -> Result<[u8; N], NotElf> {
        let start = usize::try_from(off).map_err(|_| NotElf("offset out of range"))?;
        let mut b: [u8; N] = data
            .get(start..start + N)
            .and_then(|s| s.try_into().ok())
            .ok_or(NotElf("truncated ELF file"))?;
        if !self.little {
            b.reverse();
        }
        Ok(b)
    }
    fn u16(&self, data: &[u8], off: u64) -> Result<u16, NotElf> {
        Ok(u16::from_le_bytes(self.bytes(data, off)?))
    }
    fn u32(&self, data: &[u8], off: u64) -> Result<u32, NotElf> {
        Ok(u32::from_le_bytes(self.bytes(data, off)?))
    }
    fn u64(&self, data: &[u8], off: u64) -> Result<u64, NotElf> {
        Ok(u64::from_le_bytes(self.bytes(data, off)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &str) -> Option<Vec<u8>> {
        std::fs::read(path).ok()
    }

    #[test]
    fn host_dynamic_binary_has_an_interpreter() {
        let data = read("/bin/sh")
            .or_else(|| read("/bin/ls"))
            .expect("a host binary");
        assert!(matches!(linkage(&data), Ok(Linkage::Interpreter(_))));
    }

    #[test]
    fn shared_library_needs_libraries() {
        // libm needs libc but has no interpreter.
        for p in [
            "/lib/x86_64-linux-gnu/libm.so.6",
            "/usr/lib/x86_64-linux-gnu/libm.so.6",
        ] {
            if let Some(data) = read(p) {
                assert!(matches!(linkage(&data), Ok(Linkage::Needed(_))));
                return;
            }
        }
    }

    #[test]
    fn static_busybox_is_static() {
        if let Some(data) = read("/bin/busybox") {
            if matches!(linkage(&data), Ok(Linkage::Interpreter(_))) {
                return; // a dynamic host busybox: nothing to check here
            }
            assert_eq!(linkage(&data), Ok(Linkage::Static));
        }
    }

    #[test]
    fn garbage_is_not_elf() {
        assert!(linkage(b"#!/bin/sh\n").is_err());
        assert!(linkage(b"\x7fELF\x02\x01").is_err());
    }
}
