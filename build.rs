// Two jobs: the catalog of foster's message texts (see `catalog`), and the
// link. The foster binary has its own `_start` and links no C runtime: static,
// no PIE, no dynamic section. The flags apply to the binary only, so the
// library's unit tests and the host tools link normally.
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    catalog(Path::new(&dir));
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    if !target.contains("linux") {
        return;
    }
    // The split needs code without writable data; only x86_64 is compiled
    // so (relocation-model=static, .cargo/config.toml). Elsewhere the code
    // is one segment, with the data the target's code model brings.
    let split = target.starts_with("x86_64");
    let script = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("layout.ld");
    let text = match split {
        true => layout(),
        false => format!("SECTIONS\n{{\n  {DISCARD}\n}}\nINSERT AFTER .text;\n"),
    };
    if let Err(e) = std::fs::write(&script, text) {
        panic!("unable to write {}: {e}", script.display());
    }
    let script = script.display();
    // Unsplit: read-only data in the code's segment, one mapping instead of
    // two that share a page (4 kB less resident, one program header less).
    let one_segment = (!split).then_some("--no-rosegment");
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
        ] {
            println!("cargo:rustc-link-arg-bin=foster={arg}");
        }
        if let Some(arg) = one_segment {
            println!("cargo:rustc-link-arg-bin=foster=-Wl,{arg}");
        }
        println!("cargo:rustc-link-arg-bin=foster=-Wl,-T,{script}");
    } else {
        // Cross targets link with rust-lld (see .cargo/config.toml): plain ld flags.
        for arg in [
            "-nostdlib",
            "-static",
            "--no-pie",
            "--build-id=none",
            "--icf=all",
        ]
        .into_iter()
        .chain(one_segment)
        {
            println!("cargo:rustc-link-arg-bin=foster={arg}");
        }
        println!("cargo:rustc-link-arg-bin=foster=-T{script}");
    }
}

/// Code a supervising foster never runs: the other modes, the end, error
/// reports, and a child's set-up between fork and exec (the child's own
/// pages, not foster's). A path names a module or type and all within it; a
/// path ending in `()` names one function. (A renamed item falls back to
/// the hot segment: more resident, never wrong. A hot path that calls into
/// here is caught by tests/layout.rs.)
const COLD: &[&str] = &[
    "foster::check",
    "foster::ctl",
    "foster::single",
    "foster::fatal",
    "foster::users",
    "foster::reaper",
    "foster::pid1::finish()",
    "foster::pid1::remount_all_ro",
    "foster::spawn::child()",
    "foster::spawn::execvp()",
    "foster::spawn::search",
    "foster::sys::join_path()",
    "foster::spawn::path_of()",
    "foster::spawn::open_as()",
    "foster::spawn::output_to()",
    "foster::spawn::stdio_on_tty()",
    "foster::spawn::Reporter",
    "foster::signals::reset_for_child()",
    "foster::supervisor::Supervisor::shutdown()",
    "foster::supervisor::Supervisor::finish()",
    "foster::help()",
    "foster::usage_error()",
    "foster::usage_error_with()",
    "foster::failed()",
    "foster::unable_then()",
    "foster::sys::reboot()",
    "foster::sys::remount_ro()",
    "foster::sys::umount()",
    "foster::sys::tcsetpgrp()",
    "foster::sys::is_foreground()",
    "foster::sys::exit()",
    "foster::sys::dup3()",
    "foster::sys::chdir()",
    "config_format::error::Error",
    "config_format::error::Msg",
    "config_format::error::escape()",
    "config_format::parse::Parser<_>::report()",
    "config_format::parse::Parser<_>::report_cycle()",
    "config_format::parse::Parser<_>::option_error()",
    "config_format::parse::Parser<_>::error()",
    "config_format::parse::Parser<_>::err()",
    "config_format::parse::Parser<_>::drop_after()",
];

