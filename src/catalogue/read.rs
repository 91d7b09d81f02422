//! Reading a TOML file into a raw struct, with every parser-level problem (unknown key, wrong
//! type, out-of-range integer, bad date) reported at once and named by its key path.
//!
//! serde stops at the first problem. To go on, the document is parsed once into a spanned tree;
//! after each failed attempt the offending entry is found from the error's span, reported with
//! its key path, and removed, and the attempt repeats. A missing required key ends the loop, as
//! there is nothing to remove. Semantic checks then run on what was read; [`after_parse`] drops
//! their problems about keys the parser already reported, which would only echo them.

use crate::error::{join_key, Problems};
use serde::de::DeserializeOwned;
use std::ops::Range;
use toml::de::{DeTable, DeValue, Deserializer};

/// Most problems the parser reports for one file; past this the file is more noise than TOML.
const MAX_PARSE_PROBLEMS: usize = 30;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_string(path: &[Seg]) -> String {
    path.iter().fold(String::new(), |acc, s| match s {
        Seg::Key(k) => join_key(&acc, k),
        Seg::Index(i) => format!("{acc}[{i}]"),
    })
}

/// Parse `text` into `T`. `Err` when nothing usable could be read (a syntax error, a missing
/// required key); `Ok` with the value read after dropping every unknown or ill-typed entry, and
/// the problems those entries were.
pub(crate) fn read<T: DeserializeOwned>(text: &str) -> Result<(T, Problems), Problems> {
    let (root, errors) = DeTable::parse_recoverable(text);
    let mut problems = Problems::default();
    if !errors.is_empty() {
        for e in errors.iter().take(MAX_PARSE_PROBLEMS) {
            problems.push("", at(text, e.span(), &syntax(e.message(), text, e.span())));
        }
        if errors.len() > MAX_PARSE_PROBLEMS {
            problems.push(
                "",
                format!(
                    "and {} more syntax errors; is this a TOML file?",
                    errors.len() - MAX_PARSE_PROBLEMS
                ),
            );
        }
        return Err(problems);
    }
    let mut root = root;
    // Values no key may hold are reported and removed first, so no check below sees them.
    let mut seen: Vec<String> = Vec::new();
    for (path, span, what) in out_of_bounds(root.get_ref()) {
        let key = path_string(&path);
        problems.push(key.clone(), at(text, Some(span), &what));
        remove(&mut root, &path);
        seen.push(key);
    }
    loop {
        let e = match T::deserialize(Deserializer::from(root.clone())) {
            Ok(v) => return Ok((v, problems)),
            Err(e) => e,
        };
        let span = e.span();
        let path = span
            .as_ref()
            .and_then(|s| locate(root.get_ref(), s))
            .unwrap_or_default();
        let msg = e.message().trim().replace('\n', " ");
        if let Some(field) = between(&msg, "missing field `", "`") {
            let key = join_key(&path_string(&path), field);
            // A key removed as ill-typed was reported already, and a misspelt one is reported
            // as unknown with this key as the nearest.
            let parent = path_string(&path);
            let misspelt = problems.0.iter().any(|p| {
                p.key.rsplit_once('.').map_or("", |(head, _)| head) == parent
                    && p.message.starts_with("unknown key")
                    && [';', ',']
                        .iter()
                        .any(|end| p.message.contains(&format!("nearest: {field}{end}")))
            });
            if !seen.contains(&key) && !misspelt {
                let what = "is missing; this key is required here";
                // The position of the whole file says nothing; that of a table says which one.
                let span = span.filter(|_| !path.is_empty());
                problems.push(key, at(text, span, what));
            }
            return Err(problems);
        }
        let key = path_string(&path);
        let value = span
            .as_ref()
            .and_then(|s| text.get(s.clone()))
            .filter(|v| v.len() <= 60 && !v.contains('\n'))
            .unwrap_or("");
        let mut what = tidy(&msg);
        let names_it = what.starts_with("unknown ") || what.contains(value.trim_matches('"'));
        if !value.is_empty() && !names_it {
            what = format!("{what} (got {value})");
        }
        problems.push(key.clone(), at(text, span, &what));
        if seen.contains(&key)
            || problems.0.len() >= MAX_PARSE_PROBLEMS
            || !remove(&mut root, &path)
        {
            return Err(problems);
        }
        seen.push(key);
    }
}

