//! Start-up and shutdown: validate the config, bind UDP+TCP, restore the stored bindings into
//! the registrar, start the transport, engine and binding-writer tasks, and stop them all on
//! request. [`SipServer`] is the handle: bound address, counters, stop.

use std::sync::Arc;
use std::time::Duration;

use sip::digest::DigestServerConfig;
use sip::registrar::{Registrar, RegistrarConfig};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::calls::{CallControl, CallEvents, MediaAnchor, PassThrough};
use crate::config::SipServerConfig;
use crate::counters::{Counters, Metrics};
use crate::directory::{BindingStore, Credentials};
use crate::engine::{BindingWrite, Engine, Links, now};
use crate::trunks::{TrunkStatus, TrunkStatusBoard};
use crate::{SipServerError, transport};

/// How long [`SipServer::stop`] waits for pending binding writes.
const STOP_FLUSH_MS: u64 = 2_000;

/// A running SIP server.
#[derive(Debug)]
pub struct SipServer {
    local_addr: std::net::SocketAddr,
    metrics: Metrics,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    writer: JoinHandle<()>,
    unregister: mpsc::Sender<oneshot::Sender<()>>,
    unregister_wait_ms: u64,
    trunk_status: TrunkStatusBoard,
}

impl SipServer {
    /// Binds UDP and TCP on `config.bind`, restores stored bindings, and starts serving. With no
    /// application attached, direct dial still bridges calls to registered extensions; calls to
    /// entry points are rejected 503.
    pub async fn start<D>(config: SipServerConfig, directory: D) -> Result<SipServer, SipServerError>
    where
        D: Credentials + BindingStore,
    {
        let (server, _control, _events) = Self::start_inner(config, directory, Box::new(PassThrough), false).await?;
        Ok(server)
    }

    /// [`SipServer::start`] with an application attached: it receives [`CallEvents`] and drives
    /// calls with [`CallControl`]; linked legs have their SDP rewritten by `anchor`.
    pub async fn start_with_calls<D>(
        config: SipServerConfig,
        directory: D,
        anchor: Box<dyn MediaAnchor>,
    ) -> Result<(SipServer, CallControl, CallEvents), SipServerError>
    where
        D: Credentials + BindingStore,
    {
        Self::start_inner(config, directory, anchor, true).await
    }

    async fn start_inner<D>(
        config: SipServerConfig,
        directory: D,
        anchor: Box<dyn MediaAnchor>,
        with_application: bool,
    ) -> Result<(SipServer, CallControl, CallEvents), SipServerError>
    where
        D: Credentials + BindingStore,
    {
        config.validate()?;
        let bound = transport::bind(config.bind).await.map_err(|e| SipServerError::Bind(e.to_string()))?;
        let local_addr = bound.udp.local_addr().map_err(|e| SipServerError::Bind(e.to_string()))?;
        let directory = Arc::new(directory);
        let mut registrar = Registrar::new(registrar_config(&config)?);
        let restored = restore(&config, directory.as_ref(), &mut registrar).await?;
        tracing::info!(%local_addr, restored, "SIP server listening on UDP and TCP");

        let metrics = Metrics::default();
        let (stop, stop_rx) = watch::channel(false);
        let (inbound_tx, inbound_rx) = mpsc::channel(config.max_queued_inputs);
        let (lookups_tx, lookups_rx) = mpsc::channel(config.max_pending_lookups);
        let (writes_tx, writes_rx) = mpsc::channel(config.max_pending_binding_writes);
        let (commands_tx, commands_rx) = mpsc::channel(config.max_queued_call_commands);
        let (events_tx, events_rx) = mpsc::channel(config.max_queued_call_events);
        let (unregister_tx, unregister_rx) = mpsc::channel(1);
        let trunk_status = TrunkStatusBoard::default();
        let (outbound, mut tasks) = transport::start(bound, &config, inbound_tx, metrics.clone(), stop_rx.clone());
        let links = Links {
            outbound,
            metrics: metrics.clone(),
            directory: directory.clone(),
            local: local_addr,
            lookups_tx,
            writes_tx,
            call_events: with_application.then_some(events_tx),
            anchor,
            trunk_status: trunk_status.clone(),
        };
        let engine = Engine::new(&config, registrar, links);
        tasks.push(tokio::spawn(engine.run(inbound_rx, lookups_rx, commands_rx, unregister_rx, stop_rx)));
        let timeout = Duration::from_millis(config.store_timeout_ms);
        let writer = tokio::spawn(write_bindings(directory, writes_rx, metrics.clone(), timeout));
        let unregister_wait_ms = config.unregister_wait_ms;
        let server = SipServer {
            local_addr,
            metrics,
            stop,
            tasks,
            writer,
            unregister: unregister_tx,
            unregister_wait_ms,
            trunk_status,
        };
        Ok((server, CallControl::new(commands_tx), events_rx))
    }

