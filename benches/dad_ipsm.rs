//! criterion benches of the two cores the SFDA method adds on top of a
//! segmentation network: the dual attention module with the DAD losses
//! (paper eq. 6–10) and the IPSM patch ranking (eq. 13–14), for every
//! compiled-in backend and every device it can open.
//!
//! Bench ids read `GROUP/BACKEND/DEVICE/SIZE/NAME`. `demo` is the demo
//! preset's scale (deeplabv3-mini backbone features of a 256×128 batch of 8:
//! `[8, 128, 16, 32]`; logits `[8, 19, 128, 256]`); `paper` is the paper's
//! (DeepLabV3-ResNet50 features at 512×256, output stride 8, batch 8:
//! `[8, 2048, 32, 64]`; logits `[8, 19, 256, 512]`).
//!
//! Each bench's throughput is its floating-point operation count
//! (criterion prints it as `elem/s`: read **FLOP/s**); the counts, printed
//! once at start-up, are the matrix products and soft-maxes of eq. 8–10
//! (`2·m·n·k` per product, 5 per soft-max entry) — element-wise work is left
//! out, so the figure is a lower bound of the work done.
//!
//! Paper-size attention is ~0.1–1 TFLOP a call; on a CPU that is seconds per
//! sample, so those benches run on CPU devices only with `SFDA_BENCH_PAPER=1`
//! (always on CUDA). `SFDA_BENCH_DEVICES=cpu,cuda:0` limits the devices.
//!
//! The benches run with the `sfda` binary's glibc malloc settings
//! (`src/malloc_tuning.rs`, the same file), so they time the allocator the
//! binary has: without them every fresh activation-sized buffer costs page
//! faults, which made DAD-ss forward + backward 13 % (tch) and 34 % (candle)
//! slower on the 2-core machine than in `sfda` itself
//! (`docs/measurements/criterion-malloc/`). Setting `GLIBC_TUNABLES` skips
//! them, as it does in the binary.
//!
//! ```text
//! cargo bench --bench dad_ipsm                      # every backend, demo size on CPU
//! cargo bench --bench dad_ipsm -- 'dad/tch'          # one backend
//! SFDA_BENCH_PAPER=1 cargo bench --bench dad_ipsm    # paper size on CPU too
//! ```

use std::time::Duration;

#[path = "../src/malloc_tuning.rs"]
mod malloc_tuning;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use sfda_backend_candle::CandleBackend;
use sfda_backend_tch::TchBackend;
use sfda_core::ipsm::{patch_mean_entropy, split_patches, EntropyRanker, PatchRanker};
use sfda_core::loss::{dad_ss_loss, dad_st_loss, DualAttention, FeatureScale, StPairing};
use sfda_core::{grad, Backend, DeviceSpec, SeedRng, Tensor, Var};

/// One problem size.
struct Size {
    name: &'static str,
    /// Backbone features `[B, C, H, W]`.
    features: [usize; 4],
    /// Segmentation logits `[B, classes, H, W]`.
    logits: [usize; 4],
    /// Pool size of DAD-st (the loss's default).
    st_pool: (usize, usize),
    /// Patch grid `K`.
    k: usize,
    /// Expensive enough to need opting in on CPU.
    heavy: bool,
}

const SIZES: [Size; 2] = [
    Size {
        name: "demo",
        features: [8, 128, 16, 32],
        logits: [8, 19, 128, 256],
        st_pool: (8, 16),
        k: 4,
        heavy: false,
    },
    Size {
        name: "paper",
        features: [8, 2048, 32, 64],
        logits: [8, 19, 256, 512],
        st_pool: (8, 16),
        k: 4,
        heavy: true,
    },
];

/// FLOPs of the dual attention of `[b, c, h, w]` (eq. 8–10): the two
/// affinity products, the two soft-maxes and the two mixing products.
fn attention_flops(f: [usize; 4]) -> u64 {
    let [b, c, h, w] = f.map(|v| v as u64);
    let n = h * w;
    let spatial = 2 * n * n * c + 5 * n * n; // F·Fᵀ and softmax   (eq. 8)
    let channel = 2 * c * c * n + 5 * c * c; // Fᵀ·F and softmax   (eq. 9)
    let mix = 2 * n * n * c + 2 * n * c * c; // S·F and F·Rᵀ        (eq. 10)
    b * (spatial + channel + mix)
}

/// FLOPs of the spatial map alone (eq. 8).
fn spatial_flops(f: [usize; 4]) -> u64 {
    let [b, c, h, w] = f.map(|v| v as u64);
    let n = h * w;
    b * (2 * n * n * c + 5 * n * n)
}

/// FLOPs of the channel map alone (eq. 9).
fn channel_flops(f: [usize; 4]) -> u64 {
    let [b, c, h, w] = f.map(|v| v as u64);
    let n = h * w;
    b * (2 * c * c * n + 5 * c * c)
}

fn devices<B: Backend>() -> Vec<DeviceSpec> {
    let wanted = std::env::var("SFDA_BENCH_DEVICES").ok();
    B::available_devices()
        .into_iter()
        .filter(|d| match &wanted {
            Some(list) => list.split(',').any(|w| w.trim() == d.to_string()),
            None => true,
        })
        .collect()
}

fn paper_on_cpu() -> bool {
    std::env::var("SFDA_BENCH_PAPER").is_ok_and(|v| v == "1")
}

/// Runs `f` and waits for the device, so asynchronous (CUDA) work is timed.
fn timed<B: Backend, T>(dev: &B::Device, f: impl Fn() -> sfda_core::Result<T>) -> T {
    let out = f().expect("bench body failed");
    B::synchronize(dev).expect("synchronize failed");
    out
}

