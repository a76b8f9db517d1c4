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
    // Installed before anything serves: a SIGTERM that follows the first 200 from /healthz must
    // stop Hotline cleanly, not kill it by the default action before the handler exists.
    let shutdown = ShutdownSignal::install()?;
    let store = open_store(&cfg).await?;
    prepare_database(&store, &cfg, mode).await?;
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create the data directory {}", cfg.data_dir.display()))?;

    let http_addr = SocketAddr::new(cfg.http.bind, cfg.http.port);
    let listener = TcpListener::bind(http_addr).await.with_context(|| format!("http: cannot listen on {http_addr}"))?;
    let bound = listener.local_addr().context("http: no local address")?;
    let org = served_org(&store, mode).await?;
    let clock: Arc<dyn center::Clock> = Arc::new(center::SystemClock);
    let routes = routes(&cfg)?;
    let (center, center_task) =
        center::Center::start(store.clone(), org, &routes, center::CenterConfig::default(), clock.clone())
            .await
            .context("starting the contact center")?;
    let (flows, prompts) = ivr_assets(&cfg)?;
    let flow_registry = Arc::new(ivr::FlowRegistry::new(flows.clone()));
    let (media, media_events, media_task) = media_server(&cfg)?;
    let mut sip_config = sip_config(&cfg, org)?;
    sip_config.entry_points = flows.numbers().map(str::to_owned).collect();
    let sip_addr = sip_config.bind;
    let directory = sip_server::StoreDirectory { store: store.clone(), org };
    let (sip, calls, call_events) =
        sip_server::SipServer::start_with_calls(sip_config, directory, Box::new(sip_server::PassThrough))
            .await
            .with_context(|| format!("sip.port: cannot serve SIP (UDP and TCP) on {sip_addr}"))?;
    tracing::info!(sip = %sip.local_addr(), numbers = ?flows.numbers().collect::<Vec<_>>(), "SIP is serving on UDP and TCP");
    let deps = voice::VoiceDeps {
        calls,
        call_events,
        media: media.clone(),
        media_events,
        center: center.clone(),
        flows: flow_registry.clone(),
        prompts: Arc::new(prompts),
        store: store.clone(),
        clock,
    };
    let mut voice_config = voice::VoiceConfig::new(org, cfg.media.advertise, cfg.phone.default_country);
    // With trunks, callbacks go out through them (the caller's number, the provider's auth).
    voice_config.callback_via_trunk = !cfg.sip.trunks.is_empty();
    let voice = voice::Voice::start(deps, voice_config).await.context("starting the voice path")?;
    let feeds = crate::feeds::Feeds::start(&cfg.feeds, &center, &store, org).await?;
    let aggregates = crate::feeds::Aggregates::start(&center, &store, org, cfg.reports_utc_offset_minutes)?;
    // `[[search.keyword_rules]]` (or the standard ones), for transcripts and written texts alike.
    let keyword_rules = Arc::new(cfg.search.keyword_rules.clone());
    let recording_services =
        crate::recordings::RecordingServices::start(&cfg, &store, org, keyword_rules.clone()).await?;
    let (alerts, alert_events) =
        crate::alerts::start(&cfg.alerts, mode == Mode::Demo, &store, Arc::new(center::SystemClock))?.unzip();
    let text_flags = alerts.as_ref().map(web::alerts::AlertService::keyword_flag_sink);
    let (texts, search_worker) = crate::search_texts::start(
        crate::search_texts::Indexer {
            center: center.clone(),
            store: store.clone(),
            org,
            index: recording_services.search_index(),
            rules: keyword_rules,
        },
        text_flags,
    );
    // The one reader of the center's events for the services above (see `crate::events`).
    let consumers = crate::events::Consumers {
        ended: Some(recording_services.ended_sink()),
        search: Some(texts.clone()),
        alerts: alert_events,
    };
    let events = crate::events::Dispatcher::start(&center, org, consumers);
    let email = crate::email::EmailChannel::start(&cfg.email, &store, org, &center, texts).await?;
    if let (Some(alerts), Some(flags)) = (&alerts, recording_services.subscribe_flags()) {
        crate::alerts::feed_keyword_flags(alerts, flags);
    }
    let social = crate::social::SocialChannels::start(&cfg.social, &store, org, &center)?;
    tracing::info!(%bound, database = store.redacted_url(), mode = ?mode, "hotline is serving");
    if mode == Mode::Demo {
        println!("Hotline demo is up: http://localhost:{} (health: /healthz, readiness: /readyz)", bound.port());
        println!("Data: {} (run `hotline demo` again to keep it)", cfg.data_dir.display());
    }

    let auth_repo = Arc::new(store.clone());
    let mut app = web::AppState::new(
        store.clone(),
        auth_repo,
        web_config(&cfg, org, recording_services.keys()),
        env!("CARGO_PKG_VERSION"),
    )
    .with_center(center.clone())
    .with_search(recording_services.search_index())
    // The IVR's `hours` nodes with `calendar = "..."` read the calendars admins edit.
    .with_calendars(flow_registry.calendars().clone());
    if let Some(alerts) = &alerts {
        app = app.with_alerts(alerts.board.clone());
    }
    if let Some(outbox) = email.as_ref().and_then(crate::email::EmailChannel::outbox) {
        app = app.with_email(outbox);
    }
    if let Some(token) = &cfg.social.wechat_token {
        app = app.with_wechat(
            web::wechat::WeChatCallback::new(token, cfg.social.max_clock_skew_ms, &cfg.social.entry_point)
                .with_welcome(cfg.social.wechat_welcome.clone()),
        );
    }
    if let Some(social) = &social {
        app = app.with_social(social.web());
    }
    if let Some(dir) = &cfg.ivr.flows_dir {
        // Admins replace flows through /api/ivr/flows; new calls read the same registry.
        let managed = web::ivr_flows::IvrFlows::new(dir.clone(), Arc::new(ivr_catalog(&cfg)?), flow_registry.clone());
        app = app.with_ivr_flows(Arc::new(managed));
    }
    let state = Arc::new(app);
    let grace = cfg.shutdown_grace.as_std();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, web::router(state.clone()), async move {
        let _ = stop_rx.await;
    }));

    shutdown.recv().await;
    tracing::info!(grace_ms = grace.as_millis() as u64, "shutting down");
    let _ = stop_tx.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(joined) => joined.context("http server task")?.context("http server")?,
        Err(_) => tracing::warn!("in-flight requests did not finish within the grace period"),
    }
    state.flush_chat().await;
    if let Some(email) = email {
        email.stop().await;
    }
    if let Some(social) = social {
        social.stop().await;
    }
    sip.stop().await;
    voice.stop().await;
    if let Some(feeds) = feeds {
        feeds.stop().await;
    }
    if let Some(alerts) = alerts {
        alerts.stop().await;
    }
    let _ = center.flush().await;
    aggregates.stop().await;
    events.stop().await;
    search_worker.abort();
    recording_services.stop().await;
    let _ = media.shutdown().await;
    let _ = media_task.await;
    let _ = center.shutdown().await;
    let _ = center_task.await;
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
    sip.default_country = cfg.phone.default_country;
    // Phones cannot send to a wildcard: bound to one, calls name `media.advertise` unless
    // `sip.advertise` says otherwise.
    sip.advertise = cfg.sip.advertise.or_else(|| cfg.sip.bind.is_unspecified().then_some(cfg.media.advertise));
    sip.guard.trusted_sources = cfg.sip.trusted_sources.clone();
    sip.trunks = cfg.sip.trunks.iter().map(trunk).collect();
    Ok(sip)
}

