//! Naive host implementations of PyTorch's conv2d, conv_transpose2d and
//! max_pool2d, written from the definitions, to check candle's results.

/// `conv2d` on row-major `x [b,ci,h,w]`, `wt [co,ci/g,kh,kw]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d(
    x: &[f32],
    xs: [usize; 4],
    wt: &[f32],
    ws: [usize; 4],
    stride: usize,
    pad: usize,
    dil: usize,
    groups: usize,
) -> (Vec<f32>, [usize; 4]) {
    let [b, ci, h, w] = xs;
    let [co, cig, kh, kw] = ws;
    let oh = (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1;
    let ow = (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1;
    let cog = co / groups;
    let mut out = vec![0f32; b * co * oh * ow];
    for n in 0..b {
        for o in 0..co {
            let g = o / cog;
            for y in 0..oh {
                for xx in 0..ow {
                    let mut acc = 0f64;
                    for c in 0..cig {
                        let cin = g * cig + c;
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (y * stride + i * dil) as isize - pad as isize;
                                let ix = (xx * stride + j * dil) as isize - pad as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let xv = x[((n * ci + cin) * h + iy as usize) * w + ix as usize];
                                let wv = wt[((o * cig + c) * kh + i) * kw + j];
                                acc += xv as f64 * wv as f64;
                            }
                        }
                    }
                    out[((n * co + o) * oh + y) * ow + xx] = acc as f32;
                }
            }
        }
    }
    (out, [b, co, oh, ow])
}

/// `conv_transpose2d` on `x [b,ci,h,w]`, `wt [ci,co,kh,kw]`.
pub(crate) fn conv_transpose2d(
    x: &[f32],
    xs: [usize; 4],
    wt: &[f32],
    ws: [usize; 4],
    stride: usize,
    pad: usize,
    out_pad: usize,
) -> (Vec<f32>, [usize; 4]) {
    let [b, ci, h, w] = xs;
    let [_, co, kh, kw] = ws;
    let oh = (h - 1) * stride + kh + out_pad - 2 * pad;
    let ow = (w - 1) * stride + kw + out_pad - 2 * pad;
    let mut out = vec![0f64; b * co * oh * ow];
    for n in 0..b {
        for c in 0..ci {
            for y in 0..h {
                for xx in 0..w {
                    let xv = x[((n * ci + c) * h + y) * w + xx] as f64;
                    for o in 0..co {
                        for i in 0..kh {
                            for j in 0..kw {
                                let oy = (y * stride + i) as isize - pad as isize;
                                let ox = (xx * stride + j) as isize - pad as isize;
                                if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                                    continue;
                                }
                                let wv = wt[((c * co + o) * kh + i) * kw + j] as f64;
                                out[((n * co + o) * oh + oy as usize) * ow + ox as usize] +=
                                    xv * wv;
                            }
                        }
                    }
                }
            }
        }
    }
    (out.iter().map(|&v| v as f32).collect(), [b, co, oh, ow])
}

/// `max_pool2d` values and, for each output, the flat input index of the
/// first maximum of its window (row-major scan, padding excluded).
pub(crate) fn max_pool2d(
    x: &[f32],
    xs: [usize; 4],
    k: usize,
    stride: usize,
    pad: usize,
) -> (Vec<f32>, Vec<usize>, [usize; 4]) {
    let [b, c, h, w] = xs;
    let oh = (h + 2 * pad - k) / stride + 1;
    let ow = (w + 2 * pad - k) / stride + 1;
    let mut vals = Vec::new();
    let mut arg = Vec::new();
    for p in 0..b * c {
        for y in 0..oh {
            for xx in 0..ow {
                let mut best = f32::NEG_INFINITY;
                let mut bi = usize::MAX;
                for i in 0..k {
                    for j in 0..k {
                        let iy = (y * stride + i) as isize - pad as isize;
                        let ix = (xx * stride + j) as isize - pad as isize;
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        let idx = (p * h + iy as usize) * w + ix as usize;
                        if bi == usize::MAX || x[idx] > best {
                            best = x[idx];
                            bi = idx;
                        }
                    }
                }
                vals.push(best);
                arg.push(bi);
            }
        }
    }
    (vals, arg, [b, c, oh, ow])
}
