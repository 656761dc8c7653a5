//! Reproducible initramfs images for foster: a newc cpio archive, optionally gzip'd.
//!
//! An [`Image`] is a sorted map from absolute path to [`Node`]; writing it is a pure
//! function of that map and the fixed mtime, so two builds from the same inputs are
//! byte-for-byte identical: entries sorted by path (so a directory precedes its
//! contents), uid/gid 0, one mtime for all (0, or `SOURCE_DATE_EPOCH`), inode
//! numbers assigned 1, 2, 3... in that order, and a gzip header with no name and
//! no timestamp. Parent directories are created automatically (mode 0755), and
//! `/dev/console` (c 5:1) and `/dev/null` (c 1:3) are present unless removed, so
//! the kernel has a console before anything mounts devtmpfs.
//!
//! `/init` must be a static executable: an initramfs has no dynamic loader, and a
//! kernel that cannot exec `/init` panics with an unhelpful message. [`Image::write`]
//! follows `/init` through symlinks inside the image and refuses an executable with
//! a `PT_INTERP` header or `DT_NEEDED` entries (static-pie is fine).
//!
//! # Manifest format
//!
//! One entry per line; blank lines and lines starting with `#` are ignored, and
//! a word starting with `#` starts a comment (except in `text` content); fields
//! are separated by blanks (paths cannot contain blanks). `MODE` is octal
//! permission bits. Relative host paths are relative to the manifest's directory.
//!
//! ```text
//! file    /init ./target/release/foster 0755   # copy a host file (MODE optional:
//!                                              # 0755 if the host file is executable, else 0644)
//! dir     /proc 0755                           # MODE optional, default 0755
//! symlink /bin/sh busybox                      # PATH TARGET
//! node    /dev/console c 5 1 0600              # c|b MAJOR MINOR [MODE], default 0600
//! busybox /bin [/bin/busybox]                  # DIR/busybox and a symlink per applet
//! text    /etc/hostname 0644 foster\n          # inline content, \n \t \\ \s(space) escapes
//! ```
//!
//! `busybox DIR [SRC]` copies `SRC` (default `/bin/busybox`) to `DIR/busybox` and adds
//! `DIR/<applet> -> busybox` for every applet. The applet list comes from running
//! `SRC --list` when `SRC` is an executable for the host's architecture, otherwise
//! from the host's `/bin/busybox --list` (same BusyBox version assumed).
#![deny(unsafe_code)]

mod cpio;
pub mod elf;
mod manifest;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub use manifest::parse_manifest;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;
const S_IFBLK: u32 = 0o060000;

/// Host path of the BusyBox binary used when none is named.
pub const DEFAULT_BUSYBOX: &str = "/bin/busybox";

/// One member of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File { data: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
    Symlink { target: String },
    CharDev { major: u32, minor: u32, mode: u32 },
    BlockDev { major: u32, minor: u32, mode: u32 },
}

