//! Writing a part: the header, the extras, each batch's fold as it comes, and the digest.

use super::{Header, MAX_LINE_BYTES};
use crate::engine::{drive_shard, Controls, Fold, PathJob, RunConfig};
use crate::error::{Error, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Write;

/// `{"header": …}`, `{"extras": …}`, `{"batch": b, "state": …}`, `{"end": …}`: the lines of a
/// part, written from borrowed values and read into owned ones.
#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HeaderLine<H> {
    pub header: H,
}

#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExtrasLine<X> {
    pub extras: Option<X>,
}

#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchLine<S> {
    pub batch: u64,
    pub state: S,
}

#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EndLine {
    pub end: End,
}

#[derive(Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct End {
    /// Batch lines before it.
    pub batches: u64,
    /// SHA-256 (hex) of every byte before the end line.
    pub sha256: String,
}

/// Writes one part, line by line, hashing what it writes.
pub struct PartWriter<'w> {
    out: &'w mut dyn Write,
    shown: String,
    hash: Sha256,
    batches: u64,
}

impl<'w> PartWriter<'w> {
    /// Start a part at `out` (named `shown` in messages) with its header and extras.
    pub fn start<X: Serialize>(
        out: &'w mut dyn Write,
        shown: &str,
        header: &Header,
        extras: Option<&X>,
    ) -> Result<PartWriter<'w>> {
        let mut w = PartWriter {
            out,
            shown: shown.to_string(),
            hash: Sha256::new(),
            batches: 0,
        };
        w.line(&HeaderLine { header })?;
        w.line(&ExtrasLine { extras })?;
        Ok(w)
    }

    /// Write batch `batch`'s fold.
    pub fn batch<S: Serialize>(&mut self, batch: u64, state: &S) -> Result<()> {
        self.line(&BatchLine { batch, state })?;
        self.batches += 1;
        Ok(())
    }

    /// Write the end line and flush.
    pub fn end(mut self) -> Result<()> {
        let end = EndLine {
            end: End {
                batches: self.batches,
                sha256: super::hex(&self.hash.clone().finalize()),
            },
        };
        let mut text = serde_json::to_vec(&end).map_err(|e| Error::Invariant(format!("{e}")))?;
        text.push(b'\n');
        self.raw(&text)?;
        self.out.flush().map_err(|e| self.io(e))
    }

    fn line<T: Serialize>(&mut self, v: &T) -> Result<()> {
        let mut text = serde_json::to_vec(v)
            .map_err(|e| Error::Invariant(format!("a part line does not serialize: {e}")))?;
        text.push(b'\n');
        if text.len() as u64 > MAX_LINE_BYTES {
            return Err(Error::input(
                "<command line>",
                "--shard",
                format!(
                    "a batch of this run takes {} MB in a part, over the {} MB merge reads a line; expected fewer options, months or grid points in one run",
                    text.len() >> 20,
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        self.hash.update(&text);
        self.raw(&text)
    }

    fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| self.io(e))
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::Io {
            path: self.shown.clone(),
            source: e,
        }
    }
}

/// Run the batches of `cfg.shard` of `job` and write them as a part to `out`: the header, the
/// extras, each batch's fold (made by `new_fold`) in batch order as it comes, and the end line.
#[allow(clippy::too_many_arguments)]
pub fn write_part<J, F, X>(
    out: &mut dyn Write,
    shown: &str,
    header: &Header,
    extras: Option<&X>,
    job: &J,
    cfg: &RunConfig,
    ctl: Controls<'_>,
    new_fold: &(dyn Fn() -> F + Sync),
) -> Result<()>
where
    J: PathJob,
    F: Fold<Path = J::Path> + Serialize,
    X: Serialize,
{
    if cfg.shard != Some((header.shard, header.shards))
        || cfg.samples != header.run_samples()
        || cfg.seed != header.settings.seed
        || cfg.sampler != header.settings.sampler
    {
        return Err(Error::Invariant(
            "a part's header does not describe its run".into(),
        ));
    }
    let mut w = PartWriter::start(out, shown, header, extras)?;
    drive_shard(job, cfg, ctl, new_fold, &mut |b, state| w.batch(b, &state))?;
    w.end()
}
