//! Panic catching: no Rust panic crosses into C.

use crate::efunguz::emz_efunguz_t;
use crate::error::{record, Fail, Res};
use crate::result::emz_result_t::{self, *};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (panic): {text}")
}

/// Runs `f` with no panic escaping; failures are recorded against `ef` (may be NULL).
pub(crate) fn run(ef: *const emz_efunguz_t, f: impl FnOnce() -> Res) -> emz_result_t {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => EMZ_OK,
        Ok(Err(fail)) => record(ef, fail),
        Err(p) => record(ef, Fail::Code(EMZ_ERR_PANIC, panic_message(p))),
    }
}

/// For infallible getters: the value, or `default` on a panic.
pub(crate) fn quiet<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}
