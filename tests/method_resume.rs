//! Every built-in adaptation method, stopped after two iterations and
//! resumed, ends with bit-identical adapted weights to the same run done in
//! one go (the driver's state and each method's own tensors and scalars:
//! SFDA's generator, discriminator, caches and RNG, CBST's thresholds,
//! DT-ST's EMA teacher). DT-ST and HCL also move what they say they move.

mod common;

use std::path::Path;
use std::sync::Arc;

use sfda_backend_tch::TchBackend as B;
use sfda_core::algo::{
    build_run, describe_method, load_tensors, run_adaptation, AdaptConfig, AdaptInputs,
    MethodConfig, NetSize,
};
use sfda_core::data::{ClassSet, DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec};
use sfda_core::registry::method_names;
use sfda_core::run_dir::WriteMode;
use sfda_core::{Backend, DeviceSpec};

const BUILT_IN: [&str; 8] = [
    "source_only",
    "minent",
    "maxsquare",
    "tent",
    "shot_im",
    "cbst",
    "sfda",
    "dt_st",
];

fn config(method: &str) -> AdaptConfig {
    let mut method = MethodConfig::named(method);
    if method.name == "cbst" {
        // Thresholds estimated at iterations 0 and 3: the resumed run (from
        // iteration 2) must take the round's thresholds from the state.
        method.options.insert("round".into(), 3i64.into());
        method
            .options
            .insert("threshold_batches".into(), 1i64.into());
    }
    if method.name == "dt_st" {
        method.options.insert("threshold".into(), 0.3.into());
    }
    let mut c = AdaptConfig {
        method,
        iterations: 4,
        batch_size: 2,
        fake_batch_size: 2,
        fake_size: [32, 64],
        net_size: NetSize::Mini,
        k: 2,
        seed: 5,
        generator_warmup: 1,
        checkpoint_every: 0,
        diagnostics_every: 0,
        ..AdaptConfig::default()
    };
    c.student_optim.lr = 0.01;
    c
}

fn loader() -> DataLoader {
    let spec = SynthSpec::new(Domain::Target, Split::Train, 8).with_size(64, 32);
    let mut lc = LoaderConfig::train(2, 5, None);
    lc.labels = false;
    lc.prefetch = 0;
    DataLoader::new(Arc::new(SynthDataset::new(spec)), lc).unwrap()
}

/// Runs `method` into `out` (stopping after `stop_after` iterations of this
/// invocation, or resuming) and returns the adapted weights' bits, if the
/// run finished.
fn run(
    method: &str,
    src: &Path,
    out: &Path,
    stop_after: Option<usize>,
    resume: bool,
) -> Option<Vec<(String, Vec<u32>)>> {
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let mut run = build_run::<B>(&config(method), src, &dev, None).unwrap();
    let target = loader();
    let summary = run_adaptation(
        &mut run,
        &AdaptInputs {
            source: src,
            target: Some(&target),
            val: None,
            class_set: ClassSet::Cityscapes19,
            out,
            mode: if resume {
                WriteMode::Resume
            } else {
                WriteMode::New
            },
            progress: false,
            stop_after,
            evaluate_source: false,
        },
    )
    .unwrap_or_else(|e| panic!("{method}: {e}"));
    summary.finished.then(|| {
        load_tensors::<B>(&summary.checkpoint, &dev)
            .unwrap()
            .into_iter()
            .map(|(k, t)| (k, t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()))
            .collect()
    })
}

#[test]
fn every_built_in_method_resumes_bit_identically() {
    let mut registered = method_names();
    registered.sort();
    let mut want = BUILT_IN.to_vec();
    want.sort();
    assert_eq!(registered, want, "a built-in method without a resume check");
    let dir = tempfile::tempdir().unwrap();
    let src = common::random_source_checkpoint(dir.path(), 9);
    let original = load_tensors::<B>(&src, &B::device(DeviceSpec::Cpu).unwrap()).unwrap();
    for method in BUILT_IN {
        let straight = run(
            method,
            &src,
            &dir.path().join(format!("{method}-a")),
            None,
            false,
        )
        .expect("finished");
        let b = dir.path().join(format!("{method}-b"));
        let steps = describe_method(&config(method)).unwrap();
        if steps.student_steps + steps.warmup_steps > 2 {
            assert!(
                run(method, &src, &b, Some(2), false).is_none(),
                "{method} finished early"
            );
        }
        let resumed = run(method, &src, &b, None, true).expect("finished");
        assert_eq!(straight.len(), resumed.len(), "{method}");
        for ((ka, va), (kb, vb)) in straight.iter().zip(&resumed) {
            assert_eq!(ka, kb);
            assert!(va == vb, "{method}: {ka} differs after resuming");
        }
        // Every method but source-only changes the model.
        let moved = straight.iter().any(|(k, v)| {
            original[k]
                .to_vec()
                .unwrap()
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>()
                != *v
        });
        assert_eq!(moved, method != "source_only", "{method}");
    }
}
