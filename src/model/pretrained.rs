//! Pretrained BERT checkpoints: `config.json` + `model.safetensors` with HF BERT weight names
//! (with or without the `bert.` prefix of `BertFor…` heads), found either in a local folder or,
//! for a hub repo id `OWNER/NAME`, offline in the hf-hub cache layout
//! `CACHE/models--OWNER--NAME/{refs/REV, snapshots/COMMIT/…}`. Nothing is ever downloaded.
//!
//! Cache directory, first that is set: the caller's (`model.cache_dir`), `HF_HUB_CACHE`,
//! `HF_HOME/hub`, `~/.cache/huggingface/hub` — the same order as huggingface_hub.
//! The lookup is written out here instead of using the hf-hub crate: hf-hub 1.x reads no
//! environment variables and pulls an HTTP stack, and the layout is four path joins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::Config as BertConfig;

/// A loaded checkpoint: architecture and every tensor, keyed by its name without `bert.`.
pub struct Pretrained {
    /// The folder the files came from (a snapshot folder for hub ids).
    pub dir: PathBuf,
    pub config: BertConfig,
    pub tensors: HashMap<String, Tensor>,
}

/// The hf-hub cache directory: `explicit`, else `HF_HUB_CACHE`, else `HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn cache_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = env("HF_HUB_CACHE") {
        return p;
    }
    if let Some(p) = env("HF_HOME") {
        return p.join("hub");
    }
    env("HOME").unwrap_or_else(|| PathBuf::from(".")).join(".cache/huggingface/hub")
}

/// The folder holding the checkpoint's files. `source` is a local folder if one exists at that
/// path, else a hub repo id resolved in the cache; `revision` is a ref name (`main`) or a commit.
pub fn resolve(source: &str, revision: Option<&str>, cache: Option<&Path>) -> Result<PathBuf> {
    let local = Path::new(source);
    if local.is_dir() {
        return Ok(local.to_path_buf());
    }
    let Some((owner, name)) = source.split_once('/').filter(|(o, n)| !o.is_empty() && !n.contains('/')) else {
        bail!("model.pretrained = {source:?} is neither a folder nor a hub repo id OWNER/NAME");
    };
    let cache = cache_dir(cache);
    let repo = cache.join(format!("models--{owner}--{name}"));
    let rev = revision.unwrap_or("main");
    let ref_file = repo.join("refs").join(rev);
    let commit = match std::fs::read_to_string(&ref_file) {
        Ok(s) => s.trim().to_string(),
        Err(_) => rev.to_string(), // a commit hash names its snapshot directly
    };
    let snap = repo.join("snapshots").join(&commit);
    if !snap.is_dir() {
        bail!(
            "model.pretrained = {source:?}: revision {rev:?} is not in the hf-hub cache {} (looked for {}); \
             nothing is downloaded at run time — fill the cache first (e.g. scripts/fetch_minilm.sh)",
            cache.display(),
            snap.display()
        );
    }
    Ok(snap)
}

/// Reads `dir/config.json` and `dir/model.safetensors` (as f32 on `dev`).
pub fn load(dir: &Path, dev: &Device) -> Result<Pretrained> {
    let cfg_path = dir.join("config.json");
    let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
    let config: BertConfig =
        serde_json::from_str(&text).with_context(|| format!("{}: not a BERT config", cfg_path.display()))?;
    let st_path = dir.join("model.safetensors");
    let raw =
        candle_core::safetensors::load(&st_path, dev).with_context(|| format!("reading {}", st_path.display()))?;
    let mut tensors = HashMap::with_capacity(raw.len());
    for (name, t) in raw {
        let name = name.strip_prefix("bert.").unwrap_or(&name).to_string();
        let t = if t.dtype() == DType::F32 || !t.dtype().is_float() { t } else { t.to_dtype(DType::F32)? };
        tensors.insert(name, t);
    }
    Ok(Pretrained { dir: dir.to_path_buf(), config, tensors })
}

impl Pretrained {
    /// The f32 tensor `name` (without `bert.`), checked against `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> candle_core::Result<Tensor> {
        let t = self.tensors.get(name).ok_or_else(|| {
            candle_core::Error::Msg(format!(
                "{}: tensor {name} is missing",
                self.dir.join("model.safetensors").display()
            ))
        })?;
        if t.dims() != shape {
            return Err(candle_core::Error::Msg(format!(
                "{}: tensor {name} has shape {:?}, the config needs {shape:?}",
                self.dir.join("model.safetensors").display(),
                t.dims()
            )));
        }
        t.to_dtype(DType::F32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_id_resolves_through_refs_to_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("models--acme--tiny-bert");
        std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
        let got = resolve("acme/tiny-bert", None, Some(dir.path())).unwrap();
        assert_eq!(got, repo.join("snapshots/abc123"));
        // a commit given directly
        assert_eq!(resolve("acme/tiny-bert", Some("abc123"), Some(dir.path())).unwrap(), got);
        let err = resolve("acme/tiny-bert", Some("v2"), Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("not in the hf-hub cache") && err.contains("v2"), "{err}");
        let err = resolve("no-slash", None, Some(dir.path())).unwrap_err().to_string();
        assert!(err.contains("neither a folder"), "{err}");
    }
}
