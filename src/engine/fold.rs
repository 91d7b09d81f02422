//! What every command gathers from its paths, said once: a [`Fold`] takes paths one at a time
//! (`add`) and takes over a fold of later paths (`merge`). The driver folds each batch where
//! it ran and merges the batch folds in batch order, so a result is the same bytes whatever
//! the number of threads (or of machines, for shards).
//!
//! `add` and `merge` must agree: folding paths one by one and merging folds of their parts
//! give the same statistics. The folds here destructure themselves exhaustively in both, so a
//! field added to one and not the other is a compile error (an unused binding), and
//! `tests` checks the law itself on real paths.

use crate::error::Result;
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
