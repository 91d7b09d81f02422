//! Build a scenario in code, run it, and print the verdict: the library without the CLI.
//!
//! `cargo run --example verdict -- 250000` compares the klein 4B API with one H100 (plus API
//! overflow) at 250,000 images a month, give or take 30%; `cargo test` builds it.

use breakeven::engine::{self, Engine, RunConfig};
use breakeven::report::summary::{Provenance, RunSummary};
use breakeven::report::table;
use breakeven::scenario::Scenario;
use breakeven::Catalogue;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let monthly: f64 = match std::env::args().nth(1) {
        Some(v) => v.parse()?,
        None => 250_000.0,
    };
    let catalogue = Catalogue::builtin()?;
    let text = format!(
        r#"
name = "example"
description = "klein 4B: the BFL API against one H100 with overflow"
horizon_months = 12
[market]
compare = "named"
[demand]
monthly = {{ dist = "lognormal", median = {monthly}, p90 = {p90} }}
profile = "business-hours"
[[mix]]
size = "1024x1024"
share = 1.0
[[option]]
id = "api"
api = "bfl/flux-2-klein-4b"
[[option]]
id = "h100"
selfhost = "flux-2-klein-4b"
gpu = "h100-sxm"
offer = "runpod-community"
fleet = {{ policy = "fixed", gpus = 1 }}
overflow = "bfl/flux-2-klein-4b"
ops_hours_per_month = 15
ops_usd_per_hour = "100"
"#,
        p90 = monthly * 1.3
    );
    let scenario = Scenario::parse(&text, "example.toml", "example", &catalogue)?;
    let engine = Engine::new(scenario, &catalogue)?;
    let cfg = RunConfig::new(1_000, 7);
    let result = engine::run(&engine, &cfg, engine::unwatched())?;
    let provenance = Provenance::new(&engine, &catalogue.origin, cfg.seed, cfg.sampler);
    let summary = RunSummary::new(&engine, &result, provenance, None);
    print!("{}", table::render(&summary));
    Ok(())
}
