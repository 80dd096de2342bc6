//! CURVE keys as emyzelium passes them around: 40-character Z85 strings. Secret keys
//! live in [`SecretKey`], which never prints whole and wipes its memory when dropped.

use crate::error::{redact, Error, Result};
use crate::sys;
use std::path::Path;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of a Z85-encoded CURVE key.
pub const KEY_Z85_LEN: usize = 40;

const ALPHABET: &[u8; 85] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

fn digit(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Why a string is not a Z85 key; worded without the key's characters for secrets.
enum Bad {
    Length(usize),
    Character { at: usize, c: char },
    Overflow { group: usize },
}

impl Bad {
    fn describe(&self, secret: bool) -> String {
        match self {
            Bad::Length(n) => format!("must be {KEY_Z85_LEN} Z85 characters, got {n}"),
            Bad::Character { at, .. } if secret => format!("byte {} is not a Z85 character", at + 1),
            Bad::Character { at, c } => format!("{c:?} (byte {}) is not a Z85 character", at + 1),
            Bad::Overflow { group } => format!("5-character group {} exceeds 32 bits", group + 1),
        }
    }
}

/// Decodes into `out`, so that a secret's bytes land only in a buffer the caller wipes.
fn decode_into(key: &str, out: &mut [u8; 32]) -> std::result::Result<(), Bad> {
    let bytes = key.as_bytes();
    if bytes.len() != KEY_Z85_LEN {
        return Err(Bad::Length(key.chars().count()));
    }
    let mut value: u64 = 0;
    let mut result = Ok(());
    for (i, chunk) in bytes.chunks(5).enumerate() {
        value = 0;
        for (j, &c) in chunk.iter().enumerate() {
            let Some(d) = digit(c) else {
                let at = i * 5 + j;
                // Inside a multibyte character the byte has no char of its own.
                let c = key.get(at..).and_then(|s| s.chars().next()).unwrap_or(char::REPLACEMENT_CHARACTER);
                result = Err(Bad::Character { at, c });
                break;
            };
            value = value * 85 + u64::from(d);
        }
        if result.is_err() {
            break;
        }
        let Ok(word) = u32::try_from(value) else {
            result = Err(Bad::Overflow { group: i });
            break;
        };
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    value.zeroize();
    if result.is_err() {
        out.zeroize();
    }
    result
}

/// Decodes a Z85 key into its 32 bytes, or says why it is not one.
pub fn z85_decode(key: &str) -> std::result::Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    decode_into(key, &mut out).map_err(|bad| bad.describe(false))?;
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
    let mut out = Zeroizing::new([0u8; 32]);
    decode_into(key, &mut out).is_ok()
}

/// Checks a public `key` and returns its 32 bytes.
pub(crate) fn check_key(key: &str) -> Result<[u8; 32]> {
    z85_decode(key).map_err(|reason| Error::InvalidKey { key: key.to_string(), reason })
}

/// Checks a secret `key` and returns its 32 bytes, wiped when dropped. The error holds
/// only a prefix of the key and does not quote its characters.
pub(crate) fn check_secret(key: &str) -> Result<Zeroizing<[u8; 32]>> {
    let mut out = Zeroizing::new([0u8; 32]);
    decode_into(key, &mut out).map_err(|bad| Error::InvalidKey { key: redact(key), reason: bad.describe(true) })?;
    Ok(out)
}

/// A Z85 CURVE secret key that is wiped from memory when dropped and never printed
/// whole: `Debug` shows a short prefix only. Derefs to the Z85 `str` for the calls that
/// take one (`Efunguz::builder(&secret)`); copies made from that `str` are the
/// caller's to wipe.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Zeroizing<String>);

impl SecretKey {
    /// Checks `z85` and keeps a copy of it.
    pub fn new(z85: &str) -> Result<Self> {
        check_secret(z85)?;
        Ok(SecretKey(Zeroizing::new(z85.to_string())))
    }

    /// Keeps `z85` unchecked: the builder checks it when building.
    pub(crate) fn unchecked(z85: &str) -> Self {
        SecretKey(Zeroizing::new(z85.to_string()))
    }

    /// The Z85 text.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its 32 bytes, wiped when dropped.
    pub(crate) fn decode(&self) -> Result<Zeroizing<[u8; 32]>> {
        check_secret(&self.0)
    }

    /// The Z85 public key that belongs to this secret key.
    pub fn public_key(&self) -> Result<String> {
        public_key(&self.0)
    }
}

impl std::ops::Deref for SecretKey {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SecretKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecretKey").field(&redact(&self.0)).finish()
    }
}

