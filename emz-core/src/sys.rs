//! The only module with `unsafe`: libzmq FFI, epoll and the fd limit.
//!
//! Everything here is a thin, safe wrapper. The invariants that make it sound:
//! - a [`Socket`] holds an `Arc` of its context, so `zmq_ctx_term` (run when the last
//!   `Arc` drops) can never see a socket that is still open;
//! - a [`Socket`] is `Send` but not `Sync` (libzmq sockets may migrate between threads
//!   but never be used by two at once);
//! - a [`Msg`] owns its `zmq_msg_t` and closes it exactly once.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::fd::RawFd;
use std::sync::Arc;

// ---- libzmq constants (zmq.h, 4.3) -------------------------------------------------

pub const ZMQ_PAIR: c_int = 0;
pub const ZMQ_PUB: c_int = 1;
pub const ZMQ_SUB: c_int = 2;
pub const ZMQ_REP: c_int = 4;
pub const ZMQ_XPUB: c_int = 9;

pub const ZMQ_IO_THREADS: c_int = 1;
pub const ZMQ_MAX_SOCKETS: c_int = 2;
pub const ZMQ_SOCKET_LIMIT: c_int = 3;
pub const ZMQ_BLOCKY: c_int = 70;

pub const ZMQ_SUBSCRIBE: c_int = 6;
pub const ZMQ_UNSUBSCRIBE: c_int = 7;
pub const ZMQ_FD: c_int = 14;
pub const ZMQ_EVENTS: c_int = 15;
pub const ZMQ_LINGER: c_int = 17;
pub const ZMQ_RECONNECT_IVL: c_int = 18;
pub const ZMQ_RECONNECT_IVL_MAX: c_int = 21;
pub const ZMQ_MAXMSGSIZE: c_int = 22;
pub const ZMQ_SNDHWM: c_int = 23;
pub const ZMQ_RCVHWM: c_int = 24;
pub const ZMQ_LAST_ENDPOINT: c_int = 32;
pub const ZMQ_IPV6: c_int = 42;
pub const ZMQ_CURVE_SERVER: c_int = 47;
pub const ZMQ_CURVE_PUBLICKEY: c_int = 48;
pub const ZMQ_CURVE_SECRETKEY: c_int = 49;
pub const ZMQ_CURVE_SERVERKEY: c_int = 50;
pub const ZMQ_ZAP_DOMAIN: c_int = 55;
pub const ZMQ_HANDSHAKE_IVL: c_int = 66;
pub const ZMQ_SOCKS_PROXY: c_int = 68;
pub const ZMQ_HEARTBEAT_IVL: c_int = 75;
pub const ZMQ_HEARTBEAT_TTL: c_int = 76;
pub const ZMQ_HEARTBEAT_TIMEOUT: c_int = 77;
pub const ZMQ_XPUB_NODROP: c_int = 69;
pub const ZMQ_XPUB_MANUAL: c_int = 71;
/// Draft in zmq.h, but compiled into every libzmq 4.3 (src/zmq_draft.h).
pub const ZMQ_XPUB_MANUAL_LAST_VALUE: c_int = 98;

pub const ZMQ_DONTWAIT: c_int = 1;
pub const ZMQ_SNDMORE: c_int = 2;
pub const ZMQ_POLLIN: c_int = 1;

pub const ZMQ_EVENT_CONNECTED: u16 = 0x0001;
pub const ZMQ_EVENT_CONNECT_DELAYED: u16 = 0x0002;
pub const ZMQ_EVENT_CONNECT_RETRIED: u16 = 0x0004;
pub const ZMQ_EVENT_ACCEPTED: u16 = 0x0020;
pub const ZMQ_EVENT_DISCONNECTED: u16 = 0x0200;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: u16 = 0x0800;
pub const ZMQ_EVENT_HANDSHAKE_SUCCEEDED: u16 = 0x1000;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: u16 = 0x2000;
pub const ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: u16 = 0x4000;

