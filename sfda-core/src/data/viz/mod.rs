//! Pictures: the Cityscapes colour palette, colourised label maps and
//! side-by-side grids (image | ground truth | prediction) written as PNG,
//! and line plots ([`plot`]).

pub mod grid;
pub mod palette;
pub mod plot;

pub use grid::{prediction_grid, Grid};
pub use palette::{colorize, CITYSCAPES_PALETTE};
