//! Properties of the segmentation metrics (proptest): IoU in [0, 1]; a
//! perfect prediction scores 1 on every present class; permuting pixels
//! changes nothing; merging matrices equals accumulating both splits; class
//! set views agree with remapped matrices; JSON round-trips.

use proptest::prelude::*;
use sfda_core::data::ClassSet;
use sfda_core::metrics::{ConfusionMatrix, SegMetrics};

const N: usize = 19;

/// A label (train id or ignore) and a prediction per pixel.
fn pixels(max_len: usize) -> impl Strategy<Value = Vec<(u8, u8)>> {
    let label = prop_oneof![9 => 0u8..N as u8, 1 => Just(255u8)];
    prop::collection::vec((label, 0u8..N as u8), 1..max_len)
}

fn matrix(px: &[(u8, u8)]) -> ConfusionMatrix {
    let (labels, preds): (Vec<u8>, Vec<u8>) = px.iter().copied().unzip();
    let mut cm = ConfusionMatrix::new(N);
    cm.accumulate(&preds, &labels).unwrap();
    cm
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn iou_and_accuracies_lie_in_unit_interval(px in pixels(400)) {
        for set in ClassSet::ALL {
            let m = SegMetrics::compute(&matrix(&px), set).unwrap();
            for c in &m.classes {
                if let Some(v) = c.iou { prop_assert!((0.0..=1.0).contains(&v)); }
                if let Some(v) = c.accuracy { prop_assert!((0.0..=1.0).contains(&v)); }
            }
            for v in [m.miou, m.pixel_accuracy, m.mean_accuracy] {
                prop_assert!((0.0..=1.0).contains(&v));
            }
        }
    }

    #[test]
    fn perfect_prediction_scores_one_on_present_classes(px in pixels(400)) {
        let perfect: Vec<(u8, u8)> = px.iter().map(|&(l, p)| (l, if l == 255 { p } else { l })).collect();
        let m = SegMetrics::compute(&matrix(&perfect), ClassSet::Cityscapes19).unwrap();
        for c in &m.classes {
            if c.gt_pixels > 0 {
                prop_assert_eq!(c.iou, Some(1.0));
            } else {
                prop_assert_eq!(c.iou, None, "absent classes are excluded, not scored");
            }
        }
        if m.pixels > 0 {
            prop_assert_eq!(m.miou, 1.0);
            prop_assert_eq!(m.pixel_accuracy, 1.0);
        }
    }

    #[test]
    fn permuting_pixels_changes_nothing(px in pixels(300), seed in any::<u64>()) {
        let mut shuffled = px.clone();
        sfda_core::SeedRng::new(seed).shuffle(&mut shuffled);
        prop_assert_eq!(matrix(&px), matrix(&shuffled));
        let a = SegMetrics::compute(&matrix(&px), ClassSet::Synthia16).unwrap();
        let b = SegMetrics::compute(&matrix(&shuffled), ClassSet::Synthia16).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn merging_equals_accumulating_both_splits(a in pixels(200), b in pixels(200)) {
        let mut merged = matrix(&a);
        merged.merge(&matrix(&b)).unwrap();
        let both: Vec<(u8, u8)> = a.iter().chain(&b).copied().collect();
        prop_assert_eq!(&merged, &matrix(&both));
        let mut split = ConfusionMatrix::new(N);
        for part in [&a, &b] {
            let (l, p): (Vec<u8>, Vec<u8>) = part.iter().copied().unzip();
            split.accumulate(&p, &l).unwrap();
        }
        prop_assert_eq!(merged, split);
    }

    #[test]
    fn views_match_remapped_matrices_when_only_set_classes_occur(
        px in pixels(300),
        set in prop::sample::select(ClassSet::ALL.to_vec()),
    ) {
        // Keep only pixels whose label and prediction are in the set.
        let kept: Vec<(u8, u8)> = px
            .into_iter()
            .filter(|&(l, p)| (l == 255 || set.contains(l)) && set.contains(p))
            .collect();
        let view = SegMetrics::compute(&matrix(&kept), set).unwrap();
        let table = set.remap_table();
        let (labels, preds): (Vec<u8>, Vec<u8>) =
            kept.iter().map(|&(l, p)| (table[l as usize], table[p as usize])).unzip();
        let mut small = ConfusionMatrix::new(set.len());
        small.accumulate(&preds, &labels).unwrap();
        let direct = SegMetrics::compute(&small, set).unwrap();
        prop_assert_eq!(view, direct);
    }

    #[test]
    fn json_round_trips(px in pixels(100)) {
        let m = SegMetrics::compute(&matrix(&px), ClassSet::Nthu13).unwrap();
        let back: SegMetrics = serde_json::from_str(&m.to_json()).unwrap();
        prop_assert_eq!(back.class_set, ClassSet::Nthu13);
        prop_assert_eq!(back.classes.len(), 13);
        prop_assert!((back.miou - m.miou).abs() < 1e-12);
    }
}

#[test]
fn a_view_counts_confusions_with_classes_outside_the_set() {
    // Road predicted as terrain (outside the 16-set) still lowers road's IoU.
    let mut cm = ConfusionMatrix::new(N);
    cm.accumulate(&[0, 9, 9, 0], &[0, 0, 9, 9]).unwrap();
    let m16 = SegMetrics::compute(&cm, ClassSet::Synthia16).unwrap();
    assert_eq!(m16.iou_of("road"), Some(1.0 / 3.0));
    assert_eq!(m16.iou_of("terrain"), None, "terrain is not in the set");
    assert_eq!(m16.classes.len(), 16);
    assert!(m16.table().contains("synthia16"));
}
