//! A subscriber inside a tokio program: the efunguz's readiness fd goes into tokio's
//! reactor through `AsyncFd`, so the task sleeps until there is work for `update()`
//! instead of polling it on a timer.
//!
//! ```sh
//! cargo run --bin emz -- keygen > pub.key   # then, in another terminal:
//! cargo run --bin emz -- emit --secret-file pub.key --everyone --port 60848 zone hello
//! cargo run --example tokio_subscriber -- PUBLIC_KEY 127.0.0.1:60848 zone 10
//! ```

use emyzelium::{Address, Efunguz};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Subscribes to `title` of the peer `public_key` at `address` for `seconds`, printing
/// each etale that arrives; returns how many arrived.
pub fn run(public_key: &str, address: &str, title: &str, seconds: f64) -> Result<u64, Box<dyn std::error::Error>> {
    let (_, secret) = emyzelium::new_key_pair()?;
    let mut ef = Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build()?;
    ef.add_ehypha_at(public_key, Address::parse(address)?)?.add_etale(title)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
    rt.block_on(async {
        let deadline = tokio::time::sleep(Duration::from_secs_f64(seconds));
        tokio::pin!(deadline);
        // SAFETY: the efunguz owns its readiness fd for its whole life and always
        // returns the same one, and the AsyncFd owns the efunguz.
        let mut ef = unsafe { AsyncFd::register_with_interest(ef, Interest::READABLE) }?;
        let mut received = 0;
        loop {
            let mut guard = tokio::select! {
                _ = &mut deadline => return Ok(received),
                guard = ef.readable_mut() => guard?,
            };
            // AsyncFd is edge-triggered: update until nothing is left, then wait again.
            let inner = guard.get_inner_mut();
            while inner.update()? > 0 {
                for change in inner.changes() {
                    let etale = inner.get_ehypha(&change.public_key)?.get_etale(&change.title)?;
                    let bytes: usize = etale.parts().iter().map(|p| p.len()).sum();
                    println!("{}: {} parts, {bytes} bytes, t_out {}", change.title, etale.parts().len(), etale.t_out());
                    received += 1;
                }
            }
            guard.clear_ready();
        }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [key, address, rest @ ..] = args.as_slice() else {
        eprintln!("usage: tokio_subscriber PUBLIC_KEY HOST:PORT [TITLE [SECONDS]]");
        std::process::exit(2);
    };
    let title = rest.first().map_or("zone", String::as_str);
    let seconds = match rest.get(1) {
        Some(s) => s.parse::<f64>().map_err(|e| format!("SECONDS {s:?}: {e}"))?,
        None => 10.0,
    };
    let n = run(key, address, title, seconds)?;
    println!("{n} etales in {seconds} s");
    Ok(())
}
