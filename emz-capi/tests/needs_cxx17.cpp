// Compiled by `make -C emz-capi test`: as C++17 it compiles; as C++14 (and as C)
// emyzelium.hpp must stop at once with one clear error.
#include "emyzelium.hpp"

int main() {
    return 0;
}
