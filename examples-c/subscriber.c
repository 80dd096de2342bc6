/* A minimal subscriber: prints each "tick" of publisher.c as it arrives.
 *
 *   subscriber [HOST [PORT] [COUNT]]     (default 127.0.0.1 60847, until killed) */
#include "emyzelium.h"

#include <stdio.h>
#include <stdlib.h>

#define SUB_SECRET "pRbGVYSjyD?N5&}g(EIVxuB6n2!zgH4r[8!tnDSa"
#define PUB_PUBLIC "R$WB7ghuLK/Y=nW>M9goXo2N9u@#awz2A%eP^(fn"

int main(int argc, char **argv) {
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    int port = argc > 2 ? atoi(argv[2]) : EMZ_DEFAULT_PORT;
    long count = argc > 3 ? atol(argv[3]) : -1;
    emz_config_t config;
    emz_efunguz_t *ef = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *tick = NULL;

    emz_config_init(&config, SUB_SECRET);
    config.any_port = true; /* we publish nothing: any port will do */
    config.bind_host = "127.0.0.1";
    if (emz_efunguz_new_with(&config, &ef) != EMZ_OK ||
        emz_add_ehypha_direct(ef, PUB_PUBLIC, host, (uint16_t)port, &eh) != EMZ_OK ||
        emz_ehypha_add_etale(eh, "tick", &tick) != EMZ_OK) {
        fprintf(stderr, "subscriber: %s\n", emz_last_error());
        emz_efunguz_free(ef);
        return 1;
    }
    printf("listening to %s at %s\n", PUB_PUBLIC, emz_ehypha_address(eh));
    while (count != 0) {
        size_t changed = 0, i;
        if (emz_wait(ef, 1000, &changed) != EMZ_OK) { /* or emz_update() in a game loop */
            fprintf(stderr, "subscriber: %s\n", emz_efunguz_last_error(ef));
            break;
        }
        for (i = 0; i < changed; i++) {
            emz_etale_t *et = NULL;
            const emz_part_t *parts = NULL;
            size_t n = 0;
            int64_t t_out = 0, t_in = 0;
            if (emz_change(ef, i, &et) != EMZ_OK || emz_etale_parts(et, &parts, &n, &t_out, &t_in) != EMZ_OK) continue;
            if (n == 2)
                printf("%s: \"%.*s\" after %lld us\n", emz_etale_title(et), (int)parts[1].len,
                       (const char *)parts[1].ptr, (long long)(t_in - t_out));
            else
                printf("%s: %u parts (not a tick)\n", emz_etale_title(et), (unsigned)n);
            if (count > 0) count--;
        }
    }
    emz_efunguz_free(ef);
    return 0;
}
