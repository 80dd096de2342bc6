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

/// Longest title, in bytes. libzmq keeps subscriptions in a trie with one level per
/// byte and frees it recursively, about 48 bytes of stack a level: with libzmq 4.3.5 a
/// subscription of 180 KB crashes the process when its socket closes under an 8 MiB
/// stack, one of 50 KB under a 2 MiB stack (measured, release build). 4096 bytes take
/// about 200 KB of stack, and still leave room for long, structured titles.
pub const MAX_TITLE_LEN: usize = 4096;

/// Titles may be any UTF-8 without NUL (the terminator on the wire), up to
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
pub enum Malformed {
    /// The title frame does not end with NUL.
    NoTerminator,
    /// The title is not UTF-8.
    NotUtf8,
    /// No `t_out` frame.
    NoTimestamp,
    /// The `t_out` frame is not 8 bytes.
    BadTimestamp,
}

/// The title of a received first frame.
pub fn parse_title(frame: &[u8]) -> std::result::Result<&str, Malformed> {
    match frame.split_last() {
        Some((0, title)) => std::str::from_utf8(title).map_err(|_| Malformed::NotUtf8),
        _ => Err(Malformed::NoTerminator),
    }
}

/// The `t_out` of a received second frame (8 bytes, little-endian).
pub fn parse_t_out(frame: &[u8]) -> std::result::Result<i64, Malformed> {
    let b: [u8; 8] = frame.try_into().map_err(|_| Malformed::BadTimestamp)?;
    Ok(i64::from_le_bytes(b))
}

/// The title and `t_out` of a received etale's frames (the parts follow them), as an
/// ehypha reads them.
pub fn parse_etale<'a>(frames: &[&'a [u8]]) -> std::result::Result<(&'a str, i64), Malformed> {
    let (first, rest) = frames.split_first().ok_or(Malformed::NoTerminator)?;
    let title = parse_title(first)?;
    let t_out = rest.first().ok_or(Malformed::NoTimestamp).and_then(|f| parse_t_out(f))?;
    Ok((title, t_out))
}

/// A subscriber's message to a publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription<'a> {
    /// Subscribe to this topic (title + NUL).
    Subscribe(&'a [u8]),
    /// Unsubscribe from this topic.
    Unsubscribe(&'a [u8]),
}

/// What a message arriving at the publish socket asks, or `None` for anything that is
/// not a subscription an emyzelium peer could send: no operation byte, an unknown one,
/// or a prefix longer than the longest title frame (libzmq's subscription trie must not
/// grow as deep as a peer likes, see [`MAX_TITLE_LEN`]).
pub fn parse_subscription(msg: &[u8]) -> Option<Subscription<'_>> {
    let (&op, topic) = msg.split_first()?;
    if topic.len() > MAX_TITLE_LEN + 1 {
        return None;
    }
    match op {
        1 => Some(Subscription::Subscribe(topic)),
        0 => Some(Subscription::Unsubscribe(topic)),
        _ => None,
    }
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

    #[test]
    fn etales_and_subscriptions() {
        let t = 7i64.to_le_bytes();
        assert_eq!(parse_etale(&[b"a\0", &t, b"part"]), Ok(("a", 7)));
        assert_eq!(parse_etale(&[b"a\0"]), Err(Malformed::NoTimestamp));
        assert_eq!(parse_etale(&[]), Err(Malformed::NoTerminator));
        assert_eq!(parse_etale(&[b"a\0", b"short"]), Err(Malformed::BadTimestamp));
        assert_eq!(parse_subscription(b"\x01a\0"), Some(Subscription::Subscribe(b"a\0")));
        assert_eq!(parse_subscription(b"\x00a\0"), Some(Subscription::Unsubscribe(b"a\0")));
        assert_eq!(parse_subscription(b"\x01"), Some(Subscription::Subscribe(b"")));
        assert_eq!(parse_subscription(b""), None);
        assert_eq!(parse_subscription(b"\x02a"), None);
        let mut longest = vec![1u8];
        longest.extend(title_frame(&"x".repeat(MAX_TITLE_LEN)));
        assert!(parse_subscription(&longest).is_some());
        longest.insert(1, b'x');
        assert_eq!(parse_subscription(&longest), None);
    }
}
