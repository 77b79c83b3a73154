//! A synthetic dataset shaped like the seed's protein data: variable-length sequences over a
//! small alphabet, sparse labels in [0, 1] that are a learnable function of each token and its
//! neighbours, and `domain = -1` spans that must not count. Fully determined by its seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{Sequence, MASKED_DOMAIN};

/// Parameters of the generator (from `[data]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    pub seed: u64,
    pub n_train: usize,
    pub min_len: usize,
    pub max_len: usize,
    pub label_density: f64,
    pub masked_frac: f64,
    pub vocab_size: usize,
}

/// Mean length of a `domain = -1` span, tokens.
const MEAN_SPAN: f64 = 5.0;

/// Generates `n_train` sequences. Token ids are 1..vocab_size (0 is padding).
///
/// Label of token i: with `r_i = w[t_i] + 0.5·(u[t_{i-1}] + u[t_{i+1}])` for random per-token
/// weights `w`, `u`, and `τ` the (1 − label_density) quantile of all `r_i`, the label is
/// `1 − exp(−(r_i − τ))` where `r_i > τ`, else 0: sparse, in [0, 1), and a function of the
/// tokens that a model with attention can learn.
pub fn generate(spec: &SyntheticSpec) -> Vec<Sequence> {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let w: Vec<f64> = (0..spec.vocab_size).map(|_| StandardNormal.sample(&mut rng)).collect();
    let u: Vec<f64> = (0..spec.vocab_size).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mut seqs = Vec::with_capacity(spec.n_train);
    let mut raws = Vec::with_capacity(spec.n_train);
    for _ in 0..spec.n_train {
        let len = rng.random_range(spec.min_len..=spec.max_len);
        let tokens: Vec<u32> = (0..len).map(|_| rng.random_range(1..spec.vocab_size as u32)).collect();
        let raw: Vec<f64> = (0..len)
            .map(|i| {
                let left = if i > 0 { u[tokens[i - 1] as usize] } else { 0.0 };
                let right = if i + 1 < len { u[tokens[i + 1] as usize] } else { 0.0 };
                w[tokens[i] as usize] + 0.5 * (left + right)
            })
            .collect();
        let domains = domain_spans(len, spec.masked_frac, &mut rng);
        seqs.push(Sequence { tokens, labels: Vec::new(), domains });
        raws.push(raw);
    }
    let tau = quantile(raws.iter().flatten().copied().collect(), 1.0 - spec.label_density);
    for (seq, raw) in seqs.iter_mut().zip(raws) {
        seq.labels = raw.iter().map(|&r| if r > tau { (1.0 - (-(r - tau)).exp()) as f32 } else { 0.0 }).collect();
    }
    seqs
}

/// Domain ids: 0 everywhere except spans of `MASKED_DOMAIN` covering about `masked_frac` of tokens.
fn domain_spans(len: usize, masked_frac: f64, rng: &mut ChaCha8Rng) -> Vec<i32> {
    let mut domains = vec![0; len];
    if masked_frac <= 0.0 {
        return domains;
    }
    // A span starts at an unmasked token with this probability; spans average MEAN_SPAN tokens.
    let p_start = (masked_frac / (MEAN_SPAN * (1.0 - masked_frac))).min(1.0);
    let mut i = 0;
    while i < len {
        if rng.random_bool(p_start) {
            let span = rng.random_range(1..=(2.0 * MEAN_SPAN) as usize - 1);
            for d in domains.iter_mut().skip(i).take(span) {
                *d = MASKED_DOMAIN;
            }
            i += span;
        } else {
            i += 1;
        }
    }
    domains
}

fn quantile(mut xs: Vec<f64>, q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.sort_by(f64::total_cmp);
    let idx = ((xs.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    xs[idx]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SyntheticSpec {
        SyntheticSpec {
            seed: 7,
            n_train: 200,
            min_len: 8,
            max_len: 40,
            label_density: 0.3,
            masked_frac: 0.1,
            vocab_size: 25,
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_differs() {
        assert_eq!(generate(&spec()), generate(&spec()));
        assert_ne!(generate(&spec()), generate(&SyntheticSpec { seed: 8, ..spec() }));
    }

    #[test]
    fn shapes_ranges_and_sparsity() {
        let seqs = generate(&spec());
        let (mut nonzero, mut masked, mut total) = (0usize, 0usize, 0usize);
        for s in &seqs {
            assert!((8..=40).contains(&s.tokens.len()));
            assert_eq!(s.labels.len(), s.tokens.len());
            assert_eq!(s.domains.len(), s.tokens.len());
            assert!(s.tokens.iter().all(|&t| (1..25).contains(&t)));
            assert!(s.labels.iter().all(|&y| (0.0..1.0).contains(&y)));
            nonzero += s.labels.iter().filter(|&&y| y > 0.0).count();
            masked += s.domains.iter().filter(|&&d| d == MASKED_DOMAIN).count();
            total += s.tokens.len();
        }
        let density = nonzero as f64 / total as f64;
        let masked = masked as f64 / total as f64;
        assert!((0.25..0.35).contains(&density), "label density {density}");
        assert!((0.05..0.15).contains(&masked), "masked share {masked}");
    }
}
