//! Feeds arbitrary bytes to the control socket's request parser, the way the
//! server does (up to the first newline), and checks what it returns: a
//! parsed name is one of the input's words and a valid entry name; a request
//! over REQUEST_MAX bytes is never accepted. Any panic is a finding.
//!
//! Run: `cd fuzz && cargo +nightly fuzz run request -- -max_total_time=300`
#![no_main]

use foster::control::{parse_request, Request, REQUEST_MAX};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = match data.iter().position(|&b| b == b'\n') {
        Some(end) => &data[..end],
        None => data,
    };
    let Ok(req) = parse_request(line) else {
        return;
    };
    assert!(
        line.len() <= REQUEST_MAX + 1,
        "accepted {} bytes",
        line.len()
    );
    let name = match req {
        Request::Start(n) | Request::Stop(n) | Request::Restart(n) => Some(n),
        Request::Status
        | Request::Reload
        | Request::Poweroff
        | Request::Reboot
        | Request::Halt
        | Request::StopAll => None,
    };
    let words: Vec<&[u8]> = line
        .strip_suffix(b"\r")
        .unwrap_or(line)
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .collect();
    match name {
        Some(n) => {
            assert_eq!(words.len(), 2);
            assert_eq!(words[1], n);
            assert!(!n.is_empty() && n.len() <= config_format::MAX_NAME);
            assert!(n.iter().all(|&b| config_format::is_name_byte(b)));
        }
        None => assert_eq!(words.len(), 1),
    }
});
