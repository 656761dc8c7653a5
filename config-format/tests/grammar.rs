//! Every grammar rule and every error message of the table format.

mod common;
use common::*;
use config_format::{
    parse, Entry, Kind, Log, OnExit, RestartPolicy, Span, Syntax, DEFAULT_BACKOFF_MAX,
    DEFAULT_BACKOFF_MIN, DEFAULT_STOP_TIMEOUT, MAX_ENTRIES, SIGTERM,
};

// `Text` is the tests' sink.
use config_format::Text as Opt;

/// Text option `t` of `e`, `None` when not set.
fn opt(e: &Entry, t: Opt) -> Option<Span> {
    e.has(t).then(|| e.text(t))
}

fn text(src: &str, s: config_format::Span) -> &str {
    std::str::from_utf8(s.get(src.as_bytes())).unwrap()
}

// ---- lines, words, comments ------------------------------------------------

#[test]
fn every_kind_and_the_respawn_alias() {
    let src = "sysinit a x\nwait b x\nonce c x\nservice d x\nrespawn e x\naskfirst f x\n\
               shutdown g x\nctrlaltdel h x\nrestart i x\n";
    let t = clean(src);
    let kinds: Vec<Kind> = t.entries.iter().map(|e| e.kind).collect();
    use Kind::*;
    assert_eq!(
        kinds,
        [Sysinit, Wait, Once, Service, Service, Askfirst, Shutdown, CtrlAltDel, Restart]
    );
    assert!(t.entries.iter().all(|e| e.syntax == Syntax::Native));
}

#[test]
fn defaults() {
    let src = "service web httpd\nonce job run\n";
    let t = clean(src);
    let web = &t.entries[0];
    assert_eq!(web.name.as_str(), "web");
    assert_eq!(web.line, 1);
    assert_eq!(web.restart, RestartPolicy::Always);
    assert_eq!(
        (web.backoff_min, web.backoff_max),
        (DEFAULT_BACKOFF_MIN, DEFAULT_BACKOFF_MAX)
    );
    assert_eq!(web.stop_signal, SIGTERM);
    assert_eq!(web.timeout, DEFAULT_STOP_TIMEOUT);
    assert_eq!(web.log, Log::Console);
    assert_eq!(opt(web, Opt::Tty), None);
    assert_eq!(web.umask(), None);
    assert_eq!(web.on_exit(), None);
    assert!(web.env.is_empty() && web.after.is_empty());
    assert_eq!(t.entries[1].restart, RestartPolicy::Never);
    assert_eq!(t.entries[1].line, 2);
}

#[test]
fn blank_lines_comments_and_whitespace() {
    let src = "\n   \n\t\n# a comment\n   # indented comment\nservice a x # trailing\n#\n";
    let t = clean(src);
    assert_eq!(t.entries.len(), 1);
    assert_eq!(argv(&t.entries[0], src), ["x"]);
    assert_eq!(t.entries[0].line, 6);
}

#[test]
fn hash_inside_a_word_is_literal() {
    let src = "service a echo a#b '#c' \\#d #gone\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["echo", "a#b", "#c", "#d"]);
}

#[test]
fn tabs_are_blanks_and_crlf_is_tolerated() {
    let src = "service\ta\tuser=x\t--\techo\thi\r\nonce b echo\r\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["echo", "hi"]);
    assert_eq!(text(src, opt(&t.entries[0], Opt::User).unwrap()), "x");
    assert_eq!(argv(&t.entries[1], src), ["echo"]);
}

#[test]
fn continuation_joins_lines() {
    let src = "service a user=x \\\n   env=A=1 \\\r\n  -- echo \\\n  hi\nonce b x\n";
    let t = clean(src);
    let a = &t.entries[0];
    assert_eq!(argv(a, src), ["echo", "hi"]);
    assert_eq!(a.env.len(), 1);
    assert_eq!(t.entries[1].line, 5);
    // Inside a word the continuation vanishes.
    let src = "service a ec\\\nho h\\\ni\n";
    assert_eq!(argv(&clean(src).entries[0], src), ["echo", "hi"]);
    // A comment never continues.
    let src = "# comment \\\nservice a x\n";
    assert_eq!(clean(src).entries.len(), 1);
    // A continuation at the very end is harmless.
    let src = "service a x \\";
    assert_eq!(argv(&clean(src).entries[0], src), ["x"]);
}

#[test]
fn continuation_right_after_a_word_ends_it() {
    // The kind, the name, `--` and option words are read as written, so a
    // continuation that ends one (no blank before the `\`) must not stick
    // to it: `web\` is `web`, `--\` is `--`.
    let src = "service\\\n web\\\n user=x\\\r\n --\\\n /bin/httpd\\\n -f\n";
    let t = clean(src);
    let e = &t.entries[0];
    assert_eq!(e.name.as_str(), "web");
    assert_eq!(text(src, opt(e, Opt::User).unwrap()), "x");
    assert_eq!(argv(e, src), ["/bin/httpd", "-f"]);
    // An error still points right after the last word.
    assert_eq!(one_error("service web\\\n"), "1:12: empty command");
}

