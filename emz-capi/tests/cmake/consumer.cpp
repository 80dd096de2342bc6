// The C++ wrapper from an installed emyzelium: header found, C++17, version agreed.
#include <emyzelium.hpp>

#include <iostream>

int main() {
    if (emz::version() != EMZ_VERSION || !emz::has_curve()) {
        std::cerr << "consumer c++: version " << emz::version() << " against header " << EMZ_VERSION << "\n";
        return 1;
    }
    emz::KeyPair k = emz::new_key_pair();
    emz::Config c(k.secret_key);
    c.any_port = true;
    c.bind_host = "127.0.0.1";
    emz::Efunguz ef(c);
    std::cout << "consumer c++: ok, emyzelium " << emz::version() << ", port " << ef.port() << "\n";
    return 0;
}
