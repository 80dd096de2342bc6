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

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn the_checked_in_header_has_the_version_of_this_library() {
        // A version bump without `make -C emz-capi header` fails here as well as in
        // header-check (which needs cbindgen).
        let header = include_str!("../../include/emyzelium.h");
        for (name, value) in [
            ("EMZ_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR").to_string()),
            ("EMZ_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR").to_string()),
            ("EMZ_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH").to_string()),
            ("EMZ_VERSION", format!("\"{}\"", env!("CARGO_PKG_VERSION"))),
        ] {
            let line = format!("#define {name} {value}\n");
            assert!(header.contains(&line), "include/emyzelium.h lacks `{}`: run make -C emz-capi header", line.trim());
        }
        let runtime = unsafe { CStr::from_ptr(emz_version()) };
        assert_eq!(runtime.to_str(), Ok(env!("CARGO_PKG_VERSION")));
    }
}
