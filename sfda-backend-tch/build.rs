//! Build script of sfda-backend-tch: rpath to libtorch for this crate's test
//! executables (see `build_support.rs`), and the versions reported by
//! `TchBackend::version()`.

include!("build_support.rs");

fn main() {
    println!("cargo:rerun-if-changed=build_support.rs");
    emit_libtorch_link_args();
    if let Some(v) = libtorch_version() {
        println!("cargo:rustc-env=SFDA_LIBTORCH_VERSION={v}");
    }
    if let Some(v) = locked_tch_version() {
        println!("cargo:rustc-env=SFDA_TCH_VERSION={v}");
    }
}

/// `major.minor.patch` from the headers of the libtorch this crate compiles
/// against (`torch/headeronly/version.h` since 2.9, `torch/version.h` before).
fn libtorch_version() -> Option<String> {
    let include = libtorch_lib_dir()?.parent()?.join("include/torch");
    ["headeronly/version.h", "csrc/api/include/torch/version.h"]
        .iter()
        .find_map(|rel| {
            let path = include.join(rel);
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(path).ok()?;
            let part = |name: &str| {
                text.lines().find_map(|l| {
                    let rest = l.trim().strip_prefix("#define TORCH_VERSION_")?;
                    let value = rest.strip_prefix(name)?.trim();
                    value.parse::<u32>().ok()
                })
            };
            Some(format!(
                "{}.{}.{}",
                part("MAJOR")?,
                part("MINOR")?,
                part("PATCH")?
            ))
        })
}

/// The tch version resolved in the workspace's `Cargo.lock`, if there is one.
fn locked_tch_version() -> Option<String> {
    let dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let lock = dir.parent()?.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(lock).ok()?;
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"tch\"" {
            let v = lines.next()?.trim().strip_prefix("version = \"")?;
            return Some(v.trim_end_matches('"').to_string());
        }
    }
    None
}
