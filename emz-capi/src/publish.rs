//! Publishing etales.

use crate::efunguz::{emz_efunguz_t, with_ef};
use crate::ffi::{parts_arg, str_arg};
use crate::panic::quiet;
use crate::result::emz_result_t;
use crate::types::emz_part_t;
use std::ffi::c_char;

/// Publishes `n` parts under `title`, stamped with the current time, to every
/// subscriber of the title. The bytes are only read during the call (no copy needed
/// by the caller); `parts` may be NULL when `n` is 0. Never blocks: the subscribers with
/// room get it now; for one whose queue is full it is pending as that subscriber's latest
/// of the title and goes out, during a later update, as soon as that subscriber has room,
/// unless a newer etale of the title supersedes it first. A full subscriber delays nobody
/// else (see `emz_options_t.retry_unsent`).
///
/// `*sent` (NULL: not wanted) gets false when that happened for at least one subscriber:
/// the moment to emit less often for a while (skip a few frames) rather than pile up
/// etales nobody can take yet.
#[no_mangle]
pub unsafe extern "C" fn emz_emit_etale(
    ef: *mut emz_efunguz_t,
    title: *const c_char,
    parts: *const emz_part_t,
    n: usize,
    sent: *mut bool,
) -> emz_result_t {
    with_ef(ef, |h| {
        let queued = h.ef.emit_etale(str_arg(title, "title")?, &parts_arg(parts, n)?)?;
        if let Some(s) = sent.as_mut() {
            *s = queued;
        }
        Ok(())
    })
}

/// As `emz_emit_etale` with a `t_out` (µs since the Unix epoch) of your choosing;
/// `*sent_out` (NULL: not wanted) as `sent` there.
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
        let queued = h.ef.emit_etale_at(str_arg(title, "title")?, &parts_arg(parts, n)?, t_out)?;
        if let Some(s) = sent_out.as_mut() {
            *s = queued;
        }
        Ok(())
    })
}

/// Titles whose latest etale is still pending for some subscriber, waiting for room in
/// its queue (0 when every subscriber has the latest of every title, and for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_unsent_etales(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| quiet(0, || h.ef.unsent_etales()))
}
