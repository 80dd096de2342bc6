//! Publishing etales.

use crate::efunguz::{emz_efunguz_t, with_ef};
use crate::ffi::{parts_arg, str_arg};
use crate::panic::quiet;
use crate::result::emz_result_t;
use crate::types::emz_part_t;
use std::ffi::c_char;

/// Publishes `n` parts under `title`, stamped with the current time, to every
/// subscriber of the title. The bytes are only read during the call (no copy needed
/// by the caller); `parts` may be NULL when `n` is 0. Never blocks: when a subscriber's
/// queue is full the etale is kept and sent by a later update (unless a newer one of
/// the same title replaces it first; see `emz_options_t.retry_unsent`).
#[no_mangle]
pub unsafe extern "C" fn emz_emit_etale(
    ef: *mut emz_efunguz_t,
    title: *const c_char,
    parts: *const emz_part_t,
    n: usize,
) -> emz_result_t {
    with_ef(ef, |h| {
        h.ef.emit_etale(str_arg(title, "title")?, &parts_arg(parts, n)?)?;
        Ok(())
    })
}

/// As `emz_emit_etale` with a `t_out` (µs since the Unix epoch) of your choosing;
/// `*sent_out` (NULL: not wanted) gets false when some subscriber's queue was full and
/// the etale waits for a later update.
#[no_mangle]
pub unsafe extern "C" fn emz_emit_etale_at(
    ef: *mut emz_efunguz_t,
    title: *const c_char,
    parts: *const emz_part_t,
    n: usize,
    t_out: i64,
    sent_out: *mut bool,
) -> emz_result_t {
    with_ef(ef, |h| {
        let sent = h.ef.emit_etale_at(str_arg(title, "title")?, &parts_arg(parts, n)?, t_out)?;
        if let Some(s) = sent_out.as_mut() {
            *s = sent;
        }
        Ok(())
    })
}

/// Titles whose latest etale still waits for room in a subscriber's queue (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_unsent_etales(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| quiet(0, || h.ef.unsent_etales()))
}
