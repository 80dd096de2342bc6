//! A small client of Tor's control protocol (control-spec.txt): enough to authenticate
//! and to create and remove ephemeral v3 onion services, so an efunguz can publish
//! behind an onion without anyone editing torrc.

use crate::error::{Error, Result};
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to prove to Tor that we may control it.
#[derive(Clone, PartialEq, Eq)]
pub enum TorAuth {
    /// Ask Tor (PROTOCOLINFO) and use what it offers: no auth, or its cookie file.
    Auto,
    /// The cookie file (`control_auth_cookie` in Tor's DataDirectory).
    Cookie(PathBuf),
    /// `HashedControlPassword` authentication.
    Password(String),
}

impl TorAuth {
    /// The auth a user chose with an optional cookie path and an optional password (the
    /// CLIs' and faces' `--tor-cookie`/`--tor-password`): neither is [`TorAuth::Auto`],
    /// both is an error.
    pub fn from_choice(cookie: Option<&str>, password: Option<&str>) -> Result<Self> {
        match (cookie, password) {
            (Some(_), Some(_)) => {
                Err(Error::InvalidArgument { what: "a Tor cookie and a Tor password exclude each other".into() })
            }
            (Some(c), None) => Ok(TorAuth::Cookie(PathBuf::from(c))),
            (None, Some(p)) => Ok(TorAuth::Password(p.to_string())),
            (None, None) => Ok(TorAuth::Auto),
        }
    }
}

/// Which key the onion service gets.
#[derive(Clone, PartialEq, Eq)]
pub enum OnionKey {
    /// A new key, forgotten when the service goes: a new address each time.
    New,
    /// A key from an earlier service (`ED25519-V3:…` as Tor returned it): same address.
    Ed25519V3(String),
    /// The key kept in this file: created (mode 0600) with a new key when missing,
    /// so the address stays the same across restarts.
    File(PathBuf),
}

/// An onion service Tor has created for us.
#[derive(Clone, PartialEq, Eq)]
pub struct OnionService {
    /// The address without `.onion`.
    pub service_id: String,
    /// `ED25519-V3:…`, to re-create the same address later; `None` when Tor was told
    /// to discard it.
    pub private_key: Option<String>,
}

// Passwords and onion private keys are secrets: Debug shows that they are there, never
// what they are (an onion's private key lets anyone impersonate the service).
impl fmt::Debug for TorAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TorAuth::Auto => f.write_str("Auto"),
            TorAuth::Cookie(path) => f.debug_tuple("Cookie").field(path).finish(),
            TorAuth::Password(_) => f.write_str("Password(…)"),
        }
    }
}

impl fmt::Debug for OnionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnionKey::New => f.write_str("New"),
            OnionKey::Ed25519V3(_) => f.write_str("Ed25519V3(…)"),
            OnionKey::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl fmt::Debug for OnionService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnionService")
            .field("service_id", &self.service_id)
            .field("private_key", &self.private_key.as_ref().map(|_| "…"))
            .finish()
    }
}

/// A connection to Tor's control port.
pub struct TorControl {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    endpoint: String,
}

fn tor_err(what: impl Into<String>) -> Error {
    Error::Tor { what: what.into() }
}

/// One reply: its status code and lines (without the code).
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    fn ok(self, command: &str) -> Result<Reply> {
        if self.code == 250 {
            Ok(self)
        } else {
            Err(tor_err(format!("{command}: Tor answered {} {}", self.code, self.lines.join(" / "))))
        }
    }
}

impl TorControl {
    /// Connects to a control port, e.g. `127.0.0.1:9051`.
    pub fn connect(endpoint: &str) -> Result<Self> {
        let addrs: Vec<_> = endpoint
            .to_socket_addrs()
            .map_err(|e| Error::InvalidAddress { address: endpoint.to_string(), reason: e.to_string() })?
            .collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
                    s.set_write_timeout(Some(Duration::from_secs(10))).ok();
                    let writer = s.try_clone().map_err(|e| tor_err(format!("{endpoint}: {e}")))?;
                    return Ok(TorControl { reader: BufReader::new(s), writer, endpoint: endpoint.to_string() });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(tor_err(format!(
            "no Tor control port at {endpoint}: {}",
            last.map(|e| e.to_string()).unwrap_or_else(|| "no address".into())
        )))
    }

