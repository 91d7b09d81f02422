//! `--set KEY=VALUE`: what-ifs without editing the scenario file.
//!
//! Keys are the dotted names the sensitivity analysis and the correlations use for inputs
//! (`demand.monthly`, `option.h100.speed_factor`), extended to every key of the file:
//! `demand.monthly.median`, `option.h100.fleet.gpus`, `horizon_months`, `mix[0].share` (or
//! `mix.0.share`), `stage.draft.per_asset`. An `[[option]]` is named by its `id`, a `[[stage]]`
//! or `[[mix]]` entry by its `name` or its place.
//!
//! The overrides are applied to the parsed TOML document (`toml_edit`, so comments and layout
//! stay), and the resulting text is validated exactly as a file is: the same checks and the
//! same messages, an unknown key named with the nearest known one. The messages then say which
//! `--set` a problem came from, and positions are mapped back to lines of the file as written.
//! The effective text is what the outputs record.

use crate::error::{Problem, Problems};
use std::fmt;
use toml_edit::{DocumentMut, Item, Table, Value};

/// One `--set KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// Dotted key, as written.
    pub key: String,
    /// The value as written: TOML (`2`, `"h100-sxm"`, `{ dist = "fixed", value = 3 }`), a bare
    /// word (taken as a string), or a count with a suffix (`60k`, `1.5M`).
    pub value: String,
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

impl std::str::FromStr for Override {
    type Err = String;
    /// `KEY=VALUE`; the message says what was expected.
    fn from_str(s: &str) -> Result<Override, String> {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            format!("\"{s}\" has no '='; expected KEY=VALUE, like demand.monthly.median=60000")
        })?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || v.is_empty() {
            return Err(format!(
                "\"{s}\" has an empty key or value; expected KEY=VALUE, like option.h100.fleet.gpus=2"
            ));
        }
        Ok(Override {
            key: k.to_string(),
            value: v.to_string(),
        })
    }
}

/// The scenario after its overrides.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The effective scenario, as TOML.
    pub text: String,
    /// For each line of `text`, the line of the original it is (0-based); `None` where the
    /// line was written by an override.
    lines: Vec<Option<usize>>,
    /// Each override with the file's key path it set (`option[1].fleet.gpus`).
    paths: Vec<(String, Override)>,
}

/// One step down a key path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[2].c`.
fn path_text(p: &[Step]) -> String {
    let mut s = String::new();
    for step in p {
        match step {
            Step::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Split `a.b[2].c` into its parts: keys, and indexes written `[i]`.
fn split_key(key: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && (out.is_empty() || rest.is_empty()) {
            return Err(
                "has an empty part; expected dotted names like demand.monthly.median".into(),
            );
        }
        if !name.is_empty() {
            out.push(Step::Key(name.to_string()));
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or("has a '[' without ']'; expected an index like mix[0]")?;
            let i = r[..end]
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("index \"{}\" is not a number; expected mix[0]", &r[..end]))?;
            out.push(Step::Index(i));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return Err(format!(
                "has \"{rest}\" after an index; expected a '.' before the next name"
            ));
        }
    }
    Ok(out)
}

/// `60k` → 60000, `1.5M` → 1500000 (see [`crate::count::parse_count`]); `None` if not a count.
fn count_value(v: &str) -> Option<Value> {
    let x = crate::count::parse_count(v).ok()?;
    Some(if x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    })
}

/// The value of an override: TOML if it parses as a value, else a count with a suffix, else
/// the text as a string (so `gpu=h100-sxm` needs no quotes).
fn parse_value(v: &str) -> Value {
    if let Ok(doc) = format!("v = {v}").parse::<DocumentMut>() {
        if let Some(Item::Value(x)) = doc.get("v") {
            if doc.len() == 1 {
                let mut x = x.clone();
                x.decor_mut().clear();
                return x;
            }
        }
    }
    count_value(v).unwrap_or_else(|| Value::from(v))
}

