//! Lets this plugin's unit tests find libtorch at run time (the same rpath
//! the sfda binary gets; see `sfda-backend-tch/build_support.rs`). The
//! cdylib itself needs nothing: the sfda process has libtorch loaded already.

include!("../../sfda-backend-tch/build_support.rs");

fn main() {
    println!("cargo:rerun-if-changed=../../sfda-backend-tch/build_support.rs");
    emit_libtorch_link_args();
}
