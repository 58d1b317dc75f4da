//! IPSM (paper sec. 3.3.1, eq. 13–14) on both backends: cutting maps into
//! K×K patches (with cropped remainders) and entropy ranking per position
//! across the batch, on inputs whose entropies are ordered by construction.

#[macro_use]
mod common;

use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::ipsm::{builtin_patch_ranker, split_patches, EntropyRanker, PatchGrid, PatchRanker};
use sfda_core::loss::toml;
use sfda_core::{Backend, Result, Tensor};

test_backends!(
    split_patches_order_and_crop,
    split_patches_rejects_bad_k,
    entropy_ranker_halves_each_position,
    entropy_ranker_odd_batch_gives_median_to_hard,
    entropy_ranker_needs_two_images,
    ranker_factory,
);

fn split_patches_order_and_crop<B: Backend>(dev: &B::Device) -> Result<()> {
    // [B=2, C=2, H=3, W=5] holding 0..60; K = 2 → 1×2 patches, row 2 and
    // column 4 cropped. Patch row b·4 + pos, pos = r·2 + c, covers pixels
    // (r, 2c) and (r, 2c + 1): value b·30 + ch·15 + r·5 + 2c + j.
    // E.g. image 0, pos 3 (r = 1, c = 1): channel 0 = [7, 8], channel 1 = [22, 23].
    let data: Vec<f32> = (0..60).map(|i| i as f32).collect();
    let x = Tensor::<B>::from_f32(&data, &[2, 2, 3, 5], dev)?;
    let p = split_patches(&x, 2)?;
    assert_eq!(p.patches.shape(), vec![8, 2, 1, 2]);
    assert_eq!(p.positions, vec![0, 1, 2, 3, 0, 1, 2, 3]);
    assert_eq!(p.images, vec![0, 0, 0, 0, 1, 1, 1, 1]);
    assert_eq!(
        p.grid,
        PatchGrid {
            k: 2,
            height: 3,
            width: 5,
            patch_h: 1,
            patch_w: 2
        }
    );
    let v = p.patches.to_vec()?;
    assert_eq!(&v[12..16], &[7.0, 8.0, 22.0, 23.0]);
    let mut expected = Vec::new();
    for b in 0..2 {
        for pos in 0..4 {
            let (r, c) = p.grid.row_col(pos);
            assert_eq!(p.grid.origin(pos), (r, 2 * c));
            for ch in 0..2 {
                for j in 0..2 {
                    expected.push((b * 30 + ch * 15 + r * 5 + 2 * c + j) as f32);
                }
            }
        }
    }
    assert_eq!(v, expected);
    // K = 1: the whole (uncropped) map.
    let whole = split_patches(&x, 1)?;
    assert_eq!(whole.patches.to_vec()?, data);
    Ok(())
}

fn split_patches_rejects_bad_k<B: Backend>(dev: &B::Device) -> Result<()> {
    let x = Tensor::<B>::zeros(&[1, 2, 3, 5], dev)?;
    assert!(split_patches(&x, 0).is_err());
    let err = split_patches(&x, 4).unwrap_err();
    assert!(err.to_string().contains("4×4"), "{err}");
    assert!(split_patches(&Tensor::<B>::zeros(&[2, 3, 5], dev)?, 2).is_err());
    Ok(())
}

/// Logits `[B, 2, 2, 2]` with pixel `pos` of image `b` = `(a[b][pos], 0)`, so
/// with K = 2 every patch is one pixel and its entropy falls as `|a|` grows.
fn logits_from<B: Backend>(a: &[[f32; 4]], dev: &B::Device) -> Result<Tensor<B>> {
    let mut data = Vec::new();
    for row in a {
        data.extend_from_slice(row); // channel 0
        data.extend_from_slice(&[0.0; 4]); // channel 1
    }
    Tensor::from_f32(&data, &[a.len(), 2, 2, 2], dev)
}

