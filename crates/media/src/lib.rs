//! Hotline's media core (sans-IO).

pub mod bridge;
pub mod codec;
pub mod dtmf;
pub mod error;
pub mod files;
pub mod g711;
pub mod inband;
pub mod jitter;
pub mod leg;
pub mod prompt;
pub mod quality;
pub mod recorder;
pub mod rtcp;
pub mod rtp;
pub mod stats;
pub mod stream;
pub mod wav;
