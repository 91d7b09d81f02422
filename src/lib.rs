//! `breakeven`: keep paying per image for a hosted FLUX API, or self-host the open-weight models
//! on your own GPUs, and from what volume on? A Monte Carlo engine that prices every simulated
//! image exactly under each option and reports cost distributions and break-even volumes.
//!
//! The modules follow the data's path: [`catalogue`] (prices, GPUs, speeds, licences) →
//! [`scenario`] (what a team expects) → [`demand`] (hours of a month) → [`pricing`] (exact
//! per-image rules) → [`fleet`] (self-hosted capacity and its cost) → [`engine`] (paths,
//! batches, seeds, threads) → [`stats`].
#![warn(missing_docs)]

pub mod analysis;
pub mod catalogue;
pub mod count;
pub mod demand;
pub mod dist;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod ids;
pub mod limits;
pub mod linalg;
pub mod money;
pub mod names;
pub mod pricing;
pub mod queue;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod serverless;
pub mod shard;
pub mod stats;

pub use catalogue::Catalogue;
pub use error::{Error, Problem, Problems, Result};
