//! Gradients and variables of the tch backend.

use sfda_backend_tch::TchBackend;
use sfda_core::{grad, Backend, DeviceSpec, Result, Tensor, Var};

type T = Tensor<TchBackend>;

fn cpu() -> tch::Device {
    TchBackend::device(DeviceSpec::Cpu).expect("cpu")
}

#[test]
fn grad_of_square_is_two_x() -> Result<()> {
    let x = Var::new(&T::from_f32(&[3.0, -1.5, 0.0], &[3], &cpu())?)?;
    let loss = x.tensor().sqr()?.sum_all()?;
    let g = grad(&loss, &[&x])?;
    assert_eq!(
        g[0].as_ref().expect("gradient").to_vec()?,
        vec![6.0, -3.0, 0.0]
    );
    // The graph is kept: a second gradient from the same forward works.
    let again = grad(&loss, &[&x])?;
    assert_eq!(
        again[0].as_ref().expect("gradient").to_vec()?,
        vec![6.0, -3.0, 0.0]
    );
    Ok(())
}

#[test]
fn unused_var_yields_none() -> Result<()> {
    let a = Var::new(&T::from_f32(&[1.0], &[1], &cpu())?)?;
    let b = Var::new(&T::from_f32(&[2.0], &[1], &cpu())?)?;
    let g = grad(&a.tensor().sum_all()?, &[&a, &b])?;
    assert!(g[0].is_some() && g[1].is_none());
    // A loss with no variable in its history at all.
    let c = T::from_f32(&[1.0], &[], &cpu())?;
    let g = grad(&c, &[&a, &b])?;
    assert!(g.iter().all(Option::is_none));
    Ok(())
}

#[test]
fn var_set_is_seen_by_new_graphs_but_not_by_detached_copies() -> Result<()> {
    let v = Var::new(&T::from_f32(&[1.0, 2.0], &[2], &cpu())?)?;
    let snapshot = v.tensor().detach()?;
    v.set(&T::from_f32(&[3.0, -4.0], &[2], &cpu())?)?;
    assert_eq!(snapshot.to_vec()?, vec![1.0, 2.0]);
    let loss = v.tensor().sqr()?.sum_all()?;
    assert_eq!(
        grad(&loss, &[&v])?[0]
            .as_ref()
            .expect("gradient")
            .to_vec()?,
        vec![6.0, -8.0]
    );
    assert!(v.set(&T::from_f32(&[1.0], &[1], &cpu())?).is_err());
    Ok(())
}

#[test]
fn gradient_through_native_overrides() -> Result<()> {
    // d/dx Σ softmax(x)·w for x = 0 (uniform p = 1/2): p·(w - p·w) per entry.
    let x = Var::new(&T::from_f32(&[0.0, 0.0], &[1, 2], &cpu())?)?;
    let w = T::from_f32(&[1.0, 0.0], &[1, 2], &cpu())?;
    let loss = x.tensor().softmax(1)?.mul(&w)?.sum_all()?;
    let g = grad(&loss, &[&x])?[0].clone().expect("gradient").to_vec()?;
    assert_eq!(g, vec![0.25, -0.25]);
    Ok(())
}

#[test]
fn detach_of_a_tracked_tensor_blocks_the_gradient() -> Result<()> {
    // d/dx Σ x·stop(x) = stop(x).
    let x = Var::new(&T::from_f32(&[2.0, -3.0], &[2], &cpu())?)?;
    let y = x.tensor().mul(&x.tensor().detach()?)?.sum_all()?;
    let g = grad(&y, &[&x])?[0].clone().expect("gradient").to_vec()?;
    assert_eq!(g, vec![2.0, -3.0]);
    Ok(())
}

#[test]
fn var_from_another_vars_tensor_is_an_independent_leaf() -> Result<()> {
    let a = Var::new(&T::from_f32(&[1.0, 2.0], &[2], &cpu())?)?;
    let b = Var::new(&a.tensor().scale(2.0)?)?;
    a.set(&T::from_f32(&[0.0, 0.0], &[2], &cpu())?)?;
    assert_eq!(b.tensor().to_vec()?, vec![2.0, 4.0]);
    let g = grad(&b.tensor().sum_all()?, &[&a, &b])?;
    assert!(g[0].is_none());
    assert_eq!(g[1].as_ref().expect("gradient").to_vec()?, vec![1.0, 1.0]);
    Ok(())
}
