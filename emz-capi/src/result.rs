//! `emz_result_t`, the code every fallible function returns, and its mapping from the
//! core's `ErrorKind`.

use emyzelium::ErrorKind;
use emz_result_t::*;
use std::ffi::{c_char, c_int};

/// Result of every fallible function. `EMZ_OK` is 0; codes from 1 up to 98 are
/// one-to-one with the Rust core's `ErrorKind` (new kinds take the next numbers), and a
/// kind newer than the header you compiled against comes as `EMZ_ERR_OTHER` (99); 100
/// and up belong to the C boundary. Turn a code into text
/// with `emz_result_str`, and get the detailed message of the last failure with
/// `emz_efunguz_last_error` (per handle) or `emz_last_error` (per thread).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum emz_result_t {
    /// Success.
    EMZ_OK = 0,
    /// A CURVE key that is not 40 characters of Z85 encoding 32 bytes (also: longer
    /// than 40 characters or not NUL-terminated within 41 bytes, or not UTF-8).
    EMZ_ERR_INVALID_KEY = 1,
    /// An onion that is not a valid v3 address (checksum verified), or a bad host.
    EMZ_ERR_INVALID_ADDRESS = 2,
    /// Port 0 where a real port is needed.
    EMZ_ERR_INVALID_PORT = 3,
    /// A title that cannot be sent (contains a NUL byte: impossible from C strings).
    EMZ_ERR_INVALID_TITLE = 4,
    /// An argument out of its domain (an option's value, say).
    EMZ_ERR_INVALID_ARGUMENT = 5,
    /// Adding what is already there: an ehypha's key, an etale's title, a whitelist key.
    EMZ_ERR_ALREADY_PRESENT = 6,
    /// Looking up what is not there.
    EMZ_ERR_ABSENT = 7,
    /// Deleting what is not there.
    EMZ_ERR_ALREADY_ABSENT = 8,
    /// Pausing an etale that is paused.
    EMZ_ERR_ALREADY_PAUSED = 9,
    /// Resuming an etale that is not paused.
    EMZ_ERR_ALREADY_RESUMED = 10,
    /// The publish endpoint is taken by another socket.
    EMZ_ERR_ADDRESS_IN_USE = 11,
    /// Out of sockets or file descriptors.
    EMZ_ERR_LIMIT = 12,
    /// Reading a whitelist file failed, or a line of it is not a key.
    EMZ_ERR_IO = 13,
    /// The linked libzmq has no CURVE (never with the bundled libzmq).
    EMZ_ERR_CURVE_UNAVAILABLE = 14,
    /// libzmq refused an operation.
    EMZ_ERR_ZMQ = 15,
    /// Tor's control port is missing, refused us, or refused a command.
    EMZ_ERR_TOR = 16,
    /// A kind of failure this header predates (the core added it later): see the
    /// message from `emz_last_error`.
    EMZ_ERR_OTHER = 99,
    /// A required pointer argument was NULL.
    EMZ_ERR_NULL_ARGUMENT = 100,
    /// A string argument is not valid UTF-8.
    EMZ_ERR_INVALID_UTF8 = 101,
    /// A bug: the library panicked. The handle is still safe to free.
    EMZ_ERR_PANIC = 102,
}

/// The code of each core error kind, in the order of their numbers (`ErrorKind::ALL`).
const KIND_CODES: [emz_result_t; 16] = [
    EMZ_ERR_INVALID_KEY,
    EMZ_ERR_INVALID_ADDRESS,
    EMZ_ERR_INVALID_PORT,
    EMZ_ERR_INVALID_TITLE,
    EMZ_ERR_INVALID_ARGUMENT,
    EMZ_ERR_ALREADY_PRESENT,
    EMZ_ERR_ABSENT,
    EMZ_ERR_ALREADY_ABSENT,
    EMZ_ERR_ALREADY_PAUSED,
    EMZ_ERR_ALREADY_RESUMED,
    EMZ_ERR_ADDRESS_IN_USE,
    EMZ_ERR_LIMIT,
    EMZ_ERR_IO,
    EMZ_ERR_CURVE_UNAVAILABLE,
    EMZ_ERR_ZMQ,
    EMZ_ERR_TOR,
];

// The build fails when the core's kinds and the C codes drift apart: same count, and each
// code is the core's number of its kind. The names are compared by the tests below.
const _: () = {
    assert!(ErrorKind::ALL.len() == KIND_CODES.len(), "the core's ErrorKind and emz_result_t differ in length");
    let mut i = 0;
    while i < KIND_CODES.len() {
        assert!(ErrorKind::ALL[i].code() == KIND_CODES[i] as u32, "emz_result_t differs from ErrorKind::code()");
        i += 1;
    }
};

/// The code of a core error kind: its stable number.
pub(crate) fn code_of(kind: ErrorKind) -> emz_result_t {
    // Every kind has its code (checked above at build time); OTHER is the answer the
    // header promises for a kind it predates.
    KIND_CODES.into_iter().find(|c| *c as u32 == kind.code()).unwrap_or(EMZ_ERR_OTHER)
}

/// Static text describing `code` (any value; unknown codes get "unknown result code").
#[no_mangle]
pub extern "C" fn emz_result_str(code: c_int) -> *const c_char {
    let s: &'static str = match code {
        0 => "ok\0",
        1 => "invalid key\0",
        2 => "invalid address\0",
        3 => "invalid port\0",
        4 => "invalid title\0",
        5 => "invalid argument\0",
        6 => "already present\0",
        7 => "absent\0",
        8 => "already absent\0",
        9 => "already paused\0",
        10 => "already resumed\0",
        11 => "address in use\0",
        12 => "limit reached\0",
        13 => "I/O error\0",
        14 => "CURVE unavailable\0",
        15 => "libzmq error\0",
        16 => "Tor error\0",
        99 => "other error\0",
        100 => "NULL argument\0",
        101 => "invalid UTF-8\0",
        102 => "internal error (panic)\0",
        _ => "unknown result code\0",
    };
    s.as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "InvalidKey" -> "INVALID_KEY".
    fn screaming(name: &str) -> String {
        let mut out = String::new();
        for (i, ch) in name.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn every_error_kind_has_the_c_code_of_its_number_and_name() {
        assert_eq!(ErrorKind::ALL.len(), KIND_CODES.len());
        for &kind in ErrorKind::ALL {
            let code = code_of(kind);
            assert_eq!(code as u32, kind.code(), "{kind:?}");
            assert_eq!(format!("{code:?}"), format!("EMZ_ERR_{}", screaming(kind.name())), "{kind:?}");
            assert_eq!(ErrorKind::from_code(code as u32), Some(kind));
        }
    }

    #[test]
    fn every_kind_code_has_its_own_text() {
        let unknown = unsafe { std::ffi::CStr::from_ptr(emz_result_str(-1)) };
        for code in KIND_CODES {
            let text = unsafe { std::ffi::CStr::from_ptr(emz_result_str(code as c_int)) };
            assert_ne!(text, unknown, "{code:?}");
        }
    }
}
