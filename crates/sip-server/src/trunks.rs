//! The trunks' status as the engine last published it: registration state and live calls per
//! trunk, for tests and the status API. The engine replaces the whole snapshot when something
//! changes; readers copy it out (the lock is never held across an await).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub use sip::trunk::{RegistrationState, RegistrationStatus};

/// One trunk, now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkStatus {
    pub name: String,
    pub address: SocketAddr,
    /// Calls out of this trunk now.
    pub calls: usize,
    pub max_calls: usize,
    /// `None`: the trunk does not register.
    pub registration: Option<RegistrationStatus>,
}

/// Where the engine publishes [`TrunkStatus`] snapshots.
#[derive(Debug, Clone, Default)]
pub(crate) struct TrunkStatusBoard(Arc<Mutex<Vec<TrunkStatus>>>);

impl TrunkStatusBoard {
    pub fn publish(&self, statuses: Vec<TrunkStatus>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = statuses;
    }

    pub fn snapshot(&self) -> Vec<TrunkStatus> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}
