//! Builds (or finds) the libzmq the crate links against.
//!
//! Default: libzmq 4.3.5 from `zeromq-src`, compiled with the libsodium subset vendored
//! under `vendor/libsodium`, both static, so CURVE is always there and nothing is needed
//! from the system. Every global symbol of both archives then gets the prefix `emzv_`,
//! so that another libzmq or libsodium in the same program (the `zmq` crate,
//! `sodiumoxide`, a C library) neither clashes with ours at link time nor gets mixed
//! with it at run time. Feature `system-zmq` (without `vendored`) links the system
//! libzmq via pkg-config instead, under its own names.

use std::env;

#[cfg(feature = "vendored")]
#[path = "build/cache.rs"]
mod cache;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let vendored = env::var_os("CARGO_FEATURE_VENDORED").is_some();
    if !vendored {
        link_system();
        return;
    }
    #[cfg(feature = "vendored")]
    if !cache::is_child() {
        return cache::build_vendored_cached(build_vendored);
    }
    build_vendored();
}

#[cfg(feature = "system-zmq")]
fn link_system() {
    pkg_config::Config::new()
        .atleast_version("4.3.0")
        .probe("libzmq")
        .expect("feature system-zmq: pkg-config could not find libzmq >= 4.3.0");
}

#[cfg(not(feature = "system-zmq"))]
fn link_system() {
    panic!("emyzelium needs a libzmq: enable feature `vendored` (default) or `system-zmq`");
}

#[cfg(feature = "vendored")]
fn build_vendored() {
    let (lib, include) = build_libsodium();

    // zeromq-src writes an empty platform.hpp and sets only a few defines. The ones below
    // are what libzmq's own CMake detects on Linux; they matter to us:
    // - EVENTFD: one fd per socket mailbox instead of a socketpair (two), which is what
    //   lets 10,000 ehyphae fit under ordinary fd limits;
    // - CLOCK_GETTIME: a monotonic clock for timers (reconnect, heartbeat) instead of
    //   gettimeofday, which jumps with the wall clock;
    // - *CLOEXEC / ACCEPT4: no fd leaks into child processes;
    // - SO_KEEPALIVE & TCP_KEEP*: make ZMQ_TCP_KEEPALIVE* options effective.
    let target = env::var("TARGET").unwrap_or_default();
    if target.contains("linux") {
        let defines = [
            "ZMQ_HAVE_EVENTFD",
            "ZMQ_HAVE_EVENTFD_CLOEXEC",
            "ZMQ_IOTHREAD_POLLER_USE_EPOLL_CLOEXEC",
            "HAVE_CLOCK_GETTIME",
            "HAVE_FORK",
            "HAVE_ACCEPT4",
            "HAVE_POSIX_MEMALIGN",
            "HAVE_IF_NAMETOINDEX",
            "ZMQ_HAVE_IFADDRS",
            "ZMQ_HAVE_SO_PEERCRED",
            "ZMQ_HAVE_O_CLOEXEC",
            "ZMQ_HAVE_SOCK_CLOEXEC",
            "ZMQ_HAVE_SO_KEEPALIVE",
            "ZMQ_HAVE_TCP_KEEPCNT",
            "ZMQ_HAVE_TCP_KEEPIDLE",
            "ZMQ_HAVE_TCP_KEEPINTVL",
            "ZMQ_HAVE_PTHREAD_SETNAME_2",
            "ZMQ_HAVE_PTHREAD_SET_AFFINITY",
            "ZMQ_HAVE_NOEXCEPT",
            "ZMQ_HAVE_PPOLL",
        ];
        let mut flags = env::var("CXXFLAGS").unwrap_or_default();
        for d in defines {
            flags.push_str(&format!(" -D{d}=1"));
        }
        flags.push_str(" -DZMQ_CACHELINE_SIZE=64");
        // Never build the C++ part unoptimised, even in dev profile: tests move 16 MiB
        // etales and thousands of handshakes through it.
        flags.push_str(" -O2");
        // SAFETY of set_var: build scripts are single-threaded at this point.
        env::set_var("CXXFLAGS", flags.trim());
    }

    zeromq_src::Build::new().with_libsodium(Some(zeromq_src::LibLocation::new(&lib, &include))).build();
    let include = include.to_string_lossy();
    patch_libzmq(&include, &target);
    let out = std::path::PathBuf::from(env::var("OUT_DIR").unwrap());
    prefix_symbols(&[out.join("lib/libzmq.a"), lib.join("libsodium.a")]);
    println!("cargo:rustc-env=EMZ_SYMBOL_PREFIX={SYMBOL_PREFIX}");
}

/// A source patch of libzmq: `(file, [(exact text, replacement)])`.
#[cfg(feature = "vendored")]
type Patch = (&'static str, &'static [(&'static str, &'static str)]);

