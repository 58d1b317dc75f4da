//! Folder listing for dataset layouts, with errors that name the folder, say
//! what the layout expected and, when another layout fits, which one.

use std::path::{Path, PathBuf};

use crate::data::dataset::Layout;
use crate::error::{Error, Result};

/// Image file extensions the loaders accept.
pub const IMAGE_EXTS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The layout a folder looks like, judged by its top-level entries.
pub fn detect_layout(root: &Path) -> Option<Layout> {
    let has = |p: &str| root.join(p).is_dir();
    if has("leftImg8bit") {
        Some(Layout::Cityscapes)
    } else if has("RGB") && has("GT") {
        Some(Layout::Synthia)
    } else if has("Images") {
        Some(Layout::Nthu)
    } else if has("images") && has("labels") {
        Some(Layout::Gta5)
    } else if has("images") {
        Some(Layout::Folder)
    } else {
        None
    }
}

/// A hint naming the layout a root looks like, when it is not `expected`.
pub fn layout_hint(root: &Path, expected: Layout) -> String {
    match detect_layout(root) {
        Some(l) if l != expected => {
            format!(
                " This looks like a {} tree: pass --layout {}.",
                l.name(),
                l.name()
            )
        }
        _ => String::new(),
    }
}

/// Fails unless `dir` is a folder; `expect` says what the layout wanted there.
pub fn require_dir(dir: &Path, root: &Path, layout: Layout, expect: &str) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let what = if dir.exists() {
        "is not a folder"
    } else {
        "folder not found"
    };
    Err(Error::Data {
        path: dir.to_path_buf(),
        msg: format!(
            "{what}; the {} layout expects {expect}.{}",
            layout.name(),
            layout_hint(root, layout)
        ),
    })
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// Sub-folders of `dir`, sorted by name.
pub fn list_subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .collect())
}

/// Image files of `dir` (by extension, case-insensitive, hidden files
/// skipped), sorted by name.
pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(read_dir_sorted(dir)?
        .into_iter()
        .filter(|p| p.is_file() && is_image_name(p))
        .collect())
}

/// Whether a path has an image extension and is not hidden.
pub fn is_image_name(p: &Path) -> bool {
    let hidden = p
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
    let ext_ok = p.extension().is_some_and(|e| {
        let e = e.to_string_lossy().to_ascii_lowercase();
        IMAGE_EXTS.contains(&e.as_str())
    });
    ext_ok && !hidden
}

/// `file` with its suffix `strip` replaced by `add`, on the raw name (a
/// non-UTF-8 name keeps its bytes, so it finds its label file); `None` when
/// it does not end in `strip`.
pub fn replace_suffix(
    file: &std::ffi::OsStr,
    strip: &str,
    add: &str,
) -> Option<std::ffi::OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let mut v = file.as_bytes().strip_suffix(strip.as_bytes())?.to_vec();
        v.extend_from_slice(add.as_bytes());
        Some(std::ffi::OsString::from_vec(v))
    }
    #[cfg(not(unix))]
    {
        let s = file.to_str()?.strip_suffix(strip)?;
        Some(format!("{s}{add}").into())
    }
}

/// The file stem as a `String`.
pub fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// An error for a layout folder that holds no image.
pub fn no_images(dir: &Path, root: &Path, layout: Layout) -> Error {
    Error::Data {
        path: dir.to_path_buf(),
        msg: format!(
            "no images found (looked for *.png, *.jpg) for the {} layout; check the path.{}",
            layout.name(),
            layout_hint(root, layout)
        ),
    }
}

/// Names listed in a split file (one per line, blank lines and `#` comments
/// skipped; only the file name part of each line is kept, extension dropped).
pub fn read_split_list(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| stem(Path::new(l)))
        .collect())
}
