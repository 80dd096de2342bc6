/*
 * Tests of the emyzelium C API. Valid C99 and C++17: the Makefile compiles it both
 * ways with -Wall -Wextra -Werror -pedantic, and again under ASan/UBSan and valgrind.
 *
 *   test_capi [--quick]     --quick: fewer create/free cycles (valgrind is slow)
 *
 * Last line: "capi-test: N passed, M failed"; exit status 0 only when M is 0.
 */
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    char pub[EMZ_KEY_BUF_LEN];
    char sec[EMZ_KEY_BUF_LEN];
} keypair;

static keypair new_keys(void) {
    keypair k;
    memset(&k, 0, sizeof k);
    if (emz_new_key_pair(k.pub, k.sec) != EMZ_OK) {
        fprintf(stderr, "cannot make keys: %s\n", emz_last_error());
        exit(2);
    }
    return k;
}

/* An efunguz on 127.0.0.1, any port, short reconnects; only `allowed` may subscribe, or
 * everyone (explicitly: the config path admits nobody by default) when it is NULL. */
static emz_efunguz_t *make_ef(const keypair *k, const char *allowed) {
    emz_config_t c;
    emz_options_t o;
    emz_efunguz_t *ef = NULL;
    const char *wl[1];
    emz_config_init(&c, k->sec);
    emz_options_default(&o);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    o.reconnect_interval_ms = 50;
    o.reconnect_interval_max_ms = 200;
    /* A handshake caught in a publish socket's re-creation can hang (seen once in ~20
     * runs); the ehypha heals after this plus the backoff cap, not libzmq's 30 s. */
    o.handshake_interval_ms = 3000;
    c.options = &o;
    if (allowed) {
        wl[0] = allowed;
        c.whitelist = wl;
        c.whitelist_len = 1;
    } else {
        c.everyone = true;
    }
    if (emz_efunguz_new_with(&c, &ef) != EMZ_OK) {
        fprintf(stderr, "cannot make an efunguz: %s\n", emz_last_error());
        exit(2);
    }
    return ef;
}

static emz_part_t part_of(const char *s) {
    emz_part_t p;
    p.ptr = (const uint8_t *)s;
    p.len = strlen(s);
    return p;
}

/* ---- library, keys ------------------------------------------------------------------- */

static void test_library(void) {
    int a = 0, b = 0, c = 0;
    char numbers[64];
#if !defined(EMZ_VERSION_MAJOR) || !defined(EMZ_VERSION_MINOR) || !defined(EMZ_VERSION_PATCH)
#error "emyzelium.h has no version macros"
#endif
    /* The header and the library it runs with are the same version, and the macros agree. */
    CHECK(emz_version() != NULL && strcmp(emz_version(), EMZ_VERSION) == 0);
    snprintf(numbers, sizeof numbers, "%d.%d.%d", EMZ_VERSION_MAJOR, EMZ_VERSION_MINOR, EMZ_VERSION_PATCH);
    CHECK(strncmp(EMZ_VERSION, numbers, strlen(numbers)) == 0);
    CHECK(emz_has_curve());
    emz_libzmq_version(&a, &b, &c);
    CHECK(a == 4 && b == 3);
    emz_libzmq_version(NULL, NULL, NULL); /* NULL outputs are skipped */
    CHECK(emz_now_us() > 1600000000LL * 1000000LL);
    CHECK(strcmp(emz_result_str(EMZ_OK), "ok") == 0);
    CHECK(strcmp(emz_result_str(EMZ_ERR_NULL_ARGUMENT), "NULL argument") == 0);
    CHECK(strcmp(emz_result_str(-1), "unknown result code") == 0);
    CHECK(strcmp(emz_result_str(1000), "unknown result code") == 0);
    CHECK(strcmp(emz_result_str(EMZ_ERR_OTHER), "other error") == 0);
    CHECK(strcmp(emz_ehypha_state_name(EMZ_EHYPHA_UP), "up") == 0);
    CHECK(strcmp(emz_ehypha_state_name(EMZ_EHYPHA_REJECTED), "rejected") == 0);
    CHECK(strcmp(emz_ehypha_state_name(EMZ_EHYPHA_UNKNOWN), "unknown") == 0);
    CHECK(strcmp(emz_ehypha_state_name(8), "invalid state") == 0);
    CHECK(strcmp(emz_ehypha_state_name(-1), "invalid state") == 0);
}

