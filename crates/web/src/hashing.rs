//! Password hashing and verification off the async threads, a bounded number at a time.
//!
//! argon2id takes ~25 ms and 19 MiB per call by design; without a bound, a burst of sign-ins
//! (even wrong ones, before the throttle has counted them) would take that memory and CPU times
//! the burst. At most `max_concurrent_password_hashes` run at once; a caller that waits longer
//! than `password_queue_timeout_ms` gets a 503 with `Retry-After`.

use std::time::Duration;

use crate::AppState;
use crate::problem::{Problem, ProblemKind};
use crate::runtime::random;

async fn bounded<T: Send + 'static>(app: &AppState, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Problem> {
    let busy =
        || Problem::of(ProblemKind::Unavailable, "too many sign-ins at once; retry shortly").retry_after_ms(1_000);
    let wait = Duration::from_millis(app.config.password_queue_timeout_ms);
    let permit = match tokio::time::timeout(wait, app.password_slots.acquire()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(_)) | Err(_) => return Err(busy()),
    };
    let out = tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Problem::of(ProblemKind::Internal, "password hashing stopped"))?;
    drop(permit);
    Ok(out)
}

/// Whether `password` matches the stored hash; an unreadable hash is a mismatch (and logged).
pub(crate) async fn verify(app: &AppState, password: String, phc: String) -> Result<bool, Problem> {
    bounded(app, move || match auth::verify_password(&password, &phc) {
        Ok(ok) => ok,
        Err(e) => {
            tracing::error!(error = %e, "stored password hash is unreadable");
            false
        }
    })
    .await
}

/// A new argon2id hash with a fresh salt; a password of the wrong length is a 422.
pub(crate) async fn hash(app: &AppState, password: String) -> Result<String, Problem> {
    let salt: [u8; 16] = random(app.entropy.as_ref())?;
    bounded(app, move || auth::hash_password(&password, salt)).await?.map_err(Problem::validation)
}