    /// The control port this client is connected to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn command(&mut self, line: &str) -> Result<Reply> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| tor_err(format!("{}: {e}", self.endpoint)))?;
        self.read_reply()
    }

    fn read_reply(&mut self) -> Result<Reply> {
        let mut lines = Vec::new();
        loop {
            let mut raw = String::new();
            let n = self.reader.read_line(&mut raw).map_err(|e| tor_err(format!("{}: {e}", self.endpoint)))?;
            if n == 0 {
                return Err(tor_err(format!("{}: Tor closed the control connection", self.endpoint)));
            }
            let line = raw.trim_end_matches(['\r', '\n']);
            if line.len() < 4 || !line.is_char_boundary(3) {
                return Err(tor_err(format!("{}: not a control-protocol reply: {line:?}", self.endpoint)));
            }
            let code: u16 = line[..3].parse().map_err(|_| tor_err(format!("bad reply line {line:?}")))?;
            let sep = line.as_bytes()[3];
            lines.push(line[4..].to_string());
            match sep {
                b' ' => return Ok(Reply { code, lines }),
                b'-' => {}
                b'+' => {
                    // A data block follows, ending with a lone ".".
                    loop {
                        let mut d = String::new();
                        if self.reader.read_line(&mut d).map_err(|e| tor_err(e.to_string()))? == 0 {
                            return Err(tor_err("Tor closed the connection in a data reply"));
                        }
                        if d.trim_end_matches(['\r', '\n']) == "." {
                            break;
                        }
                    }
                }
                _ => return Err(tor_err(format!("bad reply line {line:?}"))),
            }
        }
    }

    /// Authenticates; every other command needs this first.
    pub fn authenticate(&mut self, auth: &TorAuth) -> Result<()> {
        let line = match auth {
            TorAuth::Password(p) => format!("AUTHENTICATE {}", quote(p)),
            TorAuth::Cookie(path) => format!("AUTHENTICATE {}", read_cookie(path)?),
            TorAuth::Auto => {
                let info = self.command("PROTOCOLINFO 1")?.ok("PROTOCOLINFO")?;
                let auth_line = info.lines.iter().find(|l| l.starts_with("AUTH ")).cloned().unwrap_or_default();
                let methods = field(&auth_line, "METHODS").unwrap_or_default();
                let methods: Vec<&str> = methods.split(',').collect();
                if methods.contains(&"NULL") {
                    "AUTHENTICATE".to_string()
                } else if methods.contains(&"COOKIE") || methods.contains(&"SAFECOOKIE") {
                    let path = field(&auth_line, "COOKIEFILE")
                        .ok_or_else(|| tor_err("Tor offers cookie authentication but names no cookie file"))?;
                    if !methods.contains(&"COOKIE") {
                        return Err(tor_err(
                            "Tor offers only SAFECOOKIE; enable CookieAuthentication with COOKIE or use a password",
                        ));
                    }
                    format!("AUTHENTICATE {}", read_cookie(Path::new(&path))?)
                } else {
                    return Err(tor_err(format!(
                        "Tor wants {} authentication: pass TorAuth::Password",
                        methods.join(",")
                    )));
                }
            }
        };
        self.command(&line)?.ok("AUTHENTICATE").map(drop)
    }

    /// Creates an onion service forwarding `virt_port` to `127.0.0.1:target_port`.
    pub fn add_onion(&mut self, virt_port: u16, target_port: u16, key: &OnionKey) -> Result<OnionService> {
        crate::address::check_port(virt_port, "onion port")?;
        crate::address::check_port(target_port, "onion target port")?;
        let (key_arg, flags, file) = match key {
            OnionKey::New => ("NEW:ED25519-V3".to_string(), " Flags=DiscardPK", None),
            OnionKey::Ed25519V3(k) => (check_onion_key(k)?, "", None),
            OnionKey::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => (check_onion_key(text.trim())?, "", None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => ("NEW:ED25519-V3".to_string(), "", Some(path)),
                Err(source) => return Err(Error::Io { path: path.clone(), line: None, source }),
            },
        };
        let reply = self
            .command(&format!("ADD_ONION {key_arg}{flags} Port={virt_port},127.0.0.1:{target_port}"))?
            .ok("ADD_ONION")?;
        let service_id = reply
            .lines
            .iter()
            .find_map(|l| l.strip_prefix("ServiceID="))
            .ok_or_else(|| tor_err("ADD_ONION: no ServiceID in Tor's reply"))?
            .to_string();
        let private_key = reply.lines.iter().find_map(|l| l.strip_prefix("PrivateKey=")).map(str::to_string);
        let private_key = match key {
            OnionKey::New => None,
            OnionKey::Ed25519V3(k) => Some(k.clone()),
            OnionKey::File(_) => private_key.or_else(|| key_arg.starts_with("ED25519-V3:").then(|| key_arg.clone())),
        };
        if let (Some(path), Some(k)) = (file, &private_key) {
            if let Err(source) = write_private(path, k) {
                // Without the saved key the address could not be kept: undo.
                let _ = self.del_onion(&service_id);
                return Err(Error::Io { path: path.clone(), line: None, source });
            }
        }
        Ok(OnionService { service_id, private_key })
    }

    /// Removes an onion service created on this connection.
    pub fn del_onion(&mut self, service_id: &str) -> Result<()> {
        if !service_id.bytes().all(|b| b.is_ascii_alphanumeric()) || service_id.is_empty() {
            return Err(Error::InvalidAddress { address: service_id.to_string(), reason: "not a service id".into() });
        }
        self.command(&format!("DEL_ONION {service_id}"))?.ok("DEL_ONION").map(drop)
    }
}