/// Everything that can go wrong building an image; messages read
/// "unable to <verb> <object>: <reason>".
#[derive(Debug)]
pub enum Error {
    /// A host file could not be read or a program not run.
    Io { what: String, err: io::Error },
    /// A manifest line is wrong: file, line, message.
    Manifest {
        file: String,
        line: usize,
        msg: String,
    },
    /// A path is not absolute, has `..`, or clashes with another entry.
    Path { path: String, msg: String },
    /// `/init` (or another checked executable) needs a dynamic loader.
    NotStatic { path: String, why: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { what, err } => write!(f, "unable to {what}: {err}"),
            Error::Manifest { file, line, msg } => write!(f, "{file}:{line}: {msg}"),
            Error::Path { path, msg } => write!(f, "{path}: {msg}"),
            Error::NotStatic { path, why } => write!(
                f,
                "{path} is not a static executable ({why}); an initramfs has no dynamic \
                 loader: build it static (e.g. --target x86_64-unknown-linux-musl)"
            ),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An initramfs being assembled. Paths are absolute (`/init`, `/dev/null`).
#[derive(Debug, Clone)]
pub struct Image {
    entries: BTreeMap<String, Node>,
    mtime: u32,
}

impl Default for Image {
    fn default() -> Self {
        Self::new()
    }
}

impl Image {
    /// An image holding `/dev/console` and `/dev/null`, with the mtime from
    /// `SOURCE_DATE_EPOCH` (or 0).
    pub fn new() -> Image {
        let mut img = Image::empty();
        img.mtime = source_date_epoch();
        img.add_default_nodes();
        img
    }

    /// An image with nothing in it, mtime 0.
    pub fn empty() -> Image {
        Image {
            entries: BTreeMap::new(),
            mtime: 0,
        }
    }

    /// Sets the one mtime every member gets.
    pub fn set_mtime(&mut self, mtime: u32) {
        self.mtime = mtime;
    }

    /// Adds `/dev/console` (c 5:1, 0600) and `/dev/null` (c 1:3, 0666).
    pub fn add_default_nodes(&mut self) {
        for (path, major, minor, mode) in
            [("/dev/console", 5, 1, 0o600), ("/dev/null", 1, 3, 0o666)]
        {
            self.insert(path, Node::CharDev { major, minor, mode })
                .expect("fixed, valid paths");
        }
    }

    /// Removes an entry (and, for a directory, everything under it).
    pub fn remove(&mut self, path: &str) {
        let Ok(path) = normalize(path) else { return };
        let prefix = format!("{path}/");
        self.entries
            .retain(|p, _| p != &path && !p.starts_with(&prefix));
    }

    /// Adds or replaces an entry; missing parent directories are created 0755.
    /// Replacing a directory by a non-directory (or the reverse) is an error.
    pub fn insert(&mut self, path: &str, node: Node) -> Result<()> {
        let path = normalize(path)?;
        let mut parent = String::new();
        let comps: Vec<&str> = path.split('/').skip(1).collect();
        for c in &comps[..comps.len() - 1] {
            parent.push('/');
            parent.push_str(c);
            match self.entries.get(&parent) {
                None => {
                    self.entries
                        .insert(parent.clone(), Node::Dir { mode: 0o755 });
                }
                Some(Node::Dir { .. }) => {}
                Some(_) => {
                    return Err(Error::Path {
                        path: path.clone(),
                        msg: format!("parent {parent} is not a directory"),
                    })
                }
            }
        }
        match (self.entries.get(&path), &node) {
            (Some(Node::Dir { .. }), Node::Dir { .. }) | (None, _) => {}
            (Some(Node::Dir { .. }), _) if self.has_children(&path) => {
                return Err(Error::Path {
                    path,
                    msg: "is a directory with contents; cannot replace it".into(),
                })
            }
            (Some(_), _) => {}
        }
        self.entries.insert(path, node);
        Ok(())
    }

    fn has_children(&self, dir: &str) -> bool {
        let prefix = format!("{dir}/");
        self.entries
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&prefix))
    }

    /// Adds a file with the given content and permission bits.
    pub fn add_bytes(&mut self, path: &str, data: impl Into<Vec<u8>>, mode: u32) -> Result<()> {
        self.insert(
            path,
            Node::File {
                data: data.into(),
                mode: mode & 0o7777,
            },
        )
    }

    /// Copies a host file; `mode` `None` means 0755 if the host file has any
    /// execute bit, else 0644 (never the host's exact bits, for reproducibility).
    pub fn add_file(&mut self, path: &str, src: &Path, mode: Option<u32>) -> Result<()> {
        let data = std::fs::read(src).map_err(|err| Error::Io {
            what: format!("read {}", src.display()),
            err,
        })?;
        let mode = match mode {
            Some(m) => m,
            None => {
                use std::os::unix::fs::PermissionsExt;
                let host = std::fs::metadata(src)
                    .map(|m| m.permissions().mode())
                    .unwrap_or(0);
                if host & 0o111 != 0 {
                    0o755
                } else {
                    0o644
                }
            }
        };
        self.add_bytes(path, data, mode)
    }

