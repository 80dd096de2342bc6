//! `emz emit`: publishes etales in rounds, from arguments or from stdin.

use crate::format::hex_decode;
use crate::{note, print_out, secret_key, usage_err, Fail, Parsed, Res};
use emyzelium::{Efunguz, OnionKey, TorAuth};
use std::io::BufRead;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where the parts of each round come from.
enum Source {
    /// The same parts every round.
    Args(Vec<Vec<u8>>),
    /// One line of stdin per round, read by a thread so that handshakes are answered
    /// while stdin is quiet.
    Stdin(mpsc::Receiver<std::io::Result<Vec<u8>>>),
}

/// Runs `emz emit`.
pub fn emit(args: &[String]) -> Res<()> {
    let p = Parsed::new(
        args,
        &[
            "secret",
            "secret-file",
            "bind",
            "port",
            "whitelist",
            "whitelist-file",
            "title",
            "every",
            "count",
            "linger",
            "tor-control",
            "tor-cookie",
            "tor-password",
            "onion-key-file",
        ],
        &["hex", "file", "stdin", "everyone", "counters"],
    )?;
    let secret = secret_key(&p)?;
    let bind = p.one("bind")?.unwrap_or_else(|| "*".to_string());
    let port: u16 = p.integer("port")?.unwrap_or(emyzelium::DEFAULT_PORT);
    let titles = p.all("title");
    if titles.is_empty() {
        return usage_err("--title is required");
    }
    let every = Duration::from_secs_f64(p.amount("every")?.unwrap_or(100.0) / 1000.0);
    let count: Option<u64> = p.integer("count")?;
    let linger = Duration::from_secs_f64(p.amount("linger")?.unwrap_or(0.0));
    let hex = p.flag("hex");
    if hex && p.flag("file") {
        return usage_err("--hex and --file exclude each other");
    }
    if p.flag("stdin") && (p.flag("file") || p.given("count") || !p.positional.is_empty()) {
        return usage_err("--stdin excludes --file, --count and PART arguments");
    }
    let parts: Vec<Vec<u8>> = if hex {
        p.positional.iter().map(|s| hex_decode(s)).collect::<Res<_>>()?
    } else if p.flag("file") {
        p.positional.iter().map(|f| std::fs::read(f).map_err(|e| Fail(2, format!("{f}: {e}")))).collect::<Res<_>>()?
    } else {
        p.positional.iter().map(|s| s.as_bytes().to_vec()).collect()
    };

    let whitelist_file = p.one("whitelist-file")?;
    let fixed = p.all("whitelist");
    let mut whitelist = fixed.clone();
    if let Some(f) = &whitelist_file {
        whitelist.extend(emyzelium::read_keys_file(f)?);
    }
    let builder = Efunguz::builder(&secret).bind_host(&bind);
    let builder = match (p.flag("everyone"), fixed.is_empty() && whitelist_file.is_none()) {
        (true, true) => builder.allow_everyone(),
        (false, false) => builder.whitelist(whitelist),
        (true, false) => return usage_err("--everyone and --whitelist exclude each other"),
        (false, true) => {
            return usage_err(
                "nobody could subscribe: give --whitelist KEY (repeatable) for the keys allowed, or --everyone",
            )
        }
    };
    let builder = if port == 0 { builder.any_port() } else { builder.port(port) };
    let tor_control = p.one("tor-control")?;
    let Ok(auth) = TorAuth::from_choice(p.one("tor-cookie")?.as_deref(), p.one("tor-password")?.as_deref()) else {
        return usage_err("--tor-cookie and --tor-password exclude each other");
    };
    let key = match p.one("onion-key-file")? {
        Some(f) => OnionKey::File(f.into()),
        None => OnionKey::New,
    };
    if tor_control.is_none() && (auth != TorAuth::Auto || key != OnionKey::New) {
        return usage_err("--tor-cookie, --tor-password and --onion-key-file need --tor-control");
    }
    let mut ef = builder.build()?;
    print_out(format!("ready {}\n", ef.port()).as_bytes())?;
    if let Some(control) = tor_control {
        let id = ef.publish_onion(&control, &auth, &key)?;
        print_out(format!("onion {id}\n").as_bytes())?;
    }

    let source = if p.flag("stdin") { Source::Stdin(read_stdin_lines()) } else { Source::Args(parts) };
    let mut last_counters = emyzelium::Counters::default();
    let mut round: u64 = 0;
    let mut next = Instant::now();
    loop {
        let line_parts;
        let this_round: &[Vec<u8>] = match &source {
            Source::Args(parts) if count.is_none_or(|n| round < n) => parts,
            Source::Args(_) => break,
            Source::Stdin(lines) => {
                line_parts = match next_line(&mut ef, lines)? {
                    Some(line) if hex => [hex_decode(&String::from_utf8_lossy(&line))?],
                    Some(line) => [line],
                    None => break,
                };
                &line_parts
            }
        };
        for t in &titles {
            ef.emit_etale(t, this_round)?;
        }
        ef.update()?;
        if let Some(f) = &whitelist_file {
            sync_whitelist(&mut ef, f, &fixed);
        }
        if p.flag("counters") && ef.counters() != last_counters {
            last_counters = ef.counters();
            let c = &last_counters;
            print_out(
                format!(
                    "counters in_attempted={} in_permitted={} in_absorbing={} in_failed={} bad_subscriptions={}\n",
                    c.in_attempted, c.in_permitted, c.in_absorbing, c.in_failed, c.bad_subscriptions
                )
                .as_bytes(),
            )?;
        }
        round += 1;
        // A late round does not make the next ones come in a burst.
        next = (next + every).max(Instant::now());
        if let Source::Args(_) = source {
            serve_until(&mut ef, next)?;
        }
    }
    // After the last round (so that it leaves the socket), keep answering handshakes;
    // wait() does update()'s work while it sleeps.
    if let Source::Stdin(_) = source {
        serve_until(&mut ef, Instant::now() + every)?;
    }
    serve_until(&mut ef, Instant::now() + linger)
}

