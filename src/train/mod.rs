//! Training: losses, optimizers, learning-rate schedules and the loop that ties them together.

pub mod loss;
pub mod optim;
pub mod schedule;
pub mod trainer;
pub mod update;
