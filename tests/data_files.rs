//! User data files: valid JSONL/Parquet load as expected, and every malformed record gives an
//! error naming the file, the line (JSONL) or row (Parquet), and the field.

use std::path::Path;

use harness::data::files::{load, Checks, Tokenize};
use harness::data::Sequence;
use polars::prelude::{DataFrame, NamedFrom, ParquetWriter, Series};

const VOCAB: usize = 30;

fn checks() -> Checks<'static> {
    Checks { vocab_size: VOCAB, tokenizer: None }
}

/// A toy tokenizer: `[CLS]` = 1, each word → one token per character (id = 2 + byte % 20),
/// `[SEP]` = 2, so words split into sub-tokens like WordPiece does.
struct Chars;

impl Tokenize for Chars {
    fn encode_words(&self, words: &[&str]) -> Result<Vec<(u32, Option<usize>)>, String> {
        let mut out = vec![(1, None)];
        for (w, word) in words.iter().enumerate() {
            out.extend(word.bytes().map(|b| (2 + (b % 20) as u32, Some(w))));
        }
        out.push((2, None));
        Ok(out)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn valid_jsonl_loads_ids_labels_and_domains() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "ok.jsonl",
        "{\"input_ids\": [3, 4, 5], \"labels\": [0.5, -100, 1], \"domains\": [0, 0, -1]}\n\n{\"input_ids\": [7], \"labels\": [0]}\n",
    );
    let got = load(&p, &checks()).unwrap();
    assert_eq!(
        got,
        vec![
            Sequence { tokens: vec![3, 4, 5], labels: vec![0.5, -100.0, 1.0], domains: vec![0, 0, -1] },
            Sequence { tokens: vec![7], labels: vec![0.0], domains: vec![0] },
        ]
    );
}

#[test]
fn text_labels_go_to_each_words_first_sub_token() {
    let dir = tempfile::tempdir().unwrap();
    let p =
        write(dir.path(), "text.jsonl", "{\"sequence\": \"M KL\", \"labels\": [0.25, 0.75], \"domains\": [0, 3]}\n");
    let got = load(&p, &Checks { vocab_size: VOCAB, tokenizer: Some(&Chars) }).unwrap();
    // [CLS] M K L [SEP]
    assert_eq!(got[0].tokens.len(), 5);
    assert_eq!(got[0].labels, vec![-100.0, 0.25, 0.75, -100.0, -100.0]);
    assert_eq!(got[0].domains, vec![-1, 0, 3, -1, -1]);
}

/// (case, line of the file, expected line number, expected field, part of the message)
const BAD_JSONL: &[(&str, &str, usize, &str, &str)] = &[
    ("bad json", "{\"input_ids\": [1, 2], \"labels\": [0.1, 0.2]", 2, "(json)", "bad JSON"),
    ("not an object", "[1, 2, 3]", 2, "(json)", "one JSON object"),
    (
        "lengths disagree",
        "{\"input_ids\": [1, 2, 3], \"labels\": [0.1, 0.2]}",
        2,
        "labels",
        "has 2 entries but there are 3",
    ),
    (
        "domains length",
        "{\"input_ids\": [1, 2], \"labels\": [0.1, 0.2], \"domains\": [0]}",
        2,
        "domains",
        "has 1 entries",
    ),
    ("label above 1", "{\"input_ids\": [1, 2], \"labels\": [0.1, 1.5]}", 2, "labels[1]", "outside [0, 1]"),
    ("negative label", "{\"input_ids\": [1, 2], \"labels\": [-3, 0.2]}", 2, "labels[0]", "outside [0, 1]"),
    ("label not a number", "{\"input_ids\": [1, 2], \"labels\": [0.1, \"x\"]}", 2, "labels[1]", "not a number"),
    ("labels missing", "{\"input_ids\": [1, 2]}", 2, "labels", "missing"),
    ("empty input_ids", "{\"input_ids\": [], \"labels\": []}", 2, "input_ids", "empty sequence"),
    ("empty text", "{\"sequence\": \"   \", \"labels\": []}", 2, "sequence", "empty sequence"),
    ("id too large", "{\"input_ids\": [1, 30], \"labels\": [0.1, 0.2]}", 2, "input_ids[1]", "vocabulary size 30"),
    ("id not integer", "{\"input_ids\": [1.5], \"labels\": [0.1]}", 2, "input_ids[0]", "not a non-negative integer"),
    ("negative id", "{\"input_ids\": [-1], \"labels\": [0.1]}", 2, "input_ids[0]", "not a non-negative integer"),
    ("domain below -1", "{\"input_ids\": [1], \"labels\": [0.1], \"domains\": [-2]}", 2, "domains[0]", "integer ≥ −1"),
    ("no tokens field", "{\"labels\": [0.1]}", 2, "sequence", "missing"),
    (
        "both sequence and ids",
        "{\"sequence\": \"A\", \"input_ids\": [1], \"labels\": [0.1]}",
        2,
        "input_ids",
        "not both",
    ),
    ("text without tokenizer", "{\"sequence\": \"A B\", \"labels\": [0.1, 0.2]}", 2, "sequence", "needs a tokenizer"),
    ("labels not a list", "{\"input_ids\": [1], \"labels\": 0.1}", 2, "labels", "must be a list"),
    ("sequence not text", "{\"sequence\": 5, \"labels\": [0.1]}", 2, "sequence", "must be a string"),
    ("unknown field", "{\"input_ids\": [1], \"labels\": [0.1], \"label\": [0.1]}", 2, "label", "unknown field"),
];

