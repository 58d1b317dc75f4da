//! Registries of compiled-in components, filled with `inventory`: backends
//! now; networks, losses and patch rankers as they land. Iteration order of
//! `inventory` is unspecified, so every listing is sorted by name.

pub mod backends;

pub use backends::{backend_by_name, backends, BackendEntry};