/// `KEY="value"` or `KEY=value` within a PROTOCOLINFO line.
fn field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next()?),
                '"' => return Some(out),
                c => out.push(c),
            }
        }
        None
    } else {
        Some(rest.split(' ').next().unwrap_or("").to_string())
    }
}

fn quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

fn read_cookie(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), line: None, source })?;
    if bytes.len() != 32 {
        return Err(tor_err(format!("{}: a Tor cookie has 32 bytes, this has {}", path.display(), bytes.len())));
    }
    Ok(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

fn check_onion_key(k: &str) -> Result<String> {
    let ok = k.strip_prefix("ED25519-V3:").is_some_and(|b64| {
        b64.len() == 88 && b64.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=')
    });
    if !ok {
        return Err(Error::InvalidKey {
            key: k.to_string(),
            reason: "an onion key is ED25519-V3: followed by 88 base64 characters".into(),
        });
    }
    Ok(k.to_string())
}

fn write_private(path: &Path, key: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(format!("{key}\n").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocolinfo_fields() {
        let l = r#"AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="/var/lib/tor/control_auth_cookie""#;
        assert_eq!(field(l, "METHODS").unwrap(), "COOKIE,SAFECOOKIE");
        assert_eq!(field(l, "COOKIEFILE").unwrap(), "/var/lib/tor/control_auth_cookie");
        assert_eq!(field(r#"AUTH COOKIEFILE="a\"b""#, "COOKIEFILE").unwrap(), "a\"b");
        assert_eq!(quote(r#"p"w\d"#), r#""p\"w\\d""#);
        assert!(check_onion_key("ED25519-V3:abc").is_err());
        assert!(check_onion_key(&format!("ED25519-V3:{}", "A".repeat(88))).is_ok());
    }
}
