/* A subscriber in an event loop: sleeps in poll(2) on the efunguz's readiness fd
 * (emz_efunguz_fd) and calls emz_update() only when it is readable, so an idle peer
 * costs no CPU. The same fd goes into epoll, select, libuv, libevent or a game engine.
 * Prints each "tick" of publisher.c.
 *
 *   poll_subscriber [HOST [PORT [COUNT [SECONDS]]]]   (default 127.0.0.1 60847, forever)
 *
 * Exits 0 once COUNT ticks arrived, 1 when SECONDS passed first. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "emyzelium.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUB_SECRET "pRbGVYSjyD?N5&}g(EIVxuB6n2!zgH4r[8!tnDSa"
#define PUB_PUBLIC "R$WB7ghuLK/Y=nW>M9goXo2N9u@#awz2A%eP^(fn"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : EMZ_DEFAULT_PORT;
    long count = argc > 3 ? atol(argv[3]) : -1;
    double seconds = argc > 4 ? atof(argv[4]) : -1.0;
    double deadline = now_s() + seconds;
    long wakeups = 0, ticks = 0;
    emz_config_t config;
    emz_efunguz_t *ef = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *tick = NULL;
    struct pollfd pfd;
    int rc = 1;

    emz_config_init(&config, SUB_SECRET);
    config.any_port = true; /* we publish nothing: any port will do */
    config.bind_host = "127.0.0.1";
    if (emz_efunguz_new_with(&config, &ef) != EMZ_OK ||
        emz_add_ehypha_direct(ef, PUB_PUBLIC, host, (uint16_t)port, &eh) != EMZ_OK ||
        emz_ehypha_add_etale(eh, "tick", &tick) != EMZ_OK || emz_efunguz_fd(ef, &pfd.fd) != EMZ_OK) {
        fprintf(stderr, "poll_subscriber: %s\n", emz_last_error());
        emz_efunguz_free(ef);
        return 1;
    }
    pfd.events = POLLIN;
    printf("listening to %s at %s through fd %d\n", PUB_PUBLIC, emz_ehypha_address(eh), pfd.fd);
    while (count != 0) {
        int timeout_ms = -1, ready;
        size_t changed = 0;
        if (seconds >= 0) {
            double left = deadline - now_s();
            if (left <= 0) break;
            timeout_ms = (int)(left * 1000) + 1;
        }
        /* The fd is readable exactly when emz_update() has work: no busy loop. Never
         * read or close it; it belongs to the efunguz. */
        ready = poll(&pfd, 1, timeout_ms);
        if (ready < 0 && errno != EINTR) {
            fprintf(stderr, "poll_subscriber: poll: %s\n", strerror(errno));
            break;
        }
        if (ready <= 0) continue;
        wakeups++;
        if (emz_update(ef, &changed) != EMZ_OK) {
            fprintf(stderr, "poll_subscriber: %s\n", emz_efunguz_last_error(ef));
            break;
        }
        if (changed > 0) { /* one title: the change is the tick */
            const emz_part_t *parts = NULL;
            size_t n = 0;
            int64_t t_out = 0, t_in = 0;
            if (emz_etale_parts(tick, &parts, &n, &t_out, &t_in) == EMZ_OK && n == 2) {
                printf("tick: \"%.*s\" after %lld us\n", (int)parts[1].len, (const char *)parts[1].ptr,
                       (long long)(t_in - t_out));
                ticks++;
                if (count > 0) count--;
            }
        }
    }
    if (count == 0) rc = 0;
    printf("%ld ticks in %ld wakeups\n", ticks, wakeups);
    emz_efunguz_free(ef);
    return rc;
}
