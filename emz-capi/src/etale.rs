//! `emz_etale_t`, the borrowed view of the latest data of one title from one ehypha.

use crate::efunguz::emz_efunguz_t;
use crate::ehypha::{ehypha_parts, emz_ehypha_t, owner_of_ehypha};
use crate::error::{null, Res};
use crate::ffi::out_arg;
use crate::panic::run;
use crate::result::emz_result_t;
use crate::types::emz_part_t;
use std::ffi::{c_char, CString};
use std::ptr;

/// A borrowed view of one etale (the latest data of one title from one ehypha).
/// Belongs to its ehypha: valid until its deletion (`emz_ehypha_del_etale`), the
/// deletion of its ehypha, or `emz_efunguz_free`.
pub struct emz_etale_t {
    pub(crate) owner: *mut emz_ehypha_t,
    pub(crate) title: String,
    pub(crate) title_c: CString,
    pub(crate) parts: Vec<emz_part_t>,
}

pub(crate) fn owner_of_etale(et: *mut emz_etale_t) -> *mut emz_efunguz_t {
    // SAFETY: as above.
    unsafe { et.as_ref().map_or(ptr::null_mut(), |v| owner_of_ehypha(v.owner)) }
}

/// Runs `f` on an etale view, recording failures against its efunguz.
pub(crate) unsafe fn with_et(
    et: *mut emz_etale_t,
    f: impl FnOnce(&emz_efunguz_t, &emz_ehypha_t, &mut emz_etale_t) -> Res,
) -> emz_result_t {
    run(owner_of_etale(et), || {
        let view = et.as_mut().ok_or_else(|| null("etale"))?;
        let (h, eh) = ehypha_parts(view.owner)?;
        f(h, eh, view)
    })
}

/// The title, NUL-terminated; valid as long as the view. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_title(et: *const emz_etale_t) -> *const c_char {
    et.as_ref().map_or(ptr::null(), |v| v.title_c.as_ptr())
}

/// The ehypha an etale belongs to (NULL for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_etale_ehypha(et: *const emz_etale_t) -> *mut emz_ehypha_t {
    et.as_ref().map_or(ptr::null_mut(), |v| v.owner)
}

/// Zero-copy views of the latest data: `*parts_out` gets an array of `*count_out`
/// parts (count 0 and a non-NULL array before the first arrival); `*t_out` and `*t_in`
/// (NULL: not wanted) get µs since the Unix epoch at the sender when emitted and here
/// when received, -1 before the first arrival.
///
/// Lifetime: the bytes the parts point to, and the array itself, stay valid until the
/// next `emz_update` or `emz_wait` on the efunguz, the next `emz_etale_parts` on the
/// same etale, the deletion of the etale or its ehypha, or `emz_efunguz_free`,
/// whichever comes first. Copy what you need to keep longer.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_parts(
    et: *mut emz_etale_t,
    parts_out: *mut *const emz_part_t,
    count_out: *mut usize,
    t_out: *mut i64,
    t_in: *mut i64,
) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let parts_out = out_arg(parts_out, "parts_out")?;
        let count_out = out_arg(count_out, "count_out")?;
        let etale = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?;
        view.parts.clear();
        view.parts.extend(etale.parts().iter().map(|p| emz_part_t { ptr: p.as_ptr(), len: p.len() }));
        *parts_out = if view.parts.is_empty() { ptr::NonNull::dangling().as_ptr() } else { view.parts.as_ptr() };
        *count_out = view.parts.len();
        if let Some(t) = t_out.as_mut() {
            *t = etale.t_out();
        }
        if let Some(t) = t_in.as_mut() {
            *t = etale.t_in();
        }
        Ok(())
    })
}

/// How many times the etale has arrived, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_received(et: *mut emz_etale_t, out: *mut u64) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.received();
        Ok(())
    })
}

/// `t_out` of the latest arrival (µs since the Unix epoch at the sender; -1 before the
/// first), into `*out`. Unlike `emz_etale_parts`, leaves part views alone.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_t_out(et: *mut emz_etale_t, out: *mut i64) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.t_out();
        Ok(())
    })
}

/// `t_in` of the latest arrival (µs since the Unix epoch here; -1 before the first),
/// into `*out`. Unlike `emz_etale_parts`, leaves part views alone.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_t_in(et: *mut emz_etale_t, out: *mut i64) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.t_in();
        Ok(())
    })
}

/// Whether the etale is paused, into `*out`.
#[no_mangle]
pub unsafe extern "C" fn emz_etale_is_paused(et: *mut emz_etale_t, out: *mut bool) -> emz_result_t {
    with_et(et, |h, eh, view| {
        let out = out_arg(out, "out")?;
        *out = h.ef.get_ehypha(&eh.key)?.get_etale(&view.title)?.is_paused();
        Ok(())
    })
}