#[test]
fn no_trailing_newline_and_empty_input() {
    assert_eq!(clean("service a x").entries.len(), 1);
    assert_eq!(clean("").entries.len(), 0);
    assert_eq!(clean("\n\n").entries.len(), 0);
}

#[test]
fn names() {
    let src = "service A-z_0.9@x+y x\n";
    assert_eq!(clean(src).entries[0].name.as_str(), "A-z_0.9@x+y");
    let long = "n".repeat(32);
    assert_eq!(clean(&format!("service {long} x")).entries.len(), 1);
    let long = "n".repeat(33);
    assert_eq!(
        one_error(&format!("service {long} x")),
        format!("1:9: bad name `{long}` (use 1 to 32 of A-Z a-z 0-9 _ . @ + -)")
    );
    assert_eq!(
        one_error("service we/b x"),
        "1:9: bad name `we/b` (use 1 to 32 of A-Z a-z 0-9 _ . @ + -)"
    );
    assert_eq!(
        one_error("service 'web' x"),
        "1:9: bad name `'web'` (use 1 to 32 of A-Z a-z 0-9 _ . @ + -)"
    );
}

// ---- options -----------------------------------------------------------------

#[test]
fn every_option() {
    let src = "service web tty=ttyS0 user=www group=web dir=/srv env=A=1 env=B=\"x y\" \
               umask=027 log=kmsg restart=on-failure backoff=1s..1m after=db ready=fd:4 \
               pidfile=/run/web.pid stop=SIGHUP timeout=500ms on-exit=exit:3 -- httpd -f\n\
               once db x\n";
    let t = clean(src);
    let e = &t.entries[0];
    assert_eq!(text(src, opt(e, Opt::Tty).unwrap()), "ttyS0");
    assert_eq!(text(src, opt(e, Opt::User).unwrap()), "www");
    assert_eq!(text(src, opt(e, Opt::Group).unwrap()), "web");
    assert_eq!(text(src, opt(e, Opt::Dir).unwrap()), "/srv");
    assert_eq!(text(src, e.env[0]), "A=1");
    assert_eq!(text(src, e.env[1]), "B=\"x y\"");
    assert_eq!(e.umask(), Some(0o27));
    assert_eq!(e.log, Log::Kmsg);
    assert_eq!(e.restart, RestartPolicy::OnFailure);
    assert_eq!((e.backoff_min, e.backoff_max), (1_000, 60_000));
    assert_eq!(e.after[0].as_str(), "db");
    assert_eq!(e.ready_fd(), Some(4));
    assert_eq!(text(src, opt(e, Opt::Pidfile).unwrap()), "/run/web.pid");
    assert_eq!(e.stop_signal, 1);
    assert_eq!(e.timeout, 500);
    assert_eq!((e.on_exit(), e.exit_code), (Some(OnExit::Exit), 3));
    assert_eq!(argv(e, src), ["httpd", "-f"]);
}

#[test]
fn option_values() {
    let log = |v: &str| {
        let src = format!("service a log={v} x");
        clean(&src).entries[0].log
    };
    assert_eq!(log("console"), Log::Console);
    assert_eq!(log("null"), Log::Null);
    assert_eq!(log("/var/log/a"), Log::File);
    assert_eq!(log("'/var/log/a b'"), Log::File);
    // The path is kept raw, and only for a file.
    let src = "service a log='/var/log/a b' x";
    assert_eq!(
        text(src, clean(src).entries[0].text(Opt::Log)),
        "'/var/log/a b'"
    );
    assert!(!clean("service a log=null x").entries[0].has(Opt::Log));
    let on_exit = |v: &str| {
        let e = &clean(&format!("once a on-exit={v} x")).entries[0];
        (e.on_exit(), e.exit_code)
    };
    assert_eq!(on_exit("poweroff"), (Some(OnExit::Poweroff), 0));
    assert_eq!(on_exit("reboot"), (Some(OnExit::Reboot), 0));
    assert_eq!(on_exit("halt"), (Some(OnExit::Halt), 0));
    assert_eq!(on_exit("exit"), (Some(OnExit::ExitStatus), 0));
    assert_eq!(on_exit("exit:255"), (Some(OnExit::Exit), 255));
    let stop = |v: &str| clean(&format!("service a stop={v} x")).entries[0].stop_signal;
    assert_eq!(stop("TERM"), 15);
    assert_eq!(stop("SIGKILL"), 9);
    assert_eq!(stop("usr1"), 10);
    assert_eq!(stop("64"), 64);
    // Quoted values are checked unquoted.
    assert_eq!(stop("'INT'"), 2);
    let restart = |v: &str| clean(&format!("service a restart={v} x")).entries[0].restart;
    assert_eq!(restart("always"), RestartPolicy::Always);
    assert_eq!(restart("never"), RestartPolicy::Never);
}

#[test]
fn restart_is_honoured_on_the_kinds_that_run_on() {
    let t = clean("once a restart=on-failure x\nservice b restart=never x\naskfirst c x\n");
    assert_eq!(t.entries[0].restart, RestartPolicy::OnFailure);
    assert_eq!(t.entries[1].restart, RestartPolicy::Never);
    assert_eq!(t.entries[2].restart, RestartPolicy::Always);
}

