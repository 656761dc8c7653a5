//! What foster execs: native splitting and BusyBox's `init_exec` rules.

mod common;
use common::*;
use config_format::{Argv, ArgvError, Entry, Span, Text};

fn busybox(process: &str) -> (Vec<String>, String) {
    let src = format!("::once:{process}\n");
    let t = clean(&src);
    (argv(&t.entries[0], &src), program(&t.entries[0], &src))
}

fn v(w: &[&str]) -> Vec<String> {
    w.iter().map(|s| s.to_string()).collect()
}

#[test]
fn busybox_plain_commands_split_on_spaces_and_tabs() {
    assert_eq!(
        busybox("/sbin/getty 38400 tty1"),
        (v(&["/sbin/getty", "38400", "tty1"]), "/sbin/getty".into())
    );
    assert_eq!(busybox("  a \t b  "), (v(&["a", "b"]), "a".into()));
    assert_eq!(busybox("reboot"), (v(&["reboot"]), "reboot".into()));
}

#[test]
fn busybox_login_shells() {
    assert_eq!(busybox("-/bin/sh"), (v(&["-/bin/sh"]), "/bin/sh".into()));
    assert_eq!(
        busybox("-/bin/login -f root"),
        (v(&["-/bin/login", "-f", "root"]), "/bin/login".into())
    );
    assert_eq!(
        busybox("-/bin/sh -c 'x'"),
        (
            v(&["-/bin/sh", "-c", "exec /bin/sh -c 'x'"]),
            "/bin/sh".into()
        )
    );
}

#[test]
fn busybox_every_metacharacter_means_sh_c_exec() {
    for c in "~`!$^&*()=|\\{}[];\"'<>?".chars() {
        let process = format!("echo a{c}b");
        let (words, prog) = busybox(&process);
        assert_eq!(
            words,
            v(&["/bin/sh", "-c", &format!("exec {process}")]),
            "{c}"
        );
        assert_eq!(prog, "/bin/sh");
    }
    // Others are not special.
    for c in "%+,-./:@_".chars() {
        let (words, _) = busybox(&format!("echo a{c}b"));
        assert_eq!(words, v(&["echo", &format!("a{c}b")]));
    }
}

#[test]
fn busybox_continuation_is_removed_first() {
    let src = "::once:/bin/echo a \\\n b\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["/bin/echo", "a", "b"]);
    let src = "::once:/bin/echo $A \\\n b\n";
    let t = clean(src);
    assert_eq!(
        argv(&t.entries[0], src),
        ["/bin/sh", "-c", "exec /bin/echo $A  b"]
    );
}

#[test]
fn native_program_is_word_zero_and_path_searched_names_stay() {
    let src = "service a httpd -f\nservice b /usr/bin/x\nservice c -- -weird\n";
    let t = clean(src);
    assert_eq!(program(&t.entries[0], src), "httpd");
    assert_eq!(program(&t.entries[1], src), "/usr/bin/x");
    // No login-shell rule for native lines.
    assert_eq!(program(&t.entries[2], src), "-weird");
}

#[test]
fn argv_words_are_nul_terminated() {
    let src = "service a one 'two 2' three\n";
    let t = clean(src);
    let mut a = Argv::new();
    t.entries[0].argv(src.as_bytes(), &mut a).unwrap();
    assert_eq!(a.len(), 3);
    assert!(!a.is_empty());
    assert_eq!(a.word_cstr(1).unwrap().to_bytes(), b"two 2");
    assert_eq!(a.program().unwrap().to_bytes(), b"one");
    assert!(a.word(3).is_none());
    assert!(a.word_cstr(3).is_none());
    // Reusing the buffer clears it.
    let src2 = "service b x\n";
    clean(src2).entries[0]
        .argv(src2.as_bytes(), &mut a)
        .unwrap();
    assert_eq!(a.len(), 1);
}

#[test]
fn argv_capacity_errors_on_hand_built_entries() {
    let base = clean("service a x\n").entries[0].clone();
    let with = |src: &str| {
        let mut e: Entry = base.clone();
        e.texts[Text::Command as usize] = Span {
            start: 0,
            len: src.len() as u32,
        };
        let mut a = Argv::new();
        e.argv(src.as_bytes(), &mut a)
    };
    assert_eq!(with(""), Err(ArgvError::Empty));
    assert_eq!(with("   # c"), Err(ArgvError::Empty));
    assert_eq!(with(&vec!["w"; 33].join(" ")), Err(ArgvError::TooManyWords));
    assert_eq!(with(&"x".repeat(4096)), Err(ArgvError::TooLong));
    assert_eq!(with(&"x".repeat(4095)), Ok(()));
    assert_eq!(with("'open"), Err(ArgvError::Empty));
    // Spans out of range read as empty, never panic.
    let mut e = base.clone();
    e.texts[Text::Command as usize] = Span { start: 100, len: 5 };
    assert_eq!(e.argv(b"short", &mut Argv::new()), Err(ArgvError::Empty));
}
