//! A short fine-tuning run of the real MiniLM checkpoint on experiments/minilm_phi.toml's data
//! file, through the config and the trainer: loaded weights, tokenized text, validation metrics
//! on their schedule. Skips without the checkpoint locally; fails in CI (as tests/pretrained.rs).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use harness::config::resolve_table;
use harness::train::trainer::{Ending, Trainer};

fn required() -> bool {
    let on = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    on("CI") || on("HARNESS_MINILM_REQUIRED")
}

#[test]
fn minilm_phi_experiment_fine_tunes_with_validation_metrics() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = root.join("target/hf-cache");
    if !cache.join("models--sentence-transformers--all-MiniLM-L6-v2/refs/main").is_file() {
        assert!(!required(), "CI needs the MiniLM checkpoint in {} (scripts/fetch_minilm.sh)", cache.display());
        eprintln!("skipping: no MiniLM checkpoint in {} (run scripts/fetch_minilm.sh)", cache.display());
        return;
    }
    let mut table: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("experiments/minilm_phi.toml")).unwrap()).unwrap();
    table.remove("sweep");
    let data: PathBuf = root.join("experiments/data/minilm_words.jsonl");
    let over = format!(
        "[model]\ncache_dir = {:?}\n[data]\npath = {:?}\nval_every = 3\n[train]\nsteps = 4\nbatch_size = 4\n",
        cache.display().to_string(),
        data.display().to_string()
    );
    for (section, v) in toml::from_str::<toml::Table>(&over).unwrap() {
        let dst = table[&section].as_table_mut().unwrap();
        dst.extend(v.as_table().unwrap().clone());
    }
    let cfg = resolve_table(&table).unwrap();
    let mut trainer = Trainer::new(&cfg).unwrap();
    let mut recs = Vec::new();
    let mut sink = |r| {
        recs.push(r);
        Ok(None)
    };
    let (ending, steps) = trainer.run(&AtomicBool::new(false), &mut sink).unwrap();
    assert_eq!((ending, steps), (Ending::Finished, 4));
    // validation at steps 0 and 3 (every 3 and the last), NaN between
    let has_val: Vec<bool> = recs.iter().map(|r| r.val_loss.is_finite() && r.val_pred_std.is_finite()).collect();
    assert_eq!(has_val, vec![true, false, false, true]);
    assert!(recs.iter().all(|r| r.loss.is_finite() && r.grad_norm_groups[0] > 0.0), "encoder must get gradients");
    assert!(recs[0].val_pred_std > 0.0);
}
