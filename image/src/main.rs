//! `image`: build a reproducible initramfs from manifests and flags.
//! See the library documentation for the manifest format.

use image::Image;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: image [OPTIONS] -o OUT

Builds a reproducible initramfs (newc cpio, gzip with -z). On top of the
default /dev/console and /dev/null, manifests and the flags below apply in
command-line order: a later entry for a path replaces an earlier one.

  -o, --output FILE      where to write the image (required unless --list)
  -m, --manifest FILE    apply a manifest (repeatable; relative host paths are
                         relative to the manifest's directory)
      --init FILE        copy FILE to /init (must be a static executable)
      --file PATH=SRC    copy host file SRC to PATH (repeatable)
      --busybox[=SRC]    BusyBox (default /bin/busybox) at /bin/busybox with
                         a symlink per applet in /bin
      --inittab FILE     copy FILE to /etc/inittab
      --no-dev-nodes     leave out /dev/console and /dev/null
      --mtime SECS       mtime of every entry (default SOURCE_DATE_EPOCH or 0)
  -z, --gzip             gzip the archive
  -l, --list             print the entries instead of (or as well as) writing
  -h, --help             this help

Manifest lines:  file PATH SRC [MODE] | dir PATH [MODE] | symlink PATH TARGET
  | node PATH c|b MAJOR MINOR [MODE] | busybox DIR [SRC] | text PATH MODE CONTENT
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("image: {msg}");
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    image::checked_source_date_epoch()?;
    let mut img = Image::new();
    let mut out: Option<PathBuf> = None;
    let mut gzip = false;
    let mut list = false;
    let e = |err: image::Error| err.to_string();
    while let Some(arg) = parser.next().map_err(|e| e.to_string())? {
        match arg {
            Short('o') | Long("output") => out = Some(parser.value().map_err(s)?.into()),
            Short('m') | Long("manifest") => {
                let path: PathBuf = parser.value().map_err(s)?.into();
                let (text, base) = if path == Path::new("-") {
                    let text = std::io::read_to_string(std::io::stdin())
                        .map_err(|err| format!("unable to read stdin: {err}"))?;
                    (text, std::env::current_dir().unwrap_or_default())
                } else {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|err| format!("unable to read {}: {err}", path.display()))?;
                    let base = path.parent().unwrap_or(Path::new("")).to_path_buf();
                    (text, base)
                };
                image::parse_manifest(&mut img, &text, &path.display().to_string(), &base)
                    .map_err(e)?;
            }
            Long("init") => {
                let src: PathBuf = parser.value().map_err(s)?.into();
                img.add_file("/init", &src, Some(0o755)).map_err(e)?;
            }
            Long("file") => {
                let v = parser.value().map_err(s)?.string().map_err(s)?;
                let (path, src) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--file wants PATH=SRC, not {v:?}"))?;
                img.add_file(path, Path::new(src), None).map_err(e)?;
            }
            Long("busybox") => {
                let src: PathBuf = match parser.optional_value() {
                    Some(v) => v.into(),
                    None => image::DEFAULT_BUSYBOX.into(),
                };
                img.add_busybox("/bin", &src).map_err(e)?;
            }
            Long("inittab") => {
                let src: PathBuf = parser.value().map_err(s)?.into();
                img.add_file("/etc/inittab", &src, Some(0o644)).map_err(e)?;
            }
            Long("no-dev-nodes") => {
                img.remove("/dev/console");
                img.remove("/dev/null");
            }
            Long("mtime") => {
                let v: u32 = parser.value().map_err(s)?.parse().map_err(s)?;
                img.set_mtime(v);
            }
            Short('z') | Long("gzip") => gzip = true,
            Short('l') | Long("list") => list = true,
            Short('h') | Long("help") => {
                print!("{USAGE}");
                return Ok(());
            }
            _ => return Err(format!("{}\n{USAGE}", arg.unexpected())),
        }
    }
    if list {
        print_listing(&img);
    }
    match out {
        Some(out) => img.write_to_file(&out, gzip).map_err(e),
        None if list => Ok(()),
        None => Err(format!("missing -o OUT\n{USAGE}")),
    }
}

fn s(err: lexopt::Error) -> String {
    err.to_string()
}

fn print_listing(img: &Image) {
    use image::Node;
    for (path, node) in img.entries() {
        match node {
            Node::File { data, mode } => {
                println!("file    {mode:04o} {path} ({} bytes)", data.len())
            }
            Node::Dir { mode } => println!("dir     {mode:04o} {path}"),
            Node::Symlink { target } => println!("symlink      {path} -> {target}"),
            Node::CharDev { major, minor, mode } => {
                println!("node    {mode:04o} {path} c {major}:{minor}")
            }
            Node::BlockDev { major, minor, mode } => {
                println!("node    {mode:04o} {path} b {major}:{minor}")
            }
        }
    }
}
