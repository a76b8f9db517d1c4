//! QA workflow specifications: scorecards, scoring maths, sampling, calibration, disputes and
//! who sees what.

use std::collections::BTreeMap;

use analytics::qa::{
    Answer, AnswerScale, Answers, CalibrationError, Evaluation, EvaluationState, Period, QuestionDraft, Resolution,
    SampleCandidate, SampleReason, SamplingPlan, Scorecard, ScorecardDraft, ScoringError, SectionDraft, Viewer,
    WorkflowCommand, WorkflowError, WorkflowEvent, WorkflowPolicy, calibrate, can_evaluate, can_view, sample, score,
    visible,
};
use model::{AgentId, ContactId, OrgId, Role, Timestamp, UserId};

// ---------------------------------------------------------------- scorecards

fn q(key: &str, weight: u32, scale: AnswerScale) -> QuestionDraft {
    QuestionDraft { key: key.into(), text: format!("{key}?"), weight, scale, auto_fail: false, allow_na: false }
}

fn draft() -> ScorecardDraft {
    ScorecardDraft {
        name: "Voice QA".into(),
        sections: vec![
            SectionDraft {
                title: "Opening".into(),
                questions: vec![
                    q("greeting", 10, AnswerScale::YesNo),
                    QuestionDraft { auto_fail: true, ..q("verified_identity", 0, AnswerScale::YesNo) },
                ],
            },
            SectionDraft {
                title: "Resolution".into(),
                questions: vec![
                    q("empathy", 30, AnswerScale::Points { max: 5 }),
                    QuestionDraft { allow_na: true, ..q("upsell", 60, AnswerScale::Points { max: 4 }) },
                ],
            },
        ],
    }
}

fn card() -> Scorecard {
    Scorecard::new(draft()).expect("valid card")
}

fn answers(list: &[(&str, Answer)]) -> Answers {
    list.iter().map(|(k, a)| ((*k).to_owned(), *a)).collect()
}

fn good(upsell: Answer) -> Answers {
    answers(&[
        ("greeting", Answer::Yes),
        ("verified_identity", Answer::Yes),
        ("empathy", Answer::Points(3)),
        ("upsell", upsell),
    ])
}

#[test]
fn duplicate_question_key_is_refused_with_its_path() {
    let mut d = draft();
    d.sections[1].questions[0].key = "greeting".into();
    let e = Scorecard::new(d).expect_err("duplicate");
    assert_eq!(e.field, "sections[1].questions[0].key");
    assert!(e.to_string().contains("used by another question"), "{e}");
}

type DraftChange = Box<dyn Fn(&mut ScorecardDraft)>;

#[test]
fn invalid_cards_name_the_field_at_fault() {
    let cases: Vec<(DraftChange, &str)> = vec![
        (Box::new(|d| d.sections[0].questions[0].weight = 0), "sections[0].questions[0].weight"),
        (Box::new(|d| d.sections[0].questions[0].weight = 101), "sections[0].questions[0].weight"),
        (Box::new(|d| d.sections[1].questions[0].auto_fail = true), "sections[1].questions[0].auto_fail"),
        (
            Box::new(|d| d.sections[1].questions[0].scale = AnswerScale::Points { max: 11 }),
            "sections[1].questions[0].scale",
        ),
        (Box::new(|d| d.sections[1].questions.clear()), "sections[1].questions"),
        (Box::new(|d| d.sections[0].questions[0].key = "Greeting!".into()), "sections[0].questions[0].key"),
        (Box::new(|d| d.name = "  ".into()), "name"),
        (Box::new(|d| d.sections.clear()), "sections"),
    ];
    for (change, field) in cases {
        let mut d = draft();
        change(&mut d);
        assert_eq!(Scorecard::new(d).map_err(|e| e.field), Err(field.to_owned()));
    }
}

