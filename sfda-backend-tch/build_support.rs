// Shared by `sfda-backend-tch/build.rs` and the root `build.rs` (through
// `include!`): link flags that let final executables find libtorch at run
// time, and link libtorch_cuda when the `cuda` feature is on.
//
// torch-sys links libtorch but puts no rpath on the final executable, so
// without these flags every binary, test, example and bench would need
// `LD_LIBRARY_PATH`. `cargo:rustc-link-arg` only reaches the targets of the
// package whose build script prints it, hence one call per package.

/// `$LIBTORCH/lib`, made absolute, or `None` (with a warning) when `LIBTORCH`
/// is unset (e.g. `LIBTORCH_USE_PYTORCH=1`, where torch-sys finds libtorch
/// through Python and the user is responsible for the library path).
fn libtorch_lib_dir() -> Option<std::path::PathBuf> {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    let Some(root) = std::env::var_os("LIBTORCH") else {
        println!(
            "cargo:warning=LIBTORCH is not set: no rpath to libtorch is added; \
             set LD_LIBRARY_PATH to libtorch's lib/ folder to run the binaries"
        );
        return None;
    };
    let root = std::path::PathBuf::from(root);
    let root = std::fs::canonicalize(&root)
        .or_else(|_| std::path::absolute(&root))
        .unwrap_or(root);
    Some(root.join("lib"))
}

/// Prints the rpath (and, with the `cuda` feature, `-ltorch_cuda`) link args.
fn emit_libtorch_link_args() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let Some(lib) = libtorch_lib_dir() else {
        return;
    };
    if target_os != "windows" {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
    // Without an explicit, non-dropped link to libtorch_cuda its static
    // initialisers never run and tch reports CUDA as unavailable.
    if std::env::var_os("CARGO_FEATURE_CUDA").is_some() && target_os == "linux" {
        println!("cargo:rustc-link-search=native={}", lib.display());
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
