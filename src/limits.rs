//! Every limit on what breakeven reads, in one place. Each bounds the time, the memory or the
//! arithmetic a small file could otherwise demand; each is far above what a real scenario or
//! catalogue holds (the shipped ones: under 20 KB a file, 17 items in the longest list, 1,124
//! characters in the longest text, numbers from 0.01 to 1,000). Inputs past a limit are bad
//! input (exit code 2) with a message naming the file, the key and the limit.
//!
//! Why the money limits keep totals exact: a month's bill is at most
//! `images × price per image`, with images below [`MAX_PEAK_MONTHLY_ASSETS`] × the stages'
//! images per asset and a unit price built from at most [`MAX_USD`] a unit; the tests check
//! that the worst case stays inside `rust_decimal`'s range (about 7.9e28) with room to spare,
//! and every sum is checked besides, so an overflow is an error, never a panic or a wrong sum.

/// Largest scenario, catalogue or manifest file read [bytes]; real ones are a few kilobytes,
/// and a device that never ends (`/dev/zero`) stops here.
pub const MAX_INPUT_BYTES: u64 = 16 << 20;
/// Most files in a catalogue folder.
pub const MAX_CATALOGUE_FILES: usize = 2_000;
/// Most folders and files visited while looking for catalogue files (a catalogue pointed at a
/// huge tree stops here instead of walking it).
pub const MAX_CATALOGUE_ENTRIES: usize = 20_000;
/// Deepest folder nesting in a catalogue (`api/bfl/x.toml` is 2).
pub const MAX_CATALOGUE_DEPTH: usize = 8;
/// Most catalogue bytes read in all [bytes].
pub const MAX_CATALOGUE_BYTES: u64 = 64 << 20;

/// Most items in any one array of a file (empirical values, prices, offers, speeds).
pub const MAX_ARRAY_ITEMS: usize = 10_000;
/// Longest text value in a file [characters] (sources, notes, descriptions).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Longest id or name [characters]: option ids, stage names, the scenario name, catalogue ids
/// (each part of `provider/model`), mix bucket names.
pub const MAX_ID_CHARS: usize = 64;
/// Largest magnitude of a number in a file. Past it no quantity means anything here, and
/// products of a few such numbers would leave `f64`'s range.
pub const MAX_NUMBER: f64 = 1e30;
/// Smallest magnitude of a non-zero number in a file: smaller ones (subnormals among them)
/// turn into 0 or infinity in the first division.
pub const MIN_NUMBER: f64 = 1e-30;

/// Most options in a scenario. Every pair of options keeps its paired differences, so memory
/// grows as the square: 100 API options took 94 MB at 2,000 paths and 285 MB at 10,000
/// (`/usr/bin/time -f %M breakeven run` on a generated scenario); 10,000 took over 5 GB.
pub const MAX_OPTIONS: usize = 100;
/// Most buckets in a request mix.
pub const MAX_MIX_BUCKETS: usize = 100;
/// Most pipeline stages.
pub const MAX_STAGES: usize = 20;
/// Most streams (stages × mix buckets): every hour of every path steps each one.
pub const MAX_STREAMS: usize = 400;
/// Most rank correlations.
pub const MAX_CORRELATIONS: usize = 1_000;

/// Most months a scenario may span.
pub const MAX_HORIZON_MONTHS: u32 = 60;
/// Demand beyond this many images a month is refused as absurd (about 380,000 a second).
pub const MAX_MONTHLY_IMAGES: f64 = 1e12;
/// Most assets in one month a simulation takes, growth included (the engine stops past it).
pub const MAX_PEAK_MONTHLY_ASSETS: f64 = MAX_MONTHLY_IMAGES * 1e3;
/// Largest dollar amount in any file [USD]: a price, a fee, a purchase.
pub const MAX_USD: u64 = 1_000_000_000;
/// Largest total an option may reach over the horizon at the most demand the engine accepts
/// [USD]: `rust_decimal` holds about 7.9e28, and this leaves room for the sums over options and
/// months.
pub const MAX_TOTAL_USD: f64 = 1e26;
/// Largest multiplier on a price (`price_factor`, `gpu_price_factor`).
pub const MAX_PRICE_FACTOR: f64 = 1e3;
/// Largest gamma shape: the gamma's quantile is computed by a search whose cost grows with
/// the shape, and past this the gamma is a normal with a relative spread under 0.1%.
pub const MAX_GAMMA_SHAPE: f64 = 1e6;
/// Smallest gamma shape: below it nearly every draw is 0 to the last bit.
pub const MIN_GAMMA_SHAPE: f64 = 1e-3;

/// Most sample paths a run may ask for.
pub const MAX_SAMPLES: u64 = 10_000_000;
/// Most paths per candidate when `plan` screens.
pub const MAX_SCREEN_PATHS: u64 = 100_000;
/// Most finalists `plan` re-runs with all paths.
pub const MAX_FINALISTS: usize = 100;
