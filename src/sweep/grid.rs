//! Grid expansion: an [`Experiment`] becomes one [`RunSpec`] per cell of the cartesian product
//! of its swept keys (first key outermost). A run's id is a short hash of its resolved config,
//! so the same settings always get the same id, whatever grid they came from.

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::config::{resolve_table, set_dotted, value_text, Experiment, RunConfig};
use crate::error::bad_input;

/// Everything one training run needs, fully resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// First 10 hex digits of SHA-256 of `config_toml`.
    pub id: String,
    pub config: RunConfig,
    /// The resolved config as written to `runs/RUN_ID/config.toml`.
    pub config_toml: String,
    /// `(dotted key, value)` of each swept key, in grid order.
    pub swept: Vec<(String, String)>,
}

/// Short, stable id of a resolved config.
pub fn run_id(config_toml: &str) -> String {
    let digest = Sha256::digest(config_toml.as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

/// All runs of the experiment, in grid order. With no grid, one run of the base config.
pub fn expand(exp: &Experiment) -> Result<Vec<RunSpec>> {
    let file = exp.path.display();
    let sizes: Vec<usize> = exp.grid.iter().map(|a| a.values.len()).collect();
    let total: usize = sizes.iter().product();
    let mut runs: Vec<RunSpec> = Vec::with_capacity(total);
    for cell in 0..total {
        // Mixed-radix decomposition of `cell`, last axis fastest.
        let mut rest = cell;
        let mut picks = vec![0; sizes.len()];
        for (i, &n) in sizes.iter().enumerate().rev() {
            picks[i] = rest % n;
            rest /= n;
        }
        let mut table = exp.base.clone();
        let mut swept = Vec::with_capacity(picks.len());
        for (axis, &j) in exp.grid.iter().zip(&picks) {
            let v = axis.values[j].clone();
            swept.push((axis.key.clone(), value_text(&v)));
            set_dotted(&mut table, &axis.key, v)
                .map_err(|m| bad_input(format!("{file}: sweep.grid.{}: {m}", axis.key)))?;
        }
        let config = resolve_table(&table)
            .map_err(|e| bad_input(format!("{file}: {}: {}", e.key, e.msg)))?;
        let config_toml = config.to_toml();
        let id = run_id(&config_toml);
        if let Some(twin) = runs.iter().find(|r| r.id == id) {
            return Err(bad_input(format!(
                "{file}: sweep.grid: cells {:?} and {:?} resolve to the same run; remove one value",
                twin.swept, swept
            )));
        }
        runs.push(RunSpec {
            id,
            config,
            config_toml,
            swept,
        });
    }
    Ok(runs)
}