    /// Adds a directory.
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        self.insert(
            path,
            Node::Dir {
                mode: mode & 0o7777,
            },
        )
    }

    /// Adds a symlink `path -> target` (target stored as given).
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<()> {
        self.insert(
            path,
            Node::Symlink {
                target: target.into(),
            },
        )
    }

    /// Adds a character (`'c'`) or block (`'b'`) device node.
    pub fn add_node(
        &mut self,
        path: &str,
        kind: char,
        major: u32,
        minor: u32,
        mode: u32,
    ) -> Result<()> {
        // The kernel's dev_t has 12 bits of major and 20 of minor: a larger
        // number would silently make another device's node.
        if major > 0xfff || minor > 0xf_ffff {
            return Err(Error::Path {
                path: path.into(),
                msg: format!("device {major}:{minor} out of range (major 0-4095, minor 0-1048575)"),
            });
        }
        let mode = mode & 0o7777;
        let node = match kind {
            'c' => Node::CharDev { major, minor, mode },
            'b' => Node::BlockDev { major, minor, mode },
            _ => {
                return Err(Error::Path {
                    path: path.into(),
                    msg: format!("node type must be c or b, not {kind}"),
                })
            }
        };
        self.insert(path, node)
    }

    /// Copies BusyBox to `dir/busybox` and links every applet to it.
    pub fn add_busybox(&mut self, dir: &str, src: &Path) -> Result<()> {
        let dir = normalize(dir)?;
        self.add_file(&format!("{dir}/busybox"), src, Some(0o755))?;
        for applet in busybox_applets(src)? {
            let path = format!("{dir}/{applet}");
            // Never shadow something the caller put there on purpose.
            if !self.entries.contains_key(&path) {
                self.add_symlink(&path, "busybox")?;
            }
        }
        Ok(())
    }

    /// The entry at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.entries.get(&normalize(path).ok()?)
    }

    /// All entries, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// Checks that the executable at `path` (following symlinks inside the image)
    /// is static. A missing path is not an error here.
    pub fn check_static(&self, path: &str) -> Result<()> {
        let mut cur = normalize(path)?;
        for _ in 0..16 {
            match self.entries.get(&cur) {
                None => return Ok(()),
                Some(Node::Symlink { target }) => {
                    cur = if target.starts_with('/') {
                        target.clone()
                    } else {
                        let parent = cur.rsplit_once('/').map_or("", |(p, _)| p);
                        format!("{parent}/{target}")
                    };
                    cur = normalize_dots(&cur);
                }
                Some(Node::File { data, .. }) => {
                    return check_static_bytes(path, data);
                }
                Some(_) => {
                    return Err(Error::NotStatic {
                        path: path.into(),
                        why: "not a regular file".into(),
                    })
                }
            }
        }
        Err(Error::NotStatic {
            path: path.into(),
            why: "too many levels of symlinks".into(),
        })
    }

    /// Writes the uncompressed cpio archive, after checking that `/init` is static.
    pub fn write(&self, w: &mut impl Write) -> Result<()> {
        self.check_static("/init")?;
        self.write_cpio(w).map_err(|err| Error::Io {
            what: "write the image".into(),
            err,
        })
    }

    fn write_cpio(&self, w: &mut impl Write) -> io::Result<()> {
        for (i, (path, node)) in self.entries.iter().enumerate() {
            let (mode, nlink, rmaj, rmin, data): (u32, u32, u32, u32, &[u8]) = match node {
                Node::File { data, mode } => (S_IFREG | mode, 1, 0, 0, data),
                Node::Dir { mode } => (S_IFDIR | mode, 2, 0, 0, &[]),
                Node::Symlink { target } => (S_IFLNK | 0o777, 1, 0, 0, target.as_bytes()),
                Node::CharDev { major, minor, mode } => (S_IFCHR | mode, 1, *major, *minor, &[]),
                Node::BlockDev { major, minor, mode } => (S_IFBLK | mode, 1, *major, *minor, &[]),
            };
            let h = cpio::Header {
                ino: i as u32 + 1,
                mode,
                nlink,
                mtime: self.mtime,
                rdev_major: rmaj,
                rdev_minor: rmin,
                name: &path[1..],
            };
            cpio::write_member(w, &h, data)?;
        }
        cpio::write_trailer(w)
    }

    /// The archive as bytes, gzip'd (best compression, no name, mtime 0) if asked.
    pub fn to_bytes(&self, gzip: bool) -> Result<Vec<u8>> {
        let mut cpio = Vec::new();
        self.write(&mut cpio)?;
        if !gzip {
            return Ok(cpio);
        }
        let io_err = |err| Error::Io {
            what: "compress the image".into(),
            err,
        };
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        gz.write_all(&cpio).map_err(io_err)?;
        gz.finish().map_err(io_err)
    }

    /// Writes the image to a host file (atomically: a temporary file renamed
    /// over), or straight into an existing non-regular file (`/dev/stdout`, a
    /// FIFO, a link to a device), which a rename would replace.
    pub fn write_to_file(&self, out: &Path, gzip: bool) -> Result<()> {
        let bytes = self.to_bytes(gzip)?;
        let res = if std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
            std::fs::write(out, &bytes)
        } else {
            let mut tmp = PathBuf::from(out);
            tmp.as_mut_os_string()
                .push(format!(".tmp{}", std::process::id()));
            let res = std::fs::write(&tmp, &bytes).and_then(|_| std::fs::rename(&tmp, out));
            if res.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            res
        };
        res.map_err(|err| Error::Io {
            what: format!("write {}", out.display()),
            err,
        })
    }
}

