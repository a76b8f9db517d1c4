//! The store suite: every test here runs on SQLite, PostgreSQL and MySQL/MariaDB, each on a
//! database of its own (see `harness`), and is named `tests::<backend>::<behaviour>` so the
//! output shows all three. A test is an `async fn(TestDb)` in one of the topic modules, listed
//! once in `store_suite!` below.

mod directory;
mod fixtures;
mod harness;
mod schema;

use crate::Backend;

/// Generates `mod sqlite`, `mod postgres` and `mod mysql`, each with one `#[tokio::test]` per
/// listed test that runs it on that backend.
macro_rules! store_suite {
    ($($topic:ident :: $name:ident),* $(,)?) => {
        store_suite!(@backend sqlite, Sqlite, $($topic::$name),*);
        store_suite!(@backend postgres, Postgres, $($topic::$name),*);
        store_suite!(@backend mysql, MySql, $($topic::$name),*);
    };
    (@backend $module:ident, $backend:ident, $($topic:ident :: $name:ident),*) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::harness::run(super::Backend::$backend, super::$topic::$name).await;
                }
            )*
        }
    };
}

store_suite! {
    schema::migrate_creates_the_schema_and_reports_the_version,
    schema::migrating_twice_is_a_no_op,
    schema::newer_schema_is_refused_before_any_write,
    schema::newer_schema_is_refused_on_a_migrated_database_without_changes,
    schema::unused_port_is_unreachable_with_a_readable_reason,
    schema::bad_scheme_is_unreachable_and_hides_the_password,
    schema::ping_answers_and_close_ends_the_pool,
    directory::org_round_trips_and_updates,
    directory::user_round_trips_and_is_found_by_username,
    directory::duplicate_username_in_an_org_conflicts,
    directory::agent_round_trips_and_is_found_by_extension_and_user,
    directory::duplicate_extension_in_an_org_conflicts,
    directory::skill_and_queue_round_trip_and_are_found_by_name,
    directory::update_of_a_missing_row_is_not_found,
    directory::another_orgs_rows_are_never_returned,
    directory::users_page_in_id_order_within_the_limit,
    directory::corrupt_stored_extension_is_reported_not_panicked,
}
