//! Publishing an efunguz behind a Tor onion service.

use crate::efunguz::{emz_efunguz_t, with_ef};
use crate::error::{Fail, Res};
use crate::ffi::{opt_str_arg, str_arg, to_cstring};
use crate::result::emz_result_t::{self, *};
use crate::types::{emz_onion_key_t, emz_tor_auth_t};
use emyzelium::{OnionKey, TorAuth};
use std::ffi::{c_char, c_int};
use std::path::PathBuf;
use std::ptr;

/// Default control port of Tor, for `emz_publish_onion` with a NULL `control`.
const DEFAULT_TOR_CONTROL: &str = "127.0.0.1:9051";

/// `auth_kind` and its `auth_value`. The kind stays a C int up to here: an int outside
/// `emz_tor_auth_t` gets an error instead of being an invalid enum value.
unsafe fn tor_auth_arg(kind: c_int, value: *const c_char) -> Res<TorAuth> {
    let kind = emz_tor_auth_t::ALL
        .into_iter()
        .find(|k| *k as c_int == kind)
        .ok_or_else(|| Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("auth_kind {kind} is not an emz_tor_auth_t")))?;
    let (cookie, password) = match kind {
        emz_tor_auth_t::EMZ_TOR_AUTH_AUTO => (None, None),
        emz_tor_auth_t::EMZ_TOR_AUTH_COOKIE => (Some(str_arg(value, "auth_value (cookie file)")?), None),
        emz_tor_auth_t::EMZ_TOR_AUTH_PASSWORD => (None, Some(str_arg(value, "auth_value (password)")?)),
    };
    Ok(TorAuth::from_choice(cookie, password)?)
}

/// `key_kind` and its `key_value`, checked as `tor_auth_arg` checks the auth kind.
unsafe fn onion_key_arg(kind: c_int, value: *const c_char) -> Res<OnionKey> {
    let kind = emz_onion_key_t::ALL
        .into_iter()
        .find(|k| *k as c_int == kind)
        .ok_or_else(|| Fail::Code(EMZ_ERR_INVALID_ARGUMENT, format!("key_kind {kind} is not an emz_onion_key_t")))?;
    Ok(match kind {
        emz_onion_key_t::EMZ_ONION_KEY_NEW => OnionKey::New,
        emz_onion_key_t::EMZ_ONION_KEY_ED25519_V3 => {
            OnionKey::Ed25519V3(str_arg(value, "key_value (onion key)")?.to_string())
        }
        emz_onion_key_t::EMZ_ONION_KEY_FILE => OnionKey::File(PathBuf::from(str_arg(value, "key_value (key file)")?)),
    })
}

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
        let auth = tor_auth_arg(auth_kind, auth_value)?;
        let key = onion_key_arg(key_kind, key_value)?;
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
