//! Arguments across the boundary: NULL checks, UTF-8 strings, keys read for at most
//! 41 bytes, out-pointers, arrays.

use crate::error::{null, Fail, Res};
use crate::result::emz_result_t::*;
use crate::types::{emz_part_t, EMZ_KEY_Z85_LEN};
use std::ffi::{c_char, CStr, CString};
use std::ptr;

pub(crate) fn to_cstring(s: String) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// A NUL-terminated UTF-8 string argument.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(null(what));
    }
    CStr::from_ptr(p).to_str().map_err(|_| Fail::Code(EMZ_ERR_INVALID_UTF8, format!("{what} is not valid UTF-8")))
}

/// A key argument: read at most 41 bytes, so that a key buffer without its NUL is
/// reported instead of read beyond.
pub(crate) unsafe fn key_arg<'a>(p: *const c_char, what: &str) -> Res<&'a str> {
    if p.is_null() {
        return Err(null(what));
    }
    let bytes = p as *const u8;
    let mut len = 0;
    while len <= EMZ_KEY_Z85_LEN && *bytes.add(len) != 0 {
        len += 1;
    }
    let bad = |reason: &str| Fail::Code(EMZ_ERR_INVALID_KEY, format!("invalid key ({what}): {reason}"));
    if len > EMZ_KEY_Z85_LEN {
        return Err(bad("longer than 40 characters or not NUL-terminated"));
    }
    std::str::from_utf8(std::slice::from_raw_parts(bytes, len)).map_err(|_| bad("not UTF-8, so not Z85"))
}

/// An optional string: NULL gives `default`.
pub(crate) unsafe fn opt_str_arg<'a>(p: *const c_char, what: &str, default: &'a str) -> Res<&'a str> {
    if p.is_null() {
        Ok(default)
    } else {
        str_arg(p, what)
    }
}

pub(crate) unsafe fn out_arg<'a, T>(p: *mut T, what: &str) -> Res<&'a mut T> {
    p.as_mut().ok_or_else(|| null(what))
}

/// An array of `n` key strings (NULL allowed when `n` is 0).
pub(crate) unsafe fn keys_arg(keys: *const *const c_char, n: usize, what: &str) -> Res<Vec<String>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if keys.is_null() {
        return Err(null(what));
    }
    (0..n).map(|i| key_arg(*keys.add(i), what).map(str::to_string)).collect()
}

pub(crate) fn write_key(out: *mut c_char, key: &str) {
    debug_assert_eq!(key.len(), EMZ_KEY_Z85_LEN);
    // SAFETY: the caller provides EMZ_KEY_BUF_LEN bytes (documented).
    unsafe {
        ptr::copy_nonoverlapping(key.as_ptr(), out as *mut u8, key.len());
        *out.add(key.len()) = 0;
    }
}

pub(crate) unsafe fn parts_arg<'a>(parts: *const emz_part_t, n: usize) -> Res<Vec<&'a [u8]>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    if parts.is_null() {
        return Err(null("parts"));
    }
    (0..n)
        .map(|i| {
            let p = *parts.add(i);
            match (p.ptr.is_null(), p.len) {
                (_, 0) => Ok(&[][..]),
                (true, _) => {
                    Err(Fail::Code(EMZ_ERR_NULL_ARGUMENT, format!("parts[{i}].ptr is NULL with len {}", p.len)))
                }
                (false, len) => Ok(std::slice::from_raw_parts(p.ptr, len)),
            }
        })
        .collect()
}
