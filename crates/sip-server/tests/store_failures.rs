//! When the store fails: a REGISTER whose credential lookup fails is answered 503 (never 200,
//! never a challenge that blames the password) and counted; a server whose bindings cannot be
//! restored does not start.

mod common;

use common::*;
use model::Timestamp;
use sip::digest::UserSecret;
use sip::registrar::Binding;
use sip_server::{BindingStore, Credentials, SipServer, SipServerError};

struct BrokenStore {
    fail_restore: bool,
}

impl Credentials for BrokenStore {
    async fn secret_for(&self, _extension: &str) -> Result<Option<UserSecret>, SipServerError> {
        Err(SipServerError::Store("database is down".into()))
    }
}

impl BindingStore for BrokenStore {
    async fn load_bindings(
        &self,
        _now: Timestamp,
        _interval_ms: u64,
        _max: u32,
    ) -> Result<Vec<Binding>, SipServerError> {
        if self.fail_restore { Err(SipServerError::Store("database is down".into())) } else { Ok(Vec::new()) }
    }

    async fn write_bindings(&self, _now: Timestamp, _aor: &str, _b: &[Binding]) -> Result<(), SipServerError> {
        Err(SipServerError::Store("database is down".into()))
    }
}

#[tokio::test]
async fn a_failed_credential_lookup_is_answered_503_and_counted() {
    let server = SipServer::start(config(), BrokenStore { fail_restore: false }).await.expect("starts");
    let phone = RawUdp::new(server.local_addr()).await;
    let (challenge, answer) = register_raw(&phone, "1001", "demo1001", "db").await;
    assert_eq!(status(&challenge), 401, "no lookup is needed to challenge: {challenge}");
    assert_eq!(status(&answer), 503, "{answer}");
    assert!(answer.contains("Retry-After: 5"), "{answer}");
    assert_eq!(server.counters().lookup_failures, 1);
    server.stop().await;
}

#[tokio::test]
async fn a_server_whose_bindings_cannot_be_restored_does_not_start() {
    let started = SipServer::start(config(), BrokenStore { fail_restore: true }).await;
    assert!(matches!(started, Err(SipServerError::Store(_))), "{started:?}");
}
