//! `tokenizer.json` (HF tokenizers) for text datasets: a record's `sequence` is split on
//! whitespace into words (residues for protein data) and encoded pre-tokenized, with special
//! tokens, so each token knows the word it came from (see [`super::files`]).

use std::path::Path;

use anyhow::{anyhow, Result};
use tokenizers::Tokenizer;

use super::files::Tokenize;

pub struct HfTokenizer(Tokenizer);

impl HfTokenizer {
    pub fn from_file(path: &Path) -> Result<HfTokenizer> {
        let mut t = Tokenizer::from_file(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        t.with_padding(None);
        t.with_truncation(None).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        Ok(HfTokenizer(t))
    }

    /// Ids of ordinary text, with special tokens (what the model saw in pre-training).
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.0.encode(text, true).map_err(|e| anyhow!("{e}"))?.get_ids().to_vec())
    }
}

impl Tokenize for HfTokenizer {
    fn encode_words(&self, words: &[&str]) -> Result<Vec<(u32, Option<usize>)>, String> {
        let enc = self.0.encode(words.to_vec(), true).map_err(|e| e.to_string())?;
        Ok(enc.get_ids().iter().zip(enc.get_word_ids()).map(|(&id, w)| (id, w.map(|w| w as usize))).collect())
    }
}
