//! The Tor control client against a scripted control port (the real Tor network runs in
//! tests/run-tor.sh): authentication, ephemeral onions, persisted keys, clear errors.
mod common;
use common::*;
use emyzelium::{ErrorKind, OnionKey, TorAuth, TorControl};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Speaks just enough of the control protocol; records commands.
struct FakeTor {
    port: u16,
    cookie: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

fn service_id_of(key: &str) -> String {
    // Deterministic: same key, same address (a real onion of a derived "public key").
    let mut pk = [0u8; 32];
    for (i, b) in key.bytes().enumerate() {
        pk[i % 32] = pk[i % 32].wrapping_mul(31).wrapping_add(b);
    }
    emyzelium::onion_from_ed25519(&pk)
}

impl FakeTor {
    fn start(dir: &std::path::Path) -> Self {
        let cookie = dir.join("control_auth_cookie");
        std::fs::write(&cookie, [0xABu8; 32]).unwrap();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (log2, cookie2) = (log.clone(), cookie.clone());
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(c) = conn else { return };
                let (log, cookie) = (log2.clone(), cookie2.clone());
                std::thread::spawn(move || {
                    let mut w = c.try_clone().unwrap();
                    let mut authed = false;
                    let mut counter = 0u32;
                    for line in BufReader::new(c).lines() {
                        let Ok(line) = line else { return };
                        log.lock().unwrap().push(line.clone());
                        let reply = if line == "PROTOCOLINFO 1" {
                            format!(
                                "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"{}\"\r\n250-VERSION Tor=\"0.4.9.8\"\r\n250 OK\r\n",
                                cookie.display()
                            )
                        } else if let Some(hex) = line.strip_prefix("AUTHENTICATE ") {
                            if hex == "AB".repeat(32) {
                                authed = true;
                                "250 OK\r\n".into()
                            } else {
                                "515 Authentication failed: Wrong length on authentication cookie.\r\n".into()
                            }
                        } else if !authed {
                            "514 Authentication required.\r\n".into()
                        } else if let Some(rest) = line.strip_prefix("ADD_ONION ") {
                            let key = rest.split(' ').next().unwrap();
                            if key == "NEW:ED25519-V3" {
                                counter += 1;
                                let k = format!("ED25519-V3:{:A<88}", format!("K{}{}", port_of(rest), counter));
                                let id = service_id_of(&k);
                                if rest.contains("Flags=DiscardPK") {
                                    format!("250-ServiceID={id}\r\n250 OK\r\n")
                                } else {
                                    format!("250-ServiceID={id}\r\n250-PrivateKey={k}\r\n250 OK\r\n")
                                }
                            } else if key.starts_with("ED25519-V3:") {
                                format!("250-ServiceID={}\r\n250 OK\r\n", service_id_of(key))
                            } else {
                                "513 Invalid key type\r\n".into()
                            }
                        } else if line.starts_with("DEL_ONION ") {
                            "250 OK\r\n".into()
                        } else {
                            "510 Unrecognized command\r\n".into()
                        };
                        if w.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeTor { port, cookie, log }
    }
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    fn saw(&self, prefix: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|l| l.starts_with(prefix)).count()
    }
}

fn port_of(rest: &str) -> String {
    rest.rsplit(':').next().unwrap_or("").to_string()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("emz-tor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn publish_onion_with_a_persisted_key_keeps_the_address() {
    let dir = tmpdir("persist");
    let tor = FakeTor::start(&dir);
    let k = keys();
    let key_file = dir.join("onion.key");
    let mut a = efunguz(&k);
    let onion = a.publish_onion(&tor.addr(), &TorAuth::Auto, &OnionKey::File(key_file.clone())).unwrap();
    assert_eq!(emyzelium::normalize_onion(&onion).unwrap(), onion, "not a valid v3 onion");
    assert_eq!(a.onion(), Some(onion.as_str()));
    let saved = std::fs::read_to_string(&key_file).unwrap();
    assert!(saved.starts_with("ED25519-V3:"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(
        a.publish_onion(&tor.addr(), &TorAuth::Auto, &OnionKey::New).unwrap_err().kind(),
        ErrorKind::AlreadyPresent
    );
    let port = a.port();
    assert!(tor.saw(&format!("ADD_ONION NEW:ED25519-V3 Port={port},127.0.0.1:{port}")) == 1);
    drop(a);
    assert!(until(T, || tor.saw(&format!("DEL_ONION {onion}")) == 1), "onion not removed on drop");

    // Restart: same key file, same address.
    let mut a2 = efunguz(&k);
    let again = a2.publish_onion(&tor.addr(), &TorAuth::Cookie(tor.cookie.clone()), &OnionKey::File(key_file)).unwrap();
    assert_eq!(again, onion);
    a2.unpublish_onion().unwrap();
    assert_eq!(a2.onion(), None);
    assert_eq!(a2.unpublish_onion().unwrap_err().kind(), ErrorKind::AlreadyAbsent);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn control_client_directly() {
    let dir = tmpdir("direct");
    let tor = FakeTor::start(&dir);
    let mut tc = TorControl::connect(&tor.addr()).unwrap();
    // Commands before authentication are refused, with Tor's words.
    let e = tc.add_onion(1, 1, &OnionKey::New).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tor);
    assert!(e.to_string().contains("514"), "{e}");
    tc.authenticate(&TorAuth::Auto).unwrap();
    let s = tc.add_onion(60847, 5000, &OnionKey::New).unwrap();
    assert_eq!(s.private_key, None, "a New key is discarded");
    let k = format!("ED25519-V3:{}", "B".repeat(88));
    let s2 = tc.add_onion(60847, 5000, &OnionKey::Ed25519V3(k.clone())).unwrap();
    assert_eq!(s2.service_id, service_id_of(&k));
    tc.del_onion(&s2.service_id).unwrap();
    assert_eq!(tc.del_onion("bad id!").unwrap_err().kind(), ErrorKind::InvalidAddress);
    assert_eq!(tc.add_onion(0, 5000, &OnionKey::New).unwrap_err().kind(), ErrorKind::InvalidPort);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn tor_errors_are_clear() {
    let dir = tmpdir("errors");
    let tor = FakeTor::start(&dir);
    let k = keys();
    let mut a = efunguz(&k);
    // No control port there.
    let e = a.publish_onion(&format!("127.0.0.1:{}", closed_port()), &TorAuth::Auto, &OnionKey::New).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tor);
    assert!(e.to_string().contains("no Tor control port"), "{e}");
    // Wrong cookie.
    let wrong = dir.join("wrong_cookie");
    std::fs::write(&wrong, [1u8; 32]).unwrap();
    let e = a.publish_onion(&tor.addr(), &TorAuth::Cookie(wrong), &OnionKey::New).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tor);
    assert!(e.to_string().contains("515"), "{e}");
    // Missing cookie file; a cookie of the wrong size.
    let e = a.publish_onion(&tor.addr(), &TorAuth::Cookie(dir.join("nope")), &OnionKey::New).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    let short = dir.join("short");
    std::fs::write(&short, [1u8; 5]).unwrap();
    assert_eq!(
        a.publish_onion(&tor.addr(), &TorAuth::Cookie(short), &OnionKey::New).unwrap_err().kind(),
        ErrorKind::Tor
    );
    // A bad key, given or in a file.
    let e = a.publish_onion(&tor.addr(), &TorAuth::Auto, &OnionKey::Ed25519V3("RSA1024:x".into())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    let bad = dir.join("bad.key");
    std::fs::write(&bad, "garbage\n").unwrap();
    assert_eq!(
        a.publish_onion(&tor.addr(), &TorAuth::Auto, &OnionKey::File(bad)).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    // Password auth is sent quoted; the fake refuses it.
    let e = a.publish_onion(&tor.addr(), &TorAuth::Password("p\"w".into()), &OnionKey::New).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tor);
    assert!(tor.saw("AUTHENTICATE \"p\\\"w\"") == 1);
    assert_eq!(a.onion(), None);
    std::fs::remove_dir_all(dir).unwrap();
}
