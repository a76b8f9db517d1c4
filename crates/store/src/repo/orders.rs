//! Orders, for the IVR's self-service status lookup. Numbers are unique per org.

use model::{CustomerId, Order, OrderId, OrgId};

use crate::Store;
use crate::error::StoreError;
use crate::page::{Page, PageOf};
use crate::repo::{Keyset, Table};
use crate::sql::{RowReader, Value};

const ORDERS: Table = Table {
    name: "orders",
    what: "order",
    cols: &[
        "id",
        "org_id",
        "number",
        "customer_id",
        "status",
        "total_cents",
        "currency",
        "placed_at_ms",
        "updated_at_ms",
    ],
};

/// Most characters of an order number (the column's width).
pub const MAX_ORDER_NUMBER_CHARS: usize = 64;

fn values(o: &Order) -> Result<Vec<Value>, StoreError> {
    if o.number.is_empty() || o.number.chars().count() > MAX_ORDER_NUMBER_CHARS {
        return Err(StoreError::InvalidInput {
            what: "order number",
            reason: format!("must be 1 to {MAX_ORDER_NUMBER_CHARS} characters"),
        });
    }
    Ok(vec![
        Value::from(o.number.clone()),
        Value::from(o.customer.to_string()),
        Value::from(o.status.as_str()),
        Value::from(o.total_cents),
        Value::from(o.currency.clone()),
        Value::from(o.placed_at.unix_ms()),
        Value::from(o.updated_at.unix_ms()),
    ])
}

fn from_row(r: &RowReader<'_>) -> Result<Order, StoreError> {
    Ok(Order {
        id: r.parse("id")?,
        org: r.parse("org_id")?,
        number: r.text("number")?,
        customer: r.parse("customer_id")?,
        status: r.parse("status")?,
        total_cents: r.int("total_cents")?,
        currency: r.text("currency")?,
        placed_at: r.time("placed_at_ms")?,
        updated_at: r.time("updated_at_ms")?,
    })
}

impl Store {
    /// [`StoreError::Conflict`] when the id or the number is taken in the org.
    pub async fn insert_order(&self, order: &Order) -> Result<(), StoreError> {
        let mut v = vec![Value::from(order.id.to_string()), Value::from(order.org.to_string())];
        v.extend(values(order)?);
        self.insert_row(&ORDERS, v).await
    }

    pub async fn update_order(&self, order: &Order) -> Result<(), StoreError> {
        self.update_row(&ORDERS, order.org, order.id.to_string(), values(order)?).await
    }

    pub async fn get_order(&self, org: OrgId, id: OrderId) -> Result<Option<Order>, StoreError> {
        self.get_row(&ORDERS, org, id.to_string(), from_row).await
    }

    /// The order the caller typed (exact match).
    pub async fn find_order_by_number(&self, org: OrgId, number: &str) -> Result<Option<Order>, StoreError> {
        if number.is_empty() || number.chars().count() > MAX_ORDER_NUMBER_CHARS {
            return Ok(None);
        }
        self.find_one(&ORDERS, org, "number = ?", vec![Value::from(number)], from_row).await
    }

    /// A customer's orders, newest first.
    pub async fn list_orders_by_customer(
        &self,
        org: OrgId,
        customer: CustomerId,
        page: &Page,
    ) -> Result<PageOf<Order>, StoreError> {
        let filter = ("customer_id = ?", vec![Value::from(customer.to_string())]);
        self.list_rows(&ORDERS, org, Some(filter), Keyset::TimeDesc("placed_at_ms"), page, from_row).await
    }

    /// The org's orders, by id.
    pub async fn list_orders(&self, org: OrgId, page: &Page) -> Result<PageOf<Order>, StoreError> {
        self.list_rows(&ORDERS, org, None, Keyset::Id, page, from_row).await
    }
}
