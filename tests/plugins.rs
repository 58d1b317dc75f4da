//! Plugins end to end through the `sfda` binary: the example cdylib plugins
//! (`plugins/attention-transfer`, `plugins/unet`) are listed by `sfda
//! plugins`, and a short adaptation runs with the plugin loss and with the
//! plugin network on both backends; a plugin declaring another ABI (or
//! compiler, sfda-core version, backends, build), a shared library that is
//! not a plugin, a file that is not a library, a missing file and a loss name
//! nobody registered each fail with a non-zero exit code and a message naming
//! the cause, never a signal.
//!
//! The plugin libraries are dev-dependencies of the `sfda` package
//! (`crate-type = ["cdylib", "rlib"]`), so `cargo test` builds them next to
//! this test's executable, in the same build as the binary under test (a
//! plugin only loads into an sfda built with the same dependency features).
//! A cdylib's file name carries no build hash: if another cargo command with
//! other features (e.g. `cargo test -p sfda-plugin-unet`) rewrote it since,
//! the loader refuses it ("different build") — `cargo clean -p
//! sfda-plugin-unet` (or `touch` its sources) and run again.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::checkpoint::{self, CheckpointMeta};
use sfda_core::net::build_seg_model;
use sfda_core::nn::VarStore;
use sfda_core::{grad, Backend, DeviceSpec, ForwardOpts, SeedRng, Tensor};

/// A few iterations on tiny batches: seconds per run.
const CONFIG: &str = r#"
iterations = 2
batch_size = 2
fake_batch_size = 2
fake_size = [32, 64]
target_size = [64, 32]
net_size = "mini"
k = 2
checkpoint_every = 0
seed = 3
"#;

/// The binary with a fixed thread count: the HCL test compares runs of
/// separate processes, which libtorch makes bit-identical only at one
/// thread count, while the default sizes each process's pool to the cores
/// free when it starts (the other tests of this file keep cores busy).
fn sfda() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sfda"));
    c.env("SFDA_THREADS", "2");
    c
}

/// A library cargo built next to this test's executable (`target/<profile>/deps`).
fn built_library(crate_name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let file = format!(
        "{}{crate_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = deps.join(&file);
    assert!(
        path.exists(),
        "{} is missing: it is built by `cargo test` as a dev-dependency of sfda",
        path.display()
    );
    path
}

fn unet_plugin() -> PathBuf {
    built_library("sfda_plugin_unet")
}

fn attention_plugin() -> PathBuf {
    built_library("sfda_plugin_attention_transfer")
}

fn hcl_plugin() -> PathBuf {
    built_library("sfda_plugin_hcl")
}

fn bad_plugin() -> PathBuf {
    built_library("sfda_plugin_fixture_bad")
}

fn succeeds(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails_with(o: &Output, needles: &[&str]) {
    assert_eq!(o.status.signal(), None, "killed by a signal");
    assert!(!o.status.success(), "should have failed");
    let err = String::from_utf8_lossy(&o.stderr);
    for n in needles {
        assert!(err.contains(n), "stderr should mention '{n}':\n{err}");
    }
}

fn deeplab_source(dir: &Path) -> PathBuf {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<TchBackend>::new(dev, 5);
    let model = build_seg_model::<TchBackend>("deeplabv3-mini", 19, &vs.root()).unwrap();
    let path = dir.join("source.safetensors");
    let meta = CheckpointMeta::for_model(model.as_ref()).with_class_set("cityscapes19");
    checkpoint::save(&path, model.as_ref(), &meta).unwrap();
    path
}

fn adapt(backend: &str, source: &Path, config: &Path, out: &Path) -> Command {
    let mut c = sfda();
    c.args(["adapt", "--quiet", "--backend", backend])
        .args(["--target", "synth:target:train:4"])
        .args(["--target-val", "synth:target:val:2"])
        .arg("--source")
        .arg(source)
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out);
    c
}

/// The terms recorded in the adaptation's training log.
fn logged_terms(out: &Path) -> String {
    std::fs::read_to_string(out.join("train_log.json")).unwrap()
}

#[test]
fn sfda_plugins_lists_plugin_components_with_their_origin() {
    let (unet, at) = (unet_plugin(), attention_plugin());
    let o = sfda()
        .arg("plugins")
        .arg("--plugin")
        .arg(&unet)
        .arg("--plugin")
        .arg(&at)
        .output()
        .unwrap();
    let table = succeeds(&o);
    let line = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
            .to_string()
    };
    let unet_row = line("unet-mini");
    assert!(
        unet_row.contains("arch") && unet_row.contains("libsfda_plugin_unet"),
        "{unet_row}"
    );
    assert!(line("unet-small").contains("tch,candle"));
    let at_row = line("attention_transfer");
    assert!(
        at_row.contains("loss") && at_row.contains(env!("CARGO_PKG_VERSION")),
        "{at_row}"
    );
    assert!(line("mae").contains("built-in"));
    let o = sfda()
        .arg("plugins")
        .arg("--plugin")
        .arg(hcl_plugin())
        .output()
        .unwrap();
    let table = succeeds(&o);
    let row = |name: &str| {
        table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no row for {name}:\n{table}"))
            .to_string()
    };
    let hcl = row("hcl");
    assert!(
        hcl.contains("method") && hcl.contains("libsfda_plugin_hcl") && hcl.contains("tch,candle"),
        "{hcl}"
    );
    for m in ["sfda", "minent", "dt_st", "source_only"] {
        let r = row(m);
        assert!(r.contains("method") && r.contains("built-in"), "{r}");
    }
    assert!(line("entropy").contains("ranker"));
    assert!(line("candle").contains("backend"));
    assert!(line("deeplabv3-mini").contains("built-in"));
}

