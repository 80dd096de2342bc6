/// @file emyzelium.hpp
/// Header-only C++17 RAII wrapper over the emyzelium C API (emyzelium.h).
/// SPDX-License-Identifier: GPL-3.0-or-later
///
/// What the original emyzelium-cpp class offered (Efunguz, Ehypha, Etale, emit_etale,
/// update, the three counters), over the shared Rust implementation:
/// - emz::Efunguz owns its handle and is move-only; emz::Ehypha and emz::Etale are cheap,
///   copyable, non-owning views, valid as stated in emyzelium.h (until their deletion or
///   the efunguz's destruction).
/// - Every failure throws emz::Error (a std::runtime_error) carrying the emz_result_t code
///   and the detailed message. Nothing is ever silently ignored.
/// - Etale::parts() returns zero-copy views (emz::Bytes), valid until the next update()
///   or wait() of the efunguz; copy them (Bytes::to_vector) to keep them longer.
///
/// Threads: an emz::Efunguz may be moved to (or built for) another thread, but one thread
/// at a time uses it, with its views (Ehypha, Etale, Parts): guard it with a mutex to share
/// it. Different efungi may be used by different threads at once. The free functions
/// (new_key_pair, public_key, ...) are thread-safe.
#ifndef EMYZELIUM_HPP
#define EMYZELIUM_HPP

// One clear error instead of many deep inside <string_view> (MSVC keeps __cplusplus at
// 199711L unless /Zc:__cplusplus, and gives the standard in _MSVC_LANG).
#if !defined(__cplusplus)
#error "emyzelium.hpp is C++17; C programs include emyzelium.h"
#elif defined(_MSVC_LANG) && _MSVC_LANG < 201703L
#error "emyzelium.hpp needs C++17: compile with /std:c++17 or later"
#elif !defined(_MSVC_LANG) && __cplusplus < 201703L
#error "emyzelium.hpp needs C++17: compile with -std=c++17 or later"
#else

