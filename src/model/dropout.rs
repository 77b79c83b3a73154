//! Dropout with masks drawn from the run's own seeded RNG (candle's `ops::dropout` uses the
//! unseedable device RNG, which would make runs irreproducible).

use candle_core::{Result, Tensor};
use rand::RngCore;
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
        // Dropped when a uniform 32-bit draw falls below p·2³² (one draw per entry).
        let below = (p * 4_294_967_296.0).round().min(u32::MAX as f64) as u32;
        let mask: Vec<f32> =
            (0..x.elem_count()).map(|_| if self.rng.next_u32() < below { 0.0 } else { keep }).collect();
        x * Tensor::from_vec(mask, x.shape(), x.device())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;
    use rand::SeedableRng;

    fn mask(seed: u64, p: f64, n: usize) -> Vec<f32> {
        let ones = Tensor::ones(n, candle_core::DType::F32, &Device::Cpu).unwrap();
        Dropout::new(ChaCha8Rng::seed_from_u64(seed)).apply(&ones, p).unwrap().to_vec1().unwrap()
    }

    #[test]
    fn drops_the_share_p_scales_the_rest_and_repeats_with_the_seed() {
        for p in [0.1, 0.5] {
            let m = mask(3, p, 200_000);
            let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / m.len() as f64;
            assert!((dropped - p).abs() < 0.005, "p = {p}: dropped {dropped}");
            assert!(m.iter().all(|&v| v == 0.0 || v == (1.0 / (1.0 - p)) as f32));
            assert_eq!(m, mask(3, p, 200_000));
            assert_ne!(m, mask(4, p, 200_000));
        }
        assert!(mask(3, 0.0, 1000).iter().all(|&v| v == 1.0));
        let mut eval = Dropout::new(ChaCha8Rng::seed_from_u64(3));
        eval.train = false;
        let x = Tensor::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
        assert_eq!(eval.apply(&x, 0.5).unwrap().to_vec1::<f32>().unwrap(), vec![1.0, 2.0]);
    }
}
