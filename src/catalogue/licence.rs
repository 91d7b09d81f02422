//! Licences for self-hosting: who may run which weights commercially, for what fee and volume.

use super::{after_parse, check_provenance, parse_toml, Provenance};
use crate::error::Problems;
use crate::money::{de_usd, de_usd_opt, Usd};
use serde::{Deserialize, Serialize};

/// A licence or licence tier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Licence {
    /// `bfl-flux-2-builder`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Self-host profiles it covers.
    pub covers: Vec<String>,
    /// Fee [USD/month].
    pub monthly_fee_usd: Usd,
    /// Images included each month; `None` = unlimited.
    pub included_images_per_month: Option<u64>,
    /// Price of each image above the included volume [USD]; `None` with a limit = a hard cap.
    pub overage_usd_per_image: Option<Usd>,
    /// Source, date, and whether the fees are our placeholders.
    #[serde(flatten)]
    pub provenance: Provenance,
}

impl Licence {
    /// What a month with `images` self-hosted images costs under this licence; `None` when
    /// the volume is over a hard cap.
    pub fn monthly_cost(&self, images: rust_decimal::Decimal) -> Option<Usd> {
        match self.included_images_per_month {
            None => Some(self.monthly_fee_usd),
            Some(inc) => {
                let over =
                    (images - rust_decimal::Decimal::from(inc)).max(rust_decimal::Decimal::ZERO);
                if over.is_zero() {
                    Some(self.monthly_fee_usd)
                } else {
                    self.overage_usd_per_image
                        .map(|p| self.monthly_fee_usd + over * p)
                }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicence {
    name: String,
    #[serde(default)]
    covers: Vec<String>,
    #[serde(deserialize_with = "de_usd")]
    monthly_fee_usd: Usd,
    included_images_per_month: Option<u64>,
    #[serde(default, deserialize_with = "de_usd_opt")]
    overage_usd_per_image: Option<Usd>,
    source: String,
    as_of: chrono::NaiveDate,
    #[serde(default)]
    assumption: bool,
    note: Option<String>,
}

pub(super) fn parse(id: &str, text: &str) -> Result<Licence, Problems> {
    let (r, parsed) = parse_toml::<RawLicence>(text)?;
    let mut problems = Problems::default();
    if r.monthly_fee_usd.is_sign_negative() {
        problems.push(
            "monthly_fee_usd",
            format!(
                "{} is negative; expected a fee of 0 or more",
                r.monthly_fee_usd
            ),
        );
    }
    if let Some(o) = r.overage_usd_per_image {
        if o.is_sign_negative() {
            problems.push(
                "overage_usd_per_image",
                format!("{o} is negative; expected a price of 0 or more"),
            );
        }
        if r.included_images_per_month.is_none() {
            problems.push(
                "overage_usd_per_image",
                "is set but included_images_per_month is not; overage needs an included volume",
            );
        }
    }
    let provenance = Provenance {
        source: r.source,
        as_of: r.as_of,
        assumption: r.assumption,
        note: r.note,
    };
    check_provenance(&provenance, "", &mut problems);
    let problems = after_parse(parsed, problems);
    problems.finish(Licence {
        id: id.to_string(),
        name: r.name,
        covers: r.covers,
        monthly_fee_usd: r.monthly_fee_usd,
        included_images_per_month: r.included_images_per_month,
        overage_usd_per_image: r.overage_usd_per_image,
        provenance,
    })
}
