//! The whole catalogue `sfda plugins` prints: the backends, then every
//! registered component.

use crate::dispatch::backends;
use crate::registry::{ComponentInfo, ComponentKind, Origin};

/// Every backend and registered component, sorted by kind, then name.
pub fn components() -> Vec<ComponentInfo> {
    let mut out: Vec<ComponentInfo> = backends()
        .into_iter()
        .map(|b| ComponentInfo {
            kind: ComponentKind::Backend,
            name: b.name.to_string(),
            version: (b.version)(),
            origin: Origin::BuiltIn,
            backends: vec![b.name.to_string()],
            summary: "tensor backend".to_string(),
        })
        .collect();
    out.extend(crate::registry::components());
    out
}
