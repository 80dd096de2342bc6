//! Why a call failed (`Fail`) and where the message goes: the thread's last error and
//! the handle's.

use crate::efunguz::emz_efunguz_t;
use crate::ffi::to_cstring;
use crate::panic::quiet;
use crate::result::{code_of, emz_result_t, emz_result_t::*};
use emyzelium::Error;
use std::cell::RefCell;
use std::ffi::{c_char, CString};

/// Why a call failed, before it becomes a code and a message.
pub(crate) enum Fail {
    Core(Error),
    Code(emz_result_t, String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Core(e)
    }
}

pub(crate) fn null(what: &str) -> Fail {
    Fail::Code(EMZ_ERR_NULL_ARGUMENT, format!("{what} is NULL"))
}

pub(crate) type Res<T = ()> = Result<T, Fail>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records a failure in the thread's last error (and the handle's, when there is one)
/// and returns its code.
pub(crate) fn record(ef: *const emz_efunguz_t, fail: Fail) -> emz_result_t {
    let (code, msg) = match fail {
        Fail::Core(e) => (code_of(e.kind()), e.to_string()),
        Fail::Code(c, m) => (c, m),
    };
    let msg = to_cstring(msg);
    // SAFETY: a non-NULL handle passed in is live (caller's contract), and no other
    // reference to it is in use while a call ends.
    if let Some(h) = unsafe { ef.as_ref() } {
        h.set_last_error(msg.clone());
    }
    LAST_ERROR.with(|l| *l.borrow_mut() = msg);
    code
}

/// Detailed message of the last failed call made by this thread ("" if none). Valid
/// until the next failed call on this thread.
#[no_mangle]
pub extern "C" fn emz_last_error() -> *const c_char {
    quiet(c"".as_ptr(), || LAST_ERROR.with(|l| l.borrow().as_ptr()))
}
