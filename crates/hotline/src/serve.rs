//! `serve` and `demo`: the start-up order and graceful shutdown.
//!
//! Order matters for "no partial writes on bad input": configuration is validated before this
//! runs; the database is reached and its schema version checked before anything is written;
//! only then are migrations applied, demo data seeded and ports opened.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use config::Config;
use store::{ConnectOptions, Store};
use tokio::net::TcpListener;

use crate::seed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Real use: refuses demo passwords.
    Production,
    /// The Demo Shop on embedded storage.
    Demo,
}

pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    let opts = ConnectOptions {
        max_connections: cfg.database.max_connections,
        connect_timeout_ms: cfg.database.connect_timeout.as_ms(),
    };
    Ok(Store::connect(&cfg.database.url, &opts).await?)
}

pub async fn run(cfg: Config, mode: Mode) -> anyhow::Result<()> {
    crate::logging::init(&cfg.log)?;
    let store = open_store(&cfg).await?;
    prepare_database(&store, &cfg, mode).await?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create the data directory {}", cfg.data_dir.display()))?;

    let http_addr = SocketAddr::new(cfg.http.bind, cfg.http.port);
    let listener = TcpListener::bind(http_addr).await.with_context(|| format!("http: cannot listen on {http_addr}"))?;
    let bound = listener.local_addr().context("http: no local address")?;
    let org = served_org(&store, mode).await?;
    let sip_config = sip_config(&cfg, org)?;
    let sip_addr = sip_config.bind;
    let sip = sip_server::SipServer::start(sip_config, sip_server::StoreDirectory { store: store.clone(), org })
        .await
        .with_context(|| format!("sip.port: cannot serve SIP (UDP and TCP) on {sip_addr}"))?;
    tracing::info!(sip = %sip.local_addr(), "SIP is serving on UDP and TCP");
    tracing::info!(%bound, database = store.redacted_url(), mode = ?mode, "hotline is serving");
    if mode == Mode::Demo {
        println!("Hotline demo is up: http://localhost:{} (health: /healthz, readiness: /readyz)", bound.port());
        println!("Data: {} (run `hotline demo` again to keep it)", cfg.data_dir.display());
    }

    let auth_repo = Arc::new(store.clone());
    let state =
        Arc::new(web::AppState::new(store.clone(), auth_repo, web_config(&cfg, org), env!("CARGO_PKG_VERSION")));
    let grace = cfg.shutdown_grace.as_std();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, web::router(state), async move {
        let _ = stop_rx.await;
    }));

    shutdown_signal().await;
    tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down");
    let _ = stop_tx.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined.context("http server task")?.context("http server")?,
        Err(_) => tracing::warn!("in-flight requests did not finish within the grace period"),
    }
    sip.stop().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Refuses a database from a newer Hotline before writing anything, migrates (or requires that
/// `hotline migrate` was run), then seeds the demo or refuses the demo passwords.
async fn prepare_database(store: &Store, cfg: &Config, mode: Mode) -> anyhow::Result<()> {
    let status = store.schema_status().await?;
    if status.current > status.latest_known {
        anyhow::bail!(store::StoreError::NewerSchema { found: status.current, supported: status.latest_known });
    }
    if cfg.database.auto_migrate || mode == Mode::Demo {
        let report = store.migrate().await?;
        tracing::info!(from = report.from, to = report.to, applied = report.applied.len(), "database schema");
    } else if !status.is_current() {
        anyhow::bail!(
            "database schema is at version {}, this Hotline needs {}: run `hotline migrate`",
            status.current,
            status.latest_known
        );
    }
    match mode {
        Mode::Demo => seed::ensure_demo(store).await.context("seeding the demo data"),
        Mode::Production => seed::refuse_demo_passwords(store).await,
    }
}

/// The SIP server's settings from the `[sip]` section.
fn sip_config(cfg: &Config, org: model::OrgId) -> anyhow::Result<sip_server::SipServerConfig> {
    let mut sip = sip_server::SipServerConfig::new(SocketAddr::new(cfg.sip.bind, cfg.sip.port), org);
    sip.realm = cfg.sip.realm.clone();
    // `config` has already checked the names; this maps them onto the core's algorithms.
    sip.digest_algorithms = cfg
        .sip
        .digest_algorithms
        .iter()
        .map(|name| sip::digest::Algorithm::parse(Some(name)).with_context(|| format!("sip.digest_algorithms: {name}")))
        .collect::<anyhow::Result<_>>()?;
    Ok(sip)
}

/// The web server's settings from the `[http]` section.
fn web_config(cfg: &Config, org: model::OrgId) -> web::WebConfig {
    let mut web = web::WebConfig::new(org);
    web.max_body_bytes = usize::try_from(cfg.http.max_body_bytes).unwrap_or(usize::MAX);
    web.secure_cookies = cfg.http.secure_cookies;
    web.allowed_origins = cfg.http.allowed_origins.clone();
    web
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// The org the web API serves: the Demo Shop in demo mode, otherwise the first org in the
/// database (one org per deployment until hosted multi-tenancy resolves it per request).
async fn served_org(store: &Store, mode: Mode) -> anyhow::Result<model::OrgId> {
    if mode == Mode::Demo {
        return Ok(demo::DEMO_ORG);
    }
    let first = store.list_orgs(&store::Page::first(1)).await?.items.into_iter().next();
    Ok(first.map_or(demo::DEMO_ORG, |o| o.id))
}
