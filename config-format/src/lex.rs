//! Words of a native line: blanks, quoting, comments and continuations.
//!
//! The lexer walks `src[pos..end]` byte by byte and never looks past `end`.
//! Rules (sh-like, minus expansion):
//! - blanks are space, tab and CR (so CRLF files need nothing special);
//! - `\` followed by a newline (LF or CRLF), or by the end of the input, is a
//!   continuation: it vanishes everywhere, even inside quotes, and the line
//!   goes on;
//! - a newline ends the line; quotes do not span lines;
//! - `#` at the start of a word starts a comment to the end of the physical
//!   line (a comment never continues); `a#b` is one literal word;
//! - outside quotes `\x` is `x`; `'...'` is literal; inside `"..."` only
//!   `\"`, `\\`, `` \` `` and `\$` are escapes, any other `\` stays.
//!
//! The scanner writes unquoted bytes into a caller's slice, as many as fit,
//! and reports the full length, so one non-generic function serves counting
//! (an empty slice), validating and copying.

/// A quote that is not closed before the end of its line: the quote's offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unterminated {
    pub at: usize,
}

pub(crate) fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r')
}

pub(crate) struct Lexer<'a> {
    /// The source up to the end given to [`Lexer::new`]: bytes past it are
    /// out of reach.
    src: &'a [u8],
    pub pos: usize,
    /// The raw extent of the last word [`Lexer::word`] scanned:
    /// `src[word_at..word_end]`. Kept here rather than returned, so that
    /// `word`'s result fits in registers.
    pub word_at: usize,
    pub word_end: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a [u8], pos: usize, end: usize) -> Lexer<'a> {
        Lexer {
            src: src.get(..end).unwrap_or(src),
            pos,
            word_at: pos,
            word_end: pos,
        }
    }

    #[inline(always)]
    fn byte(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    /// Length of a continuation at `i` (`\` + LF, `\` + CRLF, `\` at the end), or 0.
    #[inline]
    pub fn continuation(&self, i: usize) -> usize {
        if self.byte(i) != Some(b'\\') {
            return 0;
        }
        match self.byte(i + 1) {
            None => 1,
            Some(b'\n') => 2,
            Some(b'\r') if self.byte(i + 2) == Some(b'\n') => 3,
            _ => 0,
        }
    }

    /// Skips blanks, continuations and a comment; true if a word starts at
    /// `pos`, false at the end of the line (`pos` then rests on the newline or
    /// the end).
    pub fn word_start(&mut self) -> bool {
        loop {
            match self.byte(self.pos) {
                // Only a `\` may start a continuation: no call per blank
                // (measured: 1.6% of the parse's instructions).
                Some(b'\\') => match self.continuation(self.pos) {
                    0 => return true,
                    c => self.pos += c,
                },
                Some(b) if is_blank(b) => self.pos += 1,
                Some(b'#') => {
                    self.skip_to_newline();
                    return false;
                }
                Some(b'\n') | None => return false,
                Some(_) => return true,
            }
        }
    }

    /// Moves to the next newline (or the end), ignoring everything on the way.
    pub fn skip_to_newline(&mut self) {
        while let Some(b) = self.byte(self.pos) {
            if b == b'\n' {
                break;
            }
            self.pos += 1;
        }
    }

    /// Skips the rest of a line after an error. An unterminated quote ends its
    /// physical line, so the skip never swallows the next line.
    pub fn skip_line(&mut self) {
        // Either way the loop ends at the newline (or the end).
        while self.word_start() && self.word(&mut []).is_ok() {}
    }

    /// Scans the word at `pos`, writing its unquoted bytes to `out` as far as
    /// they fit; returns the full unquoted length. The raw word is
    /// `word_at..word_end`; `word_end` is before a continuation that ends
    /// the word, so the raw word (a kind, a name, `--`) is what the line says.
    /// On an unterminated quote, `pos` is left on the newline (or the end)
    /// that cut it: where the line ends.
    pub fn word(&mut self, out: &mut [u8]) -> Result<usize, Unterminated> {
        let mut pos = self.pos;
        self.word_at = pos;
        let mut end = pos;
        let mut len = 0usize;
        // The open quote (0 outside quotes) and where it opened.
        let (mut quote, mut at) = (0u8, 0usize);
        let result = loop {
            // The end of the input reads as a newline: it ends a word, and
            // leaves a quote open, just as one does.
            let mut b = self.byte(pos).unwrap_or(b'\n');
            // The byte after this one, the end again a newline.
            let next = || self.byte(pos + 1).unwrap_or(b'\n');
            // Not for a quote that opens or closes.
            let mut emit = true;
            if b == b'\\' {
                // A continuation, looked for only at a `\`, and not by a
                // call: a call in this loop costs registers every byte.
                match self.byte(pos + 1) {
                    None => {
                        pos += 1;
                        continue;
                    }
                    Some(b'\n') => {
                        pos += 2;
                        continue;
                    }
                    Some(b'\r') if self.byte(pos + 2) == Some(b'\n') => {
                        pos += 3;
                        continue;
                    }
                    _ => {}
                }
                // An escape takes the byte it escapes with it, so no state
                // is carried to the next byte (measured, with the
                // continuation looked for in place: 5% fewer instructions
                // for the parse than a flag for it and a call, and 56 B
                // less code).
                if quote == 0 || (quote == b'"' && matches!(next(), b'"' | b'\\' | b'$' | b'`')) {
                    b = next();
                    pos += 1;
                }
            } else if quote == 0 {
                match b {
                    b' ' | b'\t' | b'\r' | b'\n' => break Ok(len),
                    b'\'' | b'"' => (quote, at, emit) = (b, pos, false),
                    _ => {}
                }
            } else if b == b'\n' || (b == b'\r' && next() == b'\n') {
                pos += usize::from(b == b'\r');
                break Err(Unterminated { at });
            } else if b == quote {
                (quote, emit) = (0, false);
            }
            if emit {
                if let Some(slot) = out.get_mut(len) {
                    *slot = b;
                }
                len += 1;
            }
            pos += 1;
            end = pos;
        };
        self.pos = pos;
        self.word_end = end;
        result
    }
}