/// Every value that no key may hold, wherever it is: a number too large or too small to
/// compute with, a text too long or holding control characters, an array too long (see
/// [`crate::limits`]). Non-finite numbers are left to each key's own check, which says what
/// the key expects.
fn out_of_bounds(root: &DeTable<'_>) -> Vec<(Vec<Seg>, Range<usize>, String)> {
    use crate::limits::{MAX_ARRAY_ITEMS, MAX_NUMBER, MAX_TEXT_CHARS, MIN_NUMBER};
    let mut found = Vec::new();
    let mut stack: Vec<(Vec<Seg>, &toml::Spanned<DeValue<'_>>)> = Vec::new();
    fn push_table<'a, 'i>(
        stack: &mut Vec<(Vec<Seg>, &'a toml::Spanned<DeValue<'i>>)>,
        path: &[Seg],
        t: &'a DeTable<'i>,
    ) {
        for (k, v) in t.iter() {
            let mut p = path.to_vec();
            p.push(Seg::Key(k.get_ref().to_string()));
            stack.push((p, v));
        }
    }
    push_table(&mut stack, &[], root);
    while let Some((path, v)) = stack.pop() {
        if found.len() >= MAX_PARSE_PROBLEMS {
            break;
        }
        let span = v.span();
        match v.get_ref() {
            DeValue::Float(f) => {
                let x: f64 = f.as_str().replace('_', "").parse().unwrap_or(f64::NAN);
                if x.is_finite() && x.abs() > MAX_NUMBER {
                    found.push((path, span, format!("{x:e} is too large a number; expected a magnitude of at most {MAX_NUMBER:e}")));
                } else if x.is_finite() && x != 0.0 && x.abs() < MIN_NUMBER {
                    found.push((path, span, format!("{x:e} is too small a number to compute with; expected 0 or a magnitude of at least {MIN_NUMBER:e}")));
                }
            }
            DeValue::String(s) => {
                let n = s.chars().count();
                if n > MAX_TEXT_CHARS {
                    found.push((
                        path,
                        span,
                        format!("is a text of {n} characters; expected at most {MAX_TEXT_CHARS}"),
                    ));
                } else if let Some(c) = s
                    .chars()
                    .find(|&c| crate::names::is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r'))
                {
                    found.push((
                        path,
                        span,
                        format!(
                            "holds the control character {}; expected plain text",
                            c.escape_unicode()
                        ),
                    ));
                }
            }
            DeValue::Array(a) if a.len() > MAX_ARRAY_ITEMS => {
                found.push((
                    path,
                    span,
                    format!("has {} items; expected at most {MAX_ARRAY_ITEMS}", a.len()),
                ));
            }
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    let mut p = path.clone();
                    p.push(Seg::Index(i));
                    stack.push((p, item));
                }
            }
            DeValue::Table(t) => push_table(&mut stack, &path, t),
            DeValue::Integer(_) | DeValue::Boolean(_) | DeValue::Datetime(_) => {}
        }
    }
    // In file order, as a reader goes through it.
    found.sort_by_key(|(_, span, _)| span.start);
    found
}

/// `parsed` followed by those of `checks` that are not about a key `parsed` already reported
/// (a key dropped as ill-typed reads as missing to the checks, which would only echo it).
pub(crate) fn after_parse(parsed: Problems, checks: Problems) -> Problems {
    let related = |a: &str, b: &str| {
        let under = |x: &str, y: &str| {
            x.strip_prefix(y)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        };
        !a.is_empty() && !b.is_empty() && (under(a, b) || under(b, a))
    };
    let mut out = parsed.clone();
    out.0.extend(
        checks
            .0
            .into_iter()
            .filter(|c| !parsed.0.iter().any(|p| related(&p.key, &c.key))),
    );
    out
}

