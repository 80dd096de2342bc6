//! `emz`: the command-line face of emyzelium, for scripts and interoperability tests. The
//! Python wheel's `emyzelium` command has the same subcommands, options, defaults and
//! output (README, "Command line"). Run `emz --help` for the usage.

// The crate root lives in src/bin/, beside the other binaries: its modules in emz/.
#[path = "emz/args.rs"]
mod args;
#[path = "emz/emit.rs"]
mod emit;
#[path = "emz/format.rs"]
mod format;
#[path = "emz/listen.rs"]
mod listen;

use args::Parsed;
use emyzelium::{new_key_pair, public_key, KEY_Z85_LEN};
use std::io::Write;
use std::process::ExitCode;

const HEAD: &str = "\
emz — authenticated, encrypted publish/subscribe over ZeroMQ CURVE (emyzelium)

USAGE:
    emz keygen
    emz public [SECRET | SECRET-SOURCE]
    emz emit SECRET-SOURCE (--whitelist KEY... | --whitelist-file F | --everyone) --title T... [OPTIONS] [--] [PART]...
    emz listen SECRET-SOURCE --peer KEY@HOST:PORT... --title T... [OPTIONS]
    emz --help | --version | SUBCOMMAND --help
";

const KEYS: &str = "
Keys are 40-character Z85 strings: they contain $ ! * ? [ ] & < > and the like, so put
them in single quotes in a shell ('KEY'), never double quotes. Options also take the form
--name=value (which keeps a key beginning with - a value).
";

const SECRET: &str = "
SECRET-SOURCE: where the own secret key comes from, one of
    --secret-file PATH file holding the key: one line with the key, or the output of
                       keygen (its `secret:` line); # comments and blank lines are
                       skipped; a warning goes to stderr when others may read the file
    EMZ_SECRET         environment variable holding the key, used when neither option
                       is given
    --secret S         the key itself; avoid it: the command line is readable by every
                       user of the machine (/proc/PID/cmdline, ps)
    Without any of them the command refuses to run (exit 2): no key is made up.
";

const KEYGEN: &str = "
keygen
    Prints a new CURVE key pair as two lines, `public: <Z85>` and `secret: <Z85>`.
";

const PUBLIC: &str = "
public [SECRET | SECRET-SOURCE]
    Prints the public key that belongs to the secret key (the argument, else from
    --secret-file, --secret or EMZ_SECRET).
";

