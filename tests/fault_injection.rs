//! Crash consistency of the three commands that write a run (`adapt`,
//! `estimate-source`, `train-source`), by fault injection rather than
//! timed kills: each run is repeated with a fault at each write boundary it
//! crosses (every atomic write: before its temporary file, after half of
//! the bytes, before the rename, after it; state, logs, checkpoint, sidecar,
//! pictures, report), each time leaving the files as a kill there would.
//! A resume from every such folder must give bit-identical adapted weights
//! and the same report as the uninterrupted run, or refuse with a message
//! naming the file (`train-source` cannot resume: after every fault each
//! file it left loads whole, and the next run, refused or forced, gives the
//! same weights). A stop request (what Ctrl-C sends) mid-run must save a
//! state that resumes bit-identically too.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use sfda_backend_tch::TchBackend;
use sfda_core::algo::estimate::{read_estimate_meta, ESTIMATE_FILE};
use sfda_core::algo::{build_run, load_tensors, run_adaptation, AdaptConfig, AdaptInputs};
use sfda_core::algo::{estimate_source, AdaptSummary, EstimateInputs, EstimateSummary, NetSize};
use sfda_core::atomic::fault;
use sfda_core::checkpoint;
use sfda_core::data::{ClassSet, DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
use sfda_core::run_dir::WriteMode;
use sfda_core::train::{train_source, TrainSourceConfig, TrainSourceSummary};
use sfda_core::{interrupt, Backend, DeviceSpec, Error};

/// The stop flag is per process: the tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const W: u32 = 32;
const H: u32 = 16;

fn config() -> AdaptConfig {
    AdaptConfig {
        iterations: 2,
        generator_warmup: 1,
        batch_size: 2,
        fake_batch_size: 2,
        fake_size: [16, 32],
        target_size: None,
        net_size: NetSize::Mini,
        k: 2,
        checkpoint_every: 1,
        seed: 9,
        ..AdaptConfig::default()
    }
}

fn source_checkpoint(dir: &Path) -> PathBuf {
    common::random_source_checkpoint(dir, 21)
}

fn loader(split: Split, count: usize, train: bool) -> DataLoader {
    domain_loader(Domain::Target, split, count, train)
}

fn domain_loader(domain: Domain, split: Split, count: usize, train: bool) -> DataLoader {
    let spec = SynthSpec::new(domain, split, count).with_size(W, H);
    let lc = if train {
        let mut lc = LoaderConfig::train(2, 5, None);
        lc.labels = domain == Domain::Source;
        lc.prefetch = 0;
        lc
    } else {
        LoaderConfig::eval(2)
    };
    DataLoader::new(Arc::new(SynthDataset::new(spec)), lc).unwrap()
}

fn adapt(out: &Path, src: &Path, mode: WriteMode) -> sfda_core::Result<AdaptSummary> {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let mut run = build_run::<TchBackend>(&config(), src, &dev, None)?;
    let (target, val) = (loader(Split::Train, 4, true), loader(Split::Val, 2, false));
    run_adaptation(
        &mut run,
        &AdaptInputs {
            source: src,
            target: Some(&target),
            val: Some(&val),
            class_set: ClassSet::Cityscapes19,
            out,
            mode,
            progress: false,
            stop_after: None,
            evaluate_source: false,
        },
    )
}

/// Every tensor of the adapted checkpoint, as exact bit patterns.
fn weights(out: &Path) -> Vec<(String, Vec<u32>)> {
    bits(&out.join("adapted.safetensors"))
}

/// Every tensor of a safetensors file, as exact bit patterns.
fn bits(file: &Path) -> Vec<(String, Vec<u32>)> {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    load_tensors::<TchBackend>(file, &dev)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

fn miou(s: &AdaptSummary) -> f64 {
    s.report.after.as_ref().unwrap().metrics.miou
}

fn temp_files(dir: &Path) -> Vec<String> {
    [dir.to_path_buf(), dir.join("state")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// Runs `run` with a fault armed at write boundary `k`; it must fail with
/// the injected fault, which is returned.
fn with_fault_at<T>(k: u64, run: impl FnOnce() -> sfda_core::Result<T>) -> Error {
    fault::arm(k);
    let e = run().err().expect("the armed fault must fail the run");
    fault::disarm();
    assert!(e.to_string().contains("injected fault"), "fault {k}: {e}");
    e
}

// One test: the fault counter and the stop flag are per thread / per
// process, and the cases run one after the other.
#[test]
fn faults_at_every_write_boundary_and_a_stop_request_resume_bit_identically() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let straight_dir = dir.path().join("straight");
    let t0 = std::time::Instant::now();
    fault::count();
    let straight = adapt(&straight_dir, &src, WriteMode::New).unwrap();
    let boundaries = fault::disarm();
    eprintln!("one run: {:.2} s", t0.elapsed().as_secs_f64());
    assert!(straight.finished);
    let want = weights(&straight_dir);
    // 3 steps, each with its logs and its state, then the checkpoint, its
    // sidecar, three pictures and the report: dozens of boundaries.
    assert!(boundaries >= 40, "only {boundaries} write boundaries");

    let (mut resumed, mut refused) = (0, 0);
    for k in 0..boundaries {
        let out = dir.path().join(format!("fault-{k}"));
        let e = with_fault_at(k, || adapt(&out, &src, WriteMode::New));
        // At most the one temporary file of the interrupted write is left.
        assert!(
            temp_files(&out).len() <= 1,
            "fault {k}: {:?}",
            temp_files(&out)
        );
        match adapt(&out, &src, WriteMode::Resume) {
            Ok(s) => {
                assert!(s.finished, "fault {k}: resume did not finish");
                assert_eq!(weights(&out), want, "fault {k} ({e}): weights differ");
                assert_eq!(miou(&s), miou(&straight), "fault {k}: mIoU differs");
                resumed += 1;
            }
            Err(r) => {
                let msg = r.to_string();
                assert!(msg.contains(&out.display().to_string()), "fault {k}: {msg}");
                refused += 1;
            }
        }
    }
    eprintln!("{boundaries} fault points: {resumed} resumed bit-identically, {refused} refused");
    assert_eq!(resumed + refused, boundaries);

    // A stop request (Ctrl-C in the binary) after the first warm-up step.
    let out = dir.path().join("interrupted");
    fault::count();
    interrupt::request();
    let e = adapt(&out, &src, WriteMode::New).expect_err("a stop request must stop the run");
    interrupt::clear();
    let Error::Interrupted { what, resume } = &e else {
        panic!("not an interruption: {e}");
    };
    assert_eq!(what, "warm-up step 1 of 1");
    assert!(resume.contains("--resume"), "{resume}");
    assert!(out.join("state/state.safetensors").exists());
    assert!(!out.join("report.json").exists());
    let s = adapt(&out, &src, WriteMode::Resume).unwrap();
    assert_eq!(weights(&out), want, "stopped and resumed: weights differ");
    assert_eq!(miou(&s), miou(&straight));
    // The finished folder is now refused to a new run, and --force replaces it.
    let e = adapt(&out, &src, WriteMode::New).unwrap_err().to_string();
    assert!(e.contains("report.json") && e.contains("--force"), "{e}");
    adapt(&out, &src, WriteMode::Force).unwrap();
    assert_eq!(weights(&out), want);
}

fn estimate(out: &Path, src: &Path, resume: bool) -> sfda_core::Result<EstimateSummary> {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let inputs = EstimateInputs {
        source: src,
        out,
        steps: 3,
        resume,
        overwrite: false,
        progress: false,
        reference: None,
    };
    estimate_source::<TchBackend>(&config(), &inputs, &dev)
}

/// What a finished estimate is, without its wall time: the tensors' bits,
/// the header, both logs.
fn estimate_result(out: &Path) -> (Vec<(String, Vec<u32>)>, String, String, String) {
    let mut meta = read_estimate_meta(out).unwrap();
    meta.seconds = 0.0;
    let read = |f: &str| std::fs::read_to_string(out.join(f)).unwrap();
    (
        bits(&out.join(ESTIMATE_FILE)),
        serde_json::to_string(&meta).unwrap(),
        read("train_log.json"),
        read("bns_layers.json"),
    )
}

#[test]
fn an_estimate_resumes_bit_identically_after_a_fault_at_every_write_boundary() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let src = source_checkpoint(dir.path());
    let straight_dir = dir.path().join("straight");
    fault::count();
    estimate(&straight_dir, &src, false).unwrap();
    let boundaries = fault::disarm();
    let want = estimate_result(&straight_dir);
    // 3 steps with their logs and checkpoints, then the final estimate, two
    // pictures and the report.
    assert!(boundaries >= 24, "only {boundaries} write boundaries");
    eprintln!("estimate-source: {boundaries} fault points");
    for k in 0..boundaries {
        let out = dir.path().join(format!("fault-{k}"));
        let e = with_fault_at(k, || estimate(&out, &src, false));
        assert!(
            temp_files(&out).len() <= 1,
            "fault {k}: {:?}",
            temp_files(&out)
        );
        match estimate(&out, &src, true) {
            Ok(s) => {
                assert!(s.meta.finished, "fault {k}");
                assert!(
                    estimate_result(&out) == want,
                    "fault {k} ({e}): estimate differs"
                );
                for f in [
                    "fakes.png",
                    "loss_curves.png",
                    "bns_layers.png",
                    "report.md",
                ] {
                    assert!(
                        out.join(f).exists(),
                        "fault {k}: {f} missing after the resume"
                    );
                }
            }
            Err(r) => panic!("fault {k} ({e}): the resume was refused: {r}"),
        }
    }

    // A stop request after the first step saves the estimate so far.
    let out = dir.path().join("interrupted");
    interrupt::request();
    let e = estimate(&out, &src, false).expect_err("a stop request must stop the estimate");
    interrupt::clear();
    let Error::Interrupted { what, resume } = &e else {
        panic!("not an interruption: {e}");
    };
    assert_eq!(what, "step 1 of 3");
    assert!(resume.contains("--resume"), "{resume}");
    assert!(!read_estimate_meta(&out).unwrap().finished);
    estimate(&out, &src, true).unwrap();
    assert!(
        estimate_result(&out) == want,
        "stopped and resumed: estimate differs"
    );
}

fn train(out: &Path, mode: WriteMode) -> sfda_core::Result<TrainSourceSummary> {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let cfg = TrainSourceConfig {
        iterations: 4,
        val_every: 2,
        seed: 4,
        progress: false,
        write_mode: mode,
        ..TrainSourceConfig::default()
    };
    let train = domain_loader(Domain::Source, Split::Train, 4, true);
    let val = domain_loader(Domain::Source, Split::Val, 2, false);
    train_source::<TchBackend>(&cfg, &train, Some(&val), &dev, out)
}

#[test]
fn train_source_leaves_only_whole_files_after_a_fault_at_every_write_boundary() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let straight_dir = dir.path().join("straight");
    fault::count();
    train(&straight_dir, WriteMode::New).unwrap();
    let boundaries = fault::disarm();
    let want = (
        bits(&straight_dir.join("best.safetensors")),
        bits(&straight_dir.join("last.safetensors")),
    );
    assert!(boundaries >= 12, "only {boundaries} write boundaries");
    eprintln!("train-source: {boundaries} fault points");
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    for k in 0..boundaries {
        let out = dir.path().join(format!("fault-{k}"));
        with_fault_at(k, || train(&out, WriteMode::New));
        // Every checkpoint left behind loads whole, with its sidecar.
        for name in ["best", "last"] {
            let f = out.join(format!("{name}.safetensors"));
            if f.exists() {
                load_tensors::<TchBackend>(&f, &dev).unwrap();
                let meta = checkpoint::read_meta(&f)
                    .unwrap_or_else(|e| panic!("fault {k}: {name} sidecar: {e}"));
                assert_eq!(meta.arch, "deeplabv3-mini", "fault {k}");
            }
        }
        // The next run either starts (nothing finished is there) or is
        // refused naming the folder and --force; forced, it gives the same
        // weights as the uninterrupted run.
        let again = match train(&out, WriteMode::New) {
            Ok(_) => true,
            Err(r) => {
                let msg = r.to_string();
                assert!(
                    msg.contains(&out.display().to_string()) && msg.contains("--force"),
                    "fault {k}: {msg}"
                );
                train(&out, WriteMode::Force).unwrap();
                false
            }
        };
        let got = (
            bits(&out.join("best.safetensors")),
            bits(&out.join("last.safetensors")),
        );
        assert!(got == want, "fault {k} (new run {again}): weights differ");
        // (The temporary file of the faulted write stays: its writer, this
        // process, is alive; a killed writer's is removed, atomic.rs tests.)
        assert!(
            temp_files(&out).len() <= 1,
            "fault {k}: {:?}",
            temp_files(&out)
        );
    }
}
