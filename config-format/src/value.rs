//! Option values: durations, signals, umasks, and the small enumerations;
//! and the keys before a `=` (option keys, `env=` names). Every reader takes
//! unquoted bytes (an option word is read raw) and returns `None` for
//! anything it does not accept exactly; it never allocates and never panics
//! on overflow.

use crate::parse::{lookup, nth_piece, word_pos};
use crate::{byte_set, in_set, Log, Millis, OnExit, RestartPolicy, MIN_READY_FD};

/// Linux signal names 1..=31 in order (the numbering x86_64, aarch64 and
/// riscv64 share), then other names some signals go by, numbered in
/// [`ALIASES`]. One word list: one lookup serves both.
const SIGNALS: &[u8] = b"HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM \
STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS IOT CLD POLL";

/// How many of [`SIGNALS`] are the signals' own names.
const NAMED: usize = 31;

/// The numbers of the aliases at the end of [`SIGNALS`] (`IOT`, `CLD`, `POLL`).
const ALIASES: [u8; 3] = [6, 17, 29];

/// The highest signal number accepted (`SIGRTMAX` on Linux).
pub const MAX_SIGNAL: u8 = 64;

/// `TERM`, `SIGTERM`, `term` or `15` to 15 (also the aliases `IOT`, `CLD`,
/// `POLL`, and any number 1..=64); `None` for anything else.
pub fn signal_by_name(s: &[u8]) -> Option<u8> {
    if let Some(n) = decimal(s) {
        return (1..=u64::from(MAX_SIGNAL)).contains(&n).then_some(n as u8);
    }
    // Long enough for `SIGVTALRM`; anything longer is no signal.
    let mut upper = [0u8; 9];
    let upper = upper.get_mut(..s.len())?;
    for (u, &b) in upper.iter_mut().zip(s) {
        *u = b.to_ascii_uppercase();
    }
    let upper = &*upper;
    let name = strip(upper, b"SIG").unwrap_or(upper);
    let i = word_pos(SIGNALS, name);
    match i.checked_sub(NAMED) {
        None => Some(i as u8 + 1),
        Some(alias) => ALIASES.get(alias).copied(),
    }
}

/// `15` to `"TERM"` (no `SIG` prefix); `None` for unnamed numbers.
pub fn signal_name(n: u8) -> Option<&'static [u8]> {
    let i = usize::from(n).checked_sub(1).filter(|&i| i < NAMED)?;
    nth_piece(SIGNALS, b' ', i)
}

/// `s` without `prefix`. A slice, not an array: `strip_prefix` is compiled
/// once per prefix type, and so once for every prefix length.
pub(crate) fn strip<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    s.strip_prefix(prefix)
}

/// An unsigned decimal of 1..=19 digits, no sign, no blanks (the init's
/// number parsing goes through it too).
pub fn decimal(s: &[u8]) -> Option<u64> {
    number(s, 10, 19)
}

/// 1 to `max_len` digits of base `radix` (at most 10), no sign, no blanks:
/// one loop for decimals and umasks. `max_len` keeps the value in range.
#[inline(never)]
fn number(s: &[u8], radix: u8, max_len: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max_len {
        return None;
    }
    let mut n = 0u64;
    for &b in s {
        let d = b.wrapping_sub(b'0');
        if d >= radix {
            return None;
        }
        n = n * u64::from(radix) + u64::from(d);
    }
    Some(n)
}

/// The longest duration: far past any real use (146 million years), and
/// short enough that a deadline `now + duration` never wraps.
const MAX_DURATION: Millis = 1 << 62;

/// `500ms`, `2s`, `1m`, `1h`; a bare number is seconds. `None` past
/// 2^62 ms (`MAX_DURATION`).
pub fn parse_duration(s: &[u8]) -> Option<Millis> {
    let digits = s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    let (num, unit) = (s.get(..digits)?, s.get(digits..)?);
    // The units' scales, in the order of their word list.
    const SCALES: [u32; 4] = [1, 1_000, 60_000, 3_600_000];
    let scale = match unit {
        b"" => 1_000,
        _ => lookup(b"ms s m h", &SCALES, unit)?,
    };
    decimal(num)?
        .checked_mul(u64::from(scale))
        .filter(|&ms| ms <= MAX_DURATION)
}

