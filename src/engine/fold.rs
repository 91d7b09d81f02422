//! What every command gathers from its paths, said once: a [`Fold`] takes paths one at a time
//! (`add`) and takes over a fold of later paths (`merge`). The driver folds each batch where
//! it ran and merges the batch folds in batch order, so a result is the same bytes whatever
//! the number of threads (or of machines, for shards).
//!
//! `add` and `merge` must agree: folding paths one by one and merging folds of their parts
//! give the same statistics. The folds here destructure themselves exhaustively in both, so a
//! field added to one and not the other is a compile error (an unused binding), and
//! `tests` checks the law itself on real paths.
//!
//! A fold's state also travels between machines: a shard writes each batch's fold to a part
//! file ([`crate::shard`]) and `merge` merges them in batch order, which is exactly what the
//! driver does on one machine. What a file says is not trusted, so a fold read from one is
//! first checked by [`Validate`] against an empty fold of the same run: every list as long,
//! every setting the same, every number finite and in range, every count of paths at most the
//! batch's paths. The folds destructure themselves there too, so a field added to a fold and
//! not checked is a build error as well.

use crate::error::{join_key, Result};
use crate::stats;

/// Statistics gathered from paths.
pub trait Fold: Send {
    /// What one path gives.
    type Path;
    /// Take one more path (the next in path order).
    fn add(&mut self, path: &Self::Path) -> Result<()>;
    /// Take over everything `later` gathered from paths after this fold's.
    fn merge(&mut self, later: Self);
}

/// Two folds of the same paths, side by side.
impl<A: Fold, B: Fold<Path = A::Path>> Fold for (A, B) {
    type Path = A::Path;
    fn add(&mut self, path: &A::Path) -> Result<()> {
        self.0.add(path)?;
        self.1.add(path)
    }
    fn merge(&mut self, later: Self) {
        self.0.merge(later.0);
        self.1.merge(later.1);
    }
}

/// An accumulator that can take over a later one of its kind (the parts of a [`Fold`]).
pub trait Merge {
    /// Take over what `later` saw after what this one saw.
    fn merge(&mut self, later: &Self);
}

impl Merge for stats::Stream {
    fn merge(&mut self, later: &Self) {
        stats::Stream::merge(self, later)
    }
}

impl Merge for stats::Moments {
    fn merge(&mut self, later: &Self) {
        stats::Moments::merge(self, later)
    }
}

impl Merge for stats::Ratio {
    fn merge(&mut self, later: &Self) {
        stats::Ratio::merge(self, later)
    }
}

impl Merge for u64 {
    fn merge(&mut self, later: &Self) {
        *self += later;
    }
}

impl Merge for f64 {
    fn merge(&mut self, later: &Self) {
        *self += later;
    }
}

impl<T: Merge> Merge for Vec<T> {
    /// Element by element; both sides have the same shape (folds are made by one constructor).
    fn merge(&mut self, later: &Self) {
        debug_assert_eq!(self.len(), later.len(), "folds of different shapes");
        for (a, b) in self.iter_mut().zip(later) {
            a.merge(b);
        }
    }
}

/// One item taken from every path, in path order: for analyses that need the paths themselves
/// (rank correlations), at the memory cost of keeping them.
pub struct Gather<P, T> {
    /// The items, in path order.
    pub items: Vec<T>,
    take: fn(&P) -> T,
}

impl<P, T> Gather<P, T> {
    /// A fold that keeps `take(path)` of every path.
    pub fn new(take: fn(&P) -> T) -> Self {
        Gather {
            items: Vec::new(),
            take,
        }
    }
}

impl<P, T: Send> Fold for Gather<P, T> {
    type Path = P;
    fn add(&mut self, path: &P) -> Result<()> {
        self.items.push((self.take)(path));
        Ok(())
    }
    fn merge(&mut self, later: Self) {
        self.items.extend(later.items);
    }
}

// ------------------------------------------------------------------------------------------
// Checking a fold read from a part file.

/// Largest magnitude of a statistic's value in a fold read from a part [its unit]: the
/// engine's totals stay under [`crate::limits::MAX_TOTAL_USD`], volumes under
/// [`crate::limits::MAX_PEAK_MONTHLY_ASSETS`], so a larger number was not written by a run.
pub const MAX_VALUE: f64 = crate::limits::MAX_NUMBER;

