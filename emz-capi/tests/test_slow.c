/*
 * A subscriber that stops calling emz_update() delays nobody, and catches up once it
 * updates again, through the C API: publisher P (small send_hwm), subscriber A, and
 * subscriber B (small recv_hwm) that stops updating. A keeps at least 95 % of the etales
 * while B is stuck; B, once it updates again, holds the latest etale of each title.
 *
 * Last line: "slow-test: N passed, M failed"; exit status 0 only when M is 0.
 */
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_TITLES 4
#define LONG_S 20.0 /* seconds a step may take at most (slow shared machines) */

static const char *const TITLES[N_TITLES] = {"t0", "t1", "t2", "t3"};

/* Ends the test at once: what follows cannot run without it. */
static void require(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "FAIL: %s (last error: %s)\nslow-test: %d passed, %d failed\n", what, emz_last_error(), passed,
                failed + 1);
        exit(1);
    }
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void update(emz_efunguz_t *ef) {
    require(emz_update(ef, NULL) == EMZ_OK, "emz_update");
}

/* An efunguz on 127.0.0.1, any port, with the given queue limits (0: the default). */
static emz_efunguz_t *make_ef(int send_hwm, int recv_hwm) {
    char pub[EMZ_KEY_BUF_LEN], sec[EMZ_KEY_BUF_LEN];
    emz_config_t c;
    emz_options_t o;
    emz_efunguz_t *ef = NULL;
    require(emz_new_key_pair(pub, sec) == EMZ_OK, "emz_new_key_pair");
    require(emz_config_init(&c, sec) == EMZ_OK && emz_options_default(&o) == EMZ_OK, "emz_config_init");
    c.options = &o;
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    c.everyone = true; /* the config path admits nobody unless told */
    if (send_hwm > 0) {
        o.send_hwm = send_hwm;
    }
    if (recv_hwm > 0) {
        o.recv_hwm = recv_hwm;
    }
    require(emz_efunguz_new_with(&c, &ef) == EMZ_OK, "emz_efunguz_new_with");
    return ef;
}

static void subscribe(emz_efunguz_t *sub, emz_efunguz_t *p) {
    emz_ehypha_t *eh = NULL;
    int i;
    require(emz_add_ehypha_direct(sub, emz_efunguz_public_key(p), "127.0.0.1", emz_efunguz_port(p), &eh) == EMZ_OK,
            "emz_add_ehypha_direct");
    for (i = 0; i < N_TITLES; i++) {
        require(emz_ehypha_add_etale(eh, TITLES[i], NULL) == EMZ_OK, "emz_ehypha_add_etale");
    }
}

static emz_etale_t *etale(emz_efunguz_t *sub, emz_efunguz_t *p, int i) {
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    require(emz_get_ehypha(sub, emz_efunguz_public_key(p), &eh) == EMZ_OK, "emz_get_ehypha");
    require(emz_ehypha_get_etale(eh, TITLES[i], &et) == EMZ_OK, "emz_ehypha_get_etale");
    return et;
}

static int64_t t_out(emz_efunguz_t *sub, emz_efunguz_t *p, int i) {
    int64_t t = -1;
    require(emz_etale_t_out(etale(sub, p, i), &t) == EMZ_OK, "emz_etale_t_out");
    return t;
}

/* Etales of every title that arrived at `sub` from `p`. */
static uint64_t received(emz_efunguz_t *sub, emz_efunguz_t *p) {
    uint64_t sum = 0, n = 0;
    int i;
    for (i = 0; i < N_TITLES; i++) {
        require(emz_etale_received(etale(sub, p, i), &n) == EMZ_OK, "emz_etale_received");
        sum += n;
    }
    return sum;
}

/* Emits `len` bytes, all equal to the low byte of seq, under title i at t_out = seq. */
static bool emit(emz_efunguz_t *p, int i, int64_t seq, uint8_t *buf, size_t len) {
    emz_part_t part;
    bool sent = false;
    memset(buf, (int)(seq & 0xff), len);
    part.ptr = buf;
    part.len = len;
    require(emz_emit_etale_at(p, TITLES[i], &part, 1, seq, &sent) == EMZ_OK, "emz_emit_etale_at");
    return sent;
}

/* Whether `sub` holds want[i] for every title. */
static bool holds(emz_efunguz_t *sub, emz_efunguz_t *p, const int64_t *want) {
    int i;
    for (i = 0; i < N_TITLES; i++) {
        if (t_out(sub, p, i) != want[i]) {
            return false;
        }
    }
    return true;
}

static bool has_all(emz_efunguz_t *sub, emz_efunguz_t *p) {
    int i;
    for (i = 0; i < N_TITLES; i++) {
        if (t_out(sub, p, i) <= 0) {
            return false;
        }
    }
    return true;
}