/// `022`, `0022`, `7`: octal, at most `0777`.
pub(crate) fn umask(s: &[u8]) -> Option<u16> {
    u16::try_from(number(s, 8, 4)?).ok().filter(|&n| n <= 0o777)
}

/// `always`, `on-failure`, `never`. A match on the word's index rather than
/// a table of values (so too in [`log`] and [`on_exit`]): with the words in
/// the enumeration's order it compiles to a bounds check, no table.
pub(crate) fn restart(s: &[u8]) -> Option<RestartPolicy> {
    use RestartPolicy::*;
    Some(match word_pos(b"always on-failure never", s) {
        0 => Always,
        1 => OnFailure,
        2 => Never,
        _ => return None,
    })
}

/// `console`, `null`, `kmsg`, or an absolute path (the caller keeps its
/// raw token).
pub(crate) fn log(s: &[u8]) -> Option<Log> {
    if s.first() == Some(&b'/') {
        return Some(Log::File);
    }
    Some(match word_pos(b"console null kmsg", s) {
        0 => Log::Console,
        1 => Log::Null,
        2 => Log::Kmsg,
        _ => return None,
    })
}

/// `MIN..MAX`, both durations, `0 < MIN <= MAX`.
pub(crate) fn backoff(s: &[u8]) -> Option<(Millis, Millis)> {
    let mut dots = 0;
    while s.get(dots..dots + 2)? != b".." {
        dots += 1;
    }
    let min = parse_duration(s.get(..dots)?)?;
    let max = parse_duration(s.get(dots + 2..)?)?;
    (min > 0 && min <= max).then_some((min, max))
}

/// `fd:N`, `MIN_READY_FD <= N <= 255`.
pub(crate) fn ready(s: &[u8]) -> Option<u8> {
    byte_after(s, b"fd:").filter(|&n| n >= MIN_READY_FD)
}

/// `PREFIXN` to N, a decimal 0..=255. Not inlined: two options read one.
#[inline(never)]
fn byte_after(s: &[u8], prefix: &[u8]) -> Option<u8> {
    u8::try_from(decimal(strip(s, prefix)?)?).ok()
}

/// `poweroff`, `reboot`, `halt`, `exit` (with the entry's status),
/// `exit:CODE` (0..=255): the action and its code (0 but for `exit:CODE`).
pub(crate) fn on_exit(s: &[u8]) -> Option<(OnExit, u8)> {
    let named = match word_pos(b"poweroff reboot halt exit", s) {
        0 => OnExit::Poweroff,
        1 => OnExit::Reboot,
        2 => OnExit::Halt,
        3 => OnExit::ExitStatus,
        _ => return Some((OnExit::Exit, byte_after(s, b"exit:")?)),
    };
    Some((named, 0))
}

/// `Some(index of the first '=')` if `raw` starts with a key and `=`: an
/// option key `[a-z][a-z-]*`, or with `env` an environment variable name
/// `[A-Za-z_][A-Za-z0-9_]*`. One function for both: either key is a run of
/// its bytes that does not start with `-` or a digit.
#[inline(never)]
pub(crate) fn key_end(raw: &[u8], env: bool) -> Option<usize> {
    // The key's bytes as a set, chosen once rather than per byte
    // (measured: 0.6% of the parse's instructions, no more code).
    let set = if env { &ENV_KEY } else { &OPTION_KEY };
    let eq = raw.iter().position(|&b| !in_set(set, b))?;
    let first = *raw.first()?;
    (eq > 0 && first != b'-' && !first.is_ascii_digit() && raw.get(eq) == Some(&b'=')).then_some(eq)
}

/// The bytes of an environment variable name and of an option key.
const ENV_KEY: [u32; 4] =
    byte_set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
