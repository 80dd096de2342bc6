//! Builds the vendored libzmq and libsodium once per target directory and profile, not
//! once per way of invoking Cargo.
//!
//! Cargo gives `cargo build`, `cargo doc` and `cargo clippy` (and clippy with other lint
//! arguments) different build-script runs, each with its own OUT_DIR, and reruns the
//! build script whenever clippy's arguments change. Each of those compiled libzmq from
//! scratch, about two minutes on two cores, four times in one test run. Here the result
//! is kept beside the OUT_DIRs, under a key made of everything that shapes it, and copied
//! into each OUT_DIR that asks for the same key.
//!
//! The key covers the build script's own source, the manifest (it pins zeromq-src), the
//! workspace lockfile when there is one (the `cc` version), the vendored libsodium tree
//! (paths, sizes, modification times), the target and profile settings, and every
//! compiler and tool variable the `cc` crate reads. `EMZ_NO_BUILD_CACHE=1` builds
//! without it; `cargo clean` empties it. `EMZ_BUILD_CACHE_DIR` puts the entries in a
//! directory of one's choice, to share them with another target directory (the test
//! suite's coexistence crate uses the workspace's).
//!
//! The directives a build prints (link paths, `cargo:include`, rerun conditions) are
//! what Cargo needs back on a cache hit, so the real build runs in a child process (this
//! same build script) whose standard output is recorded, then replayed with the OUT_DIR
//! swapped.

use std::env;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Set in the child process that does the real build.
const CHILD: &str = "EMZ_BUILD_CHILD";
/// What a cache entry holds, relative to OUT_DIR: all that the directives point to.
const KEPT: &[&str] = &["lib/libzmq.a", "sodium/libsodium.a", "source/include"];
const ENTRY_PREFIX: &str = "emyzelium-vendored-";

/// True in the child process: it builds for real and prints its directives.
pub fn is_child() -> bool {
    env::var_os(CHILD).is_some()
}

/// Builds through the cache, or directly when there is no usable cache directory.
pub fn build_vendored_cached(build: fn()) {
    println!("cargo:rerun-if-env-changed=EMZ_NO_BUILD_CACHE");
    println!("cargo:rerun-if-env-changed=EMZ_BUILD_CACHE_DIR");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out; entries go in build/,
    // or in EMZ_BUILD_CACHE_DIR: another project's target dir can share a build there.
    let build_dir = match env::var_os("EMZ_BUILD_CACHE_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => out
            .parent()
            .and_then(Path::parent)
            .filter(|d| d.file_name().is_some_and(|n| n == "build"))
            .map(Path::to_path_buf),
    };
    let off = env::var_os("EMZ_NO_BUILD_CACHE").is_some_and(|v| v != "0");
    let Some(build_dir) = build_dir.filter(|_| !off) else {
        return build();
    };
    let entry = build_dir.join(format!("{ENTRY_PREFIX}{:016x}", key()));
    if let Some(directives) = restore(&entry, &out) {
        print!("{directives}");
        return;
    }
    let directives = run_child();
    print!("{directives}");
    // A failure to store only costs the next run a build.
    if let Err(e) = store(&entry, &out, &directives) {
        println!("cargo:warning=emyzelium: could not keep the libzmq build for reuse: {e}");
    }
}

/// Runs this build script again as the child, which builds into the same OUT_DIR.
/// Its standard error goes where ours goes; its standard output is returned.
fn run_child() -> String {
    let exe = env::current_exe().expect("the build script's own path");
    let child = Command::new(exe)
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .expect("cannot run the build script's child process");
    let text = String::from_utf8_lossy(&child.stdout).into_owned();
    if !child.status.success() {
        // What it printed before failing helps the reader of the error.
        print!("{text}");
        let _ = std::io::stdout().flush();
        panic!("building the vendored libzmq failed ({})", child.status);
    }
    text
}

