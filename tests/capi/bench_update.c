/* Per-call cost of emz_update() on an idle efunguz with N idle ehyphae (peers that never
 * answer), measured as emz-core/examples/update_cost.rs measures Rust's update(): median
 * over 15 rounds of the mean of `calls` calls, after 0.5 s of settling.
 *
 *   bench_update [N]...     (default 10 1000)   prints "| N | emz_update µs |" lines */
#include "emyzelium.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench(long n) {
    char pub[EMZ_KEY_BUF_LEN], sec[EMZ_KEY_BUF_LEN];
    emz_config_t c;
    emz_efunguz_t *ef = NULL;
    double samples[15], t0;
    long i, calls = 200000 / (n > 0 ? n : 1);
    int r;
    if (calls < 20) calls = 20;
    if (calls > 20000) calls = 20000;
    if (emz_new_key_pair(pub, sec) != EMZ_OK) return 1;
    emz_config_init(&c, sec);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    c.options.reconnect_interval_ms = 60000;
    c.options.reconnect_interval_max_ms = 60000;
    if (emz_efunguz_new_with(&c, &ef) != EMZ_OK) goto fail;
    for (i = 0; i < n; i++) {
        emz_ehypha_t *eh = NULL;
        if (emz_new_key_pair(pub, sec) != EMZ_OK) goto fail;
        /* Port 9 (discard) on loopback: nobody answers, the ehypha stays idle. */
        if (emz_add_ehypha_direct(ef, pub, "127.0.0.1", 9, &eh) != EMZ_OK) goto fail;
        if (emz_ehypha_add_etale(eh, "t", NULL) != EMZ_OK) goto fail;
    }
    t0 = now_us();
    while (now_us() - t0 < 500000) emz_update(ef, NULL);
    for (r = 0; r < 15; r++) {
        t0 = now_us();
        for (i = 0; i < calls; i++) emz_update(ef, NULL);
        samples[r] = (now_us() - t0) / (double)calls;
    }
    qsort(samples, 15, sizeof samples[0], cmp);
    printf("| %ld | %.3f |\n", n, samples[7]);
    emz_efunguz_free(ef);
    return 0;
fail:
    fprintf(stderr, "bench_update: %s\n", emz_last_error());
    emz_efunguz_free(ef);
    return 1;
}

int main(int argc, char **argv) {
    int i, rc = 0;
    printf("| idle ehyphae | emz_update() us (C, through libemyzelium.so) |\n|---:|---:|\n");
    if (argc < 2) return bench(10) | bench(1000);
    for (i = 1; i < argc; i++) rc |= bench(atol(argv[i]));
    return rc;
}
