//! User and group lookup without libc: numeric ids, or names looked up in
//! /etc/passwd and /etc/group (the files every small root filesystem has).

use crate::sys::{self, Errno};

/// Credentials a child switches to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creds {
    pub uid: u32,
    pub gid: u32,
    pub groups: [u32; 16],
    pub ngroups: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    UnknownUser,
    UnknownGroup,
    Io(Errno),
}

fn parse_u32(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add((d - b'0') as u32)
    })
}

/// Field `i` (0-based) of a colon-separated line.
fn field(line: &[u8], i: usize) -> Option<&[u8]> {
    line.split(|&b| b == b':').nth(i)
}

/// The line of `db` whose first field is `name`.
fn find<'a>(db: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    db.split(|&b| b == b'\n')
        .find(|l| field(l, 0) == Some(name))
}

/// Resolve `user` (name or number) and `group` against passwd/group text.
/// A named user brings its primary group and the groups that list it.
pub fn resolve_in(
    passwd: &[u8],
    groupdb: &[u8],
    user: Option<&[u8]>,
    group: Option<&[u8]>,
) -> Result<Creds, LookupError> {
    let mut creds = Creds {
        uid: 0,
        gid: 0,
        groups: [0; 16],
        ngroups: 0,
    };
    let mut user_name: Option<&[u8]> = None;
    if let Some(u) = user {
        if let Some(uid) = parse_u32(u) {
            creds.uid = uid;
            creds.gid = uid;
            // A numeric uid that is in passwd still gets its primary group.
            if let Some(line) = passwd
                .split(|&b| b == b'\n')
                .find(|l| field(l, 2) == Some(u))
            {
                creds.gid = field(line, 3).and_then(parse_u32).unwrap_or(uid);
                user_name = field(line, 0);
            }
        } else {
            let line = find(passwd, u).ok_or(LookupError::UnknownUser)?;
            creds.uid = field(line, 2)
                .and_then(parse_u32)
                .ok_or(LookupError::UnknownUser)?;
            creds.gid = field(line, 3)
                .and_then(parse_u32)
                .ok_or(LookupError::UnknownUser)?;
            user_name = Some(u);
        }
    }
    if let Some(g) = group {
        creds.gid = match parse_u32(g) {
            Some(gid) => gid,
            None => find(groupdb, g)
                .and_then(|l| field(l, 2))
                .and_then(parse_u32)
                .ok_or(LookupError::UnknownGroup)?,
        };
    }
    creds.groups[0] = creds.gid;
    creds.ngroups = 1;
    if let (Some(name), None) = (user_name, group) {
        for line in groupdb.split(|&b| b == b'\n') {
            let member = field(line, 3).is_some_and(|m| m.split(|&b| b == b',').any(|x| x == name));
            if let (true, Some(gid)) = (member, field(line, 2).and_then(parse_u32)) {
                if creds.ngroups < creds.groups.len() && !creds.groups.contains(&gid) {
                    if let Some(slot) = creds.groups.get_mut(creds.ngroups) {
                        *slot = gid;
                        creds.ngroups += 1;
                    }
                }
            }
        }
    }
    Ok(creds)
}

/// Resolve against the real /etc/passwd and /etc/group (read only if a name
/// needs them).
pub fn resolve(user: Option<&[u8]>, group: Option<&[u8]>) -> Result<Creds, LookupError> {
    let mut pw = [0u8; 4096];
    let mut gr = [0u8; 4096];
    let needs_files = user.is_some() || group.is_some_and(|g| parse_u32(g).is_none());
    let (mut np, mut ng) = (0, 0);
    if needs_files {
        np = match sys::read_file(c"/etc/passwd", &mut pw) {
            Ok(n) => n,
            Err(Errno::EFBIG) => pw.len(),
            Err(Errno::ENOENT) => 0,
            Err(e) => return Err(LookupError::Io(e)),
        };
        ng = match sys::read_file(c"/etc/group", &mut gr) {
            Ok(n) => n,
            Err(Errno::EFBIG) => gr.len(),
            Err(Errno::ENOENT) => 0,
            Err(e) => return Err(LookupError::Io(e)),
        };
    }
    resolve_in(
        pw.get(..np).unwrap_or(&[]),
        gr.get(..ng).unwrap_or(&[]),
        user,
        group,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    const PW: &[u8] = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nweb:x:1000:1001::/srv:/bin/sh\n";
    const GR: &[u8] = b"root:x:0:\nwww:x:1001:\nlog:x:4:web,other\nvideo:x:44:web\n";

    #[test]
    fn names_and_numbers() {
        let c = resolve_in(PW, GR, Some(b"web"), None).unwrap();
        assert_eq!((c.uid, c.gid), (1000, 1001));
        assert_eq!(&c.groups[..c.ngroups], &[1001, 4, 44]);
        let c = resolve_in(PW, GR, Some(b"1000"), Some(b"log")).unwrap();
        assert_eq!((c.uid, c.gid, c.ngroups), (1000, 4, 1));
        let c = resolve_in(PW, GR, Some(b"4242"), None).unwrap();
        assert_eq!((c.uid, c.gid), (4242, 4242));
        let c = resolve_in(PW, GR, None, Some(b"77")).unwrap();
        assert_eq!((c.uid, c.gid), (0, 77));
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(
            resolve_in(PW, GR, Some(b"ghost"), None),
            Err(LookupError::UnknownUser)
        );
        assert_eq!(
            resolve_in(PW, GR, None, Some(b"ghosts")),
            Err(LookupError::UnknownGroup)
        );
        assert_eq!(parse_u32(b"99999999999"), None);
    }
}
