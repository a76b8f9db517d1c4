//! The crate's one error type: a setting that cannot be used, naming its key.

/// A configuration value the reporting core refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KpiError {
    #[error("{key} {problem}")]
    Invalid { key: &'static str, problem: String },
}