#[test]
fn malformed_jsonl_records_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for &(case, bad, line, field, msg) in BAD_JSONL {
        let text = format!(
            "{{\"input_ids\": [1, 2], \"labels\": [0.1, 0.2]}}\n{bad}\n{{\"input_ids\": [3], \"labels\": [0.3]}}\n"
        );
        let p = write(dir.path(), "train.jsonl", &text);
        let err = load(&p, &checks()).expect_err(case).to_string();
        let want = format!("{}: line {line}: field `{field}`: ", p.display());
        assert!(err.starts_with(&want), "{case}: {err:?} does not start with {want:?}");
        assert!(err.contains(msg), "{case}: {err:?} lacks {msg:?}");
    }
}

#[test]
fn malformed_text_record_with_tokenizer_counts_words() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "text.jsonl", "{\"sequence\": \"M K L\", \"labels\": [0.1, 0.2]}\n");
    let err = load(&p, &Checks { vocab_size: VOCAB, tokenizer: Some(&Chars) }).unwrap_err().to_string();
    assert!(err.contains("line 1: field `labels`: has 2 entries but there are 3 words"), "{err}");
}

#[test]
fn empty_or_unknown_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty.jsonl", "\n\n");
    assert_eq!(load(&p, &checks()).unwrap_err().to_string(), format!("{}: no records", p.display()));
    let p = write(dir.path(), "data.csv", "a,b\n");
    assert!(load(&p, &checks()).unwrap_err().to_string().contains("unknown data file type"));
}

fn list_u32(rows: &[&[u32]]) -> Vec<Series> {
    rows.iter().map(|r| Series::new("".into(), r)).collect()
}

fn list_f64(rows: &[&[f64]]) -> Vec<Series> {
    rows.iter().map(|r| Series::new("".into(), r)).collect()
}

fn parquet(dir: &Path, ids: &[&[u32]], labels: &[&[f64]]) -> std::path::PathBuf {
    let mut df = DataFrame::new_infer_height(vec![
        Series::new("input_ids".into(), list_u32(ids)).into(),
        Series::new("labels".into(), list_f64(labels)).into(),
    ])
    .unwrap();
    let p = dir.join("train.parquet");
    ParquetWriter::new(std::fs::File::create(&p).unwrap()).finish(&mut df).unwrap();
    p
}

/// (case, input_ids rows, labels rows, expected part of the error)
type ParquetCase = (&'static str, &'static [&'static [u32]], &'static [&'static [f64]], &'static str);

#[test]
fn parquet_rows_load_and_errors_name_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = parquet(dir.path(), &[&[1, 2], &[3]], &[&[0.1, -100.0], &[0.9]]);
    let got = load(&p, &checks()).unwrap();
    assert_eq!(got[1], Sequence { tokens: vec![3], labels: vec![0.9], domains: vec![0] });

    let cases: &[ParquetCase] = &[
        ("lengths", &[&[1, 2], &[3, 4]], &[&[0.1, 0.2], &[0.3]], "row 1: field `labels`: has 1 entries"),
        ("range", &[&[1], &[3, 4]], &[&[0.1], &[0.3, 2.0]], "row 1: field `labels[1]`: 2 is outside"),
        ("empty", &[&[1], &[]], &[&[0.1], &[]], "row 1: field `input_ids`: empty sequence"),
        ("vocab", &[&[99]], &[&[0.1]], "row 0: field `input_ids[0]`: 99 is not below"),
    ];
    for &(case, ids, labels, want) in cases {
        let p = parquet(dir.path(), ids, labels);
        let err = load(&p, &checks()).expect_err(case).to_string();
        assert!(err.starts_with(&p.display().to_string()) && err.contains(want), "{case}: {err}");
    }
}