#[test]
fn card_of_only_weightless_gates_is_refused() {
    let d = ScorecardDraft {
        name: "gates".into(),
        sections: vec![SectionDraft {
            title: "Compliance".into(),
            questions: vec![QuestionDraft { auto_fail: true, ..q("recorded_notice", 0, AnswerScale::YesNo) }],
        }],
    };
    assert!(Scorecard::new(d).expect_err("nothing to score").problem.contains("nothing can be scored"));
}

// ---------------------------------------------------------------- scoring

#[test]
fn score_is_the_weighted_percentage_of_earned_marks() {
    // greeting 10×1 + empathy 30×3/5 + upsell 60×2/4 = 10 + 18 + 30 = 58 of 100.
    let r = score(&card(), &good(Answer::Points(2))).expect("scored");
    assert_eq!(r.percent_hundredths, 5_800);
    assert_eq!(r.sections[0].percent_hundredths, Some(10_000));
    assert_eq!(r.sections[1].percent_hundredths, Some(5_333));
}

#[test]
fn not_applicable_questions_leave_the_denominator() {
    // (10 + 18) / (10 + 30) = 70 %.
    let r = score(&card(), &good(Answer::NotApplicable)).expect("scored");
    assert_eq!(r.percent_hundredths, 7_000);
    assert_eq!(r.questions[3].earned, None);
}

#[test]
fn failed_auto_fail_item_takes_the_score_to_zero_and_keeps_the_weighted_figure() {
    let mut a = good(Answer::Points(4));
    a.insert("verified_identity".into(), Answer::No);
    let r = score(&card(), &a).expect("scored");
    assert_eq!(r.percent_hundredths, 0);
    assert_eq!(r.weighted_percent_hundredths, 8_800);
    assert_eq!(r.auto_failed, vec!["verified_identity".to_owned()]);
}

#[test]
fn thirds_round_to_the_nearest_hundredth() {
    let d = ScorecardDraft {
        name: "thirds".into(),
        sections: vec![SectionDraft {
            title: "s".into(),
            questions: vec![q("a", 1, AnswerScale::Points { max: 3 }), q("b", 1, AnswerScale::Points { max: 3 })],
        }],
    };
    let card = Scorecard::new(d).expect("valid");
    let r = score(&card, &answers(&[("a", Answer::Points(1)), ("b", Answer::Points(1))])).expect("scored");
    assert_eq!(r.percent_hundredths, 3_333);
    let r = score(&card, &answers(&[("a", Answer::Points(2)), ("b", Answer::Points(2))])).expect("scored");
    assert_eq!(r.percent_hundredths, 6_667);
}

#[test]
fn bad_answer_sheets_are_refused_with_the_question() {
    let card = card();
    let with = |k: &str, a: Answer| {
        let mut s = good(Answer::Points(1));
        s.insert(k.into(), a);
        score(&card, &s)
    };
    assert_eq!(
        with("empathy", Answer::Yes),
        Err(ScoringError::WrongAnswerType { key: "empathy".into(), expected: "points" })
    );
    assert_eq!(
        with("empathy", Answer::Points(6)),
        Err(ScoringError::PointsOutOfRange { key: "empathy".into(), points: 6, max: 5 })
    );
    assert_eq!(with("greeting", Answer::NotApplicable), Err(ScoringError::NotApplicableNotAllowed("greeting".into())));
    assert_eq!(with("tone", Answer::Yes), Err(ScoringError::UnknownQuestion("tone".into())));
    let mut missing = good(Answer::Points(1));
    missing.remove("greeting");
    assert_eq!(score(&card, &missing), Err(ScoringError::Unanswered("greeting".into())));
}

#[test]
fn sheet_with_every_weighted_question_na_cannot_be_scored() {
    let d = ScorecardDraft {
        name: "na".into(),
        sections: vec![SectionDraft {
            title: "s".into(),
            questions: vec![QuestionDraft { allow_na: true, ..q("a", 5, AnswerScale::YesNo) }],
        }],
    };
    let card = Scorecard::new(d).expect("valid");
    assert_eq!(score(&card, &answers(&[("a", Answer::NotApplicable)])), Err(ScoringError::NothingToScore));
}

