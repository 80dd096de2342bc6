/* The C face of the end-to-end tests (tests/faces.py, for tests/cross and tests/tor): the `emit`
 * and `listen` subcommands of the Rust `emz`, with the same options (a subset) and the same
 * output, over the C ABI.
 *
 *   emz-c-peer emit --secret S --title T [--port P] [--bind H] (--whitelist K... | --everyone)
 *                   [--every MS] [--count N] [--hex] [--tor-control HOST:PORT [--tor-cookie PATH]
 *                   [--onion-key-file F]] [--] [PART]...
 *       prints `ready <port>` (and `onion <service id>` with --tor-control: an ephemeral
 *       onion made by emz_publish_onion), then emits T with the PARTs every MS ms (UTF-8,
 *       or with --hex hex, `-` = an empty part)
 *   emz-c-peer listen --secret S --peer KEY@HOST:PORT --title T [--count N]
 *                     [--timeout SECS] [--tor-proxy HOST:PORT]
 *       prints `etale <title> <t_out> <t_in> <n_parts> <hex part>...` per etale (`-` for
 *       an empty part); a HOST ending in .onion is reached through Tor's SOCKS proxy.
 *       Exit 1 on timeout (message `timeout: N of M ...` on stderr), 0 after COUNT lines;
 *       `stats received=R malformed=M unknown_title=U paused=P` on stderr at exit.
 *
 * Build: cc -std=c99 -I include tests/tor/emz_c_peer.c -L target/capi/lib -lemyzelium */
#define _POSIX_C_SOURCE 200809L
#include "emyzelium.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WL 16
#define KEYLEN 40

static int usage(const char *msg) {
    fprintf(stderr, "emz-c-peer: %s\n", msg);
    return 2;
}

static void print_hex(const emz_part_t *p) {
    size_t i;
    if (p->len == 0) {
        fputs(" -", stdout);
        return;
    }
    putchar(' ');
    for (i = 0; i < p->len; i++) printf("%02x", p->ptr[i]);
}

/* Decodes the hex of s in place (the decoded bytes are shorter); "-" is an empty part. */
static int unhex(char *s, emz_part_t *part) {
    size_t n = strlen(s), i;
    if (strcmp(s, "-") == 0) n = 0;
    if (n % 2) return 0;
    for (i = 0; i < n / 2; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return 0;
        s[i] = (char)v;
    }
    part->ptr = (const uint8_t *)s;
    part->len = n / 2;
    return 1;
}

static int cmd_emit(int argc, char **argv) {
    const char *secret = NULL, *title = NULL, *bind = "*";
    const char *control = NULL, *cookie = NULL, *keyfile = NULL, *onion = NULL;
    const char *wl[MAX_WL];
    size_t nwl = 0, nparts = 0;
    long port = EMZ_DEFAULT_PORT, every = 100, count = -1, round = 0;
    emz_part_t parts[64];
    emz_config_t c;
    emz_efunguz_t *ef = NULL;
    int a, hex = 0, everyone = 0, first_part = argc;
    for (a = 0; a < argc; a++) {
        const char *o = argv[a];
        if (strcmp(o, "--") == 0) {
            first_part = a + 1;
            break;
        }
        if (strcmp(o, "--hex") == 0) {
            hex = 1;
            continue;
        }
        if (strcmp(o, "--everyone") == 0) {
            everyone = 1;
            continue;
        }
        if (a + 1 >= argc) return usage("option without value");
        if (strcmp(o, "--secret") == 0)
            secret = argv[++a];
        else if (strcmp(o, "--title") == 0)
            title = argv[++a];
        else if (strcmp(o, "--bind") == 0)
            bind = argv[++a];
        else if (strcmp(o, "--port") == 0)
            port = atol(argv[++a]);
        else if (strcmp(o, "--every") == 0)
            every = atol(argv[++a]);
        else if (strcmp(o, "--count") == 0)
            count = atol(argv[++a]);
        else if (strcmp(o, "--whitelist") == 0 && nwl < MAX_WL)
            wl[nwl++] = argv[++a];
        else if (strcmp(o, "--tor-control") == 0)
            control = argv[++a];
        else if (strcmp(o, "--tor-cookie") == 0)
            cookie = argv[++a];
        else if (strcmp(o, "--onion-key-file") == 0)
            keyfile = argv[++a];
        else
            return usage("unknown option");
    }
    if (!secret || !title) return usage("--secret and --title are required");
    /* as emz emit: a publisher nobody may read is refused */
    if (everyone == (nwl > 0)) return usage("give --whitelist KEY... or --everyone (one of them)");
    for (a = first_part; a < argc; a++) {
        if (nparts == 64) return usage("more than 64 parts");
        if (!hex) {
            parts[nparts].ptr = (const uint8_t *)argv[a];
            parts[nparts].len = strlen(argv[a]);
        } else if (!unhex(argv[a], &parts[nparts])) {
            return usage("--hex: a part is not hex");
        }
        nparts++;
    }
    emz_config_init(&c, secret);
    c.bind_host = bind;
    if (port == 0)
        c.any_port = true;
    else
        c.port = (uint16_t)port;
    c.whitelist = nwl ? wl : NULL;
    c.whitelist_len = nwl;
    c.everyone = everyone != 0;
    if (emz_efunguz_new_with(&c, &ef) != EMZ_OK) {
        fprintf(stderr, "emz-c-peer: %s\n", emz_last_error());
        return 2;
    }
    printf("ready %u\n", (unsigned)emz_efunguz_port(ef));
    fflush(stdout);
    if (control) {
        if (emz_publish_onion(ef, control, cookie ? EMZ_TOR_AUTH_COOKIE : EMZ_TOR_AUTH_AUTO, cookie,
                              keyfile ? EMZ_ONION_KEY_FILE : EMZ_ONION_KEY_NEW, keyfile, &onion) != EMZ_OK)
            goto fail;
        printf("onion %s\n", onion);
        fflush(stdout);
    }
    while (count < 0 || round < count) {
        int64_t next = emz_now_us() + every * 1000;
        if (emz_emit_etale(ef, title, parts, nparts, NULL) != EMZ_OK) break;
        round++;
        for (;;) { /* answer handshakes until the next round */
            int64_t left = next - emz_now_us();
            if (left <= 0) break;
            if (emz_wait(ef, (left + 999) / 1000, NULL) != EMZ_OK) goto fail;
        }
    }
    emz_efunguz_free(ef);
    return 0;
fail:
    fprintf(stderr, "emz-c-peer: %s\n", emz_efunguz_last_error(ef));
    emz_efunguz_free(ef);
    return 2;
}

