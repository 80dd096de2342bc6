// Tests of the C++ wrapper include/emyzelium.hpp (RAII, move-only, exceptions).
#include "emyzelium.hpp"

#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

template <class F> static emz_result_t code_of(F f) {
    try {
        f();
    } catch (const emz::Error &e) {
        return e.code();
    }
    return EMZ_OK;
}

// A port free on loopback now (for the original constructor, which takes a real port).
static std::uint16_t free_port() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
    getsockname(s, reinterpret_cast<sockaddr *>(&sa), &len);
    close(s);
    return ntohs(sa.sin_port);
}

// Who may subscribe: the Config path is closed unless `everyone`, allow_everyone() opens,
// removals never widen access, and a narrowing cuts the live session by the next update.
static void test_access() {
    auto kc = emz::new_key_pair(), kd = emz::new_key_pair();
    emz::Config cc(kc.secret_key);
    cc.any_port = true;
    cc.bind_host = "127.0.0.1";
    cc.options.reconnect_interval_ms = 50;
    cc.options.reconnect_interval_max_ms = 200;
    emz::Efunguz c(cc);
    CHECK(!c.is_open() && c.whitelist_count() == 0);
    cc.everyone = true;
    cc.whitelist = {kd.public_key};
    CHECK(code_of([&] { emz::Efunguz both(cc); }) == EMZ_ERR_INVALID_ARGUMENT);
    cc.whitelist.clear();
    emz::Config dc = cc;
    dc.secret_key = kd.secret_key;
    emz::Efunguz d(dc);
    CHECK(d.is_open());

    emz::Ehypha dh = d.add_ehypha_direct(kc.public_key, "127.0.0.1", c.port());
    emz::Etale dt = dh.add_etale("t");
    auto pump_until = [&](auto cond, int rounds) {
        for (int i = 0; i < rounds && !cond(); i++) {
            c.emit_etale("t", {"x"});
            c.update();
            d.wait(std::chrono::milliseconds(10));
        }
        return cond();
    };
    auto rejected = [&] { return dh.state() == EMZ_EHYPHA_REJECTED; };
    auto cut = [&] {
        c.update(); // the narrowing takes effect here
        CHECK(pump_until([&] { return dh.state() != EMZ_EHYPHA_UP; }, 1000));
        CHECK(pump_until(rejected, 1000));
        std::uint64_t n = dt.received();
        pump_until([] { return false; }, 100);
        CHECK(dt.received() == n);
    };
    CHECK(pump_until(rejected, 1000) && dt.received() == 0);
    c.allow_everyone();
    CHECK(c.is_open());
    CHECK(pump_until([&] { return dt.received() > 0; }, 1500));
    c.clear_whitelist();
    CHECK(!c.is_open());
    cut();
    c.add_whitelist_key(kd.public_key);
    std::uint64_t before = dt.received();
    CHECK(pump_until([&] { return dt.received() > before; }, 1500));
    c.del_whitelist_key(kd.public_key);
    CHECK(!c.is_open() && c.whitelist().empty());
    cut();

    // The original constructor: an empty whitelist is everyone.
    emz::Efunguz e(kc.secret_key, {}, free_port());
    CHECK(e.is_open());
    emz::Efunguz f(kd.secret_key, {kc.public_key}, free_port());
    CHECK(!f.is_open() && f.whitelist_count() == 1);
}

static emz::Config local(const emz::KeyPair &k) {
    emz::Config c(k.secret_key);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    c.options.reconnect_interval_ms = 50;
    return c;
}

