//! Customers (search by phone or email), their contact history, tickets and orders, and order
//! lookup by number.

use axum::extract::{Path, State};
use axum::http::StatusCode;
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
}

/// `?phone=` or `?email=` finds one customer (a page of zero or one); neither lists all.
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
        (None, None) => return Ok(Json(paged(app.store.list_customers(org, &q.page()).await?, views::customer))),
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
    let mut customer = found(app.store.get_customer(org, parse_id(&id, "customer")?).await?, "customer")?;
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
    let mut customer = found(app.store.get_customer(c.who.org, parse_id(&id, "customer")?).await?, "customer")?;
    customer.vip = body.vip.parse::<VipTier>()?;
    app.store.update_customer(&customer).await?;
    Ok(Json(views::customer(&customer)))
}

pub(crate) async fn get_customer(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> JsonResult {
    let id: CustomerId = parse_id(&id, "customer")?;
    Ok(Json(views::customer(&found(app.store.get_customer(c.who.org, id).await?, "customer")?)))
}

async fn existing_customer(app: &AppState, c: &Caller, id: &str) -> Result<CustomerId, Problem> {
    let id: CustomerId = parse_id(id, "customer")?;
    found(app.store.get_customer(c.who.org, id).await?, "customer").map(|c| c.id)
}

/// The customer's contacts on every channel, newest first (the screen-pop history).
pub(crate) async fn customer_contacts(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let id = existing_customer(&app, &c, &id).await?;
    Ok(Json(paged(app.store.list_contacts_by_customer(c.who.org, id, &q.page()).await?, views::contact)))
}

pub(crate) async fn customer_tickets(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let id = existing_customer(&app, &c, &id).await?;
    Ok(Json(paged(app.store.list_tickets_by_customer(c.who.org, id, &q.page()).await?, views::ticket)))
}

pub(crate) async fn customer_orders(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> JsonResult {
    let id = existing_customer(&app, &c, &id).await?;
    Ok(Json(paged(app.store.list_orders_by_customer(c.who.org, id, &q.page()).await?, views::order)))
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
