//! The Demo Shop in the store: seeding for `hotline demo`, and the check that stops `serve` while
//! any demo password is still set.

use anyhow::Context;
use model::{Timestamp, User};
use store::{Store, StoreError};

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn salt() -> anyhow::Result<[u8; 16]> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a password salt: {e}"))?;
    Ok(salt)
}

/// Inserts whatever part of the demo data set is missing; rows that exist are left as they are,
/// so a second run keeps every change made since the first (and finishes an interrupted first run).
pub async fn ensure_demo(store: &Store) -> anyhow::Result<()> {
    let d = demo::dataset(now());
    let org = d.org.id;
    let mut added = 0usize;
    if store.get_org(org).await?.is_none() {
        store.insert_org(&d.org).await?;
        added += 1;
    }
    for s in &d.skills {
        added += usize::from(missing(store.get_skill(org, s.id).await?, || store.insert_skill(s)).await?);
    }
    for q in &d.queues {
        added += usize::from(missing(store.get_queue(org, q.id).await?, || store.insert_queue(q)).await?);
    }
    for u in &d.users {
        if store.get_user(org, u.user.id).await?.is_none() {
            let hash = auth::hash_password(&u.password, salt()?)?;
            store.insert_user(&User { password_hash: hash, ..u.user.clone() }).await?;
            added += 1;
        }
    }
    for a in d.agents.iter().chain(&d.staff_phones) {
        added += usize::from(missing(store.get_agent(org, a.id).await?, || store.insert_agent(a)).await?);
    }
    for c in &d.customers {
        added += usize::from(missing(store.get_customer(org, c.id).await?, || store.insert_customer(c)).await?);
    }
    for o in &d.orders {
        added += usize::from(missing(store.get_order(org, o.id).await?, || store.insert_order(o)).await?);
    }
    tracing::info!(added, "demo data ready");
    Ok(())
}

async fn missing<T, F, Fut>(existing: Option<T>, insert: F) -> Result<bool, StoreError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    if existing.is_some() {
        return Ok(false);
    }
    insert().await.map(|()| true)
}

/// Fails when any Demo Shop login or SIP account still has its published password.
pub async fn refuse_demo_passwords(store: &Store) -> anyhow::Result<()> {
    let org = demo::DEMO_ORG;
    if store.get_org(org).await?.is_none() {
        return Ok(());
    }
    let mut still_set = Vec::new();
    for (login, password) in demo::demo_passwords() {
        let username = model::Username::parse(login).context("demo username")?;
        if let Some(user) = store.find_user_by_username(org, &username).await?
            && auth::verify_password(&password, &user.password_hash).unwrap_or(false)
        {
            still_set.push(format!("web login {login}"));
        }
        if let Ok(ext) = model::Extension::parse(login)
            && let Some(agent) = store.find_agent_by_extension(org, &ext).await?
            && agent.sip_secret.expose() == password
        {
            still_set.push(format!("SIP account {login}"));
        }
    }
    if still_set.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "refusing to serve: demo passwords are still set for {} (change them, or run `hotline demo`)",
            still_set.join(", ")
        )
    }
}