// ---------------------------------------------------------------- sampling

const DAY_MS: i64 = 86_400_000;

fn week() -> Period {
    Period::new(Timestamp::from_unix_ms(0), Timestamp::from_unix_ms(7 * DAY_MS)).expect("valid period")
}

fn candidates(agent: u128, count: u128, first_contact: u128) -> Vec<SampleCandidate> {
    (0..count)
        .map(|i| SampleCandidate {
            contact: ContactId::from_u128(first_contact + i),
            agent: AgentId::from_u128(agent),
            ended_at: Timestamp::from_unix_ms((i as i64 % 7) * DAY_MS + 1),
            flagged: false,
        })
        .collect()
}

const FIVE: SamplingPlan = SamplingPlan { per_agent: 5, include_flagged: true };

#[test]
fn same_seed_gives_the_same_sample_whatever_the_input_order() {
    let mut all = [candidates(1, 40, 1000), candidates(2, 30, 2000)].concat();
    let first = sample(FIVE, week(), &all, 42).expect("sampled");
    all.reverse();
    all.rotate_left(17);
    assert_eq!(sample(FIVE, week(), &all, 42).expect("sampled"), first);
    let differs = (0..20u64).any(|seed| sample(FIVE, week(), &all, seed).expect("sampled") != first);
    assert!(differs, "other seeds draw other contacts");
}

#[test]
fn every_agent_gets_n_random_contacts_and_a_quiet_agent_gets_all_of_theirs() {
    let all = [candidates(1, 40, 1000), candidates(2, 3, 2000), candidates(3, 5, 3000)].concat();
    let s = sample(FIVE, week(), &all, 7).expect("sampled");
    let count = |a: u128| s.iter().filter(|x| x.agent == AgentId::from_u128(a)).count();
    assert_eq!((count(1), count(2), count(3)), (5, 3, 5));
}

#[test]
fn flagged_contacts_are_all_added_on_top_of_the_random_quota() {
    let mut all = candidates(1, 40, 1000);
    for c in all.iter_mut().take(8) {
        c.flagged = true;
    }
    let s = sample(FIVE, week(), &all, 9).expect("sampled");
    let flagged: Vec<_> = s.iter().filter(|x| x.reason == SampleReason::Flagged).map(|x| x.contact).collect();
    let random: Vec<_> = s.iter().filter(|x| x.reason == SampleReason::Random).map(|x| x.contact).collect();
    assert_eq!(flagged, (1000..1008).map(ContactId::from_u128).collect::<Vec<_>>());
    assert_eq!(random.len(), 5);
    assert!(random.iter().all(|c| !flagged.contains(c)), "a flagged contact is not drawn twice");
}

#[test]
fn contacts_outside_the_period_are_never_sampled() {
    let mut all = candidates(1, 10, 1000);
    for c in all.iter_mut().skip(2) {
        c.ended_at = Timestamp::from_unix_ms(8 * DAY_MS);
    }
    let s = sample(FIVE, week(), &all, 1).expect("sampled");
    assert_eq!(s.len(), 2);
}

#[test]
fn each_contact_of_an_agent_is_equally_likely_to_be_drawn() {
    // 20 contacts, 5 drawn: each should be drawn in 25 % of runs.
    let all = candidates(1, 20, 1000);
    let runs = 4_000u64;
    let mut hits: BTreeMap<ContactId, u32> = BTreeMap::new();
    for seed in 0..runs {
        for s in sample(FIVE, week(), &all, seed).expect("sampled") {
            *hits.entry(s.contact).or_default() += 1;
        }
    }
    assert_eq!(hits.len(), 20);
    // Expected 1000, σ ≈ 27: allow ±150 (> 5σ).
    for (contact, n) in hits {
        assert!((850..=1150).contains(&n), "{contact:?} drawn {n} times in {runs}");
    }
}