static void settle(emz_efunguz_t *p, emz_efunguz_t *a, double secs) {
    double end = now_s() + secs;
    while (now_s() < end) {
        update(p);
        update(a);
        sleep_ms(1);
    }
}

int main(void) {
    static uint8_t big[64 * 1024], small[8 * 1024];
    emz_efunguz_t *p = make_ef(50, 0), *a = make_ef(0, 0), *b = make_ef(0, 16);
    int64_t seq = 0, want[N_TITLES] = {0};
    uint64_t emitted = 0, deferred = 0, a_before, a_got;
    double end, t0;
    int i, r;
    subscribe(a, p);
    subscribe(b, p);

    /* Everyone subscribed and holding a first value of every title. */
    end = now_s() + LONG_S;
    do {
        require(now_s() < end, "A and B never got a first value of every title");
        for (i = 0; i < N_TITLES; i++) {
            emit(p, i, ++seq, small, 8);
        }
        update(p);
        update(a);
        update(b);
        sleep_ms(5);
    } while (!has_all(a, p) || !has_all(b, p));

    /* B stops updating. P emits 64 KiB etales until every title stays pending for B
     * through a pause in which A goes on reading: B's queues (libzmq's and the kernel's)
     * are full. */
    end = now_s() + LONG_S;
    do {
        require(now_s() < end, "B's queues never filled");
        for (r = 0; r < 8; r++) {
            for (i = 0; i < N_TITLES; i++) {
                emit(p, i, ++seq, big, sizeof big);
            }
        }
        settle(p, a, 0.05);
    } while (emz_unsent_etales(p) != N_TITLES);

    /* emz_emit_etale tells as well: B could not take it (it is superseded below). */
    {
        emz_part_t part;
        bool sent = true;
        part.ptr = small;
        part.len = 8;
        require(emz_emit_etale(p, TITLES[0], &part, 1, &sent) == EMZ_OK, "emz_emit_etale");
        CHECK(!sent);
    }

    /* 200 etales/s of 8 KiB, round-robin over the titles, for 2 s. */
    a_before = received(a, p);
    t0 = now_s();
    while (now_s() - t0 < 2.0) {
        uint64_t due = (uint64_t)((now_s() - t0) * 200.0);
        while (emitted < due) {
            i = (int)(emitted % N_TITLES);
            if (!emit(p, i, ++seq, small, sizeof small)) {
                deferred++;
            }
            want[i] = seq;
            emitted++;
        }
        update(p);
        update(a);
        sleep_ms(1);
    }
    settle(p, a, 0.3);
    a_got = received(a, p) - a_before;
    printf("%llu emitted, %llu could not be queued for B, A received %llu\n", (unsigned long long)emitted,
           (unsigned long long)deferred, (unsigned long long)a_got);
    CHECK(deferred * 2 > emitted); /* else B had room: the rest proves nothing */
    CHECK(emz_unsent_etales(p) == N_TITLES);
    CHECK(a_got * 100 >= emitted * 95);
    CHECK(holds(a, p, want));

    /* B updates again: it gets the latest etale of every title, bytes and all. */
    end = now_s() + LONG_S;
    while (!holds(b, p, want) && now_s() < end) {
        update(p);
        update(b);
        sleep_ms(1);
    }
    CHECK(holds(b, p, want));
    for (i = 0; i < N_TITLES; i++) {
        const emz_part_t *parts = NULL;
        size_t n = 0;
        require(emz_etale_parts(etale(b, p, i), &parts, &n, NULL, NULL) == EMZ_OK, "emz_etale_parts");
        CHECK(n == 1 && parts[0].len == sizeof small && parts[0].ptr[0] == (uint8_t)(want[i] & 0xff) &&
              parts[0].ptr[sizeof small - 1] == (uint8_t)(want[i] & 0xff));
    }
    /* What B did not read went stale in P's queue for it, behind newer etales of the same
     * titles, and was dropped there (supersede_after_ms, default 50 ms). */
    {
        emz_counters_t c;
        emz_stats_t s;
        require(emz_counters(p, &c) == EMZ_OK && emz_efunguz_stats(b, &s) == EMZ_OK, "emz_counters");
        printf("superseded: %llu at P, %llu at B\n", (unsigned long long)c.superseded,
               (unsigned long long)s.superseded);
        CHECK(c.superseded > 0);
    }
    end = now_s() + LONG_S;
    while (emz_unsent_etales(p) != 0 && now_s() < end) {
        update(p);
        update(b);
        sleep_ms(1);
    }
    CHECK(emz_unsent_etales(p) == 0);

    emz_efunguz_free(b);
    emz_efunguz_free(a);
    emz_efunguz_free(p);
    printf("slow-test: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
