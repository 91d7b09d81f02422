//! The scenarios shipped in `scenarios/`, compiled into the binary so the page can offer them
//! with nothing read from disk at run time.

use include_dir::{include_dir, Dir};

static SCENARIOS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/scenarios");

/// One shipped scenario.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// Its file stem (`agency`), which is how the page names it.
    pub stem: &'static str,
    /// The file's text.
    pub text: &'static str,
}

impl Shipped {
    /// The file as the CLI names it from the repository root (`scenarios/agency.toml`), so
    /// messages read exactly as `breakeven run scenarios/agency.toml` prints them.
    pub fn file(&self) -> String {
        format!("scenarios/{}.toml", self.stem)
    }
}

/// Every shipped scenario, by file name.
pub fn all() -> Vec<Shipped> {
    let mut out: Vec<Shipped> = SCENARIOS
        .files()
        .filter_map(|f| {
            let stem = f.path().to_str()?.strip_suffix(".toml")?;
            Some(Shipped {
                stem,
                text: f.contents_utf8()?,
            })
        })
        .collect();
    out.sort_by_key(|s| s.stem);
    out
}

/// The shipped scenario `stem`, if there is one.
pub fn find(stem: &str) -> Option<Shipped> {
    all().into_iter().find(|s| s.stem == stem)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_scenario_file_is_shipped() {
        let on_disk: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
                .unwrap()
                .filter_map(|e| {
                    let n = e.unwrap().file_name().into_string().unwrap();
                    n.strip_suffix(".toml").map(str::to_string)
                })
                .collect();
        let mut on_disk = on_disk;
        on_disk.sort();
        let shipped: Vec<&str> = super::all().iter().map(|s| s.stem).collect();
        assert_eq!(shipped, on_disk);
        assert!(shipped.contains(&"agency"));
        assert_eq!(
            super::find("agency").unwrap().file(),
            "scenarios/agency.toml"
        );
        assert!(super::find("../Cargo").is_none());
    }
}
