//! Publishing an efunguz behind a Tor onion service.

use crate::efunguz::{emz_efunguz_t, with_ef};
use crate::error::Fail;
use crate::ffi::{opt_str_arg, str_arg, to_cstring};
use crate::result::emz_result_t::{self, *};
use emyzelium::{OnionKey, TorAuth};
use std::ffi::{c_char, c_int};
use std::path::PathBuf;
use std::ptr;

/// Default control port of Tor, for `emz_publish_onion` with a NULL `control`.
const DEFAULT_TOR_CONTROL: &str = "127.0.0.1:9051";

/// Publishes the efunguz behind a v3 onion service made through Tor's control port
/// `control` ("HOST:PORT"; NULL = "127.0.0.1:9051"): onion port = publish port, forwarded
/// to 127.0.0.1 (bind to "127.0.0.1" or "*"). `auth_kind` is an `emz_tor_auth_t` with its
/// `auth_value`, `key_kind` an `emz_onion_key_t` with its `key_value`. `*onion_out` (NULL:
/// not wanted) gets the onion without ".onion", NUL-terminated, valid until
/// `emz_unpublish_onion` or `emz_efunguz_free`. Others reach us with
/// `emz_add_ehypha(their_ef, our_public_key, onion, port, ...)`. Blocks while Tor
/// answers (connect timeout 5 s). EMZ_ERR_TOR when the control port is missing or Tor
/// refuses; EMZ_ERR_IO for an unreadable cookie or key file; EMZ_ERR_INVALID_KEY for a bad
/// onion key; EMZ_ERR_ALREADY_PRESENT when an onion is published already. The service
/// goes with `emz_unpublish_onion` or `emz_efunguz_free`.
#[no_mangle]
pub unsafe extern "C" fn emz_publish_onion(
    ef: *mut emz_efunguz_t,
    control: *const c_char,
    auth_kind: c_int,
    auth_value: *const c_char,
    key_kind: c_int,
    key_value: *const c_char,
    onion_out: *mut *const c_char,
) -> emz_result_t {
    with_ef(ef, |h| {
        let control = opt_str_arg(control, "control", DEFAULT_TOR_CONTROL)?;
        let auth = match auth_kind {
            0 => TorAuth::Auto,
            1 => TorAuth::Cookie(PathBuf::from(str_arg(auth_value, "auth_value (cookie file)")?)),
            2 => TorAuth::Password(str_arg(auth_value, "auth_value (password)")?.to_string()),
            k => return Err(Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("auth_kind {k} is not an emz_tor_auth_t"))),
        };
        let key = match key_kind {
            0 => OnionKey::New,
            1 => OnionKey::Ed25519V3(str_arg(key_value, "key_value (onion key)")?.to_string()),
            2 => OnionKey::File(PathBuf::from(str_arg(key_value, "key_value (key file)")?)),
            k => return Err(Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("key_kind {k} is not an emz_onion_key_t"))),
        };
        let onion = h.ef.publish_onion(control, &auth, &key)?;
        let c = h.onion_c.insert(to_cstring(onion));
        if let Some(o) = onion_out.as_mut() {
            *o = c.as_ptr();
        }
        Ok(())
    })
}

/// The onion published by `emz_publish_onion` (without ".onion"), valid until
/// `emz_unpublish_onion` or `emz_efunguz_free`; NULL when there is none (or for NULL).
#[no_mangle]
pub unsafe extern "C" fn emz_efunguz_onion(ef: *const emz_efunguz_t) -> *const c_char {
    ef.as_ref().and_then(|h| h.onion_c.as_ref()).map_or(ptr::null(), |c| c.as_ptr())
}

/// Removes the onion service now (EMZ_ERR_ALREADY_ABSENT when there is none). The string
/// of `emz_efunguz_onion` is freed, even when Tor fails to answer (EMZ_ERR_TOR).
#[no_mangle]
pub unsafe extern "C" fn emz_unpublish_onion(ef: *mut emz_efunguz_t) -> emz_result_t {
    with_ef(ef, |h| {
        let r = h.ef.unpublish_onion();
        if h.ef.onion().is_none() {
            h.onion_c = None;
        }
        Ok(r?)
    })
}
