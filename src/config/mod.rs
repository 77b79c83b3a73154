//! Experiment files: reading the TOML, applying `KEY=VALUE` overrides, and turning tables into
//! validated [`RunConfig`]s. Every error names the file, the dotted key and what was expected,
//! and is a [`BadInput`](crate::error::BadInput) (exit code 2).
//!
//! An experiment file is a run config (`seed`, `[model]`, `[data]`, `[loss]`, `[optim]`,
//! `[schedule]`, `[train]`, `[detect]`) plus `[sweep.grid]`, where every listed key is swept:
//! `"loss.phi" = [0, 100]` or, equivalently, `loss.phi = [0, 100]`.

pub mod raw;
pub mod resolve;
pub mod resolved;
pub mod sweep_section;

use std::path::{Path, PathBuf};

use anyhow::Result;
use toml::{Table, Value};

use crate::error::bad_input;
use raw::RawConfig;
pub use resolve::KeyError;
pub use resolved::RunConfig;
use sweep_section::{axis, parse_sweep};
pub use sweep_section::{GridAxis, Variant};

/// An experiment file after overrides: the shared base table and the grid to expand.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// File stem: the sweep's folder name under `--out`.
    pub name: String,
    pub path: PathBuf,
    pub base: Table,
    pub grid: Vec<GridAxis>,
    /// Named sets of overrides, each crossed with the grid (`[[sweep.variant]]`); empty: none.
    pub variants: Vec<Variant>,
}

impl Experiment {
    /// Reads `path`, applies `overrides` (`KEY=VALUE`, VALUE in TOML syntax or a bare string)
    /// and checks the base config and every grid value. Nothing is written.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Experiment> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input(format!("{file}: cannot read experiment file: {e}")))?;
        let mut base: Table = toml::from_str(&text)
            .map_err(|e| bad_input(format!("{file}: invalid TOML: {}", toml_error_line(&e, &text))))?;
        let sweep = base.remove("sweep");
        let (mut grid, variants) = parse_sweep(sweep, &file)?;
        for ov in overrides {
            apply_override(&mut base, &mut grid, ov).map_err(|m| bad_input(format!("{file}: override {ov:?}: {m}")))?;
        }
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if name.is_empty() {
            return Err(bad_input(format!("{file}: cannot take a sweep name from this path")));
        }
        let exp = Experiment { name, path: path.to_path_buf(), base, grid, variants };
        resolve_table(&exp.base).map_err(|e| bad_input(format!("{file}: {}: {}", e.key, e.msg)))?;
        for v in &exp.variants {
            let t = v.apply(&exp.base).map_err(|m| bad_input(format!("{file}: sweep.variant {:?}: {m}", v.name)))?;
            resolve_table(&t)
                .map_err(|e| bad_input(format!("{file}: sweep.variant {:?}: {}: {}", v.name, e.key, e.msg)))?;
        }
        for axis in &exp.grid {
            for (i, v) in axis.values.iter().enumerate() {
                let mut t = exp.base.clone();
                set_dotted(&mut t, &axis.key, v.clone())
                    .map_err(|m| bad_input(format!("{file}: sweep.grid.{}: {m}", axis.key)))?;
                resolve_table(&t).map_err(|e| {
                    bad_input(format!(
                        "{file}: sweep.grid.{} value #{} ({}): {}: {}",
                        axis.key,
                        i + 1,
                        value_text(v),
                        e.key,
                        e.msg
                    ))
                })?;
            }
        }
        Ok(exp)
    }
}

/// Deserialises and validates one run's table; the error names the dotted key.
pub fn resolve_table(t: &Table) -> Result<RunConfig, KeyError> {
    let raw: RawConfig = serde_path_to_error::deserialize(Value::Table(t.clone())).map_err(|e| {
        let key = e.path().to_string();
        let msg = e.inner().to_string();
        KeyError {
            key: if key == "." { "(top level)".into() } else { key },
            msg: msg.lines().next().unwrap_or("").trim_end().to_string(),
        }
    })?;
    RunConfig::resolve(&raw)
}

/// A swept value as it appears in tables and ids: strings bare, everything else as TOML.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn apply_override(base: &mut Table, grid: &mut Vec<GridAxis>, ov: &str) -> Result<(), String> {
    let (key, text) = ov.split_once('=').ok_or("expected KEY=VALUE")?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!("bad key {key:?}: expected a dotted path like train.steps"));
    }
    let value = parse_value(text.trim());
    if let Some(grid_key) = key.strip_prefix("sweep.grid.") {
        let Value::Array(values) = value else {
            return Err(format!("sweep.grid.{grid_key}: expected a list like [1, 2]"));
        };
        let new = axis(grid_key, values)?;
        match grid.iter_mut().find(|a| a.key == grid_key) {
            Some(a) => *a = new,
            None => grid.push(new),
        }
        return Ok(());
    }
    if key.starts_with("sweep") {
        return Err(format!("{key}: only sweep.grid.KEY can be overridden"));
    }
    set_dotted(base, key, value)
}

/// A value in TOML syntax (`200`, `5e-4`, `[0.1, 0.2]`, `"x"`, `true`), else a bare string.
fn parse_value(text: &str) -> Value {
    match toml::from_str::<Table>(&format!("v = {text}")) {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| Value::String(text.to_string())),
        Err(_) => Value::String(text.to_string()),
    }
}

/// Sets `a.b.c = value`, creating tables on the way.
pub fn set_dotted(t: &mut Table, key: &str, value: Value) -> Result<(), String> {
    let mut parts: Vec<&str> = key.split('.').collect();
    let last = parts.pop().ok_or("empty key")?;
    let mut cur = t;
    for (i, p) in parts.iter().enumerate() {
        let entry = cur.entry(p.to_string()).or_insert_with(|| Value::Table(Table::new()));
        cur = match entry {
            Value::Table(inner) => inner,
            _ => return Err(format!("{} is a value, not a table", parts[..=i].join("."))),
        };
    }
    cur.insert(last.to_string(), value);
    Ok(())
}

/// toml's parse error on one line: "line L, column C: message".
fn toml_error_line(e: &toml::de::Error, text_in: &str) -> String {
    let text = e.to_string();
    let msg = text.lines().last().unwrap_or("").trim();
    let msg = if msg.is_empty() { text.lines().next().unwrap_or("").trim() } else { msg };
    match e.span() {
        Some(span) => {
            let before = &text_in[..span.start.min(text_in.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {msg}")
        }
        None => msg.to_string(),
    }
}
