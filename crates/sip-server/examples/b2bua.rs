//! Hotline's B2BUA on its own, for the side-by-side benchmark (`bench/b2bua.sh`): the SIP
//! server with direct dial, one agent extension whose password is given, an in-memory
//! directory (no database), and the per-source guard opened up (one load generator sends
//! thousands of messages per second from one address).
//!
//! `cargo run --release -p sip-server --example b2bua -- 127.0.0.1:5070 1002 demo1002`
//! Serves until SIGINT or SIGTERM; prints the counters when it stops.

use std::net::SocketAddr;

use model::{OrgId, Timestamp};
use sip::digest::UserSecret;
use sip::registrar::Binding;
use sip_server::{BindingStore, Credentials, SipServer, SipServerConfig, SipServerError};

/// One extension and its password; bindings live only in the registrar.
struct OneAgent {
    extension: String,
    password: String,
}

impl Credentials for OneAgent {
    async fn secret_for(&self, extension: &str) -> Result<Option<UserSecret>, SipServerError> {
        Ok((extension == self.extension).then(|| UserSecret::Password(self.password.clone())))
    }
}

impl BindingStore for OneAgent {
    async fn load_bindings(&self, _now: Timestamp, _ping_ms: u64, _max: u32) -> Result<Vec<Binding>, SipServerError> {
        Ok(Vec::new())
    }

    async fn write_bindings(&self, _now: Timestamp, _aor: &str, _b: &[Binding]) -> Result<(), SipServerError> {
        Ok(())
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bind: SocketAddr = args.next().unwrap_or_else(|| "127.0.0.1:5070".into()).parse()?;
    let extension = args.next().unwrap_or_else(|| "1002".into());
    let password = args.next().unwrap_or_else(|| "demo1002".into());
    let mut config = SipServerConfig::new(bind, OrgId::from_u128(1));
    config.guard.max_messages_per_second = 1_000_000;
    config.guard.burst_messages = 1_000_000;
    config.max_queued_inputs = 65_536;
    config.max_calls = 100_000;
    config.transactions.max_transactions = 200_000;
    config.transactions.max_pending_outputs = 200_000;
    // The load generator's phone is no real phone: no keep-alive OPTIONS in its scenario.
    config.keepalive_interval_ms = 3_600_000;
    let server = SipServer::start(config, OneAgent { extension, password }).await?;
    println!("listening {}", server.local_addr());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    println!("{:?}", server.counters());
    server.stop().await;
    Ok(())
}
