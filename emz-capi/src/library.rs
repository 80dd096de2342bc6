//! Library-wide functions without a handle: versions, CURVE support, the clock.

use crate::panic::quiet;
use std::ffi::{c_char, c_int};

/// This library's version, e.g. "0.10.0" (static string).
#[no_mangle]
pub extern "C" fn emz_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Version of the linked libzmq; NULL outputs are skipped.
#[no_mangle]
pub unsafe extern "C" fn emz_libzmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
    let (a, b, c) = quiet((0, 0, 0), emyzelium::libzmq_version);
    for (p, v) in [(major, a), (minor, b), (patch, c)] {
        if let Some(p) = p.as_mut() {
            *p = v;
        }
    }
}

/// Whether the linked libzmq supports CURVE (always true with the bundled libzmq).
#[no_mangle]
pub extern "C" fn emz_has_curve() -> bool {
    quiet(false, emyzelium::has_curve)
}

/// Microseconds since the Unix epoch, the clock of `t_out` and `t_in`.
#[no_mangle]
pub extern "C" fn emz_now_us() -> i64 {
    quiet(0, emyzelium::now_us)
}