#[test]
fn one_agents_volume_does_not_change_another_agents_sample() {
    let alice = candidates(1, 30, 1000);
    let before = sample(FIVE, week(), &[alice.clone(), candidates(2, 10, 2000)].concat(), 5).expect("sampled");
    let after = sample(FIVE, week(), &[alice, candidates(2, 90, 2000)].concat(), 5).expect("sampled");
    let of_alice = |s: &[analytics::qa::SampledContact]| {
        s.iter().filter(|x| x.agent == AgentId::from_u128(1)).copied().collect::<Vec<_>>()
    };
    assert_eq!(of_alice(&before), of_alice(&after));
}

#[test]
fn week_starts_on_monday_midnight_in_the_orgs_time_zone() {
    // Friday 2026-11-27 05:00 UTC → week from Monday 2026-11-23 00:00 UTC.
    let w = Period::week_containing(Timestamp::from_unix_ms(1_795_755_600_000), 0);
    assert_eq!(w.start(), Timestamp::from_unix_ms(1_795_392_000_000));
    assert_eq!(w.end().unix_ms() - w.start().unix_ms(), 7 * DAY_MS);
    // Sunday 17:00 UTC is already Monday 01:00 in Beijing (UTC+8).
    let w = Period::week_containing(Timestamp::from_unix_ms(1_795_366_800_000), 480);
    assert_eq!(w.start(), Timestamp::from_unix_ms(1_795_363_200_000));
}

// ---------------------------------------------------------------- calibration

fn user(n: u128) -> UserId {
    UserId::from_u128(n)
}

#[test]
fn calibration_reports_mean_variance_and_max_deviation() {
    // Scores 58 %, 70 % (upsell N/A) and 88 %: mean 72, variance ((14² + 2² + 16²)/3) = 152.
    let sheets = vec![
        (user(1), good(Answer::Points(2))),
        (user(2), good(Answer::NotApplicable)),
        (user(3), good(Answer::Points(4))),
    ];
    let r = calibrate(&card(), &sheets).expect("calibrated");
    assert!((r.overall.mean - 72.0).abs() < 1e-9);
    assert!((r.overall.variance - 152.0).abs() < 1e-9);
    assert!((r.overall.max_deviation - 16.0).abs() < 1e-9);
    assert!((r.evaluator_deviation[0].1 + 14.0).abs() < 1e-9);

    let upsell = r.questions.iter().find(|q| q.key == "upsell").expect("upsell");
    assert_eq!(upsell.not_applicable, 1);
    let spread = upsell.spread.as_ref().expect("two answered");
    assert_eq!(spread.count, 2);
    assert!((spread.mean - 75.0).abs() < 1e-9 && (spread.max_deviation - 25.0).abs() < 1e-9);
    let greeting = r.questions.iter().find(|q| q.key == "greeting").expect("greeting");
    assert_eq!(greeting.spread.as_ref().map(|s| s.variance), Some(0.0));
}

#[test]
fn calibration_refuses_a_lone_evaluator_a_duplicate_and_names_a_bad_sheet() {
    let card = card();
    assert_eq!(calibrate(&card, &[(user(1), good(Answer::Yes))]).err(), Some(CalibrationError::EvaluatorCount(1)));
    let dup = vec![(user(1), good(Answer::Points(1))), (user(1), good(Answer::Points(2)))];
    assert_eq!(calibrate(&card, &dup).err(), Some(CalibrationError::DuplicateEvaluator(user(1))));
    let bad = vec![(user(1), good(Answer::Points(1))), (user(2), good(Answer::Yes))];
    assert!(
        matches!(calibrate(&card, &bad), Err(CalibrationError::InvalidSheet { evaluator, .. }) if evaluator == user(2))
    );
}

// ---------------------------------------------------------------- workflow and access

const ORG: OrgId = OrgId::from_u128(1);
const ALICE: AgentId = AgentId::from_u128(10);

