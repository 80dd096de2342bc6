//! libzmq: its constants, context, sockets and messages.
//!
//! Pointers passed to libzmq always come from live Rust values borrowed for the call;
//! the raw context, socket and message handles are owned by exactly one wrapper each.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::os::fd::RawFd;
use std::sync::Arc;

// ---- libzmq constants (zmq.h, 4.3) -------------------------------------------------

pub const ZMQ_PAIR: c_int = 0;
/// Socket type: publisher.
pub const ZMQ_PUB: c_int = 1;
/// Socket type: subscriber.
pub const ZMQ_SUB: c_int = 2;
/// Socket type: reply (a ZAP handler).
pub const ZMQ_REP: c_int = 4;
pub const ZMQ_XPUB: c_int = 9;

pub const ZMQ_IO_THREADS: c_int = 1;
/// Context option: most sockets.
pub const ZMQ_MAX_SOCKETS: c_int = 2;
pub const ZMQ_SOCKET_LIMIT: c_int = 3;
pub const ZMQ_BLOCKY: c_int = 70;

/// Socket option: subscribe to a topic prefix.
pub const ZMQ_SUBSCRIBE: c_int = 6;
/// Socket option: unsubscribe.
pub const ZMQ_UNSUBSCRIBE: c_int = 7;
pub const ZMQ_FD: c_int = 14;
pub const ZMQ_EVENTS: c_int = 15;
/// Socket option: linger on close, ms.
pub const ZMQ_LINGER: c_int = 17;
pub const ZMQ_RECONNECT_IVL: c_int = 18;
pub const ZMQ_RECONNECT_IVL_MAX: c_int = 21;
pub const ZMQ_MAXMSGSIZE: c_int = 22;
/// Socket option: send high-water mark.
pub const ZMQ_SNDHWM: c_int = 23;
/// Socket option: receive high-water mark.
pub const ZMQ_RCVHWM: c_int = 24;
pub const ZMQ_LAST_ENDPOINT: c_int = 32;
pub const ZMQ_IPV6: c_int = 42;
/// Socket option: act as CURVE server.
pub const ZMQ_CURVE_SERVER: c_int = 47;
/// Socket option: our CURVE public key (32 bytes).
pub const ZMQ_CURVE_PUBLICKEY: c_int = 48;
/// Socket option: our CURVE secret key (32 bytes).
pub const ZMQ_CURVE_SECRETKEY: c_int = 49;
/// Socket option: the server's CURVE public key (32 bytes).
pub const ZMQ_CURVE_SERVERKEY: c_int = 50;
/// Socket option: ZAP domain.
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
/// emyzelium's patched XPUB (build.rs): keep, per subscriber, the latest message of each
/// topic it could not take, and send it when it has room (set, int 0/1).
pub const ZMQ_EMZ_XPUB_LATEST: c_int = 0x454d_5a01;
/// Topics pending for some subscriber (get, int).
pub const ZMQ_EMZ_XPUB_PENDING: c_int = 0x454d_5a02;
/// Subscribers the last message sent could not be queued to (get, int).
pub const ZMQ_EMZ_XPUB_DEFERRED: c_int = 0x454d_5a03;
/// Bytes queued to one subscriber and not yet taken by its connection beyond which it
/// counts as full; for the subscribers that connect afterwards (set, int; 0 = none).
pub const ZMQ_EMZ_XPUB_QUEUE_BYTES: c_int = 0x454d_5a04;
/// XPUB and SUB: a queued message with a newer one of its topic queued behind it is
/// dropped by the queue's reader once it has waited this long; for the connections made
/// afterwards (set, int ms; 0 = at once, -1 = never).
pub const ZMQ_EMZ_SUPERSEDE_MS: c_int = 0x454d_5a05;
/// Messages dropped that way so far (get, u64).
pub const ZMQ_EMZ_SUPERSEDED: c_int = 0x454d_5a06;
pub const ZMQ_SNDBUF: c_int = 11;
pub const ZMQ_RCVBUF: c_int = 12;

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