static void test_keys(void) {
    keypair k = new_keys();
    char out[EMZ_KEY_BUF_LEN];
    char long_key[64];
    char not_utf8[EMZ_KEY_BUF_LEN];

    CHECK(strlen(k.pub) == EMZ_KEY_Z85_LEN && strlen(k.sec) == EMZ_KEY_Z85_LEN);
    CHECK(emz_is_valid_key(k.pub) && emz_is_valid_key(k.sec));
    CHECK_RC(emz_public_key(k.sec, out), EMZ_OK);
    CHECK(strcmp(out, k.pub) == 0);

    /* Failures leave outputs untouched. */
    memset(out, 'X', sizeof out);
    CHECK_RC(emz_public_key("tooshort", out), EMZ_ERR_INVALID_KEY);
    CHECK(out[0] == 'X' && out[EMZ_KEY_BUF_LEN - 1] == 'X');
    CHECK(strlen(emz_last_error()) > 0);
    CHECK_RC(emz_public_key(NULL, out), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_public_key(k.sec, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_new_key_pair(NULL, out), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_new_key_pair(out, NULL), EMZ_ERR_NULL_ARGUMENT);

    /* A key buffer without its NUL: read for 41 bytes at most, then refused. */
    memset(long_key, 'a', sizeof long_key);
    CHECK_RC(emz_public_key(long_key, out), EMZ_ERR_INVALID_KEY);
    CHECK(!emz_is_valid_key(long_key));
    /* Wrong length, bad characters, invalid UTF-8. */
    CHECK_RC(emz_public_key("", out), EMZ_ERR_INVALID_KEY);
    memcpy(not_utf8, k.sec, sizeof not_utf8);
    not_utf8[3] = (char)0xff;
    CHECK_RC(emz_public_key(not_utf8, out), EMZ_ERR_INVALID_KEY);
    memcpy(not_utf8, k.sec, sizeof not_utf8);
    not_utf8[5] = '"'; /* not in the Z85 alphabet */
    CHECK_RC(emz_public_key(not_utf8, out), EMZ_ERR_INVALID_KEY);
    CHECK(!emz_is_valid_key(NULL));
    CHECK(!emz_is_valid_key("%nSc1%nSc1%nSc1%nSc1%nSc1%nSc1%nSc1%nSc1"));
}

/* ---- NULL handles and arguments ------------------------------------------------------- */

static void test_null_handles(void) {
    emz_efunguz_t *ef = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    const emz_part_t *parts = NULL;
    size_t n = 0;
    emz_counters_t counters;
    emz_stats_t stats;
    emz_options_t opts;
    keypair k = new_keys();

    CHECK_RC(emz_update(NULL, &n), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_wait(NULL, 0, &n), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_emit_etale(NULL, "t", NULL, 0, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_whitelist_key(NULL, k.pub), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_clear_whitelist(NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_ehypha_direct(NULL, k.pub, "127.0.0.1", 1, &eh), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_get_ehypha(NULL, k.pub, &eh), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_del_ehypha(NULL, k.pub), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_ehypha_add_etale(NULL, "t", &et), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_ehypha_pause_etales(NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_ehypha_stats(NULL, &stats), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_etale_parts(NULL, &parts, &n, NULL, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_counters(NULL, &counters), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_efunguz_stats(NULL, &stats), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_efunguz_options(NULL, &opts), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_change(NULL, 0, &et), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_ehypha_state(NULL, NULL, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_ehypha_at(NULL, 0, &eh), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_whitelist_key_at(NULL, 0, k.pub), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_etale_t_out(NULL, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_etale_t_in(NULL, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_publish_onion(NULL, NULL, EMZ_TOR_AUTH_AUTO, NULL, EMZ_ONION_KEY_NEW, NULL, NULL),
             EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_unpublish_onion(NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_read_keys_file(NULL, NULL, 0, &n), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_read_keys_file("x", NULL, 0, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_read_keys_file("x", NULL, 1, &n), EMZ_ERR_NULL_ARGUMENT);
    CHECK(emz_efunguz_onion(NULL) == NULL);
    CHECK(emz_efunguz_public_key(NULL) == NULL);
    CHECK(emz_efunguz_port(NULL) == 0);
    CHECK(emz_efunguz_last_error(NULL) == NULL);
    CHECK(emz_ehypha_public_key(NULL) == NULL && emz_etale_title(NULL) == NULL);
    CHECK(emz_changes_count(NULL) == 0 && emz_ehyphae_count(NULL) == 0);
    CHECK(emz_in_attempted(NULL) == 0 && emz_whitelist_count(NULL) == 0);

    /* Freeing NULL is a no-op; destroy clears the pointer, so twice is safe. */
    emz_efunguz_free(NULL);
    emz_efunguz_destroy(NULL);
    emz_efunguz_destroy(&ef);
    ef = make_ef(&k, NULL);
    emz_efunguz_destroy(&ef);
    CHECK(ef == NULL);
    emz_efunguz_destroy(&ef);
    emz_efunguz_free(ef);

    /* NULL arguments on a live handle. */
    ef = make_ef(&k, NULL);
    CHECK_RC(emz_emit_etale(ef, NULL, NULL, 0, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK(strstr(emz_efunguz_last_error(ef), "title") != NULL);
    CHECK_RC(emz_emit_etale(ef, "t", NULL, 2, NULL), EMZ_ERR_NULL_ARGUMENT);
    {
        emz_part_t bad;
        bad.ptr = NULL;
        bad.len = 3;
        CHECK_RC(emz_emit_etale(ef, "t", &bad, 1, NULL), EMZ_ERR_NULL_ARGUMENT);
        bad.len = 0; /* NULL with length 0 is an empty part */
        CHECK_RC(emz_emit_etale(ef, "t", &bad, 1, NULL), EMZ_OK);
    }
    CHECK_RC(emz_add_ehypha_direct(ef, NULL, "127.0.0.1", 1, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_ehypha_direct(ef, k.pub, NULL, 1, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_ehypha_at(ef, NULL, "127.0.0.1:1", NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_ehypha_at(ef, k.pub, NULL, NULL), EMZ_ERR_NULL_ARGUMENT);
    /* one parser for every face: HOST:PORT, [V6]:PORT, X.onion:PORT; nothing else */
    CHECK_RC(emz_add_ehypha_at(ef, k.pub, "127.0.0.1", NULL), EMZ_ERR_INVALID_ADDRESS);
    CHECK_RC(emz_add_ehypha_at(ef, k.pub, "::1:5", NULL), EMZ_ERR_INVALID_ADDRESS);
    CHECK_RC(emz_add_ehypha_at(ef, k.pub, "nope.onion:5", NULL), EMZ_ERR_INVALID_ADDRESS);
    CHECK_RC(emz_add_ehypha_at(ef, k.pub, "127.0.0.1:99999", NULL), EMZ_ERR_INVALID_ADDRESS);
    {
        emz_ehypha_t *at = NULL;
        CHECK_RC(emz_add_ehypha_at(ef, k.pub, "127.0.0.1:60999", &at), EMZ_OK);
        CHECK(at != NULL);
        CHECK_RC(emz_add_ehypha_at(ef, k.pub, "localhost:60999", NULL), EMZ_ERR_ALREADY_PRESENT);
        CHECK_RC(emz_del_ehypha(ef, k.pub), EMZ_OK);
    }
    CHECK_RC(emz_get_ehypha(ef, k.pub, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_whitelist_keys(ef, NULL, 1), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_add_whitelist_keys(ef, NULL, 0), EMZ_OK);
    CHECK_RC(emz_read_whitelist_file(ef, NULL, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_counters_sized(ef, NULL, sizeof(emz_counters_t)), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_efunguz_stats_sized(ef, NULL, sizeof(emz_stats_t)), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_ehypha_at(ef, 0, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_whitelist_key_at(ef, 0, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_efunguz_new_with(NULL, &ef), EMZ_ERR_NULL_ARGUMENT);
    CHECK(ef != NULL);
    emz_efunguz_free(ef);
}

/* ---- every error code from bad input --------------------------------------------------- */

static void test_error_codes(void) {
    keypair k = new_keys(), peer = new_keys(), peer2 = new_keys();
    emz_efunguz_t *ef = NULL, *other = NULL;
    emz_ehypha_t *eh = NULL, *eh2 = NULL;
    emz_etale_t *et = NULL;
    emz_config_t c;
    emz_options_t o;
    const char *bad_wl[1];
    char bad_utf8[4];
    FILE *f;
    size_t n = 0;
    const char *path = "emz_capi_test_whitelist.txt";

    /* Construction. */
    CHECK_RC(emz_efunguz_new(k.sec, NULL, 0, 0, NULL, 9050, &ef), EMZ_ERR_INVALID_PORT);
    CHECK_RC(emz_efunguz_new("nope", NULL, 0, 40000, NULL, 9050, &ef), EMZ_ERR_INVALID_KEY);
    CHECK_RC(emz_efunguz_new(NULL, NULL, 0, 40000, NULL, 9050, &ef), EMZ_ERR_NULL_ARGUMENT);
    bad_wl[0] = "not a key";
    CHECK_RC(emz_efunguz_new(k.sec, bad_wl, 1, 40000, NULL, 9050, &ef), EMZ_ERR_INVALID_KEY);
    CHECK_RC(emz_efunguz_new(k.sec, NULL, 1, 40000, NULL, 9050, &ef), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_efunguz_new(k.sec, NULL, 0, 40000, NULL, 0, &ef), EMZ_ERR_INVALID_PORT);
    CHECK(ef == NULL);
    emz_config_init(&c, k.sec);
    emz_options_default(&o);
    c.any_port = true;
    o.io_threads = 0;
    c.options = &o;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    emz_config_init(&c, k.sec);
    c.any_port = true;
    c.bind_host = "";
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ADDRESS);
    bad_utf8[0] = 'a';
    bad_utf8[1] = (char)0xc3; /* a lead byte with no continuation */
    bad_utf8[2] = 'b';
    bad_utf8[3] = 0;
    c.bind_host = bad_utf8;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_UTF8);
    CHECK(ef == NULL);

    /* Port in use. */
    ef = make_ef(&k, NULL);
    emz_config_init(&c, peer.sec);
    c.bind_host = "127.0.0.1";
    c.port = emz_efunguz_port(ef);
    CHECK_RC(emz_efunguz_new_with(&c, &other), EMZ_ERR_ADDRESS_IN_USE);
    CHECK(other == NULL);
    CHECK(strstr(emz_last_error(), "address in use") != NULL);

    /* Ehyphae. */
    CHECK_RC(emz_add_ehypha(ef, peer.pub, "notanonion", 60847, &eh), EMZ_ERR_INVALID_ADDRESS);
    CHECK_RC(emz_add_ehypha(ef, peer.pub, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion", 60847, &eh),
             EMZ_ERR_INVALID_ADDRESS); /* 56 chars, bad checksum */
    CHECK_RC(emz_add_ehypha_direct(ef, peer.pub, "127.0.0.1", 0, &eh), EMZ_ERR_INVALID_PORT);
    CHECK_RC(emz_add_ehypha_direct(ef, "short", "127.0.0.1", 1, &eh), EMZ_ERR_INVALID_KEY);
    CHECK_RC(emz_add_ehypha_direct(ef, peer.pub, bad_utf8, 1, &eh), EMZ_ERR_INVALID_UTF8);
    CHECK(eh == NULL);
    CHECK_RC(emz_add_ehypha_direct(ef, peer.pub, "127.0.0.1", 1, &eh), EMZ_OK);
    CHECK(eh != NULL);
    CHECK_RC(emz_add_ehypha_direct(ef, peer.pub, "127.0.0.1", 1, NULL), EMZ_ERR_ALREADY_PRESENT);
    CHECK(strstr(emz_efunguz_last_error(ef), "already present") != NULL);
    CHECK_RC(emz_get_ehypha(ef, peer2.pub, &eh2), EMZ_ERR_ABSENT);
    CHECK_RC(emz_del_ehypha(ef, peer2.pub), EMZ_ERR_ALREADY_ABSENT);
    CHECK(eh2 == NULL);
    CHECK_RC(emz_ehypha_at(ef, 0, &eh2), EMZ_OK);
    CHECK(eh2 == eh);
    CHECK_RC(emz_ehypha_at(ef, 1, &eh2), EMZ_ERR_INVALID_ARGUMENT);
    eh2 = NULL;

    /* Etales. */
    CHECK_RC(emz_ehypha_add_etale(eh, "zone", &et), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "zone", NULL), EMZ_ERR_ALREADY_PRESENT);
    CHECK_RC(emz_ehypha_add_etale(eh, bad_utf8, NULL), EMZ_ERR_INVALID_UTF8);
    CHECK_RC(emz_ehypha_get_etale(eh, "nothere", &et), EMZ_ERR_ABSENT);
    CHECK_RC(emz_ehypha_del_etale(eh, "nothere"), EMZ_ERR_ALREADY_ABSENT);
    CHECK_RC(emz_ehypha_resume_etale(eh, "zone"), EMZ_ERR_ALREADY_RESUMED);
    CHECK_RC(emz_ehypha_pause_etale(eh, "zone"), EMZ_OK);
    CHECK_RC(emz_ehypha_pause_etale(eh, "zone"), EMZ_ERR_ALREADY_PAUSED);
    CHECK_RC(emz_ehypha_pause_etale(eh, "nothere"), EMZ_ERR_ABSENT);
    CHECK_RC(emz_change(ef, 0, &et), EMZ_ERR_INVALID_ARGUMENT);

    /* Whitelist. */
    CHECK_RC(emz_add_whitelist_key(ef, peer.pub), EMZ_OK);
    CHECK_RC(emz_add_whitelist_key(ef, peer.pub), EMZ_ERR_ALREADY_PRESENT);
    CHECK_RC(emz_add_whitelist_key(ef, "bad"), EMZ_ERR_INVALID_KEY);
    CHECK_RC(emz_del_whitelist_key(ef, peer2.pub), EMZ_ERR_ALREADY_ABSENT);
    CHECK_RC(emz_read_whitelist_file(ef, "/nonexistent/emz/whitelist", &n), EMZ_ERR_IO);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "# peers\n%s\n\nthis is not a key\n", peer2.pub);
        fclose(f);
    }
    n = 12345;
    CHECK_RC(emz_read_whitelist_file(ef, path, &n), EMZ_ERR_IO);
    CHECK(strstr(emz_efunguz_last_error(ef), ":4:") != NULL);    /* names the line */
    CHECK(n == 12345 && !emz_whitelist_contains(ef, peer2.pub)); /* nothing added */
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "# peers\n  %s  \n\n", peer2.pub);
        fclose(f);
    }
    CHECK_RC(emz_read_whitelist_file(ef, path, &n), EMZ_OK);
    CHECK(n == 1 && emz_whitelist_contains(ef, peer2.pub) && emz_whitelist_count(ef) == 2);
    {
        /* Listing: sorted, indices past the end refused. */
        char k0[EMZ_KEY_BUF_LEN], k1[EMZ_KEY_BUF_LEN];
        const char *lo = strcmp(peer.pub, peer2.pub) < 0 ? peer.pub : peer2.pub;
        const char *hi = lo == peer.pub ? peer2.pub : peer.pub;
        CHECK_RC(emz_whitelist_key_at(ef, 0, k0), EMZ_OK);
        CHECK_RC(emz_whitelist_key_at(ef, 1, k1), EMZ_OK);
        CHECK(strcmp(k0, lo) == 0 && strcmp(k1, hi) == 0);
        CHECK_RC(emz_whitelist_key_at(ef, 2, k1), EMZ_ERR_INVALID_ARGUMENT);
    }
    {
        /* emz_read_keys_file: count first, then the keys; a short array gets the first. */
        char keys[2][EMZ_KEY_BUF_LEN];
        size_t count = 0;
        f = fopen(path, "w");
        if (f) {
            fprintf(f, "%s\n# comment\n%s\n", peer.pub, peer2.pub);
            fclose(f);
        }
        CHECK_RC(emz_read_keys_file(path, NULL, 0, &count), EMZ_OK);
        CHECK(count == 2);
        memset(keys, 'X', sizeof keys);
        CHECK_RC(emz_read_keys_file(path, keys, 1, &count), EMZ_OK);
        CHECK(count == 2 && strcmp(keys[0], peer.pub) == 0 && keys[1][0] == 'X');
        CHECK_RC(emz_read_keys_file(path, keys, 2, &count), EMZ_OK);
        CHECK(strcmp(keys[1], peer2.pub) == 0);
        CHECK_RC(emz_read_keys_file("/nonexistent/emz/keys", keys, 2, &count), EMZ_ERR_IO);
    }
    remove(path);
    CHECK_RC(emz_clear_whitelist(ef), EMZ_OK);
    CHECK(emz_whitelist_count(ef) == 0);
    emz_efunguz_free(ef);

    /* Limit: a context of 16 sockets runs out of them. */
    emz_config_init(&c, k.sec);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    emz_options_default(&o);
    o.max_sockets = 16;
    c.options = &o;
    ef = NULL;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_OK);
    {
        int i, rc = EMZ_OK;
        for (i = 0; i < 64 && rc == EMZ_OK; i++) {
            keypair p = new_keys();
            rc = (int)emz_add_ehypha_direct(ef, p.pub, "127.0.0.1", 1, NULL);
        }
        CHECK_RC(rc, EMZ_ERR_LIMIT);
    }
    emz_efunguz_free(ef);
}

/* ---- loopback round trip ---------------------------------------------------------------- */

/* Emits from `pub` and updates `sub` until `et` has data or `secs` pass. */
static int pump(emz_efunguz_t *pub, emz_efunguz_t *sub, const char *title, const emz_part_t *parts, size_t n,
                emz_etale_t *et, double secs) {
    double t0 = now_s();
    while (now_s() - t0 < secs) {
        size_t changed = 0;
        uint64_t received = 0;
        emz_emit_etale(pub, title, parts, n, NULL);
        emz_update(pub, NULL);
        if (emz_wait(sub, 20, &changed) != EMZ_OK) return 0;
        if (emz_etale_received(et, &received) == EMZ_OK && received > 0) return 1;
    }
    return 0;
}

/* A publisher's counters come from its monitor, read in its own updates: give it a few. */
static void settle_counters(emz_efunguz_t *ef) {
    double t0 = now_s();
    while (emz_in_permitted(ef) == 0 && now_s() - t0 < 2) emz_wait(ef, 10, NULL);
}

static void test_round_trip(void) {
    keypair a = new_keys(), b = new_keys();
    emz_efunguz_t *ea = make_ef(&a, b.pub); /* only B may subscribe */
    emz_efunguz_t *eb = make_ef(&b, NULL);
    emz_ehypha_t *eh = NULL, *again = NULL;
    emz_etale_t *et = NULL, *ch = NULL, *empty_title = NULL;
    const emz_part_t *got = NULL;
    emz_part_t parts[3];
    size_t n = 99;
    int64_t t_out = 0, t_in = 0, before;
    uint8_t big[4096];
    size_t i;
    emz_counters_t cnt;
    emz_stats_t st;

    for (i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 7);
    parts[0] = part_of("hello");
    parts[1].ptr = NULL;
    parts[1].len = 0; /* an empty part */
    parts[2].ptr = big;
    parts[2].len = sizeof big;

    CHECK_RC(emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK(strcmp(emz_ehypha_public_key(eh), a.pub) == 0);
    CHECK(strstr(emz_ehypha_address(eh), "127.0.0.1:") != NULL);
    CHECK(emz_ehypha_efunguz(eh) == eb);
    CHECK_RC(emz_ehypha_add_etale(eh, "greeting", &et), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "", &empty_title), EMZ_OK);
    CHECK(strcmp(emz_etale_title(et), "greeting") == 0 && strcmp(emz_etale_title(empty_title), "") == 0);
    CHECK(emz_etale_ehypha(et) == eh && emz_ehypha_etales_count(eh) == 2);
    CHECK_RC(emz_get_ehypha(eb, a.pub, &again), EMZ_OK);
    CHECK(again == eh);

    /* Before the first arrival: no parts, times -1. */
    CHECK_RC(emz_etale_parts(et, &got, &n, &t_out, &t_in), EMZ_OK);
    CHECK(n == 0 && got != NULL && t_out == -1 && t_in == -1);

    before = emz_now_us();
    CHECK(pump(ea, eb, "greeting", parts, 3, et, 15.0));
    CHECK_RC(emz_etale_parts(et, &got, &n, &t_out, &t_in), EMZ_OK);
    CHECK(n == 3);
    if (n == 3) {
        CHECK(got[0].len == 5 && memcmp(got[0].ptr, "hello", 5) == 0);
        CHECK(got[1].len == 0);
        CHECK(got[2].len == sizeof big && memcmp(got[2].ptr, big, sizeof big) == 0);
    }
    CHECK(t_out >= before && t_in >= t_out);
    {
        /* The accessors agree with emz_etale_parts and leave its views alone. */
        int64_t o = 0, in = 0;
        CHECK_RC(emz_etale_t_out(et, &o), EMZ_OK);
        CHECK_RC(emz_etale_t_in(et, &in), EMZ_OK);
        CHECK(o == t_out && in == t_in);
        CHECK(n == 3 && got[2].len == sizeof big && memcmp(got[2].ptr, big, sizeof big) == 0);
    }
    {
        /* Connection state: up, since a moment ago. */
        emz_ehypha_state_t state = EMZ_EHYPHA_UNKNOWN;
        int64_t since = 0;
        double t0 = now_s();
        while (now_s() - t0 < 5 && emz_ehypha_state(eh, &state, &since) == EMZ_OK && state != EMZ_EHYPHA_UP)
            emz_wait(eb, 10, NULL);
        CHECK(state == EMZ_EHYPHA_UP);
        CHECK(since > before - 60 * 1000000LL && since <= emz_now_us());
        CHECK_RC(emz_ehypha_state(eh, NULL, NULL), EMZ_OK);
    }

    /* The changes of the update that brought it name this etale. */
    {
        size_t changed = 0, k;
        int seen = 0;
        double t0 = now_s();
        bool sent = false;
        CHECK_RC(emz_emit_etale(ea, "greeting", parts, 1, &sent), EMZ_OK);
        CHECK(sent); /* the subscriber's queue has room */
        while (!seen && now_s() - t0 < 10) {
            emz_update(ea, NULL);
            CHECK_RC(emz_wait(eb, 50, &changed), EMZ_OK);
            CHECK(changed == emz_changes_count(eb));
            for (k = 0; k < changed; k++) {
                CHECK_RC(emz_change(eb, k, &ch), EMZ_OK);
                if (ch == et) seen = 1;
            }
        }
        CHECK(seen);
    }

    /* Explicit t_out, and the empty title. */
    {
        bool sent = false;
        CHECK_RC(emz_emit_etale_at(ea, "", parts, 1, 42, &sent), EMZ_OK);
        CHECK(pump(ea, eb, "", parts, 1, empty_title, 10.0));
        CHECK_RC(emz_etale_parts(empty_title, &got, &n, &t_out, NULL), EMZ_OK);
        CHECK(n == 1); /* t_out is 42 or now: pump re-emits with the current time */
    }

    CHECK_RC(emz_ehypha_stats(eh, &st), EMZ_OK);
    CHECK(st.received >= 2);
    CHECK_RC(emz_efunguz_stats(eb, &st), EMZ_OK);
    CHECK(st.received >= 2 && st.malformed == 0);
    settle_counters(ea);
    CHECK_RC(emz_counters(ea, &cnt), EMZ_OK);
    CHECK(cnt.in_permitted >= 1 && cnt.in_attempted >= 1 && cnt.in_absorbing >= 1);
    CHECK(emz_in_permitted(ea) == cnt.in_permitted);

    /* Pause all, resume all. */
    CHECK_RC(emz_ehypha_pause_etales(eh), EMZ_OK);
    {
        bool paused = false;
        CHECK_RC(emz_etale_is_paused(et, &paused), EMZ_OK);
        CHECK(paused);
    }
    CHECK_RC(emz_ehypha_resume_etales(eh), EMZ_OK);

    /* Deleting the etale, then the ehypha. */
    CHECK_RC(emz_ehypha_del_etale(eh, "greeting"), EMZ_OK);
    CHECK(emz_ehypha_etales_count(eh) == 1);
    CHECK_RC(emz_del_ehypha(eb, a.pub), EMZ_OK);
    CHECK(emz_ehyphae_count(eb) == 0);

    emz_efunguz_free(eb);
    emz_efunguz_free(ea);
}

/* ---- whitelist deny ------------------------------------------------------------------ */

static void test_whitelist_deny(void) {
    keypair a = new_keys(), b = new_keys(), intruder = new_keys();
    emz_efunguz_t *ea = make_ef(&a, b.pub);
    emz_efunguz_t *ei = make_ef(&intruder, NULL);
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_part_t p = part_of("secret");
    uint64_t received = 0;
    double t0;

    CHECK_RC(emz_add_ehypha_direct(ei, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "t", &et), EMZ_OK);
    t0 = now_s();
    while (now_s() - t0 < 1.5) {
        emz_emit_etale(ea, "t", &p, 1, NULL);
        emz_update(ea, NULL);
        emz_wait(ei, 20, NULL);
    }
    CHECK_RC(emz_etale_received(et, &received), EMZ_OK);
    CHECK(received == 0);
    CHECK(emz_in_attempted(ea) >= 1);
    CHECK(emz_in_permitted(ea) == 0);
    {
        emz_ehypha_state_t state = EMZ_EHYPHA_UNKNOWN;
        t0 = now_s();
        while (now_s() - t0 < 5 && emz_ehypha_state(eh, &state, NULL) == EMZ_OK && state != EMZ_EHYPHA_REJECTED) {
            emz_update(ea, NULL);
            emz_wait(ei, 10, NULL);
        }
        CHECK(state == EMZ_EHYPHA_REJECTED);
    }

    /* Allowed at run time: the refused ehypha retries by itself (after the reconnect
     * backoff cap, 200 ms here) and gets through. */
    CHECK_RC(emz_add_whitelist_key(ea, intruder.pub), EMZ_OK);
    CHECK(pump(ea, ei, "t", &p, 1, et, 15.0));
    settle_counters(ea);
    CHECK(emz_in_permitted(ea) >= 1);
    {
        emz_ehypha_state_t state = EMZ_EHYPHA_UNKNOWN;
        CHECK_RC(emz_ehypha_state(eh, &state, NULL), EMZ_OK);
        CHECK(state == EMZ_EHYPHA_UP);
    }
    emz_efunguz_free(ei);
    emz_efunguz_free(ea);
}

/* ---- access: closed by default, removals never widen, narrowing cuts live sessions ---- */

/* A port free on loopback now (for the original constructor, which takes a real port). */
static uint16_t free_port(void) {
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
        fprintf(stderr, "no free port\n");
        exit(2);
    }
    close(s);
    return ntohs(sa.sin_port);
}

static int is_open(emz_efunguz_t *ef) {
    bool open = false;
    CHECK_RC(emz_is_open(ef, &open), EMZ_OK);
    return open;
}

/* Updates both until the ehypha is in `want` (at most `secs`). */
static int reach_state(emz_efunguz_t *pub, emz_efunguz_t *sub, emz_ehypha_t *eh, emz_ehypha_state_t want, double secs) {
    emz_ehypha_state_t state = EMZ_EHYPHA_UNKNOWN;
    double t0 = now_s();
    while (emz_ehypha_state(eh, &state, NULL) == EMZ_OK && state != want && now_s() - t0 < secs) {
        emz_update(pub, NULL);
        emz_wait(sub, 10, NULL);
    }
    return state == want;
}

/* Emits for `secs`; whether the subscriber's etale counted anything new meanwhile. */
static int gets_more(emz_efunguz_t *pub, emz_efunguz_t *sub, emz_etale_t *et, double secs) {
    emz_part_t p = part_of("after");
    uint64_t before = 0, after = 0;
    double t0 = now_s();
    emz_etale_received(et, &before);
    while (now_s() - t0 < secs) {
        emz_emit_etale(pub, "t", &p, 1, NULL);
        emz_update(pub, NULL);
        emz_wait(sub, 20, NULL);
    }
    emz_etale_received(et, &after);
    return after != before;
}

/* After a narrowing: the next update of the publisher cuts the live session (the
 * subscriber sees it shortly after, on loopback, while the publisher goes on with its
 * loop), the reconnection is refused, nothing more arrives. */
static void check_cut(emz_efunguz_t *pub, emz_efunguz_t *sub, emz_ehypha_t *eh, emz_etale_t *et) {
    emz_ehypha_state_t state = EMZ_EHYPHA_UP;
    double t0 = now_s();
    CHECK_RC(emz_update(pub, NULL), EMZ_OK);
    while (emz_ehypha_state(eh, &state, NULL) == EMZ_OK && state == EMZ_EHYPHA_UP && now_s() - t0 < 10) {
        emz_update(pub, NULL); /* the publisher goes on with its loop */
        emz_wait(sub, 10, NULL);
    }
    CHECK(state != EMZ_EHYPHA_UP);
    if (!reach_state(pub, sub, eh, EMZ_EHYPHA_REJECTED, 10)) {
        emz_ehypha_state(eh, &state, NULL);
        fprintf(stderr, "the cut ehypha stays %s, not rejected\n", emz_ehypha_state_name((int)state));
        CHECK(state == EMZ_EHYPHA_REJECTED);
    }
    CHECK(!gets_more(pub, sub, et, 1.5));
}

static void test_access(void) {
    keypair a = new_keys(), b = new_keys(), c = new_keys();
    const char *wl[1];
    emz_config_t cfg;
    emz_options_t o;
    emz_efunguz_t *ea = NULL, *eb = make_ef(&b, NULL), *ec = make_ef(&c, NULL);
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_part_t p = part_of("x");
    bool open = true;

    /* The config path: closed by default, everyone only when asked, never both. */
    emz_config_init(&cfg, a.sec);
    CHECK(!cfg.everyone);
    cfg.any_port = true;
    cfg.bind_host = "127.0.0.1";
    emz_options_default(&o);
    o.reconnect_interval_ms = 50;
    o.reconnect_interval_max_ms = 200;
    cfg.options = &o;
    wl[0] = b.pub;
    cfg.whitelist = wl;
    cfg.whitelist_len = 1;
    cfg.everyone = true;
    CHECK_RC(emz_efunguz_new_with(&cfg, &ea), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(ea == NULL);
    cfg.whitelist = NULL;
    cfg.whitelist_len = 0;
    cfg.everyone = false;
    CHECK_RC(emz_efunguz_new_with(&cfg, &ea), EMZ_OK);
    CHECK(!is_open(ea) && emz_whitelist_count(ea) == 0);
    CHECK_RC(emz_is_open(NULL, &open), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_is_open(ea, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_allow_everyone(NULL), EMZ_ERR_NULL_ARGUMENT);

    /* Nobody: B is refused and receives nothing. */
    CHECK_RC(emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "t", &et), EMZ_OK);
    CHECK(reach_state(ea, eb, eh, EMZ_EHYPHA_REJECTED, 10));
    CHECK(!gets_more(ea, eb, et, 1.5));

    /* allow_everyone opens: the refused ehypha gets in by itself. */
    CHECK_RC(emz_allow_everyone(ea), EMZ_OK);
    CHECK(is_open(ea));
    CHECK(pump(ea, eb, "t", &p, 1, et, 15.0));

    /* clear: nobody, B's live session is cut. */
    CHECK_RC(emz_clear_whitelist(ea), EMZ_OK);
    CHECK(!is_open(ea));
    check_cut(ea, eb, eh, et);

    /* A key: B gets in again; deleting the last key leaves nobody and cuts B. */
    CHECK_RC(emz_add_whitelist_key(ea, b.pub), EMZ_OK);
    CHECK(!is_open(ea) && emz_whitelist_count(ea) == 1);
    CHECK(reach_state(ea, eb, eh, EMZ_EHYPHA_UP, 15));
    CHECK(gets_more(ea, eb, et, 1.0));
    CHECK_RC(emz_del_whitelist_key(ea, b.pub), EMZ_OK);
    CHECK(!is_open(ea) && emz_whitelist_count(ea) == 0);
    check_cut(ea, eb, eh, et);
    CHECK_RC(emz_del_ehypha(eb, a.pub), EMZ_OK);
    emz_efunguz_free(ea);
    ea = NULL;

    /* The original constructor: an empty whitelist is everyone; adding a key to the open
     * efunguz narrows it to that key and cuts the others. */
    CHECK_RC(emz_efunguz_new(a.sec, NULL, 0, free_port(), NULL, EMZ_DEFAULT_TOR_PROXY_PORT, &ea), EMZ_OK);
    if (ea) {
        emz_ehypha_t *ceh = NULL;
        emz_etale_t *cet = NULL;
        CHECK(is_open(ea));
        CHECK_RC(emz_add_ehypha_direct(ec, a.pub, "127.0.0.1", emz_efunguz_port(ea), &ceh), EMZ_OK);
        CHECK_RC(emz_ehypha_add_etale(ceh, "t", &cet), EMZ_OK);
        CHECK(pump(ea, ec, "t", &p, 1, cet, 15.0));
        CHECK_RC(emz_add_whitelist_key(ea, b.pub), EMZ_OK);
        CHECK(!is_open(ea));
        check_cut(ea, ec, ceh, cet);
        emz_efunguz_free(ea);
    }
    emz_efunguz_free(ec);
    emz_efunguz_free(eb);
}

/* ---- structs that grow: a smaller struct from an older header, and bad sizes ---------- */

/* emz_options_t and emz_config_t as a program built against an older header knew them:
 * their first fields only, ending on a field (as every version of them does). */
typedef struct {
    size_t size;
    int32_t io_threads;
    int32_t max_sockets;
    int32_t send_hwm;
    int32_t recv_hwm;
    int64_t max_message_size;
} old_options_t;

typedef struct {
    size_t size;
    const char *secret_key;
    const char *const *whitelist;
    size_t whitelist_len;
    bool everyone;
    uint16_t port;
    bool any_port;
    const char *bind_host;
} old_config_t;

/* An old struct with bytes after it that nothing may touch. */
typedef struct {
    old_options_t o;
    unsigned char after[64];
} guarded_options_t;

/* emz_counters_t and emz_stats_t as a 0.10 header before `superseded` had them, with
 * guard bytes after. */
typedef struct {
    struct {
        size_t size;
        uint64_t in_attempted, in_permitted, in_absorbing, in_failed, bad_subscriptions;
    } c;
    struct {
        size_t size;
        uint64_t received, malformed, unknown_title, paused, too_many_parts;
    } s;
    unsigned char after[64];
} guarded_results_t;

static int untouched(const unsigned char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != 0xAB) return 0;
    return 1;
}

static void test_sized_structs(void) {
    keypair k = new_keys();
    guarded_options_t g;
    old_config_t oc;
    emz_options_t o, now;
    emz_config_t c;
    emz_efunguz_t *ef = NULL;
    guarded_results_t gr;
    emz_counters_t cnt;
    emz_stats_t st;

    /* The initialisers write only the caller's size, defaults in every field it knows. */
    memset(&g, 0xAB, sizeof g);
    CHECK_RC(emz_options_default_sized((emz_options_t *)&g.o, sizeof g.o), EMZ_OK);
    CHECK(g.o.size == sizeof g.o && untouched(g.after, sizeof g.after));
    CHECK(g.o.io_threads >= 1 && g.o.max_sockets == 65535 && g.o.send_hwm == 1000 && g.o.max_message_size == -1);
    emz_options_default(&o);
    CHECK(o.size == sizeof o && o.max_parts == 4096);

    /* An old options struct: its fields taken, the newer ones at their defaults. */
    g.o.io_threads = 2;
    g.o.max_message_size = 123456;
    emz_config_init(&c, k.sec);
    CHECK(c.size == sizeof c && c.options == NULL && c.port == EMZ_DEFAULT_PORT);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    c.everyone = true;
    c.options = (const emz_options_t *)&g.o;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_OK);
    emz_options_default(&now);
    CHECK_RC(emz_efunguz_options(ef, &now), EMZ_OK);
    CHECK(now.io_threads == 2 && now.max_message_size == 123456);
    CHECK(now.drain_budget == 100000 && now.keep_latest && now.ehypha_monitor && now.max_parts == 4096);
    /* ... and read back into the old struct, nothing written past it. */
    memset(&g, 0xAB, sizeof g);
    g.o.size = sizeof g.o;
    CHECK_RC(emz_efunguz_options(ef, (emz_options_t *)&g.o), EMZ_OK);
    CHECK(g.o.io_threads == 2 && g.o.max_message_size == 123456 && untouched(g.after, sizeof g.after));
    emz_efunguz_free(ef);
    ef = NULL;

    /* An old config (no options pointer yet): its fields taken, the options at their defaults. */
    memset(&oc, 0xAB, sizeof oc);
    CHECK_RC(emz_config_init_sized((emz_config_t *)&oc, sizeof oc, k.sec), EMZ_OK);
    CHECK(oc.size == sizeof oc && oc.secret_key == k.sec && !oc.everyone && oc.bind_host == NULL);
    oc.any_port = true;
    oc.bind_host = "127.0.0.1";
    oc.everyone = true;
    CHECK_RC(emz_efunguz_new_with((const emz_config_t *)&oc, &ef), EMZ_OK);
    CHECK(emz_efunguz_port(ef) != 0 && emz_efunguz_port(ef) != EMZ_DEFAULT_PORT);
    CHECK_RC(emz_efunguz_options(ef, &now), EMZ_OK);
    CHECK(now.io_threads == o.io_threads && now.max_message_size == -1);
    /* Structs the library fills: an older, smaller one gets its fields, nothing past it. */
    memset(&gr, 0xAB, sizeof gr);
    CHECK_RC(emz_counters_sized(ef, (emz_counters_t *)&gr.c, sizeof gr.c), EMZ_OK);
    CHECK(gr.c.size == sizeof gr.c && gr.c.in_attempted == 0 && gr.c.bad_subscriptions == 0);
    CHECK(untouched((const unsigned char *)&gr.s, sizeof gr.s));
    CHECK_RC(emz_efunguz_stats_sized(ef, (emz_stats_t *)&gr.s, sizeof gr.s), EMZ_OK);
    CHECK(gr.s.size == sizeof gr.s && gr.s.received == 0 && gr.s.too_many_parts == 0);
    CHECK(untouched(gr.after, sizeof gr.after));
    CHECK_RC(emz_counters(ef, &cnt), EMZ_OK);
    CHECK(cnt.size == sizeof cnt && cnt.superseded == 0);
    CHECK_RC(emz_efunguz_stats(ef, &st), EMZ_OK);
    CHECK(st.size == sizeof st && st.superseded == 0);
    memset(&gr, 0xAB, sizeof gr);
    CHECK_RC(emz_counters_sized(ef, (emz_counters_t *)&gr.c, 0), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(emz_last_error(), "emz_counters_t.size is 0") != NULL);
    CHECK_RC(emz_efunguz_stats_sized(ef, (emz_stats_t *)&gr.s, sizeof gr.s + 1), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(untouched((const unsigned char *)&gr, sizeof gr));
    emz_efunguz_free(ef);
    ef = NULL;

    /* Sizes no version had: refused with a message that says what to do; nothing written. */
    o.size = 0;
    c.options = &o;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(ef == NULL && strstr(emz_last_error(), "emz_options_t.size is 0") != NULL);
    CHECK(strstr(emz_last_error(), "emz_options_default") != NULL);
    o.size = sizeof o + 8; /* a newer header than this library */
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(strstr(emz_last_error(), "newer emyzelium.h") != NULL);
    o.size = sizeof(size_t) + 1; /* halfway through a field */
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    emz_options_default(&o);
    o.supersede_after_ms = -2; /* -1 is "never"; below is no meaning */
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(ef == NULL && strstr(emz_last_error(), "supersede_after_ms") != NULL);
    o.supersede_after_ms = 50;
    c.size = 0;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(ef == NULL && strstr(emz_last_error(), "emz_config_t.size is 0") != NULL);
    c.size = (size_t)-1;
    CHECK_RC(emz_efunguz_new_with(&c, &ef), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(ef == NULL);
    o.size = 777;
    CHECK_RC(emz_options_default_sized(&o, 3), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(o.size == 777);
    CHECK_RC(emz_options_default_sized(NULL, sizeof o), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_config_init_sized(&c, sizeof c + 1, k.sec), EMZ_ERR_INVALID_ARGUMENT);
    CHECK_RC(emz_config_init_sized(NULL, sizeof c, k.sec), EMZ_ERR_NULL_ARGUMENT);
    ef = make_ef(&k, NULL);
    now.size = 0;
    CHECK_RC(emz_efunguz_options(ef, &now), EMZ_ERR_INVALID_ARGUMENT);
    CHECK(now.size == 0);
    emz_efunguz_free(ef);
}

/* ---- extremes: every numeric field and parameter gives a result, never a panic -------- */

static void try_options(const keypair *k, void (*set)(emz_options_t *, int), int i) {
    emz_config_t c;
    emz_options_t o;
    emz_efunguz_t *ef = NULL;
    int rc;
    emz_config_init(&c, k->sec);
    emz_options_default(&o);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    set(&o, i);
    c.options = &o;
    rc = emz_efunguz_new_with(&c, &ef);
    CHECK(rc != EMZ_ERR_PANIC);
    if (rc == EMZ_OK) {
        CHECK_RC(emz_update(ef, NULL), EMZ_OK);
        emz_efunguz_free(ef);
    } else {
        CHECK(ef == NULL && strlen(emz_last_error()) > 0);
    }
}

static const int64_t I64S[] = {0, -1, 1, INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1, INT64_MAX, INT64_MIN};
static const uint64_t U64S[] = {0,         1, 1000, (uint64_t)INT32_MAX, (uint64_t)INT32_MAX + 1, UINT64_MAX / 1000,
                                UINT64_MAX};
#define N_I64 ((int)(sizeof I64S / sizeof I64S[0]))
#define N_U64 ((int)(sizeof U64S / sizeof U64S[0]))
static int32_t i32_of(int i) {
    return I64S[i] > INT32_MAX ? INT32_MAX : I64S[i] < INT32_MIN ? INT32_MIN : (int32_t)I64S[i];
}
static void set_io(emz_options_t *o, int i) {
    o->io_threads = i32_of(i);
}
static void set_socks(emz_options_t *o, int i) {
    o->max_sockets = i32_of(i);
}
static void set_shwm(emz_options_t *o, int i) {
    o->send_hwm = i32_of(i);
}
static void set_rhwm(emz_options_t *o, int i) {
    o->recv_hwm = i32_of(i);
}
static void set_maxmsg(emz_options_t *o, int i) {
    o->max_message_size = I64S[i];
}
static void set_drain(emz_options_t *o, int i) {
    o->drain_budget = (size_t)U64S[i % N_U64];
}
static void set_rc(emz_options_t *o, int i) {
    o->reconnect_interval_ms = U64S[i];
}
static void set_rcmax(emz_options_t *o, int i) {
    o->reconnect_interval_max_ms = U64S[i];
}
static void set_hb(emz_options_t *o, int i) {
    o->heartbeat_interval_ms = U64S[i];
}
static void set_hbto(emz_options_t *o, int i) {
    o->heartbeat_timeout_ms = U64S[i];
}
static void set_hbttl(emz_options_t *o, int i) {
    o->heartbeat_ttl_ms = U64S[i];
}
static void set_hs(emz_options_t *o, int i) {
    o->handshake_interval_ms = U64S[i];
}
static void set_phs(emz_options_t *o, int i) {
    o->publish_handshake_interval_ms = U64S[i];
}
static void set_pmax(emz_options_t *o, int i) {
    o->publish_max_message_size = I64S[i];
}
static void set_fds(emz_options_t *o, int i) {
    o->min_fd_limit = U64S[i % N_U64] > 1 << 20 ? 0 : U64S[i % N_U64];
}
static void set_frames(emz_options_t *o, int i) {
    o->drain_frame_budget = (size_t)U64S[i % N_U64];
}
static void set_bytes(emz_options_t *o, int i) {
    o->drain_byte_budget = (size_t)U64S[i % N_U64];
}
static void set_parts(emz_options_t *o, int i) {
    o->max_parts = (size_t)U64S[i % N_U64];
}

static void test_extremes(void) {
    keypair k = new_keys(), other = new_keys();
    void (*i64_fields[])(emz_options_t *, int) = {set_io,   set_socks, set_shwm,   set_rhwm,  set_maxmsg, set_drain,
                                                  set_pmax, set_fds,   set_frames, set_bytes, set_parts};
    void (*u64_fields[])(emz_options_t *, int) = {set_rc, set_rcmax, set_hb, set_hbto, set_hbttl, set_hs, set_phs};
    size_t f;
    int i;
    emz_efunguz_t *ef = make_ef(&k, NULL);
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_part_t p = part_of("x");
    char key[EMZ_KEY_BUF_LEN];
    for (f = 0; f < sizeof i64_fields / sizeof i64_fields[0]; f++)
        for (i = 0; i < N_I64; i++) try_options(&k, i64_fields[f], i);
    for (f = 0; f < sizeof u64_fields / sizeof u64_fields[0]; f++)
        for (i = 0; i < N_U64; i++) try_options(&k, u64_fields[f], i);

    /* numeric parameters of the calls */
    for (i = 0; i < N_I64; i++) CHECK(emz_emit_etale_at(ef, "t", &p, 1, I64S[i], NULL) != EMZ_ERR_PANIC);
    CHECK_RC(emz_add_ehypha_direct(ef, other.pub, "127.0.0.1", 0, &eh), EMZ_ERR_INVALID_PORT);
    CHECK_RC(emz_add_ehypha_direct(ef, other.pub, "127.0.0.1", UINT16_MAX, &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "t", &et), EMZ_OK);
    CHECK_RC(emz_wait(ef, 0, NULL), EMZ_OK);
    CHECK_RC(emz_wait(ef, 1, NULL), EMZ_OK);
    CHECK_RC(emz_whitelist_key_at(ef, SIZE_MAX, key), EMZ_ERR_INVALID_ARGUMENT);
    CHECK_RC(emz_ehypha_at(ef, SIZE_MAX, &eh), EMZ_ERR_INVALID_ARGUMENT);
    CHECK_RC(emz_change(ef, SIZE_MAX, &et), EMZ_ERR_INVALID_ARGUMENT);
    CHECK_RC(emz_add_whitelist_keys(ef, NULL, SIZE_MAX), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_emit_etale(ef, "t", NULL, SIZE_MAX, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK(emz_result_str(INT32_MAX) != NULL && emz_result_str(INT32_MIN) != NULL);
    CHECK(emz_ehypha_state_name(INT32_MAX) != NULL && emz_ehypha_state_name(-1) != NULL);
    emz_efunguz_free(ef);
}

/* ---- view lifetime ------------------------------------------------------------------- */

/* Under ASan: reading every byte of every view between two updates, while the data keeps
 * changing, must never touch freed memory; views stay stable while other ehyphae and
 * etales come and go. */
static void test_view_lifetime(void) {
    keypair a = new_keys(), b = new_keys();
    emz_efunguz_t *ea = make_ef(&a, NULL);
    emz_efunguz_t *eb = make_ef(&b, NULL);
    emz_ehypha_t *eh = NULL, *found = NULL;
    emz_etale_t *et = NULL, *et2 = NULL;
    static uint8_t buf[100000];
    emz_part_t parts[2];
    int round, checked = 0, consistent = 1, i;
    double t0;

    CHECK_RC(emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "big", &et), EMZ_OK);
    parts[0].ptr = buf;
    parts[0].len = sizeof buf;
    parts[1] = part_of("tail");
    memset(buf, 1, sizeof buf);
    CHECK(pump(ea, eb, "big", parts, 2, et, 15.0));

    /* Other ehyphae and etales come and go: the views stay where they are. */
    for (i = 0; i < 50; i++) {
        keypair p = new_keys();
        emz_ehypha_t *tmp = NULL;
        emz_add_ehypha_direct(eb, p.pub, "127.0.0.1", 1, &tmp);
        emz_ehypha_add_etale(tmp, "x", NULL);
        if (i % 2) emz_del_ehypha(eb, p.pub);
        emz_ehypha_add_etale(eh, i % 2 ? "a" : "b", NULL);
        emz_ehypha_del_etale(eh, i % 2 ? "a" : "b");
    }
    CHECK_RC(emz_get_ehypha(eb, a.pub, &found), EMZ_OK);
    CHECK(found == eh);
    CHECK_RC(emz_ehypha_get_etale(eh, "big", &et2), EMZ_OK);
    CHECK(et2 == et);

    t0 = now_s();
    for (round = 0; round < 200 && now_s() - t0 < 20; round++) {
        const emz_part_t *got = NULL;
        size_t n = 0, k;
        memset(buf, (uint8_t)(round + 2), sizeof buf);
        emz_emit_etale(ea, "big", parts, 2, NULL);
        emz_update(ea, NULL);
        emz_wait(eb, 10, NULL);
        if (emz_etale_parts(et, &got, &n, NULL, NULL) != EMZ_OK || n != 2) continue;
        /* Every byte read, twice (views must not change until the next update). */
        {
            uint8_t first = got[0].ptr[0];
            for (k = 0; k < got[0].len; k++) consistent &= got[0].ptr[k] == first;
            consistent &= got[1].len == 4 && memcmp(got[1].ptr, "tail", 4) == 0;
        }
        checked++;
    }
    CHECK(checked > 10);
    CHECK(consistent);
    emz_efunguz_free(eb);
    emz_efunguz_free(ea);
}

/* ---- create / use / free cycles (for LeakSanitizer and valgrind) --------------------- */

static void test_cycles(int cycles) {
    int i, ok = 1;
    for (i = 0; i < cycles; i++) {
        keypair a = new_keys(), b = new_keys();
        emz_efunguz_t *ea = make_ef(&a, NULL);
        emz_efunguz_t *eb = make_ef(&b, NULL);
        emz_ehypha_t *eh = NULL;
        emz_etale_t *et = NULL;
        emz_part_t p = part_of("cycle data that is longer than thirty-three bytes");
        ok &= emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh) == EMZ_OK;
        ok &= emz_ehypha_add_etale(eh, "c", &et) == EMZ_OK;
        ok &= emz_ehypha_add_etale(eh, "d", NULL) == EMZ_OK;
        if (i % 3 == 0) ok &= pump(ea, eb, "c", &p, 1, et, 10.0);
        emz_add_ehypha_direct(ea, b.pub, "127.0.0.1", emz_efunguz_port(eb), NULL);
        if (i % 2) emz_del_ehypha(eb, a.pub); /* freed by del, or with the efunguz */
        emz_add_whitelist_key(ea, b.pub);
        emz_update(ea, NULL); /* failures are recorded: their messages must not leak */
        emz_add_whitelist_key(ea, b.pub);
        emz_efunguz_free(eb);
        emz_efunguz_free(ea);
    }
    CHECK(ok);
}

/* ---- ehypha_monitor off ---------------------------------------------------------------- */

static void test_monitor_off(void) {
    keypair a = new_keys(), b = new_keys();
    emz_efunguz_t *ea = make_ef(&a, NULL);
    emz_efunguz_t *eb = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_options_t o;
    emz_config_t c;
    emz_part_t p = part_of("x");
    emz_ehypha_state_t state = EMZ_EHYPHA_UP;

    emz_options_default(&o);
    CHECK(o.ehypha_monitor);
    emz_config_init(&c, b.sec);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    o.ehypha_monitor = false;
    c.options = &o;
    CHECK_RC(emz_efunguz_new_with(&c, &eb), EMZ_OK);
    emz_options_default(&o);
    CHECK_RC(emz_efunguz_options(eb, &o), EMZ_OK);
    CHECK(!o.ehypha_monitor);
    CHECK_RC(emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "t", &et), EMZ_OK);
    CHECK(pump(ea, eb, "t", &p, 1, et, 15.0));
    CHECK_RC(emz_ehypha_state(eh, &state, NULL), EMZ_OK);
    CHECK(state == EMZ_EHYPHA_UNKNOWN); /* data flows, but nobody watches */
    emz_efunguz_free(eb);
    emz_efunguz_free(ea);
}

/* The options, counters and stats the core added: a subscriber with max_parts 2 drops a
 * 3-part etale and counts it; a stranger's refused handshake is counted as in_failed. */
static void test_limits_and_counters(void) {
    keypair a = new_keys(), b = new_keys(), stranger = new_keys();
    emz_efunguz_t *ea = make_ef(&a, b.pub);
    emz_efunguz_t *eb = NULL, *es = make_ef(&stranger, NULL);
    emz_ehypha_t *eh = NULL, *esh = NULL;
    emz_etale_t *et = NULL;
    emz_options_t o;
    emz_config_t c;
    emz_part_t three[3];
    emz_stats_t st;
    emz_counters_t cnt;
    const emz_part_t *got = NULL;
    size_t n = 0;
    double t0;

    emz_options_default(&o);
    CHECK(o.publish_handshake_interval_ms == 10000 && o.min_fd_limit == 65536 && o.max_parts == 4096);
    CHECK(o.drain_frame_budget == 100000 && o.drain_byte_budget == (size_t)64 << 20);
    CHECK(o.publish_max_message_size > 2);
    emz_config_init(&c, b.sec);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    c.everyone = true;
    o.max_parts = 2;
    o.drain_frame_budget = 7;
    o.drain_byte_budget = 1000;
    o.publish_handshake_interval_ms = 3000;
    o.publish_max_message_size = 300;
    o.min_fd_limit = 0;
    c.options = &o;
    CHECK_RC(emz_efunguz_new_with(&c, &eb), EMZ_OK);
    emz_options_default(&o);
    CHECK_RC(emz_efunguz_options(eb, &o), EMZ_OK);
    CHECK(o.max_parts == 2 && o.drain_frame_budget == 7 && o.drain_byte_budget == 1000);
    CHECK(o.publish_handshake_interval_ms == 3000 && o.publish_max_message_size == 300 && o.min_fd_limit == 0);

    three[0] = part_of("one");
    three[1] = part_of("two");
    three[2] = part_of("three");
    CHECK_RC(emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "t", &et), EMZ_OK);
    CHECK(pump(ea, eb, "t", three, 2, et, 15.0));
    CHECK_RC(emz_efunguz_stats(eb, &st), EMZ_OK);
    CHECK(st.too_many_parts == 0);
    CHECK_RC(emz_emit_etale(ea, "t", three, 3, NULL), EMZ_OK);
    t0 = now_s();
    do {
        emz_update(ea, NULL);
        emz_wait(eb, 10, NULL);
        CHECK_RC(emz_efunguz_stats(eb, &st), EMZ_OK);
    } while (st.too_many_parts == 0 && now_s() - t0 < 10);
    CHECK(st.too_many_parts == 1);
    CHECK_RC(emz_ehypha_stats(eh, &st), EMZ_OK);
    CHECK(st.too_many_parts == 1);
    CHECK_RC(emz_etale_parts(et, &got, &n, NULL, NULL), EMZ_OK);
    CHECK(n == 2); /* the dropped etale left the last one alone */

    CHECK_RC(emz_add_ehypha_direct(es, a.pub, "127.0.0.1", emz_efunguz_port(ea), &esh), EMZ_OK);
    t0 = now_s();
    while (emz_in_failed(ea) == 0 && now_s() - t0 < 10) {
        emz_wait(ea, 10, NULL);
        emz_update(es, NULL);
    }
    CHECK(emz_in_failed(ea) >= 1);
    CHECK_RC(emz_counters(ea, &cnt), EMZ_OK);
    CHECK(cnt.in_failed == emz_in_failed(ea) && cnt.bad_subscriptions == emz_bad_subscriptions(ea));
    CHECK(cnt.bad_subscriptions == 0);
    CHECK(emz_in_failed(NULL) == 0 && emz_bad_subscriptions(NULL) == 0);
    emz_efunguz_free(es);
    emz_efunguz_free(eb);
    emz_efunguz_free(ea);
}

/* ---- onion service through a scripted Tor control port ----------------------------------- */

/* Speaks just enough of Tor's control protocol (PROTOCOLINFO, AUTHENTICATE with a cookie of
 * 32 bytes 0xAB, ADD_ONION, DEL_ONION); one thread per connection. Onion ids derive from
 * the key, so the same key gives the same onion. */
static char fake_cookie[256];

static void fake_onion_id(const char *key, char *out) {
    const char *b32 = "abcdefghijklmnopqrstuvwxyz234567";
    uint64_t h = 1469598103934665603ULL;
    int i;
    for (; *key && *key != ' '; key++) h = (h ^ (uint8_t)*key) * 1099511628211ULL;
    for (i = 0; i < 56; i++) {
        h = h * 6364136223846793005ULL + 1442695040888963407ULL;
        out[i] = b32[h >> 59];
    }
    out[56] = 0;
}

static void fake_reply(const char *line, int *authed, int *counter, char *r, size_t cap) {
    char id[57], key[128];
    if (strcmp(line, "PROTOCOLINFO 1") == 0) {
        snprintf(r, cap,
                 "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"%s\"\r\n"
                 "250-VERSION Tor=\"0.4.9.8\"\r\n250 OK\r\n",
                 fake_cookie);
    } else if (strncmp(line, "AUTHENTICATE ", 13) == 0) {
        int ok = strlen(line + 13) == 64, i;
        for (i = 0; ok && i < 64; i++) ok = line[13 + i] == (i % 2 ? 'B' : 'A');
        *authed = ok;
        snprintf(r, cap, ok ? "250 OK\r\n" : "515 Authentication failed: Wrong length on authentication cookie.\r\n");
    } else if (!*authed) {
        snprintf(r, cap, "514 Authentication required.\r\n");
    } else if (strncmp(line, "ADD_ONION NEW:ED25519-V3", 24) == 0) {
        size_t n;
        snprintf(key, sizeof key, "ED25519-V3:K%dx%d", (int)getpid(), ++*counter);
        for (n = strlen(key); n < 11 + 88; n++) key[n] = 'A';
        key[n] = 0;
        fake_onion_id(key, id);
        if (strstr(line, "Flags=DiscardPK"))
            snprintf(r, cap, "250-ServiceID=%s\r\n250 OK\r\n", id);
        else
            snprintf(r, cap, "250-ServiceID=%s\r\n250-PrivateKey=%s\r\n250 OK\r\n", id, key);
    } else if (strncmp(line, "ADD_ONION ED25519-V3:", 21) == 0) {
        fake_onion_id(line + 10, id);
        snprintf(r, cap, "250-ServiceID=%s\r\n250 OK\r\n", id);
    } else if (strncmp(line, "DEL_ONION ", 10) == 0) {
        snprintf(r, cap, "250 OK\r\n");
    } else {
        snprintf(r, cap, "510 Unrecognized command\r\n");
    }
}

static void *fake_tor_conn(void *arg) {
    int c = (int)(intptr_t)arg, authed = 0, counter = 0;
    char line[1024], reply[1024], ch;
    size_t len = 0;
    while (read(c, &ch, 1) == 1) {
        if (ch == '\r') continue;
        if (ch != '\n') {
            if (len < sizeof line - 1) line[len++] = ch;
            continue;
        }
        line[len] = 0;
        len = 0;
        fake_reply(line, &authed, &counter, reply, sizeof reply);
        if (write(c, reply, strlen(reply)) < 0) break;
    }
    close(c);
    return NULL;
}

static void *fake_tor_accept(void *arg) {
    int l = (int)(intptr_t)arg;
    for (;;) {
        pthread_t t;
        int c = accept(l, NULL, NULL);
        if (c < 0) return NULL; /* shut down */
        if (pthread_create(&t, NULL, fake_tor_conn, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}

/* A listening socket on 127.0.0.1 (any port); its port into *port. */
static int listen_any(int *port) {
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(l, 16) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "cannot listen on loopback\n");
        exit(2);
    }
    *port = ntohs(sa.sin_port);
    return l;
}

static void test_onion(void) {
    keypair k = new_keys();
    emz_efunguz_t *ef = make_ef(&k, NULL);
    pthread_t server;
    int l, port, closed_port, i;
    char control[64], closed[64], key_file[128], wrong_cookie[128], first[57];
    const char *onion = NULL;
    unsigned char bytes[32];
    FILE *f;

    snprintf(fake_cookie, sizeof fake_cookie, "emz_capi_test_cookie.%d", (int)getpid());
    snprintf(key_file, sizeof key_file, "emz_capi_test_onion.%d.key", (int)getpid());
    snprintf(wrong_cookie, sizeof wrong_cookie, "emz_capi_test_wrong_cookie.%d", (int)getpid());
    for (i = 0; i < 32; i++) bytes[i] = 0xAB;
    f = fopen(fake_cookie, "wb");
    if (f) {
        fwrite(bytes, 1, 32, f);
        fclose(f);
    }
    memset(bytes, 1, sizeof bytes);
    f = fopen(wrong_cookie, "wb");
    if (f) {
        fwrite(bytes, 1, 32, f);
        fclose(f);
    }
    remove(key_file);
    l = listen_any(&port);
    snprintf(control, sizeof control, "127.0.0.1:%d", port);
    close(listen_any(&closed_port)); /* a port nobody listens on */
    snprintf(closed, sizeof closed, "127.0.0.1:%d", closed_port);
    if (pthread_create(&server, NULL, fake_tor_accept, (void *)(intptr_t)l) != 0) {
        fprintf(stderr, "cannot start the fake control port\n");
        exit(2);
    }

    /* A key file: created on the first publish, the same onion from it afterwards. */
    CHECK(emz_efunguz_onion(ef) == NULL);
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_AUTO, NULL, EMZ_ONION_KEY_FILE, key_file, &onion), EMZ_OK);
    CHECK(onion != NULL && strlen(onion) == 56);
    if (onion) {
        snprintf(first, sizeof first, "%s", onion);
        CHECK(emz_efunguz_onion(ef) == onion);
    }
    CHECK(access(key_file, R_OK) == 0);
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_AUTO, NULL, EMZ_ONION_KEY_NEW, NULL, NULL),
             EMZ_ERR_ALREADY_PRESENT);
    CHECK_RC(emz_unpublish_onion(ef), EMZ_OK);
    CHECK(emz_efunguz_onion(ef) == NULL);
    CHECK_RC(emz_unpublish_onion(ef), EMZ_ERR_ALREADY_ABSENT);
    onion = NULL;
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_COOKIE, fake_cookie, EMZ_ONION_KEY_FILE, key_file, &onion),
             EMZ_OK);
    CHECK(onion != NULL && strcmp(onion, first) == 0);
    CHECK_RC(emz_unpublish_onion(ef), EMZ_OK);

    /* No control port there; a wrong cookie; bad kinds and values. */
    CHECK_RC(emz_publish_onion(ef, closed, EMZ_TOR_AUTH_AUTO, NULL, EMZ_ONION_KEY_NEW, NULL, NULL), EMZ_ERR_TOR);
    CHECK(strstr(emz_efunguz_last_error(ef), "no Tor control port") != NULL);
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_COOKIE, wrong_cookie, EMZ_ONION_KEY_NEW, NULL, NULL),
             EMZ_ERR_TOR);
    CHECK(strstr(emz_efunguz_last_error(ef), "515") != NULL);
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_COOKIE, NULL, EMZ_ONION_KEY_NEW, NULL, NULL),
             EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_publish_onion(ef, control, 7, NULL, EMZ_ONION_KEY_NEW, NULL, NULL), EMZ_ERR_INVALID_ARGUMENT);
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_AUTO, NULL, 7, NULL, NULL), EMZ_ERR_INVALID_ARGUMENT);
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_AUTO, NULL, EMZ_ONION_KEY_ED25519_V3, "RSA1024:x", NULL),
             EMZ_ERR_INVALID_KEY);
    CHECK(emz_efunguz_onion(ef) == NULL);

    /* A published onion goes with the efunguz. */
    CHECK_RC(emz_publish_onion(ef, control, EMZ_TOR_AUTH_AUTO, NULL, EMZ_ONION_KEY_NEW, NULL, NULL), EMZ_OK);
    emz_efunguz_free(ef);

    shutdown(l, SHUT_RDWR);
    pthread_join(server, NULL);
    close(l);
    remove(fake_cookie);
    remove(wrong_cookie);
    remove(key_file);
}

