//! The integration tests, as one test binary: each file is a module. One binary links the
//! library once (nineteen binaries linked it nineteen times, most of the first `cargo test`'s
//! build), and its tests share the two cores instead of running file after file.

mod analysis;
mod bad_input;
mod catalogue;
mod charts;
mod cli_models_price;
mod common;
mod engine;
mod faults;
mod hardening;
mod interrupt;
mod ledger;
mod market;
mod planner;
mod pricing;
mod report;
mod scenarios;
mod serve;
mod serving;
mod shards;
mod verdicts;