/// Code a supervising foster runs when something happens (a service ends,
/// a timer, a control request, a reload, a log line, readiness, a pidfile),
/// as PID 1 (its own start), for BusyBox lines, and to report a failure:
/// not while a sub-init's services just run.
const WARM: &[&str] = &[
    "foster::supervisor::Supervisor::bring_up()",
    "foster::supervisor::Supervisor::blocked_by()",
    "foster::supervisor::Supervisor::request_stop()",
    "foster::supervisor::Supervisor::stopped()",
    "foster::supervisor::Supervisor::ended()",
    "foster::supervisor::Supervisor::child_exited()",
    "foster::supervisor::Supervisor::released()",
    "foster::supervisor::Supervisor::pidfile_read()",
    "foster::supervisor::Supervisor::tick()",
    "foster::supervisor::Supervisor::step_stopping()",
    "foster::supervisor::Supervisor::trigger()",
    "foster::supervisor::Supervisor::first_of()",
    "foster::runtime::Runtime::reload()",
    "foster::runtime::Runtime::on_ready()",
    "foster::runtime::Runtime::on_log()",
    "foster::runtime::emit_log_line()",
    "foster::runtime::unwatch()",
    "foster::runtime::describe_exit()",
    "foster::runtime::active_console()",
    "foster::runtime::tty_path()",
    "foster::control::close()",
    "foster::control::Server::close_client()",
    "foster::control::Server::refresh()",
    "foster::control::status_row()",
    "foster::control::state_word()",
    "foster::control::field()",
    "foster::control::trim()",
    "foster::control::answer",
    "foster::control::error()",
    "foster::signals::put_name()",
    "foster::sys::kill()",
    "foster::sys::read_signal_raw()",
    "foster::sys::owner()",
    "foster::sys::epoll_del()",
    "foster::sys::pid1_only()",
    "foster::sys::ppoll()",
    "foster::sys::poll_in()",
    "foster::sys::sleep_ms()",
    "foster::sys::read_head()",
    "foster::sys::read_lines_raw()",
    "foster::sys::dup_above_stdio()",
    "foster::sys::unlink()",
    "foster::pid1::main()",
    "foster::pid1::mount_api()",
    "foster::pid1::mount_field()",
    "foster::pid1::booted_by_kernel()",
    "foster::pid1::in_container()",
    "foster::log::Log::unable_to()",
    "foster::log::Log::unable()",
    "foster::log::Log::error()",
    "foster::log::Log::error_with()",
    "foster::log::unable()",
    "foster::log::echoed()",
    "foster::out::Line::errno()",
    "foster::out::Line::colon_errno()",
    "foster::out::Line::pad()",
    "foster::out::Line::spill()",
    "foster::out::put_text()",
    "config_format::Kind::word()",
    "config_format::parse::Parser<_>::inittab()",
    "config_format::parse::Parser<_>::line_word()",
    "config_format::parse::nth_piece()",
    "config_format::argv::split_inittab()",
    "config_format::argv::Split::feed()",
    "config_format::argv::Argv::word()",
    "config_format::lex::Lexer::skip_line()",
    "config_format::lex::Lexer::skip_to_newline()",
    "config_format::lex::Logical",
    "*same_but_name",
];

/// The linker script: three code segments, warm, cold and hot (the rest,
/// with the read-only data), each its own mapping. A page fault maps the
/// pages around it (fault-around, 64 KiB), but never past its mapping: an
/// idle sub-init has only the hot segment resident, not the whole binary.
/// Warm comes first, right after the headers, so that it spans as few
/// pages as its size allows (what it costs once resident); where cold
/// starts and ends does not matter, it is never resident while foster
/// supervises. The lists do not overlap, so their order in the script
/// (first match wins) changes no function's segment.
fn layout() -> String {
    let patterns = |paths: &[&str]| -> String {
        paths
            .iter()
            .map(|p| format!("    *(.text.*{}*)\n", mangled(p)))
            .collect()
    };
    format!(
        "/* Generated by build.rs: see `layout` there. */\n\
         PHDRS\n{{\n  warm PT_LOAD FILEHDR PHDRS FLAGS(5);\n  cold PT_LOAD FLAGS(5);\n  \
         hot PT_LOAD FLAGS(5);\n  stack PT_GNU_STACK FLAGS(6);\n}}\n\
         SECTIONS\n{{\n  . = 0x200000 + SIZEOF_HEADERS;\n\
         .text : {{\n{}  }} :warm\n\
         /* A gap in the addresses, none in the file: the next segment is a\n\
            mapping of its own, never merged with this one. */\n\
         . += CONSTANT(MAXPAGESIZE);\n\
         .text : {{\n{}  }} :cold\n\
         . += CONSTANT(MAXPAGESIZE);\n\
         .rodata : {{ *(.rodata .rodata.* .srodata .srodata.*) }} :hot\n\
         .text : {{ *(.text .text.*) }} :hot\n\
         /* foster has no writable data: none may come in unseen. */\n\
         .data : {{ *(.data .data.* .sdata .sdata.* .bss .bss.* .sbss .sbss.* .got .got.*) }} :hot\n\
         ASSERT(SIZEOF(.data) == 0, \"foster has writable data\")\n\
         {DISCARD}\n}}\n",
        patterns(WARM),
        patterns(COLD)
    )
}

/// foster is built with panic = "abort" and never unwinds: its unwind
/// tables are dead weight (about a fifth of the binary).
const DISCARD: &str = "/DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.comment) }";

/// The legacy-mangled prefix of the symbols under `path` (see [`COLD`]);
/// a path starting with `*` is a glob as it is.
fn mangled(path: &str) -> String {
    if path.starts_with('*') {
        return path.to_string();
    }
    let (path, function) = match path.strip_suffix("()") {
        Some(p) => (p, true),
        None => (path, false),
    };
    let mut out = String::from("_ZN");
    for part in path.split("::") {
        let part = part.replace('<', "$LT$").replace('>', "$GT$");
        out += &format!("{}{part}", part.len());
    }
    if function {
        // The hash that ends every symbol: the name ends here.
        out += "17h";
    }
    out
}