/// Checks an executable's bytes: `Ok` if static (or static-pie).
/// A `#!` script is accepted too: the kernel runs its interpreter, which the
/// image must then hold (and which is checked when it is `/init` itself).
pub fn check_static_bytes(path: &str, data: &[u8]) -> Result<()> {
    if data.starts_with(b"#!") {
        return Ok(());
    }
    let why = match elf::linkage(data) {
        Ok(elf::Linkage::Static) => return Ok(()),
        Ok(elf::Linkage::Interpreter(interp)) => format!("it asks for the loader {interp}"),
        Ok(elf::Linkage::Needed(n)) => format!(
            "it needs {n} shared librar{}",
            if n == 1 { "y" } else { "ies" }
        ),
        Err(e) => e.to_string(),
    };
    Err(Error::NotStatic {
        path: path.into(),
        why,
    })
}

/// Checks a host file the same way (for test binaries before they are packed).
pub fn check_static_file(path: &Path) -> Result<()> {
    let data = std::fs::read(path).map_err(|err| Error::Io {
        what: format!("read {}", path.display()),
        err,
    })?;
    check_static_bytes(&path.display().to_string(), &data)
}

/// BusyBox's applet names, from `src --list` if it runs here, else the host's
/// `/bin/busybox --list`.
pub fn busybox_applets(src: &Path) -> Result<Vec<String>> {
    let data = std::fs::read(src).map_err(|err| Error::Io {
        what: format!("read {}", src.display()),
        err,
    })?;
    let runnable = elf::machine(&data).is_ok_and(|m| m == elf::host_machine());
    let lister = if runnable {
        src
    } else {
        Path::new(DEFAULT_BUSYBOX)
    };
    let out = std::process::Command::new(lister)
        .arg("--list")
        .output()
        .map_err(|err| Error::Io {
            what: format!("run {} --list", lister.display()),
            err,
        })?;
    if !out.status.success() {
        return Err(Error::Io {
            what: format!("run {} --list", lister.display()),
            err: io::Error::other(format!("{}", out.status)),
        });
    }
    let mut applets: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|a| !a.is_empty() && !a.contains('/') && *a != "busybox")
        .map(String::from)
        .collect();
    applets.sort();
    applets.dedup();
    Ok(applets)
}

/// `SOURCE_DATE_EPOCH` if set and valid, else 0.
pub fn source_date_epoch() -> u32 {
    checked_source_date_epoch().ok().flatten().unwrap_or(0)
}

/// `SOURCE_DATE_EPOCH`: `None` when unset or empty, an error when it is not
/// a number of seconds a newc header holds (the reproducible-builds
/// specification asks a build to fail on a malformed value, not to go on
/// with another date).
pub fn checked_source_date_epoch() -> Result<Option<u32>, String> {
    let v = match std::env::var("SOURCE_DATE_EPOCH") {
        Err(std::env::VarError::NotPresent) => return Ok(None),
        Ok(v) if v.is_empty() => return Ok(None),
        v => v.ok(),
    };
    v.filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| "SOURCE_DATE_EPOCH must be seconds since 1970 from 0 to 4294967295".into())
}