fn serve_until(ef: &mut Efunguz, until: Instant) -> Res<()> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        ef.wait(Some(left))?;
    }
}

/// Lines of stdin without their line end (`\n` or `\r\n`), as bytes: a part need not be
/// UTF-8.
fn read_stdin_lines() -> mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().split(b'\n') {
            let line = line.map(|mut l| {
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                l
            });
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next line of stdin, serving subscribers while none comes; None at its end.
fn next_line(ef: &mut Efunguz, lines: &mpsc::Receiver<std::io::Result<Vec<u8>>>) -> Res<Option<Vec<u8>>> {
    const LOOK: Duration = Duration::from_millis(20);
    loop {
        match lines.try_recv() {
            Ok(Ok(line)) => return Ok(Some(line)),
            Ok(Err(e)) => return Err(Fail(2, format!("stdin: {e}"))),
            Err(mpsc::TryRecvError::Disconnected) => return Ok(None),
            Err(mpsc::TryRecvError::Empty) => {
                ef.wait(Some(LOOK))?;
            }
        }
    }
}

/// Makes the whitelist the keys of `file` plus `fixed`: removed keys are cut off at the
/// next update. A file that cannot be read, or has a bad line, leaves the whitelist as
/// it is, with a message on stderr (writers replace the file whole, by rename).
fn sync_whitelist(ef: &mut Efunguz, file: &str, fixed: &[String]) {
    let mut want: std::collections::HashSet<String> = match emyzelium::read_keys_file(file) {
        Ok(keys) => keys.into_iter().collect(),
        Err(e) => return note(&format!("emz: {e}")),
    };
    want.extend(fixed.iter().cloned());
    let gone: Vec<String> = ef.whitelist().filter(|k| !want.contains(*k)).map(str::to_string).collect();
    for k in gone {
        let _ = ef.del_whitelist_key(&k);
    }
    let new: Vec<String> = want.into_iter().filter(|k| !ef.whitelist().any(|w| w == k)).collect();
    if !new.is_empty() {
        let _ = ef.add_whitelist_keys(new);
    }
}