/// Copies a complete entry into OUT_DIR and returns its directives for this OUT_DIR.
fn restore(entry: &Path, out: &Path) -> Option<String> {
    let directives = fs::read_to_string(entry.join("directives")).ok()?;
    let origin = fs::read_to_string(entry.join("origin")).ok()?;
    for rel in KEPT {
        let dst = out.join(rel);
        let _ = fs::remove_dir_all(&dst);
        let _ = fs::remove_file(&dst);
        copy_tree(&entry.join("out").join(rel), &dst).ok()?;
    }
    Some(directives.replace(origin.as_str(), &out.to_string_lossy()))
}

/// Writes the entry beside its final name, then renames it: a reader finds either a
/// whole entry or none. Older entries of this directory go (they can only be stale).
fn store(entry: &Path, out: &Path, directives: &str) -> std::io::Result<()> {
    let tmp = entry.with_extension(format!("tmp{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    for rel in KEPT {
        copy_tree(&out.join(rel), &tmp.join("out").join(rel))?;
    }
    fs::write(tmp.join("origin"), out.to_string_lossy().as_bytes())?;
    fs::write(tmp.join("directives"), directives)?;
    let parent = entry.parent().expect("an entry has a parent");
    for old in fs::read_dir(parent)?.flatten() {
        let name = old.file_name();
        if name.to_string_lossy().starts_with(ENTRY_PREFIX) && old.path() != tmp {
            let _ = fs::remove_dir_all(old.path());
        }
    }
    fs::rename(&tmp, entry)
}

fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    if src.is_dir() {
        fs::create_dir_all(dst)?;
        for e in fs::read_dir(src)? {
            let e = e?;
            copy_tree(&e.path(), &dst.join(e.file_name()))?;
        }
        Ok(())
    } else {
        if let Some(p) = dst.parent() {
            fs::create_dir_all(p)?;
        }
        fs::copy(src, dst).map(|_| ())
    }
}

/// FNV-1a over everything that shapes the build (see the module's comment).
fn key() -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    h.add(include_bytes!("../build.rs"));
    h.add(include_bytes!("cache.rs"));
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    for file in [manifest.join("Cargo.toml"), manifest.join("../Cargo.lock")] {
        h.add(&fs::read(&file).unwrap_or_default());
    }
    for f in crate::files_under(&manifest.join("vendor/libsodium")) {
        let meta = fs::metadata(&f).ok();
        let mtime =
            meta.as_ref().and_then(|m| m.modified().ok()).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        h.add(format!("{} {:?} {:?}", f.display(), meta.map(|m| m.len()), mtime).as_bytes());
    }
    const TOOLS: &[&str] = &["CC", "CXX", "CFLAGS", "CXXFLAGS", "CPPFLAGS", "AR", "ARFLAGS", "NM", "OBJCOPY", "RANLIB"];
    let mut vars: Vec<(String, String)> = env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.to_string_lossy().into_owned())))
        .filter(|(k, _)| {
            let bare = k.strip_prefix("HOST_").or_else(|| k.strip_prefix("TARGET_")).unwrap_or(k);
            TOOLS.iter().any(|t| bare == *t || bare.starts_with(&format!("{t}_")))
                || k.starts_with("CRATE_CC_")
                // DEFAULT says how features were asked for, not which: a dependent with
                // default-features = false and feature vendored gets the same build.
                || (k.starts_with("CARGO_FEATURE_") && k != "CARGO_FEATURE_DEFAULT")
                || k.starts_with("CARGO_CFG_TARGET_")
                || ["TARGET", "HOST", "PROFILE", "OPT_LEVEL", "DEBUG", "CARGO_ENCODED_RUSTFLAGS"].contains(&k.as_str())
        })
        .collect();
    vars.sort();
    for (k, v) in vars {
        h.add(format!("{k}={v}").as_bytes());
    }
    h.0
}

struct Fnv(u64);

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        // The length first, so that ("ab", "c") and ("a", "bc") differ.
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}
