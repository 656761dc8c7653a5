//! User and group lookup without libc: numeric ids, or names looked up in
//! /etc/passwd and /etc/group (the files every small root filesystem has).

use crate::bytes::{next_piece, nth_piece, parse_u32};
use crate::sys::{self, Errno};
use core::ffi::CStr;

/// Credentials a child switches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub groups: [u32; 16],
    pub ngroups: u32,
}

impl Creds {
    /// root, with only its primary group. Not inlined: one call builds
    /// the value in place (measured smaller than the inlined stores).
    #[inline(never)]
    pub fn root() -> Creds {
        Creds {
            uid: 0,
            gid: 0,
            groups: [0; 16],
            ngroups: 1,
        }
    }
}

/// `UnknownGroup` first: the order of variants measured to compile
/// smallest (the child's match that turns one into its report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    UnknownGroup,
    UnknownUser,
    /// Reading /etc/passwd failed.
    Io(Errno),
    /// Reading /etc/group failed.
    GroupIo(Errno),
    /// [`switch`]: the kernel refused the new ids.
    Switch(Errno),
}

/// Field `i` (0-based) of a colon-separated line.
fn field(line: &[u8], i: usize) -> Option<&[u8]> {
    nth_piece(line, b':', i)
}

/// The first line of `db` whose field `key` is `value`.
#[inline(always)]
fn find_line<'a>(db: &'a [u8], key: usize, value: &[u8]) -> Option<&'a [u8]> {
    // A field holds no `:`: as a list split at `:`, its one item is the
    // whole field, so this is an equality test.
    next_line_listing(&mut Some(db), key, b':', value)
}

/// The next line of `lines` (then moved past it) whose field `key`, a list
/// split at `sep`, has `value` as one of its items: one scan for the
/// look-ups by name or number and for the member lists of /etc/group.
#[inline(never)]
fn next_line_listing<'a>(
    lines: &mut Option<&'a [u8]>,
    key: usize,
    sep: u8,
    value: &[u8],
) -> Option<&'a [u8]> {
    while let Some(line) = next_piece(lines, b'\n') {
        let mut items = field(line, key);
        while let Some(item) = next_piece(&mut items, sep) {
            if item == value {
                return Some(line);
            }
        }
    }
    None
}

/// Numeric field `i` of `line`.
fn id_field(line: Option<&[u8]>, i: usize) -> Option<u32> {
    field(line?, i).and_then(parse_u32)
}

/// Resolve `user` (name or number) and `group` against passwd/group text
/// into `creds` (which starts as [`Creds::root`]; filled in place, not
/// returned: no copies of it). A named user brings its primary group and the
/// groups that list it.
pub fn resolve_in(
    creds: &mut Creds,
    passwd: &[u8],
    groupdb: &[u8],
    user: Option<&[u8]>,
    group: Option<&[u8]>,
) -> Result<(), LookupError> {
    let mut user_name: Option<&[u8]> = None;
    if let Some(u) = user {
        // A name is looked up by field 0; a number by its uid (field 2),
        // so a numeric uid that is in passwd still gets its primary group.
        let number = parse_u32(u);
        let line = find_line(passwd, if number.is_some() { 2 } else { 0 }, u);
        let unknown = LookupError::UnknownUser;
        creds.uid = number.or_else(|| id_field(line, 2)).ok_or(unknown)?;
        creds.gid = id_field(line, 3).or(number).ok_or(unknown)?;
        user_name = line.and_then(|l| field(l, 0));
    }
    if let Some(g) = group {
        creds.gid = parse_u32(g)
            .or_else(|| id_field(find_line(groupdb, 0, g), 2))
            .ok_or(LookupError::UnknownGroup)?;
    }
    if let Some(primary) = creds.groups.first_mut() {
        *primary = creds.gid;
    }
    if let (Some(name), None) = (user_name, group) {
        let mut lines = Some(groupdb);
        while let Some(line) = next_line_listing(&mut lines, 3, b',', name) {
            if let Some(gid) = id_field(Some(line), 2) {
                // A plain loop: `contains` unrolls into far more code. It
                // stops at `gid` if known, else at `ngroups`.
                let mut n = 0;
                while creds.groups.get(n as usize).is_some_and(|&g| g != gid) && n < creds.ngroups {
                    n += 1;
                }
                // Not known yet: added, if it fits.
                if n == creds.ngroups {
                    if let Some(slot) = creds.groups.get_mut(n as usize) {
                        *slot = gid;
                        creds.ngroups += 1;
                    }
                }
            }
        }
    }
    Ok(())
}

/// The user database.
pub const PASSWD: &CStr = c"/etc/passwd";

/// The group database.
pub const GROUP: &CStr = c"/etc/group";

/// Bytes of /etc/passwd and of /etc/group that a lookup reads.
const DB_MAX: usize = 64 * 1024;

