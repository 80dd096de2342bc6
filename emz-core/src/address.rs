//! Where an ehypha connects: an onion service through Tor, or a plain host directly.

use crate::error::{Error, Result};
use sha3::{Digest, Sha3_256};
use std::fmt;

/// Characters of a v3 onion address without `.onion`.
pub const ONION_V3_LEN: usize = 56;

/// The remote end of an ehypha.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A v3 onion service, reached through the efunguz's Tor SOCKS proxy. `onion` is
    /// stored lowercase without the `.onion` suffix.
    Onion {
        /// The 56 base32 characters of the address.
        onion: String,
        /// The onion port (the peer's publish port).
        port: u16,
    },
    /// A host (IPv4, IPv6 or DNS name) reached by plain TCP, for LAN and loopback.
    Direct {
        /// An IP literal (IPv6 without brackets) or a DNS name.
        host: String,
        /// The peer's publish port.
        port: u16,
    },
}

impl Address {
    /// A v3 onion address (56 base32 characters, `.onion` optional, any case) with a
    /// valid checksum and version byte.
    pub fn onion(onion: &str, port: u16) -> Result<Self> {
        let normalized = normalize_onion(onion)?;
        check_port(port, "ehypha port")?;
        Ok(Address::Onion { onion: normalized, port })
    }

    /// A plain TCP host: an IPv4 or IPv6 literal (brackets optional) or a DNS name.
    pub fn direct(host: &str, port: u16) -> Result<Self> {
        let host = normalize_host(host)?;
        check_port(port, "ehypha port")?;
        Ok(Address::Direct { host, port })
    }

    /// Parses `host:port`, `[ipv6]:port` or `x.onion:port`: an onion becomes an onion
    /// address (reached through Tor), anything else a direct one. The one parser every
    /// CLI, demo and face uses for a peer's address.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let (host, port) = t.rsplit_once(':').ok_or_else(|| invalid(text, "expected HOST:PORT"))?;
        let port: u16 = port.parse().map_err(|_| invalid(text, "the port is not a number 1..=65535"))?;
        if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
            return Err(invalid(text, "an IPv6 host needs brackets: [HOST]:PORT"));
        }
        if host.to_ascii_lowercase().ends_with(".onion") {
            Address::onion(host, port)
        } else {
            Address::direct(host, port)
        }
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        match self {
            Address::Onion { port, .. } | Address::Direct { port, .. } => *port,
        }
    }

    /// Whether this is reached through Tor.
    pub fn is_onion(&self) -> bool {
        matches!(self, Address::Onion { .. })
    }

    /// The libzmq endpoint to connect to.
    pub(crate) fn endpoint(&self) -> String {
        match self {
            Address::Onion { onion, port } => format!("tcp://{onion}.onion:{port}"),
            Address::Direct { host, port } if host.contains(':') => format!("tcp://[{host}]:{port}"),
            Address::Direct { host, port } => format!("tcp://{host}:{port}"),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Onion { onion, port } => write!(f, "{onion}.onion:{port}"),
            Address::Direct { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Direct { host, port } => write!(f, "{host}:{port}"),
        }
    }
}

pub(crate) fn check_port(port: u16, what: &'static str) -> Result<()> {
    if port == 0 {
        return Err(Error::InvalidPort { what });
    }
    Ok(())
}

fn invalid(address: &str, reason: impl Into<String>) -> Error {
    Error::InvalidAddress { address: address.to_string(), reason: reason.into() }
}

/// Checks a v3 onion and returns it lowercase without `.onion`.
pub fn normalize_onion(onion: &str) -> Result<String> {
    let lower = onion.trim().to_ascii_lowercase();
    let bare = lower.strip_suffix(".onion").unwrap_or(&lower);
    if bare.len() != ONION_V3_LEN {
        let hint = if bare.len() == 16 { " (v2 onions are no longer served by Tor)" } else { "" };
        return Err(invalid(
            onion,
            format!("a v3 onion has {ONION_V3_LEN} base32 characters, got {}{hint}", bare.len()),
        ));
    }
    let decoded = base32_decode(bare).ok_or_else(|| invalid(onion, "not base32 (a-z, 2-7)"))?;
    // onion = base32(pubkey[32] | checksum[2] | version[1]), version 3,
    // checksum = SHA3-256(".onion checksum" | pubkey | version)[..2]  (rend-spec-v3)
    let (pubkey, rest) = decoded.split_at(32);
    if rest[2] != 3 {
        return Err(invalid(onion, format!("version byte is {}, not 3", rest[2])));
    }
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(pubkey);
    h.update([3u8]);
    let sum = h.finalize();
    if sum[..2] != rest[..2] {
        return Err(invalid(onion, "checksum mismatch (a mistyped character?)"));
    }
    Ok(bare.to_string())
}

