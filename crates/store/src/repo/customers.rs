//! Customers. Phones and emails live in child tables keyed by (org, value) so the IVR finds a
//! caller by number, and the email channel a sender by address, with one index probe; both are
//! unique per org. Social ids and attributes are JSON text.

use std::collections::{BTreeMap, HashMap};

use model::{Channel, Customer, CustomerId, E164, Email, Language, OrgId, SocialId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table, insert_row_on, to_json, update_row_on};
use crate::sql::{self, RowReader, Value, text_opt};

pub(crate) const CUSTOMERS: Table = Table {
    name: "customers",
    what: "customer",
    cols: &["id", "org_id", "name", "social_ids", "vip", "attributes", "language", "created_at_ms"],
};

#[derive(Serialize, Deserialize)]
struct SocialDto {
    channel: String,
    id: String,
}

pub(crate) fn values(c: &Customer) -> Vec<Value> {
    let social: Vec<SocialDto> =
        c.social_ids.iter().map(|s| SocialDto { channel: s.channel.to_string(), id: s.id.clone() }).collect();
    vec![
        Value::from(c.name.clone()),
        Value::from(to_json(&social)),
        Value::from(c.vip.as_str()),
        Value::from(to_json(&c.attributes)),
        text_opt(c.language.as_ref()),
        Value::from(c.created_at.unix_ms()),
    ]
}

/// The customer without phones and emails; [`attach_contact_points`] fills them in.
pub(crate) fn from_row(r: &RowReader<'_>) -> Result<Customer, StoreError> {
    let social_ids = r
        .json::<Vec<SocialDto>>("social_ids")?
        .into_iter()
        .map(|s| {
            Ok(SocialId { channel: s.channel.parse::<Channel>().map_err(|e| r.invalid("social_ids", e))?, id: s.id })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Customer {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        name: r.text("name")?,
        phones: Vec::new(),
        emails: Vec::new(),
        social_ids,
        vip: r.parse("vip")?,
        attributes: r.json::<BTreeMap<String, String>>("attributes")?,
        language: r.opt_with("language", Language::parse)?,
        created_at: r.time("created_at_ms")?,
    })
}

/// Longest customer search text, in characters.
pub const MAX_CUSTOMER_SEARCH_CHARS: usize = 100;

/// `s` with the LIKE wildcards (and the escape character `!`) taken literally.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(ch);
    }
    out
}

/// The lower-cased form under which an email is indexed, so lookups behave alike on every backend.
fn email_key(e: &Email) -> String {
    e.as_str().to_lowercase()
}

async fn insert_contact_points(conn: &mut AnyConnection, store: &Store, c: &Customer) -> Result<(), StoreError> {
    for (i, phone) in c.phones.iter().enumerate() {
        let sql = "INSERT INTO customer_phones (org_id, phone, customer_id, position) VALUES (?, ?, ?, ?)";
        let args =
            vec![c.org.to_string().into(), phone.as_str().into(), c.id.to_string().into(), Value::from(i as i64)];
        sql::execute(conn, store.backend, "customer phone", sql, args).await?;
    }
    for (i, email) in c.emails.iter().enumerate() {
        let sql =
            "INSERT INTO customer_emails (org_id, email_key, email, customer_id, position) VALUES (?, ?, ?, ?, ?)";
        let args = vec![
            c.org.to_string().into(),
            email_key(email).into(),
            email.as_str().into(),
            c.id.to_string().into(),
            Value::from(i as i64),
        ];
        sql::execute(conn, store.backend, "customer email", sql, args).await?;
    }
    Ok(())
}

/// Fills in the phones and emails of `customers` (all of one org) with two queries.
pub(crate) async fn attach_contact_points(
    conn: &mut AnyConnection,
    store: &Store,
    org: OrgId,
    customers: &mut [Customer],
) -> Result<(), StoreError> {
    if customers.is_empty() {
        return Ok(());
    }
    let marks = vec!["?"; customers.len()].join(", ");
    let mut args = vec![Value::from(org.to_string())];
    args.extend(customers.iter().map(|c| Value::from(c.id.to_string())));
    let index: HashMap<String, usize> = customers.iter().enumerate().map(|(i, c)| (c.id.to_string(), i)).collect();

    let sql = format!(
        "SELECT customer_id, phone FROM customer_phones WHERE org_id = ? AND customer_id IN ({marks}) ORDER BY position"
    );
    for row in sql::fetch_all(conn, store.backend, "customer phone", &sql, args.clone()).await? {
        let r = RowReader::new(&row, "customer_phones");
        if let Some(&i) = index.get(&r.text("customer_id")?) {
            customers[i].phones.push(r.with("phone", E164::parse_strict)?);
        }
    }
    let sql = format!(
        "SELECT customer_id, email FROM customer_emails WHERE org_id = ? AND customer_id IN ({marks}) ORDER BY position"
    );
    for row in sql::fetch_all(conn, store.backend, "customer email", &sql, args).await? {
        let r = RowReader::new(&row, "customer_emails");
        if let Some(&i) = index.get(&r.text("customer_id")?) {
            customers[i].emails.push(r.with("email", Email::parse)?);
        }
    }
    Ok(())
}

