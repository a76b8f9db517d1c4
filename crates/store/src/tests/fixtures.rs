//! Small builders of valid entities with fixed ids (`from_u128`), so tests say only what matters.

use std::collections::BTreeMap;

use model::*;

pub const T0: i64 = 1_780_000_000_000;

pub fn org(n: u128) -> Org {
    Org {
        id: OrgId::from_u128(n),
        name: format!("Org {n}"),
        default_country: CountryCode::new(86).expect("86"),
        time_zone: "Asia/Shanghai".into(),
        created_at: Timestamp::from_unix_ms(T0),
    }
}

pub fn user(org: OrgId, n: u128, username: &str) -> User {
    User {
        id: UserId::from_u128(n),
        org,
        username: Username::parse(username).expect("username"),
        display_name: format!("User {username}"),
        role: Role::Agent,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        email: Some(Email::parse(&format!("{username}@example.com")).expect("email")),
        language: Language::parse("zh-CN").expect("lang"),
        active: true,
        created_at: Timestamp::from_unix_ms(T0 + 1),
    }
}

pub fn agent(org: OrgId, n: u128, user: UserId, ext: &str) -> Agent {
    Agent {
        id: AgentId::from_u128(n),
        org,
        user,
        extension: Extension::parse(ext).expect("extension"),
        display_name: format!("Agent {ext}"),
        sip_secret: SipSecret::new(&format!("demo{ext}x")).expect("secret"),
        skills: vec![
            AgentSkill {
                skill: SkillName::parse("tech_support").expect("s"),
                proficiency: Proficiency::new(7).expect("p"),
            },
            AgentSkill { skill: SkillName::parse("zh").expect("s"), proficiency: Proficiency::MAX },
        ],
        languages: vec![Language::parse("zh").expect("l"), Language::parse("en-US").expect("l")],
        capacity: ChannelCapacity { voice: 1, chat: 4, email: 2, social: 3, voice_blocks_others: false },
        queues: vec![QueueMembership { queue: QueueId::from_u128(900), penalty: 2 }],
        created_at: Timestamp::from_unix_ms(T0 + 2),
    }
}

pub fn skill(org: OrgId, n: u128, name: &str) -> Skill {
    Skill {
        id: SkillId::from_u128(n),
        org,
        name: SkillName::parse(name).expect("skill"),
        description: format!("{name} work"),
    }
}

pub fn queue(org: OrgId, n: u128, name: &str) -> Queue {
    Queue {
        id: QueueId::from_u128(n),
        org,
        name: QueueName::parse(name).expect("queue"),
        display_name: format!("Queue {name}"),
        strategy: RoutingStrategy::SkillsBest,
        required_skills: vec![SkillRequirement {
            skill: SkillName::parse("tech_support").expect("s"),
            min_proficiency: Proficiency::new(3).expect("p"),
        }],
        service_level: ServiceLevelTarget::new(80, DurationMs::from_secs(20)).expect("sl"),
        wrap_up: DurationMs::from_secs(15),
        ring_timeout: DurationMs::from_secs(20),
        max_waiting: 50,
        max_wait: DurationMs::from_secs(600),
        overflow: Some(Overflow {
            after: Some(DurationMs::from_secs(120)),
            when_ewt_exceeds: None,
            to: QueueId::from_u128(901),
        }),
        created_at: Timestamp::from_unix_ms(T0 + 3),
    }
}

pub fn phone(s: &str) -> E164 {
    E164::parse_strict(s).expect("phone")
}

pub fn customer(org: OrgId, n: u128, phones: &[&str], emails: &[&str]) -> Customer {
    Customer {
        id: CustomerId::from_u128(n),
        org,
        name: format!("Customer {n} 客户"),
        phones: phones.iter().map(|p| phone(p)).collect(),
        emails: emails.iter().map(|e| Email::parse(e).expect("email")).collect(),
        social_ids: vec![SocialId { channel: Channel::WeChat, id: format!("wx_{n}") }],
        vip: VipTier::Gold,
        attributes: BTreeMap::from([("crm_id".to_owned(), format!("C{n}")), ("city".to_owned(), "上海".to_owned())]),
        language: Some(Language::parse("zh-CN").expect("lang")),
        created_at: Timestamp::from_unix_ms(T0 + 4),
    }
}

pub fn contact(org: OrgId, n: u128, customer: Option<CustomerId>, arrived_ms: i64) -> Contact {
    let mut c = Contact::arrived(
        ContactId::from_u128(n),
        org,
        Channel::Voice,
        Direction::Inbound,
        "+8613800000001",
        "4000",
        Timestamp::from_unix_ms(arrived_ms),
    );
    c.customer = customer;
    c
}

pub fn order(org: OrgId, n: u128, number: &str, customer: CustomerId) -> Order {
    Order {
        id: OrderId::from_u128(n),
        org,
        number: number.into(),
        customer,
        status: OrderStatus::Shipped,
        total_cents: 129_900,
        currency: "CNY".into(),
        placed_at: Timestamp::from_unix_ms(T0 + 10 * n as i64),
        updated_at: Timestamp::from_unix_ms(T0 + 10 * n as i64 + 5),
    }
}

pub fn ticket(org: OrgId, n: u128, number: i64, customer: Option<CustomerId>) -> Ticket {
    Ticket {
        id: TicketId::from_u128(n),
        org,
        number,
        subject: format!("Ticket {number}: 退货"),
        status: TicketStatus::Open,
        priority: TicketPriority::High,
        customer,
        assignee: Some(AgentId::from_u128(500)),
        contacts: vec![ContactId::from_u128(700), ContactId::from_u128(701)],
        created_at: Timestamp::from_unix_ms(T0 + n as i64),
        updated_at: Timestamp::from_unix_ms(T0 + n as i64 + 1),
    }
}
