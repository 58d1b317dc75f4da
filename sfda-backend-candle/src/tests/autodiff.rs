//! Variables and gradients.

use sfda_core::{grad, Backend, Tensor, Var};

use super::{dev, randn, t, vals, var};
use crate::CandleBackend;

#[test]
fn grad_of_square_is_two_x() {
    let x = var(&[1.0, -2.0, 0.5], &[3]);
    let y = x.tensor().sqr().unwrap().sum_all().unwrap();
    let g = grad(&y, &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [2.0, -4.0, 1.0]);
    // Same through mul(x, x).
    let y = x.tensor().mul(&x.tensor()).unwrap().sum_all().unwrap();
    let g = grad(&y, &[&x]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), [2.0, -4.0, 1.0]);
}

#[test]
fn unused_variable_has_no_gradient() {
    let x = var(&[1.0, 2.0], &[2]);
    let unused = var(&[3.0], &[1]);
    let y = x.tensor().sum_all().unwrap();
    let g = grad(&y, &[&x, &unused]).unwrap();
    assert!(g[0].is_some());
    assert!(g[1].is_none());
    // Through a detached path or an argmax there is no gradient either.
    let y = x.tensor().detach().unwrap().sum_all().unwrap();
    assert!(grad(&y, &[&x]).unwrap()[0].is_none());
    let y = x.tensor().argmax_dim(0, false).unwrap().sum_all().unwrap();
    assert!(grad(&y, &[&x]).unwrap()[0].is_none());
}

#[test]
fn var_new_copies_and_detaches() {
    let src = var(&[1.0, 2.0], &[2]);
    let copy = Var::new(&src.tensor()).unwrap();
    src.set(&t(&[5.0, 6.0], &[2])).unwrap();
    assert_eq!(vals(&copy.tensor()), [1.0, 2.0]);
    // The copy is a leaf of its own: no gradient reaches `src` through it.
    let y = copy.tensor().sum_all().unwrap();
    let g = grad(&y, &[&src, &copy]).unwrap();
    assert!(g[0].is_none());
    assert!(g[1].is_some());
}

#[test]
fn var_set_accepts_views_of_itself_and_keeps_snapshots() {
    let v = var(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let snapshot = v.tensor().detach().unwrap();
    // A value derived from the variable's own storage (a transposed view).
    let tr = v.tensor().transpose(0, 1).unwrap();
    v.set(&tr).unwrap();
    assert_eq!(vals(&v.tensor()), [1.0, 3.0, 2.0, 4.0]);
    assert_eq!(vals(&snapshot), [1.0, 2.0, 3.0, 4.0]);
    let bad = t(&[1.0, 2.0], &[2]);
    assert!(v.set(&bad).is_err());
    // Updates are seen by new graphs.
    let y = v.tensor().sum_all().unwrap();
    assert_eq!(y.to_scalar().unwrap(), 10.0);
}

#[test]
fn zero_dim_tensors() {
    let d = dev();
    let s = Tensor::<CandleBackend>::from_f32(&[2.5], &[], &d).unwrap();
    assert_eq!(s.shape(), Vec::<usize>::new());
    assert_eq!(s.to_vec().unwrap(), vec![2.5]);
    let f = Tensor::<CandleBackend>::full(1.5, &[], &d).unwrap();
    assert_eq!(f.to_scalar().unwrap(), 1.5);
    let x = t(&[1.0, 2.0], &[2]);
    assert_eq!(vals(&x.mul(&s).unwrap()), [2.5, 5.0]);
    assert!(Tensor::<CandleBackend>::from_f32(&[1.0, 2.0], &[], &d).is_err());
    assert!(CandleBackend::from_f32(&[1.0, 2.0], &[3], &d).is_err());
}

#[test]
fn probe_job_runs_through_the_registry() {
    let entry = sfda_core::dispatch::backend_by_name("candle").unwrap();
    assert_eq!(entry.name, "candle");
    let out = (entry.run)(sfda_core::DeviceSpec::Cpu, &sfda_core::dispatch::Job::Probe).unwrap();
    #[allow(unreachable_patterns)]
    match out {
        sfda_core::dispatch::JobOutput::Probe { device, value, .. } => {
            assert_eq!(device, sfda_core::DeviceSpec::Cpu);
            assert!(value.is_finite());
        }
        other => panic!("unexpected output {other:?}"),
    }
}

/// A fused op's backward computes an operand's gradient only when the tape
/// says it is needed; outside a scope (candle's own autodiff), every tracked
/// operand is; the scope ends with the call, also when it panics.
#[test]
fn needed_scope_decides_which_operands_need_gradients() {
    use crate::wanted::{needs_grad, with_needed};
    let a = candle_core::Tensor::new(&[1f32, 2.0][..], &dev()).unwrap();
    let b = candle_core::Tensor::new(&[3f32][..], &dev()).unwrap();
    let tracked = candle_core::Var::new(&[1f32][..], &dev()).unwrap();
    with_needed(&[(&a, true), (&b, false)], || {
        assert!(needs_grad(&a));
        assert!(!needs_grad(&b));
        assert!(!needs_grad(tracked.as_tensor()), "only the listed operands");
    });
    assert!(!needs_grad(&a), "untracked outside a scope");
    assert!(needs_grad(tracked.as_tensor()), "tracked outside a scope");
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        with_needed(&[(&a, true), (&b, false)], || panic!("inside"))
    }));
    assert!(
        needs_grad(tracked.as_tensor()),
        "the scope ends when the pass panics"
    );
}

