//! The domain entities. Fields are public because every field's type already carries its
//! invariants (an `E164` is a valid number, a `Proficiency` is 1–10); cross-field rules are
//! checked by the constructors or `validate` methods where they exist.

use std::collections::BTreeMap;
use std::fmt;

use crate::enums::*;
use crate::ids::*;
use crate::values::*;

/// A tenant: one company using Hotline.
#[derive(Debug, Clone, PartialEq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    /// Put in front of phone numbers written without a country code.
    pub default_country: CountryCode,
    /// IANA time zone for business hours and daily reports, such as `Asia/Shanghai`.
    pub time_zone: String,
    pub created_at: Timestamp,
}

/// Someone who signs in to the web UI.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub org: OrgId,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    /// PHC string of an argon2id hash; never the password.
    pub password_hash: String,
    pub email: Option<Email>,
    pub language: Language,
    pub active: bool,
    pub created_at: Timestamp,
}

/// A SIP password. Kept as the secret itself because digest authentication (MD5 and SHA-256)
/// needs it for every realm and algorithm; `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SipSecret(String);

impl SipSecret {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn new(secret: &str) -> Result<Self, ValueError> {
        let n = secret.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(ValueError::new(
                "SIP password",
                "(hidden)",
                format!("must be {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS),
            ));
        }
        if secret.chars().any(|c| c.is_control()) {
            return Err(ValueError::new("SIP password", "(hidden)", "has a control character"));
        }
        Ok(Self(secret.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SipSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SipSecret(***)")
    }
}

/// A skill an agent has, and how well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSkill {
    pub skill: SkillName,
    pub proficiency: Proficiency,
}

/// How many contacts of each channel an agent may handle at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelCapacity {
    pub voice: u8,
    pub chat: u8,
    pub email: u8,
    /// WeChat, Weibo and webhook conversations together.
    pub social: u8,
    /// Whether a voice call blocks new chats, emails and social conversations.
    pub voice_blocks_others: bool,
}

impl ChannelCapacity {
    /// Most contacts of one channel an agent may ever be configured for.
    pub const MAX_PER_CHANNEL: u8 = 20;

    pub fn for_channel(&self, channel: Channel) -> u8 {
        match channel {
            Channel::Voice => self.voice,
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::WeChat | Channel::Weibo | Channel::Webhook => self.social,
        }
    }

    pub fn validate(&self) -> Result<(), ValueError> {
        for (name, n) in [("voice", self.voice), ("chat", self.chat), ("email", self.email), ("social", self.social)] {
            if n > Self::MAX_PER_CHANNEL {
                return Err(ValueError::new(
                    "channel capacity",
                    &format!("{name}={n}"),
                    format!("must be at most {}", Self::MAX_PER_CHANNEL),
                ));
            }
        }
        Ok(())
    }
}

impl Default for ChannelCapacity {
    /// One call, or up to three chats, two emails and three social conversations.
    fn default() -> Self {
        Self { voice: 1, chat: 3, email: 2, social: 3, voice_blocks_others: true }
    }
}

/// An agent's membership of a queue. Lower penalty is offered first (as in Asterisk's app_queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMembership {
    pub queue: QueueId,
    pub penalty: u8,
}

/// A person who handles contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: AgentId,
    pub org: OrgId,
    /// The web login of this agent.
    pub user: UserId,
    pub extension: Extension,
    pub display_name: String,
    pub sip_secret: SipSecret,
    pub skills: Vec<AgentSkill>,
    pub languages: Vec<Language>,
    pub capacity: ChannelCapacity,
    pub queues: Vec<QueueMembership>,
    pub created_at: Timestamp,
}

impl Agent {
    pub fn proficiency(&self, skill: &SkillName) -> Option<Proficiency> {
        self.skills.iter().find(|s| &s.skill == skill).map(|s| s.proficiency)
    }
}

/// A skill that agents may have and contacts may need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    pub id: SkillId,
    pub org: OrgId,
    pub name: SkillName,
    pub description: String,
}

/// A required skill with a minimum proficiency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillRequirement {
    pub skill: SkillName,
    pub min_proficiency: Proficiency,
}

/// "80% of contacts answered within 20 s".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceLevelTarget {
    /// 1 to 100.
    pub percent: u8,
    pub threshold: DurationMs,
}

