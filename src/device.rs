//! Where training runs: the CPU (default) or, in a build with the `cuda` feature, a GPU.
//! `--device cuda` on a CPU build is bad input with the command that makes a CUDA build.

use anyhow::{Context, Result};
use candle_core::Device;

use crate::error::bad_input;

/// The `--device` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeviceKind {
    #[default]
    Cpu,
    /// The first CUDA GPU (needs `--features cuda`).
    Cuda,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Cpu => "cpu",
            DeviceKind::Cuda => "cuda",
        }
    }

    /// Bad input when this binary cannot use the device at all (CUDA without the feature).
    pub fn check_built(self) -> Result<()> {
        if self == DeviceKind::Cuda && !cfg!(feature = "cuda") {
            return Err(bad_input(
                "--device cuda: this harness was built without CUDA support; rebuild it with \
                 `cargo build --release --features cuda` (needs the CUDA toolkit's nvcc) or use --device cpu",
            ));
        }
        Ok(())
    }

    /// Opens the device, once per process.
    pub fn open(self) -> Result<Device> {
        self.check_built()?;
        match self {
            DeviceKind::Cpu => Ok(Device::Cpu),
            DeviceKind::Cuda => Device::new_cuda(0).context("--device cuda: opening GPU 0"),
        }
    }
}
