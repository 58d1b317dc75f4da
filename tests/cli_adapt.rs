//! The `sfda` binary end to end on tiny inputs: an adaptation killed with
//! SIGKILL and resumed ends where an uninterrupted one does, and bad input
//! (a config typo, an unknown backend, a missing checkpoint) fails with a
//! clear message and a non-zero exit code, never a signal.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sfda_backend_tch::TchBackend;
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

/// The binary with a fixed thread count: these tests compare runs of
/// separate processes, which libtorch makes bit-identical only at one
/// thread count, while the default sizes each process's pool to the cores
/// free when it starts (and the other tests of this file keep cores busy).
fn sfda() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sfda"));
    c.env("SFDA_THREADS", "2");
    c
}

fn source_checkpoint(dir: &Path) -> PathBuf {
    common::random_source_checkpoint(dir, 5)
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

/// Every tensor of a checkpoint, as exact bit patterns.
fn weights(path: &Path) -> Vec<(String, Vec<u32>)> {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    sfda_core::algo::load_tensors::<TchBackend>(path, &dev)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

#[test]
fn sigint_saves_the_state_and_the_resume_is_bit_identical() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let cfg = dir.path().join("tiny.toml");
    // Long enough that the signal lands mid-run (each step is a few ms).
    std::fs::write(&cfg, CONFIG.replace("iterations = 6", "iterations = 40")).unwrap();
    let straight = dir.path().join("straight");
    let o = adapt_cmd(&src, &cfg, &straight).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Ctrl-C as soon as the first step is logged.
    let stopped = dir.path().join("stopped");
    let child = adapt_cmd(&src, &cfg, &stopped)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while !stopped.join("train_log.json").exists() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no step logged");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: kill(2) on the pid of a child we own and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.signal(), None, "killed by a signal: {err}");
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted after") && err.contains("--resume"),
        "{err}"
    );
    assert!(stopped.join("state/state.safetensors").exists());
    assert!(!stopped.join("report.json").exists());
    assert!(
        !stopped.join(".sfda-lock").exists(),
        "the lock must be released"
    );

    let o = adapt_cmd(&src, &cfg, &stopped)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        weights(&stopped.join("adapted.safetensors")),
        weights(&straight.join("adapted.safetensors"))
    );
    assert_eq!(report_miou(&stopped), report_miou(&straight));
}

#[test]
fn finished_runs_are_not_overwritten_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, CONFIG.replace("iterations = 6", "iterations = 2")).unwrap();
    let out = dir.path().join("run");
    let o = adapt_cmd(&src, &cfg, &out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read(out.join("report.json")).unwrap();
    let ckpt = std::fs::read(out.join("adapted.safetensors")).unwrap();
    // A second run, and one stopped early, into the same folder: refused,
    // and nothing of the first run changed.
    for extra in [&[][..], &["--stop-after", "1"][..]] {
        let o = adapt_cmd(&src, &cfg, &out).args(extra).output().unwrap();
        fails_with(o, "pass --force to replace them");
        assert_eq!(std::fs::read(out.join("report.json")).unwrap(), report);
        assert_eq!(
            std::fs::read(out.join("adapted.safetensors")).unwrap(),
            ckpt
        );
    }
    // A folder another live process holds is refused naming it.
    std::fs::write(
        out.join(".sfda-lock"),
        r#"{"pid":1,"start_ticks":null,"command":"adapt","since":0}"#,
    )
    .unwrap();
    let o = adapt_cmd(&src, &cfg, &out)
        .arg("--resume")
        .output()
        .unwrap();
    fails_with(o, "in use by `sfda adapt` (pid 1)");
    std::fs::remove_file(out.join(".sfda-lock")).unwrap();
    // --force replaces the run: no file of the old one is left beside it.
    std::fs::write(out.join("my-notes.txt"), "kept").unwrap();
    let o = adapt_cmd(&src, &cfg, &out)
        .args(["--force", "--stop-after", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!out.join("report.json").exists() && !out.join("adapted.safetensors").exists());
    assert!(out.join("state/state.safetensors").exists() && out.join("my-notes.txt").exists());

    // train-source into a folder holding a trained model.
    let train = dir.path().join("src-model");
    std::fs::create_dir_all(&train).unwrap();
    std::fs::copy(&src, train.join("best.safetensors")).unwrap();
    let o = sfda()
        .args(["train-source", "--quiet", "--data", "synth:source:train:4"])
        .args(["--iterations", "1", "--batch-size", "2", "--val-every", "0"])
        .arg("--out")
        .arg(&train)
        .output()
        .unwrap();
    fails_with(o, "best.safetensors");
    assert_eq!(
        std::fs::read(train.join("best.safetensors")).unwrap(),
        std::fs::read(&src).unwrap()
    );

    // data synth of a subset the folder already holds.
    let data = dir.path().join("data");
    let synth = |extra: &[&str]| {
        sfda()
            .args(["data", "synth", "--quiet", "--size", "32x16"])
            .args(extra)
            .arg("--out")
            .arg(&data)
            .output()
            .unwrap()
    };
    assert!(synth(&[]).status.success());
    fails_with(synth(&["--count", "1"]), "--force");
    assert!(
        synth(&["--split", "val"]).status.success(),
        "another split is fine"
    );
    assert!(synth(&["--count", "1", "--force"]).status.success());
}

#[test]
fn config_type_errors_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "iterations = 2\n[student_optim]\nlr = \"fast\"\n").unwrap();
    let o = adapt_cmd(&src, &cfg, &dir.path().join("o"))
        .output()
        .unwrap();
    fails_with(o, "'student_optim.lr'");
    let o = adapt_cmd(&src, &cfg, &dir.path().join("o"))
        .output()
        .unwrap();
    fails_with(o, "line 3");
}

#[test]
fn a_resume_goes_on_with_the_thread_count_the_run_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, CONFIG.replace("iterations = 6", "iterations = 2")).unwrap();
    let out = dir.path().join("run");
    // Started with one thread, stopped after a step ...
    let o = adapt_cmd(&src, &cfg, &out)
        .env("SFDA_THREADS", "1")
        .args(["--stop-after", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // ... and resumed under the default policy, which on its own would
    // size the pool to the free cores.
    let o = adapt_cmd(&src, &cfg, &out)
        .env_remove("SFDA_THREADS")
        .env_remove("OMP_NUM_THREADS")
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v["backend"], "tch",
        "the default backend records its threads"
    );
    assert_eq!(v["cpu_threads"], 1, "{text}");
}