/// Where the item an override names is, in words, for messages.
fn kind_of(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "a list of tables",
        Item::Value(Value::InlineTable(_)) => "a table",
        Item::Value(Value::Array(_)) => "a list",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) | Item::Value(Value::Float(_)) => "a number",
        Item::Value(Value::Boolean(_)) => "true or false",
        Item::Value(Value::Datetime(_)) => "a date",
    }
}

/// Resolve `option.<id>`, `stage.<name>`, `mix.<name>`: an entry of a list of tables named by
/// its `id`/`name` field, by its place (`mix.0`), or by `[i]`. Returns the steps with the name
/// replaced by its index.
fn resolve(doc: &DocumentMut, steps: Vec<Step>) -> Result<Vec<Step>, String> {
    let mut it = steps.into_iter();
    let head = match it.next() {
        Some(Step::Key(k)) => k,
        Some(Step::Index(_)) => return Err("starts with an index; expected a name".into()),
        None => return Err("is empty".into()),
    };
    let mut out = vec![Step::Key(head.clone())];
    // Only the entries of a list of tables have names.
    let Some(Item::ArrayOfTables(list)) = doc.get(&head) else {
        out.extend(it);
        return Ok(out);
    };
    let field = if head == "option" { "id" } else { "name" };
    let names: Vec<String> = list
        .iter()
        .map(|t| {
            t.get(field)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        })
        .collect();
    let mut rest: Vec<Step> = it.collect();
    let index = match rest.first().cloned() {
        None => {
            return Err(format!(
                "names the whole [[{head}]] list; expected {head}.<{field}>.KEY"
            ))
        }
        Some(Step::Index(i)) => {
            rest.remove(0);
            i
        }
        Some(Step::Key(k)) => {
            // An id may hold dots: take the longest id the key starts with.
            let mut name = String::new();
            let mut found = None;
            for (j, s) in rest.iter().enumerate() {
                let Step::Key(part) = s else { break };
                if j > 0 {
                    name.push('.');
                }
                name.push_str(part);
                if let Some(p) = names.iter().position(|n| *n == name) {
                    found = Some((p, j + 1));
                }
            }
            match (found, k.parse::<usize>()) {
                (Some((p, used)), _) => {
                    rest.drain(..used);
                    p
                }
                (None, Ok(i)) => {
                    rest.remove(0);
                    i
                }
                (None, Err(_)) => {
                    let known: Vec<String> =
                        names.iter().filter(|n| !n.is_empty()).cloned().collect();
                    return Err(format!(
                        "{}; expected {head}.<{field}>.KEY",
                        crate::catalogue::unknown(&head, &k, known.iter())
                    ));
                }
            }
        }
    };
    if index >= list.len() {
        return Err(format!(
            "the scenario has {} [[{head}]] entries; expected an index from 0 to {}",
            list.len(),
            list.len().saturating_sub(1)
        ));
    }
    out.push(Step::Index(index));
    out.extend(rest);
    Ok(out)
}

