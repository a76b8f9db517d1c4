//! What the server needs from the rest of Hotline: agents' SIP secrets ([`Credentials`]) and a
//! place to keep registrations across restarts ([`BindingStore`]), with their implementation on
//! the `store` crate ([`StoreDirectory`]: agent by (org, extension) → `sip_secret`; the
//! `sip_bindings` table).
//!
//! Converts between the core's `Binding` and the store's row; never decides anything.

use std::future::Future;

use model::{Extension, OrgId, Timestamp};
use sip::NameAddr;
use sip::digest::UserSecret;
use sip::registrar::Binding;
use store::{SipBinding, Store};

use crate::SipServerError;

/// Looks up the SIP secret of an extension. `Ok(None)`: no such agent (answered exactly like a
/// wrong password by the core).
pub trait Credentials: Send + Sync + 'static {
    fn secret_for(&self, extension: &str) -> impl Future<Output = Result<Option<UserSecret>, SipServerError>> + Send;
}

/// Keeps registrar bindings so a restart restores them.
pub trait BindingStore: Send + Sync + 'static {
    /// Bindings still valid after `now` (at most `max_rows`); expired ones may be purged.
    fn load_bindings(
        &self,
        now: Timestamp,
        keepalive_interval_ms: u64,
        max_rows: u32,
    ) -> impl Future<Output = Result<Vec<Binding>, SipServerError>> + Send;

    /// Persists the registrar's whole current set of bindings for extension `aor` (written after
    /// each change to it, so nothing stale survives whatever the change was).
    fn write_bindings(
        &self,
        now: Timestamp,
        aor: &str,
        bindings: &[Binding],
    ) -> impl Future<Output = Result<(), SipServerError>> + Send;
}

/// [`Credentials`] and [`BindingStore`] on Hotline's store, for one org.
#[derive(Debug, Clone)]
pub struct StoreDirectory {
    pub store: Store,
    pub org: OrgId,
}

fn store_error(e: store::StoreError) -> SipServerError {
    SipServerError::Store(e.to_string())
}

impl Credentials for StoreDirectory {
    async fn secret_for(&self, extension: &str) -> Result<Option<UserSecret>, SipServerError> {
        let Ok(ext) = Extension::parse(extension) else { return Ok(None) };
        let agent = self.store.find_agent_by_extension(self.org, &ext).await.map_err(store_error)?;
        Ok(agent.map(|a| UserSecret::Password(a.sip_secret.expose().to_owned())))
    }
}

impl BindingStore for StoreDirectory {
    async fn load_bindings(
        &self,
        now: Timestamp,
        keepalive_interval_ms: u64,
        max_rows: u32,
    ) -> Result<Vec<Binding>, SipServerError> {
        self.store.delete_expired_sip_bindings(self.org, now).await.map_err(store_error)?;
        let rows = self.store.list_live_sip_bindings(self.org, now, max_rows).await.map_err(store_error)?;
        let first_ping = now.plus(model::DurationMs::from_ms(keepalive_interval_ms));
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match binding_from_row(&row, first_ping) {
                Some(b) => out.push(b),
                None => {
                    tracing::warn!(extension = %row.extension, "stored SIP binding has an unreadable contact; skipped")
                }
            }
        }
        Ok(out)
    }

    async fn write_bindings(&self, now: Timestamp, aor: &str, bindings: &[Binding]) -> Result<(), SipServerError> {
        let ext = extension(aor)?;
        let rows = bindings.iter().map(|b| row_from_binding(self.org, b, now)).collect::<Result<Vec<_>, _>>()?;
        self.store.replace_sip_bindings(self.org, &ext, &rows).await.map_err(store_error)
    }
}

fn extension(aor: &str) -> Result<Extension, SipServerError> {
    Extension::parse(aor).map_err(|e| SipServerError::Store(format!("binding for {aor:?}: {e}")))
}

fn row_from_binding(org: OrgId, b: &Binding, now: Timestamp) -> Result<SipBinding, SipServerError> {
    Ok(SipBinding {
        org,
        extension: extension(&b.aor)?,
        contact_key: contact_key(b),
        contact: b.contact.to_string(),
        call_id: b.call_id.clone(),
        cseq: b.cseq,
        expires_at: b.expires_at,
        source: b.source,
        updated_at: now,
    })
}

/// Unique within an extension's bindings, as the registrar's own key is: the `+sip.instance` of
/// the device when it sends one (RFC 5626), else the contact URI's comparable form.
fn contact_key(b: &Binding) -> String {
    match b.contact.params.value("+sip.instance") {
        Some(instance) => format!("instance|{instance}"),
        None => b.contact.uri.binding_key(),
    }
}

fn binding_from_row(row: &SipBinding, next_keepalive_at: Timestamp) -> Option<Binding> {
    Some(Binding {
        aor: row.extension.as_str().to_owned(),
        contact: NameAddr::parse(&row.contact)?,
        call_id: row.call_id.clone(),
        cseq: row.cseq,
        expires_at: row.expires_at,
        source: row.source,
        next_keepalive_at,
    })
}
