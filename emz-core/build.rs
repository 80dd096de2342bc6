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
    let include = env::var("DEP_SODIUM_INCLUDE").expect("libsodium-sys-stable did not report DEP_SODIUM_INCLUDE");

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

    zeromq_src::Build::new().with_libsodium(Some(zeromq_src::LibLocation::new(lib, &include))).build();
    patch_libzmq(&include, &target);
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
            assert!(text.matches(from).count() == 1, "libzmq's {name} changed: review its patch in build.rs");
            text = text.replace(from, to);
        }
        texts.insert(name.to_string(), text);
    }
    for name in includers(&src, texts.keys().cloned().collect()) {
        if !texts.contains_key(&name) {
            texts.insert(name.clone(), std::fs::read_to_string(src.join(&name)).unwrap());
        }
    }
    let mut units = Vec::new();
    for (name, text) in &texts {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        if name.ends_with(".cpp") {
            build.file(&file);
            units.push(name.trim_end_matches(".cpp").to_string());
        }
    }
    let objects = build.compile_intermediates();

    let lib = out.join("lib/libzmq.a");
    let list = Command::new("ar").arg("t").arg(&lib).output().expect("ar");
    let members = String::from_utf8_lossy(&list.stdout).into_owned();
    let run = |args: &[&std::ffi::OsStr]| {
        let st = Command::new("ar").args(args).status().expect("ar");
        assert!(st.success(), "ar {args:?} failed");
    };
    // Object names are `<hash>-<stem>.o` (cc) or `<stem>.o`: match the whole stem, so
    // that `pub` does not pick `xpub`.
    let is_object_of = |file: &str, stem: &str| file == format!("{stem}.o") || file.ends_with(&format!("-{stem}.o"));
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

#[cfg(not(feature = "vendored"))]
fn build_vendored() {
    unreachable!()
}
