//! Fixture trees for every on-disk layout, checked pixel by pixel against
//! independently written id tables (cityscapesScripts, AdaptSegNet's
//! SYNTHIA table, the NTHU 13-class table), including ignore.

mod data_common;

use std::path::Path;

use data_common::*;
use sfda_core::data::{
    open_dataset, open_dataset_with, read_label_png, ClassSet, Dataset, DatasetStats,
    LabelEncoding, Layout,
};

/// cityscapesScripts labels.py, labelId -> trainId (255 = ignore), ids 0..=33.
const CITYSCAPES: [u8; 34] = [
    255, 255, 255, 255, 255, 255, 255, 0, 1, 255, 255, 2, 3, 4, 255, 255, 255, 5, 255, 6, 7, 8, 9,
    10, 11, 12, 13, 14, 15, 255, 255, 16, 17, 18,
];

/// SYNTHIA-RAND-CITYSCAPES id -> trainId, ids 0..=22.
const SYNTHIA: [u8; 23] = [
    255, 10, 2, 0, 1, 4, 8, 5, 13, 7, 11, 18, 17, 255, 255, 6, 9, 12, 14, 15, 16, 3, 255,
];

fn labels_of(ds: &dyn Dataset, i: usize) -> Vec<u8> {
    ds.load(i).unwrap().label.expect("labelled").data
}

#[test]
fn cityscapes_label_ids_map_to_train_ids_pixel_by_pixel() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ids = all_ids(33);
    let w = ids.len() as u32;
    for (split, city) in [("train", "aachen"), ("val", "bonn")] {
        let stem = format!("{city}_000000_000019");
        write_image(
            &root.join(format!("leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png")),
            w,
            1,
        );
        if split == "train" {
            write_gray(
                &root.join(format!("gtFine/{split}/{city}/{stem}_gtFine_labelIds.png")),
                w,
                1,
                &ids,
            );
        }
    }
    let train = open_dataset(Layout::Cityscapes, root, Some("train")).unwrap();
    assert_eq!(train.len(), 1);
    assert_eq!(train.name(0), "aachen_000000_000019");
    assert!(train.has_labels());
    let got = labels_of(train.as_ref(), 0);
    for (i, &raw) in ids.iter().enumerate() {
        let want = if raw == 255 {
            255
        } else {
            CITYSCAPES[raw as usize]
        };
        assert_eq!(got[i], want, "label id {raw}");
    }
    let val = open_dataset(Layout::Cityscapes, root, Some("val")).unwrap();
    assert!(!val.has_labels(), "no gtFine/val: unlabelled");
    assert!(val.load(0).unwrap().label.is_none());
    let all = open_dataset(Layout::Cityscapes, root, None).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all.class_set(), ClassSet::Cityscapes19);
    // The image comes back as written.
    assert_eq!(train.load(0).unwrap().image, ramp_image(w, 1));
}

#[test]
fn gta5_palette_labels_and_split_lists() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ids = all_ids(33);
    let w = ids.len() as u32;
    for name in ["00001", "00002", "00003"] {
        write_image(&root.join(format!("images/{name}.png")), w, 1);
        write_palette(&root.join(format!("labels/{name}.png")), w, 1, &ids);
    }
    std::fs::write(root.join("val.txt"), "00002.png\n# comment\n00003.png\n").unwrap();
    let ds = open_dataset(Layout::Gta5, root, None).unwrap();
    assert_eq!(ds.len(), 3);
    let got = labels_of(ds.as_ref(), 0);
    for (i, &raw) in ids.iter().enumerate() {
        let want = if raw == 255 {
            255
        } else {
            CITYSCAPES[raw as usize]
        };
        assert_eq!(got[i], want, "GTA5 palette index {raw}");
    }
    let val = open_dataset(Layout::Gta5, root, Some("val")).unwrap();
    assert_eq!((val.len(), val.name(0).as_str()), (2, "00002"));
    let e = open_dataset(Layout::Gta5, root, Some("test"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("test.txt"), "{e}");
}

