//! Batching: pads sequences to the longest in the batch and marks the loss tokens
//! (label ≠ −100 and domain ≠ −1), and draws batches epoch by epoch in a seeded order.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{Sequence, IGNORE_LABEL, MASKED_DOMAIN, PAD_ID};

/// A padded batch, row-major `(batch, seq_len)` in every flat vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub batch: usize,
    pub seq_len: usize,
    pub input_ids: Vec<u32>,
    /// 1 for real tokens, 0 for padding.
    pub attention_mask: Vec<f32>,
    /// Label per position; −100 at padding.
    pub labels: Vec<f32>,
    /// Domain per position; −1 at padding and in masked spans.
    pub domains: Vec<i32>,
    /// Flat positions of the loss tokens, ascending.
    pub keep: Vec<u32>,
}

impl Batch {
    /// Labels of the loss tokens, in `keep` order.
    pub fn kept_labels(&self) -> Vec<f32> {
        self.keep.iter().map(|&i| self.labels[i as usize]).collect()
    }
}

/// Pads `seqs` into one batch.
pub fn collate(seqs: &[&Sequence]) -> Batch {
    let seq_len = seqs.iter().map(|s| s.tokens.len()).max().unwrap_or(0);
    let n = seqs.len() * seq_len;
    let mut b = Batch {
        batch: seqs.len(),
        seq_len,
        input_ids: vec![PAD_ID; n],
        attention_mask: vec![0.0; n],
        labels: vec![IGNORE_LABEL; n],
        domains: vec![MASKED_DOMAIN; n],
        keep: Vec::new(),
    };
    for (row, s) in seqs.iter().enumerate() {
        for (j, &tok) in s.tokens.iter().enumerate() {
            let i = row * seq_len + j;
            b.input_ids[i] = tok;
            b.attention_mask[i] = 1.0;
            b.labels[i] = s.labels[j];
            b.domains[i] = s.domains[j];
        }
    }
    b.keep = (0..n as u32)
        .filter(|&i| b.labels[i as usize] != IGNORE_LABEL && b.domains[i as usize] != MASKED_DOMAIN)
        .collect();
    b
}

/// Draws batches of `batch_size` in a fresh seeded permutation each epoch (the last batch of an
/// epoch may be short, like a PyTorch DataLoader without `drop_last`).
pub struct Sampler {
    order: Vec<usize>,
    pos: usize,
    epoch: u64,
    batch_size: usize,
    rng: ChaCha8Rng,
}

impl Sampler {
    pub fn new(n: usize, batch_size: usize, mut rng: ChaCha8Rng) -> Sampler {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        Sampler { order, pos: 0, epoch: 0, batch_size, rng }
    }

    /// Indices of the next batch and the epoch it belongs to.
    pub fn next_batch(&mut self) -> (u64, Vec<usize>) {
        if self.pos >= self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.pos = 0;
            self.epoch += 1;
        }
        let end = (self.pos + self.batch_size).min(self.order.len());
        let idx = self.order[self.pos..end].to_vec();
        self.pos = end;
        (self.epoch, idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(tokens: &[u32], labels: &[f32], domains: &[i32]) -> Sequence {
        Sequence { tokens: tokens.to_vec(), labels: labels.to_vec(), domains: domains.to_vec() }
    }

    #[test]
    fn pads_and_keeps_only_loss_tokens() {
        let a = seq(&[5, 6, 7], &[0.1, 0.2, 0.3], &[0, -1, 0]);
        let b = seq(&[8], &[0.9], &[0]);
        let batch = collate(&[&a, &b]);
        assert_eq!((batch.batch, batch.seq_len), (2, 3));
        assert_eq!(batch.input_ids, vec![5, 6, 7, 8, 0, 0]);
        assert_eq!(batch.attention_mask, vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(batch.labels[4], IGNORE_LABEL);
        assert_eq!(batch.keep, vec![0, 2, 3]);
        assert_eq!(batch.kept_labels(), vec![0.1, 0.3, 0.9]);
    }

    #[test]
    fn sampler_visits_every_example_once_per_epoch() {
        use rand::SeedableRng;
        let mut s = Sampler::new(10, 3, ChaCha8Rng::seed_from_u64(1));
        let mut seen = Vec::new();
        let mut epochs = Vec::new();
        for _ in 0..4 {
            let (e, idx) = s.next_batch();
            epochs.push(e);
            seen.extend(idx);
        }
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_eq!(epochs, vec![0, 0, 0, 0]);
        assert_eq!(s.next_batch().0, 1);
    }
}
