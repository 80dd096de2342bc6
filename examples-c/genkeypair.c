/* Prints a new CURVE key pair, as the Rust example genkeypair does. */
#include "emyzelium.h"

#include <stdio.h>

int main(void) {
    char public_key[EMZ_KEY_BUF_LEN], secret_key[EMZ_KEY_BUF_LEN];
    emz_result_t rc = emz_new_key_pair(public_key, secret_key);
    if (rc != EMZ_OK) {
        fprintf(stderr, "genkeypair: %s: %s\n", emz_result_str(rc), emz_last_error());
        return 1;
    }
    printf("public: %s\nsecret: %s\n", public_key, secret_key);
    return 0;
}