#[cfg(feature = "vendored")]
const PATCHES: &[Patch] = &[
    // libzmq 4.3.5 bug, the "Bad file descriptor (src/epoll.cpp)" abort reported by the
    // original emyzelium: when the SOCKS proxy (Tor) refuses or fails a connection,
    // `socks_connecter_t::error()` removes its poll handle but keeps the stale pointer,
    // and closing the socket before the reconnect timer fires removes it again: epoll_ctl
    // fails with EBADF and libzmq aborts. `rm_handle()` removes it and clears the pointer.
    (
        "socks_connecter.cpp",
        &[(
            "void zmq::socks_connecter_t::error ()\n{\n    rm_fd (_handle);\n",
            "void zmq::socks_connecter_t::error ()\n{\n    rm_handle ();\n",
        )],
    ),
    // A connection that ends while its session has sent only the first parts of a
    // message: `clean_pipes` reads the rest to discard it and asserts that it can. When
    // the rest is not readable (seen with a 16 MiB etale through a small send buffer,
    // the subscriber going away mid-message) libzmq aborted the whole publisher, which
    // any subscriber could provoke. The half-read message is dropped instead.
    (
        "session_base.cpp",
        &[(
            "        rc = pull_msg (&msg);\n        errno_assert (rc == 0);\n        rc = msg.close ();\n",
            "        rc = pull_msg (&msg);\n        if (rc != 0) {\n            errno_assert (errno == EAGAIN);\n            _incomplete_in = false;\n        }\n        rc = msg.close ();\n",
        )],
    ),
    // CURVE encryption of each outgoing message: libzmq builds the plaintext in a
    // zero-filled std::vector (a fresh allocation, a memset and a copy of the whole
    // message), then encrypts it into a second buffer. We write the plaintext straight
    // into the outgoing message where the ciphertext goes and encrypt in place, which
    // libsodium's secretbox supports (it reads the first block before writing it).
    // Same bytes on the wire (tests/wire checks them against pyzmq); one allocation, a
    // memset and a copy less per message and per subscriber.
    (
        "curve_mechanism_base.cpp",
        &[
            (
                "    const size_t mlen = flags_len + sub_cancel_len + msg_->size ();\n    std::vector<uint8_t> message_plaintext (mlen);\n",
                "    const size_t mlen = flags_len + sub_cancel_len + msg_->size ();\n    msg_t msg_box;\n    int rc =\n      msg_box.init_size (message_header_len + mlen + crypto_box_MACBYTES);\n    zmq_assert (rc == 0);\n    uint8_t *const message_plaintext = static_cast<uint8_t *> (msg_box.data ())\n                                       + message_header_len + crypto_box_MACBYTES;\n",
            ),
            (
                "    msg_t msg_box;\n    int rc =\n      msg_box.init_size (message_header_len + mlen + crypto_box_MACBYTES);\n    zmq_assert (rc == 0);\n\n    rc = crypto_box_easy_afternm (",
                "    rc = crypto_box_easy_afternm (",
            ),
        ],
    ),
    // Per-subscriber latest value at the publisher (design in src/publisher.rs). Stock
    // XPUB either fails a send for every subscriber when one queue is full (NODROP: one
    // stuck reader stalls all) or drops it for that subscriber (lossy: the last etale of
    // a burst can be lost). With the private option ZMQ_EMZ_XPUB_LATEST on, a subscriber
    // that cannot take a message gets it later instead: the newest message of each topic
    // it missed is kept for it (shared, not copied) and written as soon as its queue has
    // room, whole, through the distributor. Others never wait. The pending entries go
    // with the subscriber, or with its subscription. dist.hpp only gains an accessor;
    // xpub.hpp gains members, so everything that includes it is rebuilt.
    //
    // What sits queued towards one subscriber is bounded in bytes too, not only in
    // messages (ZMQ_EMZ_XPUB_QUEUE_BYTES): a pipe counts as full while the whole messages
    // written to it and not yet taken by its reader (the connection's I/O thread) hold that
    // many bytes, so the pending-latest mechanism above takes over early and a subscriber
    // that reads again meets little stale data before the latest values. Stock pipes learn
    // what their reader took only every (send HWM + 1) / 2 messages, far too coarse for a
    // byte bound, so the reader of a bounded pipe also reports after every half of the
    // bound it takes (the threshold is handed to it, atomically, by the writing end; other
    // pipes never report more often than before).
    (
        "pipe.hpp",
        &[
            (
                r##"#include "msg.hpp"
"##,
                r##"#include "msg.hpp"
#include "atomic_ptr.hpp"

#include <deque>
"##,
            ),
            (
                r##"    bool check_hwm () const;
"##,
                r##"    bool check_hwm () const;

    //  emyzelium: also full while the whole messages written from this end and not
    //  yet read by the peer hold at least bytes_ bytes (0: no such bound). The peer
    //  then reports what it read after every bytes_ / 2 bytes, so that a pipe found
    //  full is always activated again.
    void emz_set_byte_hwm (int bytes_);
"##,
            ),
            (
                r##"    uint64_t _peers_msgs_read;
"##,
                r##"    uint64_t _peers_msgs_read;

    //  emyzelium (emz_set_byte_hwm). Writing end: the bound, the bytes of the whole
    //  messages written, the bytes the peer is known to have read, the bytes of the
    //  message being written, and the byte total after each message not yet known to
    //  be read, the first of them being message number _emz_first.
    uint64_t _emz_byte_hwm;
    uint64_t _emz_bytes_written;
    uint64_t _emz_bytes_read;
    mutable uint64_t _emz_bytes_partial;
    std::deque<uint64_t> _emz_ends;
    uint64_t _emz_first;
    //  Reading end: report what was read after this many bytes (0: only every _lwm
    //  messages), set by the writing end's thread; bytes read since the last report.
    atomic_value_t _emz_report_bytes;
    uint64_t _emz_bytes_unreported;
"##,
            ),
            //  Superseded messages (emz_supersede).
            (
                r##"#include "atomic_ptr.hpp"
"##,
                r##"#include "atomic_ptr.hpp"
#include "clock.hpp"

#include <map>
#include <string>

//  emyzelium's private options (see emz-core/src/publisher.rs), on XPUB and SUB sockets:
//  drop a queued message superseded for that long (ms; -1: never); read how many were.
#define ZMQ_EMZ_SUPERSEDE_MS 0x454d5a05
#define ZMQ_EMZ_SUPERSEDED 0x454d5a06
"##,
            ),
            (
                r##"    void emz_set_byte_hwm (int bytes_);
"##,
                r##"    void emz_set_byte_hwm (int bytes_);

    //  emyzelium: in the direction this end writes (this_end_writes_) or reads, the
    //  reader drops a message when a newer one of the same topic (first frame) was
    //  queued behind it and it has waited at least after_ms_ (0: at once). Called by
    //  the socket's thread as it attaches its end; the other end learns it atomically.
    void emz_supersede (bool this_end_writes_, int after_ms_);
    //  Messages dropped that way in that direction so far.
    uint64_t emz_superseded () const;
    struct emz_ring_t;
"##,
            ),
            (
                r##"    uint64_t _emz_bytes_unreported;
"##,
                r##"    uint64_t _emz_bytes_unreported;

    //  emyzelium (emz_supersede). One ring per direction, shared by both ends and
    //  freed by the last: for message number n, slot n % size holds n (n | top bit
    //  once a newer message of its topic is queued) and when it was written. Each
    //  pointer is set once, atomically, by the socket's thread.
    emz_ring_t *_emz_out_ring;
    emz_ring_t *_emz_in_ring;
    //  Writing end: inside a message; its topic; its frames so far; the last number
    //  of each topic.
    mutable bool _emz_writing_more;
    mutable bool _emz_key_set;
    uint64_t _emz_frames;
    std::string _emz_key;
    std::map<std::string, uint64_t> _emz_last;
    //  Reading end: inside a message returned; inside a message being dropped.
    bool _emz_reading_more;
    bool _emz_dropping;
    zmq::clock_t _emz_clock;

    bool emz_read_frame (msg_t *msg_);
    void emz_note_write (const msg_t *msg_, bool more_);
    bool emz_is_superseded (uint64_t n_);
"##,
            ),
        ],
    ),
    (
        "pipe.cpp",
        &[
            (
                r##"    _peers_msgs_read (0),
"##,
                r##"    _peers_msgs_read (0),
    _emz_byte_hwm (0),
    _emz_bytes_written (0),
    _emz_bytes_read (0),
    _emz_bytes_partial (0),
    _emz_first (0),
    _emz_report_bytes (0),
    _emz_bytes_unreported (0),
"##,
            ),
            (
                r##"    if (!(msg_->flags () & msg_t::more) && !msg_->is_routing_id ())
        _msgs_read++;

    if (_lwm > 0 && _msgs_read % _lwm == 0)
        send_activate_write (_peer, _msgs_read);
"##,
                r##"    const bool whole =
      !(msg_->flags () & msg_t::more) && !msg_->is_routing_id ();
    if (whole)
        _msgs_read++;
    _emz_bytes_unreported += msg_->size ();

    if (_lwm > 0 && _msgs_read % _lwm == 0) {
        send_activate_write (_peer, _msgs_read);
        //  Fired on a frame inside a message too (stock behaviour): that report
        //  leaves the message out, so its bytes stay unreported.
        if (whole)
            _emz_bytes_unreported = 0;
    } else if (whole) {
        const int report = _emz_report_bytes.load ();
        if (report > 0 && _emz_bytes_unreported >= uint64_t (report)) {
            send_activate_write (_peer, _msgs_read);
            _emz_bytes_unreported = 0;
        }
    }
"##,
            ),
            (
                r##"    const bool more = (msg_->flags () & msg_t::more) != 0;
    const bool is_routing_id = msg_->is_routing_id ();
    _out_pipe->write (*msg_, more);
    if (!more && !is_routing_id)
        _msgs_written++;
"##,
                r##"    const bool more = (msg_->flags () & msg_t::more) != 0;
    const bool is_routing_id = msg_->is_routing_id ();
    const size_t size = msg_->size ();
    _out_pipe->write (*msg_, more);
    if (!more && !is_routing_id)
        _msgs_written++;
    if (_emz_byte_hwm > 0) {
        _emz_bytes_partial += size;
        if (!more && !is_routing_id) {
            _emz_bytes_written += _emz_bytes_partial;
            _emz_bytes_partial = 0;
            _emz_ends.push_back (_emz_bytes_written);
        }
    }
"##,
            ),
            (
                r##"void zmq::pipe_t::rollback () const
{
"##,
                r##"void zmq::pipe_t::rollback () const
{
    _emz_bytes_partial = 0;
"##,
            ),
            (
                r##"    _peers_msgs_read = msgs_read_;
"##,
                r##"    _peers_msgs_read = msgs_read_;
    while (!_emz_ends.empty () && _emz_first < msgs_read_) {
        _emz_bytes_read = _emz_ends.front ();
        _emz_ends.pop_front ();
        _emz_first++;
    }
"##,
            ),
            (
                r##"    LIBZMQ_DELETE (_out_pipe);
"##,
                r##"    LIBZMQ_DELETE (_out_pipe);
    //  The unread messages are gone: none counts against the byte bound.
    _emz_ends.clear ();
    _emz_first = _msgs_written;
    _emz_bytes_read = _emz_bytes_written;
    _emz_bytes_partial = 0;
"##,
            ),
            (
                r##"bool zmq::pipe_t::check_hwm () const
{
    const bool full =
      _hwm > 0 && _msgs_written - _peers_msgs_read >= uint64_t (_hwm);
    return !full;
}
"##,
                r##"bool zmq::pipe_t::check_hwm () const
{
    const bool full =
      (_hwm > 0 && _msgs_written - _peers_msgs_read >= uint64_t (_hwm))
      || (_emz_byte_hwm > 0
          && _emz_bytes_written - _emz_bytes_read >= _emz_byte_hwm);
    return !full;
}

void zmq::pipe_t::emz_set_byte_hwm (int bytes_)
{
    _emz_byte_hwm = bytes_ > 0 ? static_cast<uint64_t> (bytes_) : 0;
    _emz_ends.clear ();
    _emz_first = _msgs_written;
    _emz_bytes_read = _emz_bytes_written;
    //  Half the bound: a reader holding less than that unreported has taken all but
    //  less than the bound, so a writer found full always hears from it again.
    if (_peer)
        _peer->_emz_report_bytes.store (bytes_ > 0 ? std::max (bytes_ / 2, 1)
                                                   : 0);
}
"##,
            ),
            //  Superseded messages (emz_supersede).
            (
                r##"    _emz_bytes_unreported (0),
"##,
                r##"    _emz_bytes_unreported (0),
    _emz_out_ring (NULL),
    _emz_in_ring (NULL),
    _emz_writing_more (false),
    _emz_key_set (false),
    _emz_frames (0),
    _emz_reading_more (false),
    _emz_dropping (false),
"##,
            ),
            (
                r##"zmq::pipe_t::~pipe_t ()
{
    _disconnect_msg.close ();
}
"##,
                r##"struct zmq::pipe_t::emz_ring_t
{
    struct slot_t
    {
        uint64_t id;
        uint64_t t_ms;
    };
    static const uint64_t newer = uint64_t (1) << 63;

    emz_ring_t (uint64_t size_, int after_ms_) :
        size (size_), after_ms (after_ms_), slots (new slot_t[size_]), refs (2),
        dropped (0)
    {
        for (uint64_t i = 0; i < size; ++i) {
            //  No message has this number.
            slots[i].id = ~uint64_t (0);
            slots[i].t_ms = 0;
        }
    }
    ~emz_ring_t () { delete[] slots; }

    const uint64_t size;
    const int after_ms;
    slot_t *const slots;
    int refs;
    uint64_t dropped;
};

static void emz_release (zmq::pipe_t::emz_ring_t *ring_)
{
    if (ring_ && __atomic_sub_fetch (&ring_->refs, 1, __ATOMIC_ACQ_REL) == 0)
        delete ring_;
}

zmq::pipe_t::~pipe_t ()
{
    _disconnect_msg.close ();
    emz_release (_emz_out_ring);
    emz_release (_emz_in_ring);
}

void zmq::pipe_t::emz_supersede (bool this_end_writes_, int after_ms_)
{
    pipe_t *const writer = this_end_writes_ ? this : _peer;
    pipe_t *const reader = this_end_writes_ ? _peer : this;
    if (after_ms_ < 0 || !writer || !reader
        || __atomic_load_n (&writer->_emz_out_ring, __ATOMIC_ACQUIRE))
        return;
    //  A slot is reused only once the reader has passed its message when the ring
    //  holds the direction's HWM; smaller rings only miss some drops.
    int64_t hwm = this_end_writes_ ? _hwm
                  : _lwm > 0    ? std::max (2 * _lwm, _lwm + 1024)
                                : 0;
    if (hwm <= 0)
        hwm = 1024;
    const uint64_t size =
      static_cast<uint64_t> (std::min<int64_t> (std::max<int64_t> (hwm + 1, 64), 65536));
    emz_ring_t *const ring = new (std::nothrow) emz_ring_t (size, after_ms_);
    alloc_assert (ring);
    __atomic_store_n (&reader->_emz_in_ring, ring, __ATOMIC_RELEASE);
    __atomic_store_n (&writer->_emz_out_ring, ring, __ATOMIC_RELEASE);
}

uint64_t zmq::pipe_t::emz_superseded () const
{
    emz_ring_t *ring = __atomic_load_n (&_emz_out_ring, __ATOMIC_ACQUIRE);
    if (!ring)
        ring = __atomic_load_n (&_emz_in_ring, __ATOMIC_ACQUIRE);
    return ring ? __atomic_load_n (&ring->dropped, __ATOMIC_RELAXED) : 0;
}

void zmq::pipe_t::emz_note_write (const msg_t *msg_, bool more_)
{
    const bool first = !_emz_writing_more;
    _emz_writing_more = more_;
    emz_ring_t *const ring = __atomic_load_n (&_emz_out_ring, __ATOMIC_ACQUIRE);
    if (!ring)
        return;
    if (first) {
        _emz_key.assign (
          static_cast<const char *> (const_cast<msg_t *> (msg_)->data ()),
          msg_->size ());
        _emz_key_set = true;
        _emz_frames = 0;
    }
    _emz_frames++;
    //  Only whole messages count: a rolled back one never reaches the reader.
    if (more_ || !_emz_key_set)
        return;
    _emz_key_set = false;
    //  The reader drops a message frame by frame within one read: one of absurdly
    //  many frames is left to the application, which takes it in bounded steps.
    if (_emz_frames > 1024)
        return;
    const uint64_t n = _msgs_written;
    emz_ring_t::slot_t &slot = ring->slots[n % ring->size];
    __atomic_store_n (&slot.t_ms, _emz_clock.now_ms (), __ATOMIC_RELAXED);
    //  Published to the reader by the flush that follows.
    __atomic_store_n (&slot.id, n, __ATOMIC_RELEASE);
    const std::map<std::string, uint64_t>::iterator last = _emz_last.find (_emz_key);
    if (last == _emz_last.end ()) {
        _emz_last.insert (std::make_pair (_emz_key, n));
        if (_emz_last.size () > 2 * ring->size + 64) {
            //  Topics whose last message's slot was reused cannot be marked.
            for (std::map<std::string, uint64_t>::iterator it = _emz_last.begin ();
                 it != _emz_last.end ();)
                if (it->second + ring->size <= n)
                    _emz_last.erase (it++);
                else
                    ++it;
        }
        return;
    }
    uint64_t older = last->second;
    last->second = n;
    //  Fails, harmlessly, when its slot holds a later message already.
    __atomic_compare_exchange_n (&ring->slots[older % ring->size].id, &older,
                                 older | emz_ring_t::newer, false,
                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

bool zmq::pipe_t::emz_is_superseded (uint64_t n_)
{
    emz_ring_t *const ring = __atomic_load_n (&_emz_in_ring, __ATOMIC_ACQUIRE);
    if (!ring)
        return false;
    const emz_ring_t::slot_t &slot = ring->slots[n_ % ring->size];
    if (__atomic_load_n (&slot.id, __ATOMIC_ACQUIRE) != (n_ | emz_ring_t::newer))
        return false;
    if (ring->after_ms > 0
        && _emz_clock.now_ms ()
             < __atomic_load_n (&slot.t_ms, __ATOMIC_RELAXED)
                 + static_cast<uint64_t> (ring->after_ms))
        return false;
    __atomic_fetch_add (&ring->dropped, 1, __ATOMIC_RELAXED);
    return true;
}

bool zmq::pipe_t::read (msg_t *msg_)
{
    while (true) {
        if (!emz_read_frame (msg_))
            return false;
        if (msg_->is_routing_id ())
            return true;
        const bool more = (msg_->flags () & msg_t::more) != 0;
        //  The frame counted already when it ends its message.
        if (!_emz_dropping && !_emz_reading_more
            && emz_is_superseded (more ? _msgs_read : _msgs_read - 1))
            _emz_dropping = true;
        if (!_emz_dropping) {
            _emz_reading_more = more;
            return true;
        }
        _emz_dropping = more;
        int rc = msg_->close ();
        errno_assert (rc == 0);
        rc = msg_->init ();
        errno_assert (rc == 0);
    }
}
"##,
            ),
            (
                r##"bool zmq::pipe_t::read (msg_t *msg_)
{
    if (unlikely (!_in_active))
"##,
                r##"bool zmq::pipe_t::emz_read_frame (msg_t *msg_)
{
    if (unlikely (!_in_active))
"##,
            ),
            (
                r##"    const size_t size = msg_->size ();
    _out_pipe->write (*msg_, more);
"##,
                r##"    const size_t size = msg_->size ();
    if (!is_routing_id)
        emz_note_write (msg_, more);
    _out_pipe->write (*msg_, more);
"##,
            ),
            (
                r##"void zmq::pipe_t::rollback () const
{
    _emz_bytes_partial = 0;
"##,
                r##"void zmq::pipe_t::rollback () const
{
    _emz_bytes_partial = 0;
    _emz_writing_more = false;
    _emz_key_set = false;
"##,
            ),
            (
                r##"    _emz_bytes_partial = 0;

    //  Plug in the new outpipe.
"##,
                r##"    _emz_bytes_partial = 0;
    //  Numbers of unread messages are given again.
    _emz_last.clear ();

    //  Plug in the new outpipe.
"##,
            ),
        ],
    ),
    (
        "dist.hpp",
        &[
            (
                r##"    // check HWM of all pipes matching
    bool check_hwm ();
"##,
                r##"    // check HWM of all pipes matching
    bool check_hwm ();

    //  emyzelium: whether the pipe gets the message being sent (matched, eligible and,
    //  once a part is written, not found full).
    bool emz_matching (zmq::pipe_t *pipe_)
    {
        return _pipes.index (pipe_) < _matching;
    }
"##,
            ),
        ],
    ),
    (
        "xpub.hpp",
        &[
            (
                r##"#include <deque>
"##,
                r##"#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>
"##,
            ),
            (
                r##"    std::deque<unsigned char> _pending_flags;

"##,
                r##"    std::deque<unsigned char> _pending_flags;

    //  emyzelium: the latest message of each topic, kept for each subscriber that could
    //  not take it (its queue was full) and written to it as soon as it has room again,
    //  instead of holding back every subscriber (NODROP) or losing it (lossy).
    struct emz_topic_t
    {
        //  Shared copies of the parts of the latest message of the topic.
        std::vector<msg_t> parts;
        //  Number of pipes it is pending for.
        size_t pipes;
    };
    bool _emz_latest;
    //  Byte bound of each subscriber's pipe (0: messages only, the send HWM).
    int _emz_queue_bytes;
    std::map<std::string, emz_topic_t> _emz_topics;
    std::map<pipe_t *, std::set<std::string> > _emz_pending;
    //  For the message being sent: pipes the trie matched, those of them that cannot
    //  take it, its topic, and copies of its parts when some pipe cannot take it.
    std::vector<pipe_t *> _emz_matched;
    std::vector<pipe_t *> _emz_deferred;
    std::string _emz_topic;
    std::vector<msg_t> _emz_parts;
    //  Pipes that could not take the last message sent.
    int _emz_last_deferred;
    //  Pipes activated in the middle of a multipart send: written to after it.
    std::set<pipe_t *> _emz_to_flush;
    //  Unsubscription check: the pipe looked for in the trie and whether it matched.
    pipe_t *_emz_probe;
    bool _emz_probe_found;

    void emz_begin (const msg_t *msg_);
    void emz_end ();
    void emz_flush (pipe_t *pipe_);
    void emz_forget (pipe_t *pipe_, const std::string &topic_);
    void emz_forget_unmatched (pipe_t *pipe_);
    void emz_forget_pipe (pipe_t *pipe_);
    void emz_clear ();
    static void emz_probe (zmq::pipe_t *pipe_, xpub_t *self_);

"##,
            ),
            (
                r##"    static void emz_probe (zmq::pipe_t *pipe_, xpub_t *self_);
"##,
                r##"    static void emz_probe (zmq::pipe_t *pipe_, xpub_t *self_);

    //  Superseded messages (pipe_t::emz_supersede): after how long (-1: never), the
    //  pipes attached with it, and the count of pipes gone.
    int _emz_supersede_ms;
    std::set<pipe_t *> _emz_ringed;
    uint64_t _emz_superseded_gone;
"##,
            ),
        ],
    ),
    (
        "xpub.cpp",
        &[
            (
                r##"    zmq_assert (pipe_);
    _dist.attach (pipe_);
"##,
                r##"    zmq_assert (pipe_);
    _dist.attach (pipe_);
    if (_emz_queue_bytes > 0)
        pipe_->emz_set_byte_hwm (_emz_queue_bytes);
"##,
            ),
            (
                r##"#include "generic_mtrie_impl.hpp"
"##,
                r##"#include "generic_mtrie_impl.hpp"

#include <algorithm>

//  emyzelium's private options (see emz-core/src/publisher.rs): turn the per-subscriber
//  latest value on; read the number of topics pending for some pipe; read the number of
//  pipes the last message could not be queued to; bound the bytes queued to each pipe
//  (applies to the pipes attached afterwards).
#define ZMQ_EMZ_XPUB_LATEST 0x454d5a01
#define ZMQ_EMZ_XPUB_PENDING 0x454d5a02
#define ZMQ_EMZ_XPUB_DEFERRED 0x454d5a03
#define ZMQ_EMZ_XPUB_QUEUE_BYTES 0x454d5a04
"##,
            ),
            (
                r##"    _welcome_msg ()
{
"##,
                r##"    _welcome_msg (),
    _emz_latest (false),
    _emz_queue_bytes (0),
    _emz_last_deferred (0),
    _emz_probe (NULL),
    _emz_probe_found (false)
{
"##,
            ),
            (
                r##"zmq::xpub_t::~xpub_t ()
{
    _welcome_msg.close ();
"##,
                r##"zmq::xpub_t::~xpub_t ()
{
    _welcome_msg.close ();
    emz_clear ();
"##,
            ),
            (
                r##"                    const mtrie_t::rm_result rm_result =
                      _subscriptions.rm (data, size, pipe_);
"##,
                r##"                    const mtrie_t::rm_result rm_result =
                      _subscriptions.rm (data, size, pipe_);
                    if (_emz_latest)
                        emz_forget_unmatched (pipe_);
"##,
            ),
            (
                r##"void zmq::xpub_t::xwrite_activated (pipe_t *pipe_)
{
    _dist.activated (pipe_);
}
"##,
                r##"void zmq::xpub_t::xwrite_activated (pipe_t *pipe_)
{
    _dist.activated (pipe_);
    if (_emz_latest)
        emz_flush (pipe_);
}

void zmq::xpub_t::emz_begin (const msg_t *msg_)
{
    _emz_deferred.clear ();
    for (size_t i = 0; i < _emz_parts.size (); ++i)
        _emz_parts[i].close ();
    _emz_parts.clear ();
    //  A pipe subscribed to several prefixes of the topic is reported once per prefix.
    std::sort (_emz_matched.begin (), _emz_matched.end ());
    _emz_matched.erase (std::unique (_emz_matched.begin (), _emz_matched.end ()),
                        _emz_matched.end ());
    if (options.invert_matching)
        _emz_matched.clear ();
    _emz_topic.assign (static_cast<const char *> (
                         const_cast<msg_t *> (msg_)->data ()),
                       msg_->size ());
    for (size_t i = 0; i < _emz_matched.size (); ++i) {
        pipe_t *pipe = _emz_matched[i];
        //  Not matched by the distributor: inactive since a write to it failed.
        if (_dist.emz_matching (pipe) && pipe->check_hwm ())
            //  It gets this message, which supersedes any pending one.
            emz_forget (pipe, _emz_topic);
        else
            _emz_deferred.push_back (pipe);
    }
    _emz_matched.clear ();
    _emz_last_deferred = static_cast<int> (_emz_deferred.size ());
}

void zmq::xpub_t::emz_end ()
{
    if (!_emz_deferred.empty ()) {
        emz_topic_t &topic = _emz_topics[_emz_topic];
        for (size_t i = 0; i < topic.parts.size (); ++i)
            topic.parts[i].close ();
        topic.parts.swap (_emz_parts);
        _emz_parts.clear ();
        for (size_t i = 0; i < _emz_deferred.size (); ++i)
            if (_emz_pending[_emz_deferred[i]].insert (_emz_topic).second)
                topic.pipes++;
        _emz_deferred.clear ();
        if (topic.pipes == 0) {
            for (size_t i = 0; i < topic.parts.size (); ++i)
                topic.parts[i].close ();
            _emz_topics.erase (_emz_topic);
        }
    }
    if (!_emz_to_flush.empty ()) {
        std::set<pipe_t *> pipes;
        pipes.swap (_emz_to_flush);
        for (std::set<pipe_t *>::iterator it = pipes.begin (); it != pipes.end ();
             ++it)
            emz_flush (*it);
    }
}

void zmq::xpub_t::emz_flush (pipe_t *pipe_)
{
    //  Never between the parts of a message: after it (emz_end).
    if (_more_send) {
        _emz_to_flush.insert (pipe_);
        return;
    }
    const std::map<pipe_t *, std::set<std::string> >::iterator pending =
      _emz_pending.find (pipe_);
    if (pending == _emz_pending.end ())
        return;
    const std::vector<std::string> topics (pending->second.begin (),
                                           pending->second.end ());
    for (size_t t = 0; t < topics.size (); ++t) {
        _dist.unmatch ();
        _dist.match (pipe_);
        if (!_dist.emz_matching (pipe_))
            break;
        //  Through the distributor, whole message, so that a full pipe is made
        //  inactive there (and activated again when it has room).
        const std::vector<msg_t> &parts = _emz_topics[topics[t]].parts;
        bool written = true;
        for (size_t i = 0; i < parts.size (); ++i) {
            msg_t copy;
            int rc = copy.init ();
            errno_assert (rc == 0);
            rc = copy.copy (const_cast<msg_t &> (parts[i]));
            errno_assert (rc == 0);
            _dist.send_to_matching (&copy);
            rc = copy.close ();
            errno_assert (rc == 0);
            if (i == 0)
                written = _dist.emz_matching (pipe_);
        }
        if (!written)
            break;
        emz_forget (pipe_, topics[t]);
    }
    _dist.unmatch ();
}

void zmq::xpub_t::emz_forget (pipe_t *pipe_, const std::string &topic_)
{
    const std::map<pipe_t *, std::set<std::string> >::iterator pending =
      _emz_pending.find (pipe_);
    if (pending == _emz_pending.end () || pending->second.erase (topic_) == 0)
        return;
    if (pending->second.empty ())
        _emz_pending.erase (pending);
    const std::map<std::string, emz_topic_t>::iterator topic =
      _emz_topics.find (topic_);
    zmq_assert (topic != _emz_topics.end () && topic->second.pipes > 0);
    if (--topic->second.pipes == 0) {
        for (size_t i = 0; i < topic->second.parts.size (); ++i)
            topic->second.parts[i].close ();
        _emz_topics.erase (topic);
    }
}

void zmq::xpub_t::emz_probe (pipe_t *pipe_, xpub_t *self_)
{
    if (pipe_ == self_->_emz_probe)
        self_->_emz_probe_found = true;
}

void zmq::xpub_t::emz_forget_unmatched (pipe_t *pipe_)
{
    const std::map<pipe_t *, std::set<std::string> >::iterator pending =
      _emz_pending.find (pipe_);
    if (pending == _emz_pending.end ())
        return;
    const std::vector<std::string> topics (pending->second.begin (),
                                           pending->second.end ());
    for (size_t t = 0; t < topics.size (); ++t) {
        _emz_probe = pipe_;
        _emz_probe_found = false;
        _subscriptions.match (
          reinterpret_cast<const unsigned char *> (topics[t].data ()),
          topics[t].size (), emz_probe, this);
        _emz_probe = NULL;
        if (!_emz_probe_found)
            emz_forget (pipe_, topics[t]);
    }
}

void zmq::xpub_t::emz_forget_pipe (pipe_t *pipe_)
{
    const std::map<pipe_t *, std::set<std::string> >::iterator pending =
      _emz_pending.find (pipe_);
    if (pending != _emz_pending.end ()) {
        const std::vector<std::string> topics (pending->second.begin (),
                                               pending->second.end ());
        for (size_t t = 0; t < topics.size (); ++t)
            emz_forget (pipe_, topics[t]);
    }
    _emz_to_flush.erase (pipe_);
    _emz_deferred.erase (
      std::remove (_emz_deferred.begin (), _emz_deferred.end (), pipe_),
      _emz_deferred.end ());
}

void zmq::xpub_t::emz_clear ()
{
    for (std::map<std::string, emz_topic_t>::iterator it = _emz_topics.begin ();
         it != _emz_topics.end (); ++it)
        for (size_t i = 0; i < it->second.parts.size (); ++i)
            it->second.parts[i].close ();
    _emz_topics.clear ();
    _emz_pending.clear ();
    for (size_t i = 0; i < _emz_parts.size (); ++i)
        _emz_parts[i].close ();
    _emz_parts.clear ();
    _emz_deferred.clear ();
    _emz_to_flush.clear ();
}
"##,
            ),
            (
                r##"    } else if (option_ == ZMQ_XPUB_WELCOME_MSG) {
"##,
                r##"    } else if (option_ == ZMQ_EMZ_XPUB_QUEUE_BYTES) {
        if (optvallen_ != sizeof (int)
            || *static_cast<const int *> (optval_) < 0) {
            errno = EINVAL;
            return -1;
        }
        _emz_queue_bytes = *static_cast<const int *> (optval_);
    } else if (option_ == ZMQ_EMZ_XPUB_LATEST) {
        if (optvallen_ != sizeof (int)
            || *static_cast<const int *> (optval_) < 0) {
            errno = EINVAL;
            return -1;
        }
        _emz_latest = *static_cast<const int *> (optval_) != 0;
        if (!_emz_latest)
            emz_clear ();
    } else if (option_ == ZMQ_XPUB_WELCOME_MSG) {
"##,
            ),
            (
                r##"            _subscriptions.rm ((unsigned char *) optval_, optvallen_,
                               _last_pipe);
"##,
                r##"            _subscriptions.rm ((unsigned char *) optval_, optvallen_,
                               _last_pipe);
        if (_last_pipe != NULL && _emz_latest)
            emz_forget_unmatched (_last_pipe);
"##,
            ),
            (
                r##"    // room for future options here
"##,
                r##"    if (option_ == ZMQ_EMZ_XPUB_PENDING)
        return do_getsockopt<int> (optval_, optvallen_,
                                   static_cast<int> (_emz_topics.size ()));
    if (option_ == ZMQ_EMZ_XPUB_DEFERRED)
        return do_getsockopt<int> (optval_, optvallen_, _emz_last_deferred);

    // room for future options here
"##,
            ),
            (
                r##"        _subscriptions.rm (pipe_, send_unsubscription, this, !_verbose_unsubs);
    }

    _dist.pipe_terminated (pipe_);
"##,
                r##"        _subscriptions.rm (pipe_, send_unsubscription, this, !_verbose_unsubs);
    }

    emz_forget_pipe (pipe_);
    _dist.pipe_terminated (pipe_);
"##,
            ),
            (
                r##"void zmq::xpub_t::mark_as_matching (pipe_t *pipe_, xpub_t *self_)
{
    self_->_dist.match (pipe_);
}
"##,
                r##"void zmq::xpub_t::mark_as_matching (pipe_t *pipe_, xpub_t *self_)
{
    self_->_dist.match (pipe_);
    if (self_->_emz_latest)
        self_->_emz_matched.push_back (pipe_);
}
"##,
            ),
            (
                r##"    if (self_->_last_pipe == pipe_)
        self_->_dist.match (pipe_);
}
"##,
                r##"    if (self_->_last_pipe == pipe_) {
        self_->_dist.match (pipe_);
        if (self_->_emz_latest)
            self_->_emz_matched.push_back (pipe_);
    }
}
"##,
            ),
            (
                r##"        if (options.invert_matching) {
            _dist.reverse_match ();
        }
    }

    int rc = -1; //  Assume we fail
    if (_lossy || _dist.check_hwm ()) {
        if (_dist.send_to_matching (msg_) == 0) {
            //  If we are at the end of multi-part message we can mark
            //  all the pipes as non-matching.
            if (!msg_more)
                _dist.unmatch ();
            _more_send = msg_more;
            rc = 0; //  Yay, sent successfully
        }
"##,
                r##"        if (options.invert_matching) {
            _dist.reverse_match ();
        }
        if (_emz_latest)
            emz_begin (msg_);
    }

    //  Copies of the parts for the pipes that cannot take them now (shared, not
    //  copied bytes, for large parts); taken before the distributor consumes them.
    if (_emz_latest && !_emz_deferred.empty ()) {
        msg_t copy;
        int rc = copy.init ();
        errno_assert (rc == 0);
        rc = copy.copy (*msg_);
        errno_assert (rc == 0);
        _emz_parts.push_back (copy);
    }

    int rc = -1; //  Assume we fail
    if (_lossy || _emz_latest || _dist.check_hwm ()) {
        if (_dist.send_to_matching (msg_) == 0) {
            //  If we are at the end of multi-part message we can mark
            //  all the pipes as non-matching.
            if (!msg_more)
                _dist.unmatch ();
            _more_send = msg_more;
            rc = 0; //  Yay, sent successfully
            if (_emz_latest && !msg_more)
                emz_end ();
        }
"##,
            ),
            (
                r##"        pipe_->emz_set_byte_hwm (_emz_queue_bytes);
"##,
                r##"        pipe_->emz_set_byte_hwm (_emz_queue_bytes);
    if (_emz_supersede_ms >= 0) {
        pipe_->emz_supersede (true, _emz_supersede_ms);
        _emz_ringed.insert (pipe_);
    }
"##,
            ),
            (
                r##"    _emz_probe_found (false)
{
"##,
                r##"    _emz_probe_found (false),
    _emz_supersede_ms (-1),
    _emz_superseded_gone (0)
{
"##,
            ),
            (
                r##"    emz_forget_pipe (pipe_);
    _dist.pipe_terminated (pipe_);
"##,
                r##"    emz_forget_pipe (pipe_);
    if (_emz_ringed.erase (pipe_))
        _emz_superseded_gone += pipe_->emz_superseded ();
    _dist.pipe_terminated (pipe_);
"##,
            ),
            (
                r##"    } else if (option_ == ZMQ_EMZ_XPUB_LATEST) {
"##,
                r##"    } else if (option_ == ZMQ_EMZ_SUPERSEDE_MS) {
        if (optvallen_ != sizeof (int)) {
            errno = EINVAL;
            return -1;
        }
        _emz_supersede_ms = std::max (*static_cast<const int *> (optval_), -1);
    } else if (option_ == ZMQ_EMZ_XPUB_LATEST) {
"##,
            ),
            (
                r##"    if (option_ == ZMQ_EMZ_XPUB_DEFERRED)
"##,
                r##"    if (option_ == ZMQ_EMZ_SUPERSEDED) {
        uint64_t n = _emz_superseded_gone;
        for (std::set<pipe_t *>::const_iterator it = _emz_ringed.begin ();
             it != _emz_ringed.end (); ++it)
            n += (*it)->emz_superseded ();
        return do_getsockopt<uint64_t> (optval_, optvallen_, n);
    }
    if (option_ == ZMQ_EMZ_XPUB_DEFERRED)
"##,
            ),
        ],
    ),
    // A subscriber that reads late skips what is already stale: a queued etale with a
    // newer one of its title behind it, queued at least `supersede_after` ago, is dropped
    // by the reader of the pipe, the publisher's connection (before encrypting it) or
    // the subscriber's socket (before the application sees it). A reader that keeps up
    // never meets one that old, so a fast subscriber still gets every etale. Each
    // direction of a pipe shares a ring with its writer: one slot per queued message,
    // holding its number, a mark once a newer message of its topic is queued, and the
    // time it was queued (design in src/publisher.rs).
    (
        "xsub.hpp",
        &[
            (
                r##"#include "fq.hpp"
"##,
                r##"#include "fq.hpp"
#include "pipe.hpp"

#include <set>
"##,
            ),
            (
                r##"    bool _only_first_subscribe;
"##,
                r##"    bool _only_first_subscribe;

    //  emyzelium: as in xpub_t (ZMQ_EMZ_SUPERSEDE_MS, on the pipes' inbound side).
    int _emz_supersede_ms;
    std::set<pipe_t *> _emz_ringed;
    uint64_t _emz_superseded_gone;
"##,
            ),
        ],
    ),
    (
        "xsub.cpp",
        &[
            (
                r##"    _only_first_subscribe (false)
{
"##,
                r##"    _only_first_subscribe (false),
    _emz_supersede_ms (-1),
    _emz_superseded_gone (0)
{
"##,
            ),
            (
                r##"    _fq.attach (pipe_);
    _dist.attach (pipe_);
"##,
                r##"    _fq.attach (pipe_);
    _dist.attach (pipe_);
    if (_emz_supersede_ms >= 0) {
        pipe_->emz_supersede (false, _emz_supersede_ms);
        _emz_ringed.insert (pipe_);
    }
"##,
            ),
            (
                r##"    _fq.pipe_terminated (pipe_);
    _dist.pipe_terminated (pipe_);
"##,
                r##"    if (_emz_ringed.erase (pipe_))
        _emz_superseded_gone += pipe_->emz_superseded ();
    _fq.pipe_terminated (pipe_);
    _dist.pipe_terminated (pipe_);
"##,
            ),
            (
                r##"    if (option_ == ZMQ_ONLY_FIRST_SUBSCRIBE) {
"##,
                r##"    if (option_ == ZMQ_EMZ_SUPERSEDE_MS) {
        if (optvallen_ != sizeof (int)) {
            errno = EINVAL;
            return -1;
        }
        const int ms = *static_cast<const int *> (optval_);
        _emz_supersede_ms = ms < 0 ? -1 : ms;
        return 0;
    }
    if (option_ == ZMQ_ONLY_FIRST_SUBSCRIBE) {
"##,
            ),
            (
                r##"int zmq::xsub_t::xgetsockopt (int option_, void *optval_, size_t *optvallen_)
{
"##,
                r##"int zmq::xsub_t::xgetsockopt (int option_, void *optval_, size_t *optvallen_)
{
    if (option_ == ZMQ_EMZ_SUPERSEDED) {
        uint64_t n = _emz_superseded_gone;
        for (std::set<pipe_t *>::const_iterator it = _emz_ringed.begin ();
             it != _emz_ringed.end (); ++it)
            n += (*it)->emz_superseded ();
        return do_getsockopt<uint64_t> (optval_, optvallen_, n);
    }
"##,
            ),
        ],
    ),
    (
        "sub.cpp",
        &[(
            r##"    if (option_ != ZMQ_SUBSCRIBE && option_ != ZMQ_UNSUBSCRIBE) {
"##,
            r##"    if (option_ == ZMQ_EMZ_SUPERSEDE_MS)
        return xsub_t::xsetsockopt (option_, optval_, optvallen_);
    if (option_ != ZMQ_SUBSCRIBE && option_ != ZMQ_UNSUBSCRIBE) {
"##,
        )],
    ),
];

/// zeromq-src compiles from its own read-only copy of the sources, so each patched file
/// is compiled here, with the same defines, and swapped into libzmq.a. A patch whose
/// text is not found stops the build: a new libzmq needs the patches reviewed.
///
/// A patched header can change a class layout, so every translation unit that includes
/// it, directly or through other headers, is recompiled too: those are found by reading
/// the `#include "..."` lines, not listed by hand. The patched files and every file that
/// includes one of them are written to one directory, because a quoted include is looked
/// up next to the including file first (an unpatched copy there would win).
#[cfg(feature = "vendored")]
fn patch_libzmq(sodium_include: &str, target: &str) {
    use std::path::PathBuf;
    use std::process::Command;

    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let src = out.join("source/src");
    let dir = out.join("patched");
    // Start clean: a file patched by an earlier build may no longer be.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // Same translation-unit settings as zeromq-src 0.3.6 uses on Linux (class layouts
    // must match the rest of the library); our CXXFLAGS apply to both builds.
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .std("c++11")
        .include(&dir)
        .include(out.join("source/include"))
        .include(&src)
        .include(&out)
        .include(sodium_include)
        .define("ZMQ_BUILD_TESTS", "OFF")
        .define("ZMQ_USE_CV_IMPL_STL11", "1")
        .define("ZMQ_STATIC", "1")
        .define("ZMQ_USE_BUILTIN_SHA1", "1")
        .define("ZMQ_HAVE_WS", "1")
        .define("ZMQ_USE_LIBSODIUM", "1")
        .define("ZMQ_HAVE_CURVE", "1");
    if target.contains("linux") {
        for d in [
            "ZMQ_HAVE_LINUX",
            "ZMQ_IOTHREAD_POLLER_USE_EPOLL",
            "ZMQ_POLL_BASED_ON_POLL",
            "ZMQ_HAVE_IPC",
            "HAVE_STRNLEN",
            "ZMQ_HAVE_UIO",
            "ZMQ_HAVE_STRUCT_SOCKADDR_UN",
        ] {
            build.define(d, "1");
        }
    }
    let mut texts = std::collections::BTreeMap::new();
    for (name, edits) in PATCHES {
        let mut text = std::fs::read_to_string(src.join(name)).expect("zeromq-src copied its sources");
        for (from, to) in edits.iter() {
            let found = text.matches(from).count();
            assert!(
                found == 1,
                "libzmq's {name} changed ({found} places match {from:?}): review its patch in build.rs"
            );
            text = text.replace(from, to);
        }
        texts.insert(name.to_string(), text);
    }
    for name in includers(&src, texts.keys().cloned().collect()) {
        if !texts.contains_key(&name) {
            texts.insert(name.clone(), std::fs::read_to_string(src.join(&name)).unwrap());
        }
    }
    let lib = out.join("lib/libzmq.a");
    let list = Command::new("ar").arg("t").arg(&lib).output().expect("ar");
    let members = String::from_utf8_lossy(&list.stdout).into_owned();
    // Object names are `<hash>-<stem>.o` (cc) or `<stem>.o`: match the whole stem, so
    // that `pub` does not pick `xpub`.
    let is_object_of = |file: &str, stem: &str| file == format!("{stem}.o") || file.ends_with(&format!("-{stem}.o"));
    let mut units = Vec::new();
    for (name, text) in &texts {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let Some(stem) = name.strip_suffix(".cpp") else { continue };
        // An includer that zeromq-src does not compile (WSS, other platforms) stays out.
        if !PATCHES.iter().any(|(n, _)| n == name) && !members.lines().any(|m| is_object_of(m, stem)) {
            continue;
        }
        build.file(&file);
        units.push(stem.to_string());
    }
    let objects = build.compile_intermediates();

    let run = |args: &[&std::ffi::OsStr]| {
        let st = Command::new("ar").args(args).status().expect("ar");
        assert!(st.success(), "ar {args:?} failed");
    };
    for stem in &units {
        let object = objects
            .iter()
            .find(|o| o.file_name().is_some_and(|f| is_object_of(&f.to_string_lossy(), stem)))
            .unwrap_or_else(|| panic!("no object for {stem}.cpp"));
        let member = members.lines().find(|m| is_object_of(m, stem)).unwrap_or_else(|| panic!("{stem}.o in libzmq.a"));
        run(&["d".as_ref(), lib.as_os_str(), member.as_ref()]);
        run(&["rs".as_ref(), lib.as_os_str(), object.as_os_str()]);
    }
}

/// Every file in `src` that includes one of `files`, directly or through other files of
/// `src` (quoted includes only: libzmq includes its own headers that way).
#[cfg(feature = "vendored")]
fn includers(src: &std::path::Path, files: Vec<String>) -> std::collections::BTreeSet<String> {
    let mut includes = Vec::new();
    for entry in std::fs::read_dir(src).expect("libzmq sources") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".cpp") || name.ends_with(".hpp")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let quoted: Vec<String> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("#include")?.trim().strip_prefix('"')?.split('"').next())
            .map(str::to_string)
            .collect();
        includes.push((name, quoted));
    }
    let mut found: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut todo = files;
    while let Some(header) = todo.pop() {
        for (name, quoted) in &includes {
            if quoted.contains(&header) && found.insert(name.clone()) {
                todo.push(name.clone());
            }
        }
    }
    found
}

/// What every global symbol of the vendored libzmq and libsodium starts with: the FFI
/// declarations in src/sys/zmq.rs read it back through `EMZ_SYMBOL_PREFIX`.
#[cfg(feature = "vendored")]
const SYMBOL_PREFIX: &str = "emzv_";

/// Compiles the libsodium subset of `vendor/libsodium` (what libzmq's CURVE calls, with
/// libsodium's own fast implementations: the sandy2x/ref10-51 Curve25519, the SSE2/AVX2
/// Salsa20 and Poly1305 picked at run time) into `<OUT_DIR>/sodium/libsodium.a`.
/// Returns that directory and the include directory, for zeromq-src, which links it as
/// `sodium`. It is built here rather than taken from a `-sys` crate because those
/// declare `links = "sodium"`, and Cargo allows one package per `links` value in a
/// dependency graph: a program could then not use emyzelium beside sodiumoxide.
#[cfg(feature = "vendored")]
fn build_libsodium() -> (std::path::PathBuf, std::path::PathBuf) {
    use std::path::PathBuf;

    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("vendor/libsodium/src/libsodium");
    let include = root.join("include");
    println!("cargo:rerun-if-changed={}", root.display());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("sodium");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();

    let files: Vec<PathBuf> =
        files_under(&root).into_iter().filter(|p| p.extension().is_some_and(|e| e == "c" || e == "S")).collect();

    let cfg = |name: &str| env::var(format!("CARGO_CFG_{name}")).unwrap_or_default();
    let (arch, os) = (cfg("TARGET_ARCH"), cfg("TARGET_OS"));
    let mut build = cc::Build::new();
    build
        .files(&files)
        .include(&include)
        .include(include.join("sodium"))
        .out_dir(&out)
        .cargo_metadata(false)
        .warnings(false)
        // Always -O3, as libsodium's own build: the dev profile would otherwise compile
        // it at -O0, and every etale goes through it.
        .opt_level(3)
        .flag_if_supported("-fvisibility=hidden")
        .flag_if_supported("-fno-strict-aliasing")
        .flag_if_supported("-fno-strict-overflow")
        .flag_if_supported("-fwrapv")
        .flag_if_supported("-flax-vector-conversions");
    // What libsodium's configure (or its build.zig) finds on these targets.
    let mut defines = vec![
        "CONFIGURED",
        "HAVE_INLINE_ASM",
        "HAVE_STDINT_H",
        "HAVE_INTTYPES_H",
        "HAVE_GCC_MEMORY_FENCES",
        "HAVE_ATOMIC_OPS",
    ];
    if cfg("TARGET_ENDIAN") == "big" {
        defines.push("NATIVE_BIG_ENDIAN");
    } else {
        defines.push("NATIVE_LITTLE_ENDIAN");
    }
    if cfg("TARGET_POINTER_WIDTH") == "64" {
        // 128-bit integers: the 51-bit-limb field arithmetic and the 64-bit Poly1305.
        defines.push("HAVE_TI_MODE");
    }
    if cfg("TARGET_FAMILY") == "unix" {
        defines.extend([
            "HAVE_PTHREAD",
            "HAVE_MMAP",
            "HAVE_MPROTECT",
            "HAVE_MLOCK",
            "HAVE_MADVISE",
            "HAVE_POSIX_MEMALIGN",
            "HAVE_SYSCONF",
            "HAVE_SYS_MMAN_H",
            "HAVE_SYS_PARAM_H",
            "HAVE_CLOCK_GETTIME",
            "HAVE_NANOSLEEP",
            "HAVE_RAISE",
            "HAVE_GETPID",
            "HAVE_WEAK_SYMBOLS",
        ]);
        build.define("ASM_HIDE_SYMBOL", ".hidden");
        build.define("TLS", "_Thread_local");
    }
    if os == "linux" || os == "android" {
        // getrandom(2) for randombytes.
        defines.extend(["_GNU_SOURCE", "HAVE_SYS_RANDOM_H", "HAVE_SYS_AUXV_H"]);
    }
    if arch == "x86_64" {
        if cfg("TARGET_FAMILY") == "unix" {
            // The assembly Curve25519 (sandy2x) and Salsa20 (xmm6).
            defines.extend(["HAVE_AMD64_ASM", "HAVE_AVX_ASM"]);
        }
        // The SIMD files enable their instruction sets per function (target
        // pragmas); runtime.c picks them by CPUID.
        defines.extend([
            "HAVE_CPUID",
            "HAVE_XGETBV_ASM",
            "HAVE_MMINTRIN_H",
            "HAVE_EMMINTRIN_H",
            "HAVE_PMMINTRIN_H",
            "HAVE_TMMINTRIN_H",
            "HAVE_SMMINTRIN_H",
            "HAVE_AVXINTRIN_H",
            "HAVE_AVX2INTRIN_H",
            "HAVE_AVX512FINTRIN_H",
            "HAVE_WMMINTRIN_H",
        ]);
    }
    for d in defines {
        build.define(d, "1");
    }
    build.compile("sodium");
    (out, include)
}

/// Every file under `dir`, depth first, each directory's entries in name order (the same
/// order on every machine: it is libsodium's compile order and part of the cache key).
#[cfg(feature = "vendored")]
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let mut found = Vec::new();
    for path in entries {
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Renames every symbol the archives define (C functions and data, C++ classes, template
/// instances, everything) to `SYMBOL_PREFIX` + name, in the definitions and in every
/// reference from one archive to the other, so that the copies are ours alone: another
/// libzmq or libsodium linked into the same program keeps its own names, and neither
/// copy's calls, objects or globals (libsodium's initialisation, libzmq's classes) reach
/// the other. File-local symbols are renamed too, although they cannot clash: then no
/// symbol of our copies goes by a common name, which tests/run-coexist.sh checks.
#[cfg(feature = "vendored")]
fn prefix_symbols(archives: &[std::path::PathBuf]) {
    use std::process::Command;

    let tool = |name: &str, default: &str| env::var(name).unwrap_or_else(|_| default.to_string());
    let (nm, objcopy, ranlib) = (tool("NM", "nm"), tool("OBJCOPY", "objcopy"), tool("RANLIB", "ranlib"));
    let mut names = std::collections::BTreeSet::new();
    for archive in archives {
        let listing = Command::new(&nm)
            .args(["--defined-only", "--format=posix"])
            .arg(archive)
            .output()
            .unwrap_or_else(|e| panic!("{nm} (binutils) is needed to build the vendored libzmq: {e}"));
        assert!(listing.status.success(), "{nm} {} failed", archive.display());
        // Lines are `name type [value size]`; archive members appear as `lib.a[x.o]:`.
        for line in String::from_utf8_lossy(&listing.stdout).lines() {
            let mut fields = line.split_whitespace();
            if let (Some(name), Some(kind)) = (fields.next(), fields.next()) {
                if kind.len() == 1 && !name.ends_with(':') && !name.starts_with(SYMBOL_PREFIX) {
                    names.insert(name.to_string());
                }
            }
        }
    }
    assert!(
        names.contains("zmq_ctx_new") && names.contains("crypto_box_easy_afternm"),
        "nm listed no libzmq/libsodium symbols"
    );
    let out = std::path::PathBuf::from(env::var("OUT_DIR").unwrap());
    let map = out.join("prefix-symbols.map");
    let text: String = names.iter().map(|n| format!("{n} {SYMBOL_PREFIX}{n}\n")).collect();
    std::fs::write(&map, text).unwrap();
    for archive in archives {
        let mut redefine = std::ffi::OsString::from("--redefine-syms=");
        redefine.push(&map);
        let st = Command::new(&objcopy)
            .arg(redefine)
            .arg(archive)
            .status()
            .unwrap_or_else(|e| panic!("{objcopy} (binutils) is needed to build the vendored libzmq: {e}"));
        assert!(st.success(), "{objcopy} --redefine-syms {} failed", archive.display());
        let st = Command::new(&ranlib).arg(archive).status().expect("ranlib");
        assert!(st.success(), "{ranlib} {} failed", archive.display());
    }
}

#[cfg(not(feature = "vendored"))]
fn build_vendored() {
    unreachable!()
}
