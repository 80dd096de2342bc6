//! `emz_ehypha_t`, the borrowed view of one subscription to a peer, and its etales.

use crate::efunguz::{emz_efunguz_t, with_ef};
use crate::error::{null, Fail, Res};
use crate::etale::emz_etale_t;
use crate::ffi::{key_arg, out_arg, str_arg, to_cstring};
use crate::panic::{quiet, run};
use crate::result::emz_result_t::{self, *};
use crate::sized::{non_null, write_sized};
use crate::types::{emz_ehypha_state_t, emz_stats_t, state_name, state_of};
use emyzelium::Address;
use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;

/// A borrowed view of one ehypha (the subscription to one peer). Belongs to its
/// efunguz: valid until `emz_del_ehypha` of its key or `emz_efunguz_free`.
pub struct emz_ehypha_t {
    pub(crate) owner: *mut emz_efunguz_t,
    pub(crate) key: String,
    pub(crate) key_c: CString,
    pub(crate) address_c: CString,
    pub(crate) etales: HashMap<String, *mut emz_etale_t>,
}

pub(crate) unsafe fn free_ehypha_view(eh: *mut emz_ehypha_t) {
    let view = Box::from_raw(eh);
    for (_, et) in view.etales {
        drop(Box::from_raw(et));
    }
}

/// Resolves an ehypha view into (efunguz handle, view); the two are separate allocations.
pub(crate) unsafe fn ehypha_parts<'a>(eh: *mut emz_ehypha_t) -> Res<(&'a mut emz_efunguz_t, &'a mut emz_ehypha_t)> {
    let view = eh.as_mut().ok_or_else(|| null("ehypha"))?;
    Ok((&mut *view.owner, view))
}

pub(crate) fn owner_of_ehypha(eh: *mut emz_ehypha_t) -> *mut emz_efunguz_t {
    // SAFETY: a non-NULL view passed in is live (caller's contract).
    unsafe { eh.as_ref().map_or(ptr::null_mut(), |v| v.owner) }
}

/// Adds the ehypha of `public_key` at the address `address()` makes (inside the
/// boundary, so that a bad argument is recorded like any failure) and its view.
pub(crate) unsafe fn add_ehypha(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    out: *mut *mut emz_ehypha_t,
    address: impl FnOnce() -> Res<Address>,
) -> emz_result_t {
    with_ef(ef, |h| {
        let key = key_arg(public_key, "public_key")?;
        h.ef.add_ehypha_at(key, address()?)?;
        let view = h.add_view(ef, key);
        if let Some(o) = out.as_mut() {
            *o = view;
        }
        Ok(())
    })
}

/// Subscribes to the efunguz with `public_key` behind the v3 `onion` (".onion"
/// optional) at `port`, through the Tor proxy. `*out` (NULL: not wanted) gets the view.
#[no_mangle]
pub unsafe extern "C" fn emz_add_ehypha(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    onion: *const c_char,
    port: u16,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    add_ehypha(ef, public_key, out, || Ok(Address::onion(str_arg(onion, "onion")?, port)?))
}

/// Subscribes to the efunguz with `public_key` at `host`:`port` (IPv4, IPv6 or DNS
/// name) by plain TCP. `*out` (NULL: not wanted) gets the view.
#[no_mangle]
pub unsafe extern "C" fn emz_add_ehypha_direct(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    host: *const c_char,
    port: u16,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    add_ehypha(ef, public_key, out, || Ok(Address::direct(str_arg(host, "host")?, port)?))
}

/// Subscribes to the efunguz with `public_key` at `address`: `"host:port"`,
/// `"[ipv6]:port"` or `"x.onion:port"` (an onion goes through the Tor proxy, anything
/// else by plain TCP; the same parser as the Rust and Python faces and both CLIs).
/// `*out` (NULL: not wanted) gets the view.
#[no_mangle]
pub unsafe extern "C" fn emz_add_ehypha_at(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    address: *const c_char,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    add_ehypha(ef, public_key, out, || Ok(Address::parse(str_arg(address, "address")?)?))
}

