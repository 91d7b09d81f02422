//! Sensitivity.
