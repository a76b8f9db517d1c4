//! Hand-computed fixtures for every figure and every variant.

use model::{AgentState, DurationMs, Timestamp};

use super::*;

const EPS: f64 = 1e-9;

fn assert_close(actual: Option<f64>, expected: f64) {
    let a = actual.unwrap_or(f64::NAN);
    assert!((a - expected).abs() < EPS, "expected {expected}, got {actual:?}");
}

/// Ten contacts offered to a queue with T = 20 s and short abandon 5 s:
/// answered after 5, 10, 15, 20, 30, 60 s (4 within T, waits sum 140 s);
/// abandoned after 3 s (short, within T), 12 s (within T), 45 s (after T) (waits sum 60 s);
/// one still waiting.
fn ten_offered() -> KpiCounts {
    KpiCounts {
        offered: 10,
        answered: 6,
        answered_within_threshold: 4,
        abandoned: 3,
        abandoned_within_threshold: 2,
        abandoned_short: 1,
        abandoned_short_within_threshold: 1,
        answered_wait_ms: 140_000,
        abandoned_wait_ms: 60_000,
        transferred: 1,
        ..KpiCounts::default()
    }
}

fn settings(service_level: ServiceLevelVariant, short_abandons: ShortAbandons) -> FigureSettings {
    FigureSettings { service_level, short_abandons }
}

#[test]
fn default_service_level_is_answered_within_over_answered_plus_late_abandoned() {
    // 4 / (6 + 1): the 45 s abandon is late; the short one (3 s) and the 12 s one are within T.
    assert_close(service_level(&ten_offered(), &FigureSettings::default()), 4.0 / 7.0);
}

#[test]
fn default_service_level_ignores_short_abandons_longer_than_threshold_only_when_excluded() {
    // T = 2 s, short = 5 s: one answered within T, one abandoned at 4 s (short, after T).
    let c = KpiCounts {
        offered: 2,
        answered: 1,
        answered_within_threshold: 1,
        abandoned: 1,
        abandoned_short: 1,
        ..KpiCounts::default()
    };
    let default = FigureSettings::default();
    assert_close(service_level(&c, &default), 1.0);
    let included = settings(ServiceLevelVariant::default(), ShortAbandons::Included);
    assert_close(service_level(&c, &included), 0.5);
}

#[test]
fn answered_over_offered_variant_leaves_short_abandons_out_of_offered_by_default() {
    let v = ServiceLevelVariant::AnsweredOverOffered;
    assert_close(service_level(&ten_offered(), &settings(v, ShortAbandons::Excluded)), 4.0 / 9.0);
    assert_close(service_level(&ten_offered(), &settings(v, ShortAbandons::Included)), 4.0 / 10.0);
}

#[test]
fn answered_or_abandoned_within_variant_counts_non_short_abandons_within_threshold() {
    let v = ServiceLevelVariant::AnsweredOrAbandonedWithinOverOffered;
    // (4 + the 12 s abandon) / (10 − 1 short)
    assert_close(service_level(&ten_offered(), &settings(v, ShortAbandons::Excluded)), 5.0 / 9.0);
    // (4 + 2) / 10
    assert_close(service_level(&ten_offered(), &settings(v, ShortAbandons::Included)), 0.6);
}

#[test]
fn answer_rate_is_answered_over_offered() {
    assert_close(answer_rate(&ten_offered()), 0.6);
}

#[test]
fn abandon_rate_excludes_short_abandons_from_both_sides_by_default() {
    assert_close(abandon_rate(&ten_offered(), &FigureSettings::default()), 2.0 / 9.0);
    let included = settings(ServiceLevelVariant::default(), ShortAbandons::Included);
    assert_close(abandon_rate(&ten_offered(), &included), 0.3);
}

#[test]
fn asa_is_answered_wait_over_answered_in_seconds() {
    assert_close(average_speed_of_answer_s(&ten_offered()), 140.0 / 6.0);
}

#[test]
fn average_abandoned_wait_counts_every_abandon() {
    assert_close(average_abandoned_wait_s(&ten_offered()), 20.0);
}

#[test]
fn transfer_rate_is_transferred_over_answered() {
    assert_close(transfer_rate(&ten_offered()), 1.0 / 6.0);
}

#[test]
fn aht_is_talk_hold_and_wrap_up_over_handled() {
    let c = KpiCounts { handled: 4, talk_ms: 600_000, hold_ms: 60_000, acw_ms: 140_000, ..KpiCounts::default() };
    assert_close(average_handle_time_s(&c), 200.0);
}

fn agent_day() -> KpiCounts {
    let mut c = KpiCounts::default();
    c.state_ms[state_index(AgentState::Busy)] = 3_000_000;
    c.state_ms[state_index(AgentState::WrapUp)] = 600_000;
    c.state_ms[state_index(AgentState::Available)] = 400_000;
    c.state_ms[state_index(AgentState::Away)] = 1_000_000;
    c
}

#[test]
fn occupancy_is_handling_over_handling_plus_available() {
    assert_close(occupancy(&agent_day()), 3600.0 / 4000.0);
}

