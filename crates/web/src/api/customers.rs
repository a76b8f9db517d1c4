//! Customers (search by name, phone or email), their contact history, tickets and orders, the
//! merge of two records of one person, and order lookup by number.
//!
//! A customer merged away answers a read of its id (or of its contacts, tickets or orders) with
//! `308 Permanent Redirect` to the surviving customer, and a write with `409` naming it.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use model::{CountryCode, Customer, CustomerId, E164, Email, Language, OrderId, VipTier};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiQuery, PageQuery, S, found, paged, parse_id, text_field, views};
use crate::AppState;
use crate::guard::Caller;
use crate::problem::{ApiJson, Problem, ProblemKind};
use crate::runtime::new_uuid;

/// Most characters of a customer's name.
const MAX_NAME_CHARS: usize = 200;
/// Most phones, and most emails, per customer.
const MAX_CONTACT_POINTS: usize = 10;

type JsonResult = Result<Json<Value>, Problem>;

async fn default_country(app: &AppState, org: model::OrgId) -> Result<CountryCode, Problem> {
    Ok(found(app.store.get_org(org).await?, "org")?.default_country)
}

#[derive(Deserialize)]
pub(crate) struct CustomerFilter {
    phone: Option<String>,
    email: Option<String>,
    q: Option<String>,
}

/// `?phone=` or `?email=` finds one customer (a page of zero or one); `?q=` pages through the
/// customers whose name, phone or email contains the text (to find duplicates before a merge);
/// none of them lists all.
pub(crate) async fn list_customers(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(f): ApiQuery<CustomerFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let org = c.who.org;
    let one = match (&f.phone, &f.email) {
        (Some(phone), _) => {
            let phone = E164::normalise(phone, default_country(&app, org).await?)?;
            app.store.find_customer_by_phone(org, &phone).await?
        }
        (None, Some(email)) => app.store.find_customer_by_email(org, &Email::parse(email)?).await?,
        (None, None) => {
            let page = match f.q.as_deref() {
                Some(text) => app.store.search_customers(org, text, &q.page()).await?,
                None => app.store.list_customers(org, &q.page()).await?,
            };
            return Ok(Json(paged(page, views::customer)));
        }
    };
    Ok(Json(json!({"items": one.iter().map(views::customer).collect::<Vec<_>>(), "next": null})))
}

#[derive(Deserialize)]
pub(crate) struct CustomerBody {
    name: String,
    #[serde(default)]
    phones: Vec<String>,
    #[serde(default)]
    emails: Vec<String>,
    vip: Option<String>,
    language: Option<String>,
}

pub(crate) async fn create_customer(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiJson(body): ApiJson<CustomerBody>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let org = c.who.org;
    if body.phones.len() > MAX_CONTACT_POINTS || body.emails.len() > MAX_CONTACT_POINTS {
        return Err(Problem::of(ProblemKind::Validation, format!("at most {MAX_CONTACT_POINTS} phones and emails")));
    }
    let country = default_country(&app, org).await?;
    let customer = Customer {
        id: CustomerId::from_uuid(new_uuid(app.clock.as_ref(), app.entropy.as_ref())?),
        org,
        name: text_field("name", &body.name, MAX_NAME_CHARS, true)?,
        phones: body.phones.iter().map(|p| E164::normalise(p, country)).collect::<Result<_, _>>()?,
        emails: body.emails.iter().map(|e| Email::parse(e)).collect::<Result<_, _>>()?,
        social_ids: Vec::new(),
        vip: body.vip.as_deref().map_or(Ok(VipTier::Normal), str::parse)?,
        attributes: Default::default(),
        language: body.language.as_deref().map(Language::parse).transpose()?,
        created_at: app.clock.now(),
    };
    app.store.insert_customer(&customer).await?;
    Ok((StatusCode::CREATED, Json(views::customer(&customer))))
}

#[derive(Deserialize)]
pub(crate) struct CustomerPatch {
    name: Option<String>,
    phones: Option<Vec<String>>,
    emails: Option<Vec<String>>,
    language: Option<String>,
}

/// Changes the fields given; phones and emails are replaced as a whole (all or nothing).
pub(crate) async fn update_customer(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<CustomerPatch>,
) -> JsonResult {
    let org = c.who.org;
    let mut customer = writable_customer(&app, &c, &id).await?;
    let country = default_country(&app, org).await?;
    if let Some(name) = &p.name {
        customer.name = text_field("name", name, MAX_NAME_CHARS, true)?;
    }
    if let Some(phones) = &p.phones {
        if phones.len() > MAX_CONTACT_POINTS {
            return Err(Problem::of(ProblemKind::Validation, format!("at most {MAX_CONTACT_POINTS} phones")));
        }
        customer.phones = phones.iter().map(|x| E164::normalise(x, country)).collect::<Result<_, _>>()?;
    }
    if let Some(emails) = &p.emails {
        if emails.len() > MAX_CONTACT_POINTS {
            return Err(Problem::of(ProblemKind::Validation, format!("at most {MAX_CONTACT_POINTS} emails")));
        }
        customer.emails = emails.iter().map(|e| Email::parse(e)).collect::<Result<_, _>>()?;
    }
    if let Some(language) = &p.language {
        customer.language = if language.trim().is_empty() { None } else { Some(Language::parse(language)?) };
    }
    app.store.update_customer(&customer).await?;
    Ok(Json(views::customer(&customer)))
}

#[derive(Deserialize)]
pub(crate) struct VipBody {
    vip: String,
}

