//! Every bad-input case of the hostile-user trial (issue 15) against the
//! `sfda` binary: each must exit non-zero by itself (no signal, no abort),
//! print no "panicked at", name the file or key at fault, and leave every
//! file that existed before — the source checkpoint, an earlier result in
//! the output folder — byte for byte as it was.

mod data_common;

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use sfda_core::checkpoint;
use sfda_core::data::{save_rgb_png, RgbImage};

use data_common::huge_label_png;

const BASE_CONFIG: &str = r#"
iterations = 2
batch_size = 2
fake_batch_size = 2
fake_size = [32, 64]
net_size = "mini"
k = 2
seed = 4
"#;

fn source_checkpoint(dir: &Path) -> PathBuf {
    common::random_source_checkpoint(dir, 5)
}

/// A copy of `src` whose last stored value is NaN (a run that diverged).
fn nan_checkpoint(src: &Path, dir: &Path) -> PathBuf {
    let path = dir.join("nan.safetensors");
    let mut bytes = std::fs::read(src).unwrap();
    let n = bytes.len();
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    std::fs::copy(
        checkpoint::sidecar_path(src),
        checkpoint::sidecar_path(&path),
    )
    .unwrap();
    path
}

/// A Cityscapes-layout folder with one real image whose 69-byte label PNG
/// claims 100000 × 100000 RGBA16 (80 GB decoded).
fn huge_label_dataset(dir: &Path) -> PathBuf {
    let root = dir.join("cityscapes");
    let img_dir = root.join("leftImg8bit/val/aachen");
    let lbl_dir = root.join("gtFine/val/aachen");
    std::fs::create_dir_all(&img_dir).unwrap();
    std::fs::create_dir_all(&lbl_dir).unwrap();
    let img = RgbImage::new(32, 16, vec![128; 32 * 16 * 3]).unwrap();
    save_rgb_png(&img_dir.join("a_000000_000019_leftImg8bit.png"), &img).unwrap();
    std::fs::write(
        lbl_dir.join("a_000000_000019_gtFine_labelIds.png"),
        huge_label_png(),
    )
    .unwrap();
    root
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

static CONFIGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

struct Case {
    /// What the trial found (the issue's wording, shortened).
    what: &'static str,
    args: Vec<OsString>,
    /// What the message must name.
    needle: String,
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

#[test]
fn every_hostile_input_fails_cleanly_naming_its_source_and_changes_nothing() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = source_checkpoint(d);
    let nan = nan_checkpoint(&src, d);
    let huge = huge_label_dataset(d);
    // An earlier result the failing commands must not touch.
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("earlier-result.txt"), "kept").unwrap();
    let synth = d.join("synth");
    let status = Command::new(env!("CARGO_BIN_EXE_sfda"))
        .args(["data", "synth", "--count", "2", "--size", "32x16", "--out"])
        .arg(&synth)
        .status()
        .unwrap();
    assert!(status.success());

    let mut cases: Vec<Case> = Vec::new();
    let adapt_with = |what: &'static str, toml: &str, needle: &str| {
        let n = CONFIGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let cfg = d.join(format!("config-{n}.toml"));
        // The base keys the case does not set itself (TOML refuses duplicates).
        let base: String = BASE_CONFIG
            .lines()
            .filter(|l| {
                let key = l.split('=').next().unwrap_or("").trim();
                key.is_empty() || !toml.lines().any(|t| t.starts_with(&format!("{key} ")))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&cfg, format!("{base}{toml}")).unwrap();
        let mut args = os(&["adapt", "--quiet", "--target", "synth:target:train:4"]);
        args.extend([
            "--source".into(),
            src.clone().into(),
            "--config".into(),
            cfg.into(),
            "--out".into(),
            out.clone().into(),
        ]);
        Case {
            what,
            args,
            needle: needle.into(),
        }
    };
    cases.push(adapt_with(
        "momentum = 5.0 was accepted (mIoU then 1.49)",
        "[student_optim]\nmomentum = 5.0\n",
        "student_optim.momentum",
    ));
    cases.push(adapt_with(
        "latent_dim = 0 was accepted",
        "latent_dim = 0\n",
        "latent_dim",
    ));
    cases.push(adapt_with(
        "beta1 = 1.0 ended in 'generator loss is NaN, lower the learning rate'",
        "[generator_optim]\nbeta1 = 1.0\n",
        "generator_optim.beta1",
    ));
    cases.push(adapt_with(
        "poly_power = nan ended in the same wrong advice",
        "poly_power = nan\n",
        "poly_power",
    ));
    cases.push(adapt_with(
        "target_size = [0, 0] ended in a raw libtorch kernel-size error",
        "target_size = [0, 0]\n",
        "target_size",
    ));
    cases.push(adapt_with(
        "fake_batch_size = 0 named batch_size",
        "fake_batch_size = 0\n",
        "fake_batch_size",
    ));
    cases.push(adapt_with(
        "fake_size = [100000, 100000] aborted on a TB-sized allocation",
        "fake_size = [100000, 100000]\n",
        "fake_size",
    ));
    cases.push(adapt_with(
        "target_size = [100000, 100000] aborted on a TB-sized allocation",
        "target_size = [100000, 100000]\n",
        "target_size",
    ));
    cases.push(adapt_with(
        "a TOML type error gave a byte offset, not the key",
        "[weights]\nalpha = \"one\"\n",
        "weights.alpha",
    ));
    let train = |what: &'static str, extra: &[&str], needle: &str| {
        let mut args = os(&[
            "train-source",
            "--quiet",
            "--data",
            "synth:source:train:4",
            "--batch-size",
            "2",
            "--iterations",
            "2",
        ]);
        args.extend(os(extra));
        args.extend(["--out".into(), out.clone().into()]);
        Case {
            what,
            args,
            needle: needle.into(),
        }
    };
    cases.push(train(
        "train-source --lr 0 was accepted",
        &["--lr", "0"],
        "lr",
    ));
    cases.push(train(
        "train-source --lr -1 was accepted",
        &["--lr=-1"],
        "lr",
    ));
    cases.push(train(
        "train-source --crop 100000x100000 aborted",
        &["--crop", "100000x100000"],
        "crop",
    ));
    let mut eval_nan = os(&[
        "eval",
        "--quiet",
        "--data",
        "synth:target:val:2",
        "--checkpoint",
    ]);
    eval_nan.push(nan.clone().into());
    cases.push(Case {
        what: "NaN weights: eval printed an mIoU",
        args: eval_nan,
        needle: "nan.safetensors".into(),
    });
    let mut predict_nan = os(&["predict", "--quiet", "--images", "synth:target:val:2"]);
    predict_nan.extend([
        "--checkpoint".into(),
        nan.clone().into(),
        "--out".into(),
        out.clone().into(),
    ]);
    cases.push(Case {
        what: "NaN weights: predict wrote pictures",
        args: predict_nan,
        needle: "nan.safetensors".into(),
    });
    let mut adapt_nan = os(&["adapt", "--quiet", "--target", "synth:target:train:4"]);
    adapt_nan.extend([
        "--source".into(),
        nan.clone().into(),
        "--out".into(),
        out.clone().into(),
    ]);
    cases.push(Case {
        what: "NaN weights: adapt said 'lower the generator learning rate'",
        args: adapt_nan,
        needle: "nan.safetensors".into(),
    });
    let mut stats = os(&["data", "stats", "--layout", "cityscapes", "--quiet"]);
    stats.insert(2, huge.clone().into());
    cases.push(Case {
        what: "a 69-byte label PNG claiming 100000x100000 RGBA16: data stats aborted (80 GB)",
        args: stats,
        needle: "a_000000_000019_gtFine_labelIds.png".into(),
    });
    let mut eval_huge = os(&["eval", "--quiet", "--layout", "cityscapes", "--data"]);
    eval_huge.extend([
        huge.clone().into(),
        "--checkpoint".into(),
        src.clone().into(),
    ]);
    cases.push(Case {
        what: "the same label PNG: eval aborted",
        args: eval_huge,
        needle: "a_000000_000019_gtFine_labelIds.png".into(),
    });
    let mut synth_again = os(&["data", "synth", "--count", "2", "--size", "32x16", "--out"]);
    synth_again.push(synth.clone().into());
    cases.push(Case {
        what: "data synth into a non-empty folder mixed two datasets",
        args: synth_again,
        needle: "--force".into(),
    });

    let before = snapshot(d);
    let mut failures = Vec::new();
    for c in &cases {
        let o = Command::new(env!("CARGO_BIN_EXE_sfda"))
            .args(&c.args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let problem = if o.status.signal().is_some() {
            Some(format!("killed by signal {:?}", o.status.signal()))
        } else if o.status.success() {
            Some("exited 0".to_string())
        } else if err.contains("panicked at") {
            Some("panicked".to_string())
        } else if !err.contains(&c.needle) {
            Some(format!("does not name '{}'", c.needle))
        } else {
            None
        };
        match problem {
            Some(p) => failures.push(format!("{}: {p}\n{err}", c.what)),
            None => eprintln!("ok: {} -> {}", c.what, err.lines().last().unwrap_or("")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n---\n"));
    // Nothing that existed before changed; at most lock-free leftovers of
    // the refused runs may be new (none are expected).
    let after: Vec<_> = snapshot(d)
        .into_iter()
        .filter(|(p, _)| before.iter().any(|(q, _)| q == p))
        .collect();
    assert!(after == before, "a failing command changed an earlier file");
}

/// `predict` wrote one picture for `a.png` and `a.jpg`, or for two non-UTF-8
/// names with the same lossy spelling, and said both were written. Now
/// every input gets its own output, named uniquely.
#[test]
fn predict_writes_one_output_per_input_even_when_names_collide() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let img = RgbImage::new(32, 16, vec![90; 32 * 16 * 3]).unwrap();
    let names: [&[u8]; 3] = [b"a.png", b"x\xff.png", b"x\xfe.png"];
    for n in names {
        save_rgb_png(&images.join(std::ffi::OsStr::from_bytes(n)), &img).unwrap();
    }
    // The same stem twice (extensions are read case-insensitively).
    save_rgb_png(&images.join("a.PNG"), &img).unwrap();
    let out = dir.path().join("pred");
    let o = Command::new(env!("CARGO_BIN_EXE_sfda"))
        .args(["predict", "--quiet", "--images"])
        .arg(&images)
        .arg("--checkpoint")
        .arg(&src)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let preds = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .as_bytes()
                .ends_with(b"_pred.png")
        })
        .count();
    assert_eq!(preds, 4, "one prediction per input image");
}
