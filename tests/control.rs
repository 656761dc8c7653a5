//! The control socket end to end (issue 8): `foster ctl` against the real
//! binary, in sub-init mode and as PID 1 of a PID namespace, plus the
//! socket's security and its robustness under a flood of bad clients.
//!
//! Every test works in its own temporary directory and kills every process it
//! started, even on failure: [`Foster`] and [`Namespace`] are drop guards.
//! Tests that need root (other uids, namespaces) say so and pass as no-ops
//! without it; CI runs as root.

mod common;

use common::{
    alive, as_user, descendants, fd_count, is_root, ppid, stat_field, wait_until, Foster, TempDir,
    FOSTER,
};
use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);
/// CLIENT_DEADLINE_MS in init/control.rs.
const CLIENT_DEADLINE: Duration = Duration::from_millis(2_000);

// ------------------------------------------------------------------ harness

impl TempDir {
    /// The other-uid tests connect from here as nobody: the directory is 0755.
    fn new(name: &str) -> TempDir {
        TempDir::create("ctl", name, 0o755)
    }
}

/// foster with a control socket: how this file starts it and asks it.
impl Foster {
    /// Writes `table` to DIR/table.tab and runs `foster -f TABLE -S DIR/ctl.sock`;
    /// does not wait for the socket.
    fn spawn(dir: &TempDir, table: &str) -> Foster {
        Foster::spawn_at(dir, &dir.write("table.tab", table), &dir.path("ctl.sock"))
    }

    /// foster's output goes to DIR/SOCKNAME.log.
    fn spawn_at(dir: &TempDir, table: &Path, sock: &Path) -> Foster {
        let name = sock.file_name().unwrap().to_str().unwrap();
        let log = dir.path(&format!("{name}.log"));
        Foster::launch(&[], table, Some(sock), &[], &log)
    }

    /// Spawns and waits until `status` answers.
    fn start(dir: &TempDir, table: &str) -> Foster {
        let f = Foster::spawn(dir, table);
        f.wait_answering();
        f
    }

    fn wait_answering(&self) {
        let ok = wait_until(T, || ctl(self.sock(), &["status"]).code == 0);
        assert!(
            ok,
            "foster never answered on {}:\n{}",
            self.sock().display(),
            self.log()
        );
    }

    fn ctl(&self, args: &[&str]) -> Ctl {
        ctl(self.sock(), args)
    }

    /// `status --json`, parsed into rows by name.
    fn status(&self) -> HashMap<String, Row> {
        let out = self.ctl(&["--json", "status"]);
        assert_eq!(out.code, 0, "status --json: {out:?}\n{}", self.log());
        rows_from_json(&out.stdout)
    }

    fn row(&self, name: &str) -> Row {
        self.status()
            .remove(name)
            .unwrap_or_else(|| panic!("no {name} in status:\n{}", self.log()))
    }
}

/// What `foster ctl` did.
#[derive(Debug)]
struct Ctl {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ctl(sock: &Path, args: &[&str]) -> Ctl {
    ctl_as(None, sock, args)
}

/// Runs `foster ctl -S SOCK ARGS...`, as `user` (via setpriv) when given.
fn ctl_as(user: Option<u32>, sock: &Path, args: &[&str]) -> Ctl {
    let mut cmd = match user {
        Some(uid) => as_user(uid, FOSTER),
        None => Command::new(FOSTER),
    };
    let out = cmd
        .arg("ctl")
        .arg("-S")
        .arg(sock)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Ctl {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A process known by its pid and its start time (field 22 of
/// /proc/PID/stat): once it is gone, a process that reuses its pid is not it.
#[derive(Clone, Copy, Debug)]
struct Proc {
    pid: i32,
    start: Option<u64>,
}

impl Proc {
    fn of(pid: i32) -> Proc {
        Proc {
            pid,
            start: stat_field(pid, 22),
        }
    }

    /// It runs (not a zombie), and the pid is still its own.
    fn alive(&self) -> bool {
        self.start.is_some() && alive(self.pid) && stat_field(self.pid, 22) == self.start
    }
}

/// The mode bits of `path` itself (not following a symlink).
fn mode(path: &Path) -> Option<u32> {
    fs::symlink_metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// One request over a raw connection; returns the whole reply.
fn raw_request(sock: &Path, request: &[u8]) -> String {
    let mut s = UnixStream::connect(sock).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    let _ = s.write_all(request);
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply
}

// ------------------------------------------------------------------ a tiny JSON reader

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Parses a whole JSON text strictly (RFC 8259 minus \u surrogate pairs).
fn parse_json(text: &str) -> Result<Json, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let v = json_value(b, &mut i)?;
    json_ws(b, &mut i);
    if i != b.len() {
        return Err(format!("trailing bytes at {i}"));
    }
    Ok(v)
}

fn json_ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
}

fn json_value(b: &[u8], i: &mut usize) -> Result<Json, String> {
    json_ws(b, i);
    let lit = |i: &mut usize, word: &str, v: Json| {
        if b[*i..].starts_with(word.as_bytes()) {
            *i += word.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {i}"))
        }
    };
    match b.get(*i) {
        None => Err("unexpected end".into()),
        Some(b'n') => lit(i, "null", Json::Null),
        Some(b't') => lit(i, "true", Json::Bool(true)),
        Some(b'f') => lit(i, "false", Json::Bool(false)),
        Some(b'"') => json_string(b, i).map(Json::Str),
        Some(b'[') => {
            *i += 1;
            let mut items = Vec::new();
            json_ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(Json::Arr(items));
            }
            loop {
                items.push(json_value(b, i)?);
                json_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(Json::Arr(items));
                    }
                    _ => return Err(format!("expected , or ] at {i}")),
                }
            }
        }
        Some(b'{') => {
            *i += 1;
            let mut members = Vec::new();
            json_ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(Json::Obj(members));
            }
            loop {
                json_ws(b, i);
                if b.get(*i) != Some(&b'"') {
                    return Err(format!("expected a key at {i}"));
                }
                let key = json_string(b, i)?;
                json_ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return Err(format!("expected : at {i}"));
                }
                *i += 1;
                members.push((key, json_value(b, i)?));
                json_ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(Json::Obj(members));
                    }
                    _ => return Err(format!("expected , or }} at {i}")),
                }
            }
        }
        Some(c) if *c == b'-' || c.is_ascii_digit() => {
            let start = *i;
            *i += 1;
            while *i < b.len() && matches!(b[*i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                *i += 1;
            }
            let s = std::str::from_utf8(&b[start..*i]).unwrap();
            let leading_zero = s.trim_start_matches('-').starts_with('0')
                && s.trim_start_matches('-').len() > 1
                && !s.trim_start_matches('-')[1..].starts_with(['.', 'e', 'E']);
            if leading_zero {
                return Err(format!("leading zero in {s}"));
            }
            s.parse()
                .map(Json::Num)
                .map_err(|_| format!("bad number {s}"))
        }
        Some(_) => Err(format!("unexpected byte at {i}")),
    }
}

fn json_string(b: &[u8], i: &mut usize) -> Result<String, String> {
    *i += 1;
    let mut out = Vec::new();
    loop {
        match b.get(*i) {
            None => return Err("unterminated string".into()),
            Some(b'"') => {
                *i += 1;
                return String::from_utf8(out).map_err(|e| e.to_string());
            }
            Some(b'\\') => {
                let c = *b.get(*i + 1).ok_or("bad escape")?;
                *i += 2;
                match c {
                    b'"' | b'\\' | b'/' => out.push(c),
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'u' => {
                        let hex = std::str::from_utf8(b.get(*i..*i + 4).ok_or("short \\u")?)
                            .map_err(|e| e.to_string())?;
                        let cp = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                        let ch = char::from_u32(cp).ok_or("bad \\u")?;
                        out.extend_from_slice(ch.to_string().as_bytes());
                        *i += 4;
                    }
                    _ => return Err(format!("bad escape at {i}")),
                }
            }
            Some(&c) if c < 0x20 => return Err(format!("control byte in string at {i}")),
            Some(&c) => {
                out.push(c);
                *i += 1;
            }
        }
    }
}

/// One `status --json` row.
#[derive(Clone, Debug, PartialEq)]
struct Row {
    kind: String,
    state: String,
    pid: Option<i32>,
    restarts: u64,
    last_exit: Json,
    uptime: Option<u64>,
}

