//! The trainable parameters of a model: named `Var`s (HF BERT names for the encoder) with the
//! group each belongs to for per-group gradient norms (`encoder`, `head_0`, …).

use candle_core::{Tensor, Var};

pub struct Param {
    /// HF-style name, e.g. `encoder.layer.0.attention.self.query.weight` or `head.0.weight`.
    pub name: String,
    /// Index into [`ParamStore::groups`].
    pub group: usize,
    pub var: Var,
    /// False for deliberately frozen tensors: never updated, not counted as `frozen_params`.
    pub trainable: bool,
}

/// All trainable tensors, in creation order (which fixes their order everywhere else).
#[derive(Default)]
pub struct ParamStore {
    pub params: Vec<Param>,
    pub groups: Vec<String>,
}

impl ParamStore {
    /// Registers `init` as a trainable tensor and returns the tensor to use in the forward pass
    /// (it shares storage with the `Var`, so optimizer updates are seen by the model).
    pub fn add(&mut self, name: &str, group: &str, init: Tensor) -> candle_core::Result<Tensor> {
        let group = match self.groups.iter().position(|g| g == group) {
            Some(i) => i,
            None => {
                self.groups.push(group.to_string());
                self.groups.len() - 1
            }
        };
        let var = Var::from_tensor(&init)?;
        let t = var.as_tensor().clone();
        self.params.push(Param { name: name.to_string(), group, var, trainable: true });
        Ok(t)
    }

    /// Marks every tensor of `group` as not trainable.
    pub fn freeze_group(&mut self, group: &str) {
        if let Some(g) = self.groups.iter().position(|x| x == group) {
            self.params.iter_mut().filter(|p| p.group == g).for_each(|p| p.trainable = false);
        }
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Total number of scalar parameters.
    pub fn numel(&self) -> usize {
        self.params.iter().map(|p| p.var.as_tensor().elem_count()).sum()
    }
}