/// Set `value` at `steps` below `item`, making missing tables on the way (inline, as a
/// distribution would be written). `at` is the path so far, for messages.
fn set_in(item: &mut Item, steps: &[Step], value: Value, at: &mut Vec<Step>) -> Result<(), String> {
    let Some((step, rest)) = steps.split_first() else {
        return Err("is empty".into());
    };
    match step {
        Step::Index(i) => {
            at.push(step.clone());
            let parent = path_text(&at[..at.len() - 1]);
            match item {
                Item::ArrayOfTables(a) => {
                    let len = a.len();
                    let Some(t) = a.get_mut(*i) else {
                        return Err(format!(
                            "{parent} has {len} entries; expected an index from 0 to {}",
                            len.saturating_sub(1)
                        ));
                    };
                    if rest.is_empty() {
                        return Err(format!(
                            "names a whole [[{parent}]] entry; expected a key inside it"
                        ));
                    }
                    set_in_like(t, rest, value, at)
                }
                Item::Value(Value::Array(a)) => {
                    let len = a.len();
                    let Some(old) = a.get_mut(*i) else {
                        return Err(format!(
                            "{parent} has {len} values; expected an index from 0 to {}",
                            len.saturating_sub(1)
                        ));
                    };
                    if rest.is_empty() {
                        let mut value = value;
                        *value.decor_mut() = old.decor().clone();
                        *old = value;
                        return Ok(());
                    }
                    match old {
                        Value::InlineTable(t) => set_in_like(t, rest, value, at),
                        v => Err(format!(
                            "{} is {}, not a table",
                            path_text(at),
                            kind_of(&Item::Value(v.clone()))
                        )),
                    }
                }
                other => Err(format!(
                    "{parent} is {}, not a list; expected a key without [{i}]",
                    kind_of(other)
                )),
            }
        }
        Step::Key(_) => match item {
            Item::Table(t) => set_in_like(t, steps, value, at),
            Item::Value(Value::InlineTable(_)) => {
                let t = item
                    .as_table_like_mut()
                    .ok_or_else(|| format!("{} is not a table", path_text(at)))?;
                set_in_like(t, steps, value, at)
            }
            other => Err(format!(
                "{} is {}, not a table: set {} itself{}",
                path_text(at),
                kind_of(other),
                path_text(at),
                if matches!(other, Item::Value(Value::Integer(_) | Value::Float(_))) {
                    ", or make it a distribution with a whole table, like { dist = \"lognormal\", median = 60000, p90 = 90000 }"
                } else {
                    ""
                }
            )),
        },
    }
}

fn set_in_like(
    t: &mut dyn toml_edit::TableLike,
    steps: &[Step],
    value: Value,
    at: &mut Vec<Step>,
) -> Result<(), String> {
    let Some((Step::Key(k), rest)) = steps.split_first() else {
        return Err(format!("{} is a table, not a list", path_text(at)));
    };
    at.push(Step::Key(k.clone()));
    if rest.is_empty() {
        match t.get_mut(k) {
            Some(Item::Value(old)) => {
                let decor = old.decor().clone();
                let mut value = value;
                *value.decor_mut() = decor;
                *old = value;
            }
            Some(slot) => *slot = Item::Value(value),
            None => {
                t.insert(k, Item::Value(value));
            }
        }
        return Ok(());
    }
    if t.get(k).is_none() {
        t.insert(k, Item::Value(Value::InlineTable(Default::default())));
    }
    let child = t.get_mut(k).expect("inserted above");
    set_in(child, rest, value, at)
}