static int cmd_listen(int argc, char **argv) {
    const char *secret = NULL, *peer = NULL, *title = NULL, *proxy = NULL;
    long count = -1, printed = 0;
    double timeout = -1;
    char key[KEYLEN + 1], proxy_host[300];
    long proxy_port = EMZ_DEFAULT_TOR_PROXY_PORT;
    emz_config_t c;
    emz_efunguz_t *ef = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_stats_t st;
    int64_t deadline = -1;
    int a, rc = 0;
    for (a = 0; a < argc; a++) {
        const char *o = argv[a];
        if (a + 1 >= argc) return usage("option without value");
        if (strcmp(o, "--secret") == 0)
            secret = argv[++a];
        else if (strcmp(o, "--peer") == 0)
            peer = argv[++a];
        else if (strcmp(o, "--title") == 0)
            title = argv[++a];
        else if (strcmp(o, "--tor-proxy") == 0)
            proxy = argv[++a];
        else if (strcmp(o, "--count") == 0)
            count = atol(argv[++a]);
        else if (strcmp(o, "--timeout") == 0)
            timeout = atof(argv[++a]);
        else
            return usage("unknown option");
    }
    if (!secret || !peer || !title) return usage("--secret, --peer and --title are required");
    /* KEY@ADDRESS: the key is the first 40 characters (Z85 may contain @ and :); the
       address (HOST:PORT, [V6]:PORT or X.onion:PORT) is the library's to parse. */
    if (strlen(peer) <= KEYLEN || peer[KEYLEN] != '@') return usage("--peer: expected KEY@HOST:PORT");
    memcpy(key, peer, KEYLEN);
    key[KEYLEN] = 0;
    emz_config_init(&c, secret);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    if (proxy) {
        const char *pc = strrchr(proxy, ':');
        if (!pc || (size_t)(pc - proxy) >= sizeof proxy_host) return usage("--tor-proxy: expected HOST:PORT");
        memcpy(proxy_host, proxy, (size_t)(pc - proxy));
        proxy_host[pc - proxy] = 0;
        proxy_port = atol(pc + 1);
        c.tor_proxy_host = proxy_host;
        c.tor_proxy_port = (uint16_t)proxy_port;
    }
    if (emz_efunguz_new_with(&c, &ef) != EMZ_OK || emz_add_ehypha_at(ef, key, peer + KEYLEN + 1, &eh) != EMZ_OK ||
        emz_ehypha_add_etale(eh, title, &et) != EMZ_OK) {
        fprintf(stderr, "emz-c-peer: %s\n", emz_last_error());
        emz_efunguz_free(ef);
        return 2;
    }
    if (timeout >= 0) deadline = emz_now_us() + (int64_t)(timeout * 1e6);
    while (count < 0 || printed < count) {
        size_t changed = 0, i;
        int64_t wait_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - emz_now_us();
            if (left <= 0) {
                fprintf(stderr, "emz-c-peer: timeout: %ld of %ld etales received in %g s\n", printed, count, timeout);
                rc = 1;
                break;
            }
            wait_ms = (left + 999) / 1000;
        }
        if (emz_wait(ef, wait_ms, &changed) != EMZ_OK) {
            fprintf(stderr, "emz-c-peer: %s\n", emz_efunguz_last_error(ef));
            rc = 2;
            break;
        }
        for (i = 0; i < changed && (count < 0 || printed < count); i++) {
            emz_etale_t *ch = NULL;
            const emz_part_t *parts = NULL;
            size_t n = 0, k;
            int64_t t_out = 0, t_in = 0;
            if (emz_change(ef, i, &ch) != EMZ_OK || emz_etale_parts(ch, &parts, &n, &t_out, &t_in) != EMZ_OK) continue;
            printf("etale %s %lld %lld %u", emz_etale_title(ch), (long long)t_out, (long long)t_in, (unsigned)n);
            for (k = 0; k < n; k++) print_hex(&parts[k]);
            putchar('\n');
            fflush(stdout);
            printed++;
        }
    }
    if (emz_ehypha_stats(eh, &st) == EMZ_OK)
        fprintf(stderr, "stats received=%llu malformed=%llu unknown_title=%llu paused=%llu\n",
                (unsigned long long)st.received, (unsigned long long)st.malformed, (unsigned long long)st.unknown_title,
                (unsigned long long)st.paused);
    emz_efunguz_free(ef);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "emit") == 0) return cmd_emit(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "listen") == 0) return cmd_listen(argc - 2, argv + 2);
    return usage("usage: emz-c-peer emit|listen OPTIONS (see the source)");
}
