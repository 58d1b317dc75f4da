//! `sfda experiment` grids: a typo, an unknown method or an impossible value
//! fails before anything trains and names the entry; a resumed grid skips
//! finished cells; the tables come out in every format.

use std::path::{Path, PathBuf};
use std::process::Command;

use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::experiment::{Experiment, ExperimentJob, StudyKind};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{Backend, DeviceSpec};

const GOOD: &str = r#"
seeds = [0, 1]
[benchmark]
size = [64, 32]
train_images = 8
val_images = 2
[source]
checkpoint = "source.safetensors"
[[comparison]]
name = "main"
methods = ["source_only", "minent"]
set = { iterations = 1, batch_size = 4, eval_every = 0 }
[[sweep]]
name = "alpha"
method = "sfda"
param = "weights.alpha"
values = [0.5, 1.0]
set = { iterations = 1, generator_warmup = 0, batch_size = 2, fake_batch_size = 2, fake_size = [32, 64], k = 2 }
[[transfer]]
name = "transfer"
variants = ["bns", "bns+dad"]
set = { iterations = 1, generator_warmup = 0, fake_batch_size = 2, fake_size = [32, 64] }
"#;

fn parse(text: &str) -> Result<Experiment, String> {
    Experiment::from_toml(text, Path::new("grids/g.toml")).map_err(|e| e.to_string())
}

fn expect_err(text: &str, needles: &[&str]) {
    let e = parse(text).expect_err("grid should be refused");
    for n in needles {
        assert!(e.contains(n), "error should name '{n}': {e}");
    }
}

#[test]
fn a_good_grid_expands_into_cells() {
    let exp = parse(GOOD).unwrap();
    // 2 methods + 2 sweep values + 2 variants, × 2 seeds.
    assert_eq!(exp.cells.len(), 12);
    let sweep: Vec<_> = exp
        .cells
        .iter()
        .filter(|c| c.kind == StudyKind::Sweep)
        .collect();
    assert_eq!(sweep[0].cfg.weights.alpha, 0.5);
    assert_eq!(sweep[2].cfg.weights.alpha, 1.0);
    assert!(exp.cells.iter().all(|c| c.cfg.seed == c.seed));
    let ids: std::collections::BTreeSet<_> = exp.cells.iter().map(|c| &c.id).collect();
    assert_eq!(ids.len(), exp.cells.len(), "cell ids must be unique");
    let t = exp
        .cells
        .iter()
        .find(|c| c.id == "transfer--bns--s0")
        .unwrap();
    assert!(t.cfg.ablation.transfer_only && t.cfg.ablation.bns && !t.cfg.ablation.dad);
}

#[test]
fn a_typo_is_refused_naming_the_key() {
    expect_err(&GOOD.replace("methods =", "metods ="), &["metods"]);
    expect_err(
        &GOOD.replace("train_images = 8", "train_imgs = 8"),
        &["train_imgs"],
    );
    // A typo inside a study's config overrides names the study and the key.
    expect_err(
        &GOOD.replace(
            "set = { iterations = 1, batch_size = 4",
            "set = { iteratons = 1, batch_size = 4",
        ),
        &["study 'main'", "iteratons"],
    );
    expect_err(
        &GOOD.replace("param = \"weights.alpha\"", "param = \"weights.alpah\""),
        &["study 'alpha'", "weights.alpah"],
    );
}

#[test]
fn an_unknown_method_is_refused_naming_it() {
    expect_err(
        &GOOD.replace("\"minent\"]", "\"minen\"]"),
        &["study 'main'", "minen", "unknown method", "shot_im"],
    );
    expect_err(
        &GOOD.replace(
            "variants = [\"bns\", \"bns+dad\"]",
            "variants = [\"bns\", \"dad+ipsm\"]",
        ),
        &["study 'transfer'", "dad+ipsm"],
    );
}