#include "emyzelium.h"

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emz {

/// A failed call: the C result code and the library's detailed message.
class Error : public std::runtime_error {
  public:
    /// A failure with its C result code and message.
    Error(emz_result_t code, const std::string &message) : std::runtime_error(message), code_(code) {}
    /// The C result code (EMZ_ERR_INVALID_KEY, ...).
    emz_result_t code() const noexcept { return code_; }

  private:
    emz_result_t code_;
};

namespace detail {
inline void check(emz_result_t rc) {
    if (rc != EMZ_OK) {
        const char *msg = emz_last_error();
        throw Error(rc, std::string(emz_result_str(static_cast<int>(rc))) + ": " + (msg ? msg : ""));
    }
}
} // namespace detail

/// Read-only bytes (a part of an etale, or data to emit). Does not own them.
class Bytes {
  public:
    /// No bytes.
    constexpr Bytes() noexcept = default;
    /// `size` bytes at `data` (not copied: they must outlive the view).
    constexpr Bytes(const std::uint8_t *data, std::size_t size) noexcept : data_(data), size_(size) {}
    /// The bytes of a string (without a terminating NUL); the same for the next three.
    Bytes(std::string_view s) noexcept : data_(reinterpret_cast<const std::uint8_t *>(s.data())), size_(s.size()) {}
    /// The bytes of a std::string.
    Bytes(const std::string &s) noexcept : Bytes(std::string_view(s)) {}
    /// The bytes of a C string, without its NUL.
    Bytes(const char *s) : Bytes(std::string_view(s)) {}
    /// The bytes of a vector.
    Bytes(const std::vector<std::uint8_t> &v) noexcept : data_(v.data()), size_(v.size()) {}
    /// A part seen through the C API.
    Bytes(emz_part_t p) noexcept : data_(p.ptr), size_(p.len) {}

    /// The first byte.
    const std::uint8_t *data() const noexcept { return data_; }
    /// Number of bytes.
    std::size_t size() const noexcept { return size_; }
    /// Whether there are no bytes.
    bool empty() const noexcept { return size_ == 0; }
    /// Iteration over the bytes.
    const std::uint8_t *begin() const noexcept { return data_; }
    /// Past the last byte.
    const std::uint8_t *end() const noexcept { return data_ + size_; }
    /// The byte at `i` (unchecked).
    std::uint8_t operator[](std::size_t i) const noexcept { return data_[i]; }
    /// The bytes as text (no copy).
    std::string_view str() const noexcept {
        return size_ ? std::string_view(reinterpret_cast<const char *>(data_), size_) : std::string_view();
    }
    /// A copy that outlives the view.
    std::vector<std::uint8_t> to_vector() const { return std::vector<std::uint8_t>(begin(), end()); }
    /// The C API's view of the same bytes.
    emz_part_t part() const noexcept {
        emz_part_t p;
        p.ptr = data_;
        p.len = size_;
        return p;
    }

  private:
    const std::uint8_t *data_ = nullptr;
    std::size_t size_ = 0;
};

/// A CURVE key pair, Z85.
struct KeyPair {
    /// Z85, 40 characters: give it to peers.
    std::string public_key;
    /// Z85, 40 characters: keep it secret.
    std::string secret_key;
};

/// A new CURVE key pair.
inline KeyPair new_key_pair() {
    char pub[EMZ_KEY_BUF_LEN], sec[EMZ_KEY_BUF_LEN];
    detail::check(emz_new_key_pair(pub, sec));
    return KeyPair{pub, sec};
}

/// The public key of a secret key.
inline std::string public_key(const std::string &secret_key) {
    char pub[EMZ_KEY_BUF_LEN];
    detail::check(emz_public_key(secret_key.c_str(), pub));
    return pub;
}

/// Whether `key` is a valid Z85 CURVE key.
inline bool is_valid_key(const std::string &key) {
    return emz_is_valid_key(key.c_str());
}
/// The library's version ("0.10.0").
inline std::string version() {
    return emz_version();
}
/// Whether the linked libzmq has CURVE (always, with the vendored build).
inline bool has_curve() {
    return emz_has_curve();
}
/// µs since the Unix epoch: the clock of t_out and t_in.
inline std::int64_t now_us() {
    return emz_now_us();
}

/// The keys of a file, one a line (blank lines and `#` comments allowed).
inline std::vector<std::string> read_keys_file(const std::string &path) {
    std::size_t n = 0;
    detail::check(emz_read_keys_file(path.c_str(), nullptr, 0, &n));
    std::vector<char> buf(n * EMZ_KEY_BUF_LEN + 1);
    std::size_t got = 0;
    detail::check(emz_read_keys_file(path.c_str(), reinterpret_cast<char(*)[EMZ_KEY_BUF_LEN]>(buf.data()), n, &got));
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < got && i < n; i++) keys.emplace_back(buf.data() + i * EMZ_KEY_BUF_LEN);
    return keys;
}

/// Lowercase name of an ehypha state ("up", "rejected", ...).
inline std::string_view state_name(emz_ehypha_state_t s) noexcept {
    return emz_ehypha_state_name(static_cast<int>(s));
}

/// The latest data of an etale: zero-copy parts plus t_out / t_in (µs since the Unix
/// epoch; -1 before the first arrival). Valid until the next update()/wait().
class Parts {
  public:
    /// Wraps what emz_etale_parts returned.
    Parts(const emz_part_t *p, std::size_t n, std::int64_t t_out, std::int64_t t_in) noexcept
        : p_(p), n_(n), t_out_(t_out), t_in_(t_in) {}
    /// Number of parts.
    std::size_t size() const noexcept { return n_; }
    /// Whether there are no parts.
    bool empty() const noexcept { return n_ == 0; }
    /// Part `i` (unchecked).
    Bytes operator[](std::size_t i) const noexcept { return Bytes(p_[i]); }
    /// Part `i`; std::out_of_range past the end.
    Bytes at(std::size_t i) const {
        if (i >= n_) throw std::out_of_range("emz::Parts::at");
        return Bytes(p_[i]);
    }
    /// µs since the Unix epoch at the sender; -1 before the first arrival.
    std::int64_t t_out() const noexcept { return t_out_; }
    /// µs since the Unix epoch here at arrival; -1 before the first arrival.
    std::int64_t t_in() const noexcept { return t_in_; }

