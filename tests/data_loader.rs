//! The streaming loader: batch layout, per-epoch seeded shuffles, parallel
//! decoding whose results depend only on (seed, epoch, index), prefetching, unlabelled use,
//! transforms and size errors.

mod data_common;

use std::collections::BTreeSet;
use std::sync::Arc;

use sfda_core::data::{
    open_dataset, write_cityscapes, Batch, DataLoader, Dataset, Domain, Layout, LoaderConfig,
    Normalize, Split, SynthDataset, SynthSpec, Transform,
};

fn synth(n: usize) -> Arc<dyn Dataset> {
    Arc::new(SynthDataset::new(
        SynthSpec::new(Domain::Source, Split::Train, n).with_size(32, 16),
    ))
}

fn epoch(loader: &DataLoader, e: u64) -> Vec<Batch> {
    loader.epoch(e).collect::<Result<_, _>>().unwrap()
}

#[test]
fn batches_have_nchw_images_and_labels() {
    let ds = synth(5);
    let loader = DataLoader::new(ds.clone(), LoaderConfig::eval(2)).unwrap();
    assert_eq!(loader.batches_per_epoch(), 3);
    let b = epoch(&loader, 0);
    assert_eq!(b.len(), 3);
    assert_eq!(b[0].shape, [2, 3, 16, 32]);
    assert_eq!(b[0].images.len(), 2 * 3 * 16 * 32);
    assert_eq!(b[0].labels.as_ref().unwrap().len(), 2 * 16 * 32);
    assert_eq!(b[2].len(), 1);
    assert_eq!(b[0].names, vec![ds.name(0), ds.name(1)]);
    // Normalised with ImageNet statistics: undo it to get the image back.
    let s = ds.load(1).unwrap();
    let back = Normalize::IMAGENET.to_rgb(b[0].image(1), 16, 32);
    assert_eq!(back, s.image);
    assert_eq!(b[0].label(1).unwrap(), &s.label.unwrap().data[..]);
}

#[test]
fn shuffles_are_seeded_per_epoch_and_cover_every_example_once() {
    let ds = synth(10);
    let cfg = LoaderConfig {
        prefetch: 0,
        ..LoaderConfig::train(3, 7, None)
    };
    let loader = DataLoader::new(ds.clone(), cfg.clone()).unwrap();
    let (o0, o1) = (loader.order(0), loader.order(1));
    assert_ne!(o0, o1);
    assert_eq!(o0.iter().copied().collect::<BTreeSet<_>>().len(), 10);
    let again = DataLoader::new(ds.clone(), cfg.clone()).unwrap();
    assert_eq!(
        epoch(&loader, 1),
        epoch(&again, 1),
        "same seed, same batches"
    );
    let other = DataLoader::new(ds.clone(), LoaderConfig { seed: 8, ..cfg }).unwrap();
    assert_ne!(other.order(1), o1);
    // drop_last: 10 examples in batches of 3 → 3 batches of 3.
    let b = epoch(&loader, 0);
    assert_eq!(b.len(), 3);
    assert!(b.iter().all(|x| x.len() == 3));
}

#[test]
fn prefetching_and_thread_count_do_not_change_batches() {
    let ds = synth(7);
    let base = LoaderConfig::train(2, 1, Some([24, 12]));
    let direct = DataLoader::new(
        ds.clone(),
        LoaderConfig {
            prefetch: 0,
            ..base.clone()
        },
    )
    .unwrap();
    let ahead = DataLoader::new(
        ds.clone(),
        LoaderConfig {
            prefetch: 2,
            ..base
        },
    )
    .unwrap();
    let a = epoch(&direct, 3);
    let b = epoch(&ahead, 3);
    assert_eq!(a, b);
    // Each batch decoded alone gives the same result as inside the epoch.
    let order = direct.order(3);
    assert_eq!(direct.load_batch(&order[2..4], 3).unwrap(), a[1]);
    assert_eq!(a[0].shape, [2, 3, 12, 24]);
    // The endless stream moves on to the next epoch.
    let mut stream = direct.stream(0);
    let n = direct.batches_per_epoch();
    for _ in 0..n + 1 {
        stream.next().unwrap().unwrap();
    }
    assert_eq!(stream.epoch(), 1);
}

#[test]
fn unlabelled_use_and_size_errors() {
    let ds = synth(3);
    let cfg = LoaderConfig {
        labels: false,
        ..LoaderConfig::eval(3)
    };
    let b = epoch(&DataLoader::new(ds, cfg).unwrap(), 0);
    assert!(b[0].labels.is_none());

    // Two sizes in one folder: an error naming an example, until a resize is set.
    let dir = tempfile::tempdir().unwrap();
    data_common::write_image(&dir.path().join("a.png"), 8, 4);
    data_common::write_image(&dir.path().join("b.png"), 6, 4);
    let folder = open_dataset(Layout::Folder, dir.path(), None).unwrap();
    let loader = DataLoader::new(folder.clone(), LoaderConfig::eval(2)).unwrap();
    let e = loader.epoch(0).next().unwrap().unwrap_err().to_string();
    assert!(e.contains("'b'") && e.contains("resize"), "{e}");
    let cfg = LoaderConfig {
        transform: Transform::eval(Some([8, 4])),
        ..LoaderConfig::eval(2)
    };
    let b = epoch(&DataLoader::new(folder, cfg).unwrap(), 0);
    assert_eq!(b[0].shape, [2, 3, 4, 8]);

    assert!(DataLoader::new(synth(3), LoaderConfig::eval(0)).is_err());
    assert!(DataLoader::new(synth(2), LoaderConfig::train(4, 0, None)).is_err());
}

#[test]
fn loads_a_written_cityscapes_tree_with_resize() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SynthSpec::new(Domain::Target, Split::Train, 4).with_size(64, 32);
    write_cityscapes(&spec, dir.path(), false, false).unwrap();
    // The same subset again is refused (a smaller count would leave a spec
    // file describing part of the images); --force replaces it whole.
    let small = SynthSpec { count: 1, ..spec };
    let e = write_cityscapes(&small, dir.path(), false, false).unwrap_err();
    assert!(e.to_string().contains("--force"), "{e}");
    write_cityscapes(&small, dir.path(), false, true).unwrap();
    write_cityscapes(&spec, dir.path(), false, true).unwrap();
    let ds = open_dataset(Layout::Cityscapes, dir.path(), Some("train")).unwrap();
    let cfg = LoaderConfig {
        transform: Transform::eval(Some([32, 16])),
        ..LoaderConfig::eval(4)
    };
    let b = epoch(&DataLoader::new(ds, cfg).unwrap(), 0);
    assert_eq!(b[0].shape, [4, 3, 16, 32]);
    let labels = b[0].labels.as_ref().unwrap();
    assert!(labels.iter().all(|&l| l < 19 || l == 255));
}
