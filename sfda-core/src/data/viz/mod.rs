//! Pictures: the Cityscapes colour palette, colourised label maps and
//! side-by-side grids (image | ground truth | prediction, with column
//! headers and a class legend) written as PNG, and titled line plots with
//! axes, tick values and legends ([`plot`]), all text in the embedded font
//! ([`font`]).

pub mod font;
pub mod grid;
pub mod palette;
pub mod plot;

pub use grid::{prediction_grid, Grid};
pub use palette::{colorize, CITYSCAPES_PALETTE};
