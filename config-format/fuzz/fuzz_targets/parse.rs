//! Feeds arbitrary bytes to the table parser and does everything foster does
//! with the result: builds every argv, computes the start order, renders every
//! error. Any panic, or an error outside the input, is a finding.
//!
//! Run (seeded with the example tables):
//! `cd config-format/fuzz && mkdir -p corpus/parse && cargo +nightly fuzz run parse corpus/parse ../../examples -- -max_total_time=300`
#![no_main]

use config_format::{parse, Argv, Sink};
use libfuzzer_sys::fuzz_target;

struct Text(Vec<u8>);

impl Sink for Text {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

fuzz_target!(|src: &[u8]| {
    let lines: Vec<usize> = src.split(|&b| b == b'\n').map(<[u8]>::len).collect();
    let mut out = Text(Vec::new());
    let table = parse(src, &mut |e| {
        let len = lines[e.line as usize - 1];
        assert!(e.col >= 1 && e.col as usize <= len + 1);
        out.0.clear();
        e.report("fuzz", src, &mut out);
        assert!(out.0.starts_with(b"fuzz:"));
    });
    let mut argv = Argv::new();
    for e in &table.entries {
        e.argv(src, &mut argv).unwrap();
        assert!(argv.program().is_some());
        assert!(e.same_as(src, e, src));
    }
    let order = table.start_order();
    assert_eq!(order.len(), table.entries.len());
});
