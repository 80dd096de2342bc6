//! The loop: taking in etales and listing what changed.

use crate::efunguz::{emz_efunguz_t, with_ef, with_ef_ref};
use crate::error::Fail;
use crate::etale::emz_etale_t;
use crate::ffi::out_arg;
use crate::result::emz_result_t::{self, *};
use std::ffi::c_int;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Does all pending work without blocking: answers handshakes, updates counters, takes
/// in etales. `*changed_out` (NULL: not wanted) gets how many etales got new data; list
/// them with `emz_changes_count` / `emz_change`. Invalidates part views (see
/// `emz_etale_parts`).
#[no_mangle]
pub unsafe extern "C" fn emz_update(ef: *mut emz_efunguz_t, changed_out: *mut usize) -> emz_result_t {
    with_ef(ef, |h| {
        let n = h.ef.update()?;
        if let Some(c) = changed_out.as_mut() {
            *c = n;
        }
        Ok(())
    })
}

/// Blocks until some etale gets new data or `timeout_ms` passes (negative: no limit),
/// doing the work of `emz_update` meanwhile. `*changed_out` (NULL: not wanted) gets
/// how many etales changed, 0 on timeout.
#[no_mangle]
pub unsafe extern "C" fn emz_wait(ef: *mut emz_efunguz_t, timeout_ms: i64, changed_out: *mut usize) -> emz_result_t {
    with_ef(ef, |h| {
        let timeout = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        let n = h.ef.wait(timeout)?;
        if let Some(c) = changed_out.as_mut() {
            *c = n;
        }
        Ok(())
    })
}

/// The efunguz's readiness file descriptor, into `*fd_out`, for poll(2), epoll, select
/// or an event library: readable exactly when `emz_update` has work (data or a
/// connection event arrived, a handshake waits, an ehypha is due for healing, access
/// narrowed, work was left by the per-update budgets). Watched level-triggered (poll,
/// select, plain epoll) it stops being readable once an update did the work. Watched
/// edge-triggered (EPOLLET, like ZMQ_FD): after it fires, call `emz_update` until it
/// reports 0 changes, then wait again. The fd belongs to the efunguz: never read,
/// write or close it, and stop watching it before `emz_efunguz_free`. It stays the same
/// for the efunguz's life.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_fd(ef: *const emz_efunguz_t, fd_out: *mut c_int) -> emz_result_t {
    with_ef_ref(ef, |h| {
        *out_arg(fd_out, "fd_out")? = h.ef.as_raw_fd();
        Ok(())
    })
}

/// Number of etales that got new data in the last `emz_update` / `emz_wait` (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_changes_count(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| h.ef.changes().len())
}

/// The view of the `index`-th etale that got new data in the last update, into `*out`
/// (each etale once; EMZ_ERR_INVALID_ARGUMENT past the end).
#[no_mangle]
pub unsafe extern "C" fn emz_change(ef: *mut emz_efunguz_t, index: usize, out: *mut *mut emz_etale_t) -> emz_result_t {
    with_ef(ef, |h| {
        let out = out_arg(out, "out")?;
        let n = h.ef.changes().len();
        let c = h.ef.changes().get(index).ok_or_else(|| {
            Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("change index {index} is past the {n} changes"))
        })?;
        let absent = || Fail::Code(EMZ_ERR_ABSENT, format!("etale {:?} of {:?} has no view", c.title, c.public_key));
        let eh = *h.views.get(&*c.public_key).ok_or_else(absent)?;
        *out = *(*eh).etales.get(&*c.title).ok_or_else(absent)?;
        Ok(())
    })
}