    /// Iterates over the parts as Bytes.
    class iterator {
      public:
        /// At part `p`.
        iterator(const emz_part_t *p) noexcept : p_(p) {}
        /// The part.
        Bytes operator*() const noexcept { return Bytes(*p_); }
        /// The next part.
        iterator &operator++() noexcept {
            ++p_;
            return *this;
        }
        /// Comparisons, for range-for.
        bool operator!=(const iterator &o) const noexcept { return p_ != o.p_; }
        /// Whether both are at the same part.
        bool operator==(const iterator &o) const noexcept { return p_ == o.p_; }

      private:
        const emz_part_t *p_;
    };
    /// The first part.
    iterator begin() const noexcept { return iterator(p_); }
    /// Past the last part.
    iterator end() const noexcept { return iterator(p_ + n_); }

  private:
    const emz_part_t *p_;
    std::size_t n_;
    std::int64_t t_out_, t_in_;
};

/// A view of one etale of an ehypha (non-owning).
class Etale {
  public:
    /// Wraps a C view (borrowed).
    explicit Etale(emz_etale_t *p) noexcept : p_(p) {}
    /// The title (valid as long as the view).
    std::string_view title() const noexcept { return emz_etale_title(p_); }
    /// The latest parts and times, zero copy; valid until the next update()/wait().
    Parts parts() const {
        const emz_part_t *p = nullptr;
        std::size_t n = 0;
        std::int64_t t_out = -1, t_in = -1;
        detail::check(emz_etale_parts(p_, &p, &n, &t_out, &t_in));
        return Parts(p, n, t_out, t_in);
    }
    /// Unlike parts(), these leave earlier part views alone.
    std::int64_t t_out() const {
        std::int64_t t = -1;
        detail::check(emz_etale_t_out(p_, &t));
        return t;
    }
    /// µs since the Unix epoch here at arrival; -1 before the first.
    std::int64_t t_in() const {
        std::int64_t t = -1;
        detail::check(emz_etale_t_in(p_, &t));
        return t;
    }
    /// How many times the etale arrived.
    std::uint64_t received() const {
        std::uint64_t n = 0;
        detail::check(emz_etale_received(p_, &n));
        return n;
    }
    /// Whether it is paused (unsubscribed, keeping its data).
    bool is_paused() const {
        bool b = false;
        detail::check(emz_etale_is_paused(p_, &b));
        return b;
    }
    /// The C view, for calls the wrapper does not cover.
    emz_etale_t *raw() const noexcept { return p_; }
    /// Views of the same etale compare equal.
    bool operator==(const Etale &o) const noexcept { return p_ == o.p_; }
    /// Views of different etales compare unequal.
    bool operator!=(const Etale &o) const noexcept { return p_ != o.p_; }

  private:
    emz_etale_t *p_;
};

