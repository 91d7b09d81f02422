//! The one rule for ids and names that reach file names, folder names, terminals, charts and
//! HTML, and the one escape for anything else echoed back.
//!
//! An *id* (an option id, a stage name, the scenario name, each part of a catalogue id such as
//! `bfl/flux-2-klein-4b`, an offer id) is 1 to [`MAX_ID_CHARS`] ASCII letters, digits, `-`, `_`
//! and `.`, starting with a letter or a digit. So an id is its own file name (charts are
//! `fleet-<id>.png`, the output folder is `out/<name>/`): it cannot start with `-` (read as a
//! flag), be `.`/`..` or hide as `.x`, hold a path separator, a control character, a
//! right-to-left override or a NUL, and two ids of one list must differ in more than case, so
//! their files stay apart on case-insensitive disks too.
//!
//! A *label* (a mix bucket's name, shown in charts and tables) is free text of at most
//! [`MAX_ID_CHARS`] characters without control characters or bidirectional overrides.

pub use crate::limits::MAX_ID_CHARS;

/// Why `s` is not an id, as `"<s>" <problem>; expected <rule>`; `None` when it is one.
pub fn id_problem(s: &str) -> Option<String> {
    let shown = shown(s);
    let why = if s.is_empty() {
        "is empty".to_string()
    } else if s.chars().count() > MAX_ID_CHARS {
        format!("is {} characters long", s.chars().count())
    } else if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        format!("holds {}", describe_char(c))
    } else if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        format!("starts with \"{}\"", &s[..1])
    } else {
        return None;
    };
    Some(format!(
        "\"{shown}\" {why}; expected 1 to {MAX_ID_CHARS} letters, digits, '-', '_' or '.', starting with a letter or digit"
    ))
}

/// Why `s` is not a label; `None` when it is one.
pub fn label_problem(s: &str) -> Option<String> {
    let why = if s.trim().is_empty() {
        "is empty".to_string()
    } else if s.chars().count() > MAX_ID_CHARS {
        format!("is {} characters long", s.chars().count())
    } else if let Some(c) = s.chars().find(|&c| is_unsafe(c)) {
        format!("holds {}", describe_char(c))
    } else {
        return None;
    };
    Some(format!(
        "\"{}\" {why}; expected 1 to {MAX_ID_CHARS} characters of plain text",
        shown(s)
    ))
}

/// The first two ids of `ids` that differ only in case (including equal ones), by index.
pub fn case_clash<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<(usize, usize)> {
    let mut seen: Vec<String> = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let lower = id.to_ascii_lowercase();
        if let Some(j) = seen.iter().position(|s| *s == lower) {
            return Some((j, i));
        }
        seen.push(lower);
    }
    None
}

/// Characters that must not reach a terminal, an SVG or a file name raw: control characters
/// (C0, DEL, C1) and the bidirectional controls that reorder what a reader sees.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{061c}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `s` with every unsafe character escaped (`\n`, `\u{1b}`, `\u{202e}`), so it prints on one
/// line, cannot move a terminal's cursor and reads in the order it is stored.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(is_unsafe) {
        s.chars()
            .map(|c| {
                if is_unsafe(c) {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// `s` escaped and cut to a readable length, for a message about it.
fn shown(s: &str) -> String {
    const SHOW: usize = 40;
    let cut: String = s.chars().take(SHOW).collect();
    let more = if s.chars().count() > SHOW { "…" } else { "" };
    format!("{}{more}", escape(&cut))
}

fn describe_char(c: char) -> String {
    match c {
        '\0' => "a NUL character".into(),
        ' ' => "a space".into(),
        '/' | '\\' => format!("a path separator ('{c}')"),
        c if is_unsafe(c) => format!("the control character {}", c.escape_unicode()),
        c if c.is_ascii() => format!("'{c}'"),
        c => format!("'{c}' ({})", c.escape_unicode()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_file_names() {
        for ok in [
            "api",
            "h100-plus-api",
            "flux-2-klein-4b",
            "a.b_c",
            "9b",
            "x".repeat(64).as_str(),
        ] {
            assert_eq!(id_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "is empty"),
            ("-rf", "starts with \"-\""),
            ("...", "starts with \".\""),
            (".hidden", "starts with \".\""),
            ("..", "starts with \".\""),
            ("a/b", "a path separator"),
            ("a\\b", "a path separator"),
            ("a b", "a space"),
            ("a\nb", "the control character \\u{a}"),
            ("a\u{1b}[2Jb", "the control character \\u{1b}"),
            ("abc\u{202e}gpj.exe", "the control character \\u{202e}"),
            ("a\0b", "a NUL character"),
            ("a,b", "','"),
            ("é", "'é' (\\u{e9})"),
            (&"x".repeat(65), "is 65 characters long"),
            (&"x".repeat(300), "is 300 characters long"),
        ] {
            let p = id_problem(bad).unwrap_or_else(|| panic!("{bad:?} passed"));
            assert!(p.contains(why), "{bad:?}: {p}");
            assert!(!p.chars().any(is_unsafe), "{bad:?}: unescaped: {p:?}");
        }
    }

    #[test]
    fn labels_are_plain_text() {
        assert_eq!(label_problem("1 MP portrait"), None);
        assert!(label_problem("a\u{1b}[31m").is_some());
        assert!(label_problem("\u{2067}x").is_some());
        assert!(label_problem(" ").is_some());
        assert!(label_problem(&"x".repeat(65)).is_some());
    }

    #[test]
    fn ids_that_differ_only_in_case_clash() {
        assert_eq!(case_clash(["a", "b", "A"]), Some((0, 2)));
        assert_eq!(case_clash(["a", "b", "b"]), Some((1, 2)));
        assert_eq!(case_clash(["a-1", "a_1", "a.1"]), None);
    }

    #[test]
    fn escapes_keep_text_on_one_line_and_in_order() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\nb\u{1b}c"), "a\\nb\\u{1b}c");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
    }
}
