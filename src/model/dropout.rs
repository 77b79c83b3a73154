//! Dropout with masks drawn from the run's own seeded RNG (candle's `ops::dropout` uses the
//! unseedable device RNG, which would make runs irreproducible).

use candle_core::{Result, Tensor};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

pub struct Dropout {
    rng: ChaCha8Rng,
    /// False in evaluation: dropout is the identity.
    pub train: bool,
}

impl Dropout {
    pub fn new(rng: ChaCha8Rng) -> Dropout {
        Dropout { rng, train: true }
    }

    /// Zeroes each entry with probability `p` and scales the rest by 1/(1 − p).
    pub fn apply(&mut self, x: &Tensor, p: f64) -> Result<Tensor> {
        if !self.train || p == 0.0 {
            return Ok(x.clone());
        }
        let keep = (1.0 / (1.0 - p)) as f32;
        let mask: Vec<f32> =
            (0..x.elem_count()).map(|_| if self.rng.random::<f64>() < p { 0.0 } else { keep }).collect();
        x * Tensor::from_vec(mask, x.shape(), x.device())?
    }
}
