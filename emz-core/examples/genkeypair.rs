//! Prints a new CURVE key pair, Z85-encoded, for an efunguz's identity.
//!
//! `cargo run --example genkeypair`

fn main() {
    match emyzelium::new_key_pair() {
        Ok((public, secret)) => println!("public: {public}\nsecret: {secret}"),
        Err(e) => {
            eprintln!("cannot generate a key pair: {e}");
            std::process::exit(1);
        }
    }
}
