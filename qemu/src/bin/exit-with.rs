//! Guest test program: `exit-with CODE [LINE]...` prints each LINE, then
//! exits with CODE (0..=255).
fn main() {
    let code: i32 = match std::env::args().nth(1).map(|a| a.parse()) {
        Some(Ok(c)) if (0..=255).contains(&c) => c,
        _ => {
            eprintln!("usage: exit-with CODE (0..=255) [LINE]...");
            std::process::exit(2);
        }
    };
    for line in std::env::args().skip(2) {
        println!("{line}");
    }
    println!("exit-with: exiting {code}");
    std::process::exit(code);
}
