//! `sfda backends --compare DEVICE` end to end. Without a GPU the only device
//! is the CPU, so the comparison is the CPU against itself: two builds of the
//! same network from the same seed, fed the same seeded input, must agree
//! exactly (the determinism the GPU comparison relies on), and a device that
//! cannot be opened is a clear error.

use std::process::Command;

fn sfda() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sfda"))
}

#[test]
fn cpu_against_itself_is_exact_on_both_backends() {
    let out = sfda()
        .args([
            "backends",
            "--compare",
            "cpu",
            "--archs",
            "deeplabv3-mini,segnet-mini",
            "--size",
            "64x32",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 4, "2 backends x 2 architectures: {rows:?}");
    for r in rows {
        let row = &r["row"];
        assert!(row["params"].as_u64().unwrap() > 100_000, "{r}");
        for key in [
            "logits_rel",
            "features_rel",
            "input_grad_rel",
            "param_grad_rel",
        ] {
            assert_eq!(row[key].as_f64(), Some(0.0), "{key} in {r}");
        }
    }
}

#[test]
fn unknown_device_and_batch_of_one_are_clear_errors() {
    let out = sfda()
        .args(["backends", "--compare", "cuda:7", "--backend", "candle"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cuda:7"), "{err}");

    let out = sfda()
        .args(["backends", "--compare", "cpu", "--batch", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("batch must be at least 2"), "{err}");
}
