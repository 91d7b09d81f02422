//! `breakeven price`: what one request costs on one API, and why.

use breakeven::pricing::{format_usd_exact, images, quote, Quote, Request, Size};
use breakeven::Catalogue;
use chrono::NaiveDate;

pub const EXAMPLES: &str = "Examples:
  breakeven price bfl/flux-2-klein-4b --size 1024x2048      # $0.015: first MP + one extra
  breakeven price bfl/flux-2-pro --input 1024x1024           # inputs billed per MP
  breakeven price bfl/flux-2-flex --as-of 2026-01-01         # the price before a change
  breakeven price fal/flux-2-klein-4b --count 40k --json";

/// Flags of `price`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// API offering id, like bfl/flux-2-klein-4b (`breakeven models --kind api` lists them).
    pub model: String,
    /// Output size in pixels.
    #[arg(
        long,
        default_value = "1024x1024",
        value_name = "WxH",
        allow_hyphen_values = true
    )]
    pub size: Size,
    /// An input (reference) image's size in pixels; repeat for several.
    #[arg(long = "input", value_name = "WxH", allow_hyphen_values = true)]
    pub inputs: Vec<Size>,
    /// Steps, where the offering bills by GPU time (default: the offering's).
    #[arg(long, value_name = "N", value_parser = parse_steps, allow_negative_numbers = true)]
    pub steps: Option<u32>,
    /// Images in the request.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_count, allow_negative_numbers = true)]
    pub count: u64,
    /// Use the price in force on this date (default: the newest price).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Print one JSON object, dollar amounts as exact decimal strings.
    #[arg(long)]
    pub json: bool,
}

/// Price the request and print the quote.
pub fn run(catalogue: &Catalogue, a: Args) -> anyhow::Result<()> {
    let api = catalogue.api(&a.model)?;
    let req = Request {
        size: a.size,
        inputs: a.inputs,
        steps: a.steps,
        count: a.count,
    };
    let q = quote(catalogue, api, &req, a.as_of)?;
    let out = if a.json {
        serde_json::to_string_pretty(&q)?
    } else {
        let when = match a.as_of {
            Some(d) => format!("the price in force on {d}"),
            None => "the newest price".into(),
        };
        let prices = api.prices.len();
        let on_file = format!(
            "{prices} price{} on file",
            if prices == 1 { "" } else { "s" }
        );
        // `quote` has found this price already; it is looked up again for its headline.
        let (headline, assumption) = api
            .price_on(a.as_of)
            .map(|p| (p.rule.headline(), p.provenance.assumption))
            .unwrap_or_default();
        let assumed = if assumption {
            "; an assumption, no source publishes it"
        } else {
            ""
        };
        explain(
            &q,
            &api.name,
            &headline,
            &format!("{when}, {on_file}{assumed}"),
        )
    };
    super::models::emit(&out)
}

/// The quote for people: what was priced, under which price, the arithmetic, the total.
fn explain(q: &Quote, name: &str, headline: &str, when: &str) -> String {
    let mut out = vec![
        format!("model   {} ({name})", q.model),
        format!("rule    {}: {headline}", q.rule),
        format!("as of   {} ({when})", q.as_of),
        format!("source  {}", q.source),
        String::new(),
    ];
    out.extend(q.explanation.iter().map(|l| format!("  {l}")));
    out.push(String::new());
    out.push(format!(
        "total   {} for {}",
        format_usd_exact(q.total_usd),
        images(q.count)
    ));
    out.join("\n")
}

/// `--count`: a whole number of images, at least 1.
/// `--count`: images, with a suffix if wanted (`10k`).
fn parse_count(s: &str) -> Result<u64, String> {
    match super::common::count_u64(s) {
        Ok(0) => Err("0 is not a number of images; expected 1 or more".into()),
        Ok(n) => Ok(n),
        Err(_) => positive(s, "images"),
    }
}

/// `--steps`: a whole number of steps, at least 1; the offering's range is checked later.
fn parse_steps(s: &str) -> Result<u32, String> {
    let n = positive(s, "steps")?;
    u32::try_from(n).map_err(|_| format!("{n} steps is far too many; expected a few dozen at most"))
}

fn positive(s: &str, what: &str) -> Result<u64, String> {
    match s.trim().parse::<i128>() {
        Ok(n) if n < 1 => Err(format!("{n} is not a number of {what}; expected 1 or more")),
        Ok(n) => {
            u64::try_from(n).map_err(|_| format!("{n} is too large; expected at most {}", u64::MAX))
        }
        Err(_) => Err(format!(
            "\"{s}\" is not a whole number; expected a number of {what}, 1 or more"
        )),
    }
}

/// `--as-of`: a calendar date.
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("\"{s}\" is not a date; expected YYYY-MM-DD, like 2026-01-28"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_steps_are_whole_and_positive() {
        assert_eq!(parse_count("4"), Ok(4));
        assert_eq!(
            parse_count("0"),
            Err("0 is not a number of images; expected 1 or more".into())
        );
        assert_eq!(
            parse_count("-3"),
            Err("-3 is not a number of images; expected 1 or more".into())
        );
        assert!(parse_count("2.5")
            .unwrap_err()
            .contains("not a whole number"));
        assert!(parse_count("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(parse_steps("28"), Ok(28));
        assert!(parse_steps("0").unwrap_err().contains("expected 1 or more"));
        assert!(parse_steps("5000000000")
            .unwrap_err()
            .contains("far too many"));
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(
            parse_date("2026-01-01"),
            Ok(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap())
        );
        assert!(parse_date("01/01/2026")
            .unwrap_err()
            .contains("expected YYYY-MM-DD"));
        assert!(parse_date("2026-02-30").is_err());
    }
}