#[test]
fn synthia_16bit_labels_and_16_13_class_views() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ids = all_ids(22);
    let w = ids.len() as u32;
    write_image(&root.join("RGB/0000000.png"), w, 1);
    write_rgb16(&root.join("GT/LABELS/0000000.png"), w, 1, &ids);
    let ds = open_dataset(Layout::Synthia, root, None).unwrap();
    assert_eq!(ds.class_set(), ClassSet::Synthia16);
    let got = labels_of(ds.as_ref(), 0);
    for (i, &raw) in ids.iter().enumerate() {
        let want = if raw == 255 {
            255
        } else {
            SYNTHIA[raw as usize]
        };
        assert_eq!(got[i], want, "SYNTHIA id {raw}");
    }
    // 16-class view: terrain (9), truck (14), train (16) become ignore.
    let mut v16 = got.clone();
    ClassSet::Synthia16.remap_labels(&mut v16);
    let names16 = ClassSet::Synthia16.class_names();
    for (i, &t) in got.iter().enumerate() {
        match t {
            9 | 14 | 16 | 255 => assert_eq!(v16[i], 255),
            t => assert_eq!(
                names16[v16[i] as usize],
                sfda_core::data::TRAIN_ID_NAMES[t as usize]
            ),
        }
    }
    // 13-class view additionally drops wall (3), fence (4), pole (5).
    let mut v13 = got.clone();
    ClassSet::Synthia13.remap_labels(&mut v13);
    let kept: Vec<u8> = got
        .iter()
        .zip(&v13)
        .filter(|(_, &v)| v != 255)
        .map(|(&t, _)| t)
        .collect();
    let mut kept_sorted = kept.clone();
    kept_sorted.sort();
    assert_eq!(
        kept_sorted,
        vec![0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]
    );
}

#[test]
fn nthu_city_with_13_classes_and_unlabelled_train() {
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("Rome");
    let ids = all_ids(33);
    let w = ids.len() as u32;
    write_image(&city.join("Images/Train/pic_001.png"), w, 1);
    write_image(&city.join("Images/Test/pic_900.png"), w, 1);
    write_gray(&city.join("Labels/Test/pic_900_eval.png"), w, 1, &ids);
    let test = open_dataset(Layout::Nthu, &city, Some("test")).unwrap();
    assert_eq!(test.class_set(), ClassSet::Nthu13);
    let got = labels_of(test.as_ref(), 0);
    let nthu13 = ClassSet::Nthu13.train_ids();
    for (i, &raw) in ids.iter().enumerate() {
        let cs = if raw == 255 {
            255
        } else {
            CITYSCAPES[raw as usize]
        };
        let want = if nthu13.contains(&cs) { cs } else { 255 };
        assert_eq!(got[i], want, "NTHU id {raw}");
    }
    let train = open_dataset(Layout::Nthu, &city, Some("train")).unwrap();
    assert!(!train.has_labels());
    assert_eq!(open_dataset(Layout::Nthu, &city, None).unwrap().len(), 2);
    let e = open_dataset(Layout::Nthu, dir.path(), None).err().unwrap();
    assert!(e.to_string().contains("one city"), "{e}");
}

#[test]
fn folder_with_and_without_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("f");
    let ids: Vec<u8> = (0..19).chain([255]).collect();
    write_image(&root.join("images/a.png"), 20, 1);
    write_gray(&root.join("labels/a.png"), 20, 1, &ids);
    let ds = open_dataset(Layout::Folder, &root, None).unwrap();
    assert_eq!(labels_of(ds.as_ref(), 0), ids);
    // Images directly in the root, no labels: unlabelled target set.
    let plain = dir.path().join("plain");
    write_image(&plain.join("x.png"), 4, 4);
    write_image(&plain.join("y.png"), 4, 4);
    let ds = open_dataset(Layout::Folder, &plain, None).unwrap();
    assert_eq!((ds.len(), ds.has_labels()), (2, false));
}

