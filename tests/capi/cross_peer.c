/* The C side of the C <-> Rust cross-realm test (tests/run-capi.sh runs the Rust side with
 * the emz CLI): subscribes to "fromrust" of a Rust publisher and checks its parts, while
 * publishing "fromc" (whitelisted to the Rust listener) for a Rust subscriber.
 *
 *   cross_peer SECRET PORT LISTENER_PUBLIC RUST_PUBLIC RUST_PORT
 *
 * Exits 0 once "fromrust" arrived as ["alpha", "beta"], after publishing 2 s more; 1 after
 * 30 s without it. */
#include "emyzelium.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv) {
    emz_config_t c;
    emz_efunguz_t *ef = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    const char *wl[1];
    emz_part_t out[2];
    static const uint8_t binary[2] = {0x00, 0xff};
    int64_t start = emz_now_us(), done_at = -1;
    int ok = 0;
    if (argc != 6) {
        fprintf(stderr, "usage: cross_peer SECRET PORT LISTENER_PUBLIC RUST_PUBLIC RUST_PORT\n");
        return 2;
    }
    wl[0] = argv[3];
    emz_config_init(&c, argv[1]);
    c.port = (uint16_t)atoi(argv[2]);
    c.bind_host = "127.0.0.1";
    c.whitelist = wl;
    c.whitelist_len = 1;
    if (emz_efunguz_new_with(&c, &ef) != EMZ_OK ||
        emz_add_ehypha_direct(ef, argv[4], "127.0.0.1", (uint16_t)atoi(argv[5]), &eh) != EMZ_OK ||
        emz_ehypha_add_etale(eh, "fromrust", &et) != EMZ_OK) {
        fprintf(stderr, "cross_peer: %s\n", emz_last_error());
        emz_efunguz_free(ef);
        return 2;
    }
    out[0].ptr = (const uint8_t *)"gamma";
    out[0].len = 5;
    out[1].ptr = binary;
    out[1].len = 2;
    while (emz_now_us() - start < 30 * 1000000LL) {
        const emz_part_t *parts = NULL;
        size_t n = 0;
        struct timespec ts = {0, 20 * 1000 * 1000};
        if (emz_emit_etale(ef, "fromc", out, 2) != EMZ_OK || emz_update(ef, NULL) != EMZ_OK) {
            fprintf(stderr, "cross_peer: %s\n", emz_efunguz_last_error(ef));
            break;
        }
        if (!ok && emz_etale_parts(et, &parts, &n, NULL, NULL) == EMZ_OK && n > 0) {
            ok = n == 2 && parts[0].len == 5 && memcmp(parts[0].ptr, "alpha", 5) == 0 && parts[1].len == 4 &&
                 memcmp(parts[1].ptr, "beta", 4) == 0;
            printf("cross_peer: got fromrust, %u parts: %s\n", (unsigned)n, ok ? "[alpha, beta] as sent" : "WRONG");
            fflush(stdout);
            if (!ok) break;
            done_at = emz_now_us();
        }
        if (done_at >= 0 && emz_now_us() - done_at > 2000000) break;
        nanosleep(&ts, NULL);
    }
    printf("cross_peer: subscribers attempted %llu, permitted %llu\n", (unsigned long long)emz_in_attempted(ef),
           (unsigned long long)emz_in_permitted(ef));
    emz_efunguz_free(ef);
    return ok ? 0 : 1;
}