int main() {
    auto ka = emz::new_key_pair(), kb = emz::new_key_pair();
    CHECK(emz::public_key(ka.secret_key) == ka.public_key);
    CHECK(emz::is_valid_key(ka.public_key) && !emz::is_valid_key("nope"));
    CHECK(code_of([] { emz::public_key("bad"); }) == EMZ_ERR_INVALID_KEY);
    try {
        emz::public_key("bad");
    } catch (const emz::Error &e) {
        CHECK(std::strstr(e.what(), "invalid key") != nullptr);
    }
    CHECK(code_of([&] { emz::Efunguz bad(ka.secret_key, {}, 0); }) == EMZ_ERR_INVALID_PORT);

    emz::Config ca = local(ka);
    ca.whitelist = {kb.public_key};
    emz::Efunguz a(ca);
    emz::Efunguz b(local(kb));
    CHECK(a.public_key() == ka.public_key && a.port() != 0 && a.whitelist_count() == 1);

    // Move-only ownership: the moved-from object is empty and harmless.
    emz::Efunguz moved(std::move(b));
    CHECK(b.raw() == nullptr && moved.raw() != nullptr);
    b = std::move(moved);
    CHECK(moved.raw() == nullptr);

    emz::Ehypha eh = b.add_ehypha_direct(ka.public_key, "127.0.0.1", a.port());
    emz::Etale et = eh.add_etale("zone");
    CHECK(eh.public_key() == ka.public_key && et.title() == "zone");
    CHECK(b.get_ehypha(ka.public_key) == eh && eh.get_etale("zone") == et);
    CHECK(code_of([&] { b.add_ehypha_direct(ka.public_key, "127.0.0.1", a.port()); }) == EMZ_ERR_ALREADY_PRESENT);
    CHECK(code_of([&] { eh.add_etale("zone"); }) == EMZ_ERR_ALREADY_PRESENT);
    CHECK(code_of([&] { b.add_ehypha_direct("x", "127.0.0.1", 1); }) == EMZ_ERR_INVALID_KEY);
    CHECK(code_of([&] { b.add_ehypha(kb.public_key, "bad.onion"); }) == EMZ_ERR_INVALID_ADDRESS);
    CHECK(code_of([&] { b.add_ehypha_at(kb.public_key, "127.0.0.1"); }) == EMZ_ERR_INVALID_ADDRESS);
    CHECK(code_of([&] { b.add_ehypha_at(ka.public_key, "localhost:" + std::to_string(a.port())); }) ==
          EMZ_ERR_ALREADY_PRESENT);
    CHECK(et.parts().empty() && et.t_in() == -1);
    CHECK(b.fd() >= 0 && b.fd() == b.fd() && b.fd() != a.fd()); // the readiness fd

    std::vector<std::uint8_t> cells(300, 1);
    std::uint16_t h = 10, w = 30;
    bool got = false;
    for (int i = 0; i < 500 && !got; i++) {
        a.emit_etale("zone", {emz::Bytes(reinterpret_cast<const std::uint8_t *>(&h), 2),
                              emz::Bytes(reinterpret_cast<const std::uint8_t *>(&w), 2), cells});
        a.update();
        b.wait(std::chrono::milliseconds(20));
        for (emz::Etale changed : b.changes()) got = got || changed == et;
    }
    CHECK(got);
    CHECK(a.emit_etale("other", {"x"})); // b's queue has room: sent, no back-off needed
    CHECK(b.options().reconnect_interval_ms == 50 && b.options().size == sizeof(emz_options_t));
    CHECK(emz::version() == EMZ_VERSION);
    emz::Parts p = et.parts();
    CHECK(p.size() == 3 && p[0].size() == 2 && p[2].size() == 300 && p[2][299] == 1);
    CHECK(p.t_out() > 0 && p.t_in() >= p.t_out());
    std::size_t total = 0;
    for (emz::Bytes part : p) total += part.size();
    CHECK(total == 304);
    // a's counters come from its monitor, read in a's own updates: give it a few.
    for (int i = 0; i < 200 && a.in_permitted() == 0; i++) {
        a.update();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(et.received() >= 1 && a.in_permitted() >= 1 && b.stats().received >= 1);
    CHECK(et.t_out() == p.t_out() && et.t_in() == p.t_in() && p[2].size() == 300); // p stays valid
    for (int i = 0; i < 200 && eh.state() != EMZ_EHYPHA_UP; i++) b.wait(std::chrono::milliseconds(10));
    CHECK(eh.state() == EMZ_EHYPHA_UP && emz::state_name(eh.state()) == "up");
    CHECK(eh.state_since() > 0 && eh.state_since() <= emz::now_us());

    // Listings: ehyphae and the whitelist; keys from a file.
    CHECK(b.ehyphae().size() == 1 && b.ehyphae()[0] == eh);
    CHECK(a.whitelist() == std::vector<std::string>{kb.public_key});
    {
        const char *path = "emz_hpp_test_keys.txt";
        std::ofstream(path) << "# friends\n" << ka.public_key << "\n" << kb.public_key << "\n";
        CHECK(emz::read_keys_file(path) == (std::vector<std::string>{ka.public_key, kb.public_key}));
        std::remove(path);
        CHECK(code_of([&] { emz::read_keys_file(path); }) == EMZ_ERR_IO);
    }

    // Onion service: no control port on port 1 of loopback.
    CHECK(!a.onion().has_value());
    CHECK(code_of([&] { a.publish_onion("127.0.0.1:1"); }) == EMZ_ERR_TOR);
    CHECK(code_of([&] { a.unpublish_onion(); }) == EMZ_ERR_ALREADY_ABSENT);

    eh.pause_etales();
    CHECK(et.is_paused());
    CHECK(code_of([&] { eh.pause_etale("zone"); }) == EMZ_ERR_ALREADY_PAUSED);
    eh.resume_etales();
    eh.del_etale("zone");
    CHECK(code_of([&] { eh.del_etale("zone"); }) == EMZ_ERR_ALREADY_ABSENT);
    b.del_ehypha(ka.public_key);
    CHECK(code_of([&] { b.get_ehypha(ka.public_key); }) == EMZ_ERR_ABSENT);

    test_access();

    // An efunguz may move to another thread (one user at a time).
    std::thread t([e = std::move(a)]() mutable { e.update(); });
    t.join();

    std::printf("\ncapi-hpp: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