const EMIT: &str = "
emit
    Publishes an etale (a title and data parts) in rounds, answering CURVE handshakes
    between them. Prints `ready <port>` on stdout once the publish socket is bound.
    --bind HOST        interface to publish on: an IP address, an interface name or *
                       (default *)
    --port P           port to publish on; 0 = any free port (default 60847)
    --whitelist KEY    public key allowed to subscribe; repeatable
    --whitelist-file F public keys allowed to subscribe, one a line (# comments), with
                       those of --whitelist; re-read every round: a key gone from
                       the file is cut off at once, an empty file admits nobody
    --everyone         let every key subscribe. One of --whitelist, --whitelist-file and
                       --everyone is required: emit refuses to start a publisher nobody
                       may read
    --title T          title to publish under (required); repeatable: each round
                       emits the same parts under every title, in the order given
    --every MS         milliseconds between rounds, and after the last one
                       (fractions allowed; default 100)
    --count N          rounds to emit, then exit 0 (default: until killed)
    --linger SECS      after the last round, keep serving subscribers SECS seconds
                       more (fractions allowed; default 0)
    --hex              each PART (or --stdin line) is hex; `-` or empty = empty part
    --file             each PART is the path of a file whose bytes are the part
                       (for large parts: the kernel caps one argument at 128 KiB)
    --stdin            no PART arguments: each line of stdin (without its line end)
                       is emitted as an etale of one part when it arrives; at the end
                       of stdin, one more --every, then --linger. Excludes --count
    --counters         print `counters in_attempted=N in_permitted=N in_absorbing=N
                       in_failed=N bad_subscriptions=N` (the publish socket's
                       counters) on stdout after every round in which they changed
    --tor-control HOST:PORT
                       also publish behind a v3 onion service created through this Tor
                       control port (ADD_ONION; onion port = publish port, forwarded to
                       127.0.0.1, so --bind must be 127.0.0.1 or *). Prints
                       `onion <service id>` after `ready <port>`. The service goes
                       when emit exits
    --tor-cookie PATH  authenticate with this cookie file (default: ask Tor, which
                       names its cookie file or needs none)
    --tor-password P   authenticate with this password (HashedControlPassword)
    --onion-key-file F keep the onion's key in F (created when missing), so the
                       address stays the same across runs (default: a new address)
    PART...            the data parts, UTF-8 unless --hex or --file; none = no parts
";

const LISTEN: &str = "
listen
    Subscribes to peers and prints one line per etale that got new data:
        etale <title> <t_out> <t_in> <n_parts> <part 1> <part 2> ...
    Parts are lowercase hex, or text with --text; an empty part prints as `-`. The
    title is always text (the empty title an empty field). Text is UTF-8 as it is,
    except `\\` as `\\\\` and control characters, white space and bytes that are not
    UTF-8 as `\\xHH` per byte (a part that is `-` as `\\x2d`). t_out and t_in are
    microseconds since the Unix epoch (at the sender when emitted, here when
    received). Etales that arrive between two looks at the sockets coalesce to the
    latest one. On exit, `stats received=R malformed=M unknown_title=U paused=P` (all
    peers together) goes to stderr, then `state <S> <KEY>` for each peer: where its
    connection stands (connecting, retrying, handshaking, up, rejected, failed,
    disconnected).
    --peer KEY@HOST:PORT
                       a publisher: its public key, host and port (required;
                       repeatable; an IPv6 host goes in brackets, [::1]). A HOST
                       ending in .onion (v3, checksum verified) is reached through Tor
    --title T          title to subscribe to, at every peer (required); repeatable
    --text             print parts as text instead of hex
    --count N          exit 0 after printing N lines (default: until killed)
    --timeout SECS     give up after SECS seconds in all (fractions allowed): exit 1
                       with a message on stderr (default: no limit)
    --states           print `state <S> <KEY>` on stderr whenever a peer's connection
                       state changes
    --tor-proxy HOST:PORT
                       Tor's SOCKS proxy for onion peers (default 127.0.0.1:9050)
    --bind HOST        interface of the listener's own publish socket, which admits
                       nobody (default 127.0.0.1)
    --port P           its port; 0 = any free port (default 0)
";

const EXIT: &str = "
EXIT STATUS:
    0    success (emit: N rounds or stdin done; listen: N lines printed)
    1    listen timed out
    2    bad usage, a bad key or address, or any other error: `emz: <error>` on stderr
    141  stdout was closed (emz ... | head): nothing more is printed
";

/// Failure of a subcommand: the exit code and what to print after `emz: ` (nothing when
/// empty).
pub struct Fail(pub u8, pub String);

/// What the subcommands return.
pub type Res<T> = Result<T, Fail>;

/// A usage error: exit 2, with a pointer to the help.
pub fn usage_err<T>(msg: impl Into<String>) -> Res<T> {
    Err(Fail(2, format!("{} (see emz --help)", msg.into())))
}

impl From<emyzelium::Error> for Fail {
    fn from(e: emyzelium::Error) -> Self {
        Fail(2, e.to_string())
    }
}

/// Exit status when stdout is closed: what a shell reports for a process killed by
/// SIGPIPE, so pipelines see the usual code, without the kill (listen still reports).
const CLOSED_PIPE: u8 = 141;

/// A failed write to stdout: a closed pipe ends the program quietly.
pub fn io_fail(e: std::io::Error) -> Fail {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Fail(CLOSED_PIPE, String::new())
    } else {
        Fail(2, format!("stdout: {e}"))
    }
}

/// Writes to stdout and flushes, so each line leaves at once even into a pipe.
pub fn print_out(s: &[u8]) -> Res<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s).and_then(|_| out.flush()).map_err(io_fail)
}

