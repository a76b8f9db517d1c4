//! Business-hours calendars and route tables (migration 0011): round trip with exceptions,
//! replacement, deletion, org scoping and refusal of bad shapes.

use model::{OrgId, Timestamp};

use super::fixtures::T0;
use super::harness::TestDb;
use crate::{BusinessCalendar, CalendarException, RouteTable, StoreError};

fn calendar(org: u128, name: &str, exceptions: &[(&str, &str)]) -> BusinessCalendar {
    let day = "09:00-12:00,13:00-18:00".to_owned();
    BusinessCalendar {
        org: OrgId::from_u128(org),
        name: name.to_owned(),
        time_zone: "Asia/Shanghai".into(),
        weekly: [day.clone(), day.clone(), day.clone(), day.clone(), day, "10:00-16:00".into(), String::new()],
        exceptions: exceptions
            .iter()
            .map(|(d, h)| CalendarException { date: (*d).into(), hours: (*h).into(), note: "春节".into() })
            .collect(),
        updated_at: Timestamp::from_unix_ms(T0),
    }
}

pub async fn calendars_round_trip_are_replaced_whole_deleted_and_scoped_to_the_org(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    let support = calendar(1, "support", &[("2027-02-06", "closed"), ("2027-02-07", "10:00-14:00")]);
    let sales = calendar(1, "sales", &[]);
    store.put_calendar(&support).await.expect("support");
    store.put_calendar(&sales).await.expect("sales");
    store.put_calendar(&calendar(2, "support", &[("2027-01-01", "closed")])).await.expect("other org");
    assert_eq!(store.get_calendar(org, "support").await.expect("get"), Some(support.clone()));
    assert_eq!(store.list_calendars(org).await.expect("list"), vec![sales.clone(), support.clone()]);

    // Saving again replaces the weekly hours and every exception.
    let mut edited = calendar(1, "support", &[("2027-05-01", "closed")]);
    edited.time_zone = "Europe/Berlin".into();
    edited.weekly[6] = "10:00-12:00".into();
    edited.updated_at = Timestamp::from_unix_ms(T0 + 1);
    store.put_calendar(&edited).await.expect("edit");
    assert_eq!(store.get_calendar(org, "support").await.expect("get"), Some(edited));

    assert!(store.delete_calendar(org, "support").await.expect("delete"));
    assert!(!store.delete_calendar(org, "support").await.expect("delete again"));
    assert_eq!(store.get_calendar(org, "support").await.expect("gone"), None);
    assert_eq!(store.list_calendars(org).await.expect("list"), vec![sales]);
    assert_eq!(store.list_calendars(OrgId::from_u128(2)).await.expect("other").len(), 1);
}

pub async fn bad_calendars_are_refused_and_change_nothing(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    for bad in [calendar(1, "Bad Name", &[]), calendar(1, "x", &[("2027-2-6", "closed")])] {
        assert!(matches!(store.put_calendar(&bad).await, Err(StoreError::InvalidInput { .. })), "{bad:?}");
    }
    let mut long = calendar(1, "long", &[]);
    long.weekly[0] = "x".repeat(crate::MAX_CALENDAR_TEXT_CHARS + 1);
    assert!(matches!(store.put_calendar(&long).await, Err(StoreError::InvalidInput { .. })));
    assert_eq!(store.list_calendars(org).await.expect("list"), vec![]);
}

pub async fn route_table_round_trips_per_org_and_is_replaced(db: TestDb) {
    let store = db.migrated().await;
    let org = OrgId::from_u128(1);
    assert_eq!(store.get_route_table(org).await.expect("none yet"), None);
    let first = RouteTable {
        org,
        entry_points: r#"[{"name":"hotline","default_queue":"general","rules":[]}]"#.into(),
        updated_at: Timestamp::from_unix_ms(T0),
    };
    store.put_route_table(&first).await.expect("first");
    let second = RouteTable {
        entry_points: r#"[{"name":"hotline","default_queue":"tech_support","rules":[]}]"#.into(),
        updated_at: Timestamp::from_unix_ms(T0 + 5),
        ..first.clone()
    };
    store.put_route_table(&second).await.expect("second");
    assert_eq!(store.get_route_table(org).await.expect("get"), Some(second));
    assert_eq!(store.get_route_table(OrgId::from_u128(2)).await.expect("other org"), None);
    let huge = RouteTable { entry_points: "x".repeat(crate::MAX_ROUTE_TABLE_BYTES + 1), ..first };
    assert!(matches!(store.put_route_table(&huge).await, Err(StoreError::InvalidInput { .. })));
}