/// The tape visits only what leads to a wanted variable: the gradient of a
/// variable on another branch is not asked of any rule, and a variable the
/// loss does not depend on gets `None`.
#[test]
fn tape_prunes_branches_without_wanted_variables() {
    let a = var(&[1.0, 2.0], &[2]);
    let b = var(&[3.0, 4.0], &[2]);
    let c = var(&[5.0], &[1]);
    let loss = a.tensor().mul(&b.tensor()).unwrap().sum_all().unwrap();
    let g = grad(&loss, &[&a, &c]).unwrap();
    assert_eq!(vals(g[0].as_ref().unwrap()), vec![3.0, 4.0]);
    assert!(g[1].is_none());
}

/// A convolution whose weight is not asked for still passes the right
/// gradient to its input (the skipped weight gradient changes nothing else).
#[test]
fn conv_input_gradient_without_weight_gradient() {
    let x = var(&randn(2 * 3 * 6 * 5, 1), &[2, 3, 6, 5]);
    let w = var(&randn(4 * 3 * 3 * 3, 2), &[4, 3, 3, 3]);
    let opts = sfda_core::Conv2dOpts {
        padding: 1,
        ..Default::default()
    };
    let loss = |x: &Var<CandleBackend>| {
        let y = x.tensor().conv2d(&w.tensor(), None, opts).unwrap();
        y.sqr().unwrap().sum_all().unwrap()
    };
    let both = grad(&loss(&x), &[&x, &w]).unwrap();
    let only_x = grad(&loss(&x), &[&x]).unwrap();
    assert_eq!(
        vals(only_x[0].as_ref().unwrap()),
        vals(both[0].as_ref().unwrap())
    );
    assert!(vals(both[1].as_ref().unwrap()).iter().any(|&v| v != 0.0));
}

/// A tensor with several consumers sums their gradients, and the graph
/// survives a backward pass: `y = x·x + 3x` twice gives `2x + 3` both times.
#[test]
fn shared_tensors_accumulate_and_graphs_are_reusable() {
    let x = var(&[1.0, -2.0, 0.5], &[3]);
    let xt = x.tensor();
    let y = xt
        .mul(&xt)
        .unwrap()
        .add(&xt.scale(3.0).unwrap())
        .unwrap()
        .sum_all()
        .unwrap();
    let first = grad(&y, &[&x]).unwrap();
    let second = grad(&y, &[&x]).unwrap();
    assert_eq!(vals(first[0].as_ref().unwrap()), [5.0, -1.0, 4.0]);
    assert_eq!(
        vals(first[0].as_ref().unwrap()),
        vals(second[0].as_ref().unwrap())
    );
}

/// A multi-output op (the fused per-channel moments) passes the gradient of
/// the one output that is used: d mean / dx = 1/n for every element.
#[test]
fn one_output_of_a_multi_output_op() {
    let x = var(&randn(2 * 3 * 2 * 2, 7), &[2, 3, 2, 2]);
    let (mean, _var) = x.tensor().channel_moments().unwrap();
    let g = grad(&mean.sum_all().unwrap(), &[&x]).unwrap();
    for v in vals(g[0].as_ref().unwrap()) {
        assert!((v - 0.125).abs() < 1e-7, "{v}");
    }
}

/// The rules that take candle's autodiff on a recomputation (here
/// `maximum` with a constant operand) give the right gradient and none to
/// the constant.
#[test]
fn candle_autodiff_rules_differentiate_only_what_is_needed() {
    let x = var(&[1.0, -2.0, 3.0], &[3]);
    let c = t(&[0.0, 0.0, 3.0], &[3]);
    let y = x.tensor().maximum(&c).unwrap().sum_all().unwrap();
    let g = grad(&y, &[&x]).unwrap();
    // Ties split the gradient in half, as in PyTorch.
    assert_eq!(vals(g[0].as_ref().unwrap()), [1.0, 0.0, 0.5]);
}
