//! Helpers shared by the parser's integration tests.
#![allow(dead_code)]

use config_format::{parse, Argv, Entry, Error, Sink, Table};

/// A [`Sink`] that collects text (reports are UTF-8).
#[derive(Default)]
pub struct Text(pub Vec<u8>);

impl Sink for Text {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

impl Text {
    pub fn string(self) -> String {
        String::from_utf8(self.0).unwrap()
    }
}

/// Parses `src`; returns the table and every error as `LINE:COL: message`.
pub fn run(src: &str) -> (Table, Vec<String>) {
    run_bytes(src.as_bytes())
}

pub fn run_bytes(src: &[u8]) -> (Table, Vec<String>) {
    let mut errs = Vec::new();
    let t = parse(src, &mut |e: &Error| {
        let mut m = Text::default();
        e.message(src, &mut m);
        errs.push(format!("{}:{}: {}", e.line, e.col, m.string()));
    });
    (t, errs)
}

/// Parses `src`, which must be clean.
pub fn clean(src: &str) -> Table {
    let (t, errs) = run(src);
    assert!(errs.is_empty(), "unexpected errors in {src:?}: {errs:#?}");
    t
}

/// The only error of `src`, which must have exactly one.
pub fn one_error(src: &str) -> String {
    let (_, errs) = run(src);
    assert_eq!(errs.len(), 1, "{src:?}: {errs:#?}");
    errs.into_iter().next().unwrap()
}

/// Every error report of `src`, as `foster check` prints them.
pub fn reports(file: &str, src: &str) -> String {
    let mut out = Text::default();
    parse(src.as_bytes(), &mut |e: &Error| {
        e.report(file, src.as_bytes(), &mut out);
    });
    out.string()
}

/// The argv of an entry as strings.
pub fn argv(e: &Entry, src: &str) -> Vec<String> {
    let mut a = Argv::new();
    e.argv(src.as_bytes(), &mut a).unwrap();
    (0..a.len())
        .map(|i| String::from_utf8_lossy(a.word(i).unwrap()).into_owned())
        .collect()
}

/// The program foster would exec for an entry.
pub fn program(e: &Entry, src: &str) -> String {
    let mut a = Argv::new();
    e.argv(src.as_bytes(), &mut a).unwrap();
    a.program().unwrap().to_str().unwrap().to_owned()
}

/// Entry names in start order.
pub fn order(t: &Table) -> Vec<String> {
    t.start_order()
        .iter()
        .map(|&i| t.entries[usize::from(i)].name.as_str().to_owned())
        .collect()
}
