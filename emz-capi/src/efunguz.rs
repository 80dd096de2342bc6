//! `emz_efunguz_t`, the handle owned by the caller: construction, getters, counters.

use crate::ehypha::{emz_ehypha_t, free_ehypha_view};
use crate::error::{null, record, Fail, Res};
use crate::ffi::{key_arg, keys_arg, opt_str_arg, out_arg, to_cstring};
use crate::panic::run;
use crate::result::emz_result_t::{self, *};
use crate::sized::{non_null, read_sized, write_sized};
use crate::types::*;
use emyzelium::{Efunguz, Options};
use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// An efunguz: one peer with its publish socket and ehyphae. Owned by the caller:
/// create with `emz_efunguz_new` or `emz_efunguz_new_with`, free with `emz_efunguz_free`.
pub struct emz_efunguz_t {
    pub(crate) ef: Efunguz,
    pub(crate) public_key: CString,
    /// Interior-mutable, so that a failure of a call taking a `const` handle is recorded.
    pub(crate) last_error: RefCell<CString>,
    /// View of each ehypha, by public key (allocated apart, see the crate docs).
    pub(crate) views: HashMap<String, *mut emz_ehypha_t>,
    /// Sorted keys of the ehyphae for `emz_ehypha_at`, made on demand; dropped by every
    /// addition and deletion.
    pub(crate) ehyphae_sorted: Option<Vec<String>>,
    /// Sorted whitelist for `emz_whitelist_key_at`, made on demand; dropped by every change.
    pub(crate) whitelist_sorted: Option<Vec<String>>,
    /// The onion published by `emz_publish_onion`, for C.
    pub(crate) onion_c: Option<CString>,
}

impl Drop for emz_efunguz_t {
    fn drop(&mut self) {
        for (_, eh) in self.views.drain() {
            // SAFETY: each view was made by Box::into_raw and is freed only here or on delete.
            unsafe { free_ehypha_view(eh) };
        }
    }
}

impl emz_efunguz_t {
    /// Keeps `msg` as the message of `emz_efunguz_last_error`.
    pub(crate) fn set_last_error(&self, msg: CString) {
        // Never borrowed across calls; should it be, the thread's last error still has it.
        if let Ok(mut last) = self.last_error.try_borrow_mut() {
            *last = msg;
        }
    }

    pub(crate) fn new(ef: Efunguz) -> *mut emz_efunguz_t {
        let public_key = to_cstring(ef.public_key().to_string());
        Box::into_raw(Box::new(emz_efunguz_t {
            ef,
            public_key,
            last_error: RefCell::default(),
            views: HashMap::new(),
            ehyphae_sorted: None,
            whitelist_sorted: None,
            onion_c: None,
        }))
    }

    /// The view of the ehypha just added to the core (made once, kept until deletion).
    pub(crate) fn add_view(&mut self, me: *mut emz_efunguz_t, key: &str) -> *mut emz_ehypha_t {
        let address = self.ef.get_ehypha(key).map(|e| e.address().to_string()).unwrap_or_default();
        let view = Box::into_raw(Box::new(emz_ehypha_t {
            owner: me,
            key: key.to_string(),
            key_c: to_cstring(key.to_string()),
            address_c: to_cstring(address),
            etales: HashMap::new(),
        }));
        self.views.insert(key.to_string(), view);
        self.ehyphae_sorted = None;
        view
    }
}

/// Fills the first `size` bytes of `*options` with the defaults and sets its `size`:
/// call it through the macro `emz_options_default(&o)`, which passes `sizeof o` (the size
/// your header knows). EMZ_ERR_INVALID_ARGUMENT when `size` is no version's size (see
/// `emz_options_t`); then nothing is written.
#[no_mangle]
pub unsafe extern "C" fn emz_options_default_sized(options: *mut emz_options_t, size: usize) -> emz_result_t {
    run(ptr::null(), || {
        write_sized(non_null(options, "options")?.cast_mut(), size, &emz_options_t::from(&Options::default()))
    })
}

pub(crate) fn config_default(secret_key: *const c_char) -> emz_config_t {
    emz_config_t {
        size: std::mem::size_of::<emz_config_t>(),
        secret_key,
        whitelist: ptr::null(),
        whitelist_len: 0,
        everyone: false,
        port: EMZ_DEFAULT_PORT,
        any_port: false,
        bind_host: ptr::null(),
        tor_proxy_host: ptr::null(),
        tor_proxy_port: EMZ_DEFAULT_TOR_PROXY_PORT,
        options: ptr::null(),
    }
}