/// `/a//b/` -> `/a/b`; must be absolute, not the root, no `.`/`..` components.
fn normalize(path: &str) -> Result<String> {
    let bad = |msg: &str| Error::Path {
        path: path.into(),
        msg: msg.into(),
    };
    if !path.starts_with('/') {
        return Err(bad("path in the image must be absolute"));
    }
    let mut out = String::new();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        if c == "." || c == ".." {
            return Err(bad("path must not contain . or .."));
        }
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        return Err(bad("the root directory cannot be an entry"));
    }
    Ok(out)
}

/// Resolves `.` and `..` lexically (for following symlinks inside the image).
fn normalize_dots(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        match c {
            "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_created_and_sorted() {
        let mut img = Image::empty();
        img.add_bytes("/etc/inittab", "x", 0o644).unwrap();
        img.add_symlink("/bin/sh", "busybox").unwrap();
        let paths: Vec<_> = img.entries().map(|(p, _)| p).collect();
        assert_eq!(paths, ["/bin", "/bin/sh", "/etc", "/etc/inittab"]);
    }

    #[test]
    fn default_nodes() {
        let img = Image::new();
        assert_eq!(
            img.get("/dev/console"),
            Some(&Node::CharDev {
                major: 5,
                minor: 1,
                mode: 0o600
            })
        );
        assert!(img.get("/dev/null").is_some());
        assert!(matches!(img.get("/dev"), Some(Node::Dir { .. })));
    }

    #[test]
    fn device_numbers_the_kernel_cannot_hold_are_refused() {
        let mut img = Image::empty();
        img.add_node("/dev/a", 'c', 4095, 0xf_ffff, 0o600).unwrap();
        let e = img.add_node("/dev/b", 'c', 4096, 1, 0o600).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        assert!(img.add_node("/dev/c", 'b', 1, 0x10_0000, 0o600).is_err());
    }

    #[test]
    fn bad_paths() {
        let mut img = Image::empty();
        assert!(img.add_dir("relative", 0o755).is_err());
        assert!(img.add_dir("/a/../b", 0o755).is_err());
        assert!(img.add_dir("/", 0o755).is_err());
        img.add_bytes("/f", "", 0o644).unwrap();
        assert!(img.add_bytes("/f/g", "", 0o644).is_err());
    }

    #[test]
    fn output_is_deterministic_and_gzip_has_no_timestamp() {
        let mut img = Image::new();
        img.set_mtime(0);
        img.add_bytes("/hello", "hi\n", 0o644).unwrap();
        let a = img.to_bytes(true).unwrap();
        let b = img.clone().to_bytes(true).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[..2], &[0x1f, 0x8b]);
        assert_eq!(&a[4..8], &[0, 0, 0, 0], "gzip MTIME must be 0");
        assert_eq!(a[3] & 0x08, 0, "no FNAME in the gzip header");
        let raw = img.to_bytes(false).unwrap();
        assert!(raw.ends_with(&[0; 0]));
        assert_eq!(raw.len() % 4, 0);
    }

    #[test]
    fn output_that_is_not_a_regular_file_is_written_through() {
        // `-o /dev/stdout`, a FIFO, or a link to /dev/null: renaming a
        // temporary file over it would replace the device or link.
        let dir = std::env::temp_dir().join(format!("image-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        std::os::unix::fs::symlink("/dev/null", &out).unwrap();
        let mut img = Image::new();
        img.add_bytes("/hello", "hi\n", 0o644).unwrap();
        img.write_to_file(&out, false).unwrap();
        let kind = std::fs::symlink_metadata(&out).unwrap().file_type();
        let left = std::fs::read_dir(&dir).unwrap().count();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(kind.is_symlink(), "the link to /dev/null was replaced");
        assert_eq!(left, 1, "a temporary file was left behind");
    }

    #[test]
    fn dynamic_init_is_refused_through_a_symlink() {
        let Ok(sh) = std::fs::read("/bin/sh") else {
            return;
        };
        let mut img = Image::new();
        img.add_bytes("/bin/dash", sh, 0o755).unwrap();
        img.add_symlink("/init", "bin/dash").unwrap();
        let err = img.to_bytes(false).unwrap_err().to_string();
        assert!(err.contains("/init is not a static executable"), "{err}");
    }
}