impl Zeroize for SecretKey {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// `Zeroizing<String>` wipes the text on drop.
impl ZeroizeOnDrop for SecretKey {}

/// A new CURVE key pair: `(public, secret)`, both Z85 (40 characters). Keep the secret
/// one secret (see [`read_secret_file`]); give the public one to peers.
///
/// ```
/// use emyzelium::{is_valid_key, new_key_pair, public_key};
/// # fn main() -> emyzelium::Result<()> {
/// let (public, secret) = new_key_pair()?;
/// assert_eq!((public.len(), secret.len()), (40, 40));
/// assert!(is_valid_key(&public) && is_valid_key(&secret));
/// assert_eq!(public_key(&secret)?, public);
/// assert!(!is_valid_key("too short"));
/// # Ok(()) }
/// ```
pub fn new_key_pair() -> Result<(String, String)> {
    if !sys::has("curve") {
        return Err(Error::CurveUnavailable);
    }
    sys::curve_keypair().map_err(|e| Error::zmq("zmq_curve_keypair", e))
}

/// The Z85 public key that belongs to a Z85 secret key.
pub fn public_key(secret_key: &str) -> Result<String> {
    check_secret(secret_key)?;
    if !sys::has("curve") {
        return Err(Error::CurveUnavailable);
    }
    sys::curve_public(secret_key).map_err(|e| Error::zmq("zmq_curve_public", e))
}

/// Permission bits that let others than the owner at a file (`mask`: 0o077 for
/// reading or writing, 0o022 for writing), or `None` when they cannot.
#[cfg(unix)]
fn loose_mode(path: &Path, mask: u32) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & mask != 0).then_some(mode)
}

#[cfg(not(unix))]
fn loose_mode(_path: &Path, _mask: u32) -> Option<u32> {
    None
}

fn io_error(path: &Path, line: Option<usize>, msg: String) -> Error {
    Error::Io { path: path.to_path_buf(), line, source: std::io::Error::new(std::io::ErrorKind::InvalidData, msg) }
}

/// Reads public keys, one a line. Surrounding whitespace and blank lines are fine, and
/// so are `#` comments; any other line that is not a key is an error naming its line.
/// A file others may write to draws a warning on stderr: they could add their key.
///
/// ```
/// # fn main() -> emyzelium::Result<()> {
/// let (a, _) = emyzelium::new_key_pair()?;
/// let (b, _) = emyzelium::new_key_pair()?;
/// let path = std::env::temp_dir().join(format!("emz-doc-keys-{}", std::process::id()));
/// std::fs::write(&path, format!("# friends\n{a}\n\n  {b}  \n")).unwrap();
/// assert_eq!(emyzelium::read_keys_file(&path)?, [a, b]);
/// std::fs::write(&path, "# friends\nnot a key\n").unwrap();
/// let err = emyzelium::read_keys_file(&path).unwrap_err();
/// assert!(err.to_string().contains(":2:"), "{err}"); // the bad line's number
/// std::fs::remove_file(&path).unwrap();
/// # Ok(()) }
/// ```
pub fn read_keys_file(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), line: None, source })?;
    if let Some(mode) = loose_mode(path, 0o022) {
        eprintln!(
            "emyzelium: warning: {} is writable by others (mode {mode:03o}): they may add keys; chmod go-w it",
            path.display()
        );
    }
    let mut keys = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Err(reason) = z85_decode(line) {
            return Err(io_error(path, Some(i + 1), format!("not a Z85 public key ({reason})")));
        }
        keys.push(line.to_string());
    }
    Ok(keys)
}

/// Reads a secret key from a file: the key alone, or the `secret: KEY` line that
/// `emz keygen` prints (a `public: KEY` line beside it is skipped). Whitespace, blank
/// lines and `#` comments are fine. A file others may read draws a warning on stderr
/// (`chmod 600` it); the file's text is wiped from memory once read, and errors quote
/// at most a prefix of the key.
pub fn read_secret_file(path: impl AsRef<Path>) -> Result<SecretKey> {
    let path = path.as_ref();
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        line: None,
        source,
    })?);
    if let Some(mode) = loose_mode(path, 0o077) {
        eprintln!(
            "emyzelium: warning: secret key file {} is accessible by others (mode {mode:03o}); chmod 600 it",
            path.display()
        );
    }
    let mut found: Option<(usize, &str)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("public:") {
            continue;
        }
        let key = line.strip_prefix("secret:").map_or(line, str::trim_start);
        if found.is_some() {
            return Err(io_error(path, Some(i + 1), "a secret key file holds one key".into()));
        }
        found = Some((i + 1, key));
    }
    let (line, key) = found.ok_or_else(|| io_error(path, None, "no secret key in the file".into()))?;
    SecretKey::new(key).map_err(|e| match e {
        Error::InvalidKey { key, reason } => {
            io_error(path, Some(line), format!("not a Z85 secret key ({:?}: {reason})", redact(&key)))
        }
        e => e,
    })
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
        assert!(z85_decode(&format!("{}é", "0".repeat(38))).unwrap_err().contains("'é' (byte 39)"));
    }

    #[test]
    fn secret_errors_quote_no_character() {
        let key = format!("{}\"", "Q".repeat(39));
        let Err(Error::InvalidKey { key: shown, reason }) = check_secret(&key) else { panic!("accepted {key}") };
        assert_eq!(reason, "byte 40 is not a Z85 character");
        assert!(shown.len() < 16, "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn loose_modes_are_found() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("emz-loose-mode-{}", std::process::id()));
        std::fs::write(&path, "x").unwrap();
        let set = |m| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
        set(0o600);
        assert_eq!(loose_mode(&path, 0o077), None);
        set(0o640);
        assert_eq!(loose_mode(&path, 0o077), Some(0o640));
        assert_eq!(loose_mode(&path, 0o022), None);
        set(0o664);
        assert_eq!(loose_mode(&path, 0o022), Some(0o664));
        std::fs::remove_file(&path).unwrap();
    }
}
