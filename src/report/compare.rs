//! `harness compare`: reads the runs named on the command line (run folders, or sweep folders
//! for all their runs), summarises each from its files, flattens each resolved config to dotted
//! keys, and writes one self-contained HTML page (`comparepage`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::build::{in_pool, step_columns, summarize_or_fail};
use super::comparepage::compare_page;
use super::StepColumns;
use crate::error::bad_input;
use crate::summary::RunSummary;
use crate::sweep::files::{write_atomic, ManifestRun, SweepDir};

/// The per-step columns a comparison overlays.
const OVERLAID: [&str; 2] = ["pred_std", "loss"];

/// One run of a comparison, as plain data.
#[derive(Debug, Clone)]
pub struct CompareRun {
    /// `sweep name/run id`.
    pub label: String,
    pub summary: RunSummary,
    /// The resolved config as `(dotted key, value)`, in file order.
    pub config: Vec<(String, String)>,
    /// `step` and the `OVERLAID` columns.
    pub columns: StepColumns,
}

/// Writes the comparison of `inputs` to `out`; returns the number of runs compared.
pub fn compare(inputs: &[PathBuf], out: &Path) -> Result<usize> {
    let runs = load(inputs)?;
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    let page = compare_page(&runs, &names)?;
    write_atomic(out, page.as_bytes())?;
    Ok(runs.len())
}

/// Every run named by `inputs`, in order, each once.
pub fn load(inputs: &[PathBuf]) -> Result<Vec<CompareRun>> {
    let mut found: Vec<(SweepDir, ManifestRun, String)> = Vec::new();
    for input in inputs {
        for run in runs_of(input)? {
            if !found.iter().any(|(d, r, _)| d.run_dir(&r.id) == run.0.run_dir(&run.1.id)) {
                found.push(run);
            }
        }
    }
    if found.is_empty() {
        return Err(bad_input("nothing to compare: the sweep folders given have no finished runs"));
    }
    in_pool(|| found.par_iter().map(|(dir, run, name)| load_run(dir, run, name)).collect::<Result<Vec<_>>>())?
}

/// The runs of one input: `(its sweep folder, the run, the sweep's name)`.
fn runs_of(input: &Path) -> Result<Vec<(SweepDir, ManifestRun, String)>> {
    let shown = input.display();
    if !input.is_dir() {
        return Err(bad_input(format!("{shown}: no such folder")));
    }
    let input = input.canonicalize().with_context(|| format!("resolving {shown}"))?;
    if input.join("sweep.json").is_file() {
        let dir = SweepDir::new(&input);
        let manifest = dir.read_manifest().map_err(|e| bad_input(format!("{shown}: {e:#}")))?;
        let done = manifest.runs.into_iter().filter(|r| dir.result(&r.id).exists());
        return Ok(done.map(|r| (dir.clone(), r, manifest.name.clone())).collect());
    }
    if !input.join("result.json").is_file() {
        return Err(bad_input(format!("{shown}: neither a run folder (result.json) nor a sweep folder (sweep.json)")));
    }
    // A run folder is SWEEP/runs/RUN_ID: its files are found through its sweep folder.
    let id = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let runs_folder = input.parent().filter(|p| p.file_name().is_some_and(|n| n == "runs"));
    let Some(root) = runs_folder.and_then(Path::parent) else {
        return Err(bad_input(format!("{shown}: a run folder must sit in a sweep's runs/ folder")));
    };
    let dir = SweepDir::new(root);
    let result = dir.read_result(&id).map_err(|e| bad_input(format!("{shown}: {e:#}")))?;
    let name = dir.read_manifest().map(|m| m.name).unwrap_or_else(|_| root.display().to_string());
    Ok(vec![(dir, ManifestRun { id, swept: result.swept }, name)])
}

fn load_run(dir: &SweepDir, run: &ManifestRun, sweep_name: &str) -> Result<CompareRun> {
    let context = || format!("run {}", dir.run_dir(&run.id).display());
    let (summary, metrics) = summarize_or_fail(dir, run);
    let columns = metrics.as_ref().map(|m| step_columns(m, Some(&OVERLAID))).transpose()?.unwrap_or_default();
    let text = std::fs::read_to_string(dir.config(&run.id)).with_context(context)?;
    let config = flatten_config(&text).with_context(context)?;
    Ok(CompareRun { label: format!("{sweep_name}/{}", run.id), summary, config, columns })
}

/// A TOML document as `(dotted key, value)` pairs in file order: strings bare, other values
/// as TOML (`[32, 8, 4]`, `0.002`).
pub fn flatten_config(text: &str) -> Result<Vec<(String, String)>> {
    let table: toml::Table = toml::from_str(text).context("parsing config.toml")?;
    let mut out = Vec::new();
    flatten_into("", &table, &mut out);
    Ok(out)
}

fn flatten_into(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let dotted = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::Table(inner) => flatten_into(&dotted, inner, out),
            toml::Value::String(s) => out.push((dotted, s.clone())),
            other => out.push((dotted, other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_nested_tables_to_dotted_keys_in_file_order() {
        let text = "seed = 2\n[model]\nhead_sizes = [32, 8]\n[optim]\nkind = \"sgd\"\nlr = 0.002\n";
        let flat = flatten_config(text).unwrap();
        let want = [("seed", "2"), ("model.head_sizes", "[32, 8]"), ("optim.kind", "sgd"), ("optim.lr", "0.002")];
        let want: Vec<(String, String)> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(flat, want);
        assert!(flatten_config("[broken").is_err());
    }

    #[test]
    fn bad_inputs_are_bad_input_errors_naming_the_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        let err = load(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(err.to_string().contains("nope: no such folder"), "{err}");
        let err = load(&[tmp.path().to_path_buf()]).unwrap_err();
        assert_eq!(crate::error::exit_code(&err), 2);
        assert!(err.to_string().contains("neither a run folder"), "{err}");
    }
}
