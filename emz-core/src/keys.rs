//! CURVE keys as emyzelium passes them around: 40-character Z85 strings.

use crate::error::{Error, Result};
use crate::sys;
use std::path::Path;

/// Length of a Z85-encoded CURVE key.
pub const KEY_Z85_LEN: usize = 40;

const ALPHABET: &[u8; 85] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

fn digit(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Decodes a Z85 key into its 32 bytes, or says why it is not one.
pub fn z85_decode(key: &str) -> std::result::Result<[u8; 32], String> {
    let bytes = key.as_bytes();
    if bytes.len() != KEY_Z85_LEN {
        return Err(format!("must be {KEY_Z85_LEN} Z85 characters, got {}", key.chars().count()));
    }
    let mut out = [0u8; 32];
    for (i, chunk) in bytes.chunks(5).enumerate() {
        let mut value: u64 = 0;
        for &c in chunk {
            let d = digit(c).ok_or_else(|| format!("{:?} is not a Z85 character", c as char))?;
            value = value * 85 + u64::from(d);
        }
        let value = u32::try_from(value).map_err(|_| "a 5-character group exceeds 32 bits".to_string())?;
        out[i * 4..i * 4 + 4].copy_from_slice(&value.to_be_bytes());
    }
    Ok(out)
}

/// Encodes 32 bytes as a 40-character Z85 key.
pub fn z85_encode(data: &[u8; 32]) -> String {
    let mut s = String::with_capacity(KEY_Z85_LEN);
    for chunk in data.chunks(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut group = [0u8; 5];
        for g in group.iter_mut().rev() {
            *g = ALPHABET[(value % 85) as usize];
            value /= 85;
        }
        s.extend(group.iter().map(|&b| b as char));
    }
    s
}

/// Whether `key` is a valid Z85-encoded CURVE key (public or secret).
pub fn is_valid_key(key: &str) -> bool {
    z85_decode(key).is_ok()
}

/// Checks `key` and returns its 32 bytes.
pub(crate) fn check_key(key: &str) -> Result<[u8; 32]> {
    z85_decode(key).map_err(|reason| Error::InvalidKey { key: key.to_string(), reason })
}

/// A new CURVE key pair: `(public, secret)`, both Z85.
pub fn new_key_pair() -> Result<(String, String)> {
    if !sys::has("curve") {
        return Err(Error::CurveUnavailable);
    }
    sys::curve_keypair().map_err(|e| Error::zmq("zmq_curve_keypair", e))
}

/// The Z85 public key that belongs to a Z85 secret key.
pub fn public_key(secret_key: &str) -> Result<String> {
    check_key(secret_key)?;
    if !sys::has("curve") {
        return Err(Error::CurveUnavailable);
    }
    sys::curve_public(secret_key).map_err(|e| Error::zmq("zmq_curve_public", e))
}

/// Reads public keys, one a line. Surrounding whitespace and blank lines are fine, and
/// so are `#` comments; any other line that is not a key is an error naming its line.
pub fn read_keys_file(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), line: None, source })?;
    let mut keys = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(reason) = z85_decode(line) {
            let msg = format!("not a Z85 public key ({reason})");
            return Err(Error::Io {
                path: path.to_path_buf(),
                line: Some(i + 1),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, msg),
            });
        }
        keys.push(line.to_string());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z85_round_trip_matches_spec_vector() {
        // From the Z85 spec (rfc.zeromq.org/spec/32): 8 bytes -> "HelloWorld".
        let mut data = [0u8; 32];
        data[..8].copy_from_slice(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
        let enc = z85_encode(&data);
        assert!(enc.starts_with("HelloWorld"));
        assert_eq!(z85_decode(&enc).unwrap(), data);
    }

    #[test]
    fn z85_rejects_bad_keys() {
        assert!(z85_decode("").is_err());
        assert!(z85_decode(&"0".repeat(39)).is_err());
        assert!(z85_decode(&"0".repeat(41)).is_err());
        assert!(z85_decode(&format!("{}\"", "0".repeat(39))).is_err());
        // "%nSc1" = 85^5 - 1 > u32::MAX
        assert!(z85_decode(&format!("{}{}", "#".repeat(5), "0".repeat(35))).is_err());
        assert!(z85_decode(&"é".repeat(20)).is_err());
    }
}
