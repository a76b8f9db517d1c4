//! Hotline's media core (sans-IO).

pub mod error;
pub mod rtcp;
pub mod rtp;
