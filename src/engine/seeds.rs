//! Seeds: batch `b` of a run with seed `s` has its own `Xoshiro256PlusPlus`, seeded from
//! `(s, b)` through SplitMix64, which hands each of its paths a seed of the path's own. A
//! path's draws then do not depend on how many the paths before it used, and any path can be
//! replayed (at another volume, with an input pinned) from its seed alone.

use super::driver::BATCH;
use rand::{Rng, SeedableRng};
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// The generator of batch `batch` under `seed`.
pub fn batch_rng(seed: u64, batch: u64) -> Xoshiro256PlusPlus {
    let mut sm = SplitMix64::seed_from_u64(seed);
    let a = sm.next_u64();
    let mut sm2 = SplitMix64::seed_from_u64(a ^ batch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut s = [0u8; 32];
    for chunk in s.chunks_mut(8) {
        chunk.copy_from_slice(&sm2.next_u64().to_le_bytes());
    }
    Xoshiro256PlusPlus::from_seed(s)
}

/// The paths of batch `batch` in a run of `samples` paths, each with its seed.
pub fn path_seeds(seed: u64, samples: u64, batch: u64) -> Vec<(u64, [u8; 32])> {
    let first = batch * BATCH;
    let n = BATCH.min(samples.saturating_sub(first));
    let mut rng = batch_rng(seed, batch);
    (first..first + n)
        .map(|path| {
            let mut s = [0u8; 32];
            rng.fill_bytes(&mut s);
            (path, s)
        })
        .collect()
}

/// Option `option`'s own generator on a path whose split seed is `split_seed`.
pub fn option_rng(split_seed: u64, option: u64) -> Xoshiro256PlusPlus {
    let mut sm = SplitMix64::seed_from_u64(split_seed ^ option.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut s = [0u8; 32];
    sm.fill_bytes(&mut s);
    Xoshiro256PlusPlus::from_seed(s)
}