pub const EAGAIN: c_int = libc::EAGAIN;
pub const EINTR: c_int = libc::EINTR;
pub const EMFILE: c_int = libc::EMFILE;
pub const EADDRINUSE: c_int = libc::EADDRINUSE;

#[repr(C, align(8))]
struct zmq_msg_t {
    _d: [u8; 64],
}

extern "C" {
    fn zmq_errno() -> c_int;
    fn zmq_strerror(errnum: c_int) -> *const c_char;
    fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int);
    fn zmq_has(capability: *const c_char) -> c_int;

    fn zmq_ctx_new() -> *mut c_void;
    fn zmq_ctx_term(context: *mut c_void) -> c_int;
    fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int;
    fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int;

    fn zmq_socket(context: *mut c_void, kind: c_int) -> *mut c_void;
    fn zmq_close(s: *mut c_void) -> c_int;
    fn zmq_setsockopt(s: *mut c_void, option: c_int, optval: *const c_void, len: usize) -> c_int;
    fn zmq_getsockopt(s: *mut c_void, option: c_int, optval: *mut c_void, len: *mut usize) -> c_int;
    fn zmq_bind(s: *mut c_void, addr: *const c_char) -> c_int;
    fn zmq_connect(s: *mut c_void, addr: *const c_char) -> c_int;
    fn zmq_disconnect(s: *mut c_void, addr: *const c_char) -> c_int;
    fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int;
    fn zmq_socket_monitor(s: *mut c_void, addr: *const c_char, events: c_int) -> c_int;

    fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int;
    fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int;
    fn zmq_msg_send(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_recv(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int;
    fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int;
    fn zmq_msg_copy(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int;
    fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void;
    fn zmq_msg_size(msg: *const zmq_msg_t) -> usize;
    fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int;

    fn zmq_curve_keypair(z85_public_key: *mut c_char, z85_secret_key: *mut c_char) -> c_int;
    fn zmq_curve_public(z85_public_key: *mut c_char, z85_secret_key: *const c_char) -> c_int;
}

/// A libzmq error number with its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZmqError(pub c_int);

impl ZmqError {
    fn last() -> Self {
        ZmqError(unsafe { zmq_errno() })
    }
    pub fn message(self) -> String {
        let p = unsafe { zmq_strerror(self.0) };
        if p.is_null() {
            return format!("error {}", self.0);
        }
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

pub type ZResult<T> = Result<T, ZmqError>;

fn check(rc: c_int) -> ZResult<c_int> {
    if rc < 0 {
        Err(ZmqError::last())
    } else {
        Ok(rc)
    }
}

fn cstring(s: &str) -> ZResult<CString> {
    CString::new(s).map_err(|_| ZmqError(libc::EINVAL))
}

pub fn version() -> (i32, i32, i32) {
    let (mut a, mut b, mut c) = (0, 0, 0);
    unsafe { zmq_version(&mut a, &mut b, &mut c) };
    (a, b, c)
}

pub fn has(capability: &str) -> bool {
    match CString::new(capability) {
        Ok(c) => unsafe { zmq_has(c.as_ptr()) == 1 },
        Err(_) => false,
    }
}

/// New CURVE key pair as (public, secret), both Z85.
pub fn curve_keypair() -> ZResult<(String, String)> {
    let mut public = [0 as c_char; 41];
    let mut secret = [0 as c_char; 41];
    let rc = check(unsafe { zmq_curve_keypair(public.as_mut_ptr(), secret.as_mut_ptr()) });
    let pair = rc.map(|_| (z85_buf_to_string(&public), z85_buf_to_string(&secret)));
    zeroize::Zeroize::zeroize(&mut secret);
    pair
}

/// Z85 public key of a Z85 secret key (40 chars; validated by the caller).
pub fn curve_public(secret_z85: &str) -> ZResult<String> {
    let secret = zeroize::Zeroizing::new(cstring(secret_z85)?);
    let mut public = [0 as c_char; 41];
    check(unsafe { zmq_curve_public(public.as_mut_ptr(), secret.as_ptr()) })?;
    Ok(z85_buf_to_string(&public))
}

fn z85_buf_to_string(buf: &[c_char; 41]) -> String {
    buf[..40].iter().map(|&c| c as u8 as char).collect()
}

// ---- context -----------------------------------------------------------------------

struct CtxInner(*mut c_void);

// libzmq contexts are thread-safe.
unsafe impl Send for CtxInner {}
unsafe impl Sync for CtxInner {}

impl Drop for CtxInner {
    fn drop(&mut self) {
        // Every socket holds an Arc of this, so all are closed by now and, with
        // ZMQ_BLOCKY off and linger 0, termination cannot wait on the network.
        loop {
            let rc = unsafe { zmq_ctx_term(self.0) };
            if rc == 0 || ZmqError::last().0 != EINTR {
                break;
            }
        }
    }
}

#[derive(Clone)]
pub struct Context(Arc<CtxInner>);

impl Context {
    pub fn new() -> ZResult<Self> {
        let raw = unsafe { zmq_ctx_new() };
        if raw.is_null() {
            return Err(ZmqError::last());
        }
        let ctx = Context(Arc::new(CtxInner(raw)));
        ctx.set(ZMQ_BLOCKY, 0)?;
        Ok(ctx)
    }

    pub fn set(&self, option: c_int, value: c_int) -> ZResult<()> {
        check(unsafe { zmq_ctx_set(self.0 .0, option, value) }).map(drop)
    }

    pub fn get(&self, option: c_int) -> ZResult<c_int> {
        check(unsafe { zmq_ctx_get(self.0 .0, option) })
    }

    pub fn socket(&self, kind: c_int) -> ZResult<Socket> {
        let raw = unsafe { zmq_socket(self.0 .0, kind) };
        if raw.is_null() {
            return Err(ZmqError::last());
        }
        let s = Socket { raw, _ctx: self.0.clone() };
        // Never let a close wait on unsent data: dropping an efunguz must not hang.
        s.set_i32(ZMQ_LINGER, 0)?;
        Ok(s)
    }
}

// ---- socket ------------------------------------------------------------------------

pub struct Socket {
    raw: *mut c_void,
    _ctx: Arc<CtxInner>,
}

// A libzmq socket may be moved to another thread (full memory barrier when the
// owning value moves), never shared.
unsafe impl Send for Socket {}

impl Drop for Socket {
    fn drop(&mut self) {
        unsafe { zmq_close(self.raw) };
    }
}

impl Socket {
    pub fn set_i32(&self, option: c_int, value: i32) -> ZResult<()> {
        let len = std::mem::size_of::<i32>();
        check(unsafe { zmq_setsockopt(self.raw, option, (&value as *const i32).cast(), len) }).map(drop)
    }

    pub fn set_i64(&self, option: c_int, value: i64) -> ZResult<()> {
        let len = std::mem::size_of::<i64>();
        check(unsafe { zmq_setsockopt(self.raw, option, (&value as *const i64).cast(), len) }).map(drop)
    }

    pub fn set_bytes(&self, option: c_int, value: &[u8]) -> ZResult<()> {
        check(unsafe { zmq_setsockopt(self.raw, option, value.as_ptr().cast(), value.len()) }).map(drop)
    }

    fn get_i32(&self, option: c_int) -> ZResult<i32> {
        let mut value: i32 = 0;
        let mut len = std::mem::size_of::<i32>();
        check(unsafe { zmq_getsockopt(self.raw, option, (&mut value as *mut i32).cast(), &mut len) })?;
        Ok(value)
    }

    /// The socket's signalling fd: readable when libzmq has commands for it, which is
    /// when its ZMQ_EVENTS may have changed.
    pub fn fd(&self) -> ZResult<RawFd> {
        self.get_i32(ZMQ_FD)
    }

    /// Processes pending commands and tells whether a message can be received.
    pub fn readable(&self) -> ZResult<bool> {
        Ok(self.get_i32(ZMQ_EVENTS)? & ZMQ_POLLIN != 0)
    }

    pub fn last_endpoint(&self) -> ZResult<String> {
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        check(unsafe { zmq_getsockopt(self.raw, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len) })?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(len.min(buf.len()));
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    pub fn bind(&self, endpoint: &str) -> ZResult<()> {
        let c = cstring(endpoint)?;
        check(unsafe { zmq_bind(self.raw, c.as_ptr()) }).map(drop)
    }

    pub fn connect(&self, endpoint: &str) -> ZResult<()> {
        let c = cstring(endpoint)?;
        check(unsafe { zmq_connect(self.raw, c.as_ptr()) }).map(drop)
    }

    pub fn disconnect(&self, endpoint: &str) -> ZResult<()> {
        let c = cstring(endpoint)?;
        check(unsafe { zmq_disconnect(self.raw, c.as_ptr()) }).map(drop)
    }

    /// Sends one frame without blocking. `Ok(false)` when the socket would block.
    pub fn send(&self, data: &[u8], more: bool) -> ZResult<bool> {
        let flags = ZMQ_DONTWAIT | if more { ZMQ_SNDMORE } else { 0 };
        let rc = unsafe { zmq_send(self.raw, data.as_ptr().cast(), data.len(), flags) };
        if rc >= 0 {
            return Ok(true);
        }
        match ZmqError::last() {
            ZmqError(EAGAIN) => Ok(false),
            e => Err(e),
        }
    }

    /// Sends a frame sharing `msg`'s buffer (no data copy), without blocking; `msg`
    /// stays usable. `Ok(false)` when the socket would block.
    pub fn send_shared(&self, msg: &Msg, more: bool) -> ZResult<bool> {
        let mut copy = msg.clone();
        let flags = ZMQ_DONTWAIT | if more { ZMQ_SNDMORE } else { 0 };
        // On success libzmq takes the copy's reference; on failure `copy` drops it.
        let rc = unsafe { zmq_msg_send(&mut copy.0, self.raw, flags) };
        if rc >= 0 {
            return Ok(true);
        }
        match ZmqError::last() {
            ZmqError(EAGAIN) => Ok(false),
            e => Err(e),
        }
    }

    /// Receives one frame into `msg` without blocking. `Ok(false)` when nothing is there.
    pub fn recv(&self, msg: &mut Msg) -> ZResult<bool> {
        let rc = unsafe { zmq_msg_recv(&mut msg.0, self.raw, ZMQ_DONTWAIT) };
        if rc >= 0 {
            return Ok(true);
        }
        match ZmqError::last() {
            ZmqError(EAGAIN) => Ok(false),
            e => Err(e),
        }
    }

    pub fn monitor(&self, endpoint: &str, events: u16) -> ZResult<()> {
        let c = cstring(endpoint)?;
        check(unsafe { zmq_socket_monitor(self.raw, c.as_ptr(), c_int::from(events)) }).map(drop)
    }

    pub fn stop_monitor(&self) {
        unsafe { zmq_socket_monitor(self.raw, std::ptr::null(), 0) };
    }
}

// ---- message -----------------------------------------------------------------------

/// One received frame, kept as libzmq's own buffer: reading it copies nothing.
///
/// Dereferences to `[u8]`.
pub struct Msg(zmq_msg_t);

// The content of a zmq_msg_t is reference-counted atomically and only read through `&`.
unsafe impl Send for Msg {}
unsafe impl Sync for Msg {}

impl Msg {
    pub fn new() -> Self {
        let mut m = zmq_msg_t { _d: [0; 64] };
        // zmq_msg_init cannot fail.
        unsafe { zmq_msg_init(&mut m) };
        Msg(m)
    }

    /// A frame holding a copy of `data`.
    pub fn from_slice(data: &[u8]) -> ZResult<Self> {
        Self::from_slices(&[data])
    }

    /// A frame holding the concatenation of `pieces`, copied once.
    pub fn from_slices(pieces: &[&[u8]]) -> ZResult<Self> {
        let len = pieces.iter().map(|p| p.len()).sum();
        let mut m = zmq_msg_t { _d: [0; 64] };
        check(unsafe { zmq_msg_init_size(&mut m, len) })?;
        let msg = Msg(m);
        if len > 0 {
            let mut dst = unsafe { zmq_msg_data(&msg.0 as *const zmq_msg_t as *mut zmq_msg_t) } as *mut u8;
            for p in pieces {
                // In bounds: the pieces add up to the size just allocated.
                unsafe {
                    std::ptr::copy_nonoverlapping(p.as_ptr(), dst, p.len());
                    dst = dst.add(p.len());
                }
            }
        }
        Ok(msg)
    }

    /// Whether more frames of the same multipart message follow.
    pub fn more(&self) -> bool {
        unsafe { zmq_msg_more(&self.0) != 0 }
    }
}

/// Shares the buffer (libzmq reference-counts it); only frames under 34 bytes, stored
/// inline, are copied. Lets a part outlive its etale's next update without a data copy.
impl Clone for Msg {
    fn clone(&self) -> Self {
        let mut m = Msg::new();
        // zmq_msg_copy only fails on invalid messages, which a Msg never holds.
        unsafe { zmq_msg_copy(&mut m.0, &self.0 as *const zmq_msg_t as *mut zmq_msg_t) };
        m
    }
}

impl Default for Msg {
    fn default() -> Self {
        Msg::new()
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        unsafe { zmq_msg_close(&mut self.0) };
    }
}

impl std::ops::Deref for Msg {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        let len = unsafe { zmq_msg_size(&self.0) };
        if len == 0 {
            return &[];
        }
        // zmq_msg_data only reads; it takes a mutable pointer for historical reasons.
        let ptr = unsafe { zmq_msg_data(&self.0 as *const zmq_msg_t as *mut zmq_msg_t) };
        unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
    }
}

// ---- epoll -------------------------------------------------------------------------

/// An epoll set over sockets' signalling fds, each tagged with a token.
pub struct Poller {
    epfd: RawFd,
    events: Vec<libc::epoll_event>,
}

impl Poller {
    pub fn new(capacity: usize) -> std::io::Result<Self> {
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let events = vec![libc::epoll_event { events: 0, u64: 0 }; capacity.max(1)];
        Ok(Poller { epfd, events })
    }

    pub fn add(&self, fd: RawFd, token: u64) -> std::io::Result<()> {
        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: token };
        if unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Must run before the socket owning `fd` is closed: libzmq closes the fd
    /// asynchronously and its number may be reused by then.
    pub fn remove(&self, fd: RawFd) {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        unsafe { libc::epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev) };
    }

    /// Waits up to `timeout_ms` (0 = just look, -1 = forever) and appends the tokens
    /// of ready fds to `out`. Returns how many; an interrupted wait counts as none.
    pub fn wait(&mut self, timeout_ms: i32, out: &mut Vec<u64>) -> std::io::Result<usize> {
        let n =
            unsafe { libc::epoll_wait(self.epfd, self.events.as_mut_ptr(), self.events.len() as c_int, timeout_ms) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            return if e.raw_os_error() == Some(EINTR) { Ok(0) } else { Err(e) };
        }
        let n = n as usize;
        out.extend(self.events[..n].iter().map(|e| e.u64));
        Ok(n)
    }

    /// Makes room for `n` ready events per wait.
    pub fn reserve(&mut self, n: usize) {
        if self.events.len() < n {
            self.events.resize(n.next_power_of_two(), libc::epoll_event { events: 0, u64: 0 });
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        unsafe { libc::close(self.epfd) };
    }
}

// ---- fd limit ----------------------------------------------------------------------

/// (soft, hard) RLIMIT_NOFILE.
pub fn fd_limit() -> (u64, u64) {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } < 0 {
        return (1024, 1024);
    }
    (r.rlim_cur, r.rlim_max)
}

pub fn set_fd_limit(soft: u64, hard: u64) -> bool {
    let r = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) == 0 }
}
