//! The driver's side of a role: `--name value` arguments in, and on stdin `go` (start
//! measuring) and `quit` (or EOF: stop).

use crate::output::die;
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Args(HashMap<String, String>);

impl Args {
    pub fn parse(v: &[String]) -> Args {
        let mut m = HashMap::new();
        let mut i = 0;
        while i < v.len() {
            let k = v[i].trim_start_matches("--").to_string();
            let val = v.get(i + 1).cloned().unwrap_or_default();
            m.insert(k, val);
            i += 2;
        }
        Args(m)
    }
    pub fn s(&self, k: &str, d: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    pub fn n<T: std::str::FromStr>(&self, k: &str, d: T) -> T {
        self.0.get(k).map(|v| v.parse().unwrap_or_else(|_| die(&format!("bad --{k}")))).unwrap_or(d)
    }
    pub fn req(&self, k: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| die(&format!("--{k} required")))
    }
}

pub static GO: AtomicBool = AtomicBool::new(false);
pub static QUIT: AtomicBool = AtomicBool::new(false);

/// `go` starts the measurement; `quit` or EOF ends the process.
pub fn watch_stdin() {
    std::thread::spawn(|| {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "go" => GO.store(true, Ordering::SeqCst),
                Ok(l) if l.trim() == "quit" => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        QUIT.store(true, Ordering::SeqCst);
    });
}

pub fn cores() -> i32 {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as i32
}