/// The end of the logical line from `pos` (a word's first byte): the first
/// newline not preceded by a `\` (BusyBox's continuation rule, used for
/// inittab lines), found as the first newline that is no part of a
/// [`Lexer::continuation`]; or the first NUL byte before it, which no line
/// may hold (one pass over the line for both: measured, a second pass for
/// the NUL was 5% of the parse's instructions).
pub(crate) fn logical_end(src: &[u8], mut pos: usize) -> usize {
    let lx = Lexer::new(src, 0, src.len());
    loop {
        match lx.byte(pos) {
            Some(b'\n' | 0) | None => return pos,
            // Only a `\` may start a continuation: no call per byte.
            Some(b'\\') => pos += lx.continuation(pos).max(1),
            Some(_) => pos += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[u8]) -> Result<([u8; 64], usize, usize), usize> {
        let mut lx = Lexer::new(s, 0, s.len());
        let mut buf = [0u8; 64];
        let mut n = 0;
        let mut count = 0;
        while lx.word_start() {
            n += lx.word(&mut buf[n..]).map_err(|u| u.at)?;
            buf[n] = b'|';
            n += 1;
            count += 1;
        }
        Ok((buf, n, count))
    }

    fn joined(s: &[u8]) -> std::string::String {
        let (buf, n, _) = words(s).unwrap();
        std::string::String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    extern crate std;

    #[test]
    fn splits_on_blanks_and_tabs() {
        assert_eq!(joined(b"a  b\tc\r"), "a|b|c|");
    }

    #[test]
    fn quoting() {
        assert_eq!(joined(br#"'a b' "c d" e\ f"#), "a b|c d|e f|");
        assert_eq!(joined(br#""\"\\\$\`\x""#), "\"\\$`\\x|");
        assert_eq!(joined(br"'\n'"), "\\n|");
        assert_eq!(joined(br#"a'b'"c"d"#), "abcd|");
        assert_eq!(joined(br#"'' """#), "||");
    }

    #[test]
    fn comments_only_at_word_start() {
        assert_eq!(joined(b"a#b # c d"), "a#b|");
        assert_eq!(joined(b"#x \\\nnext"), "");
    }

    #[test]
    fn continuation_vanishes_everywhere() {
        assert_eq!(joined(b"a \\\nb"), "a|b|");
        assert_eq!(joined(b"a\\\r\nb"), "ab|");
        assert_eq!(joined(b"'a\\\nb'"), "ab|");
        assert_eq!(joined(b"a \\"), "a|");
    }

    #[test]
    fn newline_ends_line_and_quotes() {
        assert_eq!(joined(b"a\nb"), "a|");
        assert_eq!(words(b"x 'a\nb'").unwrap_err(), 2);
        assert_eq!(words(b"\"a\r\n").unwrap_err(), 0);
        assert_eq!(words(b"'abc").unwrap_err(), 0);
    }

    #[test]
    fn logical_end_skips_continuations() {
        assert_eq!(logical_end(b"ab\\\ncd\nef", 0), 6);
        assert_eq!(logical_end(b"abc", 0), 3);
    }
}