/// A view of one ehypha (non-owning).
class Ehypha {
  public:
    /// Wraps a C view (borrowed).
    explicit Ehypha(emz_ehypha_t *p) noexcept : p_(p) {}
    /// The peer's public key.
    std::string_view public_key() const noexcept { return emz_ehypha_public_key(p_); }
    /// Where it connects: "host:port" or "<onion>.onion:port".
    std::string_view address() const noexcept { return emz_ehypha_address(p_); }
    /// Subscribes to `title` ("" is a title too).
    Etale add_etale(const std::string &title) {
        emz_etale_t *et = nullptr;
        detail::check(emz_ehypha_add_etale(p_, title.c_str(), &et));
        return Etale(et);
    }
    /// The etale of `title` (throws EMZ_ERR_ABSENT).
    Etale get_etale(const std::string &title) const {
        emz_etale_t *et = nullptr;
        detail::check(emz_ehypha_get_etale(p_, title.c_str(), &et));
        return Etale(et);
    }
    /// Unsubscribes from `title` and forgets its data.
    void del_etale(const std::string &title) { detail::check(emz_ehypha_del_etale(p_, title.c_str())); }
    /// Unsubscribes from `title`, keeping its data.
    void pause_etale(const std::string &title) { detail::check(emz_ehypha_pause_etale(p_, title.c_str())); }
    /// Subscribes to a paused `title` again.
    void resume_etale(const std::string &title) { detail::check(emz_ehypha_resume_etale(p_, title.c_str())); }
    /// Pauses every etale.
    void pause_etales() { detail::check(emz_ehypha_pause_etales(p_)); }
    /// Resumes every etale.
    void resume_etales() { detail::check(emz_ehypha_resume_etales(p_)); }
    /// What this ehypha received and dropped.
    emz_stats_t stats() const {
        emz_stats_t s;
        detail::check(emz_ehypha_stats(p_, &s));
        return s;
    }
    /// How many etales it holds.
    std::size_t etales_count() const noexcept { return emz_ehypha_etales_count(p_); }
    /// Where the connection stands (EMZ_EHYPHA_UP, EMZ_EHYPHA_REJECTED, ...; see state_name()).
    emz_ehypha_state_t state() const {
        emz_ehypha_state_t s = EMZ_EHYPHA_UNKNOWN;
        detail::check(emz_ehypha_state(p_, &s, nullptr));
        return s;
    }
    /// When the state last changed, µs since the Unix epoch.
    std::int64_t state_since() const {
        std::int64_t t = 0;
        detail::check(emz_ehypha_state(p_, nullptr, &t));
        return t;
    }
    /// The C view, for calls the wrapper does not cover.
    emz_ehypha_t *raw() const noexcept { return p_; }
    /// Views of the same ehypha compare equal.
    bool operator==(const Ehypha &o) const noexcept { return p_ == o.p_; }
    /// Views of different ehyphae compare unequal.
    bool operator!=(const Ehypha &o) const noexcept { return p_ != o.p_; }

  private:
    emz_ehypha_t *p_;
};

/// Everything the full constructor takes; defaults as in emz_config_init.
struct Config {
    /// Z85 secret key.
    std::string secret_key;
    std::vector<std::string> whitelist; ///< empty = NOBODY may subscribe, unless everyone
    bool everyone = false;              ///< open mode: every key may subscribe (whitelist empty)
    /// Publish port (unless any_port).
    std::uint16_t port = EMZ_DEFAULT_PORT;
    bool any_port = false; ///< let the system choose; read it with Efunguz::port()
    /// Interface to publish on: an address, an interface name, or "*" (all).
    std::string bind_host = "*";
    /// Tor's SOCKS proxy, for onion ehyphae.
    std::string tor_proxy_host = "127.0.0.1";
    /// Port of Tor's SOCKS proxy.
    std::uint16_t tor_proxy_port = EMZ_DEFAULT_TOR_PROXY_PORT;
    /// Socket options (emz_options_t), from emz_options_default.
    emz_options_t options = default_options();

    /// Defaults for everything but the secret key: nobody may subscribe yet.
    explicit Config(std::string secret) : secret_key(std::move(secret)) {}
    /// emz_options_default's options.
    static emz_options_t default_options() {
        emz_options_t o;
        detail::check(emz_options_default(&o));
        return o;
    }
};

