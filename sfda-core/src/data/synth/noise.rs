//! Smooth value noise (bilinear-interpolated random lattice with smoothstep
//! weights), precomputed over the image; the texture of the target domain.

use crate::rng::SeedRng;

/// A noise field over a `width × height` image, values in `[-1, 1]`.
#[derive(Debug, Clone)]
pub struct NoiseField {
    data: Vec<f32>,
}

fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

impl NoiseField {
    /// A field whose lattice cells are `cell` pixels wide (`cell >= 1`).
    pub fn new(rng: &mut SeedRng, width: u32, height: u32, cell: f32) -> Self {
        let cell = cell.max(1.0);
        let gw = (width as f32 / cell).ceil() as usize + 2;
        let gh = (height as f32 / cell).ceil() as usize + 2;
        let lattice = rng.uniform_vec(gw * gh, -1.0, 1.0);
        let axis = |n: u32| -> Vec<(usize, f32)> {
            (0..n)
                .map(|i| {
                    let f = i as f32 / cell;
                    (f as usize, smooth(f.fract()))
                })
                .collect()
        };
        let xs = axis(width);
        let ys = axis(height);
        let mut data = Vec::with_capacity(width as usize * height as usize);
        for &(iy, ty) in &ys {
            let r0 = &lattice[iy * gw..(iy + 1) * gw];
            let r1 = &lattice[(iy + 1) * gw..(iy + 2) * gw];
            for &(ix, tx) in &xs {
                let a = r0[ix] + (r0[ix + 1] - r0[ix]) * tx;
                let b = r1[ix] + (r1[ix + 1] - r1[ix]) * tx;
                data.push(a + (b - a) * ty);
            }
        }
        NoiseField { data }
    }

    /// The value at pixel index `i` (row-major).
    #[inline]
    pub fn at(&self, i: usize) -> f32 {
        self.data[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_deterministic() {
        let a = NoiseField::new(&mut SeedRng::new(3), 37, 11, 4.0);
        let b = NoiseField::new(&mut SeedRng::new(3), 37, 11, 4.0);
        assert_eq!(a.data, b.data);
        assert_eq!(a.data.len(), 37 * 11);
        assert!(a.data.iter().all(|v| (-1.0..=1.0).contains(v)));
    }
}
