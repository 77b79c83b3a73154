//! The files of a sweep folder and how they are written: every file goes to a temporary name,
//! is synced and renamed, so a reader never sees a half-written one.
//!
//! ```text
//! DIR/NAME/sweep.json              manifest: swept keys and every run's id and swept values
//! DIR/NAME/shards/I-of-N.json      manifest written by `harness sweep --shard I/N` instead
//! DIR/NAME/runs/RUN_ID/config.toml resolved config
//! DIR/NAME/runs/RUN_ID/metrics.parquet  one row per step (appears when complete)
//! DIR/NAME/runs/RUN_ID/result.json how the run ended (written last: the run is complete)
//! DIR/NAME/summary.{parquet,csv}, index.html, runs/RUN_ID/index.html
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// How a run's training ended, as recorded in `result.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub run_id: String,
    pub swept: Vec<(String, String)>,
    /// `finished`, `diverged`, `stopped`, `failed` or `interrupted` (redone on resume).
    pub ending: String,
    /// Why it diverged, stopped or failed; empty when finished.
    pub reason: String,
    pub steps_done: i64,
    pub wall_s: f64,
}

/// `sweep.json`: what the sweep is made of, in grid order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    pub swept_keys: Vec<String>,
    pub runs: Vec<ManifestRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestRun {
    pub id: String,
    pub swept: Vec<(String, String)>,
}

/// Paths inside one sweep folder.
#[derive(Debug, Clone)]
pub struct SweepDir {
    pub root: PathBuf,
}

impl SweepDir {
    pub fn new(root: impl Into<PathBuf>) -> SweepDir {
        SweepDir { root: root.into() }
    }
    pub fn manifest(&self) -> PathBuf {
        self.root.join("sweep.json")
    }
    /// Folder of the manifests written by sharded sweeps (`shards/I-of-N.json`).
    pub fn shards(&self) -> PathBuf {
        self.root.join("shards")
    }
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.root.join("runs").join(id)
    }
    pub fn config(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("config.toml")
    }
    pub fn metrics(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("metrics.parquet")
    }
    pub fn result(&self, id: &str) -> PathBuf {
        self.run_dir(id).join("result.json")
    }

    /// A run is complete when its result and, unless it failed before writing any, its
    /// metrics are in place.
    pub fn is_complete(&self, id: &str) -> bool {
        match self.read_result(id) {
            Ok(r) => r.ending != "interrupted" && (r.ending == "failed" || self.metrics(id).exists()),
            Err(_) => false,
        }
    }

    pub fn read_result(&self, id: &str) -> Result<RunResult> {
        let path = self.result(id);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Whether a sweep has started here: a `sweep.json` or a shard's manifest exists.
    pub fn has_manifest(&self) -> bool {
        self.manifest().exists() || !self.shard_manifests().is_empty()
    }

    /// The sweep's manifest: `sweep.json`, then the runs of every shard manifest (in file-name
    /// order) that are not in it yet, so runs keep their grid order and appear once.
    pub fn read_manifest(&self) -> Result<Manifest> {
        let mut paths = self.shard_manifests();
        if self.manifest().exists() || paths.is_empty() {
            paths.insert(0, self.manifest());
        }
        let mut merged: Option<Manifest> = None;
        for path in paths {
            let text = std::fs::read_to_string(&path).with_context(|| {
                if path == self.manifest() {
                    format!("{} is not a sweep folder (no sweep.json)", self.root.display())
                } else {
                    format!("reading {}", path.display())
                }
            })?;
            let m: Manifest = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            match &mut merged {
                None => merged = Some(m),
                Some(all) => all.absorb(m),
            }
        }
        Ok(merged.unwrap_or_default())
    }

    /// `shards/*.json`, sorted by name.
    fn shard_manifests(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.shards()) else { return Vec::new() };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        paths.sort();
        paths
    }
}

impl Manifest {
    /// Adds the swept keys and runs of `other` that this manifest does not have yet.
    pub fn absorb(&mut self, other: Manifest) {
        for k in other.swept_keys {
            if !self.swept_keys.contains(&k) {
                self.swept_keys.push(k);
            }
        }
        for r in other.runs {
            if !self.runs.iter().any(|x| x.id == r.id) {
                self.runs.push(r);
            }
        }
    }
}

/// Writes `bytes` to `path` through `path.tmp`, fsync and rename, then syncs the folder so the
/// rename itself survives a power cut.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes).with_context(|| format!("writing {}", tmp.display()))?;
    f.sync_all().with_context(|| format!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    sync_dir(path)
}

/// Syncs the folder holding `path` (a no-op where folders cannot be opened for syncing).
pub fn sync_dir(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(parent) {
            dir.sync_all().with_context(|| format!("syncing {}", parent.display()))?;
        }
    }
    Ok(())
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("serialising JSON")?;
    write_atomic(path, text.as_bytes())
}