#[test]
fn impossible_values_are_refused_naming_the_entry() {
    let k0 = GOOD.replace(
        "param = \"weights.alpha\"\nvalues = [0.5, 1.0]",
        "param = \"k\"\nvalues = [2, 0]",
    );
    expect_err(&k0, &["study 'alpha'", "k=0", "at least 1"]);
    expect_err(
        &GOOD.replace("values = [0.5, 1.0]", "values = [0.5, -1.0]"),
        &["study 'alpha'", "weights.alpha=-1", "non-negative"],
    );
    expect_err(
        &GOOD.replace(
            "set = { iterations = 1, batch_size = 4",
            "set = { iterations = 1, weights = { beta = -0.5 }, batch_size = 4",
        ),
        &["study 'main'", "weights.beta"],
    );
    expect_err(&GOOD.replace("seeds = [0, 1]", "seeds = []"), &["seeds"]);
    // A method's own option is checked by the method, named by key.
    expect_err(
        &GOOD.replace(
            r#"methods = ["source_only", "minent"]"#,
            r#"methods = ["source_only", "cbst"]
method_set.cbst = { method = { name = "cbst", portion = 1.5 } }"#,
        ),
        &["study 'main'", "method.portion", "(0, 1]"],
    );
    expect_err(
        &GOOD.replace(
            r#"methods = ["source_only", "minent"]"#,
            r#"methods = ["source_only", "minent"]
method_set.minent = { method = { name = "minent", entropy_normalise = false } }"#,
        ),
        &["study 'main'", "entropy_normalise", "minent"],
    );
    expect_err(
        &GOOD.replace(
            r#"methods = ["source_only", "minent"]"#,
            r#"methods = ["source_only", "minentt"]"#,
        ),
        &["minentt", "unknown method", "cbst", "sfda_wo_ipsm"],
    );
    expect_err(
        &GOOD.replace("name = \"alpha\"", "name = \"main\""),
        &["study 'main'", "twice"],
    );
}

fn source_checkpoint(dir: &Path) -> PathBuf {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 9);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join("source.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

#[test]
fn a_bad_grid_fails_in_the_cli_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("g.toml");
    std::fs::write(&grid, GOOD.replace("\"minent\"]", "\"minen\"]")).unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_sfda"))
        .args(["experiment", "--quiet", "--grid"])
        .arg(&grid)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("minen") && err.contains("main"), "{err}");
    assert!(
        !out.exists(),
        "nothing may be written before the grid is valid"
    );
}

#[test]
fn a_resumed_grid_skips_finished_cells_and_writes_every_table() {
    let dir = tempfile::tempdir().unwrap();
    source_checkpoint(dir.path());
    let grid = dir.path().join("g.toml");
    // One seed, the two cheapest studies.
    let text = GOOD
        .replace("seeds = [0, 1]", "seeds = [0]")
        .replace("values = [0.5, 1.0]", "values = [1.0]");
    std::fs::write(&grid, &text).unwrap();
    let exp = Experiment::from_file(&grid).unwrap();
    assert_eq!(exp.cells.len(), 5);
    let out = dir.path().join("out");
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let job_only = |max_cells, only: &[&str]| ExperimentJob {
        experiment: exp.clone(),
        out: out.clone(),
        report: Some(dir.path().join("docs/results.md")),
        command: "sfda experiment --grid g.toml --out out".into(),
        progress: false,
        max_cells,
        only: only.iter().map(|s| s.to_string()).collect(),
    };
    let job = |max_cells| job_only(max_cells, &[]);
    let e = job_only(None, &["nope"])
        .run::<TchBackend>(&dev)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no study 'nope'") && e.contains("main"), "{e}");
    let first = job(Some(2)).run::<TchBackend>(&dev).unwrap();
    assert_eq!((first.ran, first.reused, first.complete), (2, 0, false));
    assert!(first.markdown.contains("Partial"));
    let cell0 = out.join("cells/main--source_only--s0.json");
    let stamp = std::fs::metadata(&cell0).unwrap().modified().unwrap();
    let second = job(None).run::<TchBackend>(&dev).unwrap();
    assert_eq!((second.ran, second.reused, second.complete), (3, 2, true));
    assert_eq!(
        std::fs::metadata(&cell0).unwrap().modified().unwrap(),
        stamp,
        "a finished cell was rerun"
    );
    let third = job(None).run::<TchBackend>(&dev).unwrap();
    assert_eq!((third.ran, third.reused), (0, 5));
    for f in [
        "results.md",
        "results.json",
        "main.csv",
        "alpha.csv",
        "alpha.png",
        "transfer.csv",
    ] {
        assert!(out.join("tables").join(f).exists(), "missing tables/{f}");
        assert!(
            dir.path().join("docs/results").join(f).exists(),
            "missing docs/results/{f}"
        );
    }
    let md = std::fs::read_to_string(dir.path().join("docs/results.md")).unwrap();
    assert!(md.starts_with("# Results"));
    assert!(md.contains("sfda experiment --grid g.toml --out out"));
    assert!(md.contains("| Method | SF |") && md.contains("MinEnt") && md.contains(" ± "));
    assert!(md.contains("% of the source model"));
    assert!(md.contains("](results/alpha.png)"));
}

