//! Link flags of libemyzelium.so: its soname, and libstdc++ (libzmq is C++) linked in
//! statically, so that the library's only runtime dependencies are libc and libgcc_s.

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    let mut it = version.split('.');
    let (major, minor) = (it.next().unwrap(), it.next().unwrap());
    // 0.x releases may break the ABI at each minor version.
    let soname = if major == "0" { format!("libemyzelium.so.0.{minor}") } else { format!("libemyzelium.so.{major}") };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var_os("EMZ_DYNAMIC_LIBSTDCXX").is_none()
    {
        // Whole archive, placed before the core's `-lstdc++`: every C++ runtime symbol is
        // then defined here and --as-needed drops the shared libstdc++.
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=stdc++");
        if let Ok(out) = std::process::Command::new("c++").arg("-print-file-name=libstdc++.a").output() {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if let Some(dir) = std::path::Path::new(&path).parent() {
                println!("cargo:rustc-link-search=native={}", dir.display());
            }
        }
    }
    println!("cargo:rerun-if-env-changed=EMZ_DYNAMIC_LIBSTDCXX");
    println!("cargo:rerun-if-changed=build.rs");
}
