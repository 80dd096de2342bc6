/*
 * Life in C: one realm of the Rust demo (emz-core/examples/life.rs), same keys, same ports,
 * same etales, so a C realm and Rust realms trade zones live.
 *
 * Each realm publishes etale "zone" (the right third of its grid: height and width as
 * u16 little-endian, then one byte per cell) and the empty-title etale (its description,
 * e.g. "Mary, B3/S23"), and subscribes to both of the other realms.
 *
 *   life [--realm alien|john|mary] [--base-port P] [--height H --width W | --fit]
 *   life --headless FRAMES [--realm NAME] [--base-port P] [--linger SECS]
 *
 * Play Mary in C against Alien and John in Rust (--linger: they keep publishing after
 * their own check passed, for as long as you play):
 *   cargo run --example life -- --headless 100000 --realms alien,john --linger 3600 &
 *   target/capi/bin/life --realm mary
 * Keys: 1/2 import a peer's zone into your left third, A autoemit, E emit once, P pause/
 * resume receiving, arrows + space edit, T run/stop, C clear, R random, V show/hide the
 * peers, Q quit. The default grid (16x48) needs a 48x22 terminal; --fit sizes the grid to the
 * terminal, and a terminal too small for the grid says so instead of showing part of it.
 *
 * Headless: exit 0 once both peers' zones and descriptions arrived (valid) and one zone was
 * imported, after publishing for --linger more seconds (default 2) so that the peers finish
 * too; exit 1 on timeout.
 *
 * Valid C99 and C++ (the Makefile builds it both ways).
 */
#include "emyzelium.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name, *rules, *public_key, *secret_key;
} realm_spec;

/* The keys of emz-core/examples/life/realm.rs. */
static const realm_spec REALMS[3] = {
    {"Alien", "B34/S34", "?B2UjRL{6*b:>By1j2tj!TE#46+W]>PPu%eEHjgr", "A$U:3wlY?z&-y!gS+b&wx-]:4Ul3x56dNg0e#}^u"},
    {"John", "B3/S23", "&0<jw*i-VF@HLP>-s9oDcpuK534Z8mD*6R?}k6w$", "Pj[kP[AX^2Bma-0g5.SO@5L3IWSwmaM)H{9=1}9l"},
    {"Mary", "B3/S23", "<MBc4!&R3JXCGU+/->7!/nrAVM6GvIvafQphTP#]", "LiFWkj20^>l1Y#HrJ2/}bW8j0?nEgl19W+B?2jy@"},
};

enum { MAX_SIDE = 65535 };

typedef struct {
    int index;
    emz_ehypha_t *ehypha;
    emz_etale_t *zone, *description;
    unsigned long imports;
} peer;

typedef struct {
    int index;
    unsigned birth, survival; /* bit n set: n neighbours */
    size_t h, w;
    uint8_t *cells, *next;
    emz_efunguz_t *ef;
    peer peers[2];
    unsigned long long generation;
    int running, autoemit, paused;
    int backoff; /* autoemits to skip: a peer's queue was full */
    uint64_t rng;
    char message[160];
} realm;

static uint64_t next_random(realm *r) { /* xorshift64* */
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return r->rng * 2685821657736338717ULL;
}

static int parse_rules(const char *text, unsigned *birth, unsigned *survival) {
    const char *p = text;
    *birth = *survival = 0;
    if (*p++ != 'B') return 0;
    while (*p >= '0' && *p <= '8') *birth |= 1u << (*p++ - '0');
    if (*p++ != '/' || *p++ != 'S') return 0;
    while (*p >= '0' && *p <= '8') *survival |= 1u << (*p++ - '0');
    return *p == 0;
}

static void randomize(realm *r) {
    size_t i;
    for (i = 0; i < r->h * r->w; i++) r->cells[i] = (uint8_t)(next_random(r) % 4 == 0);
}

static void step(realm *r) {
    size_t y, x, h = r->h, w = r->w;
    uint8_t *t;
    for (y = 0; y < h; y++) {
        size_t rows[3];
        rows[0] = (y + h - 1) % h;
        rows[1] = y;
        rows[2] = (y + 1) % h;
        for (x = 0; x < w; x++) {
            size_t cols[3];
            unsigned n = 0;
            int i, j, alive = r->cells[y * w + x] != 0;
            cols[0] = (x + w - 1) % w;
            cols[1] = x;
            cols[2] = (x + 1) % w;
            for (i = 0; i < 3; i++)
                for (j = 0; j < 3; j++)
                    if (i != 1 || j != 1) n += r->cells[rows[i] * w + cols[j]];
            r->next[y * w + x] = (uint8_t)(((alive ? r->survival : r->birth) >> n) & 1u);
        }
    }
    t = r->cells;
    r->cells = r->next;
    r->next = t;
    r->generation++;
}

