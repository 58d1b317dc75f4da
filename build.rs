//! Build script of the `sfda` package: lets its binary, tests, examples and
//! benches find libtorch at run time without `LD_LIBRARY_PATH`, and links
//! libtorch_cuda with the `cuda` feature (see
//! `sfda-backend-tch/build_support.rs`).

include!("sfda-backend-tch/build_support.rs");

fn main() {
    println!("cargo:rerun-if-changed=sfda-backend-tch/build_support.rs");
    emit_libtorch_link_args();
}
