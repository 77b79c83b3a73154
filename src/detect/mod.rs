//! Detection: the collapse rule over a `pred_std` series and the diagnosis of a run from its
//! metrics. Works on plain columns; never sees a tensor and never formats HTML.

pub mod collapse;
pub mod diagnose;
pub mod risk;
