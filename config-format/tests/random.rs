//! Thousands of random and mutated tables from a fixed seed: the parser never
//! panics, every error lies inside the input, every parsed entry yields an
//! argv, and the start order is a permutation that respects `after=`.
//!
//! This is also the std-only stand-in for `cargo fuzz`: set
//! `FOSTER_FUZZ_ITERS=1000000` (and optionally `FOSTER_FUZZ_SEED`) to run
//! longer, e.g. `cargo test --release -p config-format --test random`.

mod common;
use common::Text;
use config_format::{parse, Argv, Kind, BUSYBOX_DEFAULT_TABLE};

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const SEEDS: &[&[u8]] = &[
    include_bytes!("../../examples/native.tab"),
    include_bytes!("../../examples/inittab"),
    include_bytes!("../../examples/demo.tab"),
    BUSYBOX_DEFAULT_TABLE,
];

/// Pieces that exercise the grammar far more often than random bytes would.
const TOKENS: &[&str] = &[
    "service",
    "once",
    "sysinit",
    "wait",
    "askfirst",
    "shutdown",
    "ctrlaltdel",
    "restart",
    "respawn",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\\\n",
    "\\",
    "#",
    "'",
    "\"",
    "--",
    ":",
    "::",
    "-",
    "a",
    "b",
    "web",
    "db",
    "x",
    "/bin/sh",
    "echo",
    "$HOME",
    "user=",
    "group=",
    "tty=",
    "dir=",
    "env=",
    "env=A=1",
    "umask=",
    "umask=022",
    "log=",
    "log=null",
    "log=/x",
    "restart=",
    "restart=never",
    "backoff=",
    "backoff=1s..2s",
    "..",
    "after=",
    "after=a",
    "after=b",
    "after=web",
    "ready=fd:",
    "ready=fd:3",
    "pidfile=/p",
    "stop=",
    "stop=KILL",
    "timeout=",
    "timeout=5s",
    "on-exit=",
    "on-exit=exit:",
    "exit:3",
    "bogus=",
    "=",
    "500ms",
    "1m",
    "99999999999999999999",
    "::sysinit:",
    "tty1::respawn:",
    "::once:-",
    "::askfirst:-/bin/sh",
    "\u{e9}",
    "\u{0}",
    "\u{ff}",
];

fn random_table(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(200) {
        if rng.below(8) == 0 {
            out.push(rng.next() as u8);
        } else {
            out.extend_from_slice(rng.pick(TOKENS).as_bytes());
        }
    }
    out
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let t = rng.pick(TOKENS).as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + rng.below(40)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 => {
                // Duplicate a chunk (duplicate names, repeated options).
                let end = (at + rng.below(120)).min(v.len());
                let chunk: Vec<u8> = v[at.min(end)..end].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, chunk);
            }
            4 => {
                // Splice in a piece of another seed.
                let other = rng.pick(SEEDS);
                let s = rng.below(other.len());
                let e = (s + rng.below(200)).min(other.len());
                v.splice(at..at, other[s..e].iter().copied());
            }
            5 if !v.is_empty() => v.truncate(at),
            _ => v.insert(at, *rng.pick(b"\n\\'\"# \t:=-")),
        }
    }
    v
}

/// Physical line lengths (bytes between newlines, CR included).
fn line_lengths(src: &[u8]) -> Vec<usize> {
    src.split(|&b| b == b'\n').map(<[u8]>::len).collect()
}