fn rows_from_json(text: &str) -> HashMap<String, Row> {
    let json =
        parse_json(text).unwrap_or_else(|e| panic!("status --json is not JSON ({e}):\n{text}"));
    let Json::Arr(items) = json else {
        panic!("status --json is not an array:\n{text}")
    };
    let mut rows = HashMap::new();
    for item in items {
        let Json::Obj(members) = item else {
            panic!("a status row is not an object:\n{text}")
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "name",
                "kind",
                "state",
                "pid",
                "restarts",
                "last_exit",
                "uptime"
            ],
            "{text}"
        );
        let get = |k: &str| {
            members
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let string = |v: Json| match v {
            Json::Str(s) => s,
            other => panic!("expected a string, got {other:?}:\n{text}"),
        };
        let number = |v: Json| match v {
            Json::Null => None,
            Json::Num(n) if n >= 0.0 && n.fract() == 0.0 => Some(n as u64),
            other => panic!("expected a count or null, got {other:?}:\n{text}"),
        };
        let last_exit = get("last_exit");
        assert!(
            matches!(&last_exit, Json::Null | Json::Num(_))
                || matches!(&last_exit, Json::Str(s) if s.starts_with("SIG") || s.starts_with("signal ")),
            "last_exit {last_exit:?}"
        );
        rows.insert(
            string(get("name")),
            Row {
                kind: string(get("kind")),
                state: string(get("state")),
                pid: number(get("pid")).map(|p| p as i32),
                restarts: number(get("restarts")).expect("restarts is a number"),
                last_exit,
                uptime: number(get("uptime")),
            },
        );
    }
    rows
}

// ------------------------------------------------------------------ every command, sub-init

const BASIC: &str = "\
service web -- sleep 1000
service crash backoff=50ms..100ms -- sh -c 'exit 3'
once    one -- /bin/true
";

