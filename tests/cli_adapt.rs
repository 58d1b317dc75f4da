//! The `sfda` binary end to end on tiny inputs: an adaptation killed with
//! SIGKILL and resumed ends where an uninterrupted one does, and bad input
//! (a config typo, an unknown backend, a missing checkpoint) fails with a
//! clear message and a non-zero exit code, never a signal.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{Backend, DeviceSpec};

const CONFIG: &str = r#"
iterations = 6
batch_size = 2
fake_batch_size = 2
fake_size = [32, 64]
net_size = "mini"
k = 2
checkpoint_every = 1
seed = 4
"#;

fn sfda() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sfda"))
}

fn source_checkpoint(dir: &Path) -> PathBuf {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 5);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join("source.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

fn adapt_cmd(src: &Path, cfg: &Path, out: &Path) -> Command {
    let mut c = sfda();
    c.args([
        "adapt",
        "--quiet",
        "--target",
        "synth:target:train:8",
        "--target-val",
        "synth:target:val:2",
    ])
    .arg("--source")
    .arg(src)
    .arg("--config")
    .arg(cfg)
    .arg("--out")
    .arg(out);
    c
}

fn report_miou(out: &Path) -> f64 {
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["after"]["metrics"]["miou"].as_f64().unwrap()
}

#[test]
fn sigkilled_adaptation_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, CONFIG).unwrap();

    let straight = dir.path().join("straight");
    let o = adapt_cmd(&src, &cfg, &straight).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Kill a second run with SIGKILL as soon as it has written a state.
    let killed = dir.path().join("killed");
    let mut child = adapt_cmd(&src, &cfg, &killed).spawn().unwrap();
    let t0 = Instant::now();
    while !killed.join("state/state.safetensors").exists() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no state written");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let o = adapt_cmd(&src, &cfg, &killed)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (report_miou(&straight), report_miou(&killed));
    assert!(
        (a - b).abs() < 1e-6,
        "uninterrupted {a} vs killed+resumed {b}"
    );
}

fn fails_with(o: Output, needle: &str) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(o.status.signal(), None, "killed by a signal");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(needle),
        "stderr should mention '{needle}':\n{err}"
    );
}

#[test]
fn config_typo_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "iterations = 2\n[weights]\nalpah = 1.0\n").unwrap();
    fails_with(
        adapt_cmd(&src, &cfg, &dir.path().join("o"))
            .output()
            .unwrap(),
        "alpah",
    );
}

#[test]
fn unknown_backend_lists_the_known_ones() {
    let o = sfda()
        .args([
            "eval",
            "--checkpoint",
            "x.safetensors",
            "--data",
            "synth:target:val:2",
            "--backend",
            "jax",
        ])
        .output()
        .unwrap();
    fails_with(o, "candle, tch");
}

#[test]
fn missing_checkpoint_names_the_file() {
    let o = sfda()
        .args([
            "eval",
            "--checkpoint",
            "no/such/model.safetensors",
            "--data",
            "synth:target:val:2",
            "--quiet",
        ])
        .output()
        .unwrap();
    fails_with(o, "no/such/model");
}

#[test]
fn unavailable_cuda_device_is_a_clear_error() {
    let o = sfda().args(["backends", "--probe"]).output().unwrap();
    assert!(o.status.success());
    let o = sfda()
        .args([
            "eval",
            "--checkpoint",
            "x.safetensors",
            "--data",
            "synth:target:val:2",
            "--device",
            "cuda:7",
        ])
        .output()
        .unwrap();
    fails_with(o, "cuda:7");
}