#[test]
fn options_end_at_dashdash_or_the_first_non_option_word() {
    let src = "service a user=x /bin/env FOO=bar\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["/bin/env", "FOO=bar"]);
    // An upper-case or quoted key is not an option: the command starts there.
    let src = "service a FOO=bar cmd\nservice b \"user\"=x cmd\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["FOO=bar", "cmd"]);
    assert_eq!(argv(&t.entries[1], src), ["user=x", "cmd"]);
    // `--` lets a command start with a lower-case `key=` word.
    let src = "service a -- user=x cmd\n";
    assert_eq!(argv(&clean(src).entries[0], src), ["user=x", "cmd"]);
    // Only the first `--` is special.
    let src = "service a -- cmd -- x\n";
    assert_eq!(argv(&clean(src).entries[0], src), ["cmd", "--", "x"]);
    // Option-looking words after the command starts are arguments.
    let src = "service a cmd user=x\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["cmd", "user=x"]);
    assert_eq!(opt(&t.entries[0], Opt::User), None);
}

// ---- quoting -----------------------------------------------------------------

#[test]
fn command_quoting() {
    let src = r#"service a echo 'single $x \n' "double \"q\" \\ \$ \` \n" back\ slash\"q '' """#;
    let t = clean(src);
    assert_eq!(
        argv(&t.entries[0], src),
        [
            "echo",
            r"single $x \n",
            r#"double "q" \ $ ` \n"#,
            r#"back slash"q"#,
            "",
            ""
        ]
    );
    assert_eq!(program(&t.entries[0], src), "echo");
}

