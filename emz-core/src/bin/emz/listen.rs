//! `emz listen`: subscribes to peers and prints their etales as they arrive.

use crate::format::{hex_encode, text_encode};
use crate::{io_fail, note, print_out, secret_key, usage_err, Fail, Parsed, Res};
use emyzelium::{Address, Efunguz, KEY_Z85_LEN};
use std::io::Write;
use std::time::{Duration, Instant};

/// `KEY@HOST:PORT`. Z85 keys may themselves contain `@` and `:`, so the key is taken as
/// the first 40 characters; the rest is an [`Address`] (an onion is reached through Tor).
fn parse_peer(s: &str) -> Res<(String, Address)> {
    let bad = |why: &str| usage_err(format!("--peer {s:?}: {why}; expected KEY@HOST:PORT"));
    if s.len() <= KEY_Z85_LEN || !s.is_char_boundary(KEY_Z85_LEN) || s.as_bytes()[KEY_Z85_LEN] != b'@' {
        return bad("no 40-character key followed by @");
    }
    let (key, addr) = (&s[..KEY_Z85_LEN], &s[KEY_Z85_LEN + 1..]);
    match Address::parse(addr) {
        Ok(address) => Ok((key.to_string(), address)),
        Err(e) => bad(&e.to_string()),
    }
}

/// Runs `emz listen`.
pub fn listen(args: &[String]) -> Res<()> {
    let p = Parsed::new(
        args,
        &["secret", "secret-file", "peer", "title", "count", "timeout", "bind", "port", "tor-proxy"],
        &["states", "text"],
    )?;
    const STATE_POLL: Duration = Duration::from_millis(50);
    let show_states = p.flag("states");
    if let Some(x) = p.positional.first() {
        return usage_err(format!("unexpected argument {x:?}"));
    }
    let secret = secret_key(&p)?;
    let peers = p.all("peer").iter().map(|s| parse_peer(s)).collect::<Res<Vec<_>>>()?;
    if peers.is_empty() {
        return usage_err("--peer is required");
    }
    let titles = p.all("title");
    if titles.is_empty() {
        return usage_err("--title is required");
    }
    let count: Option<u64> = p.integer("count")?;
    let timeout = p.amount("timeout")?.map(Duration::from_secs_f64);
    let bind = p.one("bind")?.unwrap_or_else(|| "127.0.0.1".to_string());
    let port: u16 = p.integer("port")?.unwrap_or(0);
    let text = p.flag("text");

    // Its own publish socket serves nothing: nobody may subscribe to it.
    let mut builder = Efunguz::builder(&secret).bind_host(&bind);
    if let Some(proxy) = p.one("tor-proxy")? {
        let Some((h, pp)) = proxy.rsplit_once(':').and_then(|(h, pp)| Some((h, pp.parse::<u16>().ok()?))) else {
            return usage_err(format!("--tor-proxy {proxy:?}: expected HOST:PORT"));
        };
        let h = h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h);
        builder = builder.tor_proxy(h, pp);
    }
    let builder = if port == 0 { builder.any_port() } else { builder.port(port) };
    let mut ef = builder.build()?;
    for (key, address) in peers.iter().cloned() {
        let ehypha = ef.add_ehypha_at(&key, address)?;
        for t in &titles {
            ehypha.add_etale(t)?;
        }
    }

    let deadline = timeout.map(|t| Instant::now() + t);
    let mut last_states = Vec::new();
    for (key, _) in &peers {
        let state = ef.get_ehypha(key)?.state();
        if show_states {
            note(&format!("state {state} {key}"));
        }
        last_states.push(state);
    }
    let mut printed: u64 = 0;
    let mut line = Vec::new();
    let result = loop {
        if count.is_some_and(|n| printed >= n) {
            break Ok(());
        }
        let left = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let want = count.map_or(String::new(), |n| format!(" of {n}"));
                    let secs = timeout.unwrap_or_default().as_secs_f64();
                    break Err(Fail(1, format!("timeout: {printed}{want} etales received in {secs} s")));
                }
                Some(left)
            }
        };
        // With --states, look at the connection states at least every 50 ms.
        let left = if show_states { Some(left.map_or(STATE_POLL, |l| l.min(STATE_POLL))) } else { left };
        ef.wait(left)?;
        if show_states {
            for ((key, _), last) in peers.iter().zip(last_states.iter_mut()) {
                let state = ef.get_ehypha(key)?.state();
                if state != *last {
                    *last = state;
                    note(&format!("state {state} {key}"));
                }
            }
        }
        line.clear();
        for change in ef.changes() {
            if count.is_some_and(|n| printed >= n) {
                break;
            }
            let etale = ef.get_ehypha(&change.public_key)?.get_etale(&change.title)?;
            line.extend_from_slice(b"etale ");
            text_encode(etale.title().as_bytes(), "", &mut line);
            write!(line, " {} {} {}", etale.t_out(), etale.t_in(), etale.parts().len()).map_err(io_fail)?;
            for part in etale.parts() {
                line.push(b' ');
                if text {
                    text_encode(part, "-", &mut line);
                } else {
                    hex_encode(part, &mut line);
                }
            }
            line.push(b'\n');
            printed += 1;
        }
        // One write per update: a closed stdout ends the loop like any failed write.
        if let Err(e) = print_out(&line) {
            break Err(e);
        }
    };
    let s = ef.stats();
    note(&format!(
        "stats received={} malformed={} unknown_title={} paused={}",
        s.received, s.malformed, s.unknown_title, s.paused
    ));
    for (key, _) in &peers {
        note(&format!("state {} {key}", ef.get_ehypha(key)?.state()));
    }
    result
}