/// One peer: owns the C handle; move-only.
class Efunguz {
  public:
    /// The original constructor: secret key, whitelist (empty = EVERYONE, as it always
    /// has; the Config constructor is closed by default instead), publish port, Tor SOCKS
    /// proxy.
    explicit Efunguz(const std::string &secret_key, const std::vector<std::string> &whitelist = {},
                     std::uint16_t port = EMZ_DEFAULT_PORT, const std::string &tor_proxy_host = "127.0.0.1",
                     std::uint16_t tor_proxy_port = EMZ_DEFAULT_TOR_PROXY_PORT) {
        std::vector<const char *> wl;
        for (const auto &k : whitelist) wl.push_back(k.c_str());
        detail::check(emz_efunguz_new(secret_key.c_str(), wl.data(), wl.size(), port, tor_proxy_host.c_str(),
                                      tor_proxy_port, &p_));
    }
    /// The full constructor (emz_efunguz_new_with): nobody may subscribe unless
    /// `c.whitelist` or `c.everyone` says who.
    explicit Efunguz(const Config &c) {
        std::vector<const char *> wl;
        for (const auto &k : c.whitelist) wl.push_back(k.c_str());
        emz_config_t cfg;
        detail::check(emz_config_init(&cfg, c.secret_key.c_str()));
        cfg.whitelist = wl.data();
        cfg.whitelist_len = wl.size();
        cfg.everyone = c.everyone;
        cfg.port = c.port;
        cfg.any_port = c.any_port;
        cfg.bind_host = c.bind_host.c_str();
        cfg.tor_proxy_host = c.tor_proxy_host.c_str();
        cfg.tor_proxy_port = c.tor_proxy_port;
        cfg.options = &c.options;
        detail::check(emz_efunguz_new_with(&cfg, &p_));
    }
    /// Move-only: one owner of the handle.
    Efunguz(const Efunguz &) = delete;
    Efunguz &operator=(const Efunguz &) = delete;
    /// Takes the handle; `o` is left empty.
    Efunguz(Efunguz &&o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    /// Frees the current handle, takes `o`'s.
    Efunguz &operator=(Efunguz &&o) noexcept {
        if (this != &o) {
            emz_efunguz_free(p_);
            p_ = std::exchange(o.p_, nullptr);
        }
        return *this;
    }
    /// Closes every socket now (emz_efunguz_free).
    ~Efunguz() { emz_efunguz_free(p_); }

    /// Our public key.
    std::string_view public_key() const noexcept { return p_ ? emz_efunguz_public_key(p_) : ""; }
    /// The publish port (the one chosen with Config::any_port).
    std::uint16_t port() const noexcept { return emz_efunguz_port(p_); }
    /// The options it was made with.
    emz_options_t options() const {
        emz_options_t o = Config::default_options(); // sets o.size, which the library needs
        detail::check(emz_efunguz_options(p_, &o));
        return o;
    }

    // whitelist: removals never widen access; narrowing cuts live sessions by the next update
    /// Lets everyone subscribe and forgets the whitelist (no session is cut).
    void allow_everyone() { detail::check(emz_allow_everyone(p_)); }
    /// Whether everyone may subscribe (open mode).
    bool is_open() const {
        bool open = false;
        detail::check(emz_is_open(p_, &open));
        return open;
    }
    /// On an open efunguz: `key` alone, the other subscribers' sessions are cut.
    void add_whitelist_key(const std::string &key) { detail::check(emz_add_whitelist_key(p_, key.c_str())); }
    /// As add_whitelist_key for several keys; nothing changes when one is bad.
    void add_whitelist_keys(const std::vector<std::string> &keys) {
        std::vector<const char *> v;
        for (const auto &k : keys) v.push_back(k.c_str());
        detail::check(emz_add_whitelist_keys(p_, v.data(), v.size()));
    }
    /// The last key removed leaves nobody allowed; `key`'s sessions are cut.
    void del_whitelist_key(const std::string &key) { detail::check(emz_del_whitelist_key(p_, key.c_str())); }
    /// Nobody may subscribe any more; every live session is cut.
    void clear_whitelist() { detail::check(emz_clear_whitelist(p_)); }
    /// Adds the keys of a file (one a line); returns how many.
    std::size_t read_whitelist_file(const std::string &path) {
        std::size_t n = 0;
        detail::check(emz_read_whitelist_file(p_, path.c_str(), &n));
        return n;
    }
    /// How many keys the whitelist holds.
    std::size_t whitelist_count() const noexcept { return emz_whitelist_count(p_); }
    /// Whether `key` is whitelisted.
    bool whitelist_contains(const std::string &key) const noexcept { return emz_whitelist_contains(p_, key.c_str()); }
    /// The whitelist, sorted.
    std::vector<std::string> whitelist() const {
        std::vector<std::string> v;
        std::size_t n = emz_whitelist_count(p_);
        for (std::size_t i = 0; i < n; i++) {
            char key[EMZ_KEY_BUF_LEN];
            detail::check(emz_whitelist_key_at(p_, i, key));
            v.emplace_back(key);
        }
        return v;
    }

    // ehyphae
    /// Subscribes to the peer `public_key` behind a v3 onion, through Tor.
    Ehypha add_ehypha(const std::string &public_key, const std::string &onion, std::uint16_t port = EMZ_DEFAULT_PORT) {
        emz_ehypha_t *eh = nullptr;
        detail::check(emz_add_ehypha(p_, public_key.c_str(), onion.c_str(), port, &eh));
        return Ehypha(eh);
    }
    /// Subscribes to the peer `public_key` at host:port, by plain TCP.
    Ehypha add_ehypha_direct(const std::string &public_key, const std::string &host, std::uint16_t port) {
        emz_ehypha_t *eh = nullptr;
        detail::check(emz_add_ehypha_direct(p_, public_key.c_str(), host.c_str(), port, &eh));
        return Ehypha(eh);
    }
    /// "host:port", "[ipv6]:port" or "x.onion:port" (an onion goes through Tor).
    Ehypha add_ehypha_at(const std::string &public_key, const std::string &address) {
        emz_ehypha_t *eh = nullptr;
        detail::check(emz_add_ehypha_at(p_, public_key.c_str(), address.c_str(), &eh));
        return Ehypha(eh);
    }
    /// The ehypha of `public_key` (throws EMZ_ERR_ABSENT).
    Ehypha get_ehypha(const std::string &public_key) {
        emz_ehypha_t *eh = nullptr;
        detail::check(emz_get_ehypha(p_, public_key.c_str(), &eh));
        return Ehypha(eh);
    }
    /// Disconnects from the peer and forgets its etales (its views become invalid).
    void del_ehypha(const std::string &public_key) { detail::check(emz_del_ehypha(p_, public_key.c_str())); }
    /// How many ehyphae there are.
    std::size_t ehyphae_count() const noexcept { return emz_ehyphae_count(p_); }
    /// Every ehypha, in the order of their public keys.
    std::vector<Ehypha> ehyphae() const {
        std::vector<Ehypha> v;
        std::size_t n = emz_ehyphae_count(p_);
        v.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            emz_ehypha_t *eh = nullptr;
            detail::check(emz_ehypha_at(p_, i, &eh));
            v.emplace_back(eh);
        }
        return v;
    }

