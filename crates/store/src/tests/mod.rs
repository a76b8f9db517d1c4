//! The store suite: every test here runs on SQLite, PostgreSQL and MySQL/MariaDB, each on a
//! database of its own (see `harness`), and is named `tests::<backend>::<behaviour>` so the
//! output shows all three. A test is an `async fn(TestDb)` in one of the topic modules, listed
//! once in `store_suite!` below.

mod aggregates;
mod auth;
mod business_hours;
mod chat;
mod customer_merges;
mod directory;
mod email;
mod fixtures;
mod harness;
mod live;
mod qa;
mod recording_retention;
mod records;
mod schema;
mod sip_bindings;
mod social;
mod speech;
mod text_flags;
mod transcripts;

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
    text_flags::only_new_text_flags_are_stored_and_answered_per_contact_and_org,
    text_flags::bad_text_flags_are_refused_whole,
    text_flags::text_flagged_contacts_are_flagged_qa_candidates,
    customer_merges::merge_moves_contacts_tickets_orders_and_identities_to_the_survivor,
    customer_merges::refused_merges_change_nothing,
    customer_merges::merging_the_survivor_again_repoints_the_old_marker,
    customer_merges::customers_are_searched_by_name_phone_or_email,
    social::social_messages_round_trip_settle_their_delivery_and_link_senders_per_org,
    social::pending_social_replies_are_the_queued_outbound_ones_oldest_first_within_the_limit_per_org,
    business_hours::calendars_round_trip_are_replaced_whole_deleted_and_scoped_to_the_org,
    business_hours::bad_calendars_are_refused_and_change_nothing,
    business_hours::route_table_round_trips_per_org_and_is_replaced,
    speech::contact_speech_round_trips_is_replaced_per_recording_and_scoped_to_the_org,
    speech::speech_flagged_contacts_are_flagged_qa_candidates,
    email::email_messages_round_trip_thread_by_message_id_and_a_redelivery_is_stored_once,
    email::a_message_is_stored_with_its_attachments_whole_and_a_redelivery_writes_nothing,
    chat::chat_conversation_and_transcript_round_trip_and_a_repeated_message_is_stored_once,
    chat::another_orgs_chat_is_never_returned_and_bad_ids_are_refused,
    chat::chat_rows_and_messages_are_written_in_batches_and_a_repeated_message_is_left_alone,
    aggregates::interval_deltas_add_up_take_back_and_stay_in_their_org,
    aggregates::report_batch_commits_whole_or_not_at_all,
    aggregates::report_contacts_are_replaced_and_found_by_id_group_and_activity,
    aggregates::agent_window_holds_the_changes_around_it,
    aggregates::replacing_intervals_touches_only_the_range,
    aggregates::bulk_inserted_contacts_read_back_equal_and_abandoned_ones_are_listed,
    auth::session_round_trips_is_touched_and_ended,
    auth::user_sessions_end_together_and_expired_ones_are_swept,
    auth::api_token_is_found_by_digest_listed_and_revoked_once,
    auth::duplicate_token_digest_conflicts,
    auth::audit_log_lists_newest_first_in_pages,
    auth::another_orgs_sign_in_records_are_never_returned,
    schema::migrate_creates_the_schema_and_reports_the_version,
    schema::migrating_twice_is_a_no_op,
    schema::a_migration_below_the_newest_applied_one_is_still_applied,
    schema::newer_schema_is_refused_before_any_write,
    schema::newer_schema_is_refused_on_a_migrated_database_without_changes,
    schema::unused_port_is_unreachable_with_a_readable_reason,
    schema::bad_scheme_is_unreachable_and_hides_the_password,
    schema::ping_answers_and_close_ends_the_pool,
    schema::migration_cut_short_before_its_version_row_completes_on_rerun,
    schema::failed_migration_names_its_statement_and_rolls_back_where_ddl_is_transactional,
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
    records::customer_round_trips_with_phones_emails_and_attributes,
    records::customer_found_by_phone,
    records::customer_found_by_email_whatever_the_case,
    records::duplicate_phone_in_an_org_conflicts_and_writes_nothing,
    records::customer_update_replaces_phones_and_emails,
    records::corrupt_stored_phone_is_reported_not_panicked,
    records::order_found_by_number_and_listed_by_customer_newest_first,
    records::duplicate_order_number_in_an_org_conflicts,
    records::contact_timestamps_and_fields_round_trip,
    records::contact_quality_can_be_set_after_the_contact_was_stored_without_one,
    records::contacts_by_customer_are_newest_first_and_paged,
    records::contacts_in_a_time_range_are_oldest_first_end_excluded,
    records::contact_events_list_in_time_order,
    records::agent_state_changes_list_by_agent_and_range,
    records::ticket_numbers_are_handed_out_once_each_under_concurrency,
    records::tickets_round_trip_and_list_by_customer_and_status,
    records::recordings_and_survey_responses_round_trip_by_contact,
    live::agent_presence_is_replaced_on_every_change_and_listed_by_agent,
    live::agent_presence_of_another_org_is_never_returned,
    live::unfinished_contacts_are_listed_from_a_time_on_oldest_first_within_the_limit,
    sip_bindings::sip_binding_saved_again_replaces_the_row_with_its_key,
    sip_bindings::sip_bindings_expired_are_not_listed_and_are_purged,
    sip_bindings::sip_bindings_of_another_org_are_never_listed_or_deleted,
    sip_bindings::sip_binding_listing_stops_at_max_rows,
    sip_bindings::sip_bindings_replaced_for_an_extension_leave_other_extensions_alone,
    transcripts::transcription_job_round_trips_through_its_states,
    transcripts::interrupted_transcription_jobs_are_requeued_and_listed_oldest_first,
    transcripts::transcript_is_replaced_whole_and_listed_by_start,
    transcripts::transcript_of_another_recording_or_org_is_refused,
    transcripts::corrupt_stored_job_status_is_reported_not_panicked,
    recording_retention::legal_hold_is_placed_replaced_and_released_with_its_flag,
    recording_retention::retention_lists_only_old_unheld_undeleted_recordings_of_the_org,
    recording_retention::recording_on_hold_or_already_deleted_is_never_marked_deleted,
    qa::scorecards_round_trip_update_and_hide_archived,
    qa::evaluation_moves_through_the_workflow_with_its_dispute,
    qa::evaluations_are_filtered_by_agent_publication_and_org,
    qa::corrupt_stored_evaluation_state_is_reported_not_panicked,
    qa::calibration_sheets_are_replaced_per_evaluator,
    qa::sample_round_trips_with_its_contacts_and_seed,
    qa::qa_candidates_are_ended_contacts_with_an_agent_flagged_by_keyword_rules,
}

/// Not part of the three-backend suite: an in-memory SQLite store (handy for tools and demos)
/// keeps its data across calls because its single connection is never recycled.
#[tokio::test]
async fn sqlite_in_memory_store_keeps_its_data() {
    let store = crate::Store::connect("sqlite::memory:", &crate::ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    store.insert_org(&fixtures::org(1)).await.expect("insert");
    let again = store.get_org(model::OrgId::from_u128(1)).await.expect("get");
    assert_eq!(again, Some(fixtures::org(1)));
}