/// Writes `$OUT_DIR/texts.rs`: every `text!("...")` literal of init/, once
/// each, as the list `TEXTS` that init/texts.rs packs into one blob (a text
/// is then named by its offset there). Literals that only tests use (in a
/// `#[cfg(test)] mod ... {` to the end of its file, or a `*_tests.rs` file)
/// come last, in the test build only. A literal missed here (in a comment,
/// say) is a compile error at its `text!`, never a wrong text.
fn catalog(dir: &Path) {
    // A directory: cargo reruns this when any file under it changes.
    println!("cargo:rerun-if-changed=init");
    let mut files = Vec::new();
    sources(&dir.join("init"), &mut files);
    files.sort();
    let (mut release, mut tests) = (Vec::new(), Vec::new());
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap_or_default();
        let tests_from = if file.to_string_lossy().ends_with("_tests.rs") {
            0
        } else {
            test_module(&src)
        };
        for (at, text) in literals(&src) {
            let list = if at < tests_from {
                &mut release
            } else {
                &mut tests
            };
            if !list.contains(&text) {
                list.push(text);
            }
        }
    }
    tests.retain(|t| !release.contains(t));
    // Short texts first: more of them then sit at offsets below 128, which
    // the code loads with a shorter instruction. A text that ends another
    // goes last, so that the catalog can store it as that end (but the
    // empty text, which ends them all: first, at offset 0, loaded shortest).
    let others = release.clone();
    let ends_another = |t: &String| {
        !t.is_empty()
            && others
                .iter()
                .any(|o| o.len() > t.len() && o.ends_with(t.as_str()))
    };
    release.sort_by_key(|t| (ends_another(t), t.len()));
    let list = |texts: &[String]| {
        let items: Vec<String> = texts.iter().map(|t| format!("    {t:?},\n")).collect();
        format!("[&str; {}] = [\n{}]", texts.len(), items.concat())
    };
    let all = [release.clone(), tests].concat();
    let out = format!(
        "// Generated by build.rs from the `text!` literals in init/.\n\
         #[cfg(not(test))]\nconst TEXTS: {};\n#[cfg(test)]\nconst TEXTS: {};\n",
        list(&release),
        list(&all)
    );
    let path = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("texts.rs");
    if let Err(e) = std::fs::write(&path, out) {
        panic!("unable to write {}: {e}", path.display());
    }
}

/// The `.rs` files under `dir`, at any depth.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where the file's inline test module (`#[cfg(test)]`, maybe more
/// attributes, then `mod NAME {`) starts; the end of `src` if it has none.
fn test_module(src: &str) -> usize {
    let mut at = 0;
    for (i, line) in src.split_inclusive('\n').enumerate() {
        if line.trim() == "#[cfg(test)]" {
            let item = src
                .lines()
                .skip(i + 1)
                .map(str::trim)
                .find(|l| !l.starts_with("#["));
            if item.is_some_and(|l| l.starts_with("mod ") && l.ends_with('{')) {
                return at;
            }
        }
        at += line.len();
    }
    src.len()
}

/// Each `text!("...")` call's offset in `src` and its text, unescaped; a
/// call in a `//` comment (a doc example) is not one.
fn literals(src: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (at, _) in src.match_indices("text!(") {
        let line_start = src[..at].rfind('\n').map_or(0, |n| n + 1);
        let before = &src[line_start..at];
        if before.contains("//") || before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let arg = src[at + "text!(".len()..].trim_start();
        if let Some(text) = arg.strip_prefix('"').and_then(unescape) {
            out.push((at, text));
        }
    }
    out
}

/// The text of a Rust string literal whose opening quote is just before
/// `body`: `\n`, `\t`, `\\`, `\"`, `\'`, `\0`, `\r`, `\xNN`, `\u{...}` and
/// `\` at the end of a line (which drops the line break and the blanks
/// after it). `None` for one it cannot read.
fn unescape(body: &str) -> Option<String> {
    let mut text = String::new();
    let mut chars = body.chars();
    loop {
        match chars.next()? {
            '"' => return Some(text),
            '\\' => match chars.next()? {
                'n' => text.push('\n'),
                't' => text.push('\t'),
                'r' => text.push('\r'),
                '0' => text.push('\0'),
                'x' => {
                    let hex: String = chars.by_ref().take(2).collect();
                    text.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
                }
                'u' => {
                    let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    text.push(char::from_u32(
                        u32::from_str_radix(hex.trim_start_matches('{'), 16).ok()?,
                    )?);
                }
                '\n' => {
                    let rest = chars.as_str().trim_start();
                    chars = rest.chars();
                }
                c => text.push(c),
            },
            c => text.push(c),
        }
    }
}