/// The view of the ehypha of `public_key` into `*out`; EMZ_ERR_ABSENT if there is none.
#[no_mangle]
pub unsafe extern "C" fn emz_get_ehypha(
    ef: *mut emz_efunguz_t,
    public_key: *const c_char,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    with_ef(ef, |h| {
        let key = key_arg(public_key, "public_key")?;
        let out = out_arg(out, "out")?;
        h.ef.get_ehypha(key)?;
        *out = *h.views.get(key).ok_or_else(|| Fail::Code(EMZ_ERR_ABSENT, format!("ehypha {key:?} has no view")))?;
        Ok(())
    })
}

/// Disconnects from the peer and forgets its etales; its view and its etales' views
/// are freed (pointers to them become invalid).
#[no_mangle]
pub unsafe extern "C" fn emz_del_ehypha(ef: *mut emz_efunguz_t, public_key: *const c_char) -> emz_result_t {
    with_ef(ef, |h| {
        let key = key_arg(public_key, "public_key")?;
        h.ef.del_ehypha(key)?;
        h.ehyphae_sorted = None;
        if let Some(view) = h.views.remove(key) {
            free_ehypha_view(view);
        }
        Ok(())
    })
}

/// Number of ehyphae (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_ehyphae_count(ef: *const emz_efunguz_t) -> usize {
    ef.as_ref().map_or(0, |h| h.ef.ehyphae_count())
}

/// The view of the `index`-th ehypha in the order of their public keys (0 up to
/// `emz_ehyphae_count` − 1), into `*out`; EMZ_ERR_INVALID_ARGUMENT past the end. Indices
/// hold until an ehypha is added or deleted.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_at(
    ef: *mut emz_efunguz_t,
    index: usize,
    out: *mut *mut emz_ehypha_t,
) -> emz_result_t {
    with_ef(ef, |h| {
        let out = out_arg(out, "out")?;
        let views = &h.views;
        let keys = h.ehyphae_sorted.get_or_insert_with(|| {
            let mut v: Vec<String> = views.keys().cloned().collect();
            v.sort();
            v
        });
        let key = keys.get(index).ok_or_else(|| {
            Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("ehypha index {index} is past the {} ehyphae", keys.len()))
        })?;
        *out = *views.get(key).ok_or_else(|| Fail::Code(EMZ_ERR_ABSENT, format!("ehypha {key:?} has no view")))?;
        Ok(())
    })
}

/// Runs `f` on an ehypha view with its efunguz, recording failures against the efunguz.
pub(crate) unsafe fn with_eh(
    eh: *mut emz_ehypha_t,
    f: impl FnOnce(&mut emz_efunguz_t, &mut emz_ehypha_t) -> Res,
) -> emz_result_t {
    run(owner_of_ehypha(eh), || {
        let (h, view) = ehypha_parts(eh)?;
        f(h, view)
    })
}

/// The peer's public key, Z85, NUL-terminated; valid as long as the view. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_public_key(eh: *const emz_ehypha_t) -> *const c_char {
    eh.as_ref().map_or(ptr::null(), |v| v.key_c.as_ptr())
}

/// Where the ehypha connects, "host:port" or "ONION.onion:port"; valid as long as the
/// view. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_address(eh: *const emz_ehypha_t) -> *const c_char {
    eh.as_ref().map_or(ptr::null(), |v| v.address_c.as_ptr())
}

/// The efunguz an ehypha belongs to (NULL for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_efunguz(eh: *const emz_ehypha_t) -> *mut emz_efunguz_t {
    eh.as_ref().map_or(ptr::null_mut(), |v| v.owner)
}

/// Where the connection to the peer stands, into `*state_out`, and since when (µs since
/// the Unix epoch) into `*since_out`; either may be NULL (not wanted). Updated by
/// `emz_update` / `emz_wait`; always EMZ_EHYPHA_UNKNOWN with `ehypha_monitor` off.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_state(
    eh: *mut emz_ehypha_t,
    state_out: *mut emz_ehypha_state_t,
    since_out: *mut i64,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let e = h.ef.get_ehypha(&view.key)?;
        if let Some(s) = state_out.as_mut() {
            *s = state_of(e.state());
        }
        if let Some(t) = since_out.as_mut() {
            *t = e.state_since();
        }
        Ok(())
    })
}

