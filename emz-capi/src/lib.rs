//! The C ABI of emyzelium: `libemyzelium.so` / `libemyzelium.a` and the header
//! `include/emyzelium.h`, generated from this crate by cbindgen (`make -C emz-capi header`).
//!
//! Only translation lives here: every call goes to the Rust core (`emz-core`), so C,
//! C++, Rust and Python programs run the very same implementation.
//!
//! Memory model of the handles:
//! - `emz_efunguz_t` is a `Box` owned by the caller (`emz_efunguz_new*` …
//!   `emz_efunguz_free`).
//! - Each ehypha and each etale added through this API gets one *view* object
//!   (`emz_ehypha_t`, `emz_etale_t`), allocated separately and owned by the efunguz
//!   handle through raw pointers, so that a `&mut` to the handle never overlaps a view.
//!   A view names its ehypha by public key and its etale by title and resolves them in
//!   the core on each call; it is freed when its ehypha or etale is deleted, or with
//!   the efunguz.
//! - No Rust panic crosses the boundary: every entry point runs under `catch_unwind`.
//!
//! Layout: `panic`, `ffi` and `error` are the boundary (panic catching, argument
//! helpers, last-error recording); `result` holds the result codes; `types` the
//! constants, enums and plain structs; `sized` how `emz_options_t` and `emz_config_t`
//! grow without breaking older callers; then one module per handle type or concept.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

// The boundary: panics, arguments, errors.
mod error;
mod ffi;
mod panic;

// Result codes, constants, enums, plain structs, and the structs that grow.
mod result;
mod sized;
mod types;

// Functions without a handle: versions, the clock, keys.
mod keys;
mod library;

// The handles and what they do.
mod efunguz;
mod ehypha;
mod etale;
mod onion;
mod publish;
mod update;
mod whitelist;

pub use efunguz::*;
pub use ehypha::*;
pub use error::*;
pub use etale::*;
pub use keys::*;
pub use library::*;
pub use onion::*;
pub use publish::*;
pub use result::*;
pub use types::*;
pub use update::*;
pub use whitelist::*;
