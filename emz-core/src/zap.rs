//! The ZAP verdict (RFC 27) as a pure function of the request's frames and the access
//! rule, so that it can be tested and fuzzed without sockets; the efunguz answers every
//! ZAP request with it.

use crate::keys::z85_encode;

/// The answer to one ZAP request: status code, status text and user id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapVerdict {
    /// ZAP status code: "200" allowed, "400" refused, "500" malformed.
    pub status: &'static str,
    /// ZAP status text.
    pub text: &'static str,
    /// The client's Z85 public key when allowed, empty otherwise.
    pub user_id: String,
}

impl ZapVerdict {
    fn refuse(status: &'static str, text: &'static str) -> Self {
        ZapVerdict { status, text, user_id: String::new() }
    }
}

/// Frames: version, request id, domain, address, routing id, mechanism, credentials…
/// Only CURVE in the emyzelium domain, only keys `admits` (given the client's Z85 key)
/// lets in.
pub fn zap_verdict<F: AsRef<[u8]>>(frames: &[F], admits: impl Fn(&str) -> bool) -> ZapVerdict {
    let frame = |i: usize| frames.get(i).map(AsRef::as_ref);
    if frames.len() < 6 || frame(0) != Some(b"1.0".as_slice()) {
        return ZapVerdict::refuse("500", "Malformed ZAP request");
    }
    if frame(2) != Some(crate::ZAP_DOMAIN.as_bytes()) || frame(5) != Some(b"CURVE".as_slice()) {
        return ZapVerdict::refuse("400", "Unknown domain or mechanism");
    }
    let Some(key) = frame(6).and_then(|k| <[u8; 32]>::try_from(k).ok()) else {
        return ZapVerdict::refuse("400", "No CURVE key");
    };
    let key = z85_encode(&key);
    if admits(&key) {
        ZapVerdict { status: "200", text: "OK", user_id: key }
    } else {
        ZapVerdict::refuse("400", "Not in whitelist")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(mechanism: &[u8], key: &[u8]) -> Vec<Vec<u8>> {
        [b"1.0".as_slice(), b"7", b"emyz", b"127.0.0.1", b"", mechanism, key].iter().map(|f| f.to_vec()).collect()
    }

    #[test]
    fn verdicts() {
        let key = [7u8; 32];
        let z = z85_encode(&key);
        let none = |_: &str| true;
        let only = |k: &str| k == z;
        let other = |_: &str| false;
        assert_eq!(zap_verdict(&request(b"CURVE", &key), none).user_id, z);
        assert_eq!(zap_verdict(&request(b"CURVE", &key), only).status, "200");
        assert_eq!(zap_verdict(&request(b"CURVE", &key), other).text, "Not in whitelist");
        assert_eq!(zap_verdict(&request(b"PLAIN", &key), none).status, "400");
        assert_eq!(zap_verdict(&request(b"CURVE", &key[..31]), none).text, "No CURVE key");
        assert_eq!(zap_verdict(&request(b"CURVE", &key)[..5], none).status, "500");
        let mut wrong_version = request(b"CURVE", &key);
        wrong_version[0] = b"2.0".to_vec();
        assert_eq!(zap_verdict(&wrong_version, none).status, "500");
        assert_eq!(zap_verdict::<&[u8]>(&[], none).status, "500");
    }
}