fn bench_dad<B: Backend>(c: &mut Criterion) {
    for spec in devices::<B>() {
        let dev = B::device(spec).expect("device");
        for size in &SIZES {
            if size.heavy && spec == DeviceSpec::Cpu && !paper_on_cpu() {
                continue;
            }
            let f = size.features;
            let mut rng = SeedRng::new(0);
            let teacher = Tensor::<B>::randn(&f, 0.5, 1.0, &mut rng, &dev)
                .and_then(|t| t.relu())
                .expect("teacher features");
            let student = Var::new(
                &Tensor::<B>::randn(&f, 0.5, 1.0, &mut rng, &dev)
                    .and_then(|t| t.relu())
                    .expect("student features"),
            )
            .expect("student var");
            let scale = FeatureScale::default();
            let mut g = c.benchmark_group(format!("dad/{}/{spec}/{}", B::NAME, size.name));
            if size.heavy {
                g.sample_size(10).warm_up_time(Duration::from_millis(500));
            }
            let a = attention_flops(f);
            g.throughput(Throughput::Elements(spatial_flops(f)));
            g.bench_function("spatial_map_NxN", |bch| {
                bch.iter(|| timed::<B, _>(&dev, || DualAttention::new(&teacher, scale)?.spatial()))
            });
            g.throughput(Throughput::Elements(channel_flops(f)));
            g.bench_function("channel_map_CxC", |bch| {
                bch.iter(|| timed::<B, _>(&dev, || DualAttention::new(&teacher, scale)?.channel()))
            });
            g.throughput(Throughput::Elements(a));
            g.bench_function("full_A", |bch| {
                bch.iter(|| timed::<B, _>(&dev, || DualAttention::new(&teacher, scale)?.map()))
            });
            g.throughput(Throughput::Elements(2 * a));
            g.bench_function("dad_ss_forward", |bch| {
                bch.iter(|| {
                    timed::<B, _>(&dev, || {
                        dad_ss_loss(&teacher, &student.tensor(), scale, None)
                    })
                })
            });
            // Backward of the student's attention ≈ twice its forward.
            g.throughput(Throughput::Elements(2 * a + 2 * a));
            g.bench_function("dad_ss_forward_backward", |bch| {
                bch.iter(|| {
                    timed::<B, _>(&dev, || {
                        let l = dad_ss_loss(&teacher, &student.tensor(), scale, None)?;
                        grad(&l, &[&student])
                    })
                })
            });
            let (ph, pw) = size.st_pool;
            let pooled = [f[0], f[1], ph, pw];
            g.throughput(Throughput::Elements(2 * attention_flops(pooled)));
            g.bench_function(
                BenchmarkId::new("dad_st_forward_backward_pool", format!("{ph}x{pw}")),
                |bch| {
                    bch.iter(|| {
                        timed::<B, _>(&dev, || {
                            let l = dad_st_loss(
                                &teacher,
                                &student.tensor(),
                                scale,
                                size.st_pool,
                                StPairing::default(),
                            )?;
                            grad(&l, &[&student])
                        })
                    })
                },
            );
            g.finish();
        }
    }
}

fn bench_ipsm<B: Backend>(c: &mut Criterion) {
    for spec in devices::<B>() {
        let dev = B::device(spec).expect("device");
        for size in &SIZES {
            let l = size.logits;
            let mut rng = SeedRng::new(1);
            let logits = Tensor::<B>::randn(&l, 0.0, 2.0, &mut rng, &dev).expect("logits");
            let mut g = c.benchmark_group(format!("ipsm/{}/{spec}/{}", B::NAME, size.name));
            // Entropy: softmax + log + product + sum ≈ 8 FLOPs per logit.
            let entropy_flops = 8 * l.iter().map(|&v| v as u64).product::<u64>();
            g.throughput(Throughput::Elements(entropy_flops));
            g.bench_function("patch_entropy_eq13", |bch| {
                bch.iter(|| timed::<B, _>(&dev, || patch_mean_entropy(&logits, size.k)))
            });
            g.bench_function("rank_eq14", |bch| {
                bch.iter(|| timed::<B, _>(&dev, || EntropyRanker.rank(&logits, size.k)))
            });
            // The split is a pure copy: report bytes, not FLOPs.
            g.throughput(Throughput::Bytes(
                4 * l.iter().map(|&v| v as u64).product::<u64>(),
            ));
            g.bench_function("split_patches", |bch| {
                bch.iter(|| timed::<B, _>(&dev, || split_patches(&logits, size.k)))
            });
            g.finish();
        }
    }
}

fn print_flop_counts() {
    eprintln!("FLOP counts (throughput below is FLOP/s where criterion says elem/s):");
    for s in &SIZES {
        let f = s.features;
        eprintln!(
            "  {:5} features {:?}: spatial map {:.3} GFLOP, channel map {:.3} GFLOP, full A {:.3} GFLOP",
            s.name,
            f,
            spatial_flops(f) as f64 / 1e9,
            channel_flops(f) as f64 / 1e9,
            attention_flops(f) as f64 / 1e9
        );
    }
}

fn all(c: &mut Criterion) {
    print_flop_counts();
    bench_dad::<TchBackend>(c);
    bench_dad::<CandleBackend>(c);
    bench_ipsm::<TchBackend>(c);
    bench_ipsm::<CandleBackend>(c);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = all
}
/// `criterion_main!` with the binary's malloc settings applied first, before
/// any thread exists.
fn main() {
    malloc_tuning::keep_freed_memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