static size_t third(const realm *r) {
    return r->w / 3;
}

/* ---- the etales ---------------------------------------------------------------------- */

static emz_result_t emit_zone(realm *r) {
    size_t tw = third(r), x0 = r->w - tw, y;
    uint8_t hb[2], wb[2];
    emz_part_t parts[3];
    emz_result_t rc;
    bool sent = true;
    uint8_t *cells = (uint8_t *)malloc(r->h * tw + 1);
    if (!cells) return EMZ_ERR_LIMIT;
    for (y = 0; y < r->h; y++) memcpy(cells + y * tw, r->cells + y * r->w + x0, tw);
    hb[0] = (uint8_t)(r->h & 0xff);
    hb[1] = (uint8_t)(r->h >> 8);
    wb[0] = (uint8_t)(tw & 0xff);
    wb[1] = (uint8_t)(tw >> 8);
    parts[0].ptr = hb;
    parts[0].len = 2;
    parts[1].ptr = wb;
    parts[1].len = 2;
    parts[2].ptr = cells;
    parts[2].len = r->h * tw;
    rc = emz_emit_etale(r->ef, "zone", parts, 3, &sent);
    free(cells);
    /* A peer could not take it (it goes out with a later update): emit less for a while
     * rather than pile up zones it cannot read yet. */
    if (rc == EMZ_OK && !sent) r->backoff = 8;
    return rc;
}

static void description_of(int index, char *out, size_t size) {
    snprintf(out, size, "%s, %s", REALMS[index].name, REALMS[index].rules);
}

static emz_result_t emit_description(realm *r) {
    char text[64];
    emz_part_t part;
    description_of(r->index, text, sizeof text);
    part.ptr = (const uint8_t *)text;
    part.len = strlen(text);
    return emz_emit_etale(r->ef, "", &part, 1, NULL);
}

/* A peer's zone, checked as the Rust demo checks it (sizes never trusted). Views are
 * valid until the next emz_update. Returns 1 when valid, 0 when none yet, -1 when bad. */
static int peer_zone(const peer *p, size_t *zh, size_t *zw, const uint8_t **cells) {
    const emz_part_t *parts = NULL;
    size_t n = 0;
    int64_t t_in = -1;
    if (emz_etale_parts(p->zone, &parts, &n, NULL, &t_in) != EMZ_OK || t_in < 0) return 0;
    if (n != 3 || parts[0].len != 2 || parts[1].len != 2) return -1;
    *zh = (size_t)parts[0].ptr[0] | (size_t)parts[0].ptr[1] << 8;
    *zw = (size_t)parts[1].ptr[0] | (size_t)parts[1].ptr[1] << 8;
    if (*zh == 0 || *zw == 0 || parts[2].len != *zh * *zw) return -1;
    *cells = parts[2].ptr;
    return 1;
}

/* Whether the peer's description is its own (proof that the keys lead to the right realm). */
static int peer_description_ok(const peer *p, char *got, size_t size) {
    const emz_part_t *parts = NULL;
    size_t n = 0;
    int64_t t_in = -1;
    char want[64];
    got[0] = 0;
    if (emz_etale_parts(p->description, &parts, &n, NULL, &t_in) != EMZ_OK || t_in < 0 || n != 1) return 0;
    snprintf(got, size, "%.*s", (int)(parts[0].len < 60 ? parts[0].len : 60), (const char *)parts[0].ptr);
    description_of(p->index, want, sizeof want);
    return strcmp(got, want) == 0;
}

static void import_zone(realm *r, int which) {
    size_t zh = 0, zw = 0, rows, cols, y;
    const uint8_t *cells = NULL;
    peer *p = &r->peers[which];
    int v = peer_zone(p, &zh, &zw, &cells);
    if (v <= 0) {
        snprintf(r->message, sizeof r->message, "%s from %s", v == 0 ? "no zone yet" : "bad zone",
                 REALMS[p->index].name);
        return;
    }
    rows = zh < r->h ? zh : r->h;
    cols = zw < third(r) ? zw : third(r);
    for (y = 0; y < rows; y++) {
        size_t x;
        for (x = 0; x < cols; x++) r->cells[y * r->w + x] = cells[y * zw + x] != 0;
    }
    p->imports++;
    snprintf(r->message, sizeof r->message, "imported %ux%u zone from %s", (unsigned)zh, (unsigned)zw,
             REALMS[p->index].name);
}