fn agent_viewer(agent: u128, user_id: u128) -> Viewer {
    Viewer { org: ORG, user: user(user_id), role: Role::Agent, agent: Some(AgentId::from_u128(agent)) }
}

fn supervisor(user_id: u128) -> Viewer {
    Viewer { org: ORG, user: user(user_id), role: Role::Supervisor, agent: None }
}

const EVALUATOR: u128 = 500;

fn published() -> Evaluation {
    let mut e = Evaluation::draft(ORG, ContactId::from_u128(7), ALICE, user(EVALUATOR), 5_800);
    e.handle(&supervisor(EVALUATOR), WorkflowCommand::Publish, at(0), &WorkflowPolicy::default()).expect("published");
    e
}

fn at(day: i64) -> Timestamp {
    Timestamp::from_unix_ms(day * DAY_MS)
}

fn dispute(reason: &str) -> WorkflowCommand {
    WorkflowCommand::Dispute { reason: reason.into() }
}

#[test]
fn agent_acknowledges_and_then_can_no_longer_dispute() {
    let p = WorkflowPolicy::default();
    let mut e = published();
    e.handle(&agent_viewer(10, 100), WorkflowCommand::Acknowledge, at(1), &p).expect("acknowledged");
    assert_eq!(e.state, EvaluationState::Acknowledged { at: at(1), automatically: false });
    assert!(matches!(e.decide(&agent_viewer(10, 100), dispute("late"), at(2), &p), Err(WorkflowError::WrongState(_))));
}

#[test]
fn dispute_upheld_by_another_supervisor_closes_the_evaluation() {
    let p = WorkflowPolicy::default();
    let mut e = published();
    e.handle(&agent_viewer(10, 100), dispute("the customer hung up first"), at(2), &p).expect("disputed");
    let uphold = || WorkflowCommand::Resolve { resolution: Resolution::Uphold, note: "listened again".into() };
    assert_eq!(
        e.decide(&supervisor(EVALUATOR), uphold(), at(3), &p),
        Err(WorkflowError::NotAllowed("a supervisor other than the evaluator"))
    );
    e.handle(&supervisor(501), uphold(), at(3), &p).expect("upheld");
    assert_eq!(e.state, EvaluationState::Upheld { at: at(3) });
    assert_eq!(e.percent_hundredths, 5_800);
}

#[test]
fn rescored_dispute_goes_back_to_the_agent_who_cannot_dispute_again() {
    let p = WorkflowPolicy::default();
    let mut e = published();
    e.handle(&agent_viewer(10, 100), dispute("wrong card"), at(1), &p).expect("disputed");
    let rescore =
        WorkflowCommand::Resolve { resolution: Resolution::Rescore { percent_hundredths: 7_500 }, note: "fair".into() };
    e.handle(&supervisor(501), rescore, at(2), &p).expect("rescored");
    assert_eq!((e.state, e.percent_hundredths), (EvaluationState::Published { at: at(2) }, 7_500));
    assert_eq!(e.decide(&agent_viewer(10, 100), dispute("again"), at(3), &p), Err(WorkflowError::NoDisputesLeft(1)));
    e.handle(&agent_viewer(10, 100), WorkflowCommand::Acknowledge, at(3), &p).expect("acknowledged");
}

#[test]
fn dispute_after_the_window_is_refused() {
    let p = WorkflowPolicy::default();
    let e = published();
    assert!(matches!(
        e.decide(&agent_viewer(10, 100), dispute("late"), at(7), &p),
        Err(WorkflowError::DisputeWindowClosed { .. })
    ));
    assert!(e.decide(&agent_viewer(10, 100), dispute("in time"), Timestamp::from_unix_ms(7 * DAY_MS - 1), &p).is_ok());
}