fn err_of(layout: Layout, root: &Path, split: Option<&str>) -> String {
    match open_dataset(layout, root, split) {
        Err(e) => e.to_string(),
        Ok(ds) => (0..ds.len())
            .map(|i| ds.load(i))
            .find_map(Result::err)
            .map(|e| e.to_string())
            .expect("an error"),
    }
}

#[test]
fn bad_inputs_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Corrupt image.
    let c = root.join("corrupt");
    std::fs::create_dir_all(c.join("images")).unwrap();
    std::fs::write(c.join("images/bad.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let e = err_of(Layout::Folder, &c, None);
    assert!(e.contains("bad.png") && e.contains("corrupt"), "{e}");
    // Truncated image.
    let t = root.join("trunc");
    write_image(&t.join("images/full.png"), 64, 64);
    let bytes = std::fs::read(t.join("images/full.png")).unwrap();
    std::fs::write(t.join("images/full.png"), &bytes[..bytes.len() / 2]).unwrap();
    let e = err_of(Layout::Folder, &t, None);
    assert!(e.contains("full.png") && e.contains("truncated"), "{e}");
    // Label size differs from its image.
    let s = root.join("size");
    write_image(&s.join("images/a.png"), 4, 4);
    write_gray(&s.join("labels/a.png"), 4, 3, &[0; 12]);
    let e = err_of(Layout::Folder, &s, None);
    assert!(e.contains("labels/a.png") && e.contains("4x3"), "{e}");
    // Unknown label id.
    let u = root.join("unknown");
    write_image(&u.join("leftImg8bit/train/c/c_0_0_leftImg8bit.png"), 2, 1);
    write_gray(
        &u.join("gtFine/train/c/c_0_0_gtFine_labelIds.png"),
        2,
        1,
        &[7, 40],
    );
    // (an error only when strict; see unlisted_ids_become_ignore_and_are_reported)
    let strict = open_dataset_with(Layout::Cityscapes, &u, Some("train"), true).unwrap();
    let e = strict.load(0).unwrap_err().to_string();
    assert!(
        e.contains("c_0_0_gtFine_labelIds.png") && e.contains("unknown label id 40"),
        "{e}"
    );
    // Missing label while gtFine exists.
    write_image(&u.join("leftImg8bit/train/c/c_0_1_leftImg8bit.png"), 2, 1);
    let e = err_of(Layout::Cityscapes, &u, Some("train"));
    assert!(
        e.contains("c_0_1_gtFine_labelIds.png") && e.contains("missing"),
        "{e}"
    );
    // Empty and missing folders.
    let empty = root.join("empty");
    std::fs::create_dir_all(empty.join("images")).unwrap();
    let e = err_of(Layout::Folder, &empty, None);
    assert!(e.contains("empty") && e.contains("no images"), "{e}");
    let e = err_of(Layout::Gta5, &root.join("nowhere"), None);
    assert!(e.contains("nowhere") && e.contains("not found"), "{e}");
    // A layout that does not match the tree.
    let e = err_of(Layout::Gta5, &u, None);
    assert!(e.contains("--layout cityscapes"), "{e}");
    let e = err_of(Layout::Cityscapes, &u, Some("val"));
    assert!(
        e.contains("split 'val' not found") && e.contains("train"),
        "{e}"
    );
    // A colour label where ids are expected.
    let col = root.join("colour");
    write_image(&col.join("images/a.png"), 2, 1);
    write_rgb16(&col.join("labels/a.png"), 2, 1, &[1, 2]);
    let e = err_of(Layout::Folder, &col, None);
    assert!(e.contains("labels/a.png") && e.contains("colour"), "{e}");
    // The synth layout has no folder.
    let e = err_of(Layout::Synth, root, None);
    assert!(e.contains("SynthDataset"), "{e}");
}

#[test]
fn layout_names_parse_with_a_clear_error() {
    assert_eq!("GTA5".parse::<Layout>().unwrap(), Layout::Gta5);
    let e = "idd".parse::<Layout>().unwrap_err().to_string();
    assert!(
        e.contains("valid layouts: cityscapes, gta5, synthia, nthu, folder, synth"),
        "{e}"
    );
}

#[test]
fn unlisted_ids_become_ignore_and_are_reported() {
    // GTA5 labels hold ids beyond Cityscapes' 0-33 (e.g. 34); the field's
    // loaders read them as ignore. So do we, counting them per id.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ids = [7u8, 34, 34, 40, 26, 255];
    for name in ["00001", "00002"] {
        write_image(
            &root.join(format!("images/{name}.png")),
            ids.len() as u32,
            1,
        );
        write_palette(
            &root.join(format!("labels/{name}.png")),
            ids.len() as u32,
            1,
            &ids,
        );
    }
    let ds = open_dataset(Layout::Gta5, root, None).unwrap();
    assert_eq!(labels_of(ds.as_ref(), 0), vec![0, 255, 255, 255, 13, 255]);
    assert_eq!(ds.unmapped_labels(), vec![(34, 2), (40, 1)]);
    let st = DatasetStats::compute(ds.as_ref(), false).unwrap();
    assert_eq!(
        st.unmapped_labels,
        vec![(34, 4), (40, 2)],
        "both images, once each"
    );
    assert!(st.to_string().contains("id 34: 4 px, id 40: 2 px"), "{st}");

    let sfda = |strict: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_sfda"));
        c.args(["data", "stats", "--layout", "gta5", "--quiet"])
            .arg(root);
        if strict {
            c.arg("--strict-labels");
        }
        c.output().unwrap()
    };
    let o = sfda(false);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("id 34: 4 px"), "{out}");
    let o = sfda(true);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "--strict-labels must refuse id 34");
    assert!(
        err.contains("unknown label id 34") && err.contains(".png"),
        "{err}"
    );
}

