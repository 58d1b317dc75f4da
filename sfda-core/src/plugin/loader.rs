//! [`load_plugin`]: opens a plugin library, checks its declaration, lets it
//! register its entries and merges them into the host's registry.

use std::any::TypeId;
use std::collections::HashSet;
use std::ffi::{c_char, c_void, CStr};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::dispatch::backends;
use crate::plugin::declaration::{
    build_fingerprint, PluginDeclaration, PluginDeclarationFn, CORE_VERSION, PLUGIN_ABI_VERSION,
    PLUGIN_DECLARATION_SYMBOL, PLUGIN_MAGIC, RUSTC_VERSION,
};
use crate::plugin::registrar::{HostBackend, PluginRegistrar};
use crate::registry::components::{all_of, ComponentEntry, Ctors, Registered, DYNAMIC};
use crate::registry::ComponentKind;
use crate::{Error, Result};

/// A loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// The library, canonicalised.
    pub path: PathBuf,
    /// The plugin's package name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// Backends it was compiled for.
    pub backends: Vec<String>,
    /// `(kind, name)` of every component it registered.
    pub components: Vec<(ComponentKind, String)>,
}

static LOADED: Mutex<Vec<PluginInfo>> = Mutex::new(Vec::new());

/// Plugins loaded so far, in load order.
pub fn loaded_plugins() -> Vec<PluginInfo> {
    LOADED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Loads every library of `paths` (see [`load_plugin`]).
pub fn load_plugins<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PluginInfo>> {
    paths.iter().map(|p| load_plugin(p.as_ref())).collect()
}

fn err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Plugin {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

const REBUILD: &str = "rebuild the plugin together with this sfda, in one cargo command of \
                       the sfda workspace so that both get the same toolchain, profile and \
                       dependency features: `cargo build --release -p sfda -p <plugin-package>`";

/// Loads the plugin library at `path` and adds its networks, losses and
/// rankers and adaptation methods to the registries. Loading the same file twice is a no-op that
/// returns the first load's info.
///
/// Checked, in order, each failure an [`Error::Plugin`] saying what to do:
/// the file exists and looks like a shared library; it loads; it exports
/// `sfda_plugin_declaration`; the declaration's magic and ABI version; the
/// rustc and sfda-core versions; the backends; the sfda-core build
/// fingerprint; registration succeeds; no name clashes with a registered
/// one; each per-backend constructor was built against the host's backend.
/// The library is never unloaded, even when a check fails.
pub fn load_plugin(path: &Path) -> Result<PluginInfo> {
    let path = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(err(
                path,
                "no such file; pass the path of the plugin's shared library (e.g. \
                 target/release/libsfda_plugin_unet.so, built with `cargo build --release -p sfda \
                 -p sfda-plugin-unet`)",
            ))
        }
        Err(e) => return Err(err(path, format!("cannot open: {e}"))),
    };
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = loaded.iter().find(|p| p.path == path) {
        return Ok(p.clone());
    }
    check_file(&path)?;
    // SAFETY: loading a library runs its initialisers; that is the point of
    // a plugin, and the file was named by the user as one.
    let lib = unsafe { libloading::Library::new(&path) }
        .map_err(|e| err(&path, format!("cannot be loaded as a shared library: {e}")))?;
    // Never unload: entries point into the library, and unloading a library
    // whose initialisers ran is not safe in general.
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    // SAFETY: the symbol's type is the documented declaration function type.
    let decl_fn = unsafe { lib.get::<PluginDeclarationFn>(PLUGIN_DECLARATION_SYMBOL.as_bytes()) }
        .map_err(|_| {
        err(
            &path,
            format!(
                "is a shared library but not an sfda plugin: it does not export \
                     `{PLUGIN_DECLARATION_SYMBOL}` (a plugin crate calls \
                     `sfda_plugin::declare_plugin!()` and is built with crate-type = [\"cdylib\"])"
            ),
        )
    })?;
    // SAFETY: calling the exported declaration function is the first and
    // only call made before the declaration is checked.
    let decl = unsafe { decl_fn() };
    if decl.is_null() {
        return Err(err(&path, "its plugin declaration is a null pointer"));
    }
    // SAFETY: non-null, and every ABI version starts with these two fields.
    let (magic, abi) = unsafe { ((*decl).magic, (*decl).abi_version) };
    if magic != PLUGIN_MAGIC {
        return Err(err(
            &path,
            "exports `sfda_plugin_declaration` but its declaration has no sfda plugin magic; \
             it is not an sfda plugin",
        ));
    }
    if abi != PLUGIN_ABI_VERSION {
        return Err(err(
            &path,
            format!(
                "plugin ABI version mismatch: the plugin declares ABI version {abi}, this sfda \
                 loads ABI version {PLUGIN_ABI_VERSION}; {REBUILD}"
            ),
        ));
    }
    // SAFETY: same ABI version, so the declaration has this layout.
    let decl: &PluginDeclaration = unsafe { &*decl };
    let text = |p: *const c_char, field: &str| -> Result<String> {
        if p.is_null() {
            return Err(err(&path, format!("its declaration has no {field}")));
        }
        // SAFETY: the ABI says NUL-terminated static strings.
        Ok(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    let name = text(decl.name, "name")?;
    let version = text(decl.version, "version")?;
    let rustc = text(decl.rustc_version, "rustc version")?;
    if rustc != RUSTC_VERSION {
        return Err(err(
            &path,
            format!(
                "plugin '{name}' was built with another compiler: plugin: {rustc}, this sfda: \
                 {RUSTC_VERSION} (Rust types are only compatible across a plugin boundary with \
                 the same compiler); {REBUILD}"
            ),
        ));
    }
    let core = text(decl.core_version, "sfda-core version")?;
    if core != CORE_VERSION {
        return Err(err(
            &path,
            format!(
                "plugin '{name}' was built against sfda-core {core}, this sfda has sfda-core \
                 {CORE_VERSION}; {REBUILD}"
            ),
        ));
    }
    let plugin_backends: Vec<String> = text(decl.backends, "backend list")?
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let host = backends();
    let host_names: Vec<&str> = host.iter().map(|b| b.name).collect();
    if !plugin_backends
        .iter()
        .any(|b| host_names.contains(&b.as_str()))
    {
        return Err(err(
            &path,
            format!(
                "plugin '{name}' supports the backends [{}], none of which is compiled into this \
                 sfda ([{}]); rebuild it with one of them enabled",
                plugin_backends.join(", "),
                host_names.join(", ")
            ),
        ));
    }
    if (decl.build_fingerprint)() != build_fingerprint() {
        return Err(err(
            &path,
            format!(
                "plugin '{name}' was built against a different build of sfda-core {CORE_VERSION} \
                 (other dependency versions, features or build profile, e.g. debug vs release); \
                 {REBUILD}"
            ),
        ));
    }
    let mut registrar = PluginRegistrar::new(
        host.iter()
            .map(|b| HostBackend {
                name: b.name,
                type_id: (b.type_id)(),
                ops: (b.host_ops)(),
            })
            .collect(),
    );
    // SAFETY: compiler, sfda-core version and build were checked to be the
    // same, so the registrar's layout is the plugin's.
    let rc = unsafe { (decl.register)(&mut registrar as *mut PluginRegistrar as *mut c_void) };
    if rc != 0 {
        let why = registrar
            .error
            .take()
            .unwrap_or_else(|| format!("error code {rc}"));
        return Err(err(
            &path,
            format!("plugin '{name}' failed to register: {why}"),
        ));
    }
    let host_types: Vec<(&str, TypeId)> = host.iter().map(|b| (b.name, (b.type_id)())).collect();
    let mut components = Vec::new();
    check_entries(&path, &name, &registrar.archs, &host_types, &mut components)?;
    check_entries(
        &path,
        &name,
        &registrar.losses,
        &host_types,
        &mut components,
    )?;
    check_entries(
        &path,
        &name,
        &registrar.rankers,
        &host_types,
        &mut components,
    )?;
    check_entries(
        &path,
        &name,
        &registrar.methods,
        &host_types,
        &mut components,
    )?;
    {
        let mut d = DYNAMIC.write().unwrap_or_else(|p| p.into_inner());
        d.archs
            .extend(registrar.archs.iter().map(|e| (*e, path.clone())));
        d.losses
            .extend(registrar.losses.iter().map(|e| (*e, path.clone())));
        d.rankers
            .extend(registrar.rankers.iter().map(|e| (*e, path.clone())));
        d.methods
            .extend(registrar.methods.iter().map(|e| (*e, path.clone())));
    }
    let info = PluginInfo {
        path,
        name,
        version,
        backends: plugin_backends,
        components,
    };
    loaded.push(info.clone());
    Ok(info)
}

/// Refuses what is not a regular file or does not start like a shared
/// library of this platform, before the dynamic loader sees it.
fn check_file(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| err(path, format!("cannot open: {e}")))?;
    if !meta.is_file() {
        return Err(err(path, "is not a file; pass the plugin's shared library"));
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    let magic_ok = if cfg!(target_os = "linux") {
        n == 4 && head == *b"\x7fELF"
    } else if cfg!(target_os = "macos") {
        n == 4
            && matches!(
                u32::from_le_bytes(head),
                0xfeedface | 0xfeedfacf | 0xcefaedfe | 0xcffaedfe | 0xcafebabe | 0xbebafeca
            )
    } else if cfg!(windows) {
        n >= 2 && head[..2] == *b"MZ"
    } else {
        true
    };
    if !magic_ok {
        return Err(err(
            path,
            "is not a shared library (wrong file header); pass the plugin's compiled library \
             (lib<name>.so on Linux, lib<name>.dylib on macOS, <name>.dll on Windows), not its \
             sources or another file",
        ));
    }
    Ok(())
}

/// Checks a plugin's entries of one kind: names are new (and unique within
/// the plugin), and every constructor for a backend this binary has was
/// built against this binary's backend type.
fn check_entries<K: Registered>(
    path: &Path,
    plugin: &str,
    entries: &[&'static ComponentEntry<K>],
    host_types: &[(&str, TypeId)],
    out: &mut Vec<(ComponentKind, String)>,
) -> Result<()> {
    let kind = K::KIND;
    let existing = all_of::<K>();
    let mut seen = HashSet::new();
    for e in entries {
        if e.name.is_empty() {
            return Err(err(
                path,
                format!("plugin '{plugin}' registers a {kind} with an empty name"),
            ));
        }
        if let Some((_, origin)) = existing.iter().find(|(x, _)| x.name == e.name) {
            return Err(err(
                path,
                format!(
                    "plugin '{plugin}' registers {kind} '{}', which is already provided by \
                     {origin}; rename one of them",
                    e.name
                ),
            ));
        }
        if !seen.insert(e.name) {
            return Err(err(
                path,
                format!("plugin '{plugin}' registers {kind} '{}' twice", e.name),
            ));
        }
        let Ctors::PerBackend(ctors) = &e.ctors else {
            return Err(err(
                path,
                format!(
                    "plugin '{plugin}' registers {kind} '{}' as a generic built-in, which only \
                     sfda-core may do; register it with the sfda-plugin macros",
                    e.name
                ),
            ));
        };
        for c in ctors.iter() {
            if let Some((_, host_type)) = host_types.iter().find(|(n, _)| *n == c.backend) {
                if (c.backend_type)() != *host_type {
                    return Err(err(
                        path,
                        format!(
                            "plugin '{plugin}' was built against a different build of the {} \
                             backend (other dependency versions, features or profile); {REBUILD}",
                            c.backend
                        ),
                    ));
                }
            }
        }
        out.push((kind, e.name.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin_error(path: &Path) -> String {
        match load_plugin(path) {
            Err(e @ Error::Plugin { .. }) => e.to_string(),
            other => panic!("expected a plugin error, got {other:?}"),
        }
    }

    #[test]
    fn missing_file_folder_and_text_file_are_named_errors() {
        let msg = plugin_error(Path::new("no/such/libplugin.so"));
        assert!(
            msg.contains("no/such/libplugin.so") && msg.contains("no such file"),
            "{msg}"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(plugin_error(dir.path()).contains("not a file"));
        let text = dir.path().join("libfake.so");
        std::fs::write(&text, "not a library\n").unwrap();
        let msg = plugin_error(&text);
        assert!(msg.contains("not a shared library"), "{msg}");
        let empty = dir.path().join("libempty.so");
        std::fs::write(&empty, "").unwrap();
        assert!(plugin_error(&empty).contains("not a shared library"));
        assert!(loaded_plugins().is_empty());
    }
}
