//! The `emz` CLI's output rules on their own (the agreement with the Python `emyzelium`
//! is tests/cross/test_cli_agree.py): a closed stdout ends it quietly with 141, no secret
//! is made up, --stdin lines become etales, and --text prints escaped text.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EMZ: &str = env!("CARGO_BIN_EXE_emz");

fn emz(args: &[&str]) -> Command {
    let mut c = Command::new(EMZ);
    c.args(args).env_remove("EMZ_SECRET");
    c
}

/// Kills the child when the test ends, whatever happens.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `emz emit` on a free loopback port; returns the process and its port.
fn emitter(secret: &str, extra: &[&str], stdin: Stdio) -> (Guard, u16) {
    let mut c = emz(&["emit", "--secret", secret, "--bind", "127.0.0.1", "--port", "0", "--everyone"]);
    let child = c.args(["--title", "t"]).args(extra).stdin(stdin).stdout(Stdio::piped()).spawn().unwrap();
    let mut g = Guard(child);
    let mut line = String::new();
    BufReader::new(g.0.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let port = line.strip_prefix("ready ").and_then(|p| p.trim().parse().ok()).expect(&line);
    (g, port)
}

#[test]
fn no_secret_is_an_error_not_a_new_key() {
    let o = emz(&["listen", "--peer", &format!("{}@127.0.0.1:1", keys().public), "--title", "t"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("EMZ_SECRET"));
}

#[test]
fn closed_stdout_exits_141_quietly() {
    let k = keys();
    let (_e, port) = emitter(&k.secret, &["--every", "10", "--", "x"], Stdio::null());
    let peer = format!("{}@127.0.0.1:{port}", k.public);
    let mut c = emz(&["listen", "--secret", &keys().secret, "--peer", &peer, "--title", "t", "--timeout", "20"]);
    let mut l = Guard(c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap());
    let mut first = String::new();
    let mut out = BufReader::new(l.0.stdout.take().unwrap());
    out.read_line(&mut first).unwrap();
    assert!(first.starts_with("etale t "), "{first}");
    drop(out); // the reading end closes, as `| head -n 1` does
    let status = l.0.wait().unwrap();
    let mut err = String::new();
    l.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert_eq!(status.code(), Some(141), "{err}");
    assert!(err.starts_with("stats received=") && !err.contains("emz:") && !err.contains("panicked"), "{err}");
}

#[test]
fn stdin_lines_are_etales_and_text_is_escaped() {
    let k = keys();
    let (mut e, port) = emitter(&k.secret, &["--stdin", "--linger", "20"], Stdio::piped());
    e.0.stdin.as_mut().unwrap().write_all("one\nsecond line\\ ü\r\n".as_bytes()).unwrap();
    drop(e.0.stdin.take());
    // Both lines are emitted within one 20 ms look at stdin; a listener joining later gets
    // the last one alone.
    std::thread::sleep(Duration::from_millis(300));
    let peer = format!("{}@127.0.0.1:{port}", k.public);
    let t0 = Instant::now();
    let o = emz(&["listen", "--secret", &keys().secret, "--peer", &peer, "--title", "t", "--count", "1", "--text"])
        .args(["--timeout", "20"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = String::from_utf8(o.stdout).unwrap();
    let fields: Vec<&str> = line.trim_end().split(' ').collect();
    assert_eq!((fields[1], fields[4], fields[5]), ("t", "1", "second\\x20line\\\\\\x20ü"), "{line}");
    assert!(t0.elapsed() < Duration::from_secs(20));
}