/// Static lowercase name of a state ("up", "rejected", ...); "invalid state" for values
/// outside `emz_ehypha_state_t`.
#[no_mangle]
pub extern "C" fn emz_ehypha_state_name(state: c_int) -> *const c_char {
    quiet(None, || state_name(state)).map_or(c"invalid state".as_ptr(), CStr::as_ptr)
}

/// Subscribes to `title` ("" is a title too). Its etale stays empty (t_in == -1) until
/// the first arrival. `*out` (NULL: not wanted) gets the etale's view.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_add_etale(
    eh: *mut emz_ehypha_t,
    title: *const c_char,
    out: *mut *mut emz_etale_t,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let title = str_arg(title, "title")?;
        h.ef.get_ehypha_mut(&view.key)?.add_etale(title)?;
        let et = Box::into_raw(Box::new(emz_etale_t {
            owner: eh,
            title: title.to_string(),
            title_c: to_cstring(title.to_string()),
            parts: Vec::new(),
        }));
        if let Some(old) = view.etales.insert(title.to_string(), et) {
            drop(Box::from_raw(old));
        }
        if let Some(o) = out.as_mut() {
            *o = et;
        }
        Ok(())
    })
}

/// The view of the etale `title` into `*out`; EMZ_ERR_ABSENT if not subscribed.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_get_etale(
    eh: *mut emz_ehypha_t,
    title: *const c_char,
    out: *mut *mut emz_etale_t,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let title = str_arg(title, "title")?;
        let out = out_arg(out, "out")?;
        h.ef.get_ehypha(&view.key)?.get_etale(title)?;
        *out = *view
            .etales
            .get(title)
            .ok_or_else(|| Fail::Code(EMZ_ERR_ABSENT, format!("etale {title:?} has no view")))?;
        Ok(())
    })
}

/// Unsubscribes from `title` and forgets its data; its view is freed.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_del_etale(eh: *mut emz_ehypha_t, title: *const c_char) -> emz_result_t {
    with_eh(eh, |h, view| {
        let title = str_arg(title, "title")?;
        h.ef.get_ehypha_mut(&view.key)?.del_etale(title)?;
        if let Some(et) = view.etales.remove(title) {
            drop(Box::from_raw(et));
        }
        Ok(())
    })
}

/// Stops receiving `title` (unsubscribes) but keeps its latest data.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_pause_etale(eh: *mut emz_ehypha_t, title: *const c_char) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.pause_etale(str_arg(title, "title")?)?))
}

/// Resumes receiving a paused `title`.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_resume_etale(eh: *mut emz_ehypha_t, title: *const c_char) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.resume_etale(str_arg(title, "title")?)?))
}

/// Pauses every etale of the ehypha not paused yet.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_pause_etales(eh: *mut emz_ehypha_t) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.pause_etales()?))
}

/// Resumes every paused etale of the ehypha.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_resume_etales(eh: *mut emz_ehypha_t) -> emz_result_t {
    with_eh(eh, |h, view| Ok(h.ef.get_ehypha_mut(&view.key)?.resume_etales()?))
}

/// What this ehypha received and dropped, into the first `size` bytes of `*out`: call it
/// through the macro `emz_ehypha_stats(eh, &s)`, which passes `sizeof s`.
/// EMZ_ERR_INVALID_ARGUMENT when `size` is no version's size; then nothing is written.
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_stats_sized(
    eh: *mut emz_ehypha_t,
    out: *mut emz_stats_t,
    size: usize,
) -> emz_result_t {
    with_eh(eh, |h, view| {
        let out = non_null(out, "out")?.cast_mut();
        write_sized(out, size, &emz_stats_t::from(h.ef.get_ehypha(&view.key)?.stats()))
    })
}

/// Number of etales of the ehypha (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_ehypha_etales_count(eh: *const emz_ehypha_t) -> usize {
    eh.as_ref().map_or(0, |v| v.etales.len())
}