/// Sets the customer's VIP tier (which changes how they are routed).
pub(crate) async fn set_customer_vip(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VipBody>,
) -> JsonResult {
    let mut customer = writable_customer(&app, &c, &id).await?;
    customer.vip = body.vip.parse::<VipTier>()?;
    app.store.update_customer(&customer).await?;
    Ok(Json(views::customer(&customer)))
}

/// A read of a customer that was merged away: where it lives on.
struct MergedAway {
    into: CustomerId,
}

impl MergedAway {
    /// `308` to the same resource (`suffix`: `""`, `"/contacts"`, ...) of the surviving customer.
    fn redirect(&self, suffix: &str) -> Response {
        let location = format!("/api/customers/{}{suffix}", self.into);
        let body = Json(json!({"merged_into": self.into.to_string(), "location": location.clone()}));
        (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)], body).into_response()
    }
}

/// The customer with this id, or where it was merged to, or 404.
async fn lookup(app: &AppState, c: &Caller, id: &str) -> Result<Result<Customer, MergedAway>, Problem> {
    let id: CustomerId = parse_id(id, "customer")?;
    if let Some(customer) = app.store.get_customer(c.who.org, id).await? {
        return Ok(Ok(customer));
    }
    match app.store.customer_merged_into(c.who.org, id).await? {
        Some(m) => Ok(Err(MergedAway { into: m.into })),
        None => Err(Problem::not_found("customer")),
    }
}

/// The customer to change: a merged-away id is a 409 naming the survivor.
async fn writable_customer(app: &AppState, c: &Caller, id: &str) -> Result<Customer, Problem> {
    lookup(app, c, id).await?.map_err(|m| {
        Problem::of(
            ProblemKind::Conflict,
            format!("customer {id} was merged into customer {}; change that one", m.into),
        )
    })
}

pub(crate) async fn get_customer(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    Ok(match lookup(&app, &c, &id).await? {
        Ok(customer) => Json(views::customer(&customer)).into_response(),
        Err(merged) => merged.redirect(""),
    })
}

/// The id of an existing customer, or the `308` to the survivor's `suffix` for a merged one.
async fn existing_customer(
    app: &AppState,
    c: &Caller,
    id: &str,
    suffix: &str,
) -> Result<Result<CustomerId, Response>, Problem> {
    Ok(lookup(app, c, id).await?.map(|c| c.id).map_err(|m| m.redirect(suffix)))
}

#[derive(Deserialize)]
pub(crate) struct MergeBody {
    from: String,
}

/// Merges customer `from` into the customer of the path (supervisors and admins; the guard
/// writes the audit entry): the other customer's phones, emails, social ids, contacts, tickets
/// and orders move here, the higher VIP tier is kept, and the old id redirects here from now on.
/// Merging a customer into itself is 422; either customer already merged away is 409.
pub(crate) async fn merge_customers(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> JsonResult {
    let into: CustomerId = parse_id(&id, "customer")?;
    let from = body.from.trim().parse::<CustomerId>().map_err(|e| Problem::validation(format!("from: {e}")))?;
    let at = app.clock.now();
    let actor: String = c.who.actor.chars().take(store::MAX_MERGE_TEXT_CHARS).collect();
    let (customer, moved) = match app.store.merge_customers(c.who.org, into, from, at, &actor).await {
        Ok(done) => done,
        Err(store::StoreError::Conflict { what: "customer merge", detail }) => {
            return Err(Problem::of(ProblemKind::Conflict, detail));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(json!({
        "customer": views::customer(&customer),
        "merged": {"from": from.to_string(), "into": into.to_string(), "at_ms": at.unix_ms()},
        "moved": {
            "phones": moved.phones, "emails": moved.emails, "social_ids": moved.social_ids,
            "contacts": moved.contacts, "tickets": moved.tickets, "orders": moved.orders,
            "social_senders": moved.social_senders,
        },
    })))
}

/// The customer's contacts on every channel, newest first (the screen-pop history).
pub(crate) async fn customer_contacts(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, Problem> {
    let id = match existing_customer(&app, &c, &id, "/contacts").await? {
        Ok(id) => id,
        Err(redirect) => return Ok(redirect),
    };
    Ok(Json(paged(app.store.list_contacts_by_customer(c.who.org, id, &q.page()).await?, views::contact))
        .into_response())
}

pub(crate) async fn customer_tickets(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, Problem> {
    let id = match existing_customer(&app, &c, &id, "/tickets").await? {
        Ok(id) => id,
        Err(redirect) => return Ok(redirect),
    };
    Ok(Json(paged(app.store.list_tickets_by_customer(c.who.org, id, &q.page()).await?, views::ticket)).into_response())
}

pub(crate) async fn customer_orders(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, Problem> {
    let id = match existing_customer(&app, &c, &id, "/orders").await? {
        Ok(id) => id,
        Err(redirect) => return Ok(redirect),
    };
    Ok(Json(paged(app.store.list_orders_by_customer(c.who.org, id, &q.page()).await?, views::order)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct OrderFilter {
    number: Option<String>,
}

/// `?number=100001` finds one order (a page of zero or one); without it, the org's orders by id.
pub(crate) async fn find_orders(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(f): ApiQuery<OrderFilter>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let org = c.who.org;
    match f.number {
        Some(number) => {
            let one = app.store.find_order_by_number(org, number.trim()).await?;
            Ok(Json(json!({"items": one.iter().map(views::order).collect::<Vec<_>>(), "next": null})))
        }
        None => Ok(Json(paged(app.store.list_orders(org, &q.page()).await?, views::order))),
    }
}

pub(crate) async fn get_order(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let id: OrderId = parse_id(&id, "order")?;
    Ok(Json(views::order(&found(app.store.get_order(c.who.org, id).await?, "order")?)))
}