#[test]
fn a_label_png_whose_header_claims_a_huge_size_is_refused_before_allocating() {
    let png = huge_label_png();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge_labelIds.png");
    std::fs::write(&path, &png).unwrap();
    for enc in [LabelEncoding::Single, LabelEncoding::FirstChannel] {
        let e = read_label_png(&path, enc).unwrap_err().to_string();
        assert!(e.contains("huge_labelIds.png"), "{e}");
        assert!(
            e.contains("100000x100000") && e.contains("decode limit"),
            "{e}"
        );
    }
}

#[test]
fn shared_stems_get_unique_names_and_non_utf8_names_find_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("f");
    let ids: Vec<u8> = (0..19).chain([255]).collect();
    write_image(&root.join("images/a.png"), 20, 1);
    write_image(&root.join("images/a.jpg"), 20, 1);
    write_gray(&root.join("labels/a.png"), 20, 1, &ids);
    let ds = open_dataset(Layout::Folder, &root, None).unwrap();
    let mut names: Vec<String> = (0..ds.len()).map(|i| ds.name(i)).collect();
    names.sort();
    assert_eq!(names, vec!["a.jpg".to_string(), "a.png".to_string()]);
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // Two names that read the same once made printable ("b\u{FFFD}").
        let root = dir.path().join("g");
        for raw in [&b"b\xff"[..], &b"b\xfe"[..]] {
            let mut file = std::ffi::OsStr::from_bytes(raw).to_os_string();
            file.push(".png");
            write_image(&root.join("images").join(&file), 20, 1);
            write_gray(&root.join("labels").join(&file), 20, 1, &ids);
        }
        let ds = open_dataset(Layout::Folder, &root, None).unwrap();
        let mut names: Vec<String> = (0..ds.len()).map(|i| ds.name(i)).collect();
        names.sort();
        assert_eq!(names, vec!["b\u{FFFD}.png", "b\u{FFFD}.png~2"]);
        assert_eq!(labels_of(ds.as_ref(), 0), ids);
    }
}
