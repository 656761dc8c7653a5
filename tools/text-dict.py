#!/usr/bin/env python3
"""Prints the pair table of config-format/src/text.rs, trained on the texts.

Usage: tools/text-dict.py [--check]   (from the repository root)

Reads every `text!("...")` literal (and `text!(concat!("...", ...))`) in
init/ and config-format/src/, once each as the binary stores them (build.rs
lists init's for its catalog the same way; a call in a `//` comment is
none), learns byte pairs the way byte-pair encoding
does (the most frequent adjacent pair of the current encoding becomes the
next token, 0x80 up then 0x00 up, while a token still saves more than its 2
table bytes),
and prints the `PAIRS` table to paste over the one in text.rs. With --check
it prints the size before/after instead. Any table decodes any text; a stale
one only compresses new texts less well, so rerun this after adding many.
"""
import os
import re
import sys

# Token i is byte i ^ 0x80: 0x80..0xff, then 0x00..0x1f; the places of tab
# and newline (0x09, 0x0a) are holes, `[0, 0]` in the table.
MAX_TOKENS = 160
HOLES = (0x09 ^ 0x80, 0x0a ^ 0x80)
LIT = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
CALL = re.compile(r'\btext!\(')


def unescape(s):
    s = re.sub(r'\\\n\s*', '', s)
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            out.append(c)
            i += 1
            continue
        n = s[i + 1]
        if n == 'x':
            out.append(chr(int(s[i + 2:i + 4], 16)))
            i += 4
            continue
        if n == 'u':
            j = s.index('}', i)
            out.append(chr(int(s[i + 3:j], 16)))
            i = j + 1
            continue
        out.append({'n': '\n', 't': '\t', 'r': '\r', '0': '\0'}.get(n, n))
        i += 2
    return ''.join(out)


def texts(root):
    """The text of every text!() call: its string literals joined; once
    each, in the order first found."""
    found = []
    for top in ('init', 'config-format/src'):
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith('.rs') or f == 'text.rs':
                    continue
                src = open(os.path.join(d, f)).read()
                for m in CALL.finditer(src):
                    line = src[src.rfind('\n', 0, m.start()) + 1:m.start()]
                    if '//' in line:
                        continue
                    # The argument: up to the parenthesis that closes the call.
                    depth, i, lits = 1, m.end(), []
                    while depth and i < len(src):
                        c = src[i]
                        if c == '"':
                            lm = LIT.match(src, i)
                            lits.append(unescape(lm.group(1)))
                            i = lm.end()
                            continue
                        depth += {'(': 1, ')': -1}.get(c, 0)
                        i += 1
                    text = ''.join(lits).encode()
                    if text not in found:
                        found.append(text)
    return found


def train(seqs):
    seqs = [list(s) for s in seqs]
    pairs = []
    while len(pairs) < MAX_TOKENS:
        count = {}
        for s in seqs:
            for p in zip(s, s[1:]):
                count[p] = count.get(p, 0) + 1
        if not count:
            break
        best = max(count, key=lambda p: (count[p], -p[0], -p[1]))
        if count[best] <= 2:
            break
        while len(pairs) in HOLES:
            pairs.append(None)
        tok = len(pairs) ^ 0x80
        pairs.append(best)
        for k, s in enumerate(seqs):
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(tok)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[k] = out
    return pairs, seqs


def expand(pairs, b):
    i = b ^ 0x80
    if i >= len(pairs) or pairs[i] is None:
        return chr(b)
    x, y = pairs[i]
    return expand(pairs, x) + expand(pairs, y)


def main():
    root = os.getcwd()
    found = texts(root)
    pairs, enc = train(found)
    if '--check' in sys.argv:
        raw = sum(map(len, found))
        packed = sum(map(len, enc))
        print(f'{len(found)} texts: {raw} -> {packed} B + {2 * len(pairs)} B table')
        return
    print('pub(crate) const PAIRS: [[u8; 2]; %d] = [' % len(pairs))
    for i, pair in enumerate(pairs):
        if pair is None:
            print('    [0, 0], // 0x%02x: a text byte, no token' % (i ^ 0x80))
            continue
        a, b = pair

        def show(x):
            if x >= 0x80 or x < 0x20 and x not in (9, 10):
                return '0x%02x' % x
            return "b'%s'" % {"'": "\\'", '\\': '\\\\', '\n': '\\n',
                              '\t': '\\t'}.get(chr(x), chr(x))
        print('    [%s, %s], // 0x%02x %r' % (show(a), show(b), i ^ 0x80,
                                           expand(pairs, i ^ 0x80)))
    print('];')


main()
