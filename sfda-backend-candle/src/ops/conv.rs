//! 2-D convolution and transposed convolution, with the shape checks candle
//! does not do (it would underflow).
//!
//! On the CPU both are single custom ops whose forward and both gradients
//! are one GEMM per image (see [`super::conv_gemm`]). Elsewhere
//! (CUDA) they are candle's kernels, with a workaround for its conv2d
//! backward: candle's conv2d backward rebuilds the input gradient with a transposed
//! convolution whose `output_padding` it derives from the *height* only; when
//! `(H + 2p - eff_k) mod stride` differs from the same quantity for the
//! width, the gradient comes out with the wrong width and backward fails. In
//! that case the input is zero-padded explicitly and cropped to the rows and
//! columns the windows actually read, so both remainders are 0.

use candle_core::Tensor;
use sfda_core::{Conv2dOpts, ConvTranspose2dOpts, Error, Result};

use super::conv_gemm::{Conv2dGemm, ConvTranspose2dGemm};
use super::im2col::Windows;
use crate::error::CandleResultExt;

/// `[B, C, H, W]` of a rank-4 tensor, or a shape error naming `what`.
pub(crate) fn dims4(t: &Tensor, op: &'static str, what: &str) -> Result<[usize; 4]> {
    match *t.dims() {
        [a, b, c, d] => Ok([a, b, c, d]),
        ref d => Err(Error::shape(op, format!("{what} must be 4-D, got {d:?}"))),
    }
}

/// Checks that `bias` is `[C]` for an output of `c` channels.
pub(crate) fn check_bias(bias: &[usize], c: usize, op: &'static str) -> Result<()> {
    if bias != [c] {
        return Err(Error::shape(
            op,
            format!("bias must be [{c}], got {bias:?}"),
        ));
    }
    Ok(())
}

/// PyTorch's `conv2d(x, w, bias, stride, padding, dilation, groups)`.
pub(crate) fn conv2d(
    x: &Tensor,
    w: &Tensor,
    o: Conv2dOpts,
) -> Result<(Tensor, Option<Conv2dGemm>)> {
    let op = "conv2d";
    let [_, cin, h, wd] = dims4(x, op, "input")?;
    let [cout, cin_g, kh, kw] = dims4(w, op, "weight")?;
    if o.stride == 0 || o.dilation == 0 || o.groups == 0 {
        return Err(Error::shape(
            op,
            format!("stride, dilation and groups must be positive, got {o:?}"),
        ));
    }
    if cin_g * o.groups != cin || cout % o.groups != 0 {
        return Err(Error::shape(
            op,
            format!(
                "input {:?} and weight {:?} do not match groups = {}",
                x.dims(),
                w.dims(),
                o.groups
            ),
        ));
    }
    let (p, s, d) = (o.padding, o.stride, o.dilation);
    let eff_h = d * (kh.max(1) - 1) + 1;
    let eff_w = d * (kw.max(1) - 1) + 1;
    if kh == 0 || kw == 0 || h + 2 * p < eff_h || wd + 2 * p < eff_w {
        return Err(Error::shape(
            op,
            format!(
                "kernel {kh}x{kw} (dilation {d}) larger than the padded input {}x{}",
                h + 2 * p,
                wd + 2 * p
            ),
        ));
    }
    let rem_h = (h + 2 * p - eff_h) % s;
    let rem_w = (wd + 2 * p - eff_w) % s;
    if x.device().is_cpu() && o.groups == 1 {
        let g = Windows {
            b: x.dim(0).op(op)?,
            c: cin,
            h,
            w: wd,
            kh,
            kw,
            stride: s,
            pad: p,
            dil: d,
            oh: (h + 2 * p - eff_h) / s + 1,
            ow: (wd + 2 * p - eff_w) / s + 1,
        };
        let (x, w) = (x.contiguous().op(op)?, w.contiguous().op(op)?);
        let gemm = Conv2dGemm { g, cout };
        return Ok((x.apply_op2(&w, gemm).op(op)?, Some(gemm)));
    }
    let y = if rem_h == rem_w {
        x.conv2d(w, p, s, d, o.groups).op(op)?
    } else {
        // See the module docs: pad by hand, crop to what the windows read.
        let oh = (h + 2 * p - eff_h) / s + 1;
        let ow = (wd + 2 * p - eff_w) / s + 1;
        let xp = x
            .pad_with_zeros(2, p, p)
            .op(op)?
            .pad_with_zeros(3, p, p)
            .op(op)?
            .narrow(2, 0, (oh - 1) * s + eff_h)
            .op(op)?
            .narrow(3, 0, (ow - 1) * s + eff_w)
            .op(op)?;
        xp.conv2d(w, 0, s, d, o.groups).op(op)?
    };
    Ok((y, None))
}

/// PyTorch's `conv_transpose2d(x, w, bias, stride, padding, output_padding)`
/// with `w [Cin, Cout, kh, kw]`.
pub(crate) fn conv_transpose2d(
    x: &Tensor,
    w: &Tensor,
    o: ConvTranspose2dOpts,
) -> Result<(Tensor, Option<ConvTranspose2dGemm>)> {
    let op = "conv_transpose2d";
    let [_, cin, h, wd] = dims4(x, op, "input")?;
    let [cin_k, _, kh, kw] = dims4(w, op, "weight")?;
    if cin != cin_k {
        return Err(Error::shape(
            op,
            format!(
                "input has {cin} channels, weight {:?} expects {cin_k}",
                w.dims()
            ),
        ));
    }
    let (p, s, op_) = (o.padding, o.stride, o.output_padding);
    if s == 0 || op_ >= s {
        return Err(Error::shape(
            op,
            format!("need stride >= 1 and output_padding < stride, got {o:?}"),
        ));
    }
    if h == 0 || wd == 0 || kh == 0 || kw == 0 {
        return Err(Error::shape(op, "empty input or kernel"));
    }
    let full_h = (h - 1) * s + kh + op_;
    let full_w = (wd - 1) * s + kw + op_;
    if full_h <= 2 * p || full_w <= 2 * p {
        return Err(Error::shape(
            op,
            format!("padding {p} removes the whole {full_h}x{full_w} output"),
        ));
    }
    if x.device().is_cpu() {
        let [b, _, _, _] = dims4(x, op, "input")?;
        let cout = w.dim(1).op(op)?;
        let g = Windows {
            b,
            c: cout,
            h: full_h - 2 * p,
            w: full_w - 2 * p,
            kh,
            kw,
            stride: s,
            pad: p,
            dil: 1,
            oh: h,
            ow: wd,
        };
        let (x, w) = (x.contiguous().op(op)?, w.contiguous().op(op)?);
        let gemm = ConvTranspose2dGemm { g, cin };
        return Ok((x.apply_op2(&w, gemm).op(op)?, Some(gemm)));
    }
    let y = x.conv_transpose2d(w, p, op_, s, 1).op(op)?;
    Ok((y, None))
}
