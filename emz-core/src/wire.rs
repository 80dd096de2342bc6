//! The wire format shared by every emyzelium implementation:
//! `[title bytes + 0x00, t_out as i64 little-endian, part, part, …]`, subscriptions to
//! `title + 0x00` so a title never prefix-matches a longer one.

use crate::error::{Error, Result};
use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, as in `t_out` and `t_in`.
pub fn now_us() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// Titles may be any UTF-8 without NUL (the terminator on the wire).
pub(crate) fn check_title(title: &str) -> Result<()> {
    if title.as_bytes().contains(&0) {
        return Err(Error::InvalidTitle { title: title.to_string() });
    }
    Ok(())
}

/// The first frame of an etale, which is also its subscription prefix.
pub(crate) fn title_frame(title: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(title.len() + 1);
    f.extend_from_slice(title.as_bytes());
    f.push(0);
    f
}

/// Why an incoming message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    NoTerminator,
    NotUtf8,
    NoTimestamp,
    BadTimestamp,
}

/// The title of a received first frame.
pub(crate) fn parse_title(frame: &[u8]) -> std::result::Result<&str, Malformed> {
    match frame.split_last() {
        Some((0, title)) => std::str::from_utf8(title).map_err(|_| Malformed::NotUtf8),
        _ => Err(Malformed::NoTerminator),
    }
}

pub(crate) fn parse_t_out(frame: &[u8]) -> std::result::Result<i64, Malformed> {
    let b: [u8; 8] = frame.try_into().map_err(|_| Malformed::BadTimestamp)?;
    Ok(i64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(title_frame("zone"), b"zone\0");
        assert_eq!(title_frame(""), b"\0");
        assert_eq!(parse_title(b"zone\0"), Ok("zone"));
        assert_eq!(parse_title(b"\0"), Ok(""));
        assert_eq!(parse_title(b"zone"), Err(Malformed::NoTerminator));
        assert_eq!(parse_title(b""), Err(Malformed::NoTerminator));
        assert_eq!(parse_title(b"\xff\0"), Err(Malformed::NotUtf8));
        assert_eq!(parse_t_out(&5i64.to_le_bytes()), Ok(5));
        assert_eq!(parse_t_out(&[1, 2, 3]), Err(Malformed::BadTimestamp));
        assert!(check_title("a\0b").is_err());
        assert!(check_title("").is_ok());
    }
}
