//! User data files: JSONL (one JSON object per line) or Parquet (one row per sequence), each
//! record with `input_ids` (token ids) or `sequence` (text, tokenized by a [`Tokenize`]),
//! `labels` (one float in [0, 1] per token or word, −100 for none) and optional `domains`
//! (one int per token or word, −1 excludes it from the loss).
//!
//! Every record is validated; the first problem is an error naming the file, the line (JSONL,
//! 1-based) or row (Parquet, 0-based like polars), and the field, e.g.
//! `data.jsonl: line 3: field `labels[2]`: 1.5 is outside [0, 1] (−100 marks no label)`.
//!
//! With `sequence`, the text is split on whitespace into words (residues for protein data),
//! `labels`/`domains` have one entry per word, and each word's label goes to its first
//! sub-token; other sub-tokens and special tokens (`[CLS]`, `[SEP]`) get −100 / −1.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Sequence, IGNORE_LABEL, MASKED_DOMAIN};

/// A record-level problem in a data file.
#[derive(Debug, Clone, PartialEq)]
pub struct DataError {
    pub file: PathBuf,
    /// `line N` (JSONL) or `row N` (Parquet); empty for whole-file problems.
    pub place: String,
    /// The field, with an index for list items (`labels[2]`); empty when there is none.
    pub field: String,
    pub msg: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if !self.place.is_empty() {
            write!(f, ": {}", self.place)?;
        }
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.msg)
    }
}

impl std::error::Error for DataError {}

/// Text → token ids, with the index of the word each token came from (`None`: special token).
pub trait Tokenize {
    fn encode_words(&self, words: &[&str]) -> Result<Vec<(u32, Option<usize>)>, String>;
}

/// One record as read, before validation. Numbers stay f64 so that 1.5 as an id is caught.
#[derive(Debug, Default, Clone)]
pub struct RawRecord {
    pub sequence: Option<String>,
    pub input_ids: Option<Vec<f64>>,
    pub labels: Option<Vec<f64>>,
    pub domains: Option<Vec<f64>>,
}

/// What validation needs to know about the model.
pub struct Checks<'a> {
    pub vocab_size: usize,
    pub tokenizer: Option<&'a dyn Tokenize>,
}

/// Reads and validates `path` (`.jsonl`/`.json` or `.parquet`, by extension).
pub fn load(path: &Path, checks: &Checks) -> Result<Vec<Sequence>, DataError> {
    let whole = |msg: String| DataError { file: path.to_path_buf(), place: String::new(), field: String::new(), msg };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let records = match ext {
        "jsonl" | "json" => read_jsonl(path)?,
        "parquet" => read_parquet(path)?,
        _ => return Err(whole(format!("unknown data file type {ext:?} (use .jsonl or .parquet)"))),
    };
    if records.is_empty() {
        return Err(whole("no records".into()));
    }
    records
        .into_iter()
        .map(|(place, r)| validate(&r, checks).map_err(|(field, msg)| at(path, &place, field, msg)))
        .collect()
}

fn at(path: &Path, place: &str, field: String, msg: String) -> DataError {
    DataError { file: path.to_path_buf(), place: place.to_string(), field, msg }
}

type FieldError = (String, String);

fn ferr<T>(field: &str, msg: impl Into<String>) -> Result<T, FieldError> {
    Err((field.to_string(), msg.into()))
}

/// Checks one record and turns it into a [`Sequence`].
pub fn validate(r: &RawRecord, checks: &Checks) -> Result<Sequence, FieldError> {
    let (tokens, words) = match (&r.sequence, &r.input_ids) {
        (Some(_), Some(_)) => return ferr("input_ids", "give either `sequence` or `input_ids`, not both"),
        (None, None) => return ferr("sequence", "missing (give `sequence` or `input_ids`)"),
        (None, Some(ids)) => (token_ids(ids, checks.vocab_size)?, None),
        (Some(text), None) => {
            let words: Vec<&str> = text.split_whitespace().collect();
            if words.is_empty() {
                return ferr("sequence", "empty sequence");
            }
            let Some(tok) = checks.tokenizer else {
                return ferr("sequence", "text needs a tokenizer (model.pretrained with a tokenizer.json)");
            };
            let enc = tok.encode_words(&words).map_err(|e| ("sequence".to_string(), e))?;
            let ids: Vec<f64> = enc.iter().map(|&(id, _)| id as f64).collect();
            (token_ids(&ids, checks.vocab_size)?, Some((words.len(), enc)))
        }
    };
    let units = words.as_ref().map_or(tokens.len(), |(n, _)| *n);
    let Some(labels) = &r.labels else { return ferr("labels", "missing") };
    if labels.len() != units {
        let what = if words.is_some() { "words in `sequence`" } else { "`input_ids`" };
        return ferr("labels", format!("has {} entries but there are {units} {what}", labels.len()));
    }
    for (i, &y) in labels.iter().enumerate() {
        if !(y == IGNORE_LABEL as f64 || (0.0..=1.0).contains(&y)) {
            return ferr(&format!("labels[{i}]"), format!("{y} is outside [0, 1] (−100 marks no label)"));
        }
    }
    let domains = match &r.domains {
        None => vec![0; units],
        Some(d) if d.len() != units => {
            return ferr("domains", format!("has {} entries but `labels` has {units}", d.len()));
        }
        Some(d) => d
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v.fract() != 0.0 || v < MASKED_DOMAIN as f64 || v > i32::MAX as f64 {
                    ferr(&format!("domains[{i}]"), format!("{v} is not an integer ≥ −1"))
                } else {
                    Ok(v as i32)
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let labels: Vec<f32> = labels.iter().map(|&y| y as f32).collect();
    Ok(match words {
        None => Sequence { tokens, labels, domains },
        Some((_, enc)) => spread_to_tokens(tokens, &enc, &labels, &domains),
    })
}

fn token_ids(ids: &[f64], vocab_size: usize) -> Result<Vec<u32>, FieldError> {
    if ids.is_empty() {
        return ferr("input_ids", "empty sequence");
    }
    ids.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.fract() != 0.0 || v < 0.0 {
                ferr(&format!("input_ids[{i}]"), format!("{v} is not a non-negative integer"))
            } else if v >= vocab_size as f64 {
                ferr(&format!("input_ids[{i}]"), format!("{v} is not below the vocabulary size {vocab_size}"))
            } else {
                Ok(v as u32)
            }
        })
        .collect()
}

