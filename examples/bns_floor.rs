//! Study tool: where does the generator's `L_BNS` floor come from? Prints
//! the per-layer `L_BNS` (mean and variance parts) of real source batches
//! through the teacher, then trains a generator on `L_BNS` alone and prints
//! the same breakdown for its fakes.
//!
//! ```sh
//! cargo run --release --example bns_floor -- SOURCE.safetensors STEPS CHANNELS LR
//! ```

use std::sync::Arc;

use sfda_backend_tch::TchBackend as B;
use sfda_core::algo::fake_to_input;
use sfda_core::checkpoint::load_seg_model;
use sfda_core::data::{
    DataLoader, Domain, LoaderConfig, Split, SynthDataset, SynthSpec, Transform,
};
use sfda_core::model::{BnMode, BnStat, ForwardOpts, Generator};
use sfda_core::net::{DcganGenerator, GeneratorConfig};
use sfda_core::nn::VarStore;
use sfda_core::optim::{Adam, AdamConfig, Optimizer};
use sfda_core::train::batch_images;
use sfda_core::{grad, Backend, DeviceSpec, Result, SeedRng, Tensor, Var};

fn breakdown(stats: &[BnStat<B>]) -> Result<Vec<(String, f32, f32, f32)>> {
    let mut out = Vec::new();
    for s in stats {
        let m = s
            .batch_mean
            .sub(&s.running_mean)?
            .sqr()?
            .sum_all()?
            .to_scalar()?;
        let v = s
            .batch_var
            .sub(&s.running_var)?
            .sqr()?
            .sum_all()?
            .to_scalar()?;
        let rv = s.running_var.mean_all()?.to_scalar()?;
        out.push((s.name.clone(), m, v, rv));
    }
    Ok(out)
}

fn print(label: &str, b: &[(String, f32, f32, f32)]) {
    let tm: f32 = b.iter().map(|x| x.1).sum();
    let tv: f32 = b.iter().map(|x| x.2).sum();
    println!(
        "== {label}: total {:.3} (mean {:.3}, var {:.3})",
        tm + tv,
        tm,
        tv
    );
    for (n, m, v, rv) in b {
        println!("  {n:<40} mean {m:>9.3} var {v:>9.3}  (running var avg {rv:.3})");
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let source = std::path::PathBuf::from(&args[1]);
    let steps: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(200);
    let channels: Vec<usize> = args
        .get(3)
        .map(|s| s.split(',').map(|c| c.parse().unwrap()).collect())
        .unwrap_or(vec![64, 32, 16, 16, 8]);
    let lr: f64 = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(1e-3);
    let (fh, fw): (usize, usize) = (
        args.get(5).map(|s| s.parse().unwrap()).unwrap_or(64),
        args.get(6).map(|s| s.parse().unwrap()).unwrap_or(128),
    );
    let dev = B::device(DeviceSpec::Cpu)?;
    let tvs = VarStore::<B>::new(dev, 1);
    let (teacher, meta) = load_seg_model::<B>(&source, &tvs.root())?;
    let opts = ForwardOpts {
        bn: BnMode::Eval,
        collect_bn_stats: true,
    };
    for (w, h) in [(fw as u32, fh as u32), (256, 128)] {
        let spec = SynthSpec::new(Domain::Source, Split::Val, 16).with_size(256, 128);
        let mut lc = LoaderConfig::eval(8);
        lc.labels = false;
        lc.transform = Transform::eval(Some([w, h]));
        let loader = DataLoader::new(Arc::new(SynthDataset::checked(spec)?), lc)?;
        let batch = loader.epoch(0).next().unwrap()?;
        let x = batch_images::<B>(&batch, &dev)?;
        let t = teacher.forward(&x, opts)?;
        print(&format!("real source {w}x{h}"), &breakdown(&t.bn_stats)?);
    }
    let gvs = VarStore::<B>::new(dev, 7);
    let gcfg = GeneratorConfig {
        latent_dim: 256,
        image_size: (fh, fw),
        channels,
    };
    let g = DcganGenerator::new(&gvs.root(), &gcfg)?;
    let vars: Vec<Var<B>> = g
        .named_vars()
        .into_iter()
        .filter(|v| v.trainable)
        .map(|v| v.var)
        .collect();
    let mut opt = Adam::new(
        vars.clone(),
        AdamConfig {
            lr,
            beta1: 0.5,
            ..AdamConfig::default()
        },
    );
    let mut rng = SeedRng::derive(0, "z");
    let t0 = std::time::Instant::now();
    for step in 0..=steps {
        let z = Tensor::<B>::randn(&[8, 256], 0.0, 1.0, &mut rng, &dev)?;
        let x = fake_to_input(&g.forward(&z, true)?, &meta.normalization)?;
        let t = teacher.forward(&x, opts)?;
        let mut total: Option<Tensor<B>> = None;
        for s in &t.bn_stats {
            let l = s
                .batch_mean
                .sub(&s.running_mean)?
                .sqr()?
                .sum_all()?
                .add(&s.batch_var.sub(&s.running_var)?.sqr()?.sum_all()?)?;
            total = Some(match total {
                None => l,
                Some(a) => a.add(&l)?,
            });
        }
        let total = total.unwrap();
        if step % 50 == 0 {
            println!(
                "step {step} bns {:.3} ({:.1}s)",
                total.to_scalar()?,
                t0.elapsed().as_secs_f32()
            );
        }
        if step == steps {
            print("fakes", &breakdown(&t.bn_stats)?);
            let xs = x.to_vec()?;
            let n = xs.len() as f32;
            let mean = xs.iter().sum::<f32>() / n;
            let var = xs.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
            println!("fake input mean {mean:.3} var {var:.3}");
            break;
        }
        let refs: Vec<&Var<B>> = vars.iter().collect();
        let grads = grad(&total, &refs)?;
        opt.step(&grads)?;
    }
    Ok(())
}