impl Store {
    /// Inserts the customer with its phones and emails, all or nothing. [`StoreError::Conflict`]
    /// when the id, or one of the phones or emails, is already taken in the org.
    pub async fn insert_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("customer", e))?;
        let mut v = vec![Value::from(customer.id.to_string()), Value::from(customer.org.to_string())];
        v.extend(values(customer));
        insert_row_on(&mut tx, self.backend, &CUSTOMERS, v).await?;
        insert_contact_points(&mut tx, self, customer).await?;
        tx.commit().await.map_err(|e| StoreError::from_query("customer", e))
    }

    /// Replaces the customer's fields, phones and emails, all or nothing.
    pub async fn update_customer(&self, customer: &Customer) -> Result<(), StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await.map_err(|e| StoreError::from_query("customer", e))?;
        update_row_on(&mut tx, self.backend, &CUSTOMERS, customer.org, customer.id.to_string(), values(customer))
            .await?;
        for table in ["customer_phones", "customer_emails"] {
            let sql = format!("DELETE FROM {table} WHERE org_id = ? AND customer_id = ?");
            let args = vec![customer.org.to_string().into(), customer.id.to_string().into()];
            sql::execute(&mut tx, self.backend, "customer", &sql, args).await?;
        }
        insert_contact_points(&mut tx, self, customer).await?;
        tx.commit().await.map_err(|e| StoreError::from_query("customer", e))
    }

    pub async fn get_customer(&self, org: OrgId, id: CustomerId) -> Result<Option<Customer>, StoreError> {
        self.load_customer_where(org, "id = ?", vec![Value::from(id.to_string())]).await
    }

    /// The customer calling from this number (the IVR's screen-pop lookup).
    pub async fn find_customer_by_phone(&self, org: OrgId, phone: &E164) -> Result<Option<Customer>, StoreError> {
        let cond = "id = (SELECT customer_id FROM customer_phones WHERE org_id = ? AND phone = ?)";
        self.load_customer_where(org, cond, vec![Value::from(org.to_string()), Value::from(phone.as_str())]).await
    }

    /// The customer with this email address (compared without regard to case).
    pub async fn find_customer_by_email(&self, org: OrgId, email: &Email) -> Result<Option<Customer>, StoreError> {
        let cond = "id = (SELECT customer_id FROM customer_emails WHERE org_id = ? AND email_key = ?)";
        self.load_customer_where(org, cond, vec![Value::from(org.to_string()), Value::from(email_key(email))]).await
    }

    /// The one customer of the org matching `cond`, with its phones and emails, on one
    /// connection. Lookups by phone or email use a scalar subquery (a primary-key probe of the
    /// child table, evaluated once) so the customer row is then read by its primary key: a plan
    /// that stays fast even before the planner has statistics.
    async fn load_customer_where(
        &self,
        org: OrgId,
        cond: &str,
        args: Vec<Value>,
    ) -> Result<Option<Customer>, StoreError> {
        let sql = format!("SELECT {} FROM customers WHERE org_id = ? AND {cond}", CUSTOMERS.cols.join(", "));
        let mut all = vec![Value::from(org.to_string())];
        all.extend(args);
        let mut conn = self.conn().await?;
        let Some(row) = sql::fetch_optional(&mut conn, self.backend, "customer", &sql, all).await? else {
            return Ok(None);
        };
        let mut found = [from_row(&RowReader::new(&row, CUSTOMERS.name))?];
        attach_contact_points(&mut conn, self, org, &mut found).await?;
        let [c] = found;
        Ok(Some(c))
    }

    /// The org's customers whose name, phone or email contains `q` (names and emails compared
    /// without regard to case; `q` written like a phone number matches phones on its digits), by
    /// id. For finding the same person recorded twice before a merge. [`StoreError::InvalidInput`]
    /// for an empty `q` or one longer than [`MAX_CUSTOMER_SEARCH_CHARS`].
    pub async fn search_customers(&self, org: OrgId, q: &str, page: &Page) -> Result<PageOf<Customer>, StoreError> {
        let q = q.trim();
        if q.is_empty() || q.chars().count() > MAX_CUSTOMER_SEARCH_CHARS {
            let reason = format!("the search needs 1 to {MAX_CUSTOMER_SEARCH_CHARS} characters");
            return Err(StoreError::InvalidInput { what: "customer search", reason });
        }
        let text = format!("%{}%", like_escape(&q.to_lowercase()));
        // Text written like a phone number (digits, spaces, + - ( )) is matched on its digits
        // against phones; any other text matches no phone (no phone is empty).
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        let phone_like = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
        let phone = if phone_like && !digits.is_empty() { format!("%{digits}%") } else { String::new() };
        let cond = "LOWER(name) LIKE ? ESCAPE '!' \
             OR id IN (SELECT customer_id FROM customer_phones WHERE org_id = ? AND phone LIKE ? ESCAPE '!') \
             OR id IN (SELECT customer_id FROM customer_emails WHERE org_id = ? AND email_key LIKE ? ESCAPE '!')";
        let args = vec![
            Value::from(text.clone()),
            Value::from(org.to_string()),
            Value::from(phone),
            Value::from(org.to_string()),
            Value::from(text),
        ];
        let mut result = self.list_rows(&CUSTOMERS, org, Some((cond, args)), Keyset::Id, page, from_row).await?;
        let mut conn = self.conn().await?;
        attach_contact_points(&mut conn, self, org, &mut result.items).await?;
        Ok(result)
    }

    /// The org's customers, by id.
    pub async fn list_customers(&self, org: OrgId, page: &Page) -> Result<PageOf<Customer>, StoreError> {
        let mut result = self.list_rows(&CUSTOMERS, org, None, Keyset::Id, page, from_row).await?;
        let mut conn = self.conn().await?;
        attach_contact_points(&mut conn, self, org, &mut result.items).await?;
        Ok(result)
    }
}
