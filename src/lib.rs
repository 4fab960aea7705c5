//! sift: curate instruction-tuning data.
