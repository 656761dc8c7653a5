//! The "newc" (SVR4, no CRC) cpio format the kernel unpacks as an initramfs.
//!
//! Each member is a 110-byte ASCII header (`070701` and thirteen 8-digit hex
//! fields), the NUL-terminated name padded to a multiple of 4, then the data
//! padded to a multiple of 4. The archive ends with a `TRAILER!!!` member.

use std::io::{self, Write};

/// One member's header fields (what varies between members).
pub struct Header<'a> {
    pub ino: u32,
    pub mode: u32,
    pub nlink: u32,
    pub mtime: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    /// Path inside the archive, without a leading `/`.
    pub name: &'a str,
}

/// Writes one member: header, name and data, each padded to 4 bytes.
pub fn write_member(w: &mut impl Write, h: &Header<'_>, data: &[u8]) -> io::Result<()> {
    let filesize = u32::try_from(data.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file over 4 GiB"))?;
    let namesize = h.name.len() + 1;
    let fields = [
        h.ino,
        h.mode,
        0, // uid
        0, // gid
        h.nlink,
        h.mtime,
        filesize,
        0, // devmajor
        0, // devminor
        h.rdev_major,
        h.rdev_minor,
        namesize as u32,
        0, // check
    ];
    let mut head = String::with_capacity(110);
    head.push_str("070701");
    for f in fields {
        head.push_str(&format!("{f:08x}"));
    }
    w.write_all(head.as_bytes())?;
    w.write_all(h.name.as_bytes())?;
    w.write_all(&[0])?;
    pad(w, 110 + namesize)?;
    w.write_all(data)?;
    pad(w, data.len())
}

/// Writes the end-of-archive member.
pub fn write_trailer(w: &mut impl Write) -> io::Result<()> {
    let h = Header {
        ino: 0,
        mode: 0,
        nlink: 1,
        mtime: 0,
        rdev_major: 0,
        rdev_minor: 0,
        name: "TRAILER!!!",
    };
    write_member(w, &h, &[])
}

fn pad(w: &mut impl Write, len: usize) -> io::Result<()> {
    let n = (4 - len % 4) % 4;
    w.write_all(&[0u8; 3][..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_layout_is_aligned() {
        let mut out = Vec::new();
        let h = Header {
            ino: 1,
            mode: 0o100644,
            nlink: 1,
            mtime: 0,
            rdev_major: 0,
            rdev_minor: 0,
            name: "init",
        };
        write_member(&mut out, &h, b"abcde").unwrap();
        // 110 + "init\0" = 115 -> 116; data 5 -> 8.
        assert_eq!(out.len(), 116 + 8);
        assert_eq!(&out[..6], b"070701");
        assert_eq!(&out[6..14], b"00000001");
        assert_eq!(&out[14..22], b"000081a4");
        assert_eq!(&out[116..121], b"abcde");
    }
}
