//! The `emz` CLI: who may subscribe is said explicitly, and the secret key can stay off
//! the command line.
mod common;
use common::*;
use std::process::{Command, Output};

const EMZ: &str = env!("CARGO_BIN_EXE_emz");

fn emz(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(EMZ);
    c.args(args).env_remove("EMZ_SECRET");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

const ONE_ROUND: [&str; 10] = ["--bind", "127.0.0.1", "--port", "0", "--title", "t", "--count", "1", "--every", "1"];

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn emit_needs_whitelist_or_everyone() {
    let k = keys();
    let o = emz(&[&["emit", "--secret", &k.secret][..], &ONE_ROUND].concat(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nobody could subscribe"), "{}", stderr(&o));

    let o =
        emz(&[&["emit", "--secret", &k.secret, "--everyone", "--whitelist", &k.public][..], &ONE_ROUND].concat(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("exclude each other"), "{}", stderr(&o));

    for extra in [&["--everyone"][..], &["--whitelist", &k.public]] {
        let o = emz(&[&["emit", "--secret", &k.secret][..], extra, &ONE_ROUND].concat(), &[]);
        assert!(o.status.success(), "{extra:?}: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).starts_with("ready "));
    }
}

#[test]
fn secret_from_file_or_environment() {
    let k = keys();
    let dir = std::env::temp_dir().join(format!("emz-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keygen_out = dir.join("keygen.txt");
    std::fs::write(&keygen_out, format!("public: {}\nsecret: {}\n", k.public, k.secret)).unwrap();
    let bare = dir.join("bare.txt");
    std::fs::write(&bare, format!("# mine\n{}\n", k.secret)).unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "not a key\n").unwrap();

    for f in [&keygen_out, &bare] {
        let o = emz(&[&["emit", "--secret-file", f.to_str().unwrap(), "--everyone"][..], &ONE_ROUND].concat(), &[]);
        assert!(o.status.success(), "{f:?}: {}", stderr(&o));
    }
    let o = emz(&[&["emit", "--secret-file", bad.to_str().unwrap(), "--everyone"][..], &ONE_ROUND].concat(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad.txt"), "{}", stderr(&o));
    let o = emz(
        &[&["emit", "--secret-file", dir.join("missing").to_str().unwrap(), "--everyone"][..], &ONE_ROUND].concat(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));

    let o = emz(&[&["emit", "--everyone"][..], &ONE_ROUND].concat(), &[("EMZ_SECRET", &k.secret)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = emz(&[&["emit", "--everyone"][..], &ONE_ROUND].concat(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("EMZ_SECRET"), "{}", stderr(&o));
    let o = emz(
        &[&["emit", "--everyone", "--secret", &k.secret, "--secret-file", bare.to_str().unwrap()][..], &ONE_ROUND]
            .concat(),
        &[],
    );
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