/// A `[[sip.trunks]]` entry as the SIP server's trunk (`config` has checked every value).
fn trunk(t: &config::TrunkConfig) -> sip_server::Trunk {
    let mut trunk = sip_server::Trunk::new(&t.name, t.address, t.default_country);
    trunk.username = t.username.clone();
    trunk.password = t.password.clone();
    trunk.realm = t.realm.clone();
    trunk.register = t.register;
    trunk.register_expires_s = t.register_expires_s;
    trunk.caller_id = t.caller_id.clone();
    trunk.number_format = match t.number_format {
        config::TrunkNumberFormat::E164 => sip_server::NumberFormat::E164,
        config::TrunkNumberFormat::National => sip_server::NumberFormat::National,
    };
    trunk.national_prefix = t.national_prefix.clone();
    trunk.international_prefix = t.international_prefix.clone();
    trunk.prefixes = t.prefixes.clone();
    trunk.is_default = t.default;
    trunk.max_calls = t.max_calls as usize;
    trunk
}

/// The route table: `acd.routes_file`, or the demo's built into the binary.
fn routes(cfg: &Config) -> anyhow::Result<center::Routes> {
    let Some(path) = &cfg.acd.routes_file else { return Ok(center::demo_routes()) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("acd.routes_file: cannot read {}", path.display()))?;
    center::Routes::from_toml(&text).with_context(|| format!("acd.routes_file: {}", path.display()))
}

