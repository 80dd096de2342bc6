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

/// Longest title, bytes: bounds what a subscription may be, so the publish socket can
/// refuse anything larger before trusting its sender.
pub const MAX_TITLE_LEN: usize = 4096;

/// Titles may be any UTF-8 without NUL (the terminator on the wire), at most
/// [`MAX_TITLE_LEN`] bytes.
pub(crate) fn check_title(title: &str) -> Result<()> {
    if title.len() > MAX_TITLE_LEN || title.as_bytes().contains(&0) {
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

/// Whether `topic` is what an emyzelium subscriber subscribes to: a title (UTF-8, no
/// NUL, at most [`MAX_TITLE_LEN`] bytes) and its NUL terminator.
pub(crate) fn is_title_frame(topic: &[u8]) -> bool {
    match topic.split_last() {
        Some((0, title)) => title.len() <= MAX_TITLE_LEN && !title.contains(&0) && std::str::from_utf8(title).is_ok(),
        _ => false,
    }
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
        assert!(check_title(&"x".repeat(MAX_TITLE_LEN)).is_ok());
        assert!(check_title(&"x".repeat(MAX_TITLE_LEN + 1)).is_err());
        assert!(is_title_frame(b"zone\0") && is_title_frame(b"\0"));
        assert!(!is_title_frame(b"") && !is_title_frame(b"zone") && !is_title_frame(b"a\0b\0"));
        assert!(!is_title_frame(b"\xff\0"));
        assert!(!is_title_frame(&title_frame(&"x".repeat(MAX_TITLE_LEN + 1))));
    }
}
