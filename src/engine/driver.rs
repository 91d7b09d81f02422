//! The one driver every command runs its paths through: fixed batches of [`BATCH`] paths,
//! one generator per batch seeded from `(seed, batch)`, batches handed to worker threads one
//! at a time, each folded where it ran, and the batch folds merged in batch order on the
//! calling thread. The result is the same bytes at any thread count.
//!
//! Between rounds of [`ROUND`] batches the driver reports progress, checks Ctrl-C (a batch
//! that has not started when it comes does not start) and asks whether the caller's answer is
//! settled (`--precision`); rounds are fixed so the stopping point does not depend on threads.
//! Ctrl-C is also seen between paths, so a stop waits for one path at most.
//!
//! A shard (`--shard K/N`) runs the batches `b ≡ K (mod N)` and hands each batch's fold, in
//! batch order, to whoever writes its part file ([`drive_shard`]) instead of merging them: a
//! single run is exactly "merge every batch's fold in batch order", so merging the parts'
//! batch folds in batch order gives the same bytes at any number of shards.

use super::fold::Fold;
use super::seeds::path_seeds;
use super::RunConfig;
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};

/// Paths per batch; each batch has its own generator.
pub const BATCH: u64 = 100;
/// Batches run between checks of `--precision`, progress and Ctrl-C.
pub const ROUND: u64 = 64;

/// Something that simulates one path from its seed.
pub trait PathJob: Sync {
    /// What a path gives.
    type Path: Send;
    /// Simulate path `path` from its own seed.
    fn simulate(&self, path: u64, seed: [u8; 32]) -> Result<Self::Path>;
}

/// How a run is watched: Ctrl-C and progress.
#[derive(Clone, Copy)]
pub struct Controls<'a> {
    /// Set by Ctrl-C; the run stops within one batch.
    pub cancel: &'a AtomicBool,
    /// Told how many paths are done.
    pub progress: &'a (dyn Fn(u64) + Sync),
}

/// Nothing watches: never cancelled, no progress shown.
pub fn unwatched() -> Controls<'static> {
    static NEVER: AtomicBool = AtomicBool::new(false);
    Controls {
        cancel: &NEVER,
        progress: &|_| {},
    }
}

/// What receives each round's paths, in path order (for files with a row per path).
pub type Sink<'a, P> = dyn FnMut(&[P]) -> Result<()> + 'a;

/// One batch: its paths (when a sink wants them), its fold, and how many paths it ran.
type Folded<P, F> = (Vec<P>, F, u64);

/// The batches a run covers: all of them, or those `b ≡ k (mod n)` of shard `k/n`.
pub fn batches(cfg: &RunConfig) -> Vec<u64> {
    let (k, n) = cfg.shard.unwrap_or((0, 1));
    (0..cfg.samples.div_ceil(BATCH))
        .filter(|b| b % n == k)
        .collect()
}

/// Paths of a run of `samples` paths that shard `(k, n)` runs (all of them without a shard),
/// counted without listing its batches.
pub fn shard_paths(samples: u64, shard: Option<(u64, u64)>) -> u64 {
    let (k, n) = shard.unwrap_or((0, 1));
    let total = samples.div_ceil(BATCH);
    if n == 0 || total <= k {
        return 0;
    }
    let count = (total - k - 1) / n + 1;
    // Every batch is full but the last, which may be short.
    let short = if (total - 1) % n == k {
        total * BATCH - samples
    } else {
        0
    };
    count * BATCH - short
}

/// Run `job` over the paths `cfg` asks for and fold them with folds made by `new_fold`.
/// `settled` is asked after each round (once two batches are done) whether to stop early.
/// Ctrl-C gives [`Error::Interrupted`], never a partial result.
pub fn drive<J, F>(
    job: &J,
    cfg: &RunConfig,
    ctl: Controls<'_>,
    new_fold: &(dyn Fn() -> F + Sync),
    settled: &dyn Fn(&F) -> bool,
    sink: Option<&mut Sink<'_, J::Path>>,
) -> Result<F>
where
    J: PathJob,
    F: Fold<Path = J::Path>,
{
    let mut fold = new_fold();
    let mut done = 0u64;
    drive_rounds(job, cfg, ctl, new_fold, sink, &mut |slice, round_end| {
        for (_, part, n) in slice {
            fold.merge(part);
            done += n;
        }
        Ok(round_end && done >= 2 * BATCH && settled(&fold))
    })?;
    Ok(fold)
}