fn entropy_ranker_halves_each_position<B: Backend>(dev: &B::Device) -> Result<()> {
    // Columns are positions 0..4, rows images 0..4:
    //   pos 0: a = 0, 1, 2, 3 → lowest entropy images 3, 2 → easy {2, 3}, hard {0, 1}
    //   pos 1: a = 3, 2, 1, 0 → easy {0, 1}, hard {2, 3}
    //   pos 2: a = 1, 3, 0, 2 → ascending entropy 1, 3, 0, 2 → easy {1, 3}, hard {0, 2}
    //   pos 3: a = 0 everywhere → all ln 2, ties by index → easy {0, 1}, hard {2, 3}
    let a = [
        [0.0, 3.0, 1.0, 0.0],
        [1.0, 2.0, 3.0, 0.0],
        [2.0, 1.0, 0.0, 0.0],
        [3.0, 0.0, 2.0, 0.0],
    ];
    let labels = PatchRanker::<B>::rank(&EntropyRanker, &logits_from::<B>(&a, dev)?, 2)?;
    assert_eq!((labels.batch(), labels.k(), labels.positions()), (4, 2, 4));
    #[rustfmt::skip]
    let hard = [
        true, false, true, false,   // image 0
        true, false, false, false,  // image 1
        false, true, true, true,    // image 2
        false, true, false, true,   // image 3
    ];
    assert_eq!(labels.hard(), &hard);
    assert!(labels.is_hard(2, 1) && !labels.is_hard(1, 2));
    let targets: Vec<f32> = hard.iter().map(|&h| if h { 1.0 } else { 0.0 }).collect();
    assert_eq!(labels.targets(), targets);
    assert_eq!(labels.hard_indices(), vec![0, 2, 4, 9, 10, 11, 13, 15]);
    assert_eq!(labels.easy_indices(), vec![1, 3, 5, 6, 7, 8, 12, 14]);
    assert_eq!(labels.position_of(13), 1);
    // Scores are the patch entropies: a = 0 → ln 2.
    assert!((labels.scores()[3] - std::f32::consts::LN_2).abs() < 1e-5);
    // Each position has exactly B/2 hard patches.
    for pos in 0..4 {
        assert_eq!((0..4).filter(|&b| labels.is_hard(b, pos)).count(), 2);
    }
    Ok(())
}

fn entropy_ranker_odd_batch_gives_median_to_hard<B: Backend>(dev: &B::Device) -> Result<()> {
    // B = 3, K = 1 (one patch per image): a = 0, 1, 2 → ascending entropy
    // 2, 1, 0 → easy = ⌊3/2⌋ = 1 patch {2}; hard {0, 1}.
    let x = Tensor::<B>::from_f32(&[0.0, 0.0, 1.0, 0.0, 2.0, 0.0], &[3, 2, 1, 1], dev)?;
    let labels = PatchRanker::<B>::rank(&EntropyRanker, &x, 1)?;
    assert_eq!(labels.hard(), &[true, true, false]);
    Ok(())
}

fn entropy_ranker_needs_two_images<B: Backend>(dev: &B::Device) -> Result<()> {
    let x = Tensor::<B>::zeros(&[1, 2, 4, 4], dev)?;
    let err = PatchRanker::<B>::rank(&EntropyRanker, &x, 2).unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
    Ok(())
}

fn ranker_factory<B: Backend>(dev: &B::Device) -> Result<()> {
    let empty = toml::Value::Table(toml::Table::new());
    let r = builtin_patch_ranker::<B>("entropy", &empty)?;
    assert_eq!(r.name(), "entropy");
    let x = logits_from::<B>(&[[0.0; 4], [5.0; 4]], dev)?;
    assert_eq!(
        r.rank(&x, 2)?.hard(),
        &[true, true, true, true, false, false, false, false]
    );
    let err = builtin_patch_ranker::<B>("random", &empty)
        .err()
        .expect("unknown");
    assert!(err.to_string().contains("entropy"), "{err}");
    let mut t = toml::Table::new();
    t.insert("halves".into(), toml::Value::Integer(3));
    let err = builtin_patch_ranker::<B>("entropy", &toml::Value::Table(t))
        .err()
        .expect("unknown key");
    assert!(err.to_string().contains("halves"), "{err}");
    Ok(())
}
