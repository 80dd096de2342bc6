/* The C-API face of the emyzelium benchmark suite: the same roles and JSON
 * lines as benches/src/main.rs (pub flood|rate, sub thr|lat, idle), written on
 * include/emyzelium.h and linked to libemyzelium.so. Run by benches/run.py.
 *
 *   bench_c pub  --secret S [--wl K] --mode flood|rate [--size B --secs S --rate R]
 *   bench_c sub  --secret S --pubkey K --port P --mode thr|lat [--secs S --warm S]
 *   bench_c idle --n N
 */
#include "emyzelium.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_argc;
static char **g_argv;

static const char *arg(const char *key, const char *dflt) {
    int i;
    for (i = 2; i + 1 < g_argc; i += 2)
        if (strncmp(g_argv[i], "--", 2) == 0 && strcmp(g_argv[i] + 2, key) == 0) return g_argv[i + 1];
    return dflt;
}

static void die(const char *what) {
    printf("{\"error\":\"%s: %s\"}\n", what, emz_last_error());
    fflush(stdout);
    exit(1);
}
#define CHECK(call)                                                                                                    \
    do {                                                                                                               \
        if ((call) != EMZ_OK) die(#call);                                                                              \
    } while (0)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
    struct timespec ts;
    if (s <= 0) return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

/* stdin: "go" sets g_go; "quit" or EOF sets g_quit. Polled without blocking. */
static int g_go, g_quit;
static char g_line[256];
static size_t g_len;
static void check_stdin(void) {
    struct pollfd p;
    p.fd = 0;
    p.events = POLLIN;
    p.revents = 0;
    while (!g_quit && poll(&p, 1, 0) > 0) {
        char c;
        ssize_t r = read(0, &c, 1);
        if (r <= 0) {
            g_quit = 1;
            break;
        }
        if (c == '\n') {
            g_line[g_len] = 0;
            if (strcmp(g_line, "go") == 0) g_go = 1;
            if (strcmp(g_line, "quit") == 0) g_quit = 1;
            g_len = 0;
        } else if (g_len + 1 < sizeof g_line) {
            g_line[g_len++] = c;
        }
    }
}

static uint64_t seq_of(const emz_part_t *p) {
    uint64_t s = 0;
    if (p->len >= 8) memcpy(&s, p->ptr, 8); /* little-endian hosts */
    return s;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
static double pct(const double *v, size_t n, double p) {
    if (n == 0) return -1;
    return v[(size_t)((p / 100.0) * (double)(n - 1) + 0.5)];
}

static emz_efunguz_t *make(const char *secret, const char *wl) {
    emz_config_t c;
    emz_efunguz_t *ef = NULL;
    const char *keys[1];
    emz_config_init(&c, secret);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    if (wl && *wl) {
        keys[0] = wl;
        c.whitelist = keys;
        c.whitelist_len = 1;
    } else {
        c.everyone = true; /* the config path admits nobody unless told */
    }
    CHECK(emz_efunguz_new_with(&c, &ef));
    return ef;
}

static int role_pub(void) {
    const char *mode = arg("mode", "flood");
    size_t size = (size_t)atol(arg("size", "64"));
    double secs = atof(arg("secs", "3"));
    emz_efunguz_t *ef = make(arg("secret", ""), arg("wl", ""));
    uint8_t *buf = malloc(size < 8 ? 8 : size);
    emz_part_t part;
    uint64_t seq = 0, sent_n = 0, held = 0, w = 0;
    bool sent;
    double end;
    memset(buf, 0x5a, size < 8 ? 8 : size);
    part.ptr = buf;
    part.len = size < 8 ? 8 : size;
    printf("{\"port\":%u}\n", (unsigned)emz_efunguz_port(ef));
    fflush(stdout);
    while (!g_go) {
        emz_part_t wp;
        check_stdin();
        if (g_quit) return 0;
        wp.ptr = (const uint8_t *)&w;
        wp.len = 8;
        CHECK(emz_emit_etale(ef, "w", &wp, 1, NULL));
        CHECK(emz_wait(ef, 20, NULL));
    }
    end = now_s() + secs;
    if (strcmp(mode, "flood") == 0) {
        /* as benches/src/main.rs: wait 1 ms when a subscriber's queue is full */
        int backoff = atoi(arg("backoff", "1"));
        while (now_s() < end) {
            int i, full = 0;
            for (i = 0; i < 32; i++) {
                memcpy(buf, &seq, 8);
                seq++;
                CHECK(emz_emit_etale_at(ef, "b", &part, 1, emz_now_us(), &sent));
                if (sent)
                    sent_n++;
                else
                    held++;
                full = !sent;
                if (full && backoff) break;
            }
            if (full && backoff)
                CHECK(emz_wait(ef, 1, NULL));
            else
                CHECK(emz_update(ef, NULL));
        }
    } else {
        double period = 1.0 / atof(arg("rate", "1000")), next = now_s();
        while (now_s() < end) {
            double t;
            /* update, then emit, then sleep: the frame order of benches/src/main.rs */
            CHECK(emz_update(ef, NULL));
            memcpy(buf, &seq, 8);
            seq++;
            CHECK(emz_emit_etale_at(ef, "b", &part, 1, emz_now_us(), &sent));
            if (sent)
                sent_n++;
            else
                held++;
            next += period;
            t = now_s();
            if (next > t)
                sleep_s(next - t);
            else
                next = t;
        }
    }
    printf("{\"sent\":%llu,\"held\":%llu}\n", (unsigned long long)sent_n, (unsigned long long)held);
    fflush(stdout);
    while (!g_quit) {
        check_stdin();
        CHECK(emz_wait(ef, 10, NULL));
    }
    emz_efunguz_free(ef);
    free(buf);
    return 0;
}

/* One update; calls visit(title, t_out, first part) for each changed etale. */
typedef void (*visit_fn)(void *ctx, const char *title, int64_t t_out, const emz_part_t *p);
static void poll_sub(emz_efunguz_t *ef, int block_ms, visit_fn f, void *ctx) {
    size_t changed = 0, i;
    if (block_ms)
        CHECK(emz_wait(ef, block_ms, &changed));
    else
        CHECK(emz_update(ef, &changed));
    for (i = 0; i < changed; i++) {
        emz_etale_t *et = NULL;
        const emz_part_t *parts = NULL;
        size_t n = 0;
        int64_t t_out = 0;
        CHECK(emz_change(ef, i, &et));
        CHECK(emz_etale_parts(et, &parts, &n, &t_out, NULL));
        if (n > 0) f(ctx, emz_etale_title(et), t_out, &parts[0]);
    }
}

struct st {
    int ready, got;
    uint64_t last, sum;
    size_t size;
    double *lats;
    size_t nlat, cap;
    int skipped_first;
};
static void v_ready(void *c, const char *t, int64_t t_out, const emz_part_t *p) {
    (void)t_out;
    (void)p;
    if (strcmp(t, "w") == 0 || strcmp(t, "b") == 0) ((struct st *)c)->ready = 1;
}
static void v_thr(void *c, const char *t, int64_t t_out, const emz_part_t *p) {
    struct st *s = c;
    (void)t_out;
    if (strcmp(t, "b") != 0) return;
    s->got = 1;
    s->last = seq_of(p);
    s->size = p->len;
    s->sum += p->ptr[p->len - 1];
}
static void v_lat(void *c, const char *t, int64_t t_out, const emz_part_t *p) {
    struct st *s = c;
    double l;
    (void)p;
    if (strcmp(t, "b") != 0) return;
    l = (double)(emz_now_us() - t_out);
    if (!s->skipped_first) {
        s->skipped_first = 1;
        return;
    }
    if (s->nlat < s->cap) s->lats[s->nlat++] = l;
}

static int role_sub(void) {
    const char *pubkey = arg("pubkey", ""), *mode = arg("mode", "thr");
    double secs = atof(arg("secs", "3")), warm = atof(arg("warm", "0.5")), t0;
    emz_efunguz_t *ef = make(arg("secret", ""), NULL);
    emz_ehypha_t *eh = NULL;
    emz_etale_t *b = NULL;
    struct st s;
    memset(&s, 0, sizeof s);
    CHECK(emz_add_ehypha_direct(ef, pubkey, "127.0.0.1", (uint16_t)atoi(arg("port", "0")), &eh));
    CHECK(emz_ehypha_add_etale(eh, "w", NULL));
    CHECK(emz_ehypha_add_etale(eh, "b", &b));
    t0 = now_s();
    while (!s.ready) {
        if (now_s() - t0 > 20) die("no warm-up etale within 20 s");
        poll_sub(ef, 50, v_ready, &s);
    }
    printf("{\"ready\":true}\n");
    fflush(stdout);
    if (strcmp(mode, "thr") == 0) {
        uint64_t r0, r1, s0, n, span, dropped;
        double el;
        t0 = now_s();
        while (!s.got) {
            if (now_s() - t0 > 20) die("no etale b within 20 s");
            poll_sub(ef, 0, v_thr, &s);
        }
        t0 = now_s();
        /* as benches/src/main.rs: sleep when nothing is waiting */
        while (now_s() - t0 < warm) poll_sub(ef, 10, v_thr, &s);
        CHECK(emz_etale_received(b, &r0));
        s0 = s.last;
        t0 = now_s();
        while (now_s() - t0 < secs) poll_sub(ef, 10, v_thr, &s);
        el = now_s() - t0;
        CHECK(emz_etale_received(b, &r1));
        n = r1 - r0;
        span = s.last > s0 ? s.last - s0 : 0;
        dropped = span > n ? span - n : 0;
        printf("{\"recv\":%llu,\"secs\":%.4f,\"per_s\":%.1f,\"mb_s\":%.2f,\"size\":%zu,\"dropped\":%llu,\"drop_frac\":%"
               ".4f,\"sum\":%llu}\n",
               (unsigned long long)n, el, (double)n / el, (double)n * (double)s.size / el / 1e6, s.size,
               (unsigned long long)dropped, span ? (double)dropped / (double)span : 0.0, (unsigned long long)s.sum);
    } else {
        size_t skip;
        s.cap = 200000;
        s.lats = malloc(s.cap * sizeof(double));
        t0 = now_s();
        while (now_s() - t0 < secs + warm) poll_sub(ef, 0, v_lat, &s);
        skip = (size_t)(warm * 1000);
        if (skip > s.nlat / 2) skip = s.nlat / 2;
        qsort(s.lats + skip, s.nlat - skip, sizeof(double), cmp_d);
        printf("{\"n\":%zu,\"p50\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}\n", s.nlat - skip,
               pct(s.lats + skip, s.nlat - skip, 50), pct(s.lats + skip, s.nlat - skip, 99),
               pct(s.lats + skip, s.nlat - skip, 99.9), s.nlat > skip ? s.lats[s.nlat - 1] : -1.0);
        free(s.lats);
    }
    fflush(stdout);
    _exit(0); /* the publisher may be gone: no need to wait for a clean close */
}

/* A loopback port nobody listens on: bound, read back, closed. */
static uint16_t dead_port(void) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("dead_port");
    close(fd);
    return ntohs(a.sin_port);
}

static int role_idle(void) {
    uint16_t dead = dead_port();
    long n = atol(arg("n", "1000")), i, calls;
    char pk[EMZ_KEY_BUF_LEN], sk[EMZ_KEY_BUF_LEN], other[EMZ_KEY_BUF_LEN];
    emz_config_t c;
    emz_options_t o;
    emz_efunguz_t *ef = NULL;
    double samples[15], t0;
    int r;
    CHECK(emz_new_key_pair(pk, sk));
    CHECK(emz_config_init(&c, sk));
    CHECK(emz_options_default(&o));
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    o.reconnect_interval_ms = 60000;
    o.reconnect_interval_max_ms = 60000;
    /* as the Rust role: a monitor costs 2 more fds per ehypha, off past 5000 */
    o.ehypha_monitor = n <= 5000;
    c.options = &o;
    CHECK(emz_efunguz_new_with(&c, &ef));
    for (i = 0; i < n; i++) {
        emz_ehypha_t *eh = NULL;
        CHECK(emz_new_key_pair(other, sk));
        /* nobody listens there: every ehypha stays idle (retrying once a minute) */
        if (emz_add_ehypha_direct(ef, other, "127.0.0.1", dead, &eh) != EMZ_OK ||
            emz_ehypha_add_etale(eh, "t", NULL) != EMZ_OK) {
            printf("{\"n\":%ld,\"error\":\"after %ld ehyphae: %s\"}\n", n, i, emz_last_error());
            fflush(stdout);
            _exit(0);
        }
    }
    calls = 200000 / (n > 0 ? n : 1);
    if (calls < 20) calls = 20;
    if (calls > 20000) calls = 20000;
    t0 = now_s();
    while (now_s() - t0 < 0.3) CHECK(emz_update(ef, NULL));
    for (r = 0; r < 15; r++) {
        t0 = now_s();
        for (i = 0; i < calls; i++) CHECK(emz_update(ef, NULL));
        samples[r] = (now_s() - t0) * 1e6 / (double)calls;
    }
    qsort(samples, 15, sizeof(double), cmp_d);
    printf("{\"n\":%ld,\"update_us\":%.3f}\n", n, samples[7]);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    if (argc < 2) return 2;
    if (strcmp(argv[1], "pub") == 0) return role_pub();
    if (strcmp(argv[1], "sub") == 0) return role_sub();
    if (strcmp(argv[1], "idle") == 0) return role_idle();
    fprintf(stderr, "usage: bench_c pub|sub|idle --key value ...\n");
    return 2;
}