    // onion service through Tor's control port
    /// Publishes behind a v3 onion made through Tor's control port; returns the onion
    /// (without ".onion"). `auth_value`: the cookie file or password (unused with
    /// EMZ_TOR_AUTH_AUTO); `key_value`: "ED25519-V3:..." or a key file (unused with
    /// EMZ_ONION_KEY_NEW). Blocks while Tor answers.
    std::string publish_onion(const std::string &control = "127.0.0.1:9051", emz_tor_auth_t auth = EMZ_TOR_AUTH_AUTO,
                              const std::string &auth_value = "", emz_onion_key_t key = EMZ_ONION_KEY_NEW,
                              const std::string &key_value = "") {
        const char *onion = nullptr;
        detail::check(emz_publish_onion(p_, control.c_str(), static_cast<int>(auth), auth_value.c_str(),
                                        static_cast<int>(key), key_value.c_str(), &onion));
        return onion;
    }
    /// The published onion, if any.
    std::optional<std::string> onion() const {
        const char *o = emz_efunguz_onion(p_);
        return o ? std::optional<std::string>(o) : std::nullopt;
    }
    /// Removes the onion service now.
    void unpublish_onion() { detail::check(emz_unpublish_onion(p_)); }

    // publishing: the bytes are only read during the call. Subscribers with room get the
    // etale now; for one whose queue is full it is pending as that subscriber's latest of
    // the title and goes out as soon as it has room (a full subscriber delays nobody).
    // Returns false when that happened for at least one subscriber: emit less often for a
    // while (skip a few frames) instead of piling up etales nobody can take yet.
    /// Publishes `parts` under `title`, stamped now. Never blocks; the bytes are read
    /// during the call. Returns `sent` (see above).
    bool emit_etale(const std::string &title, std::initializer_list<Bytes> parts) {
        return emit_parts(title, parts.begin(), parts.size());
    }
    /// As above, for a vector of views.
    bool emit_etale(const std::string &title, const std::vector<Bytes> &parts) {
        return emit_parts(title, parts.data(), parts.size());
    }
    /// As above, for a vector of byte vectors.
    bool emit_etale(const std::string &title, const std::vector<std::vector<std::uint8_t>> &parts) {
        std::vector<Bytes> b(parts.begin(), parts.end());
        return emit_parts(title, b.data(), b.size());
    }
    /// Titles whose latest etale is still pending for some subscriber.
    std::size_t unsent_etales() const noexcept { return emz_unsent_etales(p_); }