#[test]
fn unquote_removes_one_level() {
    use config_format::unquote;
    let mut buf = [0u8; 64];
    let mut u = |raw: &str| {
        unquote(raw.as_bytes(), &mut buf).map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    };
    assert_eq!(u("plain").as_deref(), Some("plain"));
    assert_eq!(u("'a b'").as_deref(), Some("a b"));
    assert_eq!(u(r#""a \"b\" \x""#).as_deref(), Some(r#"a "b" \x"#));
    assert_eq!(u(r"a\ b").as_deref(), Some("a b"));
    assert_eq!(u("#not-a-comment").as_deref(), Some("#not-a-comment"));
    assert_eq!(u("").as_deref(), Some(""));
    assert_eq!(u("'open"), None);
    let mut small = [0u8; 3];
    assert_eq!(unquote(b"abcd", &mut small), None);
    assert_eq!(unquote(b"'abc'", &mut small), Some(3));
}

// ---- errors: one test per message -------------------------------------------

#[test]
fn error_unknown_kind() {
    assert_eq!(
        one_error("servce web x"),
        "1:1: unknown kind `servce` (use sysinit, wait, once, service, askfirst, shutdown, ctrlaltdel or restart)"
    );
}

#[test]
fn error_missing_name() {
    assert_eq!(one_error("service"), "1:8: missing name after `service`");
    assert_eq!(one_error("  once  # c"), "1:12: missing name after `once`");
}

#[test]
fn error_duplicate_name() {
    assert_eq!(
        one_error("service web x\n\nonce web y\n"),
        "3:6: duplicate name `web` (first defined on line 1)"
    );
    let (t, _) = run("service web x\nonce web y\n");
    assert_eq!(t.entries.len(), 1);
    assert_eq!(t.entries[0].kind, Kind::Service);
}

#[test]
fn error_unknown_option() {
    assert_eq!(
        one_error("service web bogus=1 -- httpd"),
        "1:13: unknown option `bogus`"
    );
}

#[test]
fn error_duplicate_option() {
    assert_eq!(
        one_error("service web user=a user=b x"),
        "1:20: duplicate option `user=`"
    );
}

#[test]
fn error_missing_value() {
    for key in ["tty", "user", "group", "dir", "pidfile"] {
        let src = format!("service web {key}= x");
        assert_eq!(
            one_error(&src),
            format!("1:{}: missing value for `{key}=`", 14 + key.len())
        );
    }
    assert_eq!(
        one_error("service web user='' x"),
        "1:18: missing value for `user=`"
    );
}

#[test]
fn error_bad_values() {
    let cases = [
        ("timeout=5x", "bad duration `5x` (use 500ms, 2s, 1m)"),
        ("timeout=", "bad duration `` (use 500ms, 2s, 1m)"),
        ("stop=FOO", "bad signal `FOO` (use a name like TERM or a number 1..64)"),
        ("stop=0", "bad signal `0` (use a name like TERM or a number 1..64)"),
        ("stop=65", "bad signal `65` (use a name like TERM or a number 1..64)"),
        ("umask=999", "bad umask `999` (use octal 0..0777, e.g. 022)"),
        ("umask=01000", "bad umask `01000` (use octal 0..0777, e.g. 022)"),
        ("log=file", "bad log `file` (use console, null, kmsg or an absolute path)"),
        ("log=var/log/x", "bad log `var/log/x` (use console, null, kmsg or an absolute path)"),
        ("restart=sometimes", "bad restart `sometimes` (use always, on-failure or never)"),
        ("backoff=1s", "bad backoff `1s` (use MIN..MAX with 0 < MIN <= MAX, e.g. 100ms..30s)"),
        ("backoff=5s..1s", "bad backoff `5s..1s` (use MIN..MAX with 0 < MIN <= MAX, e.g. 100ms..30s)"),
        ("backoff=0..1s", "bad backoff `0..1s` (use MIN..MAX with 0 < MIN <= MAX, e.g. 100ms..30s)"),
        ("ready=fd:2", "bad ready `fd:2` (use fd:N with N in 3..255)"),
        ("ready=fd:256", "bad ready `fd:256` (use fd:N with N in 3..255)"),
        ("ready=3", "bad ready `3` (use fd:N with N in 3..255)"),
        ("on-exit=exit:256", "bad on-exit `exit:256` (use poweroff, reboot, halt, exit or exit:CODE with CODE 0..255)"),
        ("on-exit=shutdown", "bad on-exit `shutdown` (use poweroff, reboot, halt, exit or exit:CODE with CODE 0..255)"),
        ("env=A", "bad env `A` (use env=KEY=VALUE, KEY of A-Z a-z 0-9 _ not starting with a digit)"),
        ("env=1A=x", "bad env `1A=x` (use env=KEY=VALUE, KEY of A-Z a-z 0-9 _ not starting with a digit)"),
        ("env==x", "bad env `=x` (use env=KEY=VALUE, KEY of A-Z a-z 0-9 _ not starting with a digit)"),
        ("pidfile=run/x.pid", "bad pidfile `run/x.pid` (use an absolute path)"),
    ];
    for (opt, msg) in cases {
        let src = format!("service web {opt} -- x");
        let col = 13 + opt.find('=').unwrap() + 1;
        assert_eq!(one_error(&src), format!("1:{col}: {msg}"), "{src}");
    }
}

#[test]
fn error_value_too_long() {
    // The init copies option values into buffers of MAX_VALUE bytes: a
    // longer one is an error here, never silently dropped at start (a
    // `user=` dropped there would run the service as foster's own user).
    let max = config_format::MAX_VALUE;
    for key in ["tty", "user", "group", "dir", "pidfile", "log", "env"] {
        let fit = match key {
            "env" => format!("A={}", "v".repeat(max - 2)),
            _ => format!("/{}", "v".repeat(max - 1)),
        };
        let src = format!("service web {key}={fit} -- x");
        assert_eq!(clean(&src).entries.len(), 1, "{key}");
        // Quotes do not count: the limit is on the value as used.
        let src = format!("service web {key}='{fit}' -- x");
        assert_eq!(clean(&src).entries.len(), 1, "{key}");
        let src = format!("service web {key}={fit}v -- x");
        assert_eq!(
            one_error(&src),
            format!("1:13: option value too long (at most {max} bytes)"),
            "{key}"
        );
    }
}

#[test]
fn error_duration_that_would_overflow_a_deadline() {
    // Deadlines are `now + duration` in milliseconds: a duration near
    // u64::MAX would wrap to the past (a `timeout=` that SIGKILLs at once,
    // a backoff that does not wait).
    for opt in [
        "timeout=5124095576030h",
        "timeout=18446744073709551s",
        "backoff=1s..5124095576030h",
    ] {
        let src = format!("service web {opt} -- x");
        let (_, errs) = run(&src);
        assert_eq!(errs.len(), 1, "{opt}: {errs:?}");
    }
    let src = "service web timeout=1000000h backoff=1s..1000000h -- x";
    assert_eq!(clean(src).entries[0].timeout, 3_600_000_000_000);
}

#[test]
fn error_bad_after_name() {
    assert_eq!(
        one_error("service web after=a/b x"),
        "1:19: bad name `a/b` (use 1 to 32 of A-Z a-z 0-9 _ . @ + -)"
    );
}

#[test]
fn error_empty_command() {
    assert_eq!(one_error("service web"), "1:12: empty command");
    assert_eq!(one_error("service web user=x --"), "1:22: empty command");
    assert_eq!(
        one_error("service web user=x # comment"),
        "1:19: empty command"
    );
    assert_eq!(one_error("service web -- \\\n"), "1:15: empty command");
}

#[test]
fn error_unterminated_quote() {
    assert_eq!(
        one_error("service web echo 'oops\nonce ok x\n"),
        "1:18: unterminated quote `'`"
    );
    assert_eq!(
        one_error("service web env=\"A=1 x\n"),
        "1:17: unterminated quote `\"`"
    );
    assert_eq!(one_error("'x"), "1:1: unterminated quote `'`");
    assert_eq!(one_error("service 'x"), "1:9: unterminated quote `'`");
    // The next line still parses.
    let (t, _) = run("service web echo 'oops\nonce ok x\n");
    assert_eq!(t.entries.len(), 1);
    assert_eq!(t.entries[0].name.as_str(), "ok");
}

#[test]
fn error_nul_byte() {
    let (t, errs) = run("service a ec\0ho\nonce b x\n");
    assert_eq!(errs, ["1:13: NUL byte in a line"]);
    assert_eq!(t.entries.len(), 1);
    assert_eq!(one_error("::once:a\0\n"), "1:9: NUL byte in a line");
}

#[test]
fn error_too_many_entries() {
    let mut src = String::new();
    for i in 0..MAX_ENTRIES + 2 {
        src.push_str(&format!("once e{i} x\n"));
    }
    let (t, errs) = run(&src);
    assert_eq!(t.entries.len(), MAX_ENTRIES);
    assert_eq!(
        errs,
        [
            "65:1: too many entries (at most 64)",
            "66:1: too many entries (at most 64)"
        ]
    );
}

#[test]
fn error_too_many_env_after_words_bytes() {
    let env: String = (0..9).map(|i| format!("env=K{i}=v ")).collect();
    assert_eq!(
        one_error(&format!("service a {env}x")),
        "1:83: too many `env=` options (at most 8)"
    );
    let after: String = (0..5).map(|i| format!("after=d{i} ")).collect();
    let deps: String = (0..5).map(|i| format!("once d{i} x\n")).collect();
    assert_eq!(
        one_error(&format!("{deps}service a {after}x")),
        "6:47: too many `after=` options (at most 4)"
    );
    let words = vec!["w"; 33].join(" ");
    assert_eq!(
        one_error(&format!("service a {words}")),
        "1:75: too many words in command (at most 32)"
    );
    assert_eq!(
        clean(&format!("service a {}", vec!["w"; 32].join(" ")))
            .entries
            .len(),
        1
    );
    let long = "x".repeat(4095);
    assert_eq!(
        one_error(&format!("service a {long} y")),
        "1:11: command too long (at most 4096 bytes)"
    );
    // 4095 bytes + NUL is exactly the buffer.
    let src = format!("service a {long}");
    let t = clean(&src);
    assert_eq!(argv(&t.entries[0], &src)[0].len(), 4095);
}

/// `after=`, `restart=` and `backoff=` on a kind that runs once at its
/// moment (neither ordered nor restarted) are errors, not silently ignored.
#[test]
fn error_after_restart_backoff_on_a_kind_that_runs_at_its_moment() {
    assert_eq!(
        one_error("once a x\nsysinit b after=a x"),
        "2:11: `after=` applies only to once, service and askfirst entries, not sysinit"
    );
    for (line, key, kind) in [
        ("sysinit b restart=on-failure x", "restart", "sysinit"),
        ("wait b restart=always x", "restart", "wait"),
        ("shutdown b backoff=1s..2s x", "backoff", "shutdown"),
        ("ctrlaltdel b restart=never x", "restart", "ctrlaltdel"),
        ("restart b backoff=1s..2s x", "backoff", "restart"),
    ] {
        let col = line.find(key).unwrap() + 1;
        assert_eq!(
            one_error(line),
            format!(
                "1:{col}: `{key}=` applies only to once, service and askfirst entries, not {kind}"
            )
        );
    }
}

#[test]
fn error_after_unknown() {
    assert_eq!(
        one_error("service web after=db x"),
        "1:13: `after=db` names no entry"
    );
}

#[test]
fn error_after_names_a_never_started_entry() {
    assert_eq!(
        one_error("shutdown s x\nservice web after=s x"),
        "2:13: `after=s` names a shutdown entry, which never starts"
    );
}

#[test]
fn after_may_name_sysinit_and_wait_entries() {
    let t = clean("service web after=boot after=w x\nsysinit boot x\nwait w x\n");
    assert_eq!(order(&t), ["boot", "w", "web"]);
}

#[test]
fn error_after_broken_and_dependents_dropped() {
    let src = "service db bogus=1 x\nservice web after=db x\nonce motd after=web x\nonce ok x\n";
    let (t, errs) = run(src);
    assert_eq!(
        errs,
        [
            "1:12: unknown option `bogus`",
            "2:13: `after=db` names an entry with errors",
            "3:11: `after=web` names an entry with errors",
        ]
    );
    assert_eq!(t.entries.len(), 1);
    assert_eq!(t.entries[0].name.as_str(), "ok");
}

#[test]
fn error_after_cycles() {
    let (t, errs) = run("service a after=b x\nservice b after=a x\nonce c after=a x\nonce d x\n");
    assert_eq!(
        errs,
        [
            "1:11: `after=` cycle: a -> b -> a",
            "2:11: `after=` cycle: b -> a -> b",
            "3:8: `after=a` names an entry with errors",
        ]
    );
    assert_eq!(order(&t), ["d"]);
    assert_eq!(
        one_error("service a after=a x"),
        "1:11: `after=` cycle: a -> a"
    );
    let (_, errs) = run("once a after=x after=b x\nonce b after=c x\nonce c after=a x\nonce x y\n");
    assert_eq!(
        errs,
        [
            "1:16: `after=` cycle: a -> b -> c -> a",
            "2:8: `after=` cycle: b -> c -> a -> b",
            "3:8: `after=` cycle: c -> a -> b -> c",
        ]
    );
    // Long cycles are cut in the message.
    let src: String = (0..8)
        .map(|i| format!("once n{i} after=n{} x\n", (i + 1) % 8))
        .collect();
    let (_, errs) = run(&src);
    assert_eq!(errs.len(), 8);
    assert_eq!(
        errs[0],
        "1:9: `after=` cycle: n0 -> n1 -> n2 -> n3 -> n4 -> n5 -> ... -> n0"
    );
}

// ---- BusyBox inittab lines ---------------------------------------------------

#[test]
fn inittab_fields() {
    let src = "tty1:2345:respawn:/sbin/getty 38400 tty1\n::sysinit:/etc/init.d/rcS\n";
    let t = clean(src);
    let e = &t.entries[0];
    assert_eq!(e.syntax, Syntax::Inittab);
    assert_eq!(e.kind, Kind::Service);
    assert_eq!(e.restart, RestartPolicy::Always);
    assert_eq!(e.name.as_str(), "tty1.respawn");
    assert_eq!(text(src, opt(e, Opt::Tty).unwrap()), "tty1");
    assert_eq!(argv(e, src), ["/sbin/getty", "38400", "tty1"]);
    let e = &t.entries[1];
    assert_eq!(e.kind, Kind::Sysinit);
    assert_eq!(opt(e, Opt::Tty), None);
    assert_eq!(e.name.as_str(), "console.sysinit");
    assert_eq!(e.line, 2);
}

#[test]
fn inittab_every_action() {
    let src = "::sysinit:a\n::wait:a\n::once:a\n::respawn:a\n::askfirst:a\n::shutdown:a\n\
               ::restart:a\n::ctrlaltdel:a\n";
    let t = clean(src);
    use Kind::*;
    let kinds: Vec<Kind> = t.entries.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [Sysinit, Wait, Once, Service, Askfirst, Shutdown, Restart, CtrlAltDel]
    );
}

/// BusyBox waits for a `shutdown` line without a limit and an inittab line
/// cannot set `timeout=`: it gets a minute, not the native 5 s (an `rcK`
/// stopping a database was killed after 5 s).
#[test]
fn inittab_shutdown_lines_get_a_minute() {
    let src = "::shutdown:/etc/init.d/rcK\n::respawn:/bin/sh\nshutdown n -- /bin/true\n";
    let t = clean(src);
    let timeouts: Vec<u64> = t.entries.iter().map(|e| e.timeout).collect();
    assert_eq!(timeouts, [60_000, 5_000, 5_000]);
}

#[test]
fn inittab_names_are_generated_unique_and_stable() {
    let src = "::shutdown:a\n::shutdown:b\n/dev/ttyS0::respawn:c\nttyS0::respawn:d\n\
               pts/1::once:e\n::shutdown:f\n";
    let t = clean(src);
    let names: Vec<&str> = t.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "console.shutdown",
            "console.shutdown.2",
            "ttyS0.respawn",
            "ttyS0.respawn.2",
            "pts_1.once",
            "console.shutdown.3"
        ]
    );
    // A long id is cut so the name fits.
    let src = format!("{}::ctrlaltdel:x\n", "t".repeat(40));
    let t = clean(&src);
    assert!(t.entries[0].name.as_str().ends_with(".ctrlaltdel"));
    // A native line reusing a generated name is a duplicate.
    assert_eq!(
        one_error("::sysinit:a\nonce console.sysinit b\n"),
        "2:6: duplicate name `console.sysinit` (first defined on line 1)"
    );
}