#[test]
fn status_prints_an_aligned_table_and_json() {
    let dir = TempDir::new("status");
    let f = Foster::start(&dir, BASIC);
    assert!(wait_until(T, || f.row("crash").restarts >= 2
        && f.row("one").state == "done"));

    let out = f.ctl(&["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "header and three rows:\n{}", out.stdout);
    let header = lines[0];
    let names = [
        "NAME",
        "KIND",
        "STATE",
        "PID",
        "RESTARTS",
        "LAST-EXIT",
        "UPTIME",
    ];
    let starts: Vec<usize> = names.iter().map(|h| header.find(h).unwrap()).collect();
    assert_eq!(starts[0], 0);
    assert!(starts.windows(2).all(|w| w[0] < w[1]), "{header}");
    // Every cell starts in its header's column, after at least two spaces.
    let mut cells: HashMap<String, Vec<String>> = HashMap::new();
    for row in &lines[1..] {
        let b = row.as_bytes();
        let mut row_cells = Vec::new();
        for (c, &s) in starts.iter().enumerate() {
            assert!(
                b.len() > s,
                "row too short for column {}:\n{}",
                names[c],
                out.stdout
            );
            assert_ne!(
                b[s], b' ',
                "column {} misaligned:\n{}",
                names[c], out.stdout
            );
            if s > 0 {
                assert_eq!(
                    &b[s - 2..s],
                    b"  ",
                    "column {} misaligned:\n{}",
                    names[c],
                    out.stdout
                );
            }
            let end = starts.get(c + 1).copied().unwrap_or(b.len());
            row_cells.push(row[s..end].trim_end().to_string());
        }
        cells.insert(row_cells[0].clone(), row_cells);
    }
    let web = &cells["web"];
    assert_eq!(web[1], "service");
    assert_eq!(web[2], "running");
    assert!(
        web[3].parse::<i32>().is_ok_and(alive),
        "web pid {:?}",
        web[3]
    );
    assert_eq!(web[4], "0");
    assert_eq!(web[5], "-");
    assert!(web[6].ends_with('s'), "uptime {:?}", web[6]);
    let crash = &cells["crash"];
    assert!(crash[4].parse::<u64>().unwrap() >= 2);
    assert_eq!(crash[5], "3");
    assert_eq!(cells["one"][2], "done");
    assert_eq!(cells["one"][5], "0");

    let rows = f.status();
    assert_eq!(rows.len(), 3);
    let web = &rows["web"];
    assert_eq!(
        (web.kind.as_str(), web.state.as_str()),
        ("service", "running")
    );
    assert!(web.pid.is_some_and(alive));
    assert_eq!((web.restarts, &web.last_exit), (0, &Json::Null));
    assert!(web.uptime.is_some());
    assert_eq!(rows["crash"].last_exit, Json::Num(3.0));
    assert_eq!(rows["one"].kind, "once");
    assert_eq!((rows["one"].pid, rows["one"].uptime), (None, None));

    // The raw protocol: one entry line per row, then `ok`.
    let raw = raw_request(f.sock(), b"status\n");
    let raw_lines: Vec<&str> = raw.lines().collect();
    assert_eq!(raw_lines.last(), Some(&"ok"), "{raw}");
    assert_eq!(raw_lines.len(), 4, "{raw}");
    assert!(raw_lines[..3]
        .iter()
        .all(|l| l.starts_with("entry\t") && l.split('\t').count() == 8));
}

#[test]
fn start_stop_restart() {
    let dir = TempDir::new("startstop");
    // `keep` runs throughout: a sub-init with nothing active left exits.
    let f = Foster::start(
        &dir,
        &format!("{BASIC}service keep -- sleep 1000\nonce nx -- /nonexistent/x\n"),
    );
    let web = f.row("web").pid.unwrap();
    let web_proc = Proc::of(web);

    // What ended for good (a finished `once`, one whose exec failed) is
    // down already: stopping it is done and silent, as `s6-svc -d` and
    // `systemctl stop` of a stopped unit are, and changes nothing.
    assert!(wait_until(T, || {
        let rows = f.status();
        rows["one"].state == "done" && rows["nx"].state == "failed"
    }));
    for (name, state) in [("one", "done"), ("nx", "failed")] {
        let out = f.ctl(&["stop", name]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", ""),
            "stop {name}: {out:?}"
        );
        assert_eq!(f.row(name).state, state);
    }

    // stop: gone, and it stays gone.
    let out = f.ctl(&["stop", "web"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(
        wait_until(T, || !web_proc.alive()),
        "web still alive after stop"
    );
    assert!(wait_until(T, || f.row("web").state == "stopped"));
    std::thread::sleep(Duration::from_millis(1_200));
    let row = f.row("web");
    assert_eq!(
        (row.state.as_str(), row.pid),
        ("stopped", None),
        "respawned after stop"
    );
    assert_eq!(f.log().matches("web: started").count(), 1, "{}", f.log());
    // Stopping what is stopped is fine.
    assert_eq!(f.ctl(&["stop", "web"]).code, 0);

    // A crash-looping service stops too, from its backoff.
    assert_eq!(f.ctl(&["stop", "crash"]).code, 0);
    assert!(wait_until(T, || f.row("crash").state == "stopped"));
    let before = f.row("crash").restarts;
    std::thread::sleep(Duration::from_millis(1_000));
    let row = f.row("crash");
    assert_eq!(
        (row.state.as_str(), row.restarts),
        ("stopped", before),
        "crash respawned"
    );

    // start: a fresh process.
    let out = f.ctl(&["start", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(wait_until(T, || f.row("web").state == "running"));
    let web2 = f.row("web").pid.unwrap();
    assert_ne!(web2, web);
    let web2_proc = Proc::of(web2);
    assert!(web2_proc.alive());
    // Starting what runs is fine and leaves it be (as `s6-svc -u`, `sv up`
    // and `systemctl start`).
    let out = f.ctl(&["start", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(f.row("web").pid, Some(web2));
    assert!(web2_proc.alive());

    // restart: a new pid, the old one gone.
    let out = f.ctl(&["restart", "web"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(wait_until(T, || f
        .row("web")
        .pid
        .is_some_and(|p| p != web2)));
    assert!(wait_until(T, || !web2_proc.alive()));
    let web3 = f.row("web").pid.unwrap();
    assert!(alive(web3));
    // restart of a stopped entry starts it.
    assert_eq!(f.ctl(&["restart", "crash"]).code, 0);
    assert!(wait_until(T, || f.row("crash").restarts > before));

    // Unknown names and commands: exit 1 and a message.
    for args in [
        &["start", "nope"][..],
        &["stop", "nope"],
        &["restart", "nope"],
    ] {
        let out = f.ctl(args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stderr.contains("no entry named nope"), "{out:?}");
    }
    let out = f.ctl(&["frobnicate"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("unknown command"), "{out:?}");
    let out = f.ctl(&["stop"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("needs an entry NAME"), "{out:?}");
    let out = f.ctl(&["stop", "../etc"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("bad entry name"), "{out:?}");
    let out = f.ctl(&["status", "web"]);
    assert_eq!(out.code, 1, "{out:?}");
    // Bad usage of the client itself: exit 2.
    assert_eq!(f.ctl(&[]).code, 2);
    assert_eq!(f.ctl(&["stop", "a", "b"]).code, 2);
    // Help is the client's own, never a request foster answers.
    for help in ["-h", "--help"] {
        let out = f.ctl(&[help]);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
        assert!(out.stdout.starts_with("usage: foster"), "{out:?}");
        assert!(out.stdout.contains("foster ctl [-S SOCK]"), "{out:?}");
    }
    assert_eq!(f.row("web").pid, Some(web3), "errors disturbed web");
}

#[test]
fn reload_applies_a_good_table_and_reports_a_bad_one() {
    let dir = TempDir::new("reload");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let web = f.row("web").pid.unwrap();

    fs::write(
        &f.table,
        "service web -- sleep 1000\nservice extra -- sleep 1000\n",
    )
    .unwrap();
    let out = f.ctl(&["reload"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(wait_until(T, || f.row("extra").state == "running"));
    assert_eq!(
        f.row("web").pid,
        Some(web),
        "an unchanged entry was restarted"
    );

    let good = fs::read_to_string(&f.table).unwrap();
    fs::write(
        &f.table,
        "service web -- sleep 1000\nservice bad frob=1 -- true\nservice nocmd\nservice new -- sleep 1\n",
    )
    .unwrap();
    let out = f.ctl(&["reload"]);
    assert_eq!(out.code, 1, "{out:?}");
    let table = f.table.to_str().unwrap();
    let located: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{table}:")))
        .collect();
    assert_eq!(
        located.len(),
        2,
        "two FILE:LINE:COL: lines:\n{}",
        out.stderr
    );
    assert!(
        located[0].starts_with(&format!("{table}:2:13: ")),
        "{}",
        out.stderr
    );
    assert!(
        located[1].starts_with(&format!("{table}:3:")),
        "{}",
        out.stderr
    );
    // The source line and its caret come along.
    assert!(
        out.stderr.contains("service bad frob=1 -- true"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains('^'), "{}", out.stderr);
    assert!(
        out.stderr.contains("running table is kept"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    // The old table runs on, untouched.
    let rows = f.status();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows["web"].pid, Some(web));
    assert_eq!(rows["extra"].state, "running");

    // A table that cannot be read is an error too.
    fs::remove_file(&f.table).unwrap();
    let out = f.ctl(&["reload"]);
    assert_eq!(out.code, 1, "{out:?}");
    fs::write(&f.table, good).unwrap();
    assert_eq!(f.ctl(&["reload"]).code, 0);
    assert_eq!(f.row("web").pid, Some(web));
}

#[test]
fn stop_all_exits_and_removes_the_socket() {
    let dir = TempDir::new("stopall");
    let mut f = Foster::start(
        &dir,
        "service web -- sleep 1000\nservice w2 -- sleep 1000\n",
    );
    let procs: Vec<Proc> = f
        .status()
        .values()
        .filter_map(|r| r.pid)
        .map(Proc::of)
        .collect();
    assert_eq!(procs.len(), 2);
    let out = f.ctl(&["stop-all"]);
    assert_eq!(out.code, 0, "{out:?}");
    let status = f.wait_exit(T);
    assert_eq!(status.code(), Some(0), "{}", f.log());
    assert!(!f.sock().exists(), "socket file left behind");
    assert!(
        procs.iter().all(|p| !p.alive()),
        "services survived stop-all"
    );
    // Nobody answers now: exit 2.
    let out = f.ctl(&["status"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn power_commands_are_refused_in_sub_init() {
    let dir = TempDir::new("power");
    let mut f = Foster::start(&dir, "service web -- sleep 1000\n");
    let web = f.row("web").pid.unwrap();
    for cmd in ["poweroff", "reboot", "halt"] {
        let out = f.ctl(&[cmd]);
        assert_eq!(out.code, 1, "{cmd}: {out:?}");
        assert!(out.stderr.contains("not PID 1"), "{cmd}: {out:?}");
    }
    assert!(f.try_exit().is_none(), "foster exited");
    assert_eq!(f.row("web").pid, Some(web));
}

/// A death by a signal without a name (a real-time one) keeps its number in
/// `status` and in the log, as single-command mode's `-v` line does.
#[test]
fn a_death_by_a_real_time_signal_shows_its_number() {
    let dir = TempDir::new("rtsig");
    let f = Foster::start(
        &dir,
        "service rt backoff=10s..10s -- sh -c 'kill -40 $$'\nservice keep -- sleep 1000\n",
    );
    assert!(wait_until(T, || f.row("rt").restarts >= 1));
    assert_eq!(f.row("rt").last_exit, Json::Str("signal 40".into()));
    let out = f.ctl(&["status"]);
    let row = out.stdout.lines().find(|l| l.starts_with("rt ")).unwrap();
    assert!(row.contains("  signal 40  "), "{}", out.stdout);
    assert!(f.log().contains("rt: killed by signal 40;"), "{}", f.log());
}

/// A reload that removed an entry still stopping (its `timeout=`): the
/// process lives on, so `status` shows it, stopping, until it is gone.
/// A reload while foster stops is refused, as BusyBox init ignores SIGHUP
/// then: the table in force is kept and nothing new starts.
#[test]
fn reload_during_a_stop_is_refused() {
    let dir = TempDir::new("reloadstop");
    // `up` once the shell ignores TERM: a shell still starting would die of it.
    // The stop lasts until the test kills `slow` (its timeout= is only a
    // bound): a loaded machine gets the reload in during it all the same.
    let table = format!(
        "service slow timeout=60s -- sh -c 'trap \"\" TERM; touch {}; exec sleep 1000'\n",
        dir.p("up")
    );
    let mut f = Foster::start(&dir, &table);
    assert!(wait_until(T, || dir.path("up").exists()), "{}", f.log());
    let slow = f.row("slow").pid.unwrap();
    assert_eq!(f.ctl(&["stop-all"]).code, 0);
    assert!(wait_until(T, || f.row("slow").state == "stopping"));
    fs::write(&f.table, "service new -- sleep 1000\n").unwrap();
    let out = f.ctl(&["reload"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        (out.stdout.clone() + &out.stderr).contains("foster is shutting down"),
        "{out:?}"
    );
    assert!(!f.status().contains_key("new"), "{}", f.log());
    assert_eq!(f.row("slow").state, "stopping", "{}", f.log());
    // The stop ends when slow does, and foster with it.
    // SAFETY: kill(2) on foster's child `slow`, still stopping: not reaped.
    assert_eq!(unsafe { libc::kill(slow, libc::SIGKILL) }, 0);
    assert_eq!(f.wait_exit(T).code(), Some(0), "{}", f.log());
}

/// Entries a reload removed show as `stopping` until they are gone, also
/// one not signalled yet because a removed entry runs `after=` it.
#[test]
fn a_removed_entry_still_stopping_shows_in_status() {
    let dir = TempDir::new("removed");
    // timeout=4s: time for the status below to see it stopping, even on a
    // loaded machine; then foster's SIGKILL ends it.
    let table = format!(
        "service keep -- sleep 1000\n\
         service base -- sleep 1000\n\
         service slow after=base timeout=4s -- sh -c 'trap \"\" TERM; touch {}; exec sleep 1000'\n",
        dir.p("up")
    );
    let f = Foster::start(&dir, &table);
    assert!(wait_until(T, || dir.path("up").exists()), "{}", f.log());
    let slow = f.row("slow").pid.unwrap();
    let base = f.row("base").pid.unwrap();
    let (slow_proc, base_proc) = (Proc::of(slow), Proc::of(base));
    fs::write(&f.table, "service keep -- sleep 1000\n").unwrap();
    assert_eq!(f.ctl(&["reload"]).code, 0);
    let mut rows = f.status();
    assert!(slow_proc.alive() && base_proc.alive());
    let mut state = |name: &str| rows.remove(name).map(|r| (r.state, r.pid));
    let status = f.ctl(&["status"]).stdout;
    assert_eq!(
        state("slow"),
        Some(("stopping".to_string(), Some(slow))),
        "{status}"
    );
    // Held until `slow` is gone: not signalled yet, but on its way out.
    assert_eq!(
        state("base"),
        Some(("stopping".to_string(), Some(base))),
        "{status}"
    );
    assert!(wait_until(T + Duration::from_secs(4), || {
        let rows = f.status();
        !rows.contains_key("slow") && !rows.contains_key("base")
    }));
    assert!(!slow_proc.alive() && !base_proc.alive());
}

/// A reload whose new entries find no slot (old entries still stopping
/// hold theirs) is refused whole, with the reason: the table in force runs
/// on, and the same table is taken once the old entries are gone.
#[test]
fn a_reload_without_room_is_refused_whole() {
    let dir = TempDir::new("noroom");
    // 64 entries (a full table) that ignore SIGTERM and have 60 s to stop:
    // still stopping at the second reload, however slow the machine.
    let stubborn: String = (0..64)
        .map(|i| {
            format!(
                "service a{i} timeout=60s -- sh -c 'trap \"\" TERM; touch {}; exec sleep 1000'\n",
                dir.p(&format!("up{i}"))
            )
        })
        .collect();
    let plain = |p: &str| -> String {
        (0..64)
            .map(|i| format!("service {p}{i} -- sleep 1000\n"))
            .collect()
    };
    let f = Foster::start(&dir, &stubborn);
    assert!(
        wait_until(T, || (0..64).all(|i| dir.path(&format!("up{i}")).exists())),
        "{}",
        f.log()
    );
    let stubborn_pids: Vec<i32> = (0..64)
        .map(|i| f.row(&format!("a{i}")).pid.unwrap())
        .collect();
    fs::write(&f.table, plain("b")).unwrap();
    let out = f.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(wait_until(T, || f.row("b63").state == "running"));
    let b0 = f.row("b0").pid;

    // 64 a-entries stopping and 64 b-entries: the c-entries find no slot.
    fs::write(&f.table, plain("c")).unwrap();
    let out = f.ctl(&["reload"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("reload rejected: no room for 64 more entries while old ones stop"),
        "{out:?}"
    );
    let rows = f.status();
    assert!(!rows.contains_key("c0"), "{}", f.log());
    assert_eq!(rows.get("b0").map(|r| r.pid), Some(b0));
    assert_eq!(rows.get("a0").map(|r| r.state.as_str()), Some("stopping"));

    // Once the old entries are gone, the same table is taken.
    for pid in stubborn_pids {
        // SAFETY: kill(2) on foster's child, still stopping: not reaped.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(wait_until(T, || !f.status().contains_key("a0")));
    let out = f.ctl(&["reload"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", f.log());
    assert!(wait_until(T, || f.row("c63").state == "running"));
    assert!(!f.status().contains_key("b0"));
}

/// `ctl reload` of a table that cannot be read says why, not only that it
/// was rejected.
#[test]
fn reload_of_an_unreadable_table_says_why() {
    let dir = TempDir::new("reloadread");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    fs::remove_file(&f.table).unwrap();
    let out = f.ctl(&["reload"]);
    assert_eq!(out.code, 1, "{out:?}");
    let why = format!(
        "unable to read {}: No such file or directory",
        f.table.display()
    );
    assert!(out.stderr.contains(&why), "{out:?}");
}

#[test]
fn no_daemon_is_exit_2() {
    let dir = TempDir::new("nodaemon");
    let missing = dir.path("missing.sock");
    let out = ctl(&missing, &["status"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("unable to reach foster"), "{out:?}");
    assert!(out.stderr.contains(missing.to_str().unwrap()), "{out:?}");
    // A socket file nobody listens on.
    let dead = dir.path("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let out = ctl(&dead, &["stop", "web"]);
    assert_eq!(out.code, 2, "{out:?}");
    // An empty path names no file (it said "File name too long").
    let out = ctl(Path::new(""), &["status"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("unable to reach foster at : No such file or directory"),
        "{out:?}"
    );
    // A listener that never answers: the client gives up instead of hanging.
    let mute = dir.path("mute.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&mute).unwrap();
    let t = Instant::now();
    let out = ctl(&mute, &["status"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no answer"), "{out:?}");
    assert!(t.elapsed() < Duration::from_secs(20));
}

/// Something that is not foster listening on `sock`: it answers each of
/// `clients` connections with `reply`, and gives back the request lines read.
fn fake_server(sock: &Path, reply: String, clients: usize) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::{BufRead, BufReader};
    let listener = std::os::unix::net::UnixListener::bind(sock).unwrap();
    std::thread::spawn(move || {
        (0..clients)
            .map(|_| {
                let (conn, _) = listener.accept().unwrap();
                let mut request = String::new();
                BufReader::new(&conn).read_line(&mut request).unwrap();
                (&conn).write_all(reply.as_bytes()).unwrap();
                request
            })
            .collect()
    })
}

#[test]
fn an_overlong_status_row_from_the_socket_does_not_hang_ctl() {
    // Whatever answers on the socket (here not foster): a cell longer than
    // the output line is cut, and ctl ends.
    let dir = TempDir::new("longrow");
    let sock = dir.path("long.sock");
    let name = "n".repeat(700);
    let reply = format!("entry\t{name}\tservice\trunning\t42\t0\t-\t5\nok\n");
    let server = fake_server(&sock, reply, 1);
    let out = ctl(&sock, &["status"]);
    assert_eq!(server.join().unwrap(), ["status\n"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(&"n".repeat(400)), "{out:?}");
}

/// `status --json` stays valid JSON whatever the socket answers: an empty
/// number cell (LAST-EXIT, PID, ...) from a foreign or broken server is an
/// empty string, never a bare `"last_exit": ,`.
#[test]
fn json_status_with_empty_cells_is_valid_json() {
    let dir = TempDir::new("emptycells");
    let sock = dir.path("empty.sock");
    let reply = "entry\ta\tservice\trunning\t\t\t\t\nentry\tb\tonce\tdone\t-\t0\t7\t-\nok\n";
    let server = fake_server(&sock, reply.to_string(), 1);
    let out = ctl(&sock, &["--json", "status"]);
    server.join().unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    let json = parse_json(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let Json::Arr(rows) = json else {
        panic!("not an array: {}", out.stdout)
    };
    assert_eq!(rows.len(), 2, "{}", out.stdout);
    let field = |row: &Json, key: &str| match row {
        Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()),
        _ => None,
    };
    assert_eq!(field(&rows[0], "last_exit"), Some(Json::Str(String::new())));
    assert_eq!(field(&rows[0], "pid"), Some(Json::Str(String::new())));
    assert_eq!(field(&rows[1], "last_exit"), Some(Json::Num(7.0)));
    assert_eq!(field(&rows[1], "pid"), Some(Json::Null));
}

/// A status piped into a reader that is gone (`ctl status | head -1`,
/// `| grep -q web`) ends ctl as it ends `foster check` and other tools:
/// killed by SIGPIPE, with no error message of its own.
#[test]
fn a_status_into_a_closed_pipe_ends_by_sigpipe_as_check() {
    let dir = TempDir::new("closedpipe");
    let sock = dir.path("pipe.sock");
    let reply = "entry\tweb\tservice\trunning\t42\t0\t-\t5\nok\n";
    let server = fake_server(&sock, reply.to_string(), 1);
    let table = dir.write("t.tab", "service web -- sleep 1\n");
    for args in [
        &["ctl", "-S", sock.to_str().unwrap(), "status"][..],
        &["check", table.to_str().unwrap()],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(FOSTER)
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {out:?}"
        );
        assert_eq!(stderr, "", "{args:?}");
    }
    server.join().unwrap();
}

/// A status that cannot be written (stdout on /dev/full) is an error, as
/// `foster check`'s plan is: exit 1 and why, not a silent 0.
#[test]
fn a_status_that_cannot_be_written_fails() {
    let dir = TempDir::new("fullout");
    let sock = dir.path("full.sock");
    let reply = "entry\tweb\tservice\trunning\t42\t0\t-\t5\nok\n";
    let server = fake_server(&sock, reply.to_string(), 2);
    for json in [false, true] {
        let mut args = vec!["ctl", "-S", sock.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        args.push("status");
        let out = Command::new(FOSTER)
            .args(&args)
            .stdout(fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "json {json}: {stderr}");
        assert_eq!(
            stderr,
            "foster: unable to write the status: No space left on device\n"
        );
    }
    server.join().unwrap();
}

// ------------------------------------------------------------------ security

#[test]
fn socket_is_0600_from_the_moment_it_appears() {
    let dir = TempDir::new("mode");
    fs::write(dir.path("table.tab"), "service web -- sleep 1000\n").unwrap();
    for round in 0..5 {
        let sock = dir.path(&format!("ctl{round}.sock"));
        let done = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let polling = Arc::new(std::sync::Barrier::new(2));
        let watcher = {
            let (sock, done, seen) = (sock.clone(), done.clone(), seen.clone());
            let polling = polling.clone();
            std::thread::spawn(move || {
                let mut polls = 0u64;
                let end = Instant::now() + T;
                // Until foster answers and the socket was seen at least once.
                while (!done.load(Ordering::Relaxed) || seen.lock().unwrap().is_empty())
                    && Instant::now() < end
                {
                    if polls == 1 {
                        polling.wait();
                    }
                    polls += 1;
                    if let Ok(m) = fs::symlink_metadata(&sock) {
                        let mut seen = seen.lock().unwrap();
                        if seen.len() < 1000 {
                            seen.push((m.file_type().is_socket(), m.permissions().mode() & 0o7777));
                        }
                    }
                }
                polls
            })
        };
        // The watcher is polling before foster starts.
        polling.wait();
        let mut f = Foster::spawn_at(&dir, &dir.path("table.tab"), &sock);
        f.wait_answering();
        done.store(true, Ordering::Relaxed);
        let polls = watcher.join().unwrap();
        let seen = seen.lock().unwrap();
        assert!(
            !seen.is_empty(),
            "the watcher never saw the socket ({polls} polls)"
        );
        assert!(
            seen.iter().all(|&(sock, m)| sock && m == 0o600),
            "modes seen while foster started: {:?}",
            seen.iter()
                .map(|s| format!("{:o}", s.1))
                .collect::<Vec<_>>()
        );
        f.kill();
    }
}

#[test]
fn children_keep_the_callers_umask() {
    let dir = TempDir::new("umask");
    let out = dir.path("umask.out");
    let table = format!(
        "once u -- sh -c 'umask > {}'\nservice keep -- sleep 1000\n",
        out.display()
    );
    let f = Foster::start(&dir, &table);
    assert!(wait_until(T, || fs::read_to_string(&out).is_ok_and(|s| !s.is_empty())));
    // The test harness runs with its own umask; the child must see the same.
    // SAFETY: umask(2) only swaps the process's mask; put back at once.
    let mine = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    let theirs = u32::from_str_radix(fs::read_to_string(&out).unwrap().trim(), 8).unwrap();
    assert_eq!(
        theirs, mine as u32,
        "foster's 0177 umask leaked into a child"
    );
    drop(f);
}

#[test]
fn another_uid_is_refused() {
    if !is_root() {
        eprintln!("skipped: needs root to act as nobody");
        return;
    }
    let dir = TempDir::new("peercred");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let base = fd_count(f.pid);
    assert_eq!(mode(f.sock()), Some(0o600));

    // 0600 root: nobody cannot even connect.
    let out = ctl_as(Some(65534), f.sock(), &["stop", "web"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("Permission denied") || out.stderr.contains("EACCES"),
        "{out:?}"
    );

    // Mode opened wide by hand: SO_PEERCRED still refuses nobody.
    fs::set_permissions(f.sock(), fs::Permissions::from_mode(0o666)).unwrap();
    for cmd in [
        &["stop", "web"][..],
        &["status"],
        &["stop-all"],
        &["reload"],
    ] {
        let out = ctl_as(Some(65534), f.sock(), cmd);
        assert_eq!(out.code, 1, "{cmd:?}: {out:?}");
        assert!(out.stderr.contains("permission denied"), "{cmd:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{cmd:?}: {out:?}");
    }
    let row = f.row("web");
    assert_eq!(row.state, "running", "nobody's stop went through");
    assert!(
        wait_until(T, || fd_count(f.pid) == base),
        "fd leak after refusals"
    );
    // Root still gets in.
    assert_eq!(f.ctl(&["status"]).code, 0);
}

#[test]
fn a_symlink_at_the_socket_path_is_not_followed() {
    let dir = TempDir::new("symlink");
    let target = dir.path("precious");
    fs::write(&target, "keep me\n").unwrap();
    let dangling = dir.path("nowhere.sock");
    fs::write(dir.path("table.tab"), "service web -- sleep 1000\n").unwrap();

    for (link, to) in [("ctl.sock", &target), ("ctl2.sock", &dangling)] {
        let sock = dir.path(link);
        std::os::unix::fs::symlink(to, &sock).unwrap();
        let f = Foster::spawn_at(&dir, &dir.path("table.tab"), &sock);
        let wanted = format!(
            "unable to use a non-socket file as the control socket {}",
            sock.display()
        );
        assert!(wait_until(T, || f.log().contains(&wanted)), "{}", f.log());
        assert!(
            wait_until(T, || f.log().contains("web: started")),
            "{}",
            f.log()
        );
        assert!(fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(&sock).unwrap(), *to);
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep me\n");
        assert!(!dangling.exists(), "bind followed the dangling symlink");
        let out = ctl(&sock, &["status"]);
        assert_eq!(out.code, 2, "{out:?}");
        drop(f);
        // foster's exit leaves the symlink alone too.
        assert!(fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_symlink());
    }
    // A regular file is not replaced either.
    let plain = dir.path("plain.sock");
    fs::write(&plain, "data").unwrap();
    let f = Foster::spawn_at(&dir, &dir.path("table.tab"), &plain);
    assert!(
        wait_until(T, || f.log().contains("web: started")),
        "{}",
        f.log()
    );
    assert!(f.log().contains("non-socket file"), "{}", f.log());
    drop(f);
    assert_eq!(fs::read_to_string(&plain).unwrap(), "data");
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_kept() {
    let dir = TempDir::new("stale");
    let mut f = Foster::start(&dir, "service web -- sleep 1000\n");
    f.kill();
    assert!(
        fs::symlink_metadata(f.sock())
            .unwrap()
            .file_type()
            .is_socket(),
        "no stale socket"
    );
    assert_eq!(f.ctl(&["status"]).code, 2);

    let f2 = Foster::start(&dir, "service web -- sleep 1000\n");
    assert_eq!(mode(f2.sock()), Some(0o600));
    assert_eq!(f2.ctl(&["status"]).code, 0);

    // A second foster on a live socket does not steal it.
    let dir3 = TempDir::new("stale3");
    fs::write(dir3.path("table.tab"), "service other -- sleep 1000\n").unwrap();
    let f3 = Foster::spawn_at(&dir3, &dir3.path("table.tab"), f2.sock());
    assert!(
        wait_until(T, || f3.log().contains("another foster answers there")),
        "{}",
        f3.log()
    );
    let rows = f2.status();
    assert!(
        rows.contains_key("web") && !rows.contains_key("other"),
        "{rows:?}"
    );
    drop(f3);
    assert_eq!(
        f2.ctl(&["status"]).code,
        0,
        "the loser removed the winner's socket"
    );
}

// ------------------------------------------------------------------ the socket's life

/// How many reloads foster has logged (applied or refused).
fn reloads(f: &Foster) -> usize {
    let log = f.log();
    log.matches("table reloaded").count() + log.matches("reload ignored").count()
}

/// Sends SIGHUP and waits until foster has logged the reload.
fn sighup(f: &Foster) {
    let before = reloads(f);
    f.signal(libc::SIGHUP);
    assert!(
        wait_until(T, || reloads(f) > before),
        "no reload logged:\n{}",
        f.log()
    );
}

/// The (device, inode) of the file at `path` itself.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// A socket a `/tmp` cleaner removed: a SIGHUP binds it again, 0600 from
/// the start as at the first bind, and `ctl` reaches foster again.
#[test]
fn a_removed_socket_is_made_again_at_sighup() {
    let dir = TempDir::new("remade");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let web = f.row("web").pid;
    fs::remove_file(f.sock()).unwrap();
    assert_eq!(f.ctl(&["status"]).code, 2);
    sighup(&f);
    assert!(
        f.log().contains(&format!(
            "control socket made again at {}",
            f.sock().display()
        )),
        "{}",
        f.log()
    );
    assert_eq!(mode(f.sock()), Some(0o600));
    assert_eq!(f.ctl(&["status"]).code, 0, "{}", f.log());
    assert_eq!(f.row("web").pid, web);
}

/// `-S` in a directory that does not exist yet: foster runs on without a
/// socket; once the directory is there, a SIGHUP binds it.
#[test]
fn a_socket_in_a_missing_directory_is_bound_at_sighup() {
    let dir = TempDir::new("nodir");
    let sock = dir.path("later/ctl.sock");
    let f = Foster::spawn_at(
        &dir,
        &dir.write("table.tab", "service web -- sleep 1000\n"),
        &sock,
    );
    assert!(
        wait_until(T, || f.log().contains("unable to bind the control socket")),
        "{}",
        f.log()
    );
    assert_eq!(f.ctl(&["status"]).code, 2);
    fs::create_dir(dir.path("later")).unwrap();
    sighup(&f);
    assert_eq!(mode(&sock), Some(0o600));
    assert_eq!(f.ctl(&["status"]).code, 0, "{}", f.log());
    assert!(f.status().contains_key("web"));
}

/// A binds P; P is removed and B binds it; A's exit leaves B's socket.
#[test]
fn an_exit_leaves_a_socket_another_foster_bound_since() {
    let dir = TempDir::new("twoinits");
    let mut a = Foster::start(&dir, "service web -- sleep 1000\n");
    fs::remove_file(a.sock()).unwrap();
    let dir_b = TempDir::new("twoinits-b");
    let b = Foster::spawn_at(
        &dir_b,
        &dir_b.write("table.tab", "service other -- sleep 1000\n"),
        a.sock(),
    );
    b.wait_answering();
    let ours = file_id(b.sock());
    a.signal(libc::SIGTERM);
    assert_eq!(a.wait_exit(T).code(), Some(0), "{}", a.log());
    assert_eq!(file_id(b.sock()), ours, "A removed B's socket");
    let rows = b.status();
    assert!(
        rows.contains_key("other") && !rows.contains_key("web"),
        "{rows:?}"
    );
}

/// A SIGHUP with the socket in place binds nothing (no log line, the same
/// file, a client of the listener served); once the file is gone, the
/// next SIGHUP replaces the listener and keeps its accepted connections.
#[test]
fn a_sighup_keeps_an_intact_socket_and_its_clients() {
    let dir = TempDir::new("intact");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let first = file_id(f.sock());
    // A client foster has accepted: one fd more in foster.
    let accepted = |f: &Foster| {
        let base = fd_count(f.pid);
        let c = UnixStream::connect(f.sock()).unwrap();
        c.set_read_timeout(Some(T)).unwrap();
        assert!(wait_until(T, || fd_count(f.pid) > base), "never accepted");
        c
    };
    let reply = |mut c: UnixStream| {
        c.write_all(b"status\n").unwrap();
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        out
    };
    let c = accepted(&f);
    sighup(&f);
    assert!(!f.log().contains("made again"), "{}", f.log());
    assert_eq!(file_id(f.sock()), first);
    let out = reply(c);
    assert!(
        out.starts_with("entry\tweb\t") && out.ends_with("ok\n"),
        "{out:?}"
    );

    let c = accepted(&f);
    fs::remove_file(f.sock()).unwrap();
    sighup(&f);
    assert!(f.log().contains("made again"), "{}", f.log());
    let out = reply(c);
    assert!(out.ends_with("ok\n"), "{out:?}");
    assert_eq!(f.ctl(&["status"]).code, 0);
}

// ------------------------------------------------------------------ robustness

#[test]
fn a_silent_client_is_cut_after_its_deadline() {
    let dir = TempDir::new("deadline");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let base = fd_count(f.pid);
    // Before the connects: foster's deadline starts when it accepts, later.
    let t = Instant::now();
    let mut silent = UnixStream::connect(f.sock()).unwrap();
    let mut half = UnixStream::connect(f.sock()).unwrap();
    half.write_all(b"sta").unwrap();
    for s in [&mut silent, &mut half] {
        s.set_read_timeout(Some(T)).unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "error: timed out waiting for a request\n");
    }
    let took = t.elapsed();
    // Well before the read timeout T: a loaded machine may be late by a second or two.
    assert!(
        took >= CLIENT_DEADLINE - Duration::from_millis(100)
            && took < CLIENT_DEADLINE + Duration::from_secs(3),
        "cut after {took:?}"
    );
    // Meanwhile, and afterwards, others are served.
    assert_eq!(f.ctl(&["status"]).code, 0);
    // A service started while a client is connected inherits neither the
    // listener nor the connection.
    let held = UnixStream::connect(f.sock()).unwrap();
    assert_eq!(f.ctl(&["restart", "web"]).code, 0);
    assert!(wait_until(T, || f.row("web").state == "running"));
    let web = f.row("web").pid.unwrap();
    // Looked at once it has exec'd: before, foster's close-on-exec fds are
    // still there. (Fds the test harness itself passed down to foster may
    // show up too.)
    assert!(wait_until(T, || fs::read_link(format!("/proc/{web}/exe"))
        .is_ok_and(|e| e.ends_with("sleep"))));
    let foreign: Vec<String> = fs::read_dir(format!("/proc/{web}/fd"))
        .unwrap()
        .filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .map(|t| t.display().to_string())
        .filter(|t| t.starts_with("socket:") || t.starts_with("anon_inode:"))
        .collect();
    assert!(foreign.is_empty(), "web inherited {foreign:?}");
    drop(held);
    assert!(wait_until(T, || fd_count(f.pid) == base));
}

/// A client that ends its request with end-of-file instead of a newline
/// (`printf status | socat ...`) hears why nothing was done; what it sent
/// may be cut short, so it is not carried out.
#[test]
fn a_request_cut_by_end_of_file_gets_an_error_reply() {
    let dir = TempDir::new("halfclosed");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let web = f.row("web").pid;
    let mut s = UnixStream::connect(f.sock()).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"stop web").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("error: ") && reply.ends_with('\n') && reply.lines().count() == 1,
        "{reply:?}"
    );
    assert_eq!(f.row("web").pid, web, "a cut request was carried out");
}

/// A word of `ctl` with a newline in it (`"$NAME"` from a script) is not
/// cut at the newline into a request for another entry: `stop $'web\nx'`
/// names no entry, it does not stop `web`.
#[test]
fn a_newline_in_a_ctl_word_does_not_cut_the_request() {
    let dir = TempDir::new("newline");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let web = f.row("web").pid;
    for args in [
        &["stop", "web\nx"][..],
        &["stop\nweb"],
        &["restart", "web\n"],
    ] {
        let out = f.ctl(args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("foster: "), "{args:?}: {out:?}");
    }
    let row = f.row("web");
    assert_eq!((row.state.as_str(), row.pid), ("running", web));
}

/// Connects to `sock` without blocking until the listener's backlog is
/// full (the next connect would wait): the connections, never accepted.
fn fill_backlog(sock: &Path) -> Vec<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: an all-zero sockaddr_un is valid.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in sa.sun_path.iter_mut().zip(sock.as_os_str().as_bytes()) {
        *d = *s as libc::c_char;
    }
    let mut held = Vec::new();
    loop {
        // SAFETY: plain socket(2) and connect(2) on a socket we own, with
        // the address built above.
        let r = unsafe {
            let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
            assert!(fd >= 0, "socket");
            held.push(std::os::fd::OwnedFd::from_raw_fd(fd));
            let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            libc::connect(fd, &sa as *const _ as *const libc::sockaddr, len)
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "connect: {e}");
            held.pop();
            return held;
        }
        assert!(held.len() < 1000, "the backlog never filled");
    }
}

/// A foster that does not accept (stopped here; stuck, in real life) and
/// whose listen backlog is full: `ctl` gives up with exit 2, as when no
/// answer comes, rather than blocking in connect(2) for ever.
#[test]
fn ctl_gives_up_on_a_full_backlog() {
    let dir = TempDir::new("backlog");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    f.signal(libc::SIGSTOP);
    let held = fill_backlog(f.sock());
    let mut child = Command::new(FOSTER)
        .args(["ctl", "-S"])
        .arg(f.sock())
        .arg("status")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = common::wait_bounded(&mut child, T);
    f.signal(libc::SIGCONT);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(2),
        "ctl: {status:?} {stderr:?}"
    );
    assert!(stderr.contains("unable to reach foster"), "{stderr:?}");
    // Resumed, foster serves the queue and answers again.
    drop(held);
    f.wait_answering();
}

#[derive(Default, Debug)]
struct Tally {
    ok: u32,
    busy: u32,
    error: u32,
    reset: u32,
    abandoned: u32,
}

/// One hostile (or, for kind 4 and 5, ordinary) connection; `n` picks the kind.
fn hostile_client(sock: &Path, n: usize, rng: &mut u32, tally: &Mutex<Tally>) {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 17;
        *rng ^= *rng << 5;
        *rng
    };
    let kind = n % 6;
    let mut s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(T)).unwrap();
    s.set_write_timeout(Some(T)).unwrap();
    match kind {
        // Garbage with and without newlines, NULs, high bytes.
        0 => {
            let len = (next() % 600) as usize;
            let junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = s.write_all(&junk);
            let _ = s.write_all(b"\n");
        }
        // 1 MB without a newline.
        1 => {
            let _ = s.write_all(&vec![b'x'; 1 << 20]);
        }
        // Connect, say nothing, leave.
        2 => std::thread::sleep(Duration::from_millis((next() % 100) as u64)),
        // Half a line, then disconnect mid-request.
        3 => {
            let _ = s.write_all(b"restart cra");
            std::thread::sleep(Duration::from_millis((next() % 30) as u64));
        }
        // A real request, sometimes abandoned before the reply.
        4 => {
            let _ = s.write_all(if n.is_multiple_of(2) {
                b"status\n"
            } else {
                b"stop nope\n"
            });
            if next() % 2 == 0 {
                tally.lock().unwrap().abandoned += 1;
                return;
            }
        }
        // A request in tiny writes.
        _ => {
            for b in b"status\n" {
                let _ = s.write_all(&[*b]);
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    if kind == 2 || kind == 3 {
        tally.lock().unwrap().abandoned += 1;
        return;
    }
    let mut reply = Vec::new();
    let res = s.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply);
    let mut t = tally.lock().unwrap();
    match res {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            panic!("foster neither answered nor hung up within {T:?}")
        }
        _ if text.ends_with("ok\n") => t.ok += 1,
        _ if text == "error: busy, try again\n" => t.busy += 1,
        _ if text.starts_with("error: ") && text.lines().count() == 1 => t.error += 1,
        // The 1 MB sender may see its connection reset before the reply.
        _ if kind == 1 => t.reset += 1,
        _ => panic!("odd reply {text:?} ({res:?})"),
    }
}

/// 1,000 hostile connections, up to 50 at once, while a service crash-loops.
#[test]
fn a_flood_of_bad_clients_does_not_disturb_supervision() {
    let dir = TempDir::new("flood");
    let f = Foster::start(
        &dir,
        "service crash backoff=50ms..100ms -- sh -c 'exit 1'\nservice web -- sleep 1000\n",
    );
    assert!(wait_until(T, || f.row("crash").restarts >= 3));
    let web = f.row("web").pid.unwrap();
    // The baseline: foster between two events (a spawn holds a pipe briefly).
    let mut base = fd_count(f.pid);
    for _ in 0..20 {
        base = base.min(fd_count(f.pid));
        std::thread::sleep(Duration::from_millis(5));
    }
    let r0 = f.row("crash").restarts;
    let t0 = Instant::now();

    let tally = Arc::new(Mutex::new(Tally::default()));
    let sock = Arc::new(f.sock().to_path_buf());
    // The fd count while it happens: bounded by the connection slots.
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (sampling, pid) = (sampling.clone(), f.pid);
        std::thread::spawn(move || {
            let mut most = 0;
            while sampling.load(Ordering::Relaxed) {
                most = most.max(fd_count(pid));
                std::thread::sleep(Duration::from_millis(2));
            }
            most
        })
    };
    // 500 from 10 threads, then 500 from 50 threads at once.
    let mut connections = 0;
    let mut holders = Vec::new();
    for (threads, per_thread) in [(10, 50), (50, 10)] {
        if threads == 50 {
            // Three clients hold a slot, silent, until foster cuts them.
            holders = (0..3)
                .map(|_| {
                    let sock = sock.clone();
                    std::thread::spawn(move || {
                        let mut s = UnixStream::connect(&*sock).unwrap();
                        s.set_read_timeout(Some(T)).unwrap();
                        let mut reply = String::new();
                        let _ = s.read_to_string(&mut reply);
                        reply
                    })
                })
                .collect::<Vec<_>>();
        }
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (tally, sock) = (tally.clone(), sock.clone());
                std::thread::spawn(move || {
                    let mut rng = 0x9e37_79b9u32 ^ (t as u32 + 1).wrapping_mul(2_654_435_761);
                    for n in 0..per_thread {
                        hostile_client(&sock, t * per_thread + n, &mut rng, &tally);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        connections += threads * per_thread;
    }
    for h in holders {
        let reply = h.join().unwrap();
        assert!(
            reply == "error: timed out waiting for a request\n"
                || reply == "error: busy, try again\n",
            "a holder got {reply:?}"
        );
    }
    sampling.store(false, Ordering::Relaxed);
    let most_fds = sampler.join().unwrap();
    assert!(
        most_fds <= base + 4 + 2,
        "{most_fds} fds at most during the flood (baseline {base}, 4 client slots)"
    );
    let flood = t0.elapsed();

    // Supervision went on: status answers, web untouched, crash kept restarting.
    let out = f.ctl(&["status"]);
    assert_eq!(out.code, 0, "{out:?}");
    let t1 = t0.elapsed();
    let r1 = f.row("crash").restarts;
    assert_eq!(f.row("web").pid, Some(web));
    // Each cycle is 100 ms of backoff plus a fork/exec of sh; allow a slow machine.
    let expected = t1.as_millis() as u64 / 100;
    assert!(
        r1 - r0 >= expected / 4,
        "crash restarted {} times in {t1:?} (expected about {expected})",
        r1 - r0
    );
    // Every exit of crash was followed by a start: no restart went missing.
    let log = f.log();
    let crash: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("foster: crash: "))
        .collect();
    for pair in crash.windows(2) {
        if pair[0].contains("exited") {
            assert!(pair[1].contains("started"), "a missed restart: {pair:?}");
        }
    }
    assert!(
        wait_until(T, || fd_count(f.pid) == base),
        "fd count {} != baseline {base}",
        fd_count(f.pid)
    );
    let t = tally.lock().unwrap();
    eprintln!(
        "flood: {connections} connections in {flood:?}: {t:?}; crash restarts {r0} -> {r1} in {t1:?}; fds {base} (at most {most_fds}) -> {}",
        fd_count(f.pid)
    );
    assert!(t.error > 0 && t.ok > 0, "{t:?}");
}

// ------------------------------------------------------------------ PID 1 of a PID namespace

/// foster as PID 1 of a fresh PID and mount namespace, with its own /proc and
/// a private tmpfs on /run. Dropping it kills the namespace.
struct Namespace {
    unshare: Child,
    /// foster's pid as seen from here.
    pid: i32,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Namespace {
    fn start(dir: &TempDir, table: &str) -> Option<Namespace> {
        if !is_root() || Command::new("unshare").arg("--version").output().is_err() {
            eprintln!("skipped: needs root and unshare");
            return None;
        }
        let table_path = dir.path("table.tab");
        fs::write(&table_path, table).unwrap();
        let log = dir.path("foster.log");
        let out = fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        // sh is PID 1 and execs foster: foster is PID 1.
        let unshare = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--mount",
                "--mount-proc",
                "--propagation",
                "private",
            ])
            .args([
                "sh",
                "-c",
                "mount -t tmpfs tmpfs /run && exec \"$0\" -f \"$1\"",
            ])
            .arg(FOSTER)
            .arg(&table_path)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        let mut ns = Namespace {
            pid: 0,
            unshare,
            log,
            exited: None,
        };
        let upid = ns.unshare.id() as i32;
        let found = wait_until(T, || {
            ns.pid = descendants(upid)
                .into_iter()
                .find(|&p| ppid(p) == Some(upid))
                .unwrap_or(0);
            ns.pid > 0
                && fs::read_link(format!("/proc/{}/exe", ns.pid))
                    .is_ok_and(|e| e == Path::new(FOSTER))
                && ns.sock().exists()
        });
        assert!(found, "foster did not come up as PID 1:\n{}", ns.log());
        let nspid = fs::read_to_string(format!("/proc/{}/status", ns.pid)).unwrap();
        let line = nspid.lines().find(|l| l.starts_with("NSpid:")).unwrap();
        assert_eq!(
            line.split_whitespace().last(),
            Some("1"),
            "not PID 1: {line}"
        );
        Some(ns)
    }

    /// /run/foster.sock inside, reached through foster's root.
    fn sock(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/run/foster.sock", self.pid))
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let ok = wait_until(timeout, || {
            if self.exited.is_none() {
                self.exited = self.unshare.try_wait().unwrap();
            }
            self.exited.is_some()
        });
        assert!(
            ok,
            "the namespace still runs after {timeout:?}:\n{}",
            self.log()
        );
        self.exited.unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if self.exited.is_none() && self.unshare.try_wait().ok().flatten().is_none() {
            // Killing PID 1 of the namespace kills everything in it.
            // SAFETY: kill(2) on the namespace's init, our grandchild.
            unsafe {
                if self.pid > 0 {
                    libc::kill(self.pid, libc::SIGKILL);
                }
            }
            let _ = self.unshare.wait();
        }
        if std::thread::panicking() {
            eprintln!("---- namespace log:\n{}----", self.log());
        }
    }
}

#[test]
fn pid1_in_a_namespace_answers_and_powers_off() {
    let dir = TempDir::new("pid1");
    let Some(mut ns) = Namespace::start(
        &dir,
        "service web -- sleep 1000\nservice crash backoff=50ms..100ms -- sh -c 'exit 2'\n",
    ) else {
        return;
    };
    let foster = Proc::of(ns.pid);
    let sock = ns.sock();
    assert_eq!(mode(&sock), Some(0o600));
    assert!(!Path::new("/run/foster.sock").exists() || ns.log().contains("container"));
    assert!(wait_until(T, || {
        let out = ctl(&sock, &["--json", "status"]);
        out.code == 0
            && rows_from_json(&out.stdout)
                .get("crash")
                .is_some_and(|r| r.restarts >= 2)
    }));
    let rows = rows_from_json(&ctl(&sock, &["--json", "status"]).stdout);
    // Pids are the namespace's own: web is a small number, not the host's.
    let web = rows["web"].pid.unwrap();
    assert!(web > 1 && web < 100, "web pid {web} inside the namespace");
    assert_eq!(rows["web"].state, "running");

    // Every command works as PID 1 too.
    assert_eq!(ctl(&sock, &["stop", "web"]).code, 0);
    assert!(wait_until(T, || rows_from_json(
        &ctl(&sock, &["--json", "status"]).stdout
    )["web"]
        .state
        == "stopped"));
    assert_eq!(ctl(&sock, &["start", "web"]).code, 0);
    assert_eq!(ctl(&sock, &["restart", "web"]).code, 0);
    assert_eq!(ctl(&sock, &["reload"]).code, 0);
    // A removed socket is made again at SIGHUP, as a sub-init's.
    fs::remove_file(&sock).unwrap();
    assert_eq!(ctl(&sock, &["status"]).code, 2);
    // SAFETY: kill(2) on the namespace's init, our grandchild.
    assert_eq!(unsafe { libc::kill(ns.pid, libc::SIGHUP) }, 0);
    assert!(
        wait_until(T, || ctl(&sock, &["status"]).code == 0),
        "{}",
        ns.log()
    );
    assert_eq!(mode(&sock), Some(0o600));
    let out = ctl(&sock, &["start", "nope"]);
    assert_eq!(out.code, 1, "{out:?}");
    let out = ctl(&sock, &["stop-all"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("PID 1 does not exit"), "{out:?}");

    let out = ctl(&sock, &["poweroff"]);
    assert_eq!(out.code, 0, "{out:?}");
    let status = ns.wait_exit(T);
    // The kernel ends a PID namespace whose init calls reboot(POWER_OFF) as if
    // SIGINT killed its init; unshare dies of the same signal.
    assert_eq!(
        status.signal(),
        Some(libc::SIGINT),
        "{status:?}\n{}",
        ns.log()
    );
    let log = ns.log();
    assert!(log.contains("starting as PID 1 of a container"), "{log}");
    assert!(log.contains("powering off"), "{log}");
    assert!(!foster.alive());
}

#[test]
fn pid1_in_a_namespace_reboots_and_halts() {
    for (cmd, sig) in [("reboot", libc::SIGHUP), ("halt", libc::SIGINT)] {
        let dir = TempDir::new(cmd);
        let Some(mut ns) = Namespace::start(&dir, "service web -- sleep 1000\n") else {
            return;
        };
        let out = ctl(&ns.sock(), &[cmd]);
        assert_eq!(out.code, 0, "{cmd}: {out:?}");
        let status = ns.wait_exit(T);
        // reboot(RESTART) in a PID namespace: SIGHUP; HALT: SIGINT.
        assert_eq!(
            status.signal(),
            Some(sig),
            "{cmd}: {status:?}\n{}",
            ns.log()
        );
    }
}

/// A reload that removed a `pidfile=` entry still looking for its daemon
/// (the launcher is gone): its row says stopping, not starting, since it
/// only waits to stop a daemon that may still show up.
#[test]
fn a_removed_entry_still_looking_for_its_daemon_shows_stopping() {
    let dir = TempDir::new("removed-pidfile");
    let table = format!(
        "service keep -- sleep 1000\nservice d pidfile={} -- true\n",
        dir.path("d.pid").display()
    );
    let f = Foster::start(&dir, &table);
    // The launcher exited: no pid, the pidfile is polled.
    assert!(wait_until(T, || f
        .status()
        .get("d")
        .is_some_and(|r| r.state == "starting" && r.pid.is_none())));
    fs::write(&f.table, "service keep -- sleep 1000\n").unwrap();
    assert_eq!(f.ctl(&["reload"]).code, 0);
    let row = f.status().remove("d");
    assert_eq!(
        row.map(|r| r.state),
        Some("stopping".to_string()),
        "{}",
        f.ctl(&["status"]).stdout
    );
}

/// A reload of a table with a great many errors (a wrong file put in the
/// table's place) still ends its reply with the verdict: `ctl` says the
/// table was rejected (exit 1, not "no answer", exit 2), and so does a
/// client that reads its reply late, after foster wrote it all.
#[test]
fn a_reload_with_many_errors_still_gets_its_verdict() {
    let dir = TempDir::new("reloadmany");
    let f = Foster::start(&dir, "service web -- sleep 1000\n");
    let web = f.row("web").pid.unwrap();
    fs::write(
        &f.table,
        "service web -- sleep 1000\n".to_string() + &"x\n".repeat(1500),
    )
    .unwrap();

    let out = f.ctl(&["reload"]);
    let tail = &out.stderr[out.stderr.len().saturating_sub(300)..];
    assert_eq!(out.code, 1, "stderr ending {tail:?}");
    assert!(tail.contains("table rejected (1500 error(s))"), "{tail:?}");
    // The first errors come along, with their place.
    assert!(
        out.stderr.contains("table.tab:2:1: unknown kind `x`"),
        "{tail:?}"
    );

    let mut s = UnixStream::connect(f.sock()).unwrap();
    s.set_read_timeout(Some(T)).unwrap();
    s.write_all(b"reload\n").unwrap();
    // Foster answers at once, without waiting for this reader.
    std::thread::sleep(Duration::from_millis(300));
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    assert!(
        reply.ends_with("error: table rejected (1500 error(s)); the running table is kept\n"),
        "{} bytes, ending {:?}",
        reply.len(),
        &reply[reply.len().saturating_sub(200)..]
    );
    assert_eq!(f.row("web").pid, Some(web));
}

/// `ctl stop` answers once the stop signal is sent; a `ctl start` right
/// after it, while the service still cleans up, brings it back once it is
/// down (`s6-svc -d; s6-svc -u` and `sv down; sv up` do), rather than
/// failing with "is stopping" and leaving it down.
#[test]
fn start_right_after_stop_brings_it_back() {
    let dir = TempDir::new("stopstart");
    let f = Foster::start(
        &dir,
        "service web -- sh -c 'trap \"sleep 0.3; exit 0\" TERM; while :; do sleep 0.05; done'\n",
    );
    let web = Proc::of(f.row("web").pid.unwrap());
    assert_eq!(f.ctl(&["stop", "web"]).code, 0);
    let out = f.ctl(&["start", "web"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert!(
        wait_until(T, || !web.alive() && f.row("web").state == "running"),
        "{}",
        f.ctl(&["status"]).stdout
    );
    assert_ne!(f.row("web").pid, Some(web.pid));
}

/// A scratch directory holding `nobody`, a directory nobody owns (where a
/// `user=nobody` entry writes its pidfile); `None` (skipped) when not root.
fn nobody_dir(name: &str) -> Option<(TempDir, PathBuf)> {
    if !is_root() {
        eprintln!("note: not root; skipped");
        return None;
    }
    let dir = TempDir::new(name);
    let own = dir.path("nobody");
    fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(65534), Some(65534)).unwrap();
    Some((dir, own))
}

/// The other side of the rule below: a `pidfile=` entry run as nobody whose
/// daemon (nobody's too) writes its pid into nobody's own pidfile is adopted,
/// and stopped when asked.
#[test]
fn a_pidfile_written_by_its_user_claims_that_users_daemon() {
    let Some((dir, own)) = nobody_dir("pidfile-own") else {
        return;
    };
    let pidfile = own.join("d.pid");
    let table = format!(
        "service d user=nobody pidfile={pf} -- sh -c 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > {pf}'\n",
        pf = pidfile.display(),
    );
    let foster = Foster::start(&dir, &table);
    assert!(
        wait_until(T, || foster.log().contains("d: daemon pid")),
        "{}",
        foster.log()
    );
    let pid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        foster.log().contains(&format!("d: daemon pid {pid}")),
        "{}",
        foster.log()
    );
    assert_eq!(foster.row("d").pid, Some(pid));
    let out = foster.ctl(&["stop", "d"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(wait_until(T, || !alive(pid)), "{}", foster.log());
}

/// A `pidfile=` entry run as nobody writes its own pidfile: naming there a
/// root process that is also foster's child (an orphan another entry left,
/// re-parented to the subreaper) must not hand that process to nobody's
/// entry, whose stop would then kill what nobody itself may not signal
/// (systemd refuses such a pid from a pidfile not owned by root).
#[test]
fn a_pidfile_written_by_its_user_cannot_claim_a_root_process() {
    let Some((dir, own)) = nobody_dir("pidfile-claim") else {
        return;
    };
    let (victim, pidfile) = (dir.p("victim.pid"), own.join("evil.pid"));
    let table = format!(
        "once bg -- sh -c 'setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > {victim}'\n\
         service evil user=nobody pidfile={pf} -- sh -c 'while [ ! -s {victim} ]; do sleep 0.05; done; cat {victim} > {pf}'\n",
        pf = pidfile.display(),
    );
    let foster = Foster::start(&dir, &table);
    // Adopted at once, or refused until the pidfile wait (5 s) runs out.
    let ok = wait_until(T, || {
        let log = foster.log();
        log.contains("evil: daemon pid") || log.contains("evil: no live child pid")
    });
    assert!(ok, "{}", foster.log());
    let pid: i32 = fs::read_to_string(&victim).unwrap().trim().parse().unwrap();
    assert_eq!(ppid(pid), Some(foster.pid), "the victim is foster's child");
    let out = foster.ctl(&["stop", "evil"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !wait_until(Duration::from_millis(500), || !alive(pid)),
        "nobody's pidfile made foster kill root's pid {pid}:\n{}",
        foster.log()
    );
}

/// `start` and `restart` of an entry whose `after=` entry is stopped are
/// refused with the reason (it would wait forever; a restart would stop it
/// for nothing), and what runs keeps running; once the `after=` entry is
/// back, both work. A `restart` of a `shutdown` entry is refused as its
/// `start` is.
#[test]
fn start_behind_a_stopped_after_entry_is_refused_with_the_reason() {
    let dir = TempDir::new("blocked");
    let f = Foster::start(
        &dir,
        "service db -- sleep 1000\nservice web after=db -- sleep 1001\n\
         shutdown sd -- true\n",
    );
    assert!(wait_until(T, || f.row("web").pid.is_some()));
    let web = f.row("web").pid;
    assert_eq!(f.ctl(&["stop", "db"]).code, 0);
    assert!(wait_until(T, || f.row("db").state == "stopped"));
    let out = f.ctl(&["restart", "web"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "foster: web is running: `after=db` will not come up\n"),
        "{out:?}"
    );
    assert_eq!(f.row("web").pid, web, "a refused restart stopped web");
    assert_eq!(f.ctl(&["stop", "web"]).code, 0);
    assert!(wait_until(T, || f.row("web").state == "stopped"));
    let out = f.ctl(&["start", "web"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("`after=db` will not come up"),
        "{out:?}"
    );
    let out = f.ctl(&["restart", "sd"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "foster: sd is waiting\n"),
        "{out:?}"
    );
    assert_eq!(f.ctl(&["start", "db"]).code, 0);
    assert_eq!(f.ctl(&["start", "web"]).code, 0);
    assert!(wait_until(T, || f.row("web").state == "running"));
}
