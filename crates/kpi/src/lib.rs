//! Hotline's reporting core (placeholder doc, replaced below).

pub mod aggregate;
pub mod alert;
pub mod calendar;
pub mod compare;
pub mod figures;

mod error;

pub use error::KpiError;
