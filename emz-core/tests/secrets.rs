//! Secret keys never show whole in `Debug`, `Display` or errors, and `SecretKey` wipes
//! its text. Wiping on drop cannot be observed from safe Rust (the buffer is freed), so
//! the test checks `Zeroize` on a live key and that `SecretKey` is `ZeroizeOnDrop`,
//! whose drop runs that same `zeroize`.
mod common;
use common::*;
use emyzelium::{public_key, read_secret_file, Efunguz, Error, ErrorKind, SecretKey};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Whether `text` holds any 12 consecutive characters of `secret` (a prefix of up to 8 is
/// allowed in messages).
fn leaks(text: &str, secret: &str) -> bool {
    let s = secret.trim();
    (0..=s.len().saturating_sub(12)).any(|i| s.get(i..i + 12).is_some_and(|w| text.contains(w)))
}

fn assert_hidden(what: &str, text: &str, secret: &str) {
    assert!(!leaks(text, secret), "{what} shows the secret: {text}");
}

fn assert_error_hidden(e: &Error, secret: &str) {
    assert_hidden("Display", &e.to_string(), secret);
    assert_hidden("Debug", &format!("{e:?}"), secret);
    assert_hidden("alternate Debug", &format!("{e:#?}"), secret);
}

#[test]
fn builder_and_efunguz_do_not_print_the_secret() {
    let k = keys();
    let b = builder(&k);
    assert_hidden("builder Debug", &format!("{b:?}"), &k.secret);
    assert_hidden("builder Debug", &format!("{b:#?}"), &k.secret);
    let ef = b.build().unwrap();
    assert_hidden("efunguz Debug", &format!("{ef:?}"), &k.secret);
    assert!(format!("{ef:?}").contains(&k.public), "Debug still names the efunguz by its public key");
    let sk = SecretKey::new(&k.secret).unwrap();
    assert_hidden("SecretKey Debug", &format!("{sk:?}"), &k.secret);
    assert_eq!(sk.public_key().unwrap(), k.public);
    assert_eq!(&*sk, k.secret.as_str());
}

#[test]
fn bad_secrets_are_not_printed_by_errors() {
    let k = keys();
    let trailing_space = format!("{} ", k.secret);
    let bad_last = format!("{}\"", &k.secret[..39]);
    let too_short = k.secret[..30].to_string();
    for bad in [&trailing_space, &bad_last, &too_short] {
        let errors = [
            Efunguz::builder(bad).any_port().build().unwrap_err(),
            Efunguz::new(bad, Vec::<String>::new(), 1, "127.0.0.1", 9050).unwrap_err(),
            public_key(bad).unwrap_err(),
            SecretKey::new(bad).unwrap_err(),
        ];
        for e in &errors {
            assert_eq!(e.kind(), ErrorKind::InvalidKey, "{e}");
            assert_error_hidden(e, bad);
            // `fn main() -> Result<(), Error>` prints the error with Debug.
            let main_result: emyzelium::Result<()> = Err(Error::InvalidKey { key: bad.clone(), reason: "x".into() });
            assert_hidden("main's Debug", &format!("{main_result:?}"), bad);
        }
    }
    // The reason does not quote the offending character of a secret either.
    let e = SecretKey::new(&bad_last).unwrap_err();
    assert!(e.to_string().contains("byte 40 is not a Z85 character"), "{e}");
}

#[test]
fn zeroize_wipes_a_secret_key() {
    fn wiped_on_drop<T: ZeroizeOnDrop>(_: &T) {}
    let k = keys();
    let mut sk = SecretKey::new(&k.secret).unwrap();
    wiped_on_drop(&sk);
    let text = sk.expose();
    let (ptr, len) = (text.as_ptr(), text.len());
    sk.zeroize();
    assert_eq!(sk.expose(), "");
    // The buffer is still owned by `sk` (zeroize keeps the allocation): read it back.
    #[allow(unsafe_code)]
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    assert!(bytes.iter().all(|&b| b == 0), "{bytes:?}");
}

fn temp_file(name: &str, text: &str, mode: u32) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("emz-secrets-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    path
}

#[test]
fn secret_files_are_read_and_their_errors_hide_the_key() {
    let k = keys();
    let plain = temp_file("plain", &format!("# mine\n  {}  \n\n", k.secret), 0o600);
    assert_eq!(read_secret_file(&plain).unwrap().expose(), k.secret);
    // As `emz keygen` prints it; a loose mode warns but still reads.
    let keygen = temp_file("keygen", &format!("public: {}\nsecret: {}\n", k.public, k.secret), 0o644);
    assert_eq!(read_secret_file(&keygen).unwrap().expose(), k.secret);

    let bad = format!("{}\"", &k.secret[..39]);
    let bad_file = temp_file("bad", &format!("{bad}\n"), 0o600);
    let e = read_secret_file(&bad_file).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.to_string().contains(":1:"), "{e}");
    assert_error_hidden(&e, &bad);

    let two = temp_file("two", &format!("{}\n{}\n", k.secret, k.secret), 0o600);
    let e = read_secret_file(&two).unwrap_err();
    assert!(e.to_string().contains("one key"), "{e}");
    assert_error_hidden(&e, &k.secret);
    let empty = temp_file("empty", "# nothing\n", 0o600);
    assert!(read_secret_file(&empty).unwrap_err().to_string().contains("no secret key"));
    for p in [plain, keygen, bad_file, two, empty] {
        std::fs::remove_file(p).unwrap();
    }
}