const OPTION_KEY: [u32; 4] = byte_set(b"abcdefghijklmnopqrstuvwxyz-");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        assert_eq!(signal_by_name(b"TERM"), Some(15));
        assert_eq!(signal_by_name(b"SIGTERM"), Some(15));
        assert_eq!(signal_by_name(b"sigkill"), Some(9));
        assert_eq!(signal_by_name(b"hup"), Some(1));
        assert_eq!(signal_by_name(b"SYS"), Some(31));
        assert_eq!(signal_by_name(b"IOT"), Some(6));
        assert_eq!(signal_by_name(b"SIGCLD"), Some(17));
        assert_eq!(signal_by_name(b"15"), Some(15));
        assert_eq!(signal_by_name(b"64"), Some(64));
        for bad in [
            &b"0"[..],
            b"65",
            b"256",
            b"",
            b"SIG",
            b"FOO",
            b"-1",
            b"+1",
            b"TERM ",
        ] {
            assert_eq!(signal_by_name(bad), None, "{:?}", bad);
        }
        assert_eq!(signal_name(15), Some(&b"TERM"[..]));
        assert_eq!(signal_name(1), Some(&b"HUP"[..]));
        assert_eq!(signal_name(31), Some(&b"SYS"[..]));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(34), None);
        let names = [
            "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
            "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
            "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
        ];
        assert_eq!(signal_name(32), None);
        for n in 1..=31 {
            assert_eq!(signal_name(n), Some(names[usize::from(n) - 1].as_bytes()));
            assert_eq!(signal_by_name(signal_name(n).unwrap()), Some(n));
        }
        assert_eq!(signal_by_name(b"SIGVTALRM"), Some(26));
        assert_eq!(signal_by_name(b"sigStkFlt"), Some(16));
        for bad in [&b"SIGVTALRMX"[..], b"HUP\0", b"SIGSIGHUP", b"SIGIOT\0"] {
            assert_eq!(signal_by_name(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration(b"500ms"), Some(500));
        assert_eq!(parse_duration(b"2s"), Some(2_000));
        assert_eq!(parse_duration(b"2"), Some(2_000));
        assert_eq!(parse_duration(b"1m"), Some(60_000));
        assert_eq!(parse_duration(b"1h"), Some(3_600_000));
        assert_eq!(parse_duration(b"0"), Some(0));
        for bad in [
            &b""[..],
            b"ms",
            b"5x",
            b"1.5s",
            b"-1s",
            b" 1s",
            b"1 s",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_duration(bad), None, "{:?}", bad);
        }
        assert_eq!(parse_duration(b"9999999999999999999h"), None);
    }

    #[test]
    fn small_values() {
        assert_eq!(umask(b"022"), Some(0o22));
        assert_eq!(umask(b"0777"), Some(0o777));
        assert_eq!(umask(b"7"), Some(7));
        assert_eq!(umask(b"1000"), None);
        assert_eq!(umask(b"8"), None);
        assert_eq!(umask(b"00000"), None);
        assert_eq!(backoff(b"100ms..30s"), Some((100, 30_000)));
        assert_eq!(backoff(b"1s..1s"), Some((1000, 1000)));
        assert_eq!(backoff(b"0..1s"), None);
        assert_eq!(backoff(b"2s..1s"), None);
        assert_eq!(backoff(b"1s"), None);
        assert_eq!(backoff(b"1s...2s"), None);
        assert_eq!(ready(b"fd:3"), Some(3));
        assert_eq!(ready(b"fd:255"), Some(255));
        assert_eq!(ready(b"fd:2"), None);
        assert_eq!(ready(b"fd:256"), None);
        assert_eq!(ready(b"3"), None);
        assert_eq!(on_exit(b"exit"), Some((OnExit::ExitStatus, 0)));
        assert_eq!(on_exit(b"exit:255"), Some((OnExit::Exit, 255)));
        assert_eq!(on_exit(b"exit:256"), None);
        assert_eq!(on_exit(b"exit:"), None);
        assert_eq!(on_exit(b"poweroff"), Some((OnExit::Poweroff, 0)));
        assert_eq!(key_end(b"_A1=x", true), Some(3));
        assert_eq!(key_end(b"A==", true), Some(1));
        for bad in [&b"1A=x"[..], b"=x", b"", b"A-B=x", b"A", b"a b=x"] {
            assert_eq!(key_end(bad, true), None, "{:?}", bad);
        }
        assert_eq!(key_end(b"on-exit=x", false), Some(7));
        for bad in [&b"-a=x"[..], b"=x", b"A=x", b"a_b=x", b"a", b"1=x"] {
            assert_eq!(key_end(bad, false), None, "{:?}", bad);
        }
    }
}