/// The v3 onion address of an ed25519 public key (lowercase, without `.onion`).
pub fn onion_from_ed25519(pubkey: &[u8; 32]) -> String {
    let mut h = Sha3_256::new();
    h.update(b".onion checksum");
    h.update(pubkey);
    h.update([3u8]);
    let sum = h.finalize();
    let mut raw = Vec::with_capacity(35);
    raw.extend_from_slice(pubkey);
    raw.extend_from_slice(&sum[..2]);
    raw.push(3);
    base32_encode(&raw)
}

const B32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut acc, mut bits) = (0u64, 0u32);
    for c in s.bytes() {
        let v = B32.iter().position(|&b| b == c)? as u64;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity((data.len() * 8).div_ceil(5));
    let (mut acc, mut bits) = (0u64, 0u32);
    for &b in data {
        acc = (acc << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Accepts IP literals and DNS names; returns IPv6 without brackets.
pub(crate) fn normalize_host(host: &str) -> Result<String> {
    let h = host.trim();
    let unbracketed = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(h);
    if unbracketed.parse::<std::net::IpAddr>().is_ok() {
        return Ok(unbracketed.to_string());
    }
    if h.is_empty() {
        return Err(invalid(host, "empty host"));
    }
    if h.len() > 253 {
        return Err(invalid(host, "longer than 253 characters"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !h.trim_end_matches('.').split('.').all(label_ok) {
        return Err(invalid(host, "neither an IP address nor a DNS name"));
    }
    if h.to_ascii_lowercase().ends_with(".onion") {
        return Err(invalid(host, "an onion is reached through Tor: use an onion ehypha"));
    }
    Ok(h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onion_round_trip_and_checksum() {
        let key = [7u8; 32];
        let onion = onion_from_ed25519(&key);
        assert_eq!(onion.len(), 56);
        assert_eq!(normalize_onion(&onion).unwrap(), onion);
        assert_eq!(normalize_onion(&format!("{}.ONION", onion.to_uppercase())).unwrap(), onion);
        // flip one character -> checksum mismatch
        let mut bad = onion.clone().into_bytes();
        bad[3] = if bad[3] == b'a' { b'b' } else { b'a' };
        assert!(normalize_onion(std::str::from_utf8(&bad).unwrap()).is_err());
        assert!(normalize_onion("abcdefghijklmnop").is_err());
        assert!(normalize_onion(&"1".repeat(56)).is_err());
    }

    #[test]
    fn hosts() {
        assert_eq!(normalize_host("127.0.0.1").unwrap(), "127.0.0.1");
        assert_eq!(normalize_host("[::1]").unwrap(), "::1");
        assert_eq!(normalize_host("localhost").unwrap(), "localhost");
        assert!(normalize_host("").is_err());
        assert!(normalize_host("a b").is_err());
        assert!(normalize_host("tcp://x").is_err());
        assert!(normalize_host("-x.com").is_err());
        assert_eq!(Address::direct("::1", 5).unwrap().endpoint(), "tcp://[::1]:5");
        assert_eq!(Address::parse("127.0.0.1:60847").unwrap(), Address::direct("127.0.0.1", 60847).unwrap());
        assert_eq!(Address::parse("[::1]:5").unwrap(), Address::direct("::1", 5).unwrap());
        let onion = onion_from_ed25519(&[9u8; 32]);
        assert_eq!(Address::parse(&format!("{onion}.onion:80")).unwrap(), Address::onion(&onion, 80).unwrap());
        for bad in ["127.0.0.1", "host:", "host:0", "host:65536", "::1:5", ":5", "bad.onion:5"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
        assert!(Address::direct("h", 0).is_err());
    }
}