static int realm_open(realm *r, int index, size_t h, size_t w, unsigned base_port) {
    emz_config_t c;
    emz_options_t o;
    const char *whitelist[2];
    int i, k = 0;
    memset(r, 0, sizeof *r);
    r->index = index;
    r->h = h;
    r->w = w;
    r->running = r->autoemit = 1;
    r->rng = (uint64_t)emz_now_us() ^ ((uint64_t)index + 1) * 0x9E3779B97F4A7C15ULL;
    parse_rules(REALMS[index].rules, &r->birth, &r->survival);
    r->cells = (uint8_t *)calloc(h * w, 1);
    r->next = (uint8_t *)calloc(h * w, 1);
    if (!r->cells || !r->next) return 0;
    for (i = 0; i < 3; i++)
        if (i != index) {
            r->peers[k].index = i;
            whitelist[k++] = REALMS[i].public_key;
        }
    emz_config_init(&c, REALMS[index].secret_key);
    emz_options_default(&o);
    c.whitelist = whitelist;
    c.whitelist_len = 2;
    c.port = (uint16_t)(base_port + (unsigned)index);
    c.bind_host = "127.0.0.1";
    o.max_message_size = 16 << 20;
    c.options = &o;
    if (emz_efunguz_new_with(&c, &r->ef) != EMZ_OK) return 0;
    for (k = 0; k < 2; k++) {
        peer *p = &r->peers[k];
        if (emz_add_ehypha_direct(r->ef, REALMS[p->index].public_key, "127.0.0.1",
                                  (uint16_t)(base_port + (unsigned)p->index), &p->ehypha) != EMZ_OK ||
            emz_ehypha_add_etale(p->ehypha, "zone", &p->zone) != EMZ_OK ||
            emz_ehypha_add_etale(p->ehypha, "", &p->description) != EMZ_OK)
            return 0;
    }
    randomize(r);
    return 1;
}

static void realm_close(realm *r) {
    emz_efunguz_destroy(&r->ef);
    free(r->cells);
    free(r->next);
}

