//! The manifest text format (documented in the crate root): one entry per line,
//! applied in order to an [`Image`]; a later line for the same path replaces it.

use crate::{Error, Image, Result};
use std::path::Path;

/// Applies a manifest's lines to `img`. `name` is used in error messages and
/// `base` is the directory relative host paths are resolved against.
pub fn parse_manifest(img: &mut Image, text: &str, name: &str, base: &Path) -> Result<()> {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |msg: String| Error::Manifest {
            file: name.into(),
            line: i + 1,
            msg,
        };
        apply_line(img, line, base).map_err(|e| match e {
            Error::Manifest { msg, .. } => err(msg),
            other => err(other.to_string()),
        })?;
    }
    Ok(())
}

fn apply_line(img: &mut Image, line: &str, base: &Path) -> Result<()> {
    // A word starting with `#` ends the line (but `text` content is literal).
    let mut words = line.split_whitespace().take_while(|w| !w.starts_with('#'));
    let kind = words.next().unwrap_or_default();
    let usage = |u: &str| Error::Manifest {
        file: String::new(),
        line: 0,
        msg: format!("usage: {u}"),
    };
    let host = |p: &str| base.join(p);
    match kind {
        "file" => {
            let w: Vec<&str> = words.collect();
            let u = "file PATH SRC [MODE]";
            match w.as_slice() {
                [path, src] => img.add_file(path, &host(src), None),
                [path, src, mode] => img.add_file(path, &host(src), Some(octal(mode)?)),
                _ => Err(usage(u)),
            }
        }
        "dir" => {
            let w: Vec<&str> = words.collect();
            match w.as_slice() {
                [path] => img.add_dir(path, 0o755),
                [path, mode] => img.add_dir(path, octal(mode)?),
                _ => Err(usage("dir PATH [MODE]")),
            }
        }
        "symlink" => {
            let w: Vec<&str> = words.collect();
            match w.as_slice() {
                [path, target] => img.add_symlink(path, target),
                _ => Err(usage("symlink PATH TARGET")),
            }
        }
        "node" => {
            let w: Vec<&str> = words.collect();
            let u = "node PATH c|b MAJOR MINOR [MODE]";
            let (path, kind, maj, min, mode) = match w.as_slice() {
                [p, k, a, b] => (p, k, a, b, 0o600),
                [p, k, a, b, m] => (p, k, a, b, octal(m)?),
                _ => return Err(usage(u)),
            };
            let kind = match *kind {
                "c" => 'c',
                "b" => 'b',
                _ => return Err(usage(u)),
            };
            img.add_node(path, kind, number(maj)?, number(min)?, mode)
        }
        "busybox" => {
            let w: Vec<&str> = words.collect();
            match w.as_slice() {
                [dir] => img.add_busybox(dir, Path::new(crate::DEFAULT_BUSYBOX)),
                [dir, src] => img.add_busybox(dir, &host(src)),
                _ => Err(usage("busybox DIR [SRC]")),
            }
        }
        "text" => {
            // The content is the rest of the line after PATH and MODE, unescaped.
            let (_, rest) = take_word(line);
            let (path, rest) = take_word(rest);
            let (mode, rest) = take_word(rest);
            if path.is_empty() || mode.is_empty() {
                return Err(usage("text PATH MODE CONTENT"));
            }
            img.add_bytes(path, unescape(rest)?, octal(mode)?)
        }
        _ => Err(Error::Manifest {
            file: String::new(),
            line: 0,
            msg: format!(
                "unknown entry kind {kind:?} (expected file, dir, symlink, node, busybox or text)"
            ),
        }),
    }
}

/// The first blank-separated word and the rest (leading blanks removed).
fn take_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (&s[..end], s[end..].trim_start())
}

fn manifest_err(msg: String) -> Error {
    Error::Manifest {
        file: String::new(),
        line: 0,
        msg,
    }
}

fn octal(s: &str) -> Result<u32> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| manifest_err(format!("bad mode {s:?}: expected octal permission bits")))
}

fn number(s: &str) -> Result<u32> {
    s.parse()
        .map_err(|_| manifest_err(format!("bad number {s:?}")))
}

fn unescape(s: &str) -> Result<String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('s') => out.push(' '),
            Some('\\') => out.push('\\'),
            other => {
                return Err(manifest_err(format!(
                    "bad escape \\{}",
                    other.unwrap_or(' ')
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Node;

    #[test]
    fn all_kinds() {
        let mut img = Image::empty();
        let text = "# comment\n\
                    dir /proc\n\
                    dir /tmp 1777\n\
                    symlink /bin/sh busybox\n\
                    node /dev/tty c 5 0 0666\n\
                    text /etc/hostname 0644 foster\\n\n";
        parse_manifest(&mut img, text, "m", Path::new("/")).unwrap();
        assert_eq!(img.get("/tmp"), Some(&Node::Dir { mode: 0o1777 }));
        assert_eq!(
            img.get("/etc/hostname"),
            Some(&Node::File {
                data: b"foster\n".to_vec(),
                mode: 0o644
            })
        );
        assert_eq!(
            img.get("/dev/tty"),
            Some(&Node::CharDev {
                major: 5,
                minor: 0,
                mode: 0o666
            })
        );
    }

    #[test]
    fn a_comment_can_end_a_line_but_not_text() {
        let mut img = Image::empty();
        let text = "dir /proc 0700   # MODE optional, default 0755\n\
                    symlink /bin/sh busybox # the shell\n\
                    node /dev/tty c 5 0 # default mode\n\
                    text /etc/motd 0644 a # b\n";
        parse_manifest(&mut img, text, "m", Path::new("/")).unwrap();
        assert_eq!(img.get("/proc"), Some(&Node::Dir { mode: 0o700 }));
        assert_eq!(
            img.get("/bin/sh"),
            Some(&Node::Symlink {
                target: "busybox".into()
            })
        );
        assert!(matches!(
            img.get("/dev/tty"),
            Some(Node::CharDev { mode: 0o600, .. })
        ));
        assert_eq!(
            img.get("/etc/motd"),
            Some(&Node::File {
                data: b"a # b".to_vec(),
                mode: 0o644
            })
        );
    }

    #[test]
    fn errors_name_the_line() {
        let mut img = Image::empty();
        let e = parse_manifest(&mut img, "dir /a\nfrob /x\n", "m.txt", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.txt:2: unknown entry kind"), "{e}");
        let e = parse_manifest(&mut img, "dir /a 999\n", "m.txt", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("m.txt:1: bad mode"), "{e}");
        let e = parse_manifest(&mut img, "file /x /nonexistent/file\n", "m", Path::new("/"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unable to read /nonexistent/file"), "{e}");
    }
}
