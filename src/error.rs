//! Errors the library returns. Input problems are collected, not thrown one at a time, so a user
//! sees every mistake in a file at once, each as `file: key.path: what is wrong, what is expected`.

use std::fmt;

/// One thing wrong with an input: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, or `<command line>` for a flag.
    pub file: String,
    /// Dotted key path inside the file (`demand.monthly.p90`); empty when the whole file is wrong.
    pub key: String,
    /// What is wrong and what is expected, lower-case.
    pub message: String,
}

impl Problem {
    /// A problem at `key` with no file yet; [`Problems::in_file`] fills it in.
    pub fn at(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: String::new(),
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One problem, one line: a value echoed from the input may hold a newline.
        let (file, key, message) = (
            one_line(&self.file),
            one_line(&self.key),
            one_line(&self.message),
        );
        match (file.is_empty(), key.is_empty()) {
            (false, false) => write!(f, "{file}: {key}: {message}"),
            (false, true) => write!(f, "{file}: {message}"),
            (true, false) => write!(f, "{key}: {message}"),
            (true, true) => write!(f, "{message}"),
        }
    }
}

/// `s` with control characters and direction overrides escaped (see [`crate::names::escape`]),
/// so it prints on one line and cannot move the terminal's cursor.
fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    crate::names::escape(s)
}

/// Every problem found in one or more inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Record a problem.
    pub fn push(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.0.push(Problem::at(key, message));
    }
    /// Take over problems found by a nested check, prefixing their keys with `prefix`.
    pub fn extend_under(&mut self, prefix: &str, other: Problems) {
        for mut p in other.0 {
            p.key = join_key(prefix, &p.key);
            self.0.push(p);
        }
    }
    /// Set the file of every problem that has none yet.
    pub fn in_file(mut self, file: &str) -> Self {
        for p in &mut self.0 {
            if p.file.is_empty() {
                p.file = file.to_string();
            }
        }
        self
    }
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// `Ok(value)` when nothing was found, else the problems themselves.
    pub fn finish<T>(self, value: T) -> std::result::Result<T, Problems> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
    /// `Ok(value)` when nothing was found, else the problems as an error.
    pub fn into_result<T>(self, value: T) -> Result<T, Error> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::Input(self))
        }
    }
}

/// `a.b` from `a` and `b`, either of which may be empty.
pub fn join_key(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (_, true) => prefix.to_string(),
        _ if key.starts_with('[') => format!("{prefix}{key}"),
        _ => format!("{prefix}.{key}"),
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// What can go wrong in the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: a file, a key or a flag. Exit code 2.
    #[error("{0}")]
    Input(Problems),
    /// Reading or writing a file failed. Exit code 1.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The run was stopped by Ctrl-C before it finished. Exit code 130; nothing is written.
    #[error("interrupted after {done} of {total} paths")]
    Interrupted {
        /// Paths finished.
        done: u64,
        /// Paths asked for.
        total: u64,
    },
    /// A number that cannot be right came out of a computation. Exit code 1.
    #[error("internal check failed: {0}")]
    Invariant(String),
}

impl Error {
    /// A single input problem as an error.
    pub fn input(file: &str, key: &str, message: impl Into<String>) -> Self {
        let mut p = Problems::default();
        p.push(key, message);
        Error::Input(p.in_file(file))
    }
    /// The process exit code for this error: 2 for bad input, 130 when interrupted (as a
    /// shell reports SIGINT), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) => 2,
            Error::Interrupted { .. } => 130,
            _ => 1,
        }
    }
}

/// Result with the library's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_prints_on_one_line() {
        let mut p = Problems::default();
        p.push("a\nb", "unknown input \"x\ny\u{1b}[31m\"");
        let text = p.in_file("f.toml").to_string();
        assert_eq!(text, "f.toml: a\\nb: unknown input \"x\\ny\\u{1b}[31m\"");
    }
}
