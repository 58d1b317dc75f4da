//! Dual attention distillation (DAD), paper eq. 6 and 7: distances between
//! the dual attention (eq. 8–10, [`DualAttention`]) of two feature maps.
//!
//! ```text
//! L_DAD^ss = E_x̃ ( (1/M) ‖A(F̃ˢ(x̃)) − A(Fˢ(x̃))‖₁ )                              (eq. 6)
//! L_DAD^st = E_x̃ [ D_KL(S(F̃ˢ(x̃)), S(Fᵗ(x_t))) ] + E_x̃ [ D_KL(R(F̃ˢ(x̃)), R(Fᵗ(x_t))) ]  (eq. 7)
//! ```
//!
//! - **ss** (teacher vs student on the *same* fake batch): the mean absolute
//!   difference of the dual attention maps, `M = N·2C` entries per image,
//!   averaged over the batch. Optionally both maps are adaptive-average
//!   pooled first (memory: `S` is `N×N`).
//! - **st** (teacher on fakes vs student on target images): the paper's KL
//!   divergence between attention *distributions* (every row of `S` and `R`
//!   is a softmax), `D_KL(P, Q) = Σ_i P_i (log P_i − log Q_i)` with `P` from
//!   the teacher on fakes and `Q` from the student on target images (the
//!   order eq. 7 writes them in), summed over a row, averaged over rows and
//!   images; the `S` and `R` terms are added. Fake and target images differ
//!   in size. The paper (sec. 4.1.2) applies adaptive pooling to the target
//!   features before the DAM; we pool both maps to a common `(h, w)` (our
//!   choice: the fakes' `N` must equal the target's for the row-wise KL), and
//!   they must have the same channel count.
//!   The batches are unpaired data, so the paper does not say which fake goes
//!   with which target image; [`StPairing`] chooses.

use serde::{Deserialize, Serialize};

use crate::loss::attention::{DualAttention, FeatureScale};
use crate::tensor::{Backend, Tensor};
use crate::{Error, Result};

/// How fake and target images are paired in `L_DAD^st` (eq. 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StPairing {
    /// Fake `i` is compared with target image `i mod B_t` (default: the
    /// literal expectation over `x̃`, one target per fake; batches of equal
    /// size pair one to one).
    #[default]
    Index,
    /// The attention maps are averaged over each batch (an average of row
    /// distributions is a row distribution) and the two batch means are
    /// compared: a distribution-level match, independent of the order of
    /// the images.
    BatchMean,
}

/// `L_DAD^ss` (eq. 6) between the teacher's and the student's feature maps
/// `[B, C, H, W]` on the same fake batch, optionally pooled to `pool = (h, w)`.
pub fn dad_ss_loss<B: Backend>(
    teacher: &Tensor<B>,
    student: &Tensor<B>,
    scale: FeatureScale,
    pool: Option<(usize, usize)>,
) -> Result<Tensor<B>> {
    if teacher.shape() != student.shape() {
        return Err(Error::shape(
            "dad_ss_loss",
            format!(
                "teacher features {:?} and student features {:?} differ; DAD-ss compares two \
                 networks of the same architecture on the same fake batch",
                teacher.shape(),
                student.shape()
            ),
        ));
    }
    let (t, s) = match pool {
        Some(size) => (pooled(teacher, size)?, pooled(student, size)?),
        None => (teacher.clone(), student.clone()),
    };
    let at = DualAttention::new(&t, scale)?.map()?;
    let as_ = DualAttention::new(&s, scale)?.map()?;
    at.sub(&as_)?.abs()?.mean_all()
}

/// `L_DAD^st` (eq. 7) between the teacher's features on fakes
/// `[B_f, C, H_f, W_f]` and the student's features on target images
/// `[B_t, C, H_t, W_t]`, both pooled to `pool = (h, w)`.
pub fn dad_st_loss<B: Backend>(
    teacher_fake: &Tensor<B>,
    student_target: &Tensor<B>,
    scale: FeatureScale,
    pool: (usize, usize),
    pairing: StPairing,
) -> Result<Tensor<B>> {
    let (ts, ss) = (teacher_fake.shape(), student_target.shape());
    if ts.len() != 4 || ss.len() != 4 || ts[1] != ss[1] || ts[0] == 0 || ss[0] == 0 {
        return Err(Error::shape(
            "dad_st_loss",
            format!(
                "expected non-empty feature maps [B, C, H, W] with the same C, got teacher-on-fake \
                 {ts:?} and student-on-target {ss:?}"
            ),
        ));
    }
    let p = DualAttention::new(&pooled(teacher_fake, pool)?, scale)?;
    let q = DualAttention::new(&pooled(student_target, pool)?, scale)?;
    let (bf, bt) = (ts[0], ss[0]);
    match pairing {
        StPairing::Index => {
            let idx: Vec<usize> = (0..bf).map(|i| i % bt).collect();
            let kl_s = row_kl(
                &p.spatial()?,
                &p.log_spatial()?,
                &q.log_spatial()?.index_select(0, &idx)?,
            )?;
            let kl_r = row_kl(
                &p.channel()?,
                &p.log_channel()?,
                &q.log_channel()?.index_select(0, &idx)?,
            )?;
            kl_s.add(&kl_r)
        }
        StPairing::BatchMean => {
            let (ps, qs) = (
                p.spatial()?.mean_dims(&[0], true)?,
                q.spatial()?.mean_dims(&[0], true)?,
            );
            let (pr, qr) = (
                p.channel()?.mean_dims(&[0], true)?,
                q.channel()?.mean_dims(&[0], true)?,
            );
            let kl_s = row_kl(&ps, &safe_log(&ps)?, &safe_log(&qs)?)?;
            let kl_r = row_kl(&pr, &safe_log(&pr)?, &safe_log(&qr)?)?;
            kl_s.add(&kl_r)
        }
    }
}

/// Mean over rows (and images) of `Σ_i P_i (log P_i − log Q_i)` along the
/// last dim.
fn row_kl<B: Backend>(p: &Tensor<B>, log_p: &Tensor<B>, log_q: &Tensor<B>) -> Result<Tensor<B>> {
    let last = p.rank() - 1;
    p.mul(&log_p.sub(log_q)?)?
        .sum_dims(&[last], false)?
        .mean_all()
}

/// `log(max(p, 1e-30))`: a batch mean of softmax rows can underflow to 0.
fn safe_log<B: Backend>(p: &Tensor<B>) -> Result<Tensor<B>> {
    let floor = Tensor::<B>::scalar(1e-30, &p.device())?;
    p.maximum(&floor)?.log()
}

fn pooled<B: Backend>(x: &Tensor<B>, size: (usize, usize)) -> Result<Tensor<B>> {
    if size.0 == 0 || size.1 == 0 {
        return Err(Error::Config {
            key: "pool".into(),
            msg: format!("attention pooling size must be positive, got {size:?}"),
        });
    }
    let s = x.shape();
    if s.len() == 4 && (s[2], s[3]) == size {
        return Ok(x.clone());
    }
    x.adaptive_avg_pool2d(size)
}
