//! foster's message texts, all in one catalog: `build.rs` lists every
//! `text!("...")` literal of init/, and [`BLOB`] holds them byte-pair
//! encoded (config-format's codec), each ended by its terminator. A
//! [`Packed`] text is its offset there: 2 bytes to store and one immediate
//! operand to pass, where a slice takes 16 bytes and two instructions.
//!
//! Each call site keeps its message where it is used; [`text!`] looks the
//! literal up at compile time, so a text missing from the list stops the
//! build rather than showing a wrong one. A text can only be written out
//! decoded, through [`Packed::piece`] and what is built on it.

use config_format::text as codec;

// `TEXTS`: the literals, once each (those only tests use in the test build
// only).
include!(concat!(env!("OUT_DIR"), "/texts.rs"));

/// The plain texts' bytes, plus a terminator each: room enough to encode
/// them (encoding never makes a text longer).
const ROOM: usize = {
    let mut n = TEXTS.len();
    let mut rest = TEXTS.as_slice();
    while let [t, more @ ..] = rest {
        n += t.len();
        rest = more;
    }
    n
};

/// The catalog, built once at compile time: encoded texts, their offsets,
/// the length used.
const CATALOG: ([u8; ROOM], [u16; TEXTS.len()], usize) = codec::catalog(&TEXTS);

/// The encoded texts: all the binary holds of them.
static BLOB: [u8; CATALOG.2] = codec::cut(&CATALOG.0);

/// A message text: its offset in [`BLOB`], written out only decoded.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Packed(u16);

impl Packed {
    /// For [`text!`] only: `at` must be an offset from [`offset`].
    #[doc(hidden)]
    pub const fn at(at: u16) -> Packed {
        Packed(at)
    }

    /// Calls `f` with each byte of piece `i` (0-based) of the text cut at
    /// `sep` ([`codec::NO_SEP`]: the whole text).
    pub fn piece(self, i: usize, sep: u8, f: &mut dyn FnMut(u8)) {
        codec::Packed::in_catalog(&BLOB, self.0).piece(i, sep, f);
    }

    /// Calls `f` with each byte of the text, in order.
    pub fn each(self, f: &mut dyn FnMut(u8)) {
        self.piece(0, codec::NO_SEP, f);
    }
}

/// For [`text!`] only, at compile time: the offset of `text` in [`BLOB`].
/// A literal `build.rs` did not list fails the `assert!`, so the build.
#[doc(hidden)]
pub const fn offset(text: &str) -> u16 {
    let (mut texts, mut offsets) = (TEXTS.as_slice(), CATALOG.1.as_slice());
    while let ([t, more @ ..], [_, ats @ ..]) = (texts, offsets) {
        if same(t.as_bytes(), text.as_bytes()) {
            break;
        }
        (texts, offsets) = (more, ats);
    }
    assert!(
        !offsets.is_empty(),
        "a text! literal build.rs did not list (not a plain string literal?)"
    );
    match offsets {
        [at, ..] => *at,
        [] => 0,
    }
}

/// `a == b`, at compile time.
const fn same(mut a: &[u8], mut b: &[u8]) -> bool {
    loop {
        match (a, b) {
            ([x, ra @ ..], [y, rb @ ..]) if *x == *y => (a, b) = (ra, rb),
            ([], []) => return true,
            _ => return false,
        }
    }
}

/// A message literal (printable ASCII, tabs, newlines), as a [`Packed`]
/// text of the catalog: `text!("unable to read")`. The literal is looked up
/// at compile time.
macro_rules! text {
    ($s:literal) => {{
        const AT: u16 = $crate::texts::offset($s);
        $crate::texts::Packed::at(AT)
    }};
}
pub(crate) use text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_decodes_to_itself() {
        for &plain in TEXTS.iter() {
            let mut out = Vec::new();
            Packed(offset(plain)).each(&mut |b| out.push(b));
            assert_eq!(out, plain.as_bytes());
        }
        // At most one terminator a text (the end of another shares its),
        // the last byte the last one's.
        let ends = BLOB.iter().filter(|&&b| b == codec::END).count();
        assert!(ends <= TEXTS.len());
        assert_eq!(BLOB.last(), Some(&codec::END));
    }
}
