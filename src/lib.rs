//! sift: curate instruction-tuning data.
pub mod quality;