impl ServiceLevelTarget {
    pub fn new(percent: u8, threshold: DurationMs) -> Result<Self, ValueError> {
        if !(1..=100).contains(&percent) {
            return Err(ValueError::new("service level percent", &percent.to_string(), "must be 1 to 100"));
        }
        if threshold == DurationMs::ZERO {
            return Err(ValueError::new("service level threshold", "0", "must be more than zero"));
        }
        Ok(Self { percent, threshold })
    }
}

/// Where contacts go when a queue cannot serve them in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overflow {
    /// Move after waiting this long.
    pub after: Option<DurationMs>,
    /// Move on arrival when the expected wait is longer than this.
    pub when_ewt_exceeds: Option<DurationMs>,
    pub to: QueueId,
}

/// A queue contacts wait in.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub id: QueueId,
    pub org: OrgId,
    pub name: QueueName,
    pub display_name: String,
    pub strategy: RoutingStrategy,
    pub required_skills: Vec<SkillRequirement>,
    pub service_level: ServiceLevelTarget,
    pub wrap_up: DurationMs,
    pub ring_timeout: DurationMs,
    /// Contacts waiting beyond this are refused (busy, voicemail or callback).
    pub max_waiting: u32,
    /// Longest a contact may wait before it goes to voicemail.
    pub max_wait: DurationMs,
    pub overflow: Option<Overflow>,
    pub created_at: Timestamp,
}

/// An id of a customer on a social channel, such as a WeChat openid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SocialId {
    pub channel: Channel,
    pub id: String,
}

/// Someone who contacts the center.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    pub org: OrgId,
    pub name: String,
    pub phones: Vec<E164>,
    pub emails: Vec<Email>,
    pub social_ids: Vec<SocialId>,
    pub vip: VipTier,
    /// Free-form attributes from CRM imports and IVR lookups, sorted by key.
    pub attributes: BTreeMap<String, String>,
    pub language: Option<Language>,
    pub created_at: Timestamp,
}

/// One interaction with a customer on one channel, inbound or outbound.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: ContactId,
    pub org: OrgId,
    pub channel: Channel,
    pub direction: Direction,
    pub status: ContactStatus,
    pub outcome: Option<ContactOutcome>,
    pub customer: Option<CustomerId>,
    /// Caller number, sender address or social id, as received.
    pub from_address: String,
    /// Dialled number, mailbox or account, as received.
    pub to_address: String,
    pub queue: Option<QueueId>,
    pub agent: Option<AgentId>,
    pub issue_type: Option<String>,
    pub language: Option<Language>,
    pub arrived_at: Timestamp,
    pub ivr_left_at: Option<Timestamp>,
    pub queued_at: Option<Timestamp>,
    pub offered_at: Option<Timestamp>,
    pub answered_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub wrap_up_ended_at: Option<Timestamp>,
    /// The IVR nodes visited, in order.
    pub ivr_path: Vec<String>,
    /// Digits the caller pressed in the IVR.
    pub ivr_digits: String,
    pub disposition: Option<ReasonCode>,
    pub notes: String,
    pub recording: Option<RecordingId>,
    pub ticket: Option<TicketId>,
    /// 1–5 from the post-contact survey.
    pub csat: Option<u8>,
    /// Estimated mean opinion score of the call's audio (E-model), 1.0–4.5.
    pub quality_mos: Option<f32>,
    pub transferred: bool,
}

impl Contact {
    /// A new inbound or outbound contact that has just arrived.
    pub fn arrived(
        id: ContactId,
        org: OrgId,
        channel: Channel,
        direction: Direction,
        from: &str,
        to: &str,
        at: Timestamp,
    ) -> Self {
        Self {
            id,
            org,
            channel,
            direction,
            status: ContactStatus::New,
            outcome: None,
            customer: None,
            from_address: from.to_owned(),
            to_address: to.to_owned(),
            queue: None,
            agent: None,
            issue_type: None,
            language: None,
            arrived_at: at,
            ivr_left_at: None,
            queued_at: None,
            offered_at: None,
            answered_at: None,
            ended_at: None,
            wrap_up_ended_at: None,
            ivr_path: Vec::new(),
            ivr_digits: String::new(),
            disposition: None,
            notes: String::new(),
            recording: None,
            ticket: None,
            csat: None,
            quality_mos: None,
            transferred: false,
        }
    }

    /// Time from entering the queue to answer (or to now, for the caller to pass `ended_at`).
    pub fn wait(&self) -> Option<DurationMs> {
        let queued = self.queued_at?;
        let until = self.answered_at.or(self.ended_at)?;
        Some(until.since(queued))
    }
}