#[test]
fn only_the_evaluated_agent_of_the_same_org_answers() {
    let p = WorkflowPolicy::default();
    let e = published();
    assert_eq!(
        e.decide(&agent_viewer(11, 101), WorkflowCommand::Acknowledge, at(1), &p),
        Err(WorkflowError::NotAllowed("the evaluated agent"))
    );
    assert_eq!(
        e.decide(&supervisor(501), dispute("for them"), at(1), &p),
        Err(WorkflowError::NotAllowed("the evaluated agent"))
    );
    let foreign = Viewer { org: OrgId::from_u128(2), ..agent_viewer(10, 100) };
    assert_eq!(e.decide(&foreign, WorkflowCommand::Acknowledge, at(1), &p), Err(WorkflowError::WrongOrg));
    assert!(matches!(e.decide(&agent_viewer(10, 100), dispute("  "), at(1), &p), Err(WorkflowError::BadNote { .. })));
}

#[test]
fn ignored_evaluation_is_acknowledged_automatically_at_its_deadline() {
    let p = WorkflowPolicy::default();
    let mut e = published();
    assert_eq!(e.acknowledge_deadline(&p), Some(at(14)));
    assert_eq!(e.handle_timeout(Timestamp::from_unix_ms(14 * DAY_MS - 1), &p), None);
    assert_eq!(e.handle_timeout(at(14), &p), Some(WorkflowEvent::AutoAcknowledged { at: at(14) }));
    assert_eq!(e.state, EvaluationState::Acknowledged { at: at(14), automatically: true });
    assert_eq!(e.acknowledge_deadline(&p), None);
}

#[test]
fn replaying_the_events_rebuilds_the_same_evaluation() {
    let p = WorkflowPolicy::default();
    let mut live = Evaluation::draft(ORG, ContactId::from_u128(7), ALICE, user(EVALUATOR), 5_800);
    let mut events = vec![live.handle(&supervisor(EVALUATOR), WorkflowCommand::Publish, at(0), &p).expect("ok")];
    events.push(live.handle(&agent_viewer(10, 100), dispute("no"), at(1), &p).expect("ok"));
    let rescore =
        WorkflowCommand::Resolve { resolution: Resolution::Rescore { percent_hundredths: 9_000 }, note: "ok".into() };
    events.push(live.handle(&supervisor(501), rescore, at(2), &p).expect("ok"));
    let mut replayed = Evaluation::draft(ORG, ContactId::from_u128(7), ALICE, user(EVALUATOR), 5_800);
    for ev in &events {
        replayed.apply(ev);
    }
    assert_eq!(replayed, live);
}

#[test]
fn agents_see_only_their_own_published_evaluations() {
    let mine = published();
    let my_draft = Evaluation::draft(ORG, ContactId::from_u128(8), ALICE, user(EVALUATOR), 9_000);
    let mut theirs = published();
    theirs.agent = AgentId::from_u128(11);
    let mut foreign = published();
    foreign.org = OrgId::from_u128(2);
    let all = vec![mine.clone(), my_draft.clone(), theirs.clone(), foreign.clone()];

    let alice = agent_viewer(10, 100);
    assert_eq!(visible(&alice, &all).cloned().collect::<Vec<_>>(), vec![mine]);
    assert!(!can_view(&alice, &my_draft) && !can_view(&alice, &theirs));
    let sup = supervisor(501);
    assert_eq!(visible(&sup, &all).count(), 3, "a supervisor sees the whole org, drafts included, no other org");
    assert!(!can_view(&sup, &foreign));
}

#[test]
fn nobody_scores_their_own_contacts_and_agents_score_nobody() {
    let team_lead = Viewer { role: Role::Supervisor, ..agent_viewer(10, 100) };
    assert!(!can_evaluate(&team_lead, ORG, ALICE));
    assert!(can_evaluate(&team_lead, ORG, AgentId::from_u128(11)));
    assert!(!can_evaluate(&agent_viewer(11, 101), ORG, ALICE));
    assert!(!can_evaluate(&supervisor(501), OrgId::from_u128(2), ALICE));
}
