//! `emz`: a small command-line face of emyzelium, for scripts and interoperability
//! tests. Run `emz --help` for the usage.

use emyzelium::{new_key_pair, public_key, Address, Efunguz, OnionKey, TorAuth, KEY_Z85_LEN};
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
emz — authenticated, encrypted publish/subscribe over ZeroMQ CURVE (emyzelium)

USAGE:
    emz keygen
    emz public SECRET
    emz emit SECRET-SOURCE (--whitelist KEY... | --everyone) --title T [OPTIONS] [--] [PART]...
    emz listen SECRET-SOURCE --peer KEY@HOST:PORT --title T [OPTIONS]
    emz --help | --version

Keys are 40-character Z85 strings. Options also take the form --name=value.

SECRET-SOURCE: where the own secret key comes from, one of
    --secret-file PATH file holding the key: one line with the key, or the output of
                       `emz keygen` (its `secret:` line); a warning goes to stderr when
                       others may read the file
    EMZ_SECRET         environment variable holding the key, used when neither option
                       is given
    --secret S         the key itself; avoid it: the command line is readable by every
                       user of the machine (/proc/PID/cmdline, ps)

keygen
    Prints a new CURVE key pair as two lines, `public: <Z85>` and `secret: <Z85>`.

public SECRET
    Prints the public key that belongs to the secret key SECRET.

