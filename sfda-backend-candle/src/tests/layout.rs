//! Matmul broadcasting and the layout ops.

use sfda_core::grad;

use super::{assert_close, check_grad, randn, t, vals, var};

/// Host batched matmul of `[nb, m, k] x [nb, k, n]`.
fn host_bmm(a: &[f32], b: &[f32], nb: usize, m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut out = vec![0f32; nb * m * n];
    for z in 0..nb {
        for i in 0..m {
            for j in 0..n {
                out[(z * m + i) * n + j] = (0..k)
                    .map(|l| a[(z * m + i) * k + l] * b[(z * k + l) * n + j])
                    .sum();
            }
        }
    }
    out
}

#[test]
fn matmul_broadcasts_batch_dims() {
    let a = randn(2 * 2 * 3, 1); // [2, 1, 2, 3]
    let b = randn(3 * 3 * 2, 2); // [3, 3, 2]
    let y = t(&a, &[2, 1, 2, 3]).matmul(&t(&b, &[3, 3, 2])).unwrap();
    assert_eq!(y.shape(), vec![2, 3, 2, 2]);
    // Expand by hand: out[i, j] = a[i] @ b[j].
    let mut ea = Vec::new();
    let mut eb = Vec::new();
    for i in 0..2 {
        for j in 0..3 {
            ea.extend_from_slice(&a[i * 6..i * 6 + 6]);
            eb.extend_from_slice(&b[j * 6..j * 6 + 6]);
        }
    }
    assert_close(&vals(&y), &host_bmm(&ea, &eb, 6, 2, 3, 2), 1e-5);

    let va = var(&a, &[2, 1, 2, 3]);
    let vb = var(&b, &[3, 3, 2]);
    let loss = va.tensor().matmul(&vb.tensor()).unwrap().sum_all().unwrap();
    let g = grad(&loss, &[&va, &vb]).unwrap();
    assert_eq!(g[0].as_ref().unwrap().shape(), vec![2, 1, 2, 3]);
    assert_eq!(g[1].as_ref().unwrap().shape(), vec![3, 3, 2]);
    check_grad(|x| x.matmul(&t(&b, &[3, 3, 2])), &a, &[2, 1, 2, 3], 1e-2);
    check_grad(|x| t(&a, &[2, 1, 2, 3]).matmul(x), &b, &[3, 3, 2], 1e-2);
}

#[test]
fn matmul_with_transposed_and_2d_operands() {
    let a = randn(4 * 3, 3);
    let b = randn(4 * 2, 4);
    // aᵀ [3,4] @ b [4,2] through a transposed view.
    let at = t(&a, &[4, 3]).transpose(0, 1).unwrap();
    let y = at.matmul(&t(&b, &[4, 2])).unwrap();
    let mut a_t = vec![0f32; 12];
    for i in 0..4 {
        for j in 0..3 {
            a_t[j * 4 + i] = a[i * 3 + j];
        }
    }
    assert_close(&vals(&y), &host_bmm(&a_t, &b, 1, 3, 4, 2), 1e-5);
    // Batched lhs with a 2-D rhs, and a permuted batched operand.
    let x = randn(2 * 5 * 4, 5);
    let y = t(&x, &[2, 5, 4]).matmul(&t(&b, &[4, 2])).unwrap();
    assert_eq!(y.shape(), vec![2, 5, 2]);
    let bb: Vec<f32> = b.iter().chain(&b).copied().collect();
    assert_close(&vals(&y), &host_bmm(&x, &bb, 2, 5, 4, 2), 1e-5);
    let xp = t(&x, &[5, 2, 4]).permute(&[1, 0, 2]).unwrap(); // [2, 5, 4], strided
    let y = xp.matmul(&t(&b, &[4, 2])).unwrap();
    assert_eq!(y.shape(), vec![2, 5, 2]);
    check_grad(
        |x| x.permute(&[1, 0, 2])?.matmul(&t(&bb, &[2, 4, 2])),
        &x,
        &[5, 2, 4],
        1e-2,
    );
}

#[test]
fn matmul_vectors_like_pytorch() {
    let v = t(&[1.0, 2.0], &[2]);
    let m = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let dot = v.matmul(&v).unwrap();
    assert_eq!(dot.shape(), Vec::<usize>::new());
    assert_eq!(vals(&dot), [5.0]);
    let mv = m.matmul(&v).unwrap();
    assert_eq!(mv.shape(), vec![2]);
    assert_eq!(vals(&mv), [5.0, 11.0]);
    let vm = v.matmul(&m).unwrap();
    assert_eq!(vm.shape(), vec![2]);
    assert_eq!(vals(&vm), [7.0, 10.0]);
}

#[test]
fn layout_ops() {
    let data: Vec<f32> = (0..6).map(|v| v as f32).collect();
    let x = t(&data, &[2, 3]);
    let p = x.permute(&[1, 0]).unwrap();
    assert_eq!(vals(&p), [0., 3., 1., 4., 2., 5.]);
    // Reshape of a non-contiguous view copies in logical order.
    assert_eq!(vals(&p.reshape(&[6]).unwrap()), [0., 3., 1., 4., 2., 5.]);
    assert_eq!(vals(&x.narrow(1, 1, 2).unwrap()), [1., 2., 4., 5.]);
    let c = sfda_core::Tensor::cat(&[x.clone(), x.narrow(0, 0, 1).unwrap()], 0).unwrap();
    assert_eq!(c.shape(), vec![3, 3]);
    assert_eq!(vals(&c)[6..], [0., 1., 2.]);
    let b = t(&[1.0, 2.0, 3.0], &[3]).broadcast_to(&[2, 3]).unwrap();
    assert_eq!(vals(&b), [1., 2., 3., 1., 2., 3.]);
    let s = x.index_select(1, &[2, 0, 2]).unwrap();
    assert_eq!(vals(&s), [2., 0., 2., 5., 3., 5.]);
    let s = p.index_select(0, &[2]).unwrap();
    assert_eq!(vals(&s), [2., 5.]);
    let z = t(&[7.0], &[]);
    assert_eq!(z.reshape(&[1, 1]).unwrap().shape(), vec![1, 1]);
    assert_eq!(vals(&z.broadcast_to(&[2, 2]).unwrap()), [7.0; 4]);
}

#[test]
fn layout_gradients() {
    let x = var(&[1.0, 2.0, 3.0], &[3]);
    let s = x.tensor().index_select(0, &[0, 2, 2]).unwrap();
    let g = grad(&s.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [1.0, 0.0, 2.0]);
    let b = x.tensor().broadcast_to(&[4, 3]).unwrap();
    let g = grad(&b.sum_all().unwrap(), &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [4.0, 4.0, 4.0]);
    check_grad(
        |x| {
            let a = x.narrow(1, 1, 2)?.permute(&[1, 0])?;
            sfda_core::Tensor::cat(&[a.clone(), a], 1)?.reshape(&[16])
        },
        &randn(12, 6),
        &[4, 3],
        1e-2,
    );
}