const SHARED: &str = r#"
seeds = [0, 1]
[benchmark]
size = [64, 32]
train_images = 4
val_images = 2
[source]
checkpoint = "source.safetensors"
[[sweep]]
name = "alpha"
method = "sfda_wo_ipsm"
param = "weights.alpha"
values = [0.5, 1.0]
set = { iterations = 1, generator_warmup = 2, batch_size = 2, fake_batch_size = 2, fake_size = [32, 64], eval_every = 0 }
[[transfer]]
name = "transfer"
variants = ["dad"]
set = { iterations = 1, generator_warmup = 2, fake_batch_size = 2, fake_size = [32, 64], eval_every = 0 }
"#;

#[test]
fn cells_with_a_warm_up_share_one_source_estimate() {
    let exp = parse(SHARED).unwrap();
    let plans: Vec<_> = exp.cells.iter().map(|c| c.estimate.clone()).collect();
    // Both seeds of both sweep values start from the estimate of seed 0; the
    // DAD-only transfer has no L_BNS, hence no warm-up and no estimate.
    for (c, p) in exp.cells.iter().zip(&plans) {
        if c.kind == StudyKind::Sweep {
            let p = p.as_ref().expect("a warm-up cell gets the shared estimate");
            assert_eq!((p.seed, p.steps), (0, 2));
        } else {
            assert!(p.is_none(), "{}: no L_BNS, no estimate", c.id);
        }
    }
    let own = parse(&format!("share_source_estimate = false\n{SHARED}")).unwrap();
    assert!(own.cells.iter().all(|c| c.estimate.is_none()));
    assert_ne!(own.cells[0].hash(), exp.cells[0].hash());

    let dir = tempfile::tempdir().unwrap();
    source_checkpoint(dir.path());
    let grid = dir.path().join("g.toml");
    std::fs::write(&grid, SHARED).unwrap();
    let exp = Experiment::from_file(&grid).unwrap();
    let out = dir.path().join("out");
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let s = ExperimentJob {
        experiment: exp,
        out: out.clone(),
        report: None,
        command: "sfda experiment".into(),
        progress: false,
        max_cells: None,
        only: Vec::new(),
    }
    .run::<TchBackend>(&dev)
    .unwrap();
    assert!(s.complete);
    let made: Vec<_> = std::fs::read_dir(out.join("estimates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "one estimate for four cells: {made:?}");
    let m = sfda_core::algo::estimate::read_estimate_meta(&made[0]).unwrap();
    assert!(m.finished && m.steps == 2 && m.seed == 0);
    assert!(m.reference_bns.is_some_and(f32::is_finite));
    // The reference is the mean of the real batches it records one by one.
    let each = &m.reference_bns_batches;
    assert!(!each.is_empty());
    let mean = each.iter().map(|&v| v as f64).sum::<f64>() / each.len() as f64;
    assert!((mean as f32 - m.reference_bns.unwrap()).abs() <= 1e-4 * mean as f32);
    // The cells skipped their own warm-up: no warm-up record in their logs.
    for run in std::fs::read_dir(out.join("runs")).unwrap() {
        let run = run.unwrap().path();
        if !run.to_string_lossy().contains("alpha--") {
            continue;
        }
        let log = std::fs::read_to_string(run.join("train_log.json")).unwrap();
        assert!(
            !log.contains("warmup"),
            "{}: ran its own warm-up",
            run.display()
        );
    }
}