/* ---- readiness fd ---------------------------------------------------------------------- */

static uint64_t received(emz_etale_t *et) {
    uint64_t r = 0;
    emz_etale_received(et, &r);
    return r;
}

/* Whether `fd` is readable within `timeout_ms` (0: right now). */
static int fd_readable(int fd, int timeout_ms) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

static void test_readiness_fd(void) {
    keypair a = new_keys(), b = new_keys();
    emz_efunguz_t *ea = make_ef(&a, NULL);
    emz_efunguz_t *eb = make_ef(&b, NULL);
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_part_t part = part_of("ready");
    int fd = -7, again = -7, i, ok = 1;
    size_t n = 0;
    double t0;

    CHECK_RC(emz_efunguz_fd(NULL, &fd), EMZ_ERR_NULL_ARGUMENT);
    CHECK_RC(emz_efunguz_fd(eb, NULL), EMZ_ERR_NULL_ARGUMENT);
    CHECK(fd == -7); /* written only on success */
    CHECK_RC(emz_efunguz_fd(eb, &fd), EMZ_OK);
    CHECK_RC(emz_efunguz_fd(eb, &again), EMZ_OK);
    CHECK(fd >= 0 && fd == again);
    for (i = 0; i < 20; i++) emz_update(eb, NULL); /* whatever start-up left */
    CHECK(!fd_readable(fd, 0));
    CHECK_RC(emz_add_ehypha_direct(eb, a.pub, "127.0.0.1", emz_efunguz_port(ea), &eh), EMZ_OK);
    CHECK_RC(emz_ehypha_add_etale(eh, "r", &et), EMZ_OK);
    CHECK(fd_readable(fd, 0)); /* a new ehypha is work for emz_update */
    /* Update only when the fd says so, until the etale arrives. */
    t0 = now_s();
    while (received(et) == 0 && now_s() - t0 < 10.0) {
        emz_emit_etale(ea, "r", &part, 1, NULL);
        emz_update(ea, NULL);
        if (fd_readable(fd, 5)) ok &= emz_update(eb, &n) == EMZ_OK;
    }
    CHECK(ok && received(et) > 0);
    emz_efunguz_free(ea);
    emz_efunguz_free(eb);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    test_library();
    test_keys();
    test_null_handles();
    test_error_codes();
    test_round_trip();
    test_whitelist_deny();
    test_access();
    test_sized_structs();
    test_extremes();
    test_view_lifetime();
    test_monitor_off();
    test_limits_and_counters();
    test_onion();
    test_readiness_fd();
    test_cycles(quick ? 6 : 30);
    printf("\ncapi-test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
