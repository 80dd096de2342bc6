//! The whitelist of keys allowed to subscribe to an efunguz.

use crate::efunguz::{emz_efunguz_t, with_ef, with_ef_ref};
use crate::error::{null, Fail};
use crate::ffi::{key_arg, keys_arg, out_arg, str_arg, write_key};
use crate::panic::quiet;
use crate::result::emz_result_t::{self, *};
use std::ffi::c_char;
use std::path::Path;

/// Lets everyone subscribe (open mode) and forgets the whitelist. Widens access: no
/// live session is cut.
#[no_mangle]
pub unsafe extern "C" fn emz_allow_everyone(ef: *mut emz_efunguz_t) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        h.ef.allow_everyone();
        Ok(())
    })
}

/// Whether everyone may subscribe (open mode), into `*open_out`.
#[no_mangle]
pub unsafe extern "C" fn emz_is_open(ef: *const emz_efunguz_t, open_out: *mut bool) -> emz_result_t {
    with_ef_ref(ef, |h| {
        *out_arg(open_out, "open_out")? = h.ef.is_open();
        Ok(())
    })
}

/// Allows `key` to subscribe (from its next handshake on). On an open efunguz this
/// switches to whitelist mode with `key` alone: every other subscriber's live session
/// is cut by the next `emz_update` / `emz_wait` (listed subscribers reconnect by
/// themselves).
#[no_mangle]
pub unsafe extern "C" fn emz_add_whitelist_key(ef: *mut emz_efunguz_t, key: *const c_char) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        Ok(h.ef.add_whitelist_key(key_arg(key, "key")?)?)
    })
}

/// Allows `n` keys at once; nothing is added when any is invalid. Keys already present
/// are fine. On an open efunguz this narrows access as `emz_add_whitelist_key` does.
#[no_mangle]
pub unsafe extern "C" fn emz_add_whitelist_keys(
    ef: *mut emz_efunguz_t,
    keys: *const *const c_char,
    n: usize,
) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        Ok(h.ef.add_whitelist_keys(keys_arg(keys, n, "keys")?)?)
    })
}

/// Removes `key` from the whitelist; its live sessions are cut by the next `emz_update`
/// / `emz_wait`. Removing the last key leaves NOBODY allowed (never everyone).
#[no_mangle]
pub unsafe extern "C" fn emz_del_whitelist_key(ef: *mut emz_efunguz_t, key: *const c_char) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        Ok(h.ef.del_whitelist_key(key_arg(key, "key")?)?)
    })
}

/// Empties the whitelist and leaves open mode: NOBODY may subscribe, and every live
/// session is cut by the next `emz_update` / `emz_wait`. `emz_allow_everyone` opens.
#[no_mangle]
pub unsafe extern "C" fn emz_clear_whitelist(ef: *mut emz_efunguz_t) -> emz_result_t {
    with_ef(ef, |h| {
        h.whitelist_sorted = None;
        h.ef.clear_whitelist();
        Ok(())
    })
}

/// Adds the keys of a file, one a line (whitespace, blank lines and `#` comments are
/// fine); nothing is added when any line is bad (EMZ_ERR_IO naming the line). The
/// number of keys read goes to `*count_out` (NULL: not wanted). On an open efunguz this
/// narrows access to the file's keys (as `emz_add_whitelist_keys`).
#[no_mangle]
pub unsafe extern "C" fn emz_read_whitelist_file(
    ef: *mut emz_efunguz_t,
    path: *const c_char,
    count_out: *mut usize,
) -> emz_result_t {
    with_ef(ef, |h| {
        let path = str_arg(path, "path")?;
        h.whitelist_sorted = None;
        let n = h.ef.read_whitelist_file(Path::new(path))?;
        if let Some(c) = count_out.as_mut() {
            *c = n;
        }
        Ok(())
    })
}

/// Number of keys in the whitelist (0 for NULL). 0 means everyone in open mode and
/// nobody otherwise: `emz_is_open` tells which.
#[no_mangle]
pub unsafe extern "C" fn emz_whitelist_count(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| quiet(0, || h.ef.whitelist().count()))
}

/// Whether `key` is in the whitelist (false for NULL arguments).
#[no_mangle]
pub unsafe extern "C" fn emz_whitelist_contains(ef: *const emz_efunguz_t, key: *const c_char) -> bool {
    let Some(h) = ef.as_ref() else { return false };
    quiet(false, || key_arg(key, "key").is_ok_and(|k| h.ef.whitelist().any(|w| w == k)))
}

/// The `index`-th key of the whitelist in sorted order (0 up to `emz_whitelist_count`
/// − 1), into `key_out` (room for `EMZ_KEY_BUF_LEN` bytes); EMZ_ERR_INVALID_ARGUMENT past
/// the end. Indices hold until the whitelist changes.
#[no_mangle]
pub unsafe extern "C" fn emz_whitelist_key_at(
    ef: *mut emz_efunguz_t,
    index: usize,
    key_out: *mut c_char,
) -> emz_result_t {
    with_ef(ef, |h| {
        if key_out.is_null() {
            return Err(null("key_out"));
        }
        let ef = &h.ef;
        let keys = h.whitelist_sorted.get_or_insert_with(|| {
            let mut v: Vec<String> = ef.whitelist().map(str::to_string).collect();
            v.sort();
            v
        });
        let key = keys.get(index).ok_or_else(|| {
            Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("whitelist index {index} is past its {} keys", keys.len()))
        })?;
        write_key(key_out, key);
        Ok(())
    })
}