/// Run the batches of shard `cfg.shard` (all batches without one) and hand each batch's fold
/// to `each` with its batch index, in batch order, unmerged: what a part file holds.
/// `--precision` cannot apply (when to stop depends on every shard's paths) and is refused.
pub fn drive_shard<J, F>(
    job: &J,
    cfg: &RunConfig,
    ctl: Controls<'_>,
    new_fold: &(dyn Fn() -> F + Sync),
    each: &mut dyn FnMut(u64, F) -> Result<()>,
) -> Result<()>
where
    J: PathJob,
    F: Fold<Path = J::Path>,
{
    if cfg.precision.is_some() {
        return Err(Error::input(
            "<command line>",
            "--precision",
            "cannot stop a shard early (when to stop depends on every shard's paths); expected --samples alone with --shard",
        ));
    }
    drive_rounds(job, cfg, ctl, new_fold, None, &mut |slice, _| {
        for (b, part, _) in slice {
            each(b, part)?;
        }
        Ok(false)
    })
}

/// One round's batch folds, in batch order: (batch, fold, paths).
type Round<F> = Vec<(u64, F, u64)>;

/// The loop both drivers share: rounds of batches run on the pool, each batch's fold handed
/// to `take` in batch order as soon as the batches before it are in (with whether it ends its
/// round; `take` says whether to stop, which is only asked at a round's end), paths to `sink`
/// in path order.
fn drive_rounds<J, F>(
    job: &J,
    cfg: &RunConfig,
    ctl: Controls<'_>,
    new_fold: &(dyn Fn() -> F + Sync),
    mut sink: Option<&mut Sink<'_, J::Path>>,
    take: &mut dyn FnMut(Round<F>, bool) -> Result<bool>,
) -> Result<()>
where
    J: PathJob,
    F: Fold<Path = J::Path>,
{
    if cfg.samples == 0 {
        return Err(Error::input(
            "<command line>",
            "samples",
            "is 0; expected at least 1 sample path",
        ));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::Invariant(format!("thread pool: {e}")))?;
    let keep_paths = sink.is_some();
    let all = batches(cfg);
    let total: u64 = all.iter().map(|b| BATCH.min(cfg.samples - b * BATCH)).sum();
    let interrupted = |done: u64| Error::Interrupted { done, total };
    let cancelled = || ctl.cancel.load(Ordering::SeqCst);
    let mut done = 0u64;
    // One batch: its fold, and its paths when a sink wants them.
    let run_batch = |b: u64| -> Result<Folded<J::Path, F>> {
        let mut part = new_fold();
        let mut kept = Vec::new();
        if cancelled() {
            return Ok((kept, part, 0));
        }
        let seeds = path_seeds(cfg.seed, cfg.samples, b);
        let n = seeds.len() as u64;
        for (path, seed) in seeds {
            // Ctrl-C stops within a path, not a batch: the round is discarded.
            if cancelled() {
                break;
            }
            let p = job.simulate(path, seed)?;
            part.add(&p)?;
            if keep_paths {
                kept.push(p);
            }
        }
        Ok((kept, part, n))
    };
    let run_batch = &run_batch;
    for round in all.chunks(ROUND as usize) {
        if cancelled() {
            return Err(interrupted(done));
        }
        // The round's batches go to the pool one task each, in order (an idle thread always
        // takes the next one); this thread takes their folds in batch order as they come, so
        // memory holds the few folds that finished ahead of an earlier batch, not the round's.
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Folded<J::Path, F>>)>();
        let mut outcome: Result<bool> = Ok(false);
        pool.in_place_scope(|scope| {
            for (i, &b) in round.iter().enumerate() {
                let tx = tx.clone();
                scope.spawn(move |_| {
                    // The receiver lives until every batch has reported.
                    let _ = tx.send((i, run_batch(b)));
                });
            }
            drop(tx);
            let mut ahead = std::collections::BTreeMap::new();
            let mut next = 0;
            for (i, folded) in rx {
                ahead.insert(i, folded);
                while let Some(folded) = ahead.remove(&next) {
                    let b = round[next];
                    next += 1;
                    // After an error, a stop or Ctrl-C, the rest of the round is discarded.
                    if !matches!(outcome, Ok(false)) || cancelled() {
                        continue;
                    }
                    outcome = folded.and_then(|(paths, part, n)| {
                        done += n;
                        if let Some(sink) = sink.as_mut() {
                            sink(&paths)?;
                        }
                        let stop = take(vec![(b, part, n)], next == round.len())?;
                        (ctl.progress)(done);
                        Ok(stop)
                    });
                }
            }
        });
        if cancelled() {
            return Err(interrupted(done));
        }
        if outcome? {
            return Ok(());
        }
    }
    Ok(())
}