#[test]
fn inittab_process_keeps_colons_and_blanks() {
    let src = "::once:/bin/echo a:b   c\t d  \n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["/bin/echo", "a:b", "c", "d"]);
    // Kept raw, without trailing blanks, and without a login shell's `-`.
    let e = &t.entries[0];
    assert_eq!(e.syntax, Syntax::Inittab);
    assert_eq!(text(src, e.text(Opt::Command)), "/bin/echo a:b   c\t d");
    assert!(!e.login);
    let src = "::once:-/bin/sh -l\n";
    let e = &clean(src).entries[0];
    assert_eq!(text(src, e.text(Opt::Command)), "/bin/sh -l");
    assert!(e.login);
}

#[test]
fn inittab_hash_anywhere_is_a_comment() {
    let src = "::once:/bin/echo a#b\n";
    let t = clean(src);
    assert_eq!(argv(&t.entries[0], src), ["/bin/echo", "a"]);
}

#[test]
fn inittab_runlevels_are_ignored() {
    let src = "::once:x\nid:12345 and anything:once:y\n";
    assert_eq!(clean(src).entries.len(), 2);
}

#[test]
fn inittab_errors() {
    assert_eq!(
        one_error("::sysinit\n"),
        "1:1: bad inittab line (use id:runlevels:action:process)"
    );
    assert_eq!(
        one_error("  tty1:respawn:/bin/sh\n"),
        "1:3: bad inittab line (use id:runlevels:action:process)"
    );
    assert_eq!(
        one_error("tty1::respwan:/sbin/getty\n"),
        "1:7: unknown action `respwan` (use sysinit, wait, once, respawn, askfirst, shutdown, restart or ctrlaltdel)"
    );
    assert_eq!(
        one_error("::service:/bin/sh\n"),
        "1:3: unknown action `service` (use sysinit, wait, once, respawn, askfirst, shutdown, restart or ctrlaltdel)"
    );
    assert_eq!(one_error("::once:\n"), "1:8: empty command");
    assert_eq!(one_error("::once:   # c\n"), "1:8: empty command");
    assert_eq!(one_error("::once:-\n"), "1:8: empty command");
    let words = vec!["w"; 33].join(" ");
    assert_eq!(
        one_error(&format!("::once:{words}\n")),
        "1:72: too many words in command (at most 32)"
    );
    assert_eq!(
        one_error(&format!("::once:echo {}$\n", "x".repeat(4090))),
        "1:8: command too long (at most 4096 bytes)"
    );
}