/// Which line of `orig` each line of `new` is (`None` for lines written by an override), for
/// texts that differ in a few lines: walk both, and where they differ take the shortest run
/// of inserted or deleted lines that brings them back in step (else one replaced line).
fn line_map(orig: &str, new: &str) -> Vec<Option<usize>> {
    let a: Vec<&str> = orig.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(b.len());
    const LOOK: usize = 200;
    while i < b.len() {
        if j < a.len() && b[i] == a[j] {
            out.push(Some(j));
            i += 1;
            j += 1;
            continue;
        }
        let inserted = (1..LOOK).find(|k| i + k < b.len() && j < a.len() && b[i + k] == a[j]);
        let deleted = (1..LOOK).find(|d| j + d < a.len() && a[j + d] == b[i]);
        match (inserted, deleted) {
            (Some(k), Some(d)) if d < k => j += d,
            (_, Some(d)) if inserted.is_none() => j += d,
            (Some(k), _) => {
                out.extend(std::iter::repeat_n(None, k));
                i += k;
            }
            _ => {
                out.push(None);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Apply `sets` to the scenario `text` read from `file`. Problems name the file and the key.
pub fn apply(text: &str, file: &str, sets: &[Override]) -> Result<Applied, Problems> {
    let mut doc: DocumentMut = match text.parse() {
        Ok(d) => d,
        // The file's own syntax errors are reported by the normal path, with their positions.
        Err(_) => {
            return Ok(Applied {
                text: text.to_string(),
                lines: (0..text.lines().count()).map(Some).collect(),
                paths: Vec::new(),
            })
        }
    };
    let mut problems = Problems::default();
    let mut paths = Vec::new();
    for s in sets {
        let fail = |why: String| Problem {
            file: file.to_string(),
            key: s.key.clone(),
            message: format!("{why} (in --set {s})"),
        };
        let steps = match split_key(&s.key).and_then(|st| resolve(&doc, st)) {
            Ok(st) => st,
            Err(why) => {
                problems.0.push(fail(why));
                continue;
            }
        };
        let value = parse_value(&s.value);
        let mut at = Vec::new();
        let root: &mut Table = doc.as_table_mut();
        match set_in_like(root, &steps, value, &mut at) {
            Ok(()) => paths.push((path_text(&steps), s.clone())),
            Err(why) => problems.0.push(fail(why)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let new = doc.to_string();
    Ok(Applied {
        lines: line_map(text, &new),
        text: new,
        paths,
    })
}

/// True when key path `a` is `b` or under it (`option[1].fleet` holds `option[1].fleet.gpus`).
fn under(a: &str, b: &str) -> bool {
    a.strip_prefix(b)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// `a.b` of `a.b.c` (and of `a.b[0]`): the table a key is in; empty at the top.
fn parent(key: &str) -> &str {
    match key.rfind(['.', '[']) {
        Some(i) => &key[..i],
        None => "",
    }
}

impl Applied {
    /// The overrides, as given.
    pub fn overrides(&self) -> Vec<String> {
        self.paths.iter().map(|(_, o)| o.to_string()).collect()
    }

    /// `problems` of the effective text, as a reader of the original file and the command line
    /// needs them: positions on lines an override wrote say so, others are mapped back to the
    /// file's lines, and a problem at or around a key an override set names the override.
    pub fn explain(&self, problems: Problems) -> Problems {
        Problems(
            problems
                .0
                .into_iter()
                .map(|mut p| {
                    let mut from: Vec<String> = self
                        .paths
                        .iter()
                        .filter(|(path, _)| {
                            !p.key.is_empty()
                                && (under(path, &p.key)
                                    || under(&p.key, path)
                                    || (!parent(path).is_empty() && parent(path) == parent(&p.key)))
                        })
                        .map(|(_, o)| format!("--set {o}"))
                        .collect();
                    if let Some((head, line, tail)) = position(&p.message) {
                        match self.lines.get(line.saturating_sub(1)).copied().flatten() {
                            Some(orig) => {
                                p.message = format!("{head}(line {}{tail}", orig + 1);
                            }
                            None => {
                                p.message = head.trim_end().to_string();
                                if from.is_empty() {
                                    from = self
                                        .paths
                                        .iter()
                                        .map(|(_, o)| format!("--set {o}"))
                                        .collect();
                                }
                            }
                        }
                    }
                    if !from.is_empty() {
                        p.message = format!("{} (from {})", p.message, from.join(", "));
                    }
                    p
                })
                .collect(),
        )
    }
}

/// `("text ", 12, ", column 5)")` from `text (line 12, column 5)`.
fn position(message: &str) -> Option<(String, usize, String)> {
    let at = message.rfind("(line ")?;
    let rest = &message[at + 6..];
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    let line = rest[..end].parse().ok()?;
    Some((message[..at].to_string(), line, rest[end..].to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> Override {
        s.parse().unwrap()
    }

    const TEXT: &str = "horizon_months = 12 # a year\n\n[demand]\nmonthly = { dist = \"lognormal\", median = 3000, p90 = 4500 }\n\n[[option]]\nid = \"api\"\napi = \"bfl/flux-2-klein-4b\"\n\n[[option]]\nid = \"h100.x\"\nselfhost = \"flux-2-klein-4b\"\n[option.fleet]\npolicy = \"fixed\"\ngpus = 1\n";

    #[test]
    fn values_replace_in_place_and_keep_comments() {
        let a = apply(
            TEXT,
            "s.toml",
            &[
                set("horizon_months=24"),
                set("demand.monthly.median=60k"),
                set("option.h100.x.fleet.gpus=2"),
            ],
        )
        .unwrap();
        assert!(
            a.text.contains("horizon_months = 24 # a year"),
            "{}",
            a.text
        );
        assert!(a.text.contains("median = 60000,"), "{}", a.text);
        assert!(a.text.contains("gpus = 2"), "{}", a.text);
        assert_eq!(a.text.lines().count(), TEXT.lines().count());
        // The three lines the overrides rewrote are theirs; every other line is the file's own.
        assert_eq!(a.lines.iter().filter(|l| l.is_none()).count(), 3);
        for (i, l) in a.lines.iter().enumerate() {
            if let Some(j) = l {
                assert_eq!(*j, i);
            }
        }
        assert_eq!(a.paths[2].0, "option[1].fleet.gpus");
    }

    #[test]
    fn new_keys_are_inserted_and_their_lines_marked() {
        let a = apply(TEXT, "s.toml", &[set("demand.burstiness=0.3")]).unwrap();
        let n = a
            .text
            .lines()
            .position(|l| l.starts_with("burstiness"))
            .unwrap();
        assert_eq!(a.lines[n], None);
        // The lines after it still map to the file's.
        let g = a.text.lines().position(|l| l == "gpus = 1").unwrap();
        assert_eq!(a.lines[g], TEXT.lines().position(|l| l == "gpus = 1"));
    }

    #[test]
    fn bad_keys_say_what_was_expected() {
        let e = |s: &str| apply(TEXT, "s.toml", &[set(s)]).unwrap_err().to_string();
        assert!(e("option.h200.fleet.gpus=2").contains("unknown option \"h200\""));
        assert!(e("option.h200.fleet.gpus=2").contains("nearest: h100.x"));
        assert!(e("option[5].fleet.gpus=2").contains("has 2 [[option]] entries"));
        assert!(e("horizon_months.median=3").contains("is a number, not a table"));
        assert!(e("demand..x=3").contains("empty part"));
        assert!("novalue".parse::<Override>().is_err());
        assert!("=3".parse::<Override>().is_err());
    }

    #[test]
    fn values_are_toml_then_counts_then_words() {
        assert_eq!(parse_value("2").as_integer(), Some(2));
        assert_eq!(parse_value("1.5M").as_integer(), Some(1_500_000));
        assert_eq!(parse_value("h100-sxm").as_str(), Some("h100-sxm"));
        assert_eq!(parse_value("\"x y\"").as_str(), Some("x y"));
        assert!(parse_value("{ dist = \"fixed\", value = 3 }").is_inline_table());
    }

    #[test]
    fn positions_map_back_to_the_file() {
        let a = apply(TEXT, "s.toml", &[set("demand.burstiness=0.3")]).unwrap();
        let g = a.text.lines().position(|l| l == "gpus = 1").unwrap() + 1;
        let p = Problems(vec![Problem::at(
            "option[1].fleet.gpus",
            format!("bad (line {g}, column 8)"),
        )]);
        let orig = TEXT.lines().position(|l| l == "gpus = 1").unwrap() + 1;
        assert_eq!(
            a.explain(p).0[0].message,
            format!("bad (line {orig}, column 8)")
        );
        let b = a
            .text
            .lines()
            .position(|l| l.starts_with("burstiness"))
            .unwrap()
            + 1;
        let p = Problems(vec![Problem::at(
            "demand.burstiness",
            format!("too big (line {b}, column 14)"),
        )]);
        assert_eq!(
            a.explain(p).0[0].message,
            "too big (from --set demand.burstiness=0.3)"
        );
    }
}
