//! The page's form: the main inputs of a scenario as fields, each named by the `--set` key that
//! changes it (`demand.monthly.median`, `option.h100.fleet.gpus`), so that whatever the form
//! sends is an override the CLI takes as it is. Read from the scenario's own TOML: a field shows
//! the value the file has, or is empty where the file leaves the key out (the scenario's default
//! then holds until the field is filled in).

use crate::catalogue::Catalogue;
use crate::report::words::input_label;
use serde::Serialize;
use toml_edit::{DocumentMut, Item, Value};

/// One form field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    /// The `--set` key (`demand.monthly.median`).
    pub key: String,
    /// What it is, for people.
    pub label: String,
    /// The section of the form (`demand`, `mix`, `option h100`).
    pub group: String,
    /// The value in the file, as TOML without quotes; empty when the file leaves it out.
    pub value: String,
    /// The file writes the value as a string (exact dollar amounts, ids): the page quotes it.
    pub quoted: bool,
    /// The values it can take, when there are few (ids, policies); empty for free input.
    pub choices: Vec<String>,
}

/// Fleet policies, as the file writes them.
const POLICIES: [&str; 3] = ["fixed", "autoscaled", "serverless"];
/// Payments, as the file writes them.
const PAYMENTS: [&str; 5] = ["on-demand", "reserved", "spot", "serverless", "owned"];

/// The fields of scenario `text`; none when it is not TOML (the run then says why).
pub fn fields(text: &str, catalogue: &Catalogue) -> Vec<Field> {
    let Ok(doc) = text.parse::<DocumentMut>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let root = doc.as_item();
    let top = |k: &str| root.get(k);
    push(
        &mut out,
        "horizon",
        "horizon_months",
        "months simulated",
        top("horizon_months"),
        &[],
    );
    let demand = top("demand");
    for input in ["monthly", "growth"] {
        let key = format!("demand.{input}");
        dist_fields(
            &mut out,
            "demand",
            &key,
            &input_label(&key),
            demand.and_then(|d| d.get(input)),
        );
    }
    if let Some(mix) = top("mix").and_then(Item::as_array_of_tables) {
        for (i, b) in mix.iter().enumerate() {
            let what = b
                .get("name")
                .or_else(|| b.get("size"))
                .and_then(Item::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("bucket {}", i + 1));
            push(
                &mut out,
                "mix",
                &format!("mix[{i}].share"),
                &format!("share of {what}"),
                b.get("share"),
                &[],
            );
        }
    }
    let compare = ["all", "named"];
    push(
        &mut out,
        "market",
        "market.compare",
        "hosted offerings compared (all of the models' offerings, or only the named API options)",
        top("market").and_then(|m| m.get("compare")),
        &compare,
    );
    let apis: Vec<&str> = catalogue.apis.keys().map(String::as_str).collect();
    let gpus: Vec<&str> = catalogue.gpus.keys().map(String::as_str).collect();
    for o in top("option")
        .and_then(Item::as_array_of_tables)
        .into_iter()
        .flatten()
    {
        let Some(id) = o.get("id").and_then(Item::as_str) else {
            continue;
        };
        let group = format!("option {id}");
        let key = |k: &str| format!("option.{id}.{k}");
        if o.contains_key("api") {
            push(
                &mut out,
                &group,
                &key("api"),
                "API offering",
                o.get("api"),
                &apis,
            );
            dist_fields(
                &mut out,
                &group,
                &key("price_factor"),
                "API price (× catalogue)",
                o.get("price_factor"),
            );
            continue;
        }
        push(&mut out, &group, &key("gpu"), "GPU", o.get("gpu"), &gpus);
        push(
            &mut out,
            &group,
            &key("payment"),
            "payment",
            o.get("payment"),
            &PAYMENTS,
        );
        let fleet = o.get("fleet");
        push(
            &mut out,
            &group,
            &key("fleet.policy"),
            "fleet policy",
            fleet.and_then(|f| f.get("policy")),
            &POLICIES,
        );
        for (k, what) in [
            ("gpus", "GPUs (fixed fleet)"),
            ("min", "fewest GPUs"),
            ("max", "most GPUs"),
        ] {
            if let Some(v) = fleet.and_then(|f| f.get(k)) {
                push(
                    &mut out,
                    &group,
                    &key(&format!("fleet.{k}")),
                    what,
                    Some(v),
                    &[],
                );
            }
        }
        if o.contains_key("overflow") {
            push(
                &mut out,
                &group,
                &key("overflow"),
                "overflow API",
                o.get("overflow"),
                &apis,
            );
        }
        dist_fields(
            &mut out,
            &group,
            &key("ops_hours_per_month"),
            "ops hours per month",
            o.get("ops_hours_per_month"),
        );
        push(
            &mut out,
            &group,
            &key("ops_usd_per_hour"),
            "ops cost ($/hour)",
            o.get("ops_usd_per_hour"),
            &[],
        );
        dist_fields(
            &mut out,
            &group,
            &key("setup_usd"),
            "setup cost ($)",
            o.get("setup_usd"),
        );
    }
    out
}

