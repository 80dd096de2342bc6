// Publisher and subscriber in one C++17 program, through the RAII wrapper emyzelium.hpp:
// two efungi on loopback, one sends "greeting" until the other has it.
#include "emyzelium.hpp"

#include <iostream>

int main() {
    try {
        emz::KeyPair alice_keys = emz::new_key_pair(), bob_keys = emz::new_key_pair();

        emz::Config alice_config(alice_keys.secret_key);
        alice_config.any_port = true;
        alice_config.bind_host = "127.0.0.1";
        alice_config.whitelist = {bob_keys.public_key}; // only Bob may subscribe
        emz::Efunguz alice(alice_config);

        emz::Config bob_config(bob_keys.secret_key);
        bob_config.any_port = true;
        bob_config.bind_host = "127.0.0.1";
        emz::Efunguz bob(bob_config);
        emz::Etale greeting =
            bob.add_ehypha_direct(alice_keys.public_key, "127.0.0.1", alice.port()).add_etale("greeting");

        for (int frame = 0; frame < 1000; frame++) {
            alice.emit_etale("greeting", {"hello from C++", std::to_string(frame)});
            alice.update();
            bob.wait(std::chrono::milliseconds(10));
            for (emz::Etale et : bob.changes()) {
                if (et != greeting) continue;
                emz::Parts parts = et.parts(); // zero-copy until Bob's next update
                std::cout << et.title() << ": " << parts[0].str() << " (frame " << parts[1].str() << "), "
                          << parts.t_in() - parts.t_out() << " us in flight\n";
                std::cout << "alice: " << alice.in_permitted() << " subscriber(s) permitted\n";
                return 0;
            }
        }
        std::cerr << "pubsub: no greeting arrived\n";
        return 1;
    } catch (const emz::Error &e) {
        std::cerr << "pubsub: " << e.what() << " (code " << e.code() << ")\n";
        return 1;
    }
}
