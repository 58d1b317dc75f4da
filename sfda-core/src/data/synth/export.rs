//! Writing the benchmark to disk in the Cityscapes layout
//! (`leftImg8bit/<split>/<city>/*_leftImg8bit.png`,
//! `gtFine/<split>/<city>/*_gtFine_labelIds.png`, city = the domain), so the
//! Cityscapes loader reads it back exactly, plus a `synth_<domain>_<split>.json`
//! recording the spec.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::data::ids::train_to_cityscapes_label;
use crate::data::layouts::cityscapes::{IMAGE_SUFFIX, LABEL_SUFFIX};
use crate::data::png_out::{save_gray_png, save_rgb_png, write_atomic};
use crate::data::raster::LabelMap;
use crate::data::synth::spec::{generate, SynthSpec};
use crate::error::{Error, Result};

/// What [`write_cityscapes`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthExport {
    /// Images written.
    pub images: usize,
    /// Folder of the images.
    pub image_dir: PathBuf,
    /// Folder of the labels.
    pub label_dir: PathBuf,
    /// The spec file.
    pub spec_file: PathBuf,
}

/// Generates `spec` into `out` (Cityscapes layout) in parallel; shows a
/// progress bar on stderr when `progress`. Files are written atomically.
///
/// Each domain and split is written whole: when `out` already holds that
/// subset (its image or label folder is not empty, or its spec file
/// exists) this is an error unless `force`, which removes the old subset
/// first — so the spec file always describes exactly the images beside it.
/// Other subsets in `out` (another split or domain) are left alone.
pub fn write_cityscapes(
    spec: &SynthSpec,
    out: &Path,
    progress: bool,
    force: bool,
) -> Result<SynthExport> {
    spec.validate()?;
    let split = spec.split.name();
    let image_dir = out.join("leftImg8bit").join(split).join(spec.city());
    let label_dir = out.join("gtFine").join(split).join(spec.city());
    let spec_file = out.join(format!("synth_{}_{}.json", spec.domain, split));
    let _lock = crate::run_dir::RunLock::acquire(out, "data synth")?;
    let non_empty = |d: &Path| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some());
    let held = [&image_dir, &label_dir]
        .into_iter()
        .find(|d| non_empty(d))
        .cloned()
        .or_else(|| spec_file.exists().then(|| spec_file.clone()));
    if let Some(found) = held {
        if !force {
            return Err(Error::RunFolder {
                path: out.to_path_buf(),
                msg: format!(
                    "already holds {} {} images ({}); write to another folder, or pass \
                     --force to replace that subset",
                    spec.domain,
                    split,
                    found.display()
                ),
            });
        }
        for d in [&image_dir, &label_dir] {
            if d.exists() {
                std::fs::remove_dir_all(d).map_err(|e| Error::io(d, e))?;
            }
        }
        if spec_file.exists() {
            std::fs::remove_file(&spec_file).map_err(|e| Error::io(&spec_file, e))?;
        }
    }
    for d in [&image_dir, &label_dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    let bar = if progress {
        ProgressBar::with_draw_target(Some(spec.count as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("synth {} {}", spec.domain, split));
    (0..spec.count)
        .into_par_iter()
        .try_for_each(|i| -> Result<()> {
            let s = generate(spec, i);
            save_rgb_png(
                &image_dir.join(format!("{}{IMAGE_SUFFIX}", s.name)),
                &s.image,
            )?;
            if let Some(l) = &s.label {
                let ids = LabelMap {
                    width: l.width,
                    height: l.height,
                    data: l
                        .data
                        .iter()
                        .map(|&t| train_to_cityscapes_label(t))
                        .collect(),
                };
                save_gray_png(&label_dir.join(format!("{}{LABEL_SUFFIX}", s.name)), &ids)?;
            }
            bar.inc(1);
            Ok(())
        })?;
    bar.finish_and_clear();
    let json = serde_json::to_vec_pretty(spec).map_err(|e| Error::msg(e.to_string()))?;
    write_atomic(&spec_file, &json)?;
    Ok(SynthExport {
        images: spec.count,
        image_dir,
        label_dir,
        spec_file,
    })
}