/// One change in a contact's life.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEvent {
    pub id: ContactEventId,
    pub org: OrgId,
    pub contact: ContactId,
    pub at: Timestamp,
    pub kind: ContactEventKind,
    pub agent: Option<AgentId>,
    pub queue: Option<QueueId>,
    /// Extra facts as JSON text (digits pressed, transfer target, ...); `{}` when none.
    pub detail: String,
}

/// One change of an agent's state, with the reason (break, lunch, missed, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentStateChange {
    pub id: AgentStateChangeId,
    pub org: OrgId,
    pub agent: AgentId,
    pub at: Timestamp,
    pub from: AgentState,
    pub to: AgentState,
    pub reason: Option<ReasonCode>,
    /// Set when a supervisor forced the change.
    pub forced_by: Option<UserId>,
}

/// A case that may span several contacts.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticket {
    pub id: TicketId,
    pub org: OrgId,
    /// The number people quote ("ticket 1042"), unique per org.
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: TicketPriority,
    pub customer: Option<CustomerId>,
    pub assignee: Option<AgentId>,
    pub contacts: Vec<ContactId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A comment on a ticket; internal ones are never shown to the customer.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketComment {
    pub id: TicketCommentId,
    pub org: OrgId,
    pub ticket: TicketId,
    pub author: Option<UserId>,
    pub body: String,
    pub internal: bool,
    pub at: Timestamp,
}

/// An order, for self-service status lookups.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: OrderId,
    pub org: OrgId,
    /// The number the customer types, such as `100001`; unique per org.
    pub number: String,
    pub customer: CustomerId,
    pub status: OrderStatus,
    pub total_cents: i64,
    /// ISO 4217, such as `CNY`.
    pub currency: String,
    pub placed_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Where a call's recording is and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    pub id: RecordingId,
    pub org: OrgId,
    pub contact: ContactId,
    /// Relative to the recordings directory.
    pub path: String,
    pub started_at: Timestamp,
    pub duration: DurationMs,
    pub size_bytes: u64,
    /// Hex SHA-256 of the finished file.
    pub sha256: String,
    pub channels: u8,
    pub sample_rate_hz: u32,
    /// Kept past retention while set.
    pub legal_hold: bool,
    pub deleted_at: Option<Timestamp>,
}

/// A customer's answer to a survey.
#[derive(Debug, Clone, PartialEq)]
pub struct SurveyResponse {
    pub id: SurveyResponseId,
    pub org: OrgId,
    pub contact: ContactId,
    pub kind: SurveyKind,
    pub score: u8,
    pub comment: Option<String>,
    pub at: Timestamp,
}

impl SurveyResponse {
    /// Checks the score against the survey's scale.
    pub fn validate_score(kind: SurveyKind, score: i64) -> Result<u8, ValueError> {
        let (lo, hi) = kind.score_range();
        match u8::try_from(score) {
            Ok(s) if (lo..=hi).contains(&s) => Ok(s),
            _ => Err(ValueError::new("survey score", &score.to_string(), format!("must be {lo} to {hi} for {kind}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_secret_is_never_printed() {
        let s = SipSecret::new("demo1001x").expect("valid");
        assert!(!format!("{s:?}").contains("demo1001"));
    }

    #[test]
    fn survey_scores_follow_the_scale() {
        assert_eq!(SurveyResponse::validate_score(SurveyKind::Csat, 5), Ok(5));
        assert!(SurveyResponse::validate_score(SurveyKind::Csat, 0).is_err());
        assert_eq!(SurveyResponse::validate_score(SurveyKind::Nps, 0), Ok(0));
        assert!(SurveyResponse::validate_score(SurveyKind::Nps, 11).is_err());
    }

    #[test]
    fn wait_runs_from_queue_entry_to_answer() {
        let mut c = Contact::arrived(
            ContactId::from_u128(1),
            OrgId::from_u128(1),
            Channel::Voice,
            Direction::Inbound,
            "+8613800000001",
            "4000",
            Timestamp::from_unix_ms(0),
        );
        assert_eq!(c.wait(), None);
        c.queued_at = Some(Timestamp::from_unix_ms(10_000));
        c.answered_at = Some(Timestamp::from_unix_ms(25_000));
        assert_eq!(c.wait(), Some(DurationMs::from_secs(15)));
    }

    #[test]
    fn capacity_is_bounded() {
        let c = ChannelCapacity { chat: 21, ..ChannelCapacity::default() };
        assert!(c.validate().is_err());
        assert!(ChannelCapacity::default().validate().is_ok());
    }
}
