//! Structs that grow: `emz_options_t` and `emz_config_t` start with `size`, the caller's
//! `sizeof`, written by their initialiser macros (`emz_options_default`,
//! `emz_config_init`); so do `emz_counters_t` and `emz_stats_t`, whose filling calls are
//! macros passing it (`emz_counters`, `emz_efunguz_stats`, `emz_ehypha_stats`). The library reads and writes only the whole fields within `size`
//! bytes, so a program built against an older, smaller struct keeps working with a newer
//! library: the fields it does not know keep their defaults.
//!
//! This holds because fields are only ever appended and no layout has trailing padding
//! (checked by the tests below): every released struct then ends exactly where one of
//! today's fields ends, and a new field never lies inside an older struct's padding. So a
//! `size` must be one of those field ends; anything else (0, an uninitialised struct, a
//! struct from a newer header than the library) is refused with `EMZ_ERR_INVALID_ARGUMENT`.

use crate::error::{null, Fail, Res};
use crate::result::emz_result_t::*;
use std::mem::size_of;
use std::ptr;

/// A `#[repr(C)]` struct whose first field is `size: usize`.
pub(crate) trait Grows: Copy {
    /// Its C name, for messages.
    const NAME: &'static str;
    /// How a caller gets `size` right, for the message when it is wrong.
    const HOW: &'static str;
    /// The offset just past each field, in declaration order (`size` first).
    fn field_ends() -> Vec<usize>;
}

/// Size of what a raw pointer points at, without reading it.
pub(crate) fn pointee_size<T>(_: *const T) -> usize {
    size_of::<T>()
}

/// The offset just past each named field of `$t`, computed without a value of `$t`.
macro_rules! field_ends {
    ($t:ty; $($f:ident),* $(,)?) => {{
        let base = std::mem::MaybeUninit::<$t>::uninit();
        let p = base.as_ptr();
        // SAFETY: addr_of! takes field addresses without reading or referencing them.
        vec![$(unsafe {
            std::ptr::addr_of!((*p).$f) as usize - p as usize
                + crate::sized::pointee_size(std::ptr::addr_of!((*p).$f))
        }),*]
    }};
}
pub(crate) use field_ends;

/// `p` itself when it is not NULL. No reference is made: the struct behind it may be
/// smaller than `T`.
pub(crate) fn non_null<T>(p: *const T, what: &str) -> Res<*const T> {
    if p.is_null() {
        Err(null(what))
    } else {
        Ok(p)
    }
}

/// `size` if it is a size some version of `T` had (the end of one of its fields).
pub(crate) fn checked_size<T: Grows>(size: usize) -> Res<usize> {
    let full = size_of::<T>();
    let name = T::NAME;
    let msg = if size > full {
        format!(
            "{name}.size is {size}, larger than this library's {name} ({full} bytes): the program was built \
             against a newer emyzelium.h than the library it runs with"
        )
    } else if size < size_of::<usize>() || !T::field_ends().contains(&size) {
        format!("{name}.size is {size}, not the size of any {name}: {}", T::HOW)
    } else {
        return Ok(size);
    };
    Err(Fail::Code(EMZ_ERR_INVALID_ARGUMENT, msg))
}

/// Reads the caller's `*p`: the fields within its `size`, and `defaults` for the rest.
///
/// # Safety
/// `p` is non-NULL and points at a struct of at least its own `size` bytes.
pub(crate) unsafe fn read_sized<T: Grows>(p: *const T, defaults: T) -> Res<T> {
    let n = checked_size::<T>(ptr::read(p as *const usize))?;
    let mut value = defaults;
    // Bytes, not a `&T`: the caller's struct may be smaller than `T`.
    ptr::copy_nonoverlapping(p as *const u8, ptr::addr_of_mut!(value) as *mut u8, n);
    *(ptr::addr_of_mut!(value) as *mut usize) = size_of::<T>();
    Ok(value)
}

/// Writes the fields of `value` that fit in `size` bytes to `*p`, and `size` itself.
///
/// # Safety
/// `p` is non-NULL and points at `size` writable bytes.
pub(crate) unsafe fn write_sized<T: Grows>(p: *mut T, size: usize, value: &T) -> Res {
    let n = checked_size::<T>(size)?;
    ptr::copy_nonoverlapping(value as *const T as *const u8, p as *mut u8, n);
    ptr::write(p as *mut usize, size);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{emz_config_t, emz_counters_t, emz_options_t, emz_stats_t};

    fn no_trailing_padding<T: Grows>() {
        let ends = T::field_ends();
        assert_eq!(ends.first(), Some(&size_of::<usize>()), "{}: size comes first", T::NAME);
        assert_eq!(
            ends.iter().max(),
            Some(&size_of::<T>()),
            "{}: the last field must end the struct (add an explicit reserved field), so that a field \
             appended later never lies in an older struct's padding",
            T::NAME
        );
        assert!(ends.windows(2).all(|w| w[0] < w[1]), "{}: fields listed in declaration order", T::NAME);
    }

    #[test]
    fn the_growing_structs_have_no_trailing_padding() {
        no_trailing_padding::<emz_options_t>();
        no_trailing_padding::<emz_config_t>();
        no_trailing_padding::<emz_counters_t>();
        no_trailing_padding::<emz_stats_t>();
    }

    #[test]
    fn only_sizes_of_some_version_pass() {
        let full = size_of::<emz_options_t>();
        assert_eq!(checked_size::<emz_options_t>(full).ok(), Some(full));
        assert_eq!(checked_size::<emz_options_t>(size_of::<usize>()).ok(), Some(size_of::<usize>()));
        for bad in [0, 1, full - 1, full + 8, usize::MAX] {
            assert!(checked_size::<emz_options_t>(bad).is_err(), "{bad}");
        }
    }
}
