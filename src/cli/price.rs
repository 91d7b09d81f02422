//! `breakeven price`: what one request costs, and why.

use breakeven::pricing::{quote, Request, Size};
use breakeven::Catalogue;

/// Flags of `price`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// API offering id, like bfl/flux-2-klein-4b.
    pub model: String,
    /// Output size WIDTHxHEIGHT.
    #[arg(long, default_value = "1024x1024")]
    pub size: Size,
    /// An input image size; repeat for several.
    #[arg(long = "input")]
    pub inputs: Vec<Size>,
    /// Steps, where the offering bills by GPU time.
    #[arg(long)]
    pub steps: Option<u32>,
    /// Images in the request.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Use the price in force on this date (YYYY-MM-DD); default the newest.
    #[arg(long)]
    pub as_of: Option<chrono::NaiveDate>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let api = catalogue.api(&a.model)?;
    let q = quote(
        catalogue,
        api,
        &Request {
            size: a.size,
            inputs: a.inputs,
            steps: a.steps,
            count: a.count,
        },
        a.as_of,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&q)?);
    } else {
        for l in &q.explanation {
            println!("{l}");
        }
    }
    Ok(())
}