/// The plugin loss, selected by name with its weights and options, in a
/// short adaptation; the library comes from the config's `plugins` key on
/// tch and from `--plugin` on candle.
#[test]
fn adaptation_with_the_plugin_loss_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let src = deeplab_source(dir.path());
    let at = attention_plugin();
    let losses = r#"
[[extra_losses]]
name = "attention_transfer"
generator_weight = -0.5
student_weight = 0.5
options = { p = 2.0, pool = [4, 8] }
"#;
    let with_key = dir.path().join("with_key.toml");
    let plugins_key = format!("plugins = [{:?}]\n", at.display().to_string());
    std::fs::write(&with_key, format!("{plugins_key}{CONFIG}{losses}")).unwrap();
    let out = dir.path().join("tch");
    succeeds(&adapt("tch", &src, &with_key, &out).output().unwrap());
    assert!(logged_terms(&out).contains("attention_transfer"));
    assert!(out.join("adapted.safetensors").exists());

    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, format!("{CONFIG}{losses}")).unwrap();
    let out = dir.path().join("candle");
    let mut c = adapt("candle", &src, &plain, &out);
    succeeds(&c.arg("--plugin").arg(&at).output().unwrap());
    assert!(logged_terms(&out).contains("attention_transfer"));
}

/// The adapted tensors of a run folder, as bits.
fn adapted_bits(out: &Path) -> Vec<(String, Vec<u32>)> {
    let dev = TchBackend::device(DeviceSpec::Cpu).unwrap();
    sfda_core::algo::load_tensors::<TchBackend>(&out.join("adapted.safetensors"), &dev)
        .unwrap()
        .into_iter()
        .map(|(k, t)| (k, t.to_vec().unwrap().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

/// The plugin *method* (HCL, `plugins/hcl`), selected by name with its
/// options: a short adaptation on tch and on candle through `sfda adapt
/// --plugin`, a run stopped and resumed on tch that ends bit-identical to
/// the uninterrupted one, a typo in its options named, and an unknown
/// method without the plugin refused by name.
#[test]
fn adaptation_with_the_plugin_method_on_both_backends_resumes_bit_identically() {
    let dir = tempfile::tempdir().unwrap();
    let src = deeplab_source(dir.path());
    let hcl = hcl_plugin();
    let method = "[method]\nname = \"hcl\"\nhistory_every = 2\n";
    let cfg = dir.path().join("hcl.toml");
    std::fs::write(
        &cfg,
        format!("{CONFIG}iterations = 4\n{method}").replace("iterations = 2\n", ""),
    )
    .unwrap();
    for backend in ["tch", "candle"] {
        let out = dir.path().join(backend);
        let mut c = adapt(backend, &src, &cfg, &out);
        succeeds(&c.arg("--plugin").arg(&hcl).output().unwrap());
        let log = logged_terms(&out);
        assert!(
            log.contains("s_hccd") && log.contains("s_hcid"),
            "{backend}: {log}"
        );
        let report = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(report.contains("HCL (plugin)"), "{report}");
    }
    let b = dir.path().join("stopped");
    let mut c = adapt("tch", &src, &cfg, &b);
    succeeds(
        &c.arg("--plugin")
            .arg(&hcl)
            .args(["--stop-after", "3"])
            .output()
            .unwrap(),
    );
    assert!(!b.join("adapted.safetensors").exists());
    let mut c = adapt("tch", &src, &cfg, &b);
    succeeds(
        &c.arg("--plugin")
            .arg(&hcl)
            .arg("--resume")
            .output()
            .unwrap(),
    );
    assert!(
        adapted_bits(&dir.path().join("tch")) == adapted_bits(&b),
        "the resumed HCL run differs from the uninterrupted one"
    );

    let typo = dir.path().join("typo.toml");
    std::fs::write(
        &typo,
        format!("{CONFIG}[method]\nname = \"hcl\"\nhistory_evry = 2\n"),
    )
    .unwrap();
    let mut c = adapt("tch", &src, &typo, &dir.path().join("typo"));
    fails_with(
        &c.arg("--plugin").arg(&hcl).output().unwrap(),
        &["history_evry", "hcl"],
    );
    let o = adapt("tch", &src, &cfg, &dir.path().join("no_plugin"))
        .output()
        .unwrap();
    fails_with(&o, &["hcl", "method", "--plugin"]);
}

/// The plugin method by name in an experiment grid, beside a built-in.
#[test]
fn the_plugin_method_runs_in_an_experiment_grid_by_name() {
    let dir = tempfile::tempdir().unwrap();
    deeplab_source(dir.path());
    let grid = dir.path().join("g.toml");
    std::fs::write(
        &grid,
        r#"
seeds = [0]
[benchmark]
size = [64, 32]
train_images = 4
val_images = 2
[source]
checkpoint = "source.safetensors"
[[comparison]]
name = "main"
methods = ["minent", "hcl"]
set = { iterations = 2, batch_size = 2, eval_every = 0, checkpoint_every = 0 }
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let experiment = |plugin: bool| {
        let mut c = sfda();
        c.args(["experiment", "--quiet", "--grid"])
            .arg(&grid)
            .arg("--out")
            .arg(&out);
        if plugin {
            c.arg("--plugin").arg(hcl_plugin());
        }
        c.output().unwrap()
    };
    fails_with(&experiment(false), &["hcl", "unknown method"]);
    let md = succeeds(&experiment(true));
    assert!(md.contains("HCL (plugin)") && md.contains("MinEnt"), "{md}");
    assert!(out.join("cells/main--hcl--s0.json").exists());
}

/// A source model of the plugin network trained by `sfda train-source`, then
/// adapted on tch and on candle.
#[test]
fn adaptation_of_the_plugin_network_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let unet = unet_plugin();
    let src_dir = dir.path().join("source");
    let o = sfda()
        .args(["train-source", "--quiet", "--arch", "unet-mini"])
        .args(["--data", "synth:source:train:2", "--crop", "64x32"])
        .args(["--iterations", "2", "--batch-size", "2", "--val-every", "0"])
        .arg("--out")
        .arg(&src_dir)
        .arg("--plugin")
        .arg(&unet)
        .output()
        .unwrap();
    succeeds(&o);
    let src = src_dir.join("last.safetensors");
    assert!(src.exists());

    let cfg = dir.path().join("tiny.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    for backend in ["tch", "candle"] {
        let out = dir.path().join(backend);
        let mut c = adapt(backend, &src, &cfg, &out);
        succeeds(&c.arg("--plugin").arg(&unet).output().unwrap());
        let meta = checkpoint::read_meta(&out.join("adapted.safetensors")).unwrap();
        assert_eq!(meta.arch, "unet-mini", "{backend}");
    }

    // Without the plugin, the checkpoint's network is unknown, by name.
    let o = adapt("tch", &src, &cfg, &dir.path().join("no_plugin"))
        .output()
        .unwrap();
    fails_with(&o, &["unet-mini", "deeplabv3-mini", "--plugin"]);
}

/// Loss gradients w.r.t. every trainable variable of the plugin's U-Net,
/// concatenated.
fn unet_gradients<B: Backend>() -> Vec<f32> {
    let dev = B::device(DeviceSpec::Cpu).unwrap();
    let vs = VarStore::<B>::new(dev.clone(), 11);
    let net = build_seg_model::<B>("unet-mini", 4, &vs.root()).unwrap();
    let x = Tensor::<B>::randn(&[2, 3, 16, 24], 0.0, 1.0, &mut SeedRng::new(1), &dev).unwrap();
    let out = net.forward(&x, ForwardOpts::TRAIN).unwrap();
    // Host-made tensors (x, the loss) and plugin-made ones (weights,
    // activations) meet in one backward pass.
    let loss = out.logits.log_softmax(1).unwrap().mean_all().unwrap();
    let vars = net.trainable_vars();
    let refs: Vec<_> = vars.iter().collect();
    grad(&loss, &refs)
        .unwrap()
        .into_iter()
        .flat_map(|g| g.expect("every variable gets a gradient").to_vec().unwrap())
        .collect()
}

/// The plugin loaded into this process: its network, built through the
/// registry, has the same gradients on candle as on tch. On candle this
/// needs the plugin's ops to run in the host's copy of candle (the op
/// table), else tensor ids of the two copies collide in the backward pass.
#[test]
fn plugin_network_loaded_in_process_has_the_same_gradients_on_both_backends() {
    let info = sfda_core::plugin::load_plugin(&unet_plugin()).unwrap();
    assert_eq!(info.name, "sfda-plugin-unet");
    assert_eq!(info.backends, ["candle", "tch"]);
    let (t, c) = (
        unet_gradients::<TchBackend>(),
        unet_gradients::<CandleBackend>(),
    );
    assert_eq!(t.len(), c.len());
    let scale = t.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(scale > 0.0);
    let worst = t
        .iter()
        .zip(&c)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 1e-3 * scale,
        "max |tch − candle| = {worst}, scale {scale}"
    );
}

fn list_with_plugin(path: &Path) -> Output {
    sfda()
        .arg("plugins")
        .arg("--plugin")
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn plugin_declaring_another_abi_is_refused_before_registration() {
    // The fixture's registration function aborts if called: a clean error
    // (not SIGABRT) shows the declaration was checked first.
    let bad = bad_plugin();
    fails_with(
        &list_with_plugin(&bad),
        &[
            "ABI version",
            "declares ABI version 42",
            "loads ABI version 1",
            "rebuild",
        ],
    );
    let cases = [
        ("rustc", &["another compiler", "rustc 1.0.0", "rebuild"][..]),
        ("core", &["sfda-core 0.0.1-other", "rebuild"][..]),
        ("backends", &["jax, mlx", "none of which"][..]),
        ("build", &["different build of sfda-core", "rebuild"][..]),
        ("magic", &["not an sfda plugin"][..]),
    ];
    for (what, needles) in cases {
        let o = sfda()
            .arg("plugins")
            .arg("--plugin")
            .arg(&bad)
            .env("SFDA_FIXTURE_MISMATCH", what)
            .output()
            .unwrap();
        fails_with(&o, needles);
    }
}

/// A shared library mapped into this test process that is not a plugin
/// (libtorch's c10, or else any system library), found without naming a
/// path of this machine.
fn some_system_library() -> PathBuf {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let libs: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.starts_with('/') && p.contains(".so"))
        .collect();
    let pick = libs
        .iter()
        .find(|p| p.contains("libc10."))
        .or_else(|| libs.iter().find(|p| !p.contains("sfda")))
        .expect("a shared library mapped into the test process");
    PathBuf::from(pick)
}

#[test]
fn shared_library_that_is_not_a_plugin_is_refused() {
    let lib = some_system_library();
    fails_with(
        &list_with_plugin(&lib),
        &["not an sfda plugin", "sfda_plugin_declaration"],
    );
}

#[test]
fn file_that_is_not_a_library_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.so");
    std::fs::write(&text, "this is a text file, not a plugin\n").unwrap();
    fails_with(
        &list_with_plugin(&text),
        &["notes.so", "not a shared library"],
    );
    fails_with(&list_with_plugin(dir.path()), &["not a file"]);
}

#[test]
fn missing_plugin_file_is_named() {
    fails_with(
        &list_with_plugin(Path::new("no/such/libplugin.so")),
        &["no/such/libplugin.so", "no such file"],
    );
    // The same through the config key of `adapt`.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, format!("plugins = [\"gone/libx.so\"]\n{CONFIG}")).unwrap();
    let o = adapt(
        "tch",
        &dir.path().join("s.safetensors"),
        &cfg,
        &dir.path().join("o"),
    )
    .output()
    .unwrap();
    fails_with(&o, &["gone/libx.so", "no such file"]);
}

#[test]
fn unregistered_loss_name_is_named_with_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let src = deeplab_source(dir.path());
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("{CONFIG}\n[[extra_losses]]\nname = \"no_such_loss\"\nstudent_weight = 1.0\n"),
    )
    .unwrap();
    let o = adapt("tch", &src, &cfg, &dir.path().join("o"))
        .output()
        .unwrap();
    fails_with(
        &o,
        &[
            "extra_losses[0].name",
            "no_such_loss",
            "bns, dad_ss, dad_st, mae",
        ],
    );
    // With the plugin loaded, its loss is among the known names.
    let o = adapt("candle", &src, &cfg, &dir.path().join("o2"))
        .arg("--plugin")
        .arg(attention_plugin())
        .output()
        .unwrap();
    fails_with(&o, &["no_such_loss", "attention_transfer"]);
}