/// The IVR flows and prompts: `ivr.flows_dir` / `ivr.prompts_dir`, or the demo's built in.
fn ivr_assets(cfg: &Config) -> anyhow::Result<(ivr::FlowSet, voice::Prompts)> {
    let catalog = ivr_catalog(cfg)?;
    let flows = match &cfg.ivr.flows_dir {
        Some(dir) => ivr::FlowSet::load_dir(dir, &catalog).context("ivr.flows_dir")?,
        None => voice::bundled::flows(&catalog).context("the built-in IVR flows")?,
    };
    let prompts = match &cfg.ivr.prompts_dir {
        Some(dir) => voice::Prompts::load_dir(dir).context("ivr.prompts_dir")?,
        None => voice::bundled::prompts().context("the built-in prompts")?,
    };
    Ok((flows, prompts))
}

/// The prompt catalogue flows are checked against: `ivr.prompts_dir`'s, or the demo's built in.
fn ivr_catalog(cfg: &Config) -> anyhow::Result<ivr::PromptCatalog> {
    Ok(match &cfg.ivr.prompts_dir {
        Some(dir) => ivr::PromptCatalog::from_dir(dir).context("ivr.prompts_dir")?,
        None => voice::bundled::catalog().context("the built-in prompt catalogue")?,
    })
}

type MediaParts = (
    media_server::MediaServerHandle,
    tokio::sync::mpsc::Receiver<media_server::ServerEvent>,
    tokio::task::JoinHandle<media_server::ServerCounters>,
);

/// The media server from the `[media]` section (RTP ports are bound per call, not at start).
fn media_server(cfg: &Config) -> anyhow::Result<MediaParts> {
    let dir = std::path::absolute(&cfg.media.recordings_dir)
        .with_context(|| format!("media.recordings_dir: {}", cfg.media.recordings_dir.display()))?;
    std::fs::create_dir_all(&dir).with_context(|| format!("media.recordings_dir: cannot create {}", dir.display()))?;
    let mut media =
        media_server::MediaServerConfig::new(cfg.media.bind, cfg.media.rtp_port_min, cfg.media.rtp_port_max, dir);
    media.media_timeout_ms = cfg.media.media_timeout.as_ms();
    media.max_calls = cfg.media.max_calls as usize;
    media_server::MediaServer::start(media).context("media")
}

/// The web server's settings from the `[http]` section (and `[chat] calendar`).
fn web_config(cfg: &Config, org: model::OrgId, keys: Arc<recordings::Keyring>) -> web::WebConfig {
    let mut web = web::WebConfig::new(org);
    web.max_body_bytes = usize::try_from(cfg.http.max_body_bytes).unwrap_or(usize::MAX);
    web.secure_cookies = cfg.http.secure_cookies;
    web.allowed_origins = cfg.http.allowed_origins.clone();
    web.recordings_dir = Some(cfg.media.recordings_dir.clone());
    web.email_attachments_dir = Some(cfg.email.attachments_dir.clone());
    web.report_utc_offset_minutes = cfg.reports_utc_offset_minutes;
    web.recording_keys = keys;
    web.chat_calendar = cfg.chat.calendar.clone();
    web.chat_edge_secret = cfg.chat.edge_secret.clone();
    web
}

/// SIGINT and SIGTERM, registered when installed (so none is lost to the default action).
pub(crate) struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    pub(crate) fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Resolves on the first SIGINT or SIGTERM.
    pub(crate) async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! { _ = self.interrupt.recv() => {}, _ = self.terminate.recv() => {} }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
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