/// The entry the span points at: an entry whose key or value span equals it, else the one
/// with the smallest value span holding it.
fn locate(root: &DeTable<'_>, span: &Range<usize>) -> Option<Vec<Seg>> {
    // The best match so far: (exact, span length, path).
    let mut best: Option<(bool, usize, Vec<Seg>)> = None;
    let mut consider = |s: Range<usize>, path: &[Seg]| {
        let exact = s == *span;
        // An empty span (the document's own) holds nothing.
        let holds = !span.is_empty() && s.start <= span.start && span.end <= s.end;
        if !(exact || holds) {
            return;
        }
        let len = s.end - s.start;
        let better = match &best {
            None => true,
            Some((be, bl, bp)) => {
                (exact && !*be)
                    || (exact == *be && (len < *bl || (len == *bl && path.len() > bp.len())))
            }
        };
        if better {
            best = Some((exact, len, path.to_vec()));
        }
    };
    // Iterative, so a deeply nested document cannot overflow the stack here.
    let mut tables: Vec<(Vec<Seg>, &DeTable<'_>)> = vec![(Vec::new(), root)];
    let mut arrays: Vec<(Vec<Seg>, &toml::de::DeArray<'_>)> = Vec::new();
    while !tables.is_empty() || !arrays.is_empty() {
        let mut children: Vec<(Vec<Seg>, &DeValue<'_>)> = Vec::new();
        if let Some((path, t)) = tables.pop() {
            for (k, v) in t.iter() {
                let mut p = path.clone();
                p.push(Seg::Key(k.get_ref().to_string()));
                consider(k.span(), &p);
                consider(v.span(), &p);
                children.push((p, v.get_ref()));
            }
        } else if let Some((path, a)) = arrays.pop() {
            for (i, item) in a.iter().enumerate() {
                let mut p = path.clone();
                p.push(Seg::Index(i));
                consider(item.span(), &p);
                children.push((p, item.get_ref()));
            }
        }
        for (p, v) in children {
            match v {
                DeValue::Table(t) => tables.push((p, t)),
                DeValue::Array(a) => arrays.push((p, a)),
                _ => {}
            }
        }
    }
    best.map(|(_, _, p)| p)
}

/// Remove the entry at `path`, or the array holding it when it is an array item (arrays cannot
/// lose items). False when nothing could be removed.
fn remove(root: &mut toml::Spanned<DeTable<'_>>, path: &[Seg]) -> bool {
    match path.iter().rposition(|s| matches!(s, Seg::Key(_))) {
        Some(cut) => remove_in_table(root.get_mut(), &path[..=cut]),
        None => false,
    }
}

/// Remove the entry at `path` (which ends in a key) below `table`.
fn remove_in_table(table: &mut DeTable<'_>, path: &[Seg]) -> bool {
    match path {
        [Seg::Key(k)] => table.remove(k.as_str()).is_some(),
        [Seg::Key(k), rest @ ..] => table
            .get_mut(k.as_str())
            .is_some_and(|v| remove_in_value(v.get_mut(), rest)),
        _ => false,
    }
}

fn remove_in_value(v: &mut DeValue<'_>, path: &[Seg]) -> bool {
    match (v, path.first()) {
        (DeValue::Table(t), Some(Seg::Key(_))) => remove_in_table(t, path),
        (DeValue::Array(a), Some(Seg::Index(i))) => a
            .get_mut(*i)
            .is_some_and(|item| remove_in_value(item.get_mut(), &path[1..])),
        _ => false,
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(start)?;
    let stop = rest.find(end)?;
    Some(&rest[..stop])
}

/// `line L, column C` of byte `offset`.
fn where_in(text: &str, offset: usize) -> String {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    format!("line {line}, column {col}")
}

/// `message (line L, column C)`.
fn at(text: &str, span: Option<Range<usize>>, message: &str) -> String {
    match span {
        Some(s) => format!("{message} ({})", where_in(text, s.start)),
        None => message.to_string(),
    }
}

/// The names in "`a`, `b` or `c`".
fn ticked(list: &str) -> Vec<String> {
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The parser's wording of a syntax error, with the text it points at.
fn syntax(msg: &str, text: &str, span: Option<Range<usize>>) -> String {
    let msg = msg.trim().replace('\n', " ");
    let got = span
        .and_then(|s| text.get(s))
        .map(str::trim)
        .filter(|g| !g.is_empty() && g.len() <= 40 && !g.chars().any(char::is_control))
        .unwrap_or("");
    match msg.as_str() {
        "recursion limit" | "cannot recurse further; max recursion depth met" => {
            "tables or arrays are nested too deeply; expected a flatter file".into()
        }
        "duplicate key" if !got.is_empty() => {
            format!("duplicate key \"{got}\"; expected each key once per table")
        }
        m if m.starts_with("invalid boolean") || m.starts_with("string values must be quoted") => {
            let shown = if got.is_empty() {
                String::new()
            } else {
                format!(" (got {got})")
            };
            format!("not a TOML value{shown}; expected a number, true or false, or text in quotes")
        }
        _ if got.is_empty() => msg,
        _ => format!("{msg} (got {got})"),
    }
}

/// serde's and chrono's wording, made to say what is wrong and what is expected.
fn tidy(msg: &str) -> String {
    let msg = msg.trim().replace('\n', " ");
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return unknown_name("key", name, &ticked(expected));
    }
    if let Some(rest) = msg.strip_prefix("unknown variant `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return unknown_name("value", name, &ticked(expected));
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        if let Some((got, expected)) = rest.rsplit_once(", expected ") {
            if got == "map" && expected.contains("date") {
                return "is a TOML date; expected the date in quotes, like \"2026-01-28\"".into();
            }
            return format!(
                "{} is the wrong type; expected {}",
                got_phrase(got),
                expected_phrase(expected)
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ") {
        if let Some((got, expected)) = rest.rsplit_once(", expected ") {
            return format!(
                "{} is out of range; expected {}",
                got_phrase(got),
                expected_phrase(expected)
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid length ") {
        if let Some((n, expected)) = rest.split_once(", expected ") {
            return format!("has {n} items; expected {}", expected_phrase(expected));
        }
    }
    match msg.as_str() {
        "input is out of range"
        | "input contains invalid characters"
        | "premature end of input"
        | "trailing input"
        | "input is not enough for unique date and time"
        | "no possible date and time matching input" => {
            "is not a valid date; expected YYYY-MM-DD in quotes, like \"2026-01-28\"".into()
        }
        _ => msg,
    }
}

fn unknown_name(what: &str, name: &str, expected: &[String]) -> String {
    let near = super::nearest(name, expected.iter());
    let mut out = format!("unknown {what} \"{name}\"");
    if !near.is_empty() {
        out.push_str(&format!("; nearest: {}", near.join(", ")));
    }
    if expected.is_empty() {
        out.push_str("; expected no keys here");
    } else {
        out.push_str(&format!("; expected one of {}", expected.join(", ")));
    }
    out
}

fn got_phrase(got: &str) -> String {
    let got = got.replace('`', "");
    match got.as_str() {
        "map" => "a table".into(),
        "sequence" => "an array".into(),
        _ => got
            .replace("floating point", "the number")
            .replace("integer", "the integer")
            .replace(" as i128", "")
            .replace("string", "the string")
            .replace("boolean", "the boolean"),
    }
}

fn expected_phrase(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" => format!(
            "a whole number from 0 to {}",
            match expected {
                "u8" => u8::MAX as u64,
                "u16" => u16::MAX as u64,
                _ => u32::MAX as u64,
            }
        ),
        "u64" | "usize" => "a whole number >= 0".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".into(),
        "f32" | "f64" => "a number".into(),
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        "a formatted date string" => "a date in quotes, like \"2026-01-28\"".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e if e.starts_with("a tuple of size ") => {
            format!("an array of {} items", &e["a tuple of size ".len()..])
        }
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        count: u32,
        rate: Option<f64>,
        #[serde(default)]
        item: Vec<Item>,
        inner: Option<Inner>,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        id: String,
        size: Option<u32>,
        list: Option<Vec<f64>>,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        a: Option<u32>,
    }

    fn problems(text: &str) -> Vec<String> {
        match read::<Doc>(text) {
            Ok((_, p)) | Err(p) => p.0.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn every_parser_problem_is_reported_with_its_key() {
        let p = problems(
            "count = 3\nrate = \"fast\"\ncuont = 4\n[inner]\na = -1\nb = 2\n[[item]]\nid = \"x\"\nsize = 1.5\nlist = [1, \"two\"]\n[[item]]\nid = \"y\"\nszie = 3\n",
        );
        let all = p.join("\n");
        for want in [
            "rate: the string \"fast\" is the wrong type; expected a number (line 2",
            "cuont: unknown key \"cuont\"; nearest: count",
            "inner.a: the integer -1 is out of range; expected a whole number from 0 to 4294967295",
            "inner.b: unknown key \"b\"",
            "item[0].size: the number 1.5 is the wrong type",
            "item[0].list[1]: the string \"two\" is the wrong type; expected a number",
            "item[1].szie: unknown key \"szie\"; nearest: size",
        ] {
            assert!(all.contains(want), "missing {want:?} in\n{all}");
        }
        assert_eq!(p.len(), 7, "{all}");
    }

    #[test]
    fn a_missing_key_names_its_table() {
        let p = problems("[[item]]\nsize = 1\n");
        assert!(p[0].starts_with("item[0].id: is missing"), "{p:?}");
        let p = problems("rate = 1.0\n");
        assert!(p[0].starts_with("count: is missing"), "{p:?}");
    }

    #[test]
    fn checks_do_not_echo_parser_problems() {
        let mut parsed = Problems::default();
        parsed.push("option[0].usd_per_hour", "bad");
        let mut checks = Problems::default();
        checks.push("option[0].usd_per_hour", "is missing");
        checks.push("option[0].gpu", "unknown gpu");
        checks.push("", "whole file");
        let all = after_parse(parsed, checks);
        let keys: Vec<&str> = all.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["option[0].usd_per_hour", "option[0].gpu", ""]);
    }
}