/// Fills the first `size` bytes of `*config` with the defaults and `secret_key` (kept as
/// a pointer: it must stay valid until `emz_efunguz_new_with`) and sets its `size`: call
/// it through the macro `emz_config_init(&c, secret_key)`, which passes `sizeof c`.
/// EMZ_ERR_INVALID_ARGUMENT when `size` is no version's size; then nothing is written.
#[no_mangle]
pub unsafe extern "C" fn emz_config_init_sized(
    config: *mut emz_config_t,
    size: usize,
    secret_key: *const c_char,
) -> emz_result_t {
    run(ptr::null(), || write_sized(non_null(config, "config")?.cast_mut(), size, &config_default(secret_key)))
}

/// The original constructor: secret key, whitelist (`whitelist_len` keys; NULL and 0
/// = EVERYONE may subscribe, as it always has: `emz_efunguz_new_with` is closed by
/// default instead), publish port (all interfaces), Tor SOCKS proxy (NULL host =
/// 127.0.0.1). On success `*out` is the new handle, to free with `emz_efunguz_free`.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_new(
    secret_key: *const c_char,
    whitelist: *const *const c_char,
    whitelist_len: usize,
    port: u16,
    tor_proxy_host: *const c_char,
    tor_proxy_port: u16,
    out: *mut *mut emz_efunguz_t,
) -> emz_result_t {
    let Ok(mut c) = catch_unwind(|| config_default(secret_key)) else {
        return record(ptr::null(), Fail::Code(EMZ_ERR_PANIC, "internal error (panic) in defaults".into()));
    };
    c.whitelist = whitelist;
    c.whitelist_len = whitelist_len;
    c.everyone = whitelist_len == 0;
    c.port = port;
    c.tor_proxy_host = tor_proxy_host;
    c.tor_proxy_port = tor_proxy_port;
    emz_efunguz_new_with(&c, out)
}

/// Creates an efunguz from a full configuration (see `emz_config_t`): the keys of
/// `whitelist` may subscribe, or everyone with `everyone`; with neither, nobody. On
/// success `*out` is the new handle, to free with `emz_efunguz_free`; else `*out` is
/// untouched.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_new_with(
    config: *const emz_config_t,
    out: *mut *mut emz_efunguz_t,
) -> emz_result_t {
    run(ptr::null(), || {
        let c = read_sized(non_null(config, "config")?, config_default(ptr::null()))?;
        let options = match c.options.is_null() {
            true => Options::default(),
            false => {
                let o = read_sized(c.options, emz_options_t::from(&Options::default()))?;
                Options::from(&o)
            }
        };
        let out = out_arg(out, "out")?;
        let secret = key_arg(c.secret_key, "secret_key")?;
        let whitelist = keys_arg(c.whitelist, c.whitelist_len, "whitelist")?;
        let bind_host = opt_str_arg(c.bind_host, "bind_host", "*")?;
        let tor_host = opt_str_arg(c.tor_proxy_host, "tor_proxy_host", emyzelium::DEFAULT_TOR_PROXY_HOST)?;
        let mut b = Efunguz::builder(secret);
        b = match (c.everyone, whitelist.is_empty()) {
            (true, true) => b.allow_everyone(),
            (true, false) => {
                let msg = "everyone and a non-empty whitelist contradict each other".into();
                return Err(Fail::Code(EMZ_ERR_INVALID_ARGUMENT, msg));
            }
            (false, _) => b.whitelist(whitelist),
        };
        b = b.bind_host(bind_host).tor_proxy(tor_host, c.tor_proxy_port).options(options);
        b = if c.any_port { b.any_port() } else { b.port(c.port) };
        let ef = b.build()?;
        *out = emz_efunguz_t::new(ef);
        Ok(())
    })
}

/// Closes every socket and frees the efunguz with all its ehypha and etale views.
/// NULL is a no-op. Freeing the same non-NULL handle twice is undefined: use
/// `emz_efunguz_destroy` to have the pointer cleared.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_free(ef: *mut emz_efunguz_t) {
    if !ef.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(ef))));
    }
}

