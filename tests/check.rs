//! `foster check TABLE`, driven from outside: the examples pass and print
//! their plan; a broken table prints `FILE:LINE:COL: message` with the source
//! line and a caret, and exits 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn foster_check(table: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_foster"))
        .arg("check")
        .arg(table)
        .output()
        .expect("run foster")
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn native_example_passes_and_prints_the_plan() {
    let path = example("native.tab");
    let out = foster_check(&path);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.contains("ok, 14 entries in start order"), "{stdout}");
    let row = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{stdout}"))
            .to_owned()
    };
    assert!(row("mount-fs").contains(r#"argv: ["/bin/mount", "-a"]"#));
    let web = row("web");
    for part in [
        "service",
        "user=www",
        "env=PORT=8080",
        r#"env="GREETING=hello world""#,
        "restart=on-failure",
        "backoff=500ms..1m",
        "after=db after=syslog",
        r#"argv: ["/usr/bin/httpd", "-f", "-p", "$PORT"]"#,
    ] {
        assert!(web.contains(part), "{part} missing in {web}");
    }
    // Start order: sysinit, wait, services by after=, then shutdown & co.
    let names: Vec<&str> = stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(2))
        .collect();
    let at = |n: &str| names.iter().position(|&x| x == n).unwrap();
    assert!(at("mount-fs") < at("migrate"));
    assert!(at("syslog") < at("db") && at("db") < at("web") && at("web") < at("motd"));
    assert_eq!(names.last(), Some(&"init"));
}

#[test]
fn inittab_example_passes_with_busybox_meaning() {
    let out = foster_check(&example("inittab"));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("ok, 12 entries"), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap()
            .to_owned()
    };
    assert!(line("console.once")
        .contains(r#"argv: ["/bin/sh", "-c", "exec /bin/echo booted > /dev/kmsg"]"#));
    assert!(line("tty2.askfirst").contains(r#"argv: ["-/bin/sh"] program: "/bin/sh""#));
    assert!(line("tty3.respawn").contains("tty=/dev/tty3"));
}

#[test]
fn demo_example_passes() {
    let out = foster_check(&example("demo.tab"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn broken_table_reports_every_error_with_a_caret() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("broken-{}.tab", std::process::id()));
    std::fs::write(
        &path,
        "sysinit mount /bin/mount -a\n\
         \n\
         service web bogus=1 -- httpd\n\
         service db after=nope -- postgres\n\
         tty1::respwan:/sbin/getty\n\
         once ok /bin/true\n",
    )
    .unwrap();
    let out = foster_check(&path);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "no plan for a broken table");
    let file = path.display().to_string();
    let expected = format!(
        "{file}:3:13: unknown option `bogus`\n  \
         3 | service web bogus=1 -- httpd\n    \
           |             ^\n\
         {file}:5:7: unknown action `respwan` (use sysinit, wait, once, respawn, askfirst, shutdown, restart or ctrlaltdel)\n  \
         5 | tty1::respwan:/sbin/getty\n    \
           |       ^\n\
         {file}:4:12: `after=nope` names no entry\n  \
         4 | service db after=nope -- postgres\n    \
           |            ^\n\
         foster: {file}: 3 errors\n"
    );
    assert_eq!(stderr, expected);
}

#[test]
fn missing_table_is_a_clear_error() {
    let out = foster_check(Path::new("/nonexistent/table"));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("foster: unable to read /nonexistent/table: "),
        "{stderr}"
    );
    assert!(stderr.contains("No such file"), "{stderr}");
}

#[test]
fn check_without_a_table_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_foster"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_takes_exactly_one_table() {
    // `foster check a.tab b.tab` (or a glob) must not pass on the first
    // table's word while the others go unread.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let bad = dir.join(format!("bad-second-{}.tab", std::process::id()));
    std::fs::write(&bad, "service web bogus=1 -- httpd\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_foster"))
        .arg("check")
        .arg(example("native.tab"))
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).contains("usage:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_plan_that_cannot_be_written_fails() {
    let out = Command::new(env!("CARGO_BIN_EXE_foster"))
        .arg("check")
        .arg(example("native.tab"))
        .stdout(std::fs::File::create("/dev/full").expect("open /dev/full"))
        .output()
        .expect("run foster");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "foster: unable to write the plan: No space left on device\n"
    );
}

/// The options of a plan row read back as the same options: a value with a
/// blank, a quote or a backslash is shown quoted (`env=Q=it's` bare would
/// open a quote that never ends).
#[test]
fn plan_options_read_back_as_the_same_options() {
    let dir = std::env::temp_dir().join(format!("foster-check-rt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let options_of = |table: &str| -> String {
        let path = dir.join("t.tab");
        std::fs::write(&path, table).unwrap();
        let out = foster_check(&path);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        let row = stdout.lines().last().unwrap();
        // `    1  service     s     OPTIONS  argv: [...]`
        let after_name = row.split_once(" s ").unwrap().1.trim_start();
        after_name.split_once("  argv:").unwrap().0.to_owned()
    };
    let first = options_of(
        "service s dir=\"/a\\\\b c\" env=\"Q=it's\" env=K=v\\\\w user=\"o'k\" \
         group='g\"x' -- /bin/true\n",
    );
    assert_eq!(
        first,
        r#"user="o'k" group="g\"x" dir="/a\\b c" env="Q=it's" env="K=v\\w""#
    );
    let again = options_of(&format!("service s {first} -- /bin/true\n"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(again, first);
}