/// One field for `item` (or an empty one where the file has none).
fn push(
    out: &mut Vec<Field>,
    group: &str,
    key: &str,
    label: &str,
    item: Option<&Item>,
    choices: &[&str],
) {
    let (value, quoted) = match item.and_then(Item::as_value) {
        Some(Value::String(s)) => (s.value().clone(), true),
        Some(v) => (v.to_string().trim().to_string(), false),
        None => (String::new(), !choices.is_empty()),
    };
    out.push(Field {
        key: key.to_string(),
        label: label.to_string(),
        group: group.to_string(),
        value,
        quoted,
        choices: choices.iter().map(|c| c.to_string()).collect(),
    });
}

/// An uncertain input: one field per parameter of its distribution (`median`, `p90`), or one
/// for the plain number the file writes.
fn dist_fields(out: &mut Vec<Field>, group: &str, key: &str, label: &str, item: Option<&Item>) {
    let table = item
        .and_then(|i| {
            i.as_inline_table().map(|t| {
                t.iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect::<Vec<_>>()
            })
        })
        .or_else(|| {
            item.and_then(Item::as_table).map(|t| {
                t.iter()
                    .filter_map(|(k, v)| Some((k.to_string(), v.as_value()?.clone())))
                    .collect()
            })
        });
    match table {
        Some(params) => {
            let dist = params
                .iter()
                .find(|(k, _)| k == "dist")
                .and_then(|(_, v)| v.as_str().map(str::to_string))
                .unwrap_or_default();
            for (k, v) in params.iter().filter(|(k, _)| k != "dist") {
                let item = Item::Value(v.clone());
                push(
                    out,
                    group,
                    &format!("{key}.{k}"),
                    &format!("{label}: {k} ({dist})"),
                    Some(&item),
                    &[],
                );
            }
        }
        None => push(out, group, key, label, item, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_the_files_keys_and_values() {
        let cat = Catalogue::builtin().unwrap();
        let text = crate::serve::shipped::find("startup-growth").unwrap().text;
        let f = fields(text, &cat);
        let get = |k: &str| {
            f.iter()
                .find(|x| x.key == k)
                .unwrap_or_else(|| panic!("no field {k}: {f:?}"))
        };
        assert_eq!(get("demand.monthly.median").value, "10_000");
        assert_eq!(get("demand.monthly.p90").value, "20_000");
        assert_eq!(get("demand.growth.mean").value, "0.22");
        assert_eq!(get("mix[1].share").value, "0.15");
        assert_eq!(get("mix[1].share").label, "share of banner 2 MP");
        assert_eq!(get("option.h100-plus-api.fleet.gpus").value, "1");
        assert_eq!(
            get("option.h100-autoscaled.fleet.policy").value,
            "autoscaled"
        );
        assert!(get("option.h100-autoscaled.fleet.policy").quoted);
        assert_eq!(get("option.h100-plus-api.ops_usd_per_hour").value, "100");
        assert!(get("option.h100-plus-api.ops_usd_per_hour").quoted);
        assert_eq!(
            get("option.h100-plus-api.ops_hours_per_month.mode").value,
            "15"
        );
        // Left out of the file: an empty field, the scenario's default holds.
        assert_eq!(get("option.h100-plus-api.setup_usd").value, "");
        assert_eq!(get("option.h100-plus-api.payment").value, "");
        assert_eq!(get("market.compare").value, "");
        assert!(get("option.h100-plus-api.gpu")
            .choices
            .contains(&"h100-sxm".to_string()));
        assert!(fields("not = [toml", &cat).is_empty());
    }
}
