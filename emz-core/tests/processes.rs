//! Efungi in different processes: this test process against the `emz` binary, both ways.
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const EMZ: &str = env!("CARGO_BIN_EXE_emz");

/// Kills the child even when the test fails.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn another_process_publishes_to_us() {
    let (kp, kb) = (keys(), keys());
    let mut child = Proc(
        Command::new(EMZ)
            .args([
                "emit",
                "--secret",
                &kp.secret,
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--title",
                "news",
                "--everyone",
            ])
            .args(["--every", "20", "--hex", "00ff", "-", "68656c6c6f"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port: u16 = line.trim().strip_prefix("ready ").expect("ready line").parse().unwrap();
    let mut b = efunguz(&kb);
    b.add_ehypha_direct(&kp.public, "127.0.0.1", port).unwrap().add_etale("news").unwrap();
    assert!(until(T, || {
        b.update().unwrap();
        b.get_ehypha(&kp.public).unwrap().get_etale("news").unwrap().received() > 0
    }));
    let e = b.get_ehypha(&kp.public).unwrap().get_etale("news").unwrap();
    let parts: Vec<Vec<u8>> = e.parts().iter().map(|p| p.to_vec()).collect();
    assert_eq!(parts, vec![vec![0u8, 0xff], vec![], b"hello".to_vec()]);
    let skew = (e.t_in() - e.t_out()).abs();
    assert!(skew < 5_000_000, "t_out {} vs t_in {}", e.t_out(), e.t_in());
}

#[test]
fn we_publish_to_another_process() {
    let (ka, kl) = (keys(), keys());
    let mut a = builder(&ka).whitelist([&kl.public]).build().unwrap();
    let peer = format!("{}@127.0.0.1:{}", ka.public, a.port());
    let mut child = Proc(
        Command::new(EMZ)
            .args(["listen", "--secret", &kl.secret, "--peer", &peer, "--title", "t", "--count", "1"])
            .args(["--timeout", "20"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    let reader = std::thread::spawn(move || {
        out.read_line(&mut line).unwrap();
        line
    });
    assert!(until(T, || {
        a.emit_etale_at("t", &[b"\x01\x02".as_slice(), b"xyz"], 1234).unwrap();
        a.update().unwrap();
        reader.is_finished()
    }));
    let line = reader.join().unwrap();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[0..3], ["etale", "t", "1234"], "{line}");
    assert_eq!(f[4..], ["2", "0102", "78797a"], "{line}");
    assert!(child.0.wait().unwrap().success());
    // The handshake event comes through the monitor, which only update() reads: the
    // child may have had the etale (and gone) before we looked.
    assert!(until(T, || {
        a.update().unwrap();
        a.in_permitted() >= 1
    }));
    assert_eq!(a.in_permitted(), 1);
}