/// Frees `*ef` (as `emz_efunguz_free`) and sets `*ef` to NULL, so calling it again on
/// the same variable is a no-op. NULL `ef` is a no-op too.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_destroy(ef: *mut *mut emz_efunguz_t) {
    if let Some(p) = ef.as_mut() {
        let h = std::mem::replace(p, ptr::null_mut());
        emz_efunguz_free(h);
    }
}

/// Detailed message of the last failed call on this handle or its views ("" if none;
/// NULL for a NULL handle). Valid until the next failed call on it or its free.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_last_error(ef: *const emz_efunguz_t) -> *const c_char {
    ef.as_ref().map_or(ptr::null(), |h| h.last_error.try_borrow().map_or(c"".as_ptr(), |l| l.as_ptr()))
}

/// Own public key, Z85, NUL-terminated; valid until the handle is freed. NULL for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_public_key(ef: *const emz_efunguz_t) -> *const c_char {
    ef.as_ref().map_or(ptr::null(), |h| h.public_key.as_ptr())
}

/// The publish port (the one the system chose with `any_port`); 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_port(ef: *const emz_efunguz_t) -> u16 {
    ef.as_ref().map_or(0, |h| h.ef.port())
}

/// The options in force, into `*out`: as many fields as `out->size` holds, so set it
/// first (`emz_options_default(&o)` does).
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_options(ef: *const emz_efunguz_t, out: *mut emz_options_t) -> emz_result_t {
    with_ef_ref(ef, |h| {
        let out = non_null(out, "out")?.cast_mut();
        write_sized(out, ptr::read(out as *const usize), &emz_options_t::from(h.ef.options()))
    })
}

/// Runs `f` on a non-NULL handle, recording failures against it.
pub(crate) unsafe fn with_ef(ef: *mut emz_efunguz_t, f: impl FnOnce(&mut emz_efunguz_t) -> Res) -> emz_result_t {
    run(ef, || f(ef.as_mut().ok_or_else(|| null("efunguz"))?))
}

/// As `with_ef`, for calls that only read the handle.
pub(crate) unsafe fn with_ef_ref(ef: *const emz_efunguz_t, f: impl FnOnce(&emz_efunguz_t) -> Res) -> emz_result_t {
    run(ef, || f(ef.as_ref().ok_or_else(|| null("efunguz"))?))
}

/// The publish socket's connection counters, into the first `size` bytes of `*out`: call
/// it through the macro `emz_counters(ef, &c)`, which passes `sizeof c`.
/// EMZ_ERR_INVALID_ARGUMENT when `size` is no version's size; then nothing is written.
#[no_mangle]
pub unsafe extern "C" fn emz_counters_sized(
    ef: *const emz_efunguz_t,
    out: *mut emz_counters_t,
    size: usize,
) -> emz_result_t {
    with_ef_ref(ef, |h| write_sized(non_null(out, "out")?.cast_mut(), size, &emz_counters_t::from(h.ef.counters())))
}

/// TCP connections accepted by the publish socket (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_attempted(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.in_attempted())
}

/// CURVE handshakes passed (whitelisted keys) at the publish socket (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_permitted(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.in_permitted())
}

/// Connections open now at the publish socket (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_absorbing(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.in_absorbing())
}

/// Handshakes at the publish socket that failed: key refused, protocol error or too
/// slow (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_in_failed(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.counters().in_failed)
}

/// Subscriptions the publish socket ignored as not a title (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_bad_subscriptions(ef: *const emz_efunguz_t) -> u64 {
    ef.as_ref().map_or(0, |h| h.ef.counters().bad_subscriptions)
}

/// What all ehyphae of the efunguz received and dropped so far (deleted ones included),
/// into the first `size` bytes of `*out`: call it through the macro
/// `emz_efunguz_stats(ef, &s)`, which passes `sizeof s`. EMZ_ERR_INVALID_ARGUMENT when
/// `size` is no version's size; then nothing is written.
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_stats_sized(
    ef: *const emz_efunguz_t,
    out: *mut emz_stats_t,
    size: usize,
) -> emz_result_t {
    with_ef_ref(ef, |h| write_sized(non_null(out, "out")?.cast_mut(), size, &emz_stats_t::from(h.ef.stats())))
}
