//! Op checks of the tch backend against values computed by hand.

use sfda_backend_tch::TchBackend;
use sfda_core::{Backend, CmpOp, DeviceSpec, Error, Result, Tensor};

type T = Tensor<TchBackend>;

fn cpu() -> tch::Device {
    TchBackend::device(DeviceSpec::Cpu).expect("cpu")
}

fn t(data: &[f32], shape: &[usize]) -> T {
    T::from_f32(data, shape, &cpu()).expect("from_f32")
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-6 + 1e-6 * w.abs(),
            "{got:?} vs {want:?}"
        );
    }
}

#[test]
fn softmax_and_log_softmax_by_hand() -> Result<()> {
    let x = t(&[1.0, 2.0, 3.0, 0.0, 0.0, 0.0], &[2, 3]);
    let e = [1f32.exp(), 2f32.exp(), 3f32.exp()];
    let s: f32 = e.iter().sum();
    let want = [
        e[0] / s,
        e[1] / s,
        e[2] / s,
        1.0 / 3.0,
        1.0 / 3.0,
        1.0 / 3.0,
    ];
    assert_close(&x.softmax(1)?.to_vec()?, &want);
    let log_want: Vec<f32> = want.iter().map(|p| p.ln()).collect();
    assert_close(&x.log_softmax(1)?.to_vec()?, &log_want);
    Ok(())
}

#[test]
fn bilinear_four_to_two_averages_blocks() -> Result<()> {
    // align_corners = false, 4 -> 2 samples at 0.5 and 2.5: each output is
    // the mean of a 2x2 block.
    let x = t(
        &(0..16).map(|v| v as f32).collect::<Vec<_>>(),
        &[1, 1, 4, 4],
    );
    let y = x.upsample_bilinear2d((2, 2))?;
    assert_eq!(y.shape(), vec![1, 1, 2, 2]);
    assert_close(&y.to_vec()?, &[2.5, 4.5, 10.5, 12.5]);
    Ok(())
}

#[test]
fn adaptive_pool_uses_pytorch_bins() -> Result<()> {
    // 5 -> 3 bins: [0,2), [1,4), [3,5).
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1, 1, 1, 5]);
    assert_close(&x.adaptive_avg_pool2d((1, 3))?.to_vec()?, &[1.5, 3.0, 4.5]);
    Ok(())
}

#[test]
fn nearest_and_max_pool() -> Result<()> {
    let x = t(&[1.0, 2.0], &[1, 1, 1, 2]);
    assert_close(
        &x.upsample_nearest2d((1, 4))?.to_vec()?,
        &[1.0, 1.0, 2.0, 2.0],
    );
    // Padding is -inf, so an all-negative input never pools to 0.
    let x = t(&[-1.0, -2.0, -3.0, -4.0], &[1, 1, 2, 2]);
    assert_close(&x.max_pool2d(3, 2, 1)?.to_vec()?, &[-1.0]);
    Ok(())
}

#[test]
fn argsort_is_stable_with_ties() -> Result<()> {
    let x = t(&[1.0, 3.0, 1.0, 3.0, 2.0], &[5]);
    assert_eq!(
        x.argsort(0, false)?.to_vec()?,
        vec![0.0, 2.0, 4.0, 1.0, 3.0]
    );
    assert_eq!(x.argsort(0, true)?.to_vec()?, vec![1.0, 3.0, 4.0, 0.0, 2.0]);
    // argmax takes the first maximum.
    assert_eq!(x.argmax_dim(0, false)?.to_vec()?, vec![1.0]);
    Ok(())
}

#[test]
fn zero_dim_tensors_work() -> Result<()> {
    let s = t(&[2.5], &[]);
    assert_eq!(s.shape(), Vec::<usize>::new());
    assert_eq!(s.to_vec()?, vec![2.5]);
    let f = T::full(-1.0, &[], &cpu())?;
    assert_eq!(s.add(&f)?.to_scalar()?, 1.5);
    assert_eq!(s.sum_all()?.to_scalar()?, 2.5);
    let b = s.broadcast_to(&[2, 2])?;
    assert_eq!(b.to_vec()?, vec![2.5; 4]);
    Ok(())
}

#[test]
fn layout_ops_give_row_major_data() -> Result<()> {
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(
        x.permute(&[1, 0])?.to_vec()?,
        vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    );
    assert_eq!(x.narrow(1, 1, 2)?.to_vec()?, vec![2.0, 3.0, 5.0, 6.0]);
    assert_eq!(
        x.permute(&[1, 0])?.reshape(&[6])?.to_vec()?,
        vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
    );
    assert_eq!(
        x.index_select(1, &[2, 0, 2])?.to_vec()?,
        vec![3.0, 1.0, 3.0, 6.0, 4.0, 6.0]
    );
    assert_eq!(T::cat(&[x.clone(), x.clone()], 0)?.shape(), vec![4, 3]);
    let row = t(&[1.0, 2.0, 3.0], &[3]);
    assert_eq!(
        x.cmp(&row, CmpOp::Eq)?.to_vec()?,
        vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    );
    assert_eq!(x.sum_dims(&[0], false)?.to_vec()?, vec![5.0, 7.0, 9.0]);
    assert_eq!(x.mean_dims(&[1], true)?.to_vec()?, vec![2.0, 5.0]);
    assert_eq!(
        x.affine(2.0, -1.0)?.to_vec()?,
        vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0]
    );
    Ok(())
}

#[test]
fn errors_name_the_op_without_a_cpp_stack_trace() {
    let a = t(&[1.0; 6], &[2, 3]);
    let e = a.matmul(&a).expect_err("2x3 @ 2x3 must fail");
    match e {
        Error::Backend { backend, op, msg } => {
            assert_eq!((backend, op), ("tch", "matmul"));
            assert!(!msg.contains("Exception raised from"), "{msg}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let e = a.index_select(1, &[3]).expect_err("index 3 of 3");
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
}