/// Everything foster does with a table; panics on any broken invariant.
fn check(src: &[u8]) -> (usize, usize) {
    let lines = line_lengths(src);
    let mut errors = 0;
    let table = parse(src, &mut |e| {
        errors += 1;
        assert!(e.line >= 1 && e.col >= 1, "{e:?}");
        let len = lines.get(e.line as usize - 1).unwrap_or_else(|| {
            panic!(
                "line {} past the end in {:?}",
                e.line,
                String::from_utf8_lossy(src)
            )
        });
        assert!(
            e.col as usize <= len + 1,
            "col {} past line {} (len {len}) in {:?}: {e:?}",
            e.col,
            e.line,
            String::from_utf8_lossy(src)
        );
        let mut text = Text::default();
        e.report("f", src, &mut text);
        let out = text.string();
        assert!(out.starts_with(&format!("f:{}:{}: ", e.line, e.col)));
        assert!(out.ends_with("^\n"), "{out}");
        assert_eq!(out.lines().count(), 3, "{out}");
    });
    let mut argv = Argv::new();
    for e in &table.entries {
        e.argv(src, &mut argv).unwrap_or_else(|err| {
            panic!("{err:?} for {e:?} in {:?}", String::from_utf8_lossy(src))
        });
        assert!(argv.program().is_some());
        assert!(e.same_as(src, e, src));
        assert!(e.backoff_min > 0 && e.backoff_min <= e.backoff_max);
    }
    let order = table.start_order();
    assert_eq!(order.len(), table.entries.len());
    let mut seen = vec![false; table.entries.len()];
    for &i in &order {
        assert!(!std::mem::replace(&mut seen[usize::from(i)], true));
    }
    let pos = |name: &[u8]| {
        let (i, _) = table.get(name).expect("after= names an entry");
        order.iter().position(|&j| usize::from(j) == i).unwrap()
    };
    for (i, e) in table.entries.iter().enumerate() {
        let me = order.iter().position(|&j| usize::from(j) == i).unwrap();
        for dep in &e.after {
            let (_, d) = table.get(dep.as_bytes()).unwrap();
            assert!(!matches!(
                d.kind,
                Kind::Shutdown | Kind::CtrlAltDel | Kind::Restart
            ));
            assert!(
                pos(dep.as_bytes()) < me,
                "{} before {}",
                dep.as_str(),
                e.name.as_str()
            );
        }
    }
    (table.entries.len(), errors)
}

fn iterations() -> usize {
    std::env::var("FOSTER_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4_000)
}

fn seed() -> u64 {
    std::env::var("FOSTER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f057)
}

#[test]
fn seeds_are_clean() {
    for s in SEEDS {
        let (entries, errors) = check(s);
        assert!(entries > 0);
        assert_eq!(errors, 0, "{}", String::from_utf8_lossy(s));
    }
}

#[test]
fn random_tables_never_panic() {
    let mut rng = Rng(seed());
    let (mut entries, mut errors) = (0, 0);
    for _ in 0..iterations() {
        let (n, e) = check(&random_table(&mut rng));
        entries += n;
        errors += e;
    }
    // The generator must reach both outcomes, or the test proves little.
    assert!(
        entries > 100 && errors > 100,
        "{entries} entries, {errors} errors"
    );
}

#[test]
fn mutated_examples_never_panic() {
    let mut rng = Rng(seed() ^ 0xdead_beef);
    let (mut entries, mut errors) = (0, 0);
    for i in 0..iterations() {
        let seed = SEEDS[i % SEEDS.len()];
        let (n, e) = check(&mutate(&mut rng, seed));
        entries += n;
        errors += e;
    }
    assert!(
        entries > 1000 && errors > 100,
        "{entries} entries, {errors} errors"
    );
}

#[test]
fn capacity_edges_never_panic() {
    // Many entries, long lines, deep after= chains, all at once.
    let mut src = String::new();
    for i in 0..100 {
        src.push_str(&format!(
            "once n{i} after=n{} {}\n",
            i + 1,
            "w ".repeat(i % 40)
        ));
    }
    src.push_str(&format!("service long {}\n", "x".repeat(5000)));
    src.push_str(&"::once:echo $x\n".repeat(70));
    check(src.as_bytes());
    check(&[b'\\'; 1000]);
    check(&[b'\n'; 1000]);
    check(&[b'\''; 1000]);
    check(&vec![0xff; 1000]);
}
