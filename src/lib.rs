//! `breakeven`: keep paying per image for a hosted FLUX API, or self-host the open-weight models
//! on your own GPUs, and from what volume on? A Monte Carlo engine that prices every simulated
//! image exactly under each option and reports cost distributions and break-even volumes.
//!
//! The modules follow the data's path: [`catalogue`] (prices, GPUs, speeds, licences) →
//! [`pricing`] (exact per-image rules).
#![warn(missing_docs)]

pub mod catalogue;
pub mod dist;
pub mod error;
pub mod money;
pub mod pricing;

pub use catalogue::Catalogue;
pub use error::{Error, Problem, Problems, Result};