/// A line on stderr; a closed stderr is ignored rather than a panic as with `eprintln!`.
pub fn note(s: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{s}");
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, msg)) => {
            if !msg.is_empty() {
                note(&format!("emz: {msg}"));
            }
            ExitCode::from(code)
        }
    }
}

fn help(cmd: Option<&str>) -> String {
    match cmd {
        None => [HEAD, KEYS, SECRET, KEYGEN, PUBLIC, EMIT, LISTEN, EXIT].concat(),
        Some("keygen") => ["usage: emz keygen\n", KEYGEN, EXIT].concat(),
        Some("public") => ["usage: emz public [SECRET | SECRET-SOURCE]\n", PUBLIC, KEYS, SECRET, EXIT].concat(),
        Some("emit") => ["usage: emz emit [OPTIONS] [--] [PART]...\n", EMIT, KEYS, SECRET, EXIT].concat(),
        Some(_) => ["usage: emz listen [OPTIONS]\n", LISTEN, KEYS, SECRET, EXIT].concat(),
    }
}

fn run(args: &[String]) -> Res<()> {
    let Some(cmd) = args.first() else {
        return usage_err("a subcommand is needed: keygen, public, emit or listen");
    };
    let rest = &args[1..];
    let known = ["keygen", "public", "emit", "listen"].contains(&cmd.as_str());
    // `--help` after `--` is a part to emit, not a request for help.
    let wants_help = rest.iter().take_while(|a| *a != "--").any(|a| a == "-h" || a == "--help");
    match cmd.as_str() {
        "-h" | "--help" | "help" => print_out(help(None).as_bytes()),
        "-V" | "--version" | "version" => {
            let (a, b, c) = emyzelium::libzmq_version();
            print_out(format!("emz {} (libzmq {a}.{b}.{c})\n", emyzelium::VERSION).as_bytes())
        }
        _ if known && wants_help => print_out(help(Some(cmd)).as_bytes()),
        "keygen" => keygen(rest),
        "public" => public(rest),
        "emit" => emit::emit(rest),
        "listen" => listen::listen(rest),
        other => usage_err(format!("unknown subcommand {other:?}")),
    }
}

/// The own secret key, from --secret-file, --secret or EMZ_SECRET (in that order of
/// preference; the two options exclude each other). Nothing given is an error: a key
/// made up here would be one nobody can whitelist.
pub fn secret_key(p: &Parsed) -> Res<String> {
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

/// Reads a secret key file: one line with the key, or keygen's output (the `secret:`
/// line); blank lines and `#` comments are skipped. Written here rather than in the
/// library: the command-line tools are its only readers.
fn read_secret_file(path: &str) -> Res<String> {
    use std::os::unix::fs::PermissionsExt;
    let fail = |what: String| Fail(2, format!("--secret-file {path}: {what}"));
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    if let Ok(m) = std::fs::metadata(path) {
        let mode = m.permissions().mode();
        if mode & 0o077 != 0 {
            note(&format!(
                "emz: warning: the secret file {path} may be read by others (mode {:o}); chmod 600 {path}",
                mode & 0o7777
            ));
        }
    }
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let keyed: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("secret:")).map(str::trim).collect();
    let key = match (keyed.as_slice(), lines.as_slice()) {
        ([k], _) | ([], [k]) => *k,
        _ => return Err(fail("expected one line, the secret key, or one `secret: KEY` line".into())),
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
    print_out(format!("public: {public}\nsecret: {secret}\n").as_bytes())
}

fn public(args: &[String]) -> Res<()> {
    // A lone argument is the key itself, even a 40-character one beginning with "-".
    let secret = match args {
        [key] if key.len() == KEY_Z85_LEN || !key.starts_with('-') => key.clone(),
        _ => {
            let p = Parsed::new(args, &["secret", "secret-file"], &[])?;
            if let Some(x) = p.positional.first() {
                return usage_err(format!("public takes one secret key, not {x:?}"));
            }
            secret_key(&p)?
        }
    };
    let p = public_key(&secret)?;
    print_out(format!("{p}\n").as_bytes())
}
