//! The IVR's built-in lookups and actions, answered from the store: the caller's customer record,
//! an order's status, and the password-reset link sent to the customer's email on file.

use std::collections::BTreeMap;

use ivr::{LookupAnswer, LookupQuery, ResetLinkResult};
use model::{
    ContactEvent, ContactEventId, ContactEventKind, ContactId, CountryCode, Customer, E164, Language, OrgId, Timestamp,
};
use store::Store;

/// The customer calling from `caller`, if the number normalises and is on file.
pub async fn customer_by_caller(
    store: &Store,
    org: OrgId,
    caller: &str,
    country: CountryCode,
) -> Result<Option<Customer>, store::StoreError> {
    let Ok(number) = E164::normalise(caller, country) else { return Ok(None) };
    store.find_customer_by_phone(org, &number).await
}

/// Answers a built-in IVR lookup.
pub async fn lookup(store: &Store, org: OrgId, query: &LookupQuery, country: CountryCode) -> LookupAnswer {
    let result = match query {
        LookupQuery::CustomerByCaller { caller } => {
            customer_by_caller(store, org, caller, country).await.map(|found| found.map(customer_fields))
        }
        LookupQuery::OrderStatus { order_number } => store.find_order_by_number(org, order_number).await.map(|found| {
            found.map(|o| {
                BTreeMap::from([
                    ("status".to_owned(), o.status.as_str().to_owned()),
                    ("number".to_owned(), o.number),
                    ("customer".to_owned(), o.customer.to_string()),
                ])
            })
        }),
    };
    match result {
        Ok(Some(fields)) => LookupAnswer::Found(fields),
        Ok(None) => LookupAnswer::NotFound,
        Err(e) => {
            tracing::warn!(error = %e, "IVR lookup failed");
            LookupAnswer::Failed
        }
    }
}

fn customer_fields(c: Customer) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::from([
        ("id".to_owned(), c.id.to_string()),
        ("name".to_owned(), c.name),
        ("vip".to_owned(), c.vip.as_str().to_owned()),
    ]);
    if let Some(l) = c.language {
        fields.insert("language".to_owned(), l.to_string());
    }
    fields
}

/// Prepares the password-reset link for the caller's customer: the outbound message (address,
/// subject, body, link) as the JSON detail of a `message` contact event, which the call writes
/// once its contact exists — the store keeps every outbound message for the mailer and the
/// contact's history.
pub async fn reset_link(
    store: &Store,
    org: OrgId,
    caller: &str,
    language: &Language,
    country: CountryCode,
) -> (ResetLinkResult, Option<String>) {
    let customer = match customer_by_caller(store, org, caller, country).await {
        Ok(Some(c)) => c,
        Ok(None) => return (ResetLinkResult::NoCustomer, None),
        Err(e) => {
            tracing::warn!(error = %e, "reset link: customer lookup failed");
            return (ResetLinkResult::Failed, None);
        }
    };
    let Some(email) = customer.emails.first() else { return (ResetLinkResult::NoEmail, None) };
    let token = uuid::Uuid::now_v7().simple().to_string();
    let (subject, body) = if language.as_str().starts_with("zh") {
        ("重置您的 Demo Shop 密码", format!("您好 {}，请打开以下链接重置密码（24 小时内有效）：", customer.name))
    } else {
        (
            "Reset your Demo Shop password",
            format!("Hello {}, open this link to reset your password (valid 24 hours):", customer.name),
        )
    };
    let detail = serde_json::json!({
        "type": "password_reset_link",
        "channel": "email",
        "to": email.as_str(),
        "customer": customer.id.to_string(),
        "subject": subject,
        "body": body,
        "link": format!("/reset-password?token={token}"),
    });
    (ResetLinkResult::Sent, Some(detail.to_string()))
}

/// A contact event the call writes itself (messages, recording and hold steps).
pub fn event(org: OrgId, contact: ContactId, at: Timestamp, kind: ContactEventKind, detail: String) -> ContactEvent {
    ContactEvent {
        id: ContactEventId::from_uuid(uuid::Uuid::now_v7()),
        org,
        contact,
        at,
        kind,
        agent: None,
        queue: None,
        detail,
    }
}
