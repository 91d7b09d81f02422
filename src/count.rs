//! Counts as people write them: `20000`, `20_000`, `20,000`, `20k`, `1.5M`, `2e5`. Every
//! flag and override that reads a count (paths, volumes, images a month) reads it here.

/// Multipliers of the suffixes: k (thousand), M (million), G or B (billion).
const SUFFIXES: [(char, f64); 5] = [('k', 1e3), ('K', 1e3), ('M', 1e6), ('G', 1e9), ('B', 1e9)];

/// A count with an optional suffix, as a finite number (not checked for sign or size).
pub fn parse_count(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let bad =
        || format!("\"{s}\" is not a count; expected a number like 20000, 20_000, 20k or 1.5M");
    let (digits, mult) = match t.chars().last() {
        Some(c) => match SUFFIXES.iter().find(|(k, _)| *k == c) {
            Some((_, m)) => (&t[..t.len() - 1], *m),
            None => (t, 1.0),
        },
        None => return Err(bad()),
    };
    let plain: String = digits.chars().filter(|c| *c != '_' && *c != ',').collect();
    // Separators only between digits, and none in an exponent.
    if plain.is_empty() || digits.starts_with(['_', ',']) || digits.ends_with(['_', ',']) {
        return Err(bad());
    }
    let x: f64 = plain.parse().map_err(|_| bad())?;
    let v = x * mult;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(bad())
    }
}

/// A whole count of at least zero (`20k` → 20000); `1.5` or `-3` are refused.
pub fn parse_whole(s: &str) -> Result<u64, String> {
    let v = parse_count(s)?;
    if v < 0.0 || v.fract() != 0.0 || v > 9.0e18 {
        return Err(format!(
            "\"{s}\" is not a whole number of at least 0; expected something like 2000 or 20k"
        ));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_separators() {
        for (s, v) in [
            ("20000", 20_000.0),
            ("20_000", 20_000.0),
            ("20,000", 20_000.0),
            ("20k", 20_000.0),
            ("20K", 20_000.0),
            ("1.5M", 1_500_000.0),
            ("2e5", 200_000.0),
            ("0.25k", 250.0),
            ("3B", 3e9),
            (" 7 ", 7.0),
        ] {
            assert_eq!(parse_count(s), Ok(v), "{s}");
        }
        for s in [
            "", "k", "1.5x", "1..5", "_1", "1_", "inf", "NaN", "1e400", "--1",
        ] {
            assert!(parse_count(s).is_err(), "{s}");
        }
        assert_eq!(parse_whole("1.5k"), Ok(1500));
        assert!(parse_whole("1.2345k").is_err());
        assert!(parse_whole("-3").is_err());
    }
}