/// Declares libzmq functions. The vendored libzmq (build.rs) has every symbol renamed to
/// `EMZ_SYMBOL_PREFIX` + name, so that it cannot clash or mix with another libzmq in the
/// same program; a system libzmq (feature `system-zmq`) keeps its own names.
macro_rules! libzmq {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;)*) => {
        extern "C" {
            $(
                #[cfg_attr(feature = "vendored", link_name = concat!(env!("EMZ_SYMBOL_PREFIX"), stringify!($name)))]
                fn $name($($arg: $ty),*) $(-> $ret)?;
            )*
        }
    };
}

libzmq! {
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
        // SAFETY: zmq_errno takes no arguments and only reads the thread's errno.
        ZmqError(unsafe { zmq_errno() })
    }
    /// libzmq's text for this error.
    pub fn message(self) -> String {
        // SAFETY: zmq_strerror accepts any number and returns null or a static string.
        let p = unsafe { zmq_strerror(self.0) };
        if p.is_null() {
            return format!("error {}", self.0);
        }
        // SAFETY: `p` is non-null and points to a static NUL-terminated string.
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

/// `Ok(true)` for a send or receive that happened, `Ok(false)` for one that would block.
fn sent_or_would_block(rc: c_int) -> ZResult<bool> {
    if rc >= 0 {
        return Ok(true);
    }
    match ZmqError::last() {
        ZmqError(EAGAIN) => Ok(false),
        e => Err(e),
    }
}

fn cstring(s: &str) -> ZResult<CString> {
    CString::new(s).map_err(|_| ZmqError(libc::EINVAL))
}

pub fn version() -> (i32, i32, i32) {
    let (mut a, mut b, mut c) = (0, 0, 0);
    // SAFETY: the three pointers are to live local ints that zmq_version writes.
    unsafe { zmq_version(&mut a, &mut b, &mut c) };
    (a, b, c)
}

pub fn has(capability: &str) -> bool {
    match CString::new(capability) {
        // SAFETY: `c` is a NUL-terminated string alive for the call, only read.
        Ok(c) => unsafe { zmq_has(c.as_ptr()) == 1 },
        Err(_) => false,
    }
}

/// New CURVE key pair as (public, secret), both Z85.
pub fn curve_keypair() -> ZResult<(String, String)> {
    let mut public = [0 as c_char; 41];
    let mut secret = [0 as c_char; 41];
    // SAFETY: both buffers hold the 41 bytes (40 Z85 chars + NUL) libzmq writes.
    let rc = check(unsafe { zmq_curve_keypair(public.as_mut_ptr(), secret.as_mut_ptr()) });
    let pair = rc.map(|_| (z85_buf_to_string(&public), z85_buf_to_string(&secret)));
    zeroize::Zeroize::zeroize(&mut secret);
    pair
}

/// Z85 public key of a Z85 secret key (40 chars; validated by the caller).
pub fn curve_public(secret_z85: &str) -> ZResult<String> {
    let secret = zeroize::Zeroizing::new(cstring(secret_z85)?);
    let mut public = [0 as c_char; 41];
    // SAFETY: `public` holds the 41 bytes libzmq writes; `secret` is NUL-terminated
    // and libzmq reads at most its 40 chars (it fails on a shorter or bad key).
    check(unsafe { zmq_curve_public(public.as_mut_ptr(), secret.as_ptr()) })?;
    Ok(z85_buf_to_string(&public))
}

fn z85_buf_to_string(buf: &[c_char; 41]) -> String {
    buf[..40].iter().map(|&c| c as u8 as char).collect()
}

// ---- context -----------------------------------------------------------------------

struct CtxInner(*mut c_void);

// SAFETY: libzmq contexts are thread-safe (zmq_ctx(3)): any thread may create
// sockets in or set options of one; the pointer itself is only freed by Drop.
unsafe impl Send for CtxInner {}
// SAFETY: as for Send: every libzmq context function may be called concurrently.
unsafe impl Sync for CtxInner {}

impl Drop for CtxInner {
    fn drop(&mut self) {
        // Every socket holds an Arc of this, so all are closed by now and, with
        // ZMQ_BLOCKY off and linger 0, termination cannot wait on the network.
        loop {
            // SAFETY: the context is live until this succeeds, and no socket of it is
            // left (each holds an Arc of this); after success the loop ends.
            let rc = unsafe { zmq_ctx_term(self.0) };
            if rc == 0 || ZmqError::last().0 != EINTR {
                break;
            }
        }
    }
}

/// A libzmq context; clones share it, and it terminates when the last clone and
/// socket are gone.
#[derive(Clone)]
pub struct Context(Arc<CtxInner>);

impl Context {
    /// A new context that never blocks on termination.
    pub fn new() -> ZResult<Self> {
        // SAFETY: zmq_ctx_new takes no arguments; null is checked below.
        let raw = unsafe { zmq_ctx_new() };
        if raw.is_null() {
            return Err(ZmqError::last());
        }
        let ctx = Context(Arc::new(CtxInner(raw)));
        ctx.set(ZMQ_BLOCKY, 0)?;
        Ok(ctx)
    }

    /// Sets a context option.
    pub fn set(&self, option: c_int, value: c_int) -> ZResult<()> {
        // SAFETY: the context is live (we hold an Arc of it); unknown options give EINVAL.
        check(unsafe { zmq_ctx_set(self.0 .0, option, value) }).map(drop)
    }

    /// Reads a context option.
    pub fn get(&self, option: c_int) -> ZResult<c_int> {
        // SAFETY: the context is live (we hold an Arc of it); unknown options give EINVAL.
        check(unsafe { zmq_ctx_get(self.0 .0, option) })
    }

    /// A new socket of `kind` (a `ZMQ_*` socket type) with zero linger.
    pub fn socket(&self, kind: c_int) -> ZResult<Socket> {
        // SAFETY: the context is live (we hold an Arc of it); null is checked below.
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

/// A libzmq socket, closed on drop. `Send`, not `Sync`: used by one thread at a time.
pub struct Socket {
    raw: *mut c_void,
    _ctx: Arc<CtxInner>,
}

// SAFETY: a libzmq socket may be moved to another thread provided a full memory
// barrier separates the uses (zmq_socket(3)), which moving the owning value gives. It
// is never shared: Socket is not Sync, and its context handle is Send + Sync.
unsafe impl Send for Socket {}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: `raw` is an open socket owned by this value, closed only here, once,
        // while its context is still alive (`_ctx` drops after this).
        unsafe { zmq_close(self.raw) };
    }
}

impl Socket {
    /// Sets an integer option.
    pub fn set_i32(&self, option: c_int, value: i32) -> ZResult<()> {
        let len = std::mem::size_of::<i32>();
        // SAFETY: `raw` is open; the value pointer and length describe a live local i32.
        check(unsafe { zmq_setsockopt(self.raw, option, (&value as *const i32).cast(), len) }).map(drop)
    }

    /// Sets one of emyzelium's private options (`ZMQ_EMZ_…`, from the libzmq patches in
    /// build.rs); `Ok(false)` when this libzmq does not know it (a system libzmq), which
    /// then behaves as stock libzmq does.
    pub fn set_patched_i32(&self, option: c_int, value: i32) -> ZResult<bool> {
        match self.set_i32(option, value) {
            Ok(()) => Ok(true),
            Err(ZmqError(libc::EINVAL)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sets a 64-bit integer option.
    pub fn set_i64(&self, option: c_int, value: i64) -> ZResult<()> {
        let len = std::mem::size_of::<i64>();
        // SAFETY: `raw` is open; the value pointer and length describe a live local i64.
        check(unsafe { zmq_setsockopt(self.raw, option, (&value as *const i64).cast(), len) }).map(drop)
    }

    /// Sets a binary or string option.
    pub fn set_bytes(&self, option: c_int, value: &[u8]) -> ZResult<()> {
        // SAFETY: `raw` is open; pointer and length describe the borrowed slice, which
        // libzmq copies before returning.
        check(unsafe { zmq_setsockopt(self.raw, option, value.as_ptr().cast(), value.len()) }).map(drop)
    }

    /// Reads an integer option.
    pub fn get_i32(&self, option: c_int) -> ZResult<i32> {
        let mut value: i32 = 0;
        let mut len = std::mem::size_of::<i32>();
        // SAFETY: `raw` is open; libzmq writes at most `len` (4) bytes into `value`.
        check(unsafe { zmq_getsockopt(self.raw, option, (&mut value as *mut i32).cast(), &mut len) })?;
        Ok(value)
    }

    /// Reads a 64-bit unsigned option.
    pub fn get_u64(&self, option: c_int) -> ZResult<u64> {
        let mut value: u64 = 0;
        let mut len = std::mem::size_of::<u64>();
        // SAFETY: `raw` is open; libzmq writes at most `len` (8) bytes into `value`.
        check(unsafe { zmq_getsockopt(self.raw, option, (&mut value as *mut u64).cast(), &mut len) })?;
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

    /// The endpoint last bound or connected (e.g. the port `*` chose).
    pub fn last_endpoint(&self) -> ZResult<String> {
        let mut buf = [0u8; 256];
        let mut len = buf.len();
        // SAFETY: `raw` is open; libzmq writes at most `len` bytes into `buf` (EINVAL
        // when the endpoint does not fit).
        check(unsafe { zmq_getsockopt(self.raw, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len) })?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(len.min(buf.len()));
        Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
    }

    /// Binds to `endpoint` (`tcp://host:port`, `inproc://name`).
    pub fn bind(&self, endpoint: &str) -> ZResult<()> {
        let c = cstring(endpoint)?;
        // SAFETY: `raw` is open; `c` is NUL-terminated and alive for the call.
        check(unsafe { zmq_bind(self.raw, c.as_ptr()) }).map(drop)
    }

    /// Connects to `endpoint`.
    pub fn connect(&self, endpoint: &str) -> ZResult<()> {
        let c = cstring(endpoint)?;
        // SAFETY: `raw` is open; `c` is NUL-terminated and alive for the call.
        check(unsafe { zmq_connect(self.raw, c.as_ptr()) }).map(drop)
    }

    /// Disconnects from `endpoint`.
    pub fn disconnect(&self, endpoint: &str) -> ZResult<()> {
        let c = cstring(endpoint)?;
        // SAFETY: `raw` is open; `c` is NUL-terminated and alive for the call.
        check(unsafe { zmq_disconnect(self.raw, c.as_ptr()) }).map(drop)
    }

    /// Sends one frame without blocking. `Ok(false)` when the socket would block.
    pub fn send(&self, data: &[u8], more: bool) -> ZResult<bool> {
        let flags = ZMQ_DONTWAIT | if more { ZMQ_SNDMORE } else { 0 };
        // SAFETY: `raw` is open; pointer and length describe the borrowed slice, which
        // zmq_send copies before returning.
        let rc = unsafe { zmq_send(self.raw, data.as_ptr().cast(), data.len(), flags) };
        sent_or_would_block(rc)
    }

    /// Sends a frame sharing `msg`'s buffer (no data copy), without blocking; `msg`
    /// stays usable. `Ok(false)` when the socket would block.
    pub fn send_shared(&self, msg: &Msg, more: bool) -> ZResult<bool> {
        let mut copy = msg.clone();
        let flags = ZMQ_DONTWAIT | if more { ZMQ_SNDMORE } else { 0 };
        // On success libzmq takes the copy's reference; on failure `copy` drops it.
        // SAFETY: `raw` is open and `copy` an initialised message we own. After success
        // libzmq has reset it to empty, so its Drop closes an empty message.
        let rc = unsafe { zmq_msg_send(&mut copy.0, self.raw, flags) };
        sent_or_would_block(rc)
    }

    /// Receives one frame into `msg` without blocking. `Ok(false)` when nothing is there.
    pub fn recv(&self, msg: &mut Msg) -> ZResult<bool> {
        // SAFETY: `raw` is open and `msg` an initialised message borrowed mutably;
        // libzmq releases its old content before filling it.
        let rc = unsafe { zmq_msg_recv(&mut msg.0, self.raw, ZMQ_DONTWAIT) };
        sent_or_would_block(rc)
    }

    /// Sends the socket's `events` to a PAIR socket at `endpoint`.
    pub fn monitor(&self, endpoint: &str, events: u16) -> ZResult<()> {
        let c = cstring(endpoint)?;
        // SAFETY: `raw` is open; `c` is NUL-terminated and alive for the call.
        check(unsafe { zmq_socket_monitor(self.raw, c.as_ptr(), c_int::from(events)) }).map(drop)
    }

    /// Stops the monitor started by [`Socket::monitor`].
    pub fn stop_monitor(&self) {
        // SAFETY: `raw` is open; a null endpoint is libzmq's documented way to stop.
        unsafe { zmq_socket_monitor(self.raw, std::ptr::null(), 0) };
    }
}

// ---- message -----------------------------------------------------------------------

/// One received frame, kept as libzmq's own buffer: reading it copies nothing.
///
/// Dereferences to `[u8]`.
pub struct Msg(zmq_msg_t);

// SAFETY: a zmq_msg_t owns its buffer or holds an atomically reference-counted share
// of it, with no tie to the thread that made it, so it may move between threads.
unsafe impl Send for Msg {}
// SAFETY: through `&Msg` only reads happen (size, data, more, and zmq_msg_copy, which
// bumps the atomic reference count), so sharing between threads is sound.
unsafe impl Sync for Msg {}

impl Msg {
    /// An empty message, to receive into.
    pub fn new() -> Self {
        let mut m = zmq_msg_t { _d: [0; 64] };
        // SAFETY: `m` is a live, suitably aligned zmq_msg_t; zmq_msg_init cannot fail.
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
        // SAFETY: `m` is a live, suitably aligned zmq_msg_t; failure is checked, and then
        // `m` is not wrapped, so it is never closed.
        check(unsafe { zmq_msg_init_size(&mut m, len) })?;
        let msg = Msg(m);
        if len > 0 {
            // SAFETY: `msg` is initialised with `len` > 0 bytes; zmq_msg_data only reads
            // the message header (it takes a mutable pointer for historical reasons).
            let mut dst = unsafe { zmq_msg_data(&msg.0 as *const zmq_msg_t as *mut zmq_msg_t) } as *mut u8;
            for p in pieces {
                // SAFETY: in bounds, as the pieces add up to the `len` bytes just
                // allocated; a fresh buffer cannot overlap the borrowed pieces.
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
        // SAFETY: `self.0` is an initialised message; zmq_msg_more only reads it.
        unsafe { zmq_msg_more(&self.0) != 0 }
    }
}

/// Shares the buffer (libzmq reference-counts it); only frames under 34 bytes, stored
/// inline, are copied. Lets a part outlive its etale's next update without a data copy.
impl Clone for Msg {
    fn clone(&self) -> Self {
        let mut m = Msg::new();
        // SAFETY: both messages are initialised; the source is only read (the count it
        // shares is atomic). zmq_msg_copy only fails on invalid messages, which a Msg
        // never holds.
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
        // SAFETY: `self.0` is initialised and closed only here, once.
        unsafe { zmq_msg_close(&mut self.0) };
    }
}

impl AsRef<[u8]> for Msg {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::ops::Deref for Msg {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `self.0` is an initialised message; zmq_msg_size only reads it.
        let len = unsafe { zmq_msg_size(&self.0) };
        if len == 0 {
            return &[];
        }
        // SAFETY: zmq_msg_data only reads the header of the initialised message; it
        // takes a mutable pointer for historical reasons.
        let ptr = unsafe { zmq_msg_data(&self.0 as *const zmq_msg_t as *mut zmq_msg_t) };
        // SAFETY: `ptr` points to the message's `len` bytes, which nothing mutates while
        // `self` is borrowed (a Msg's data is only written in from_slices and recv,
        // which need `&mut` or ownership), and which live as long as `self`.
        unsafe { std::slice::from_raw_parts(ptr as *const u8, len) }
    }
}
