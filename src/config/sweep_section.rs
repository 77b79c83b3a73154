//! The `[sweep]` section of an experiment file: `[sweep.grid]` (keys whose listed values are
//! crossed) and `[[sweep.variant]]` (named sets of overrides, each crossed with the grid: "the
//! baseline, then one remedy at a time").

use anyhow::Result;
use toml::{Table, Value};

use super::{set_dotted, value_text};
use crate::error::bad_input;

/// One swept key and the values it takes, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct GridAxis {
    pub key: String,
    pub values: Vec<Value>,
}

/// A named set of `dotted.key = value` overrides.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub name: String,
    pub sets: Vec<(String, Value)>,
}

impl Variant {
    /// `base` with this variant's overrides applied.
    pub fn apply(&self, base: &Table) -> Result<Table, String> {
        let mut t = base.clone();
        for (k, v) in &self.sets {
            set_dotted(&mut t, k, v.clone()).map_err(|m| format!("{k}: {m}"))?;
        }
        Ok(t)
    }
}

pub fn parse_sweep(sweep: Option<Value>, file: &str) -> Result<(Vec<GridAxis>, Vec<Variant>)> {
    let Some(sweep) = sweep else {
        return Ok((Vec::new(), Vec::new()));
    };
    let Value::Table(mut sweep) = sweep else {
        return Err(bad_input(format!("{file}: sweep: expected a table [sweep]")));
    };
    let grid = sweep.remove("grid");
    let variants = parse_variants(sweep.remove("variant"), file)?;
    if let Some(k) = sweep.keys().next() {
        return Err(bad_input(format!("{file}: sweep.{k}: unknown key, expected sweep.grid or sweep.variant")));
    }
    let Some(grid) = grid else {
        return Ok((Vec::new(), variants));
    };
    let Value::Table(grid) = grid else {
        return Err(bad_input(format!("{file}: sweep.grid: expected a table of KEY = [values]")));
    };
    let mut axes = Vec::new();
    flatten_grid("", grid, &mut axes).map_err(|m| bad_input(format!("{file}: {m}")))?;
    if !variants.is_empty() && axes.iter().any(|a| a.key == "variant") {
        return Err(bad_input(format!("{file}: sweep.grid.variant: \"variant\" names the [[sweep.variant]] column")));
    }
    Ok((axes, variants))
}

/// `[[sweep.variant]]` tables: a unique `name` and any number of `dotted.key = value`.
fn parse_variants(v: Option<Value>, file: &str) -> Result<Vec<Variant>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Array(items) = v else {
        return Err(bad_input(format!("{file}: sweep.variant: expected [[sweep.variant]] tables")));
    };
    let mut out: Vec<Variant> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Table(mut t) = item else {
            return Err(bad_input(format!("{file}: sweep.variant[{i}]: expected a table")));
        };
        let name = match t.remove("name") {
            Some(Value::String(n)) if !n.is_empty() => n,
            _ => return Err(bad_input(format!("{file}: sweep.variant[{i}].name: expected a non-empty string"))),
        };
        if out.iter().any(|o| o.name == name) {
            return Err(bad_input(format!("{file}: sweep.variant[{i}].name: {name:?} is used twice")));
        }
        let mut sets = Vec::new();
        flatten_sets("", t, &mut sets);
        out.push(Variant { name, sets });
    }
    Ok(out)
}

/// Nested tables of a variant back into dotted keys (`model.head_activation = …`).
fn flatten_sets(prefix: &str, t: Table, out: &mut Vec<(String, Value)>) {
    for (k, v) in t {
        let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
        match v {
            Value::Table(inner) => flatten_sets(&key, inner, out),
            other => out.push((key, other)),
        }
    }
}

/// `[sweep.grid] loss.phi = [...]` nests tables; flatten them back into dotted keys.
fn flatten_grid(prefix: &str, t: Table, out: &mut Vec<GridAxis>) -> Result<(), String> {
    for (k, v) in t {
        let key = if prefix.is_empty() { k } else { format!("{prefix}.{k}") };
        match v {
            Value::Table(inner) => flatten_grid(&key, inner, out)?,
            Value::Array(values) => out.push(axis(&key, values)?),
            other => {
                return Err(format!(
                    "sweep.grid.{key}: expected a list of values like [1, 2] but got {}",
                    value_text(&other)
                ))
            }
        }
    }
    Ok(())
}

pub fn axis(key: &str, values: Vec<Value>) -> Result<GridAxis, String> {
    if values.is_empty() {
        return Err(format!("sweep.grid.{key}: expected a non-empty list of values but got []"));
    }
    if let Some(v) = values.iter().find(|v| matches!(v, Value::Array(_) | Value::Table(_))) {
        return Err(format!("sweep.grid.{key}: only scalar values can be swept but got {v}"));
    }
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(format!("sweep.grid.{key}: value {} is listed twice", value_text(v)));
        }
    }
    Ok(GridAxis { key: key.to_string(), values })
}
