//! Time and randomness, injected: the server reads the clock and draws random bytes only through
//! [`Clock`] and [`Entropy`], so tests run with a fake clock and the sans-IO `auth` crate gets both
//! from its caller. Ids are UUIDv7 built from these two.

use std::sync::atomic::{AtomicI64, Ordering};

use model::Timestamp;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// Fills buffers from a cryptographically secure generator.
pub trait Entropy: Send + Sync + 'static {
    fn fill(&self, buf: &mut [u8]) -> Result<(), String>;
}

/// The system's wall clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told (tests).
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(at: Timestamp) -> Self {
        Self(AtomicI64::new(at.unix_ms()))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_ms(self.0.load(Ordering::SeqCst))
    }
}

/// The operating system's CSPRNG.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), String> {
        getrandom::fill(buf).map_err(|e| format!("no randomness from the OS: {e}"))
    }
}

/// An array of random bytes.
pub(crate) fn random<const N: usize>(entropy: &dyn Entropy) -> Result<[u8; N], crate::Problem> {
    let mut buf = [0u8; N];
    entropy.fill(&mut buf).map_err(|e| {
        tracing::error!(error = %e, "entropy");
        crate::Problem::of(crate::ProblemKind::Internal, "no randomness available")
    })?;
    Ok(buf)
}

/// A time-ordered UUIDv7 from the injected clock and entropy.
pub(crate) fn new_uuid(clock: &dyn Clock, entropy: &dyn Entropy) -> Result<uuid::Uuid, crate::Problem> {
    let bytes: [u8; 10] = random(entropy)?;
    let ms = u64::try_from(clock.now().unix_ms()).unwrap_or(0);
    Ok(uuid::Builder::from_unix_timestamp_millis(ms, &bytes).into_uuid())
}