#[test]
fn inittab_and_native_mix() {
    let src = "::sysinit:/bin/a\nsysinit b /bin/b\ntty2::askfirst:-/bin/sh\nservice web after=tty2.askfirst x\n";
    let t = clean(src);
    assert_eq!(t.entries.len(), 4);
    assert_eq!(order(&t), ["console.sysinit", "b", "tty2.askfirst", "web"]);
}

#[test]
fn busybox_default_table() {
    let src = std::str::from_utf8(config_format::BUSYBOX_DEFAULT_TABLE).unwrap();
    let t = clean(src);
    type Row<'a> = (Kind, &'a str, Option<&'a str>, Vec<String>, String);
    let rows: Vec<Row> = t
        .entries
        .iter()
        .map(|e| {
            (
                e.kind,
                e.name.as_str(),
                opt(e, Opt::Tty).map(|s| text(src, s)),
                argv(e, src),
                program(e, src),
            )
        })
        .collect();
    use Kind::*;
    let sh = || vec!["-/bin/sh".to_owned()];
    let v = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let tty =
        |n: &'static str, name: &'static str| (Askfirst, name, Some(n), sh(), "/bin/sh".into());
    assert_eq!(
        rows,
        [
            (
                Sysinit,
                "console.sysinit",
                None,
                v(&["/etc/init.d/rcS"]),
                "/etc/init.d/rcS".into()
            ),
            (Askfirst, "console.askfirst", None, sh(), "/bin/sh".into()),
            (
                CtrlAltDel,
                "console.ctrlaltdel",
                None,
                v(&["reboot"]),
                "reboot".into()
            ),
            (
                Restart,
                "console.restart",
                None,
                v(&["init"]),
                "init".into()
            ),
            tty("tty2", "tty2.askfirst"),
            tty("tty3", "tty3.askfirst"),
            tty("tty4", "tty4.askfirst"),
            (
                Shutdown,
                "console.shutdown",
                None,
                v(&["umount", "-a", "-r"]),
                "umount".into()
            ),
            (
                Shutdown,
                "console.shutdown.2",
                None,
                v(&["swapoff", "-a"]),
                "swapoff".into()
            ),
        ]
    );
    assert_eq!(
        order(&t),
        [
            "console.sysinit",
            "console.askfirst",
            "tty2.askfirst",
            "tty3.askfirst",
            "tty4.askfirst",
            "console.ctrlaltdel",
            "console.restart",
            "console.shutdown",
            "console.shutdown.2",
        ]
    );
}

