//! Config keys of data files and pretrained checkpoints: keys the chosen kind would ignore are
//! rejected with their dotted name, like every other config key.

use harness::config::resolve_table;
use harness::config::resolved::DataConfig;

fn resolve(text: &str) -> Result<harness::config::RunConfig, String> {
    resolve_table(&toml::from_str(text).unwrap()).map_err(|e| format!("{}: {}", e.key, e.msg))
}

/// (config, expected start of the error: the dotted key)
const BAD: &[(&str, &str)] = &[
    ("[data]\nkind = \"jsonl\"", "data.path: must be given"),
    ("[data]\nkind = \"jsonl\"\npath = \"x.jsonl\"\nn_train = 5", "data.n_train: is not used"),
    ("[data]\nkind = \"parquet\"\npath = \"x.parquet\"\nmax_len = 5", "data.max_len: is not used"),
    ("[data]\npath = \"x.jsonl\"", "data.path: is not used when data.kind = \"synthetic\""),
    ("[data]\nval_every = 3", "data.val_every: is not used"),
    ("[data]\nkind = \"jsonl\"\npath = \"x\"\nval_frac = 0.0\nval_every = 3", "data.val_every: is not used"),
    ("[data]\nkind = \"jsonl\"\npath = \"x\"\nval_frac = 1.0", "data.val_frac: must be in [0, 1)"),
    ("[data]\nkind = \"csv\"", "data.kind: must be one of"),
    ("[model]\nrevision = \"main\"", "model.revision: is not used"),
    (
        "[model]\npretrained = \"a/b\"\nhidden_size = 8\nhead_sizes = [4]\n[data]\nkind = \"jsonl\"\npath = \"x\"",
        "model.hidden_size: is not used with model.pretrained",
    ),
    ("[model]\npretrained = \"a/b\"\n[data]\nkind = \"jsonl\"\npath = \"x\"", "model.head_sizes: must be given"),
    ("[model]\npretrained = \"a/b\"\nhead_sizes = [4]", "data.kind: must be \"jsonl\" or \"parquet\""),
    (
        "[data]\nkind = \"jsonl\"\npath = \"x\"\n[schedule]\nkind = \"cosine\"",
        "schedule.t_max: must be given with a data file",
    ),
];

#[test]
fn keys_the_data_or_model_kind_would_ignore_are_rejected() {
    for &(text, want) in BAD {
        let err = resolve(text).expect_err(text);
        assert!(err.starts_with(want), "{text:?}: {err:?} does not start with {want:?}");
    }
}

#[test]
fn a_data_file_resolves_with_validation_defaults() {
    let cfg = resolve("[data]\nkind = \"jsonl\"\npath = \"d.jsonl\"").unwrap();
    let DataConfig::Jsonl(f) = &cfg.data else { panic!("{:?}", cfg.data) };
    assert_eq!((f.path.as_str(), f.val_frac, f.val_every), ("d.jsonl", 0.1, 50));
    // the resolved config is itself a valid experiment file
    assert_eq!(resolve(&cfg.to_toml()).unwrap(), cfg);
}

/// Regression: a sweep's runs failed because their written config.toml carried the default
/// architecture keys, which are rejected next to model.pretrained.
#[test]
fn a_pretrained_config_round_trips_through_its_written_toml() {
    let cfg = resolve(
        "[model]\npretrained = \"a/b\"\nrevision = \"main\"\nhead_sizes = [8]\n[data]\nkind = \"jsonl\"\npath = \"x.jsonl\"",
    )
    .unwrap();
    let text = cfg.to_toml();
    assert!(!text.contains("hidden_size"), "{text}");
    assert_eq!(resolve(&text).unwrap(), cfg);
}