#[test]
fn utilisation_is_handling_over_logged_in_time() {
    assert_close(utilisation(&agent_day()), 3600.0 / 5000.0);
}

#[test]
fn offline_time_counts_in_neither_occupancy_nor_utilisation() {
    let mut c = agent_day();
    c.state_ms[state_index(AgentState::Offline)] = 9_999_000;
    assert_close(utilisation(&c), 0.72);
    assert_close(occupancy(&c), 0.9);
}

#[test]
fn fcr_is_unrepeated_over_handled_with_known_customer_and_issue() {
    let c = KpiCounts { fcr_handled: 4, fcr_repeated: 1, handled: 9, ..KpiCounts::default() };
    assert_close(first_contact_resolution(&c), 0.75);
}

#[test]
fn ivr_containment_is_contained_over_entered() {
    let c = KpiCounts { ivr_entered: 20, ivr_contained: 5, ..KpiCounts::default() };
    assert_close(ivr_containment(&c), 0.25);
}

#[test]
fn csat_gives_top_two_box_and_mean() {
    // Scores 5, 4, 3, 2, 5.
    let c = KpiCounts { csat_responses: 5, csat_top_two: 3, csat_score_sum: 19, ..KpiCounts::default() };
    assert_close(csat_top_two_box(&c), 0.6);
    assert_close(csat_mean(&c), 3.8);
}

#[test]
fn nps_is_promoter_percent_minus_detractor_percent() {
    // 5 promoters, 3 passives, 2 detractors: 50% − 20%.
    let c = KpiCounts { nps_responses: 10, nps_promoters: 5, nps_detractors: 2, ..KpiCounts::default() };
    assert_close(net_promoter_score(&c), 30.0);
}

#[test]
fn nps_can_be_negative() {
    let c = KpiCounts { nps_responses: 4, nps_promoters: 0, nps_detractors: 3, ..KpiCounts::default() };
    assert_close(net_promoter_score(&c), -75.0);
}

#[test]
fn longest_waiting_is_the_oldest_queue_entry() {
    let now = Timestamp::from_unix_ms(100_000);
    let since = [Timestamp::from_unix_ms(70_000), Timestamp::from_unix_ms(40_000)];
    assert_eq!(longest_waiting(now, since), Some(DurationMs::from_secs(60)));
    assert_eq!(longest_waiting(now, []), None);
}

#[test]
fn ewt_is_position_times_recent_aht_over_serving_agents() {
    let recent = KpiCounts { handled: 4, talk_ms: 800_000, ..KpiCounts::default() };
    let inputs = EwtInputs::from_recent(&recent, 4);
    assert_close(inputs.and_then(|i| i.expected_wait_s(3)), 150.0);
}

#[test]
fn ewt_is_unknown_without_serving_agents_or_recent_handling() {
    let recent = KpiCounts { handled: 4, talk_ms: 800_000, ..KpiCounts::default() };
    assert_eq!(EwtInputs::from_recent(&recent, 0).and_then(|i| i.expected_wait_s(1)), None);
    assert_eq!(EwtInputs::from_recent(&KpiCounts::default(), 3), None);
}

#[test]
fn every_figure_of_empty_counts_is_none_never_nan() {
    for v in [
        ServiceLevelVariant::AnsweredOverAnsweredAndLateAbandoned,
        ServiceLevelVariant::AnsweredOverOffered,
        ServiceLevelVariant::AnsweredOrAbandonedWithinOverOffered,
    ] {
        for s in [ShortAbandons::Excluded, ShortAbandons::Included] {
            assert_eq!(Figures::compute(&KpiCounts::default(), &settings(v, s)), Figures::default());
        }
    }
}

#[test]
fn only_short_abandons_leave_rates_undefined_when_excluded() {
    let c = KpiCounts {
        offered: 2,
        abandoned: 2,
        abandoned_within_threshold: 2,
        abandoned_short: 2,
        abandoned_short_within_threshold: 2,
        ..KpiCounts::default()
    };
    assert_eq!(abandon_rate(&c, &FigureSettings::default()), None);
    assert_eq!(service_level(&c, &FigureSettings::default()), None);
    assert_close(answer_rate(&c), 0.0);
}

#[test]
fn merged_intervals_give_the_figures_of_the_whole() {
    let whole = ten_offered();
    let second = KpiCounts { offered: 6, answered: 4, answered_within_threshold: 3, ..KpiCounts::default() };
    let mut merged = KpiCounts { offered: 4, answered: 2, answered_within_threshold: 1, ..whole };
    merged.merge(&second);
    assert_eq!(merged, whole);
    let s = FigureSettings::default();
    assert_eq!(Figures::compute(&merged, &s), Figures::compute(&whole, &s));
}

#[test]
fn retracting_what_was_added_restores_the_counts() {
    let mut c = agent_day();
    let before = c;
    c.apply(&ten_offered(), Sign::Add);
    c.apply(&ten_offered(), Sign::Retract);
    assert_eq!(c, before);
}