    /// The bound address (UDP and TCP share it).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.local_addr
    }

    pub fn counters(&self) -> Counters {
        self.metrics.snapshot()
    }

    /// Every trunk's registration state and live calls, as of the engine's last change.
    pub fn trunk_status(&self) -> Vec<TrunkStatus> {
        self.trunk_status.snapshot()
    }

    /// Un-registers from the trunks' providers (waiting up to `unregister_wait_ms` for their
    /// answers), stops every task, closes the sockets, and lets pending binding writes finish
    /// (bounded).
    pub async fn stop(self) {
        let (reply, answered) = oneshot::channel();
        if self.unregister.send(reply).await.is_ok() {
            // The engine replies by its own deadline; this one only guards against a stuck engine.
            let wait = Duration::from_millis(self.unregister_wait_ms.saturating_add(1_000));
            let _ = tokio::time::timeout(wait, answered).await;
        }
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        // The engine is gone, so the writer's channel closes once it has written what is queued.
        let _ = tokio::time::timeout(Duration::from_millis(STOP_FLUSH_MS), self.writer).await;
    }
}

fn registrar_config(config: &SipServerConfig) -> Result<RegistrarConfig, SipServerError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| SipServerError::Config {
        setting: "realm",
        reason: format!("no randomness for the nonce secret: {e}"),
    })?;
    let mut digest = DigestServerConfig::new(&config.realm, &secret);
    digest.nonce_ttl_ms = config.nonce_ttl_ms;
    digest.algorithms = config.digest_algorithms.clone();
    let mut registrar = RegistrarConfig::new(digest);
    registrar.min_expires_s = config.min_expires_s;
    registrar.max_expires_s = config.max_expires_s;
    registrar.default_expires_s = config.default_expires_s;
    registrar.keepalive_interval_ms = config.keepalive_interval_ms;
    Ok(registrar)
}

async fn restore<D: BindingStore>(
    config: &SipServerConfig,
    directory: &D,
    registrar: &mut Registrar,
) -> Result<usize, SipServerError> {
    let timeout = Duration::from_millis(config.store_timeout_ms);
    let load = directory.load_bindings(now(), config.keepalive_interval_ms, config.max_restored_bindings);
    let bindings = tokio::time::timeout(timeout, load)
        .await
        .map_err(|_| SipServerError::Store(format!("restoring bindings took over {} ms", config.store_timeout_ms)))??;
    let count = bindings.len();
    for binding in bindings {
        registrar.restore(binding);
    }
    Ok(count)
}

/// Writes binding sets in order, one at a time, so an older set never overwrites a newer one.
async fn write_bindings<D: BindingStore>(
    directory: Arc<D>,
    mut writes: mpsc::Receiver<BindingWrite>,
    metrics: Metrics,
    timeout: Duration,
) {
    while let Some(write) = writes.recv().await {
        let stored = directory.write_bindings(write.at, &write.aor, &write.bindings);
        match tokio::time::timeout(timeout, stored).await {
            Ok(Ok(())) => metrics.add(|c| c.binding_writes += 1),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, aor = %write.aor, "SIP bindings not written");
                metrics.add(|c| c.binding_writes_failed += 1);
            }
            Err(_) => metrics.add(|c| c.binding_writes_failed += 1),
        }
    }
}
