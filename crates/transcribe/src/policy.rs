//! The job state machine, pure: what a job becomes when it is submitted, started, finished or
//! failed, given the time and the retry policy. The service only stores what these return.
//!
//! Never: a job past `max_attempts` queued again, a backoff that overflows, or a reason longer
//! than the store keeps.

use model::{ContactId, OrgId, RecordingId, Timestamp};
use store::{TranscriptionJob, TranscriptionStatus};

/// When to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub retry_backoff_ms: u64,
    pub max_retry_backoff_ms: u64,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based): the base, doubled per attempt,
    /// capped.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(32);
        self.retry_backoff_ms.saturating_mul(1u64 << doublings).min(self.max_retry_backoff_ms)
    }
}

/// A new job for a recording, queued now.
pub fn new_job(org: OrgId, recording: RecordingId, contact: ContactId, now: Timestamp) -> TranscriptionJob {
    TranscriptionJob {
        org,
        recording,
        contact,
        status: TranscriptionStatus::Queued,
        attempts: 0,
        progress_pct: 0,
        failure_reason: None,
        rule_flags: Vec::new(),
        created_at: now,
        updated_at: now,
        next_attempt_at: now,
    }
}

/// A finished (done or failed) job asked for again: queued afresh, attempts reset.
pub fn resubmit(job: &TranscriptionJob, now: Timestamp) -> TranscriptionJob {
    TranscriptionJob {
        status: TranscriptionStatus::Queued,
        attempts: 0,
        progress_pct: 0,
        failure_reason: None,
        updated_at: now,
        next_attempt_at: now,
        ..job.clone()
    }
}

/// A worker takes the job: running, one more attempt counted.
pub fn start_attempt(job: &TranscriptionJob, now: Timestamp) -> TranscriptionJob {
    TranscriptionJob {
        status: TranscriptionStatus::Running,
        attempts: job.attempts.saturating_add(1),
        progress_pct: 0,
        updated_at: now,
        ..job.clone()
    }
}

/// The attempt succeeded; `rule_flags` are the keyword rules the transcript matched.
pub fn succeed(job: &TranscriptionJob, rule_flags: Vec<String>, now: Timestamp) -> TranscriptionJob {
    TranscriptionJob {
        status: TranscriptionStatus::Done,
        progress_pct: 100,
        failure_reason: None,
        rule_flags,
        updated_at: now,
        ..job.clone()
    }
}

/// The attempt failed: queued again after the backoff while attempts remain, failed for good
/// after the last one. The reason is kept either way.
pub fn fail_attempt(job: &TranscriptionJob, reason: &str, policy: &RetryPolicy, now: Timestamp) -> TranscriptionJob {
    let reason: String = reason.chars().take(store::MAX_FAILURE_REASON_CHARS).collect();
    let last = job.attempts >= policy.max_attempts;
    TranscriptionJob {
        status: if last { TranscriptionStatus::Failed } else { TranscriptionStatus::Queued },
        failure_reason: Some(if last { format!("failed after {} attempts: {reason}", job.attempts) } else { reason }),
        updated_at: now,
        next_attempt_at: if last { now } else { now.plus(model::DurationMs::from_ms(policy.backoff_ms(job.attempts))) },
        ..job.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy { max_attempts: 3, retry_backoff_ms: 1_000, max_retry_backoff_ms: 3_000 };

    fn fresh() -> TranscriptionJob {
        new_job(OrgId::from_u128(1), RecordingId::from_u128(2), ContactId::from_u128(3), Timestamp::from_unix_ms(0))
    }

    #[test]
    fn backoff_doubles_and_is_capped_without_overflow() {
        assert_eq!([1, 2, 3, 4].map(|a| POLICY.backoff_ms(a)), [1_000, 2_000, 3_000, 3_000]);
        let huge = RetryPolicy { max_attempts: 1, retry_backoff_ms: u64::MAX, max_retry_backoff_ms: u64::MAX };
        assert_eq!(huge.backoff_ms(u32::MAX), u64::MAX);
    }

    #[test]
    fn failed_attempts_are_retried_after_backoff_then_failed_for_good() {
        let mut job = fresh();
        let mut now = Timestamp::from_unix_ms(10);
        for attempt in 1..=3u32 {
            job = start_attempt(&job, now);
            assert_eq!((job.status, job.attempts), (TranscriptionStatus::Running, attempt));
            job = fail_attempt(&job, "worker died", &POLICY, now);
            now = job.next_attempt_at;
        }
        assert_eq!(job.status, TranscriptionStatus::Failed);
        assert_eq!(job.failure_reason.as_deref(), Some("failed after 3 attempts: worker died"));
    }

    #[test]
    fn a_retry_waits_for_its_backoff() {
        let job = start_attempt(&fresh(), Timestamp::from_unix_ms(10));
        let retry = fail_attempt(&job, "timeout", &POLICY, Timestamp::from_unix_ms(50));
        assert_eq!(retry.status, TranscriptionStatus::Queued);
        assert_eq!(retry.next_attempt_at, Timestamp::from_unix_ms(1_050));
        assert_eq!(retry.failure_reason.as_deref(), Some("timeout"));
    }

    #[test]
    fn success_clears_the_reason_and_resubmission_resets_attempts() {
        let job = fail_attempt(
            &start_attempt(&fresh(), Timestamp::from_unix_ms(1)),
            "x",
            &POLICY,
            Timestamp::from_unix_ms(2),
        );
        let done = succeed(
            &start_attempt(&job, Timestamp::from_unix_ms(3)),
            vec!["refund".into()],
            Timestamp::from_unix_ms(4),
        );
        assert_eq!((done.status, done.attempts, done.progress_pct), (TranscriptionStatus::Done, 2, 100));
        assert_eq!(done.failure_reason, None);
        let again = resubmit(&done, Timestamp::from_unix_ms(5));
        assert_eq!((again.status, again.attempts, again.created_at), (TranscriptionStatus::Queued, 0, done.created_at));
    }

    #[test]
    fn reasons_are_cut_to_what_the_store_keeps() {
        let job = start_attempt(&fresh(), Timestamp::from_unix_ms(1));
        let long = "é".repeat(store::MAX_FAILURE_REASON_CHARS * 2);
        let out = fail_attempt(&job, &long, &POLICY, Timestamp::from_unix_ms(2));
        assert_eq!(out.failure_reason.map(|r| r.chars().count()), Some(store::MAX_FAILURE_REASON_CHARS));
    }
}