/// A container runs the table's first lines only: none on the host's
/// terminals, none that unmounts, remounts or turns off swap.
#[test]
fn busybox_default_table_in_a_container() {
    let whole = config_format::BUSYBOX_DEFAULT_TABLE;
    let part = &whole[..config_format::BUSYBOX_DEFAULT_IN_CONTAINER];
    let src = std::str::from_utf8(part).unwrap();
    assert!(src.ends_with("::restart:init\n"), "{src}");
    let t = clean(src);
    assert_eq!(
        order(&t),
        [
            "console.sysinit",
            "console.askfirst",
            "console.ctrlaltdel",
            "console.restart"
        ]
    );
    // What is left out is exactly the host's part.
    let rest = std::str::from_utf8(&whole[part.len()..]).unwrap();
    assert_eq!(
        rest.lines().collect::<Vec<_>>(),
        [
            "tty2::askfirst:-/bin/sh",
            "tty3::askfirst:-/bin/sh",
            "tty4::askfirst:-/bin/sh",
            "::shutdown:umount -a -r",
            "::shutdown:swapoff -a"
        ]
    );
}

// ---- start order and reload comparison ----------------------------------------

#[test]
fn start_order_phases_and_after() {
    let src = "service c after=b x\nshutdown s1 x\nsysinit i1 x\nonce b after=a x\nwait w1 x\n\
               service a x\nsysinit i2 x\nrestart r x\nctrlaltdel k x\nservice d x\nwait w2 x\n";
    let t = clean(src);
    assert_eq!(
        order(&t),
        ["i1", "i2", "w1", "w2", "a", "b", "c", "d", "s1", "r", "k"]
    );
}

