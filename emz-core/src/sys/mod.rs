//! The only module with `unsafe`: thin, safe wrappers over libzmq ([`zmq`]), epoll
//! ([`epoll`]) and the open-files limit ([`rlimit`]).
//!
//! Every `unsafe` block says why it is sound in a `SAFETY:` comment. The invariants the
//! wrappers keep:
//! - a [`Socket`] holds an `Arc` of its context, so `zmq_ctx_term` (run when the last
//!   `Arc` drops) can never see a socket that is still open;
//! - a [`Socket`] is `Send` but not `Sync` (libzmq sockets may migrate between threads
//!   but never be used by two at once);
//! - a [`Msg`] owns its `zmq_msg_t` and closes it exactly once;
//! - a [`Poller`] owns its epoll fd, eventfd and timerfd (as `OwnedFd`s, closed once).

#![allow(unsafe_code)]

mod epoll;
mod rlimit;
mod zmq;

pub use epoll::Poller;
pub use rlimit::{fd_limit, set_fd_limit};
pub use zmq::*;
