//! The embedded benchmark end to end: `sfda data synth` writes the
//! Cityscapes layout and the Cityscapes loader reads it back identically;
//! `sfda data stats` and `sfda data preview` run; the two domains differ in
//! look and in label statistics; at least 12 classes with a realistic
//! imbalance appear in a 200-image split.

mod data_common;

#[allow(dead_code)]
#[path = "../src/cli/data.rs"]
mod data_cli;

use clap::Parser;
use data_cli::{run, DataCommand};
use sfda_core::data::{
    open_dataset, read_image, Dataset, DatasetStats, Domain, Layout, Split, SynthDataset, SynthSpec,
};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: DataCommand,
}

fn cli(args: &[&str]) -> anyhow::Result<()> {
    let parsed = Cli::try_parse_from(std::iter::once("data").chain(args.iter().copied()))?;
    run(parsed.cmd)
}

#[test]
fn synth_cli_round_trips_through_the_cityscapes_loader() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    cli(&[
        "synth",
        "--domain",
        "target",
        "--split",
        "val",
        "--count",
        "5",
        "--size",
        "64x32",
        "--seed",
        "3",
        "--severity",
        "0.5",
        "--out",
        out,
        "--quiet",
    ])
    .unwrap();
    let spec = SynthSpec::new(Domain::Target, Split::Val, 5)
        .with_size(64, 32)
        .with_seed(3)
        .with_severity(0.5);
    let ds = open_dataset(Layout::Cityscapes, dir.path(), Some("val")).unwrap();
    assert_eq!(ds.len(), 5);
    assert!(ds.has_labels());
    for i in 0..5 {
        let disk = ds.load(i).unwrap();
        let mem = spec.sample(i).unwrap();
        assert_eq!(disk.name, mem.name);
        assert_eq!(disk.image, mem.image, "image {i}");
        assert_eq!(disk.label, mem.label, "labels {i} (train ids incl. ignore)");
    }
    assert!(dir.path().join("synth_target_val.json").is_file());
    cli(&["stats", out, "--layout", "cityscapes", "--quiet"]).unwrap();
    cli(&["stats", out, "--layout", "cityscapes", "--json"]).unwrap();
}

#[test]
fn synth_cli_rejects_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let e = cli(&["synth", "--size", "64by32", "--out", out]).unwrap_err();
    assert!(e.to_string().contains("WIDTHxHEIGHT"), "{e}");
    let e = cli(&["synth", "--domain", "real", "--out", out]).unwrap_err();
    assert!(e.to_string().contains("source, target"), "{e}");
    let e = cli(&["synth", "--severity", "2", "--out", out, "--quiet"]).unwrap_err();
    assert!(format!("{e:#}").contains("severity"), "{e:#}");
    let e = cli(&["stats", out, "--layout", "kitti"]).unwrap_err();
    assert!(e.to_string().contains("valid layouts"), "{e}");
}

#[test]
fn preview_writes_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("p.png");
    cli(&[
        "preview",
        "--count",
        "2",
        "--size",
        "32x16",
        "--out",
        png.to_str().unwrap(),
    ])
    .unwrap();
    let img = read_image(&png).unwrap();
    assert_eq!((img.width, img.height), (4 * 32 + 5 * 2, 2 * 16 + 3 * 2));
}

fn stats(domain: Domain, n: usize) -> DatasetStats {
    let ds = SynthDataset::new(SynthSpec::new(domain, Split::Train, n));
    DatasetStats::compute(&ds, false).unwrap()
}

#[test]
fn a_200_image_split_has_12_classes_with_realistic_imbalance_and_the_domains_differ() {
    let src = stats(Domain::Source, 200);
    let tgt = stats(Domain::Target, 200);
    for (name, st) in [("source", &src), ("target", &tgt)] {
        assert_eq!(st.images, 200);
        assert!(st.classes_present() >= 12, "{name}: {st}");
        let f = st.frequencies();
        for big in [0, 2, 8, 10] {
            assert!(f[big] > 0.04, "{name}: class {big} should be large\n{st}");
        }
        for small in [5, 7, 11] {
            assert!(
                f[small] > 0.0 && f[small] < 0.03,
                "{name}: class {small} should be small\n{st}"
            );
        }
    }
    // Label shift: more pedestrians and vegetation, less road in the target.
    let (fs, ft) = (src.frequencies(), tgt.frequencies());
    assert!(ft[11] > fs[11], "person {} vs {}", ft[11], fs[11]);
    assert!(ft[8] > fs[8], "vegetation {} vs {}", ft[8], fs[8]);
    assert!(ft[0] < fs[0], "road {} vs {}", ft[0], fs[0]);
    assert!(
        tgt.ignore_pixels > 0 && src.ignore_pixels == 0,
        "the hood is target-only"
    );
}

/// Mean saturation (max − min channel) over all pixels of `n` images.
fn mean_saturation(domain: Domain, severity: f32, n: usize) -> f64 {
    let spec = SynthSpec::new(domain, Split::Val, n).with_severity(severity);
    let mut acc = 0.0;
    let mut count = 0usize;
    for i in 0..n {
        let s = spec.sample(i).unwrap();
        for p in s.image.data.chunks(3) {
            acc += (*p.iter().max().unwrap() - *p.iter().min().unwrap()) as f64;
            count += 1;
        }
    }
    acc / count as f64
}

#[test]
fn severity_moves_the_look_away_from_the_source() {
    let src = mean_saturation(Domain::Source, 0.0, 8);
    let t0 = mean_saturation(Domain::Target, 0.0, 8);
    let t1 = mean_saturation(Domain::Target, 1.0, 8);
    assert!(
        (src - t0).abs() < 0.25 * src,
        "severity 0 looks like the source: {src} vs {t0}"
    );
    assert!(
        t1 < 0.7 * src,
        "the real look is less saturated: {t1} vs {src}"
    );
}

#[test]
fn generation_is_deterministic_per_seed_and_index() {
    let spec = SynthSpec::new(Domain::Source, Split::Train, 3).with_size(48, 24);
    let ds = SynthDataset::new(spec);
    assert_eq!(ds.load(2).unwrap(), spec.sample(2).unwrap());
    assert_ne!(
        ds.load(2).unwrap().image,
        spec.with_seed(1).sample(2).unwrap().image
    );
    assert!(ds.load(3).is_err(), "index past count");
    assert_eq!(ds.name(1), "source_000000_000001");
}
