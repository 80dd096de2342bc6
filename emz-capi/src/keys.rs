//! CURVE keys: new pairs, public from secret, validation, key files.

use crate::error::null;
use crate::ffi::{key_arg, out_arg, str_arg, write_key};
use crate::panic::{quiet, run};
use crate::result::emz_result_t;
use crate::types::EMZ_KEY_BUF_LEN;
use std::ffi::c_char;
use std::path::Path;
use std::ptr;

/// A new CURVE key pair, Z85. `public_key_out` and `secret_key_out` must each have room
/// for `EMZ_KEY_BUF_LEN` (41) bytes; they are written (NUL-terminated) only on success.
#[no_mangle]
pub unsafe extern "C" fn emz_new_key_pair(public_key_out: *mut c_char, secret_key_out: *mut c_char) -> emz_result_t {
    run(ptr::null(), || {
        if public_key_out.is_null() {
            return Err(null("public_key_out"));
        }
        if secret_key_out.is_null() {
            return Err(null("secret_key_out"));
        }
        let (public, secret) = emyzelium::new_key_pair()?;
        write_key(public_key_out, &public);
        write_key(secret_key_out, &secret);
        Ok(())
    })
}

/// The public key that belongs to `secret_key`, into `public_key_out` (room for
/// `EMZ_KEY_BUF_LEN` bytes; written only on success).
#[no_mangle]
pub unsafe extern "C" fn emz_public_key(secret_key: *const c_char, public_key_out: *mut c_char) -> emz_result_t {
    run(ptr::null(), || {
        let secret = key_arg(secret_key, "secret_key")?;
        if public_key_out.is_null() {
            return Err(null("public_key_out"));
        }
        let public = emyzelium::public_key(secret)?;
        write_key(public_key_out, &public);
        Ok(())
    })
}

/// Whether `key` is a valid Z85 CURVE key (false for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_is_valid_key(key: *const c_char) -> bool {
    quiet(false, || key_arg(key, "key").is_ok_and(emyzelium::is_valid_key))
}

/// Reads the keys of a file, one a line (whitespace, blank lines and `#` comments are
/// fine; a bad line gives EMZ_ERR_IO naming it). `*count_out` gets how many keys the file
/// holds; the first min(count, `capacity`) are written to `keys_out`, an array of
/// `capacity` buffers of `EMZ_KEY_BUF_LEN` bytes (NULL when `capacity` is 0). Call it with
/// 0 to learn the count, then with room for them all.
#[no_mangle]
pub unsafe extern "C" fn emz_read_keys_file(
    path: *const c_char,
    keys_out: *mut [c_char; EMZ_KEY_BUF_LEN],
    capacity: usize,
    count_out: *mut usize,
) -> emz_result_t {
    run(ptr::null(), || {
        let path = str_arg(path, "path")?;
        let count_out = out_arg(count_out, "count_out")?;
        if capacity > 0 && keys_out.is_null() {
            return Err(null("keys_out"));
        }
        let keys = emyzelium::read_keys_file(Path::new(path))?;
        for (i, k) in keys.iter().take(capacity).enumerate() {
            write_key((*keys_out.add(i)).as_mut_ptr(), k);
        }
        *count_out = keys.len();
        Ok(())
    })
}