/// What is wrong with a fold read from a part, and where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfit {
    /// Key path inside the fold (`0.options[2].total.exact[7]`); empty for the whole of it.
    pub key: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl Unfit {
    /// A problem with the value checked itself.
    pub fn new(message: impl Into<String>) -> Unfit {
        Unfit {
            key: String::new(),
            message: message.into(),
        }
    }
    /// The same problem seen from the fold that holds this one at `key`.
    pub fn under(mut self, key: &str) -> Unfit {
        self.key = join_key(key, &self.key);
        self
    }
}

/// The outcome of a check.
pub type Checked = std::result::Result<(), Unfit>;

/// A fold state that can be checked before it is trusted: see the module docs.
pub trait Validate {
    /// `Ok` when `self` has the shape of `empty` (a fresh fold of the same run: lists as long,
    /// settings equal) and holds what a fold of at most `paths` paths can: finite numbers in
    /// range, counts of at most `paths`.
    fn validate(&self, empty: &Self, paths: u64) -> Checked;
}

/// Check the field `key` of a fold.
pub fn field<T: Validate>(key: &str, got: &T, empty: &T, paths: u64) -> Checked {
    got.validate(empty, paths).map_err(|u| u.under(key))
}

/// A statistic's value: finite and at most [`MAX_VALUE`] in size.
pub fn value(v: f64) -> Checked {
    if v.is_finite() && v.abs() <= MAX_VALUE {
        Ok(())
    } else {
        Err(Unfit::new(format!(
            "is {v}; expected a finite number of at most {MAX_VALUE:e} in size"
        )))
    }
}

/// A count of paths: at most `paths`.
pub fn count(n: u64, paths: u64) -> Checked {
    if n <= paths {
        Ok(())
    } else {
        Err(Unfit::new(format!(
            "is {n}; expected a count of at most {paths} paths"
        )))
    }
}

/// A setting of the fold (its grid, its pairs): the same as the empty fold's.
pub fn setting<T: PartialEq + std::fmt::Debug>(key: &str, got: &T, empty: &T) -> Checked {
    if got == empty {
        return Ok(());
    }
    let short = |x: &T| Some(format!("{x:?}")).filter(|s| s.chars().count() <= 80);
    let message = match (short(got), short(empty)) {
        (Some(g), Some(e)) => format!("is {g}; expected the run's own, {e}"),
        _ => "differs from the run's own; expected the run's own".to_string(),
    };
    Err(Unfit::new(message).under(key))
}

/// A number of paths counted by a fold that sees every path: exactly `paths`.
pub fn all_paths(key: &str, n: u64, paths: u64) -> Checked {
    if n == paths {
        Ok(())
    } else {
        Err(Unfit::new(format!("is {n}; expected {paths}, the paths of the batch")).under(key))
    }
}

impl Validate for u64 {
    fn validate(&self, _: &Self, paths: u64) -> Checked {
        count(*self, paths)
    }
}

/// A bare number in a fold is a sum over its paths (a cost breakdown): each path's is under
/// [`crate::limits::MAX_TOTAL_USD`], so the sum stays under [`MAX_VALUE`] for any number of
/// paths a run may have.
impl Validate for f64 {
    fn validate(&self, _: &Self, _paths: u64) -> Checked {
        value(*self)
    }
}

impl<T: Validate> Validate for Vec<T> {
    /// As long as the empty fold's, element by element.
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        if self.len() != empty.len() {
            return Err(Unfit::new(format!(
                "has {} items; expected {}",
                self.len(),
                empty.len()
            )));
        }
        for (i, (a, b)) in self.iter().zip(empty).enumerate() {
            field(&format!("[{i}]"), a, b, paths)?;
        }
        Ok(())
    }
}

impl<A: Validate, B: Validate> Validate for (A, B) {
    fn validate(&self, empty: &Self, paths: u64) -> Checked {
        field("0", &self.0, &empty.0, paths)?;
        field("1", &self.1, &empty.1, paths)
    }
}
