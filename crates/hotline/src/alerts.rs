//! `[alerts]` into the web crate's complaint-alert service: the rules of `[[alerts.rules]]` for
//! the `kpi::alert` engine and the signed webhook (`feeds::WebhookPoster`) of
//! `alerts.webhook_url`. Started by `serve` when at least one rule is configured; `demo` adds
//! [`demo_rule`] when the configuration has none.

use std::sync::Arc;

use anyhow::Context;
use config::{AlertRuleConfig, AlertsConfig};
use kpi::alert::ComplaintRule;
use model::DurationMs;
use store::Store;
use web::alerts::AlertService;

/// Scopes (org and queue) each rule tracks at once.
const MAX_TRACKED_SCOPES: usize = 1_000;

/// The demo's rule: more than 5 contacts of one queue with disposition `complaint` or flagged
/// by the keyword rule `complaint` (投诉, 举报, complain*) within 15 minutes; one alert per
/// half hour.
pub fn demo_rule() -> AlertRuleConfig {
    AlertRuleConfig {
        name: "投诉激增 Complaint surge".to_owned(),
        dispositions: vec![model::ReasonCode::parse("complaint").expect("a valid code")],
        keyword_flags: vec!["complaint".to_owned()],
        threshold: 5,
        window_s: 15 * 60,
        cooldown_s: 30 * 60,
        clear_at_or_below: 5,
    }
}

/// The engine's rules from `[[alerts.rules]]`.
pub fn rules(cfg: &AlertsConfig) -> Vec<ComplaintRule> {
    cfg.rules
        .iter()
        .map(|r| ComplaintRule {
            name: r.name.clone(),
            dispositions: r.dispositions.clone(),
            keyword_flags: r.keyword_flags.clone(),
            raise_above: r.threshold,
            clear_at_or_below: r.clear_at_or_below,
            window_ms: DurationMs::from_secs(r.window_s),
            cooldown_ms: DurationMs::from_secs(r.cooldown_s),
            // Enough to decide both thresholds exactly and show counts a little above N.
            max_complaints_per_scope: r.threshold as usize + 100,
            max_tracked_scopes: MAX_TRACKED_SCOPES,
            max_pending_events: cfg.max_pending,
        })
        .collect()
}

/// Wrap-ups waiting for the alert engine (sent by the event dispatcher, `crate::events`).
const MAX_QUEUED_WRAP_UPS: usize = 1_000;

/// Starts the complaint alerts; `None` when no rule is configured (and not `demo`). With the
/// service comes the queue the event dispatcher feeds the center's wrap-ups into.
pub fn start(
    cfg: &AlertsConfig,
    demo: bool,
    store: &Store,
    clock: Arc<dyn center::Clock>,
) -> anyhow::Result<Option<(AlertService, tokio::sync::mpsc::Sender<center::LiveEvent>)>> {
    let mut cfg = cfg.clone();
    if demo && cfg.rules.is_empty() {
        cfg.rules.push(demo_rule());
    }
    if cfg.rules.is_empty() {
        return Ok(None);
    }
    let webhook = match &cfg.webhook_url {
        Some(url) => Some(
            feeds::WebhookPoster::start(feeds::WebhookConfig {
                url: url.clone(),
                secret: cfg.webhook_secret.as_bytes().to_vec(),
                timeout_ms: cfg.webhook_timeout_ms,
                max_retries: cfg.max_retries,
                max_pending: cfg.max_pending,
            })
            .context("alerts.webhook_url")?,
        ),
        None => None,
    };
    let (events, events_rx) = tokio::sync::mpsc::channel(MAX_QUEUED_WRAP_UPS);
    let service = AlertService::start_fed(rules(&cfg), webhook, events_rx, store, clock).context("alerts.rules")?;
    tracing::info!(rules = cfg.rules.len(), webhook = cfg.webhook_url.is_some(), "complaint alerts are on");
    Ok(Some((service, events)))
}

/// Bridges the transcriber's keyword flags into the alert service, until either stops. A lag
/// (more than `transcribe::FLAG_BROADCAST_CAPACITY` notices unread) is logged with the count.
pub fn feed_keyword_flags(
    service: &AlertService,
    mut flags: tokio::sync::broadcast::Receiver<transcribe::ContactFlagged>,
) -> tokio::task::JoinHandle<()> {
    let sink = service.keyword_flag_sink();
    tokio::spawn(async move {
        loop {
            match flags.recv().await {
                Ok(f) => {
                    let notice = web::alerts::KeywordFlags { org: f.org, contact: f.contact, flags: f.rule_flags };
                    if !web::alerts::keyword_flags_into(&sink, notice) {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "complaint alerts missed transcription keyword flags");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}