#[test]
fn start_order_is_stable() {
    // Entries move only as late as their `after=` forces.
    let t = clean("once a after=c x\nonce b x\nonce c x\nonce d after=b x\n");
    assert_eq!(order(&t), ["b", "c", "a", "d"]);
}

#[test]
fn same_as_compares_content_across_sources() {
    let a = "service web user=x env=A=1 -- httpd -f\n::respawn:/bin/getty\n";
    let b = "# moved down\n\nservice   web  user=x env=A=1 --   httpd -f\n::respawn:/bin/getty\n";
    let c = "service web user=y env=A=1 -- httpd -f\n::respawn:-/bin/getty\n";
    let (ta, tb, tc) = (clean(a), clean(b), clean(c));
    assert!(ta.entries[0].same_as(a.as_bytes(), &tb.entries[0], b.as_bytes()));
    assert!(ta.entries[1].same_as(a.as_bytes(), &tb.entries[1], b.as_bytes()));
    assert!(!ta.entries[0].same_as(a.as_bytes(), &tc.entries[0], c.as_bytes()));
    assert!(!ta.entries[1].same_as(a.as_bytes(), &tc.entries[1], c.as_bytes()));
    assert!(!ta.entries[0].same_as(a.as_bytes(), &ta.entries[1], a.as_bytes()));
    let d = "service web user=x env=A=2 -- httpd -f\n";
    let e = "service web user=x env=A=1 -- httpd -g\n";
    let f = "service web user=x env=A=1 timeout=1s -- httpd -f\n";
    for other in [d, e, f] {
        let to = clean(other);
        assert!(
            !ta.entries[0].same_as(a.as_bytes(), &to.entries[0], other.as_bytes()),
            "{other}"
        );
    }
}

#[test]
fn table_get() {
    let t = clean("once a x\nonce b y\n");
    assert_eq!(t.get(b"b").map(|(i, _)| i), Some(1));
    assert!(t.get(b"c").is_none());
}

// ---- positions and reports -----------------------------------------------------

#[test]
fn report_shows_the_line_and_a_caret() {
    let src = "sysinit a x\n\nservice web bogus=1 -- httpd\n";
    assert_eq!(
        reports("t.tab", src),
        "t.tab:3:13: unknown option `bogus`\n  3 | service web bogus=1 -- httpd\n    |             ^\n"
    );
}

#[test]
fn report_keeps_tabs_and_widens_the_gutter() {
    let src = format!("{}service\tweb\tbogus=1 x\r\n", "\n".repeat(11));
    assert_eq!(
        reports("t", &src),
        "t:12:13: unknown option `bogus`\n  12 | service\tweb\tbogus=1 x\n     |        \t   \t^\n"
    );
}

#[test]
fn report_at_end_of_line_and_non_utf8() {
    let src = "service web\n";
    assert_eq!(
        reports("t", src),
        "t:1:12: empty command\n  1 | service web\n    |            ^\n"
    );
    let src = b"service w\xffb x\n";
    let mut out = Text::default();
    parse(src, &mut |e| e.report("t", src, &mut out));
    assert_eq!(
        out.string(),
        "t:1:9: bad name `w\\xffb` (use 1 to 32 of A-Z a-z 0-9 _ . @ + -)\n  1 | service w\u{fffd}b x\n    |         ^\n"
    );
}

/// Control characters in the quoted source line show as their pictures (as
/// rustc shows them): a table's escape sequences never reach the terminal
/// of whoever checks it. Tabs stay tabs, so the caret lines up.
#[test]
fn report_shows_control_characters_as_pictures() {
    let src = "\x1b[31mservice\x1b[0m b\x07\x7f x\n";
    assert_eq!(
        reports("t", src),
        "t:1:1: unknown kind `\\x1b[31mservice\\x1b[0m` (use sysinit, wait, once, \
         service, askfirst, shutdown, ctrlaltdel or restart)\n  \
         1 | \u{241b}[31mservice\u{241b}[0m b\u{2407}\u{2421} x\n    | ^\n"
    );
}

#[test]
fn positions_on_continued_lines() {
    assert_eq!(
        one_error("service web user=x \\\n  bogus=1 x\n"),
        "2:3: unknown option `bogus`"
    );
    let src = "service web \\\n  after=nope x\n";
    assert_eq!(one_error(src), "2:3: `after=nope` names no entry");
    assert_eq!(
        reports("t", src),
        "t:2:3: `after=nope` names no entry\n  2 |   after=nope x\n    |   ^\n"
    );
}

#[test]
fn every_line_is_checked_and_all_errors_reported() {
    let src = "bogus a x\nservice b stop=NOPE timeout=1x x\nservice c x\n::bad\n";
    let (t, errs) = run(src);
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!(t.entries.len(), 1);
}

#[test]
fn commands_are_kept_raw() {
    let src = "service a -- echo 'a b'   c # d\n";
    let t = clean(src);
    let e = &t.entries[0];
    assert_eq!(e.syntax, Syntax::Native);
    assert!(!e.login);
    assert_eq!(text(src, e.text(Opt::Command)), "echo 'a b'   c");
}
