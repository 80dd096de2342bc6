//! Builds (or finds) the libzmq the crate links against.
//!
//! Default: libzmq 4.3.5 from `zeromq-src`, compiled with libsodium from
//! `libsodium-sys-stable`, both static, so CURVE is always there and nothing is
//! needed from the system. Feature `system-zmq` (without `vendored`) links the
//! system libzmq via pkg-config instead.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let vendored = env::var_os("CARGO_FEATURE_VENDORED").is_some();
    if !vendored {
        link_system();
        return;
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
    let lib = env::var("DEP_SODIUM_LIB").expect("libsodium-sys-stable did not report DEP_SODIUM_LIB");
    let include =
        env::var("DEP_SODIUM_INCLUDE").expect("libsodium-sys-stable did not report DEP_SODIUM_INCLUDE");

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

    zeromq_src::Build::new()
        .with_libsodium(Some(zeromq_src::LibLocation::new(lib, include)))
        .build();
}

#[cfg(not(feature = "vendored"))]
fn build_vendored() {
    unreachable!()
}