    // the loop
    /// Never blocks; returns how many etales got new data (listed by changes()).
    std::size_t update() {
        std::size_t n = 0;
        detail::check(emz_update(p_, &n));
        return n;
    }
    /// Blocks up to `timeout` (negative: no limit) for new data.
    std::size_t wait(std::chrono::milliseconds timeout) {
        std::size_t n = 0;
        detail::check(emz_wait(p_, static_cast<std::int64_t>(timeout.count()), &n));
        return n;
    }
    /// The readiness fd for poll/epoll/an event library: readable exactly when update()
    /// has work; edge-triggered watchers call update() until it returns 0. Owned by the
    /// efunguz: never read or close it (see emz_efunguz_fd).
    int fd() const {
        int fd = -1;
        detail::check(emz_efunguz_fd(p_, &fd));
        return fd;
    }
    /// The etales that got new data in the last update()/wait(), once each.
    std::vector<Etale> changes() const {
        std::vector<Etale> v;
        std::size_t n = emz_changes_count(p_);
        v.reserve(n);
        for (std::size_t i = 0; i < n; i++) {
            emz_etale_t *et = nullptr;
            detail::check(emz_change(p_, i, &et));
            v.emplace_back(et);
        }
        return v;
    }

    // counters
    /// All counters of the publish socket.
    emz_counters_t counters() const {
        emz_counters_t c;
        detail::check(emz_counters(p_, &c));
        return c;
    }
    /// TCP connections the publish socket accepted.
    std::uint64_t in_attempted() const noexcept { return emz_in_attempted(p_); }
    /// Handshakes the publish socket let through.
    std::uint64_t in_permitted() const noexcept { return emz_in_permitted(p_); }
    /// Connections open now.
    std::uint64_t in_absorbing() const noexcept { return emz_in_absorbing(p_); }
    /// Handshakes that failed (refused, protocol error, too slow).
    std::uint64_t in_failed() const noexcept { return emz_in_failed(p_); }
    /// Subscriptions ignored as not a title.
    std::uint64_t bad_subscriptions() const noexcept { return emz_bad_subscriptions(p_); }
    /// What all ehyphae received and dropped.
    emz_stats_t stats() const {
        emz_stats_t s;
        detail::check(emz_efunguz_stats(p_, &s));
        return s;
    }

    /// The C handle, for calls the wrapper does not cover (still owned by this object).
    emz_efunguz_t *raw() const noexcept { return p_; }

  private:
    bool emit_parts(const std::string &title, const Bytes *parts, std::size_t n) {
        std::vector<emz_part_t> v;
        v.reserve(n);
        for (std::size_t i = 0; i < n; i++) v.push_back(parts[i].part());
        bool sent = true;
        detail::check(emz_emit_etale(p_, title.c_str(), v.data(), v.size(), &sent));
        return sent;
    }

    emz_efunguz_t *p_ = nullptr;
};

} // namespace emz

#endif // C++17
#endif // EMYZELIUM_HPP
