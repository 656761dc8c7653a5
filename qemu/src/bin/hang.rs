//! Guest test program: sleeps forever (to exercise the host timeout).
fn main() {
    println!("hang: sleeping forever");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}
