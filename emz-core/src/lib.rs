//! # emyzelium
//!
//! Authenticated, encrypted peer-to-peer publish/subscribe over ZeroMQ and Tor.
//!
//! An [`Efunguz`] is a peer: a CURVE key pair and a publish socket that only
//! whitelisted keys may subscribe to. It publishes *etales* (a title and byte parts)
//! with [`Efunguz::emit_etale`], and receives other peers' etales through one
//! [`Ehypha`] per peer. Call [`Efunguz::update`] from your main loop: it never blocks,
//! and afterwards each [`Etale`] holds the latest parts, `t_out` and `t_in`.
//!
//! Two peers on loopback, one publishing to the other:
//!
//! ```
//! use emyzelium::{new_key_pair, Efunguz};
//! use std::time::{Duration, Instant};
//! # fn main() -> emyzelium::Result<()> {
//! let (alice_public, alice_secret) = new_key_pair()?;
//! let (bob_public, bob_secret) = new_key_pair()?;
//! // Who may subscribe: nobody until told (a whitelist, or allow_everyone()).
//! let mut alice =
//!     Efunguz::builder(&alice_secret).whitelist([&bob_public]).bind_host("127.0.0.1").any_port().build()?;
//! let mut bob = Efunguz::builder(&bob_secret).bind_host("127.0.0.1").any_port().build()?;
//!
//! // Bob subscribes to Alice's "zone"; Alice publishes it.
//! bob.add_ehypha_direct(&alice_public, "127.0.0.1", alice.port())?.add_etale("zone")?;
//! alice.emit_etale("zone", &[b"cells".as_slice(), &3u16.to_le_bytes()])?;
//!
//! // Each main loop calls update() (never blocks); wait() blocks up to a timeout.
//! let deadline = Instant::now() + Duration::from_secs(5);
//! while bob.changes().is_empty() {
//!     assert!(Instant::now() < deadline, "nothing arrived within 5 s");
//!     alice.update()?; // answers Bob's handshake and subscription, sends him the latest "zone"
//!     bob.wait(Some(Duration::from_millis(10)))?;
//! }
//! for change in bob.changes() {
//!     let etale = bob.get_ehypha(&change.public_key)?.get_etale(&change.title)?;
//!     assert_eq!(etale.parts()[0].as_ref(), b"cells");
//!     assert!(etale.t_out() > 0 && etale.t_in() >= etale.t_out());
//! }
//! # Ok(()) }
//! ```
//!
//! # Threads
//!
//! An [`Efunguz`] is `Send` but not `Sync`: it may be built on one thread and moved to
//! another, but one thread at a time uses it (its ehyphae and etales too: they are
//! borrowed from it). To use one efunguz from several threads, put it in a
//! `Mutex`, or better keep it on one thread and pass data to it through a channel.
//! Independent efungi may run on different threads at once. A received [`Part`] is
//! `Send + Sync` and owns its share of the buffer, so it may be kept or handed to other
//! threads after later updates.
//!
//! ```
//! # fn main() -> emyzelium::Result<()> {
//! let (_, secret) = emyzelium::new_key_pair()?;
//! let ef = emyzelium::Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build()?;
//! let port = std::thread::spawn(move || ef.port()).join().unwrap(); // moved, used there
//! assert!(port > 0);
//! # Ok(()) }
//! ```
//!
//! Sharing one by reference between threads does not compile:
//!
//! ```compile_fail,E0277
//! fn shared<T: Sync>(_: &T) {}
//! # fn main() -> emyzelium::Result<()> {
//! let (_, secret) = emyzelium::new_key_pair()?;
//! let ef = emyzelium::Efunguz::builder(&secret).bind_host("127.0.0.1").any_port().build()?;
//! shared(&ef);
//! # Ok(()) }
//! ```
//!
//! # Stability
//!
//! The wire format never changes without a major version; what 0.x minor and patch
//! releases may change is written in `docs/POLICY.md`.
//!
//! Wire format (shared with the C++, Python, Go and Rust 0.9 emyzelium): multipart
//! `[title + 0x00, t_out as 8-byte little-endian i64, parts…]`; subscriptions to
//! `title + 0x00`; ZAP domain `emyz`.

#![deny(unsafe_code)]
#![deny(missing_docs)]

mod address;
mod builder;
mod efunguz;
mod ehypha;
mod error;
mod etale;
mod keys;
mod publisher;
mod state;
mod sys;
mod tor;
mod wire;
mod zap;

pub use address::{normalize_onion, onion_from_ed25519, Address, ONION_V3_LEN};
pub use builder::{EfunguzBuilder, Options};
pub use efunguz::{Counters, Efunguz};
pub use ehypha::{Change, Ehypha, Stats};
pub use error::{Error, ErrorKind, Result};
pub use etale::{Etale, Part};
pub use keys::{
    is_valid_key, new_key_pair, public_key, read_keys_file, read_secret_file, z85_decode, z85_encode, SecretKey,
    KEY_Z85_LEN,
};
pub use state::EhyphaState;
pub use tor::{OnionKey, OnionService, TorAuth, TorControl};
pub use wire::{now_us, MAX_TITLE_LEN};

/// Default publish port of an efunguz.
pub const DEFAULT_PORT: u16 = 60847;
/// Default host of Tor's SOCKS proxy.
pub const DEFAULT_TOR_PROXY_HOST: &str = "127.0.0.1";
/// Default port of Tor's SOCKS proxy.
pub const DEFAULT_TOR_PROXY_PORT: u16 = 9050;
/// ZAP domain of every emyzelium publisher.
pub const ZAP_DOMAIN: &str = "emyz";

/// This library's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Version of the linked libzmq as (major, minor, patch).
pub fn libzmq_version() -> (i32, i32, i32) {
    sys::version()
}

/// Whether the linked libzmq supports CURVE (always true with the default build).
pub fn has_curve() -> bool {
    sys::has("curve")
}

/// The pure functions behind the receive path and the publisher's subscription and ZAP
/// handling, for the fuzz targets in `emz-core/fuzz`. Not part of the stable API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::wire::{parse_etale, parse_subscription, parse_t_out, parse_title, Malformed, Subscription};
    pub use crate::zap::{zap_verdict, ZapVerdict};
}

/// Plain libzmq sockets from the same build, for tests and benchmarks that need a
/// peer which is *not* an efunguz (a raw CURVE publisher injecting malformed frames,
/// the raw-libzmq baseline). Not part of the stable API.
#[doc(hidden)]
pub mod raw {
    pub use crate::sys::{
        Context, Msg, Poller, Socket, ZmqError, ZMQ_CURVE_PUBLICKEY, ZMQ_CURVE_SECRETKEY, ZMQ_CURVE_SERVER,
        ZMQ_CURVE_SERVERKEY, ZMQ_LINGER, ZMQ_MAX_SOCKETS, ZMQ_PUB, ZMQ_RCVHWM, ZMQ_REP, ZMQ_SNDHWM, ZMQ_SUB,
        ZMQ_SUBSCRIBE, ZMQ_UNSUBSCRIBE, ZMQ_ZAP_DOMAIN,
    };
}