/* One frame: take in what arrived, step, publish. */
static emz_result_t frame(realm *r, unsigned long long n, unsigned per_generation, unsigned per_description) {
    emz_result_t rc = emz_update(r->ef, NULL);
    if (rc != EMZ_OK) return rc;
    if (n % per_generation == 0) {
        if (r->running) step(r);
        if (r->autoemit && r->backoff > 0)
            r->backoff--;
        else if (r->autoemit && (rc = emit_zone(r)) != EMZ_OK)
            return rc;
    }
    if (n % per_description == 0) rc = emit_description(r);
    return rc;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* ---- headless ------------------------------------------------------------------------ */

static int headless(realm *r, unsigned long long frames, double linger) {
    unsigned long long n;
    int k, done = 0;
    char got[64];
    for (n = 0; n < frames && !done; n++) {
        if (frame(r, n, 1, 10) != EMZ_OK) {
            fprintf(stderr, "life: %s\n", emz_efunguz_last_error(r->ef));
            return 1;
        }
        done = 1;
        for (k = 0; k < 2; k++) {
            size_t zh, zw;
            const uint8_t *cells;
            int valid = peer_zone(&r->peers[k], &zh, &zw, &cells) == 1;
            if (valid && r->peers[k].imports == 0) import_zone(r, k);
            done &= valid && peer_description_ok(&r->peers[k], got, sizeof got);
        }
        done &= r->peers[0].imports + r->peers[1].imports > 0;
        sleep_ms(10);
    }
    {
        int64_t end = emz_now_us() + (int64_t)(linger * 1e6);
        unsigned long long m = n;
        while (emz_now_us() < end) {
            frame(r, m++, 1, 10);
            sleep_ms(10);
        }
    }
    for (k = 0; k < 2; k++) {
        size_t zh = 0, zw = 0;
        const uint8_t *cells;
        uint64_t received = 0;
        int v = peer_zone(&r->peers[k], &zh, &zw, &cells);
        peer_description_ok(&r->peers[k], got, sizeof got);
        emz_etale_received(r->peers[k].zone, &received);
        printf("%s (C) from %s: zone %s %ux%u x%llu, description \"%s\", imported %lu\n", REALMS[r->index].name,
               REALMS[r->peers[k].index].name,
               v == 1   ? "valid"
               : v == 0 ? "none"
                        : "BAD",
               (unsigned)zh, (unsigned)zw, (unsigned long long)received, got, r->peers[k].imports);
    }
    if (!done) {
        fprintf(stderr, "life: %s (C) timed out after %llu frames\n", REALMS[r->index].name, frames);
        return 1;
    }
    printf("life: %s (C) exchanged zones with both peers in %llu frames\n", REALMS[r->index].name, n);
    return 0;
}

/* ---- interactive --------------------------------------------------------------------- */

/* Lines around the grid: status, two peers (hidden by V), message, two of help. */
enum { CHROME_LINES = 6, PEER_LINES = 2 };

/* Prints `text` from row `y` on, cut between words into lines of at most `cols`
 * characters; returns the row after it. */
static int print_wrapped(int y, int cols, const char *text) {
    const char *p = text;
    if (cols < 1) cols = 1;
    while (*p) {
        int n = (int)strlen(p), cut = n;
        if (n > cols) {
            cut = cols;
            while (cut > 0 && p[cut] != ' ') cut--;
            if (cut == 0) cut = cols;
        }
        mvprintw(y++, 0, "%.*s", cut, p);
        p += cut;
        while (*p == ' ') p++;
    }
    return y;
}

static void draw(const realm *r, size_t cy, size_t cx, int show_peers) {
    size_t y, x;
    int k, rows, cols;
    size_t need_rows = r->h + CHROME_LINES - (show_peers ? 0 : PEER_LINES), need_cols = r->w;
    char got[64];
    erase();
    getmaxyx(stdscr, rows, cols);
    if ((size_t)rows < need_rows || (size_t)cols < need_cols) {
        /* A clipped grid would hide cells without a word: say so instead. */
        char text[160];
        snprintf(text, sizeof text, "terminal too small: need %zux%zu, have %dx%d (try --fit)", need_cols, need_rows,
                 cols, rows);
        print_wrapped(print_wrapped(0, cols, text), cols, "Q quits");
        refresh();
        return;
    }
    mvprintw(0, 0, "%s (%s) in C  gen %llu  %s%s%s  in %llu/%llu/%llu", REALMS[r->index].name, REALMS[r->index].rules,
             r->generation, r->running ? "running" : "stopped", r->autoemit ? "  autoemit" : "",
             r->paused ? "  PAUSED" : "", (unsigned long long)emz_in_attempted(r->ef),
             (unsigned long long)emz_in_permitted(r->ef), (unsigned long long)emz_in_absorbing(r->ef));
    for (y = 0; y < r->h; y++)
        for (x = 0; x < r->w; x++) {
            int ch = r->cells[y * r->w + x] ? '#' : (x < third(r) || x >= r->w - third(r)) ? '.' : ' ';
            if (y == cy && x == cx) attron(A_REVERSE);
            mvaddch((int)y + 1, (int)x, (chtype)ch);
            if (y == cy && x == cx) attroff(A_REVERSE);
        }
    for (k = 0; show_peers && k < 2; k++) {
        size_t zh = 0, zw = 0;
        const uint8_t *cells;
        int v = peer_zone(&r->peers[k], &zh, &zw, &cells);
        peer_description_ok(&r->peers[k], got, sizeof got);
        mvprintw((int)r->h + 1 + k, 0, "%d: %-6s zone %s %ux%u  \"%s\"", k + 1, REALMS[r->peers[k].index].name,
                 v == 1   ? "ok"
                 : v == 0 ? "--"
                          : "BAD",
                 (unsigned)zh, (unsigned)zw, got);
    }
    y = r->h + 1 + (show_peers ? PEER_LINES : 0);
    mvprintw((int)y, 0, "%s", r->message);
    mvprintw((int)y + 1, 0, "1,2 import  A autoemit  E emit  P pause  V peers: %s  Q quit",
             show_peers ? "shown" : "hidden");
    mvprintw((int)y + 2, 0, "arrows+space draw  T run  C clear  R random");
    refresh();
}

/* curses on, before the realm exists: --fit needs the terminal's size. */
static void start_curses(void) {
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    timeout(0);
    curs_set(0);
}

static int play(realm *r) {
    size_t cy = 0, cx = 0;
    unsigned long long n;
    int show_peers = 1;
    for (n = 0;; n++) {
        int ch, quit = 0;
        while ((ch = getch()) != ERR) {
            size_t k;
            switch (ch) {
            case 'q':
            case 'Q':
                quit = 1;
                break;
            case '1':
            case '2':
                import_zone(r, ch - '1');
                break;
            case 'a':
            case 'A':
                r->autoemit = !r->autoemit;
                break;
            case 'e':
            case 'E':
                emit_zone(r);
                snprintf(r->message, sizeof r->message, "zone emitted");
                break;
            case 't':
            case 'T':
                r->running = !r->running;
                break;
            case 'c':
            case 'C':
                memset(r->cells, 0, r->h * r->w);
                break;
            case 'r':
            case 'R':
                randomize(r);
                break;
            case ' ':
                r->cells[cy * r->w + cx] ^= 1;
                break;
            case KEY_UP:
                cy = (cy + r->h - 1) % r->h;
                break;
            case KEY_DOWN:
                cy = (cy + 1) % r->h;
                break;
            case KEY_LEFT:
                cx = (cx + r->w - 1) % r->w;
                break;
            case KEY_RIGHT:
                cx = (cx + 1) % r->w;
                break;
            case 'v':
            case 'V':
                show_peers = !show_peers;
                snprintf(r->message, sizeof r->message, "peers %s", show_peers ? "shown" : "hidden");
                break;
            case 'p':
            case 'P':
                for (k = 0; k < 2; k++)
                    (r->paused ? emz_ehypha_resume_etales : emz_ehypha_pause_etales)(r->peers[k].ehypha);
                r->paused = !r->paused;
                break;
            default:
                break;
            }
        }
        if (quit) break;
        if (frame(r, n, 2, 20) != EMZ_OK) snprintf(r->message, sizeof r->message, "%s", emz_efunguz_last_error(r->ef));
        draw(r, cy, cx, show_peers);
        sleep_ms(50);
    }
    endwin();
    return 0;
}

int main(int argc, char **argv) {
    int i, index = 0, rc, fit = 0;
    unsigned long long frames = 0;
    unsigned base_port = EMZ_DEFAULT_PORT;
    size_t h = 16, w = 48;
    double linger = 2.0;
    realm r;
    for (i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--fit") == 0) {
            fit = 1;
            continue;
        }
        if (strcmp(argv[i], "--realm") == 0 && v) {
            for (index = 0; index < 3; index++) {
                const char *a = REALMS[index].name, *b = v;
                while (*a && (*a | 32) == (*b | 32)) a++, b++;
                if (!*a && !*b) break;
            }
            if (index == 3) {
                fprintf(stderr, "life: no realm called %s\n", v);
                return 2;
            }
        } else if (strcmp(argv[i], "--headless") == 0 && v)
            frames = strtoull(v, NULL, 10);
        else if (strcmp(argv[i], "--base-port") == 0 && v)
            base_port = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(argv[i], "--height") == 0 && v)
            h = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(argv[i], "--width") == 0 && v)
            w = (size_t)strtoul(v, NULL, 10);
        else if (strcmp(argv[i], "--linger") == 0 && v)
            linger = atof(v);
        else {
            fprintf(stderr, "usage: life [--realm alien|john|mary] [--base-port P] [--height H --width W | --fit]\n"
                            "       life --headless FRAMES [--realm NAME] [--base-port P] [--linger SECS]\n");
            return 2;
        }
        i++;
    }
    if (fit && frames) {
        fprintf(stderr, "life: --fit is for the terminal; --headless has none\n");
        return 2;
    }
    if (!frames) {
        start_curses();
        if (fit) {
            int rows, cols;
            getmaxyx(stdscr, rows, cols);
            h = rows > CHROME_LINES ? (size_t)(rows - CHROME_LINES) : 1;
            w = cols > 3 ? (size_t)cols : 3;
        }
    }
    if (h < 1 || h > MAX_SIDE || w < 3 || w > MAX_SIDE || base_port < 1 || base_port > 65533) {
        if (!frames) endwin();
        fprintf(stderr, "life: bad grid size or base port\n");
        return 2;
    }
    if (!realm_open(&r, index, h, w, base_port)) {
        if (!frames) endwin();
        fprintf(stderr, "life: %s cannot start: %s\n", REALMS[index].name, emz_last_error());
        realm_close(&r);
        return 1;
    }
    rc = frames ? headless(&r, frames, linger) : play(&r);
    realm_close(&r);
    return rc;
}
