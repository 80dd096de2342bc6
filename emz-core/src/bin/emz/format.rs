//! How parts are read from arguments and written in `etale` lines: hex, or escaped text.

use crate::{usage_err, Res};

/// Decodes a hex part; `-` and the empty string are the empty part.
pub fn hex_decode(s: &str) -> Res<Vec<u8>> {
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

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lowercase hex; the empty part is `-`.
pub fn hex_encode(data: &[u8], out: &mut Vec<u8>) {
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

fn escape_byte(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[b'\\', b'x', DIGITS[(b >> 4) as usize], DIGITS[(b & 15) as usize]]);
}

/// Unicode's White_Space characters, written out so that both command-line tools escape
/// exactly the same ones (Python's `isspace` is a slightly different set).
const WHITE_SPACE: &[char] = &[
    '\u{9}', '\u{a}', '\u{b}', '\u{c}', '\u{d}', ' ', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}',
    '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}',
    '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}',
];

/// Text form of a part or title: UTF-8 as it is, except that a backslash is `\\`, and
/// control characters, white space and bytes that are not UTF-8 are `\xHH` per byte. A
/// line then splits on spaces into its fields, and every byte can be recovered. The empty
/// part is `-` (and a part that is `-` is `\x2d`); `empty` is what the empty string gives.
pub fn text_encode(data: &[u8], empty: &str, out: &mut Vec<u8>) {
    if data.is_empty() {
        out.extend_from_slice(empty.as_bytes());
        return;
    }
    if data == b"-" {
        escape_byte(b'-', out);
        return;
    }
    // Valid stretches as characters, each invalid sequence byte by byte (from_utf8's
    // error positions: the MSRV predates utf8_chunks).
    let mut rest = data;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let valid = std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default();
                (valid, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for c in valid.chars() {
            let mut buf = [0; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            if c == '\\' {
                out.extend_from_slice(b"\\\\");
            } else if c.is_control() || WHITE_SPACE.contains(&c) {
                bytes.iter().for_each(|&b| escape_byte(b, out));
            } else {
                out.extend_from_slice(bytes);
            }
        }
        rest = &rest[valid.len()..];
        rest[..bad].iter().for_each(|&b| escape_byte(b, out));
        rest = &rest[bad..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(data: &[u8]) -> String {
        let mut out = Vec::new();
        text_encode(data, "-", &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_escapes_what_would_break_a_line() {
        assert_eq!(text(b""), "-");
        assert_eq!(text(b"-"), "\\x2d");
        assert_eq!(text(b"--"), "--");
        assert_eq!(text("wörld a\\b".as_bytes()), "wörld\\x20a\\\\b");
        assert_eq!(text(b"\x00\n\x7f\xff\xc3"), "\\x00\\x0a\\x7f\\xff\\xc3");
        assert_eq!(text("\u{85}\u{a0}\u{3000}é".as_bytes()), "\\xc2\\x85\\xc2\\xa0\\xe3\\x80\\x80é");
    }

    #[test]
    fn hex_both_ways() {
        let mut out = Vec::new();
        hex_encode(&[0, 0xab, 0xff], &mut out);
        assert_eq!(out, b"00abff");
        assert_eq!(hex_decode("00ABff").ok(), Some(vec![0, 0xab, 0xff]));
        assert_eq!(hex_decode("-").ok(), Some(vec![]));
        assert!(hex_decode("abc").is_err() && hex_decode("zz").is_err());
    }
}
