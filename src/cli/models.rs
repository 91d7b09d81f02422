//! `breakeven models`: the catalogue as a table or JSON.

use breakeven::Catalogue;

/// Flags of `models`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this kind of entity.
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Entity kinds.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Kind {
    Api,
    Gpu,
    Selfhost,
    Licence,
}

pub fn run(catalogue: &Catalogue, args: Args) -> anyhow::Result<()> {
    let _ = args.kind;
    if args.json {
        println!("{}", serde_json::to_string_pretty(catalogue)?);
    } else {
        for (id, a) in &catalogue.apis {
            if let Some(p) = a.prices.last() {
                println!(
                    "{id}\t{}\t{}\t{}",
                    p.rule.headline(),
                    p.provenance.as_of,
                    p.provenance.source
                );
            }
        }
    }
    Ok(())
}
