/* A minimal publisher: emits etale "tick" (a counter and a text) ten times a second.
 *
 *   publisher [PORT]          (default 60847; run subscriber in another terminal)
 *
 * Keys are fixed so that subscriber.c knows them; make your own with genkeypair. */
#include "emyzelium.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUB_SECRET "i}<(746FIiQoUp:NCa/wplwbzQTYVkDuT:)ZB4O-"
#define SUB_PUBLIC "@$Y]XCC*HJ]KFXaW![@+Um$?8j^$ksMk+#Ptvg2S"

int main(int argc, char **argv) {
    const char *whitelist[1] = {SUB_PUBLIC};
    int port = argc > 1 ? atoi(argv[1]) : EMZ_DEFAULT_PORT;
    emz_efunguz_t *ef = NULL;
    unsigned long n;
    emz_result_t rc = emz_efunguz_new(PUB_SECRET, whitelist, 1, (uint16_t)port, NULL, EMZ_DEFAULT_TOR_PROXY_PORT, &ef);
    if (rc != EMZ_OK) {
        fprintf(stderr, "publisher: %s\n", emz_last_error());
        return 1;
    }
    printf("publishing \"tick\" on port %u as %s\n", emz_efunguz_port(ef), emz_efunguz_public_key(ef));
    for (n = 0;; n++) {
        char text[64];
        emz_part_t parts[2];
        struct timespec ts = {0, 100 * 1000 * 1000};
        uint8_t counter[8];
        int i;
        for (i = 0; i < 8; i++) counter[i] = (uint8_t)(n >> (8 * i)); /* u64 little-endian */
        snprintf(text, sizeof text, "tick number %lu", n);
        parts[0].ptr = counter;
        parts[0].len = sizeof counter;
        parts[1].ptr = (const uint8_t *)text;
        parts[1].len = strlen(text);
        if (emz_emit_etale(ef, "tick", parts, 2, NULL) != EMZ_OK || emz_update(ef, NULL) != EMZ_OK) {
            fprintf(stderr, "publisher: %s\n", emz_efunguz_last_error(ef));
            break;
        }
        if (n % 50 == 0)
            printf("subscribers: attempted %llu, permitted %llu, now %llu\n", (unsigned long long)emz_in_attempted(ef),
                   (unsigned long long)emz_in_permitted(ef), (unsigned long long)emz_in_absorbing(ef));
        nanosleep(&ts, NULL);
    }
    emz_efunguz_free(ef);
    return 1;
}
