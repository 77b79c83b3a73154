//! Grid expansion: an [`Experiment`] becomes one [`RunSpec`] per cell of the cartesian product
//! of its swept keys (first key outermost). A run's id is a short hash of its resolved config,
//! so the same settings always get the same id, whatever grid they came from.

use anyhow::Result;
use sha2::{Digest, Sha256};

use toml::Table;

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

/// All runs of the experiment: for each variant (or just the base config when there are
/// none), every cell of the grid in grid order. With neither, one run of the base config.
pub fn expand(exp: &Experiment) -> Result<Vec<RunSpec>> {
    let file = exp.path.display();
    let bases: Vec<(Option<&str>, Table)> = if exp.variants.is_empty() {
        vec![(None, exp.base.clone())]
    } else {
        exp.variants
            .iter()
            .map(|v| {
                let t =
                    v.apply(&exp.base).map_err(|m| bad_input(format!("{file}: sweep.variant {:?}: {m}", v.name)))?;
                Ok((Some(v.name.as_str()), t))
            })
            .collect::<Result<_>>()?
    };
    let sizes: Vec<usize> = exp.grid.iter().map(|a| a.values.len()).collect();
    let cells: usize = sizes.iter().product();
    let mut runs: Vec<RunSpec> = Vec::with_capacity(cells * bases.len());
    for (variant, base) in &bases {
        for cell in 0..cells {
            // Mixed-radix decomposition of `cell`, last axis fastest.
            let mut rest = cell;
            let mut picks = vec![0; sizes.len()];
            for (i, &n) in sizes.iter().enumerate().rev() {
                picks[i] = rest % n;
                rest /= n;
            }
            let mut table = base.clone();
            let mut swept: Vec<(String, String)> =
                variant.map(|v| ("variant".to_string(), v.to_string())).into_iter().collect();
            for (axis, &j) in exp.grid.iter().zip(&picks) {
                let v = axis.values[j].clone();
                swept.push((axis.key.clone(), value_text(&v)));
                set_dotted(&mut table, &axis.key, v)
                    .map_err(|m| bad_input(format!("{file}: sweep.grid.{}: {m}", axis.key)))?;
            }
            let config = resolve_table(&table).map_err(|e| bad_input(format!("{file}: {}: {}", e.key, e.msg)))?;
            let config_toml = config.to_toml();
            let id = run_id(&config_toml);
            if let Some(twin) = runs.iter().find(|r| r.id == id) {
                return Err(bad_input(format!(
                    "{file}: sweep: {:?} and {:?} resolve to the same run; remove one",
                    twin.swept, swept
                )));
            }
            runs.push(RunSpec { id, config, config_toml, swept });
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn exp(text: &str, overrides: &[&str]) -> Experiment {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.toml");
        std::fs::write(&p, text).unwrap();
        let ov: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        Experiment::load(Path::new(&p), &ov).unwrap()
    }

    #[test]
    fn cartesian_product_in_grid_order_first_key_outermost() {
        let e = exp("[sweep.grid]\n\"loss.phi\" = [0.0, 100.0]\nseed = [1, 2, 3]\n", &[]);
        let runs = expand(&e).unwrap();
        let cells: Vec<Vec<String>> = runs.iter().map(|r| r.swept.iter().map(|(_, v)| v.clone()).collect()).collect();
        let want = [["0.0", "1"], ["0.0", "2"], ["0.0", "3"], ["100.0", "1"], ["100.0", "2"], ["100.0", "3"]];
        assert_eq!(cells, want.map(|c| c.map(String::from).to_vec()).to_vec());
        assert_eq!(runs[4].config.seed, 2);
        assert_eq!(runs[4].config.loss, crate::config::resolved::Loss::MseSumMinusStd { phi: 100.0 });
    }

    #[test]
    fn nested_and_quoted_grid_keys_are_the_same_axis() {
        let a = exp("[sweep.grid]\n\"optim.lr\" = [0.1, 0.2]\n", &[]);
        let b = exp("[sweep.grid]\noptim.lr = [0.1, 0.2]\n", &[]);
        assert_eq!(expand(&a).unwrap(), expand(&b).unwrap());
    }

    #[test]
    fn run_id_depends_only_on_the_resolved_config() {
        // The same settings get the same id whether they come from the grid, the base config,
        // an override or a default.
        let from_grid = expand(&exp("[sweep.grid]\n\"optim.lr\" = [0.01, 0.02]\n", &[])).unwrap();
        let from_base = expand(&exp("[optim]\nlr = 0.02\n", &[])).unwrap();
        let from_override = expand(&exp("", &["optim.lr=0.02"])).unwrap();
        assert_eq!(from_grid[1].id, from_base[0].id);
        assert_eq!(from_base[0].id, from_override[0].id);
        assert_ne!(from_grid[0].id, from_grid[1].id);
        let default_lr = expand(&exp("[optim]\nlr = 5e-4\n", &[])).unwrap();
        let implicit = expand(&exp("", &[])).unwrap();
        assert_eq!(default_lr[0].id, implicit[0].id);
        assert_eq!(implicit[0].id.len(), 10);
        assert!(implicit[0].id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(run_id(&implicit[0].config_toml), implicit[0].id);
    }

    #[test]
    fn overrides_replace_and_add_grid_axes() {
        let e = exp("[sweep.grid]\nseed = [0, 1]\n", &["sweep.grid.seed=[5]", "sweep.grid.optim.lr=[0.1, 0.2, 0.3]"]);
        let runs = expand(&e).unwrap();
        assert_eq!(runs.len(), 3);
        assert!(runs.iter().all(|r| r.config.seed == 5));
    }

    #[test]
    fn no_grid_is_one_run() {
        let runs = expand(&exp("[train]\nsteps = 7\n", &[])).unwrap();
        assert_eq!(runs.len(), 1);
        assert!(runs[0].swept.is_empty());
        assert_eq!(runs[0].config.train.steps, 7);
    }

    #[test]
    fn cells_that_resolve_to_the_same_run_are_rejected() {
        // An integer and a float are different TOML values but the same learning rate.
        let e = exp("[sweep.grid]\n\"optim.lr\" = [1, 1.0]\n", &[]);
        let err = format!("{:#}", expand(&e).unwrap_err());
        assert!(err.contains("same run"), "{err}");
    }

    #[test]
    fn variants_cross_the_grid_and_come_first_in_the_swept_values() {
        let text = "[sweep.grid]\nseed = [0, 1]\n\n[[sweep.variant]]\nname = \"baseline\"\n\n\
                    [[sweep.variant]]\nname = \"leaky\"\n\"model.head_activation\" = \"leaky_relu\"\n\n\
                    [[sweep.variant]]\nname = \"clip\"\ntrain.clip_grad_norm = 1.0\n";
        let runs = expand(&exp(text, &[])).unwrap();
        assert_eq!(runs.len(), 6);
        let cells: Vec<String> = runs.iter().map(|r| format!("{}/{}", r.swept[0].1, r.swept[1].1)).collect();
        assert_eq!(cells, ["baseline/0", "baseline/1", "leaky/0", "leaky/1", "clip/0", "clip/1"]);
        assert_eq!(runs[0].swept[0].0, "variant");
        assert_eq!(runs[2].config.model.head_activation, crate::config::resolved::Activation::LeakyRelu);
        assert_eq!(runs[4].config.train.clip_grad_norm, Some(1.0));
        assert_eq!(runs[0].config.train.clip_grad_norm, None);
    }
}
