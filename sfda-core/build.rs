//! Build script of `sfda-core`: records the compiler version in
//! `SFDA_RUSTC_VERSION`, which the plugin declaration carries so that the
//! loader can refuse a plugin built by another rustc (Rust types are only
//! layout-compatible across a cdylib boundary with the same compiler).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = Command::new(&rustc)
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "rustc (unknown version)".to_string());
    println!("cargo:rustc-env=SFDA_RUSTC_VERSION={version}");
}