/// Word-level labels/domains onto tokens: a word's first sub-token carries them.
fn spread_to_tokens(tokens: Vec<u32>, enc: &[(u32, Option<usize>)], labels: &[f32], domains: &[i32]) -> Sequence {
    let mut last = None;
    let (mut ls, mut ds) = (Vec::with_capacity(enc.len()), Vec::with_capacity(enc.len()));
    for &(_, word) in enc {
        match word {
            Some(w) if last != Some(w) => {
                ls.push(labels[w]);
                ds.push(domains[w]);
            }
            _ => {
                ls.push(IGNORE_LABEL);
                ds.push(MASKED_DOMAIN);
            }
        }
        last = word.or(last);
    }
    Sequence { tokens, labels: ls, domains: ds }
}

/// `(place, record)` per non-blank line.
fn read_jsonl(path: &Path) -> Result<Vec<(String, RawRecord)>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError {
        file: path.to_path_buf(),
        place: String::new(),
        field: String::new(),
        msg: format!("cannot read: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let place = format!("line {}", i + 1);
        let rec = json_record(line).map_err(|(field, msg)| at(path, &place, field, msg))?;
        out.push((place, rec));
    }
    Ok(out)
}

fn json_record(line: &str) -> Result<RawRecord, FieldError> {
    let v: Value = serde_json::from_str(line).map_err(|e| ("(json)".to_string(), format!("bad JSON: {e}")))?;
    let Value::Object(obj) = v else { return ferr("(json)", "a line must be one JSON object") };
    if let Some(k) = obj.keys().find(|k| !["sequence", "input_ids", "labels", "domains"].contains(&k.as_str())) {
        return ferr(k, "unknown field (expected sequence, input_ids, labels, domains)");
    }
    let numbers = |field: &str| -> Result<Option<Vec<f64>>, FieldError> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, x)| x.as_f64().ok_or_else(|| (format!("{field}[{i}]"), format!("{x} is not a number"))))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => ferr(field, format!("must be a list of numbers, got {other}")),
        }
    };
    let sequence = match obj.get("sequence") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return ferr("sequence", format!("must be a string, got {other}")),
    };
    Ok(RawRecord {
        sequence,
        input_ids: numbers("input_ids")?,
        labels: numbers("labels")?,
        domains: numbers("domains")?,
    })
}

/// `(place, record)` per row; list columns may hold any numeric type.
fn read_parquet(path: &Path) -> Result<Vec<(String, RawRecord)>, DataError> {
    use polars::prelude::{DataType, ParquetReader, SerReader};
    let whole = |field: &str, msg: String| DataError {
        file: path.to_path_buf(),
        place: String::new(),
        field: field.to_string(),
        msg,
    };
    let file = std::fs::File::open(path).map_err(|e| whole("", format!("cannot read: {e}")))?;
    let df = ParquetReader::new(file).finish().map_err(|e| whole("", format!("not a Parquet file: {e}")))?;
    if let Some(c) =
        df.get_column_names().iter().find(|c| !["sequence", "input_ids", "labels", "domains"].contains(&c.as_str()))
    {
        return Err(whole(c.as_str(), "unknown column (expected sequence, input_ids, labels, domains)".into()));
    }
    let mut out: Vec<(String, RawRecord)> =
        (0..df.height()).map(|i| (format!("row {i}"), RawRecord::default())).collect();
    if let Ok(col) = df.column("sequence") {
        let s = col.as_materialized_series();
        let ca = s.str().map_err(|_| whole("sequence", format!("must be a string column, got {}", s.dtype())))?;
        for (i, row) in out.iter_mut().enumerate() {
            row.1.sequence = ca.get(i).map(str::to_string);
        }
    }
    for field in ["input_ids", "labels", "domains"] {
        let Ok(col) = df.column(field) else { continue };
        let s = col.as_materialized_series();
        let list = s.list().map_err(|_| whole(field, format!("must be a list column, got {}", s.dtype())))?;
        for (i, (place, rec)) in out.iter_mut().enumerate() {
            let Some(item) = list.get_as_series(i) else { continue };
            let vals = item
                .cast(&DataType::Float64)
                .map_err(|e| at(path, place, field.to_string(), format!("not numbers: {e}")))?;
            let mut v = Vec::with_capacity(vals.len());
            let ca = vals.f64().expect("cast to f64");
            for j in 0..ca.len() {
                v.push(ca.get(j).ok_or_else(|| at(path, place, format!("{field}[{j}]"), "null".into()))?);
            }
            match field {
                "input_ids" => rec.input_ids = Some(v),
                "labels" => rec.labels = Some(v),
                _ => rec.domains = Some(v),
            }
        }
    }
    Ok(out)
}