emit
    Publishes an etale (a title and data parts) again and again, answering CURVE
    handshakes (ZAP) between emissions. Prints `ready <port>` on stdout once the
    publish socket is bound, then nothing more.
    --bind HOST        interface to publish on: an IP address, an interface name or *
                       (default *)
    --port P           port to publish on; 0 = any free port (default 60847)
    --whitelist KEY    public key allowed to subscribe; repeatable
    --everyone         let every key subscribe. One of --whitelist, --whitelist-file and
                       --everyone is required: emit refuses to start a publisher nobody
                       may read
    --whitelist-file F public keys allowed to subscribe, one a line (# comments), with
                       those of --whitelist; re-read every round: a key gone from
                       the file is cut off at once, an empty file admits nobody
    --counters         print `counters NAME=N ...` (the publish socket's counters) on
                       stdout after every round in which they changed
    --title T          title to publish under (required); repeatable: each round then
                       emits the same parts under every title, in the order given
    --every MS         milliseconds between rounds (default 100)
    --count N          rounds to emit, then exit 0 (default: until killed)
    --hex              each PART is hex (`-` or an empty argument = empty part)
    --tor-control HOST:PORT
                       also publish behind a v3 onion service created through this Tor
                       control port (ADD_ONION; onion port = publish port, forwarded to
                       127.0.0.1, so --bind must be 127.0.0.1 or *). Prints
                       `onion <service id>` after `ready <port>`. The service goes
                       when emz exits
    --tor-cookie PATH  authenticate with this cookie file (default: ask Tor, which
                       names its cookie file or needs none)
    --tor-password P   authenticate with this password (HashedControlPassword)
    --onion-key-file F keep the onion's key in F (created when missing), so the
                       address stays the same across runs (default: a new address)
    --file             each PART is the path of a file whose bytes are the part
                       (for large parts: the kernel caps one argument at 128 KiB)
    PART...            the data parts, UTF-8 unless --hex or --file; none = no parts

listen
    Subscribes to one peer and prints one line per etale that got new data:
        etale <title> <t_out> <t_in> <n_parts> <hex of part 1> <hex of part 2> ...
    t_out and t_in are microseconds since the Unix epoch (at the sender when
    emitted, here when received); an empty part prints as `-`. Etales that arrive
    between two looks at the socket coalesce to the latest one. On exit, a line
    `stats received=R malformed=M unknown_title=U paused=P` goes to stderr, then
    `state S`: where the connection stands (connecting, retrying, handshaking, up,
    rejected, failed, disconnected).
    --peer KEY@HOST:PORT
                       the publisher: its public key, host and port (required;
                       an IPv6 host goes in brackets, [::1]). A HOST ending in .onion
                       (v3, checksum verified) is reached through Tor's SOCKS proxy
    --tor-proxy HOST:PORT
                       Tor's SOCKS proxy for an onion peer (default 127.0.0.1:9050)
    --states           print `state S` on stderr whenever the connection state changes
    --title T          title to subscribe to (required); repeatable
    --count N          exit 0 after printing N lines (default: until killed)
    --timeout SECS     give up after SECS seconds in all (fractions allowed): exit 1
                       with a message on stderr (default: no limit)
    --bind HOST        interface of the listener's own, unused publish socket
                       (default 127.0.0.1)
    --port P           its port; 0 = any free port (default 0)

EXIT STATUS:
    0  success (emit: N rounds done; listen: N lines printed)
    1  listen timed out
    2  bad usage or any other error, with `emz: <error>` on stderr
";

/// Failure of a subcommand: the exit code and what to print after `emz: `.
struct Fail(u8, String);

type Res<T> = Result<T, Fail>;

fn usage_err<T>(msg: impl Into<String>) -> Res<T> {
    Err(Fail(2, format!("{} (see emz --help)", msg.into())))
}

impl From<emyzelium::Error> for Fail {
    fn from(e: emyzelium::Error) -> Self {
        Fail(2, e.to_string())
    }
}

fn io_fail(e: std::io::Error) -> Fail {
    Fail(2, format!("stdout: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            eprintln!("emz: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run(args: &[String]) -> Res<()> {
    let Some(cmd) = args.first() else {
        return usage_err("a subcommand is needed: keygen, public, emit or listen");
    };
    let rest = &args[1..];
    match cmd.as_str() {
        "-h" | "--help" | "help" => print_out(USAGE),
        "-V" | "--version" | "version" => print_out(&format!(
            "emz {} (libzmq {}.{}.{})\n",
            emyzelium::VERSION,
            emyzelium::libzmq_version().0,
            emyzelium::libzmq_version().1,
            emyzelium::libzmq_version().2
        )),
        _ if rest.iter().any(|a| a == "-h" || a == "--help") => print_out(USAGE),
        "keygen" => keygen(rest),
        "public" => public(rest),
        "emit" => emit(rest),
        "listen" => listen(rest),
        other => usage_err(format!("unknown subcommand {other:?}")),
    }
}

fn print_out(s: &str) -> Res<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes()).and_then(|_| out.flush()).map_err(io_fail)
}

// ---- argument parsing -------------------------------------------------------------------

/// Options of a subcommand, parsed by hand: `--name value`, `--name=value`, flags, and
/// positionals (everything after `--` is positional).
struct Parsed {
    values: Vec<(String, String)>,
    flags: Vec<String>,
    positional: Vec<String>,
}

impl Parsed {
    fn new(args: &[String], with_value: &[&str], flags: &[&str]) -> Res<Parsed> {
        let mut p = Parsed { values: Vec::new(), flags: Vec::new(), positional: Vec::new() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                p.positional.extend(it.by_ref().cloned());
                break;
            }
            if !a.starts_with("--") {
                p.positional.push(a.clone());
                continue;
            }
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            let bare = &name[2..];
            if with_value.contains(&bare) {
                let v = match inline {
                    Some(v) => v,
                    None => match it.next() {
                        Some(v) => v.clone(),
                        None => return usage_err(format!("{name} needs a value")),
                    },
                };
                p.values.push((bare.to_string(), v));
            } else if flags.contains(&bare) {
                if inline.is_some() {
                    return usage_err(format!("{name} takes no value"));
                }
                p.flags.push(bare.to_string());
            } else {
                return usage_err(format!("unknown option {name}"));
            }
        }
        Ok(p)
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.values.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }

    /// The value of an option that may be given at most once.
    fn one(&self, name: &str) -> Res<Option<String>> {
        let mut all = self.all(name);
        if all.len() > 1 {
            return usage_err(format!("--{name} given more than once"));
        }
        Ok(all.pop())
    }

    fn required(&self, name: &str) -> Res<String> {
        match self.one(name)? {
            Some(v) => Ok(v),
            None => usage_err(format!("--{name} is required")),
        }
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Res<Option<T>> {
        match self.one(name)? {
            None => Ok(None),
            Some(v) => match v.parse() {
                Ok(n) => Ok(Some(n)),
                Err(_) => usage_err(format!("--{name}: {v:?} is not a valid number")),
            },
        }
    }
}

fn hex_decode(s: &str) -> Res<Vec<u8>> {
    if s == "-" {
        return Ok(Vec::new());
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return usage_err(format!("hex part {s:?} has an odd number of digits"));
    }
    let nib = |c: u8| (c as char).to_digit(16);
    b.chunks(2)
        .map(|p| match (nib(p[0]), nib(p[1])) {
            (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
            _ => usage_err(format!("hex part {s:?} has a non-hex digit")),
        })
        .collect()
}

fn hex_encode(data: &[u8], out: &mut Vec<u8>) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    if data.is_empty() {
        out.push(b'-');
        return;
    }
    out.reserve(data.len() * 2);
    for &b in data {
        out.push(DIGITS[(b >> 4) as usize]);
        out.push(DIGITS[(b & 15) as usize]);
    }
}

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

// ---- subcommands ------------------------------------------------------------------------

/// The own secret key, from --secret-file, --secret or EMZ_SECRET (in that order of
/// preference; the two options exclude each other).
fn secret_key(p: &Parsed) -> Res<String> {
    match (p.one("secret-file")?, p.one("secret")?) {
        (Some(_), Some(_)) => usage_err("--secret-file and --secret exclude each other"),
        (Some(path), None) => read_secret_file(&path),
        (None, Some(s)) => Ok(s),
        (None, None) => match std::env::var("EMZ_SECRET") {
            Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => usage_err("the secret key is required: --secret-file PATH, or EMZ_SECRET in the environment"),
        },
    }
}

/// Reads a secret key file: one line with the key, or `emz keygen`'s output (the
/// `secret:` line); blank lines and `#` comments are skipped. Written here rather than
/// in the library: the CLI is its only reader.
fn read_secret_file(path: &str) -> Res<String> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |what: String| Fail(2, format!("{path}: {what}"));
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    if let Ok(m) = std::fs::metadata(path) {
        if m.permissions().mode() & 0o077 != 0 {
            eprintln!("emz: warning: {path} may be read by other users (chmod 600 it)");
        }
    }
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let key = match lines.iter().find_map(|l| l.strip_prefix("secret:")) {
        Some(k) => k.trim(),
        None if lines.len() == 1 => lines[0],
        None => return Err(fail("expected one line with the secret key, or a `secret: KEY` line".into())),
    };
    if key.len() != KEY_Z85_LEN {
        return Err(fail(format!("the secret key must be {KEY_Z85_LEN} Z85 characters")));
    }
    Ok(key.to_string())
}

fn keygen(args: &[String]) -> Res<()> {
    if !args.is_empty() {
        return usage_err("keygen takes no arguments");
    }
    let (public, secret) = new_key_pair()?;
    print_out(&format!("public: {public}\nsecret: {secret}\n"))
}

fn public(args: &[String]) -> Res<()> {
    let [secret] = args else {
        return usage_err("public takes exactly one argument, the secret key");
    };
    let p = public_key(secret)?;
    print_out(&format!("{p}\n"))
}

fn emit(args: &[String]) -> Res<()> {
    let p = Parsed::new(
        args,
        &[
            "secret",
            "secret-file",
            "bind",
            "port",
            "whitelist",
            "title",
            "every",
            "count",
            "tor-control",
            "tor-cookie",
            "tor-password",
            "onion-key-file",
            "whitelist-file",
        ],
        &["hex", "file", "everyone", "counters"],
    )?;
    let secret = secret_key(&p)?;
    let bind = p.one("bind")?.unwrap_or_else(|| "*".to_string());
    let port: u16 = p.number("port")?.unwrap_or(emyzelium::DEFAULT_PORT);
    let titles = p.all("title");
    if titles.is_empty() {
        return usage_err("--title is required");
    }
    let every = Duration::from_millis(p.number("every")?.unwrap_or(100));
    let count: Option<u64> = p.number("count")?;
    if p.flag("hex") && p.flag("file") {
        return usage_err("--hex and --file exclude each other");
    }
    let parts: Vec<Vec<u8>> = if p.flag("hex") {
        p.positional.iter().map(|s| hex_decode(s)).collect::<Res<_>>()?
    } else if p.flag("file") {
        p.positional.iter().map(|f| std::fs::read(f).map_err(|e| Fail(2, format!("{f}: {e}")))).collect::<Res<_>>()?
    } else {
        p.positional.iter().map(|s| s.as_bytes().to_vec()).collect()
    };

    let whitelist_file = p.one("whitelist-file")?;
    let mut whitelist = p.all("whitelist");
    if let Some(f) = &whitelist_file {
        whitelist.extend(emyzelium::read_keys_file(f)?);
    }
    let builder = Efunguz::builder(&secret).bind_host(&bind);
    let builder = match (p.flag("everyone"), whitelist.is_empty() && whitelist_file.is_none()) {
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
    print_out(&format!("ready {}\n", ef.port()))?;
    if let Some(control) = tor_control {
        let id = ef.publish_onion(&control, &auth, &key)?;
        print_out(&format!("onion {id}\n"))?;
    }

    let mut last_counters = emyzelium::Counters::default();
    let mut round: u64 = 0;
    let mut next = Instant::now();
    while count.is_none_or(|n| round < n) {
        for t in &titles {
            ef.emit_etale(t, &parts)?;
        }
        ef.update()?;
        if let Some(f) = &whitelist_file {
            sync_whitelist(&mut ef, f, &p.all("whitelist"));
        }
        if p.flag("counters") && ef.counters() != last_counters {
            last_counters = ef.counters();
            // Debug names every field, so new counters show up without a change here.
            let text = format!("{last_counters:?}");
            let fields = text.trim_start_matches("Counters").trim_matches([' ', '{', '}']);
            print_out(&format!("counters {}\n", fields.replace(": ", "=").replace(", ", " ")))?;
        }
        round += 1;
        // Until the next round (and after the last one, so it leaves the socket), keep
        // answering handshakes; wait() does update()'s work while it sleeps.
        // A late round does not make the next ones come in a burst.
        next = (next + every).max(Instant::now());
        loop {
            let left = next.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            ef.wait(Some(left))?;
        }
    }
    Ok(())
}

/// Makes the whitelist the keys of `file` plus `fixed`: removed keys are cut off at the
/// next update. A file that cannot be read, or has a bad line, leaves the whitelist as
/// it is, with a message on stderr (writers replace the file whole, by rename).
fn sync_whitelist(ef: &mut Efunguz, file: &str, fixed: &[String]) {
    let mut want: std::collections::HashSet<String> = match emyzelium::read_keys_file(file) {
        Ok(keys) => keys.into_iter().collect(),
        Err(e) => return eprintln!("emz: {e}"),
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

fn listen(args: &[String]) -> Res<()> {
    let p = Parsed::new(
        args,
        &["secret", "secret-file", "peer", "title", "count", "timeout", "bind", "port", "tor-proxy"],
        &["states"],
    )?;
    const STATE_POLL: Duration = Duration::from_millis(50);
    let show_states = p.flag("states");
    if let Some(x) = p.positional.first() {
        return usage_err(format!("unexpected argument {x:?}"));
    }
    let secret = secret_key(&p)?;
    let (key, address) = parse_peer(&p.required("peer")?)?;
    let titles = p.all("title");
    if titles.is_empty() {
        return usage_err("--title is required");
    }
    let count: Option<u64> = p.number("count")?;
    let timeout = match p.number::<f64>("timeout")? {
        None => None,
        Some(s) if (0.0..1e9).contains(&s) => Some(Duration::from_secs_f64(s)),
        Some(s) => return usage_err(format!("--timeout {s} is out of range")),
    };
    let bind = p.one("bind")?.unwrap_or_else(|| "127.0.0.1".to_string());
    let port: u16 = p.number("port")?.unwrap_or(0);

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
    let ehypha = ef.add_ehypha_at(&key, address)?;
    for t in &titles {
        ehypha.add_etale(t)?;
    }

    let deadline = timeout.map(|t| Instant::now() + t);
    let mut last_state = ef.get_ehypha(&key)?.state();
    if show_states {
        eprintln!("state {last_state}");
    }
    let mut printed: u64 = 0;
    let mut line = Vec::new();
    let stdout = std::io::stdout();
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
                    break Err(Fail(
                        1,
                        format!(
                            "timeout: {printed}{want} etales received in {} s",
                            timeout.unwrap_or_default().as_secs_f64()
                        ),
                    ));
                }
                Some(left)
            }
        };
        // With --states, look at the connection state at least every 50 ms.
        let left = if show_states { Some(left.map_or(STATE_POLL, |l| l.min(STATE_POLL))) } else { left };
        ef.wait(left)?;
        let ehypha = ef.get_ehypha(&key)?;
        if show_states && ehypha.state() != last_state {
            last_state = ehypha.state();
            eprintln!("state {last_state}");
        }
        for change in ef.changes() {
            if count.is_some_and(|n| printed >= n) {
                break;
            }
            let etale = ehypha.get_etale(&change.title)?;
            line.clear();
            write!(line, "etale {} {} {} {}", etale.title(), etale.t_out(), etale.t_in(), etale.parts().len())
                .map_err(io_fail)?;
            for part in etale.parts() {
                line.push(b' ');
                hex_encode(part, &mut line);
            }
            line.push(b'\n');
            let mut out = stdout.lock();
            out.write_all(&line).and_then(|_| out.flush()).map_err(io_fail)?;
            printed += 1;
        }
    };
    let ehypha = ef.get_ehypha(&key)?;
    let s = ehypha.stats();
    eprintln!(
        "stats received={} malformed={} unknown_title={} paused={}",
        s.received, s.malformed, s.unknown_title, s.paused
    );
    eprintln!("state {}", ehypha.state());
    result
}