/// Switches this process (a child before its exec) to `user` and `group`
/// (names resolved against the real /etc/passwd and /etc/group, read only if
/// a name needs them), with the supplementary groups of a named user.
#[inline(never)]
pub fn switch(user: Option<&[u8]>, group: Option<&[u8]>) -> Result<(), LookupError> {
    // In the child only, so foster's own memory never holds these: room for
    // a system with a thousand or so accounts, not just the first few.
    // One buffer for both, passwd then group, not zeroed: only the part
    // the kernel filled is used.
    let mut db = [core::mem::MaybeUninit::uninit(); 2 * DB_MAX];
    let (pw_buf, gr_buf) = db.split_at_mut(DB_MAX);
    let needs_files = user.is_some() || group.is_some_and(|g| parse_u32(g).is_none());
    let (mut pw, mut gr): (&[u8], &[u8]) = (&[], &[]);
    if needs_files {
        // A missing file is empty; a longer one is cut after the last
        // whole line that fits (a cut line could read as another uid, gid
        // or member).
        pw = sys::read_lines(PASSWD, pw_buf).map_err(LookupError::Io)?;
        gr = sys::read_lines(GROUP, gr_buf).map_err(LookupError::GroupIo)?;
    }
    let mut creds = Creds::root();
    resolve_in(&mut creds, pw, gr, user, group)?;
    let groups = creds.groups.get(..creds.ngroups as usize).unwrap_or(&[]);
    sys::switch_ids(groups, creds.gid, creds.uid).map_err(LookupError::Switch)
}

#[cfg(test)]
mod tests {
    use super::*;
    const PW: &[u8] = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nweb:x:1000:1001::/srv:/bin/sh\n";
    const GR: &[u8] = b"root:x:0:\nwww:x:1001:\nlog:x:4:web,other\nvideo:x:44:web\n";

    fn resolve(user: Option<&[u8]>, group: Option<&[u8]>) -> Result<Creds, LookupError> {
        let mut creds = Creds::root();
        resolve_in(&mut creds, PW, GR, user, group).map(|()| creds)
    }

    #[test]
    fn names_and_numbers() {
        let c = resolve(Some(b"web"), None).unwrap();
        assert_eq!((c.uid, c.gid), (1000, 1001));
        assert_eq!(&c.groups[..c.ngroups as usize], &[1001, 4, 44]);
        let c = resolve(Some(b"1000"), Some(b"log")).unwrap();
        assert_eq!((c.uid, c.gid, c.ngroups), (1000, 4, 1));
        let c = resolve(Some(b"4242"), None).unwrap();
        assert_eq!((c.uid, c.gid), (4242, 4242));
        let c = resolve(None, Some(b"77")).unwrap();
        assert_eq!((c.uid, c.gid), (0, 77));
    }

    #[test]
    fn membership_of_group_zero_is_kept() {
        let gr = b"root:x:0:web\nwww:x:1001:\n";
        let mut c = Creds::root();
        resolve_in(&mut c, PW, gr, Some(b"web"), None).unwrap();
        assert_eq!(&c.groups[..c.ngroups as usize], &[1001, 0]);
    }

    #[test]
    fn groups_are_listed_once_and_capped() {
        // The primary group listing the user too, and a group named twice.
        let gr = b"www:x:1001:web\nlog:x:4:web\nlog2:x:4:web\n";
        let mut c = Creds::root();
        resolve_in(&mut c, PW, gr, Some(b"web"), None).unwrap();
        assert_eq!(&c.groups[..c.ngroups as usize], &[1001, 4]);
        // More groups than fit: the first 16 (primary included) are kept.
        let gr: String = (1..40).map(|g| format!("g{g}:x:{g}:web\n")).collect();
        let mut c = Creds::root();
        resolve_in(&mut c, PW, gr.as_bytes(), Some(b"web"), None).unwrap();
        let want: Vec<u32> = [1001].into_iter().chain(1..16).collect();
        assert_eq!(&c.groups[..c.ngroups as usize], &want[..]);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(resolve(Some(b"ghost"), None), Err(LookupError::UnknownUser));
        assert_eq!(
            resolve(None, Some(b"ghosts")),
            Err(LookupError::UnknownGroup)
        );
        assert_eq!(parse_u32(b"99999999999"), None);
    }

    #[test]
    fn a_line_cut_at_the_end_of_the_buffer_is_not_read() {
        // The 64 KiB read ends inside web's gid: a cut "web:x:1000:10"
        // must not give gid 10 (nor a cut member list a group).
        let line = "web:x:1000:1001::/srv:/bin/sh\n";
        let mut text = String::new();
        while text.len() + 13 < DB_MAX {
            text.push_str("filler:x:1:1::/:/bin/false\n");
        }
        text.truncate(DB_MAX - 13);
        text.replace_range(text.len() - 1.., "\n");
        text.push_str(line);
        let path = std::env::temp_dir().join(format!("foster-users-{}", std::process::id()));
        std::fs::write(&path, &text).unwrap();
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        let mut buf = vec![core::mem::MaybeUninit::uninit(); DB_MAX];
        let read = sys::read_lines(&c, &mut buf);
        let _ = std::fs::remove_file(&path);
        let mut creds = Creds::root();
        let r = resolve_in(&mut creds, read.unwrap(), b"", Some(b"web"), None);
        assert_eq!(r, Err(LookupError::UnknownUser), "{creds:?}");
    }

    #[test]
    fn fields_split_like_split() {
        assert_eq!(field(b"a::c", 1), Some(&b""[..]));
        assert_eq!(field(b"a::c", 2), Some(&b"c"[..]));
        assert_eq!(field(b"a::c", 3), None);
        assert_eq!(field(b"", 0), Some(&b""[..]));
        assert_eq!(find_line(b"x:1\ny:2\n", 0, b"y"), Some(&b"y:2"[..]));
        assert_eq!(find_line(b"x:1\ny:2\n", 0, b"z"), None);
    }
}
