//! Host-side resampling matrices shared by every backend: PyTorch's bilinear
//! (`align_corners = false`) and adaptive-average-pooling rules, as dense
//! `[out, in]` row-major matrices.

/// Bilinear interpolation weights from `n_in` to `n_out` samples
/// (`align_corners = false`, source index clamped at 0 as PyTorch does).
pub fn bilinear_matrix(n_in: usize, n_out: usize) -> Vec<f32> {
    let mut m = vec![0f32; n_out * n_in];
    let scale = n_in as f64 / n_out as f64;
    for o in 0..n_out {
        let src = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (src.floor() as usize).min(n_in - 1);
        let i1 = (i0 + 1).min(n_in - 1);
        let l1 = src - i0 as f64;
        let l0 = 1.0 - l1;
        m[o * n_in + i0] += l0 as f32;
        m[o * n_in + i1] += l1 as f32;
    }
    m
}

/// Adaptive average pooling weights from `n_in` to `n_out` bins: bin `o`
/// averages `[floor(o·n_in/n_out), ceil((o+1)·n_in/n_out))`.
pub fn adaptive_pool_matrix(n_in: usize, n_out: usize) -> Vec<f32> {
    let mut m = vec![0f32; n_out * n_in];
    for o in 0..n_out {
        let start = (o * n_in) / n_out;
        let end = ((o + 1) * n_in).div_ceil(n_out);
        let w = 1.0 / (end - start) as f32;
        for i in start..end {
            m[o * n_in + i] = w;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_rows_sum_to_one_and_identity_when_same_size() {
        let m = bilinear_matrix(5, 9);
        for r in m.chunks(5) {
            assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let id = bilinear_matrix(4, 4);
        for i in 0..4 {
            for j in 0..4 {
                assert_eq!(id[i * 4 + j], if i == j { 1.0 } else { 0.0 });
            }
        }
    }

    #[test]
    fn bilinear_downsample_by_two_averages_pairs() {
        // align_corners=false, 4 -> 2: src = 0.5 and 2.5.
        let m = bilinear_matrix(4, 2);
        assert_eq!(m, vec![0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]);
    }

    #[test]
    fn adaptive_pool_bins_overlap_like_pytorch() {
        // 5 -> 3: bins [0,2), [1,4), [3,5)
        let m = adaptive_pool_matrix(5, 3);
        assert_eq!(&m[0..5], &[0.5, 0.5, 0.0, 0.0, 0.0]);
        let third = 1.0 / 3.0;
        assert_eq!(&m[5..10], &[0.0, third, third, third, 0.0]);
        assert_eq!(&m[10..15], &[0.0, 0.0, 0.0, 0.5, 0.5]);
    }
}
