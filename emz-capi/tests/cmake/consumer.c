/* A program that uses an installed emyzelium the way any project does: built by
 * emz-capi/tests/test_install.sh through CMake's find_package, pkg-config, and statically.
 * It checks that header and library agree on the version and that a whitelisted
 * subscriber gets an etale over CURVE on 127.0.0.1 (within 20 s).
 *
 *   consumer LABEL      prints "consumer LABEL: ok, emyzelium VERSION" and exits 0 */
#include <emyzelium.h>

#include <stdio.h>
#include <string.h>

static int fail(const char *label, const char *what) {
    fprintf(stderr, "consumer %s: %s (%s)\n", label, what, emz_last_error());
    return 1;
}

int main(int argc, char **argv) {
    const char *label = argc > 1 ? argv[1] : "?";
    char pub_pk[EMZ_KEY_BUF_LEN], pub_sk[EMZ_KEY_BUF_LEN], sub_pk[EMZ_KEY_BUF_LEN], sub_sk[EMZ_KEY_BUF_LEN];
    const char *whitelist[1];
    emz_config_t config;
    emz_options_t options;
    emz_efunguz_t *pub = NULL, *sub = NULL;
    emz_ehypha_t *eh = NULL;
    emz_etale_t *et = NULL;
    emz_part_t part;
    int64_t end;
    uint64_t permitted;
    int got = 0;

    if (strcmp(emz_version(), EMZ_VERSION) != 0) return fail(label, "header and library versions differ");
    if (!emz_has_curve()) return fail(label, "no CURVE");
    if (emz_new_key_pair(pub_pk, pub_sk) != EMZ_OK || emz_new_key_pair(sub_pk, sub_sk) != EMZ_OK)
        return fail(label, "emz_new_key_pair");

    if (emz_options_default(&options) != EMZ_OK) return fail(label, "emz_options_default");
    options.reconnect_interval_ms = 50;
    whitelist[0] = sub_pk; /* only the subscriber may subscribe */
    if (emz_config_init(&config, pub_sk) != EMZ_OK) return fail(label, "emz_config_init");
    config.any_port = true;
    config.bind_host = "127.0.0.1";
    config.whitelist = whitelist;
    config.whitelist_len = 1;
    config.options = &options;
    if (emz_efunguz_new_with(&config, &pub) != EMZ_OK) return fail(label, "publisher");
    if (emz_config_init(&config, sub_sk) != EMZ_OK) return fail(label, "emz_config_init");
    config.any_port = true;
    config.bind_host = "127.0.0.1";
    config.options = &options;
    if (emz_efunguz_new_with(&config, &sub) != EMZ_OK ||
        emz_add_ehypha_direct(sub, pub_pk, "127.0.0.1", emz_efunguz_port(pub), &eh) != EMZ_OK ||
        emz_ehypha_add_etale(eh, "hello", &et) != EMZ_OK) {
        emz_efunguz_free(pub);
        emz_efunguz_free(sub);
        return fail(label, "subscriber");
    }

    part.ptr = (const uint8_t *)"over CURVE";
    part.len = strlen("over CURVE");
    for (end = emz_now_us() + 20 * 1000000LL; !got && emz_now_us() < end;) {
        const emz_part_t *parts = NULL;
        size_t n = 0;
        if (emz_emit_etale(pub, "hello", &part, 1, NULL) != EMZ_OK || emz_update(pub, NULL) != EMZ_OK ||
            emz_wait(sub, 20, NULL) != EMZ_OK || emz_etale_parts(et, &parts, &n, NULL, NULL) != EMZ_OK)
            break;
        got = n == 1 && parts[0].len == part.len && memcmp(parts[0].ptr, part.ptr, part.len) == 0;
    }
    /* The handshake passed CURVE with the whitelisted key: the publisher's monitor counts
     * it, seen in its updates. */
    for (end = emz_now_us() + 5 * 1000000LL; got && emz_in_permitted(pub) == 0 && emz_now_us() < end;)
        emz_wait(pub, 10, NULL);
    permitted = emz_in_permitted(pub);
    emz_efunguz_free(sub);
    emz_efunguz_free(pub);
    if (!got) return fail(label, "no etale arrived over CURVE");
    if (permitted == 0) return fail(label, "the publisher counted no permitted handshake");
    printf("consumer %s: ok, emyzelium %s\n", label, emz_version());
    return 0;
}
