//! The Demo Shop: the data every demo, script and end-to-end test stands on.
//!
//! [`dataset`] is a pure function of the time it is given: the same call returns the same ids,
//! numbers and names, so scripts can rely on them. Passwords are returned in clear (they are
//! printed in the README anyway) for the caller to hash; this crate does no IO and no hashing.
//!
//! Fixed facts scripts use:
//! - `+8613800000001` is a gold VIP whose order `100001` is shipped;
//! - `+8613800000002` is a normal customer whose order `100002` is being processed;
//! - agent N (1001–1006) has SIP and web password `demoN`; `supervisor`/`demosuper`; `admin`/`demoadmin`.

use std::collections::BTreeMap;

use model::*;

/// The org every demo record belongs to.
pub const DEMO_ORG: OrgId = OrgId::from_u128(0x0000_de70_0000_0000_0000_0000_0000_0001);
/// Number of demo customers.
pub const CUSTOMER_COUNT: usize = 50;
/// The agents' extensions.
pub const AGENT_EXTENSIONS: [&str; 6] = ["1001", "1002", "1003", "1004", "1005", "1006"];

/// A user to create, with the password to hash.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub user: User,
    pub password: String,
}

/// The whole data set, in insertion order (parents before children).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub org: Org,
    pub skills: Vec<Skill>,
    pub queues: Vec<Queue>,
    /// Every user's `password_hash` is empty: hash `password` before storing.
    pub users: Vec<DemoUser>,
    pub agents: Vec<Agent>,
    /// Phones of staff who are not agents (the supervisor's desk phone, extension
    /// [`SUPERVISOR_EXTENSION`], rung when they listen to or whisper on a call). Stored as agent
    /// records with no queues and no capacity, since extensions and SIP secrets live there; the
    /// ACD never offers them work.
    pub staff_phones: Vec<Agent>,
    pub customers: Vec<Customer>,
    pub orders: Vec<Order>,
}

/// The supervisor's desk phone (SIP password `demosuper`).
pub const SUPERVISOR_EXTENSION: &str = "1900";

/// Every demo login and its password, for the check that `serve` refuses to start with them.
pub fn demo_passwords() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = AGENT_EXTENSIONS.iter().map(|e| (*e, format!("demo{e}"))).collect();
    out.push(("supervisor", "demosuper".into()));
    out.push(("admin", "demoadmin".into()));
    out
}

/// Ids are fixed so that re-running the demo finds what it made last time.
fn id(kind: u16, n: u64) -> u128 {
    (0xde70u128 << 112) | (u128::from(kind) << 64) | u128::from(n)
}

fn parse<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("demo data is valid: {e}"))
}

pub fn dataset(now: Timestamp) -> Dataset {
    let org = Org {
        id: DEMO_ORG,
        name: "Demo Shop".into(),
        default_country: parse(CountryCode::new(86)),
        time_zone: "Asia/Shanghai".into(),
        created_at: now,
    };
    let skills = skills(now);
    let queues = queues(now);
    let (users, agents) = people(now, &queues);
    let staff_phones = vec![supervisor_phone(now)];
    let customers = customers(now);
    let orders = orders(now, &customers);
    Dataset { org, skills, queues, users, agents, staff_phones, customers, orders }
}

fn skills(_now: Timestamp) -> Vec<Skill> {
    [
        ("general_support", "General questions / 综合咨询"),
        ("tech_support", "Technical problems / 技术支持"),
        ("premium_support", "VIP customers / 贵宾服务"),
        ("zh", "Speaks Chinese / 中文"),
        ("en", "Speaks English / 英语"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (name, description))| Skill {
        id: SkillId::from_u128(id(1, i as u64 + 1)),
        org: DEMO_ORG,
        name: parse(SkillName::parse(name)),
        description: (*description).into(),
    })
    .collect()
}

/// Queue ids, for wiring agents and routing.
pub fn queue_id(name: &str) -> QueueId {
    let n = match name {
        "general" => 1,
        "tech_support" => 2,
        "premium_support" => 3,
        _ => 0,
    };
    QueueId::from_u128(id(2, n))
}

fn queues(now: Timestamp) -> Vec<Queue> {
    let q = |name: &str, display: &str, strategy, skill: &str, sl_pct, sl_s, wrap_s, overflow: Option<&str>| Queue {
        id: queue_id(name),
        org: DEMO_ORG,
        name: parse(QueueName::parse(name)),
        display_name: display.into(),
        strategy,
        required_skills: vec![SkillRequirement {
            skill: parse(SkillName::parse(skill)),
            min_proficiency: Proficiency::MIN,
        }],
        service_level: parse(ServiceLevelTarget::new(sl_pct, DurationMs::from_secs(sl_s))),
        wrap_up: DurationMs::from_secs(wrap_s),
        ring_timeout: DurationMs::from_secs(20),
        max_waiting: 100,
        max_wait: DurationMs::from_secs(600),
        overflow: overflow.map(|to| Overflow {
            after: Some(DurationMs::from_secs(120)),
            when_ewt_exceeds: None,
            to: queue_id(to),
        }),
        created_at: now,
    };
    vec![
        q("general", "General support / 综合服务", RoutingStrategy::LongestIdle, "general_support", 80, 20, 30, None),
        q(
            "tech_support",
            "Technical support / 技术支持",
            RoutingStrategy::SkillsBest,
            "tech_support",
            80,
            30,
            60,
            Some("general"),
        ),
        q(
            "premium_support",
            "Premium support / 贵宾服务",
            RoutingStrategy::SkillsBest,
            "premium_support",
            90,
            15,
            30,
            Some("general"),
        ),
    ]
}

struct DemoAgent {
    ext: &'static str,
    name: &'static str,
    skills: &'static [(&'static str, i64)],
    languages: &'static [&'static str],
    queues: &'static [(&'static str, u8)],
    /// Takes chats and emails while on a call (one call, three chats, two emails at once);
    /// the others' call blocks new chats and emails.
    blended: bool,
}

const AGENTS: [DemoAgent; 6] = [
    DemoAgent {
        ext: "1001",
        name: "李娜 Li Na",
        skills: &[("general_support", 8), ("zh", 10), ("en", 6)],
        languages: &["zh-CN", "en"],
        queues: &[("general", 0)],
        blended: true,
    },
    DemoAgent {
        ext: "1002",
        name: "王伟 Wang Wei",
        skills: &[("general_support", 6), ("tech_support", 4), ("zh", 10)],
        languages: &["zh-CN"],
        queues: &[("general", 0), ("tech_support", 1)],
        blended: false,
    },
    DemoAgent {
        ext: "1003",
        name: "张敏 Zhang Min",
        skills: &[("tech_support", 9), ("zh", 9), ("en", 8)],
        languages: &["zh-CN", "en"],
        queues: &[("tech_support", 0)],
        blended: false,
    },
    DemoAgent {
        ext: "1004",
        name: "刘洋 Liu Yang",
        skills: &[("tech_support", 7), ("general_support", 5), ("zh", 10)],
        languages: &["zh-CN"],
        queues: &[("tech_support", 0), ("general", 1)],
        blended: false,
    },
    DemoAgent {
        ext: "1005",
        name: "陈静 Chen Jing",
        skills: &[("premium_support", 9), ("general_support", 7), ("zh", 10), ("en", 9)],
        languages: &["zh-CN", "en"],
        queues: &[("premium_support", 0), ("general", 1)],
        blended: false,
    },
    DemoAgent {
        ext: "1006",
        name: "赵艾米 Emily Zhao",
        skills: &[("premium_support", 7), ("general_support", 6), ("en", 10), ("zh", 7)],
        languages: &["en", "zh-CN"],
        queues: &[("premium_support", 0), ("general", 1)],
        blended: false,
    },
];

fn user(n: u64, username: &str, name: &str, role: Role, password: String, now: Timestamp) -> DemoUser {
    DemoUser {
        user: User {
            id: UserId::from_u128(id(3, n)),
            org: DEMO_ORG,
            username: parse(Username::parse(username)),
            display_name: name.into(),
            role,
            password_hash: String::new(),
            email: Some(parse(Email::parse(&format!("{username}@demo-shop.example")))),
            language: parse(Language::parse("zh-CN")),
            active: true,
            created_at: now,
        },
        password,
    }
}

fn people(now: Timestamp, queues: &[Queue]) -> (Vec<DemoUser>, Vec<Agent>) {
    let mut users = Vec::new();
    let mut agents = Vec::new();
    for (i, a) in AGENTS.iter().enumerate() {
        let n = i as u64 + 1;
        let u = user(n, a.ext, a.name, Role::Agent, format!("demo{}", a.ext), now);
        agents.push(Agent {
            id: AgentId::from_u128(id(4, n)),
            org: DEMO_ORG,
            user: u.user.id,
            extension: parse(Extension::parse(a.ext)),
            display_name: a.name.into(),
            sip_secret: parse(SipSecret::new(&format!("demo{}", a.ext))),
            skills: a
                .skills
                .iter()
                .map(|(s, p)| AgentSkill {
                    skill: parse(SkillName::parse(s)),
                    proficiency: parse(Proficiency::new(*p)),
                })
                .collect(),
            languages: a.languages.iter().map(|l| parse(Language::parse(l))).collect(),
            capacity: if a.blended {
                ChannelCapacity { voice_blocks_others: false, ..ChannelCapacity::default() }
            } else {
                ChannelCapacity::default()
            },
            queues: a
                .queues
                .iter()
                .map(|(q, penalty)| QueueMembership { queue: queue_id(q), penalty: *penalty })
                .collect(),
            created_at: now,
        });
        users.push(u);
    }
    debug_assert!(agents.iter().flat_map(|a| &a.queues).all(|m| queues.iter().any(|q| q.id == m.queue)));
    users.push(user(101, "supervisor", "主管 Supervisor", Role::Supervisor, "demosuper".into(), now));
    users.push(user(102, "admin", "管理员 Admin", Role::Admin, "demoadmin".into(), now));
    (users, agents)
}

/// The supervisor's desk phone: an agent record of the supervisor user with no queues and no
/// capacity on any channel.
fn supervisor_phone(now: Timestamp) -> Agent {
    Agent {
        id: AgentId::from_u128(id(4, 101)),
        org: DEMO_ORG,
        user: UserId::from_u128(id(3, 101)),
        extension: parse(Extension::parse(SUPERVISOR_EXTENSION)),
        display_name: "主管 Supervisor".into(),
        sip_secret: parse(SipSecret::new("demosuper")),
        skills: Vec::new(),
        languages: Vec::new(),
        capacity: ChannelCapacity { voice: 0, chat: 0, email: 0, social: 0, ..ChannelCapacity::default() },
        queues: Vec::new(),
        created_at: now,
    }
}

const SURNAMES: [&str; 10] = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴"];
const GIVEN: [&str; 10] = ["芳", "伟", "秀英", "敏", "静", "丽", "强", "磊", "洋", "艳"];

/// Customer `n` (1-based): the tier follows a fixed pattern, 1 is gold and 2 normal by promise.
fn tier(n: usize) -> VipTier {
    match n {
        1 => VipTier::Gold,
        2 => VipTier::Normal,
        n if n % 10 == 3 => VipTier::Gold,
        n if n % 5 == 4 => VipTier::Silver,
        _ => VipTier::Normal,
    }
}

pub fn customer_id(n: usize) -> CustomerId {
    CustomerId::from_u128(id(5, n as u64))
}

fn customers(now: Timestamp) -> Vec<Customer> {
    (1..=CUSTOMER_COUNT)
        .map(|n| {
            let mut attributes = BTreeMap::new();
            attributes.insert("city".to_owned(), ["上海", "北京", "深圳", "杭州", "成都"][n % 5].to_owned());
            attributes.insert("member_since".to_owned(), format!("{}", 2015 + n % 10));
            let english = n % 7 == 0;
            Customer {
                id: customer_id(n),
                org: DEMO_ORG,
                name: if english {
                    format!("Customer {n}")
                } else {
                    format!("{}{}", SURNAMES[n % 10], GIVEN[(n / 10 + n) % 10])
                },
                phones: vec![parse(E164::parse_strict(&format!("+86138000000{n:02}")))],
                emails: vec![parse(Email::parse(&format!("customer{n:02}@example.com")))],
                social_ids: Vec::new(),
                vip: tier(n),
                attributes,
                language: Some(parse(Language::parse(if english { "en" } else { "zh-CN" }))),
                created_at: now,
            }
        })
        .collect()
}

fn orders(now: Timestamp, customers: &[Customer]) -> Vec<Order> {
    let statuses = OrderStatus::ALL;
    let mut out = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        let n = i + 1;
        let status = match n {
            1 => OrderStatus::Shipped,
            2 => OrderStatus::Processing,
            _ => statuses[n % statuses.len()],
        };
        out.push(order(out.len(), format!("{}", 100_000 + n), c.id, status, now));
        if n % 3 == 0 {
            // A second, older order, numbered after the first fifty.
            out.push(order(out.len(), format!("{}", 100_050 + n), c.id, OrderStatus::Delivered, now));
        }
    }
    out
}

fn order(index: usize, number: String, customer: CustomerId, status: OrderStatus, now: Timestamp) -> Order {
    let days_ago = (index as i64 % 20 + 1) * 86_400_000;
    Order {
        id: OrderId::from_u128(id(6, index as u64 + 1)),
        org: DEMO_ORG,
        number,
        customer,
        status,
        total_cents: 1999 + (index as i64 * 1371) % 50_000,
        currency: "CNY".into(),
        placed_at: Timestamp::from_unix_ms(now.unix_ms() - days_ago),
        updated_at: now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Dataset {
        dataset(Timestamp::from_unix_ms(1_790_000_000_000))
    }

    #[test]
    fn scripted_customers_have_their_promised_tier_and_order() {
        let d = data();
        let find =
            |phone: &str| d.customers.iter().find(|c| c.phones.iter().any(|p| p.as_str() == phone)).expect("customer");
        let gold = find("+8613800000001");
        let normal = find("+8613800000002");
        assert_eq!((gold.vip, normal.vip), (VipTier::Gold, VipTier::Normal));
        let order = |num: &str| d.orders.iter().find(|o| o.number == num).expect("order");
        assert_eq!((order("100001").customer, order("100001").status), (gold.id, OrderStatus::Shipped));
        assert_eq!((order("100002").customer, order("100002").status), (normal.id, OrderStatus::Processing));
    }

    #[test]
    fn fifty_customers_with_unique_phones_and_a_mix_of_tiers() {
        let d = data();
        assert_eq!(d.customers.len(), CUSTOMER_COUNT);
        let phones: std::collections::BTreeSet<_> = d.customers.iter().flat_map(|c| c.phones.clone()).collect();
        assert_eq!(phones.len(), CUSTOMER_COUNT);
        for tier in VipTier::ALL {
            assert!(d.customers.iter().filter(|c| c.vip == *tier).count() >= 5, "{tier}");
        }
    }

    #[test]
    fn order_numbers_are_unique() {
        let d = data();
        let numbers: std::collections::BTreeSet<_> = d.orders.iter().map(|o| o.number.clone()).collect();
        assert_eq!(numbers.len(), d.orders.len());
    }

    #[test]
    fn agents_cover_every_queue_with_the_queue_skill() {
        let d = data();
        assert_eq!(d.agents.len(), 6);
        for q in &d.queues {
            let skill = &q.required_skills[0].skill;
            let serving =
                d.agents.iter().filter(|a| a.queues.iter().any(|m| m.queue == q.id) && a.proficiency(skill).is_some());
            assert!(serving.count() >= 2, "queue {} needs at least two agents", q.name);
        }
    }

    #[test]
    fn the_dataset_is_the_same_every_time() {
        let (a, b) = (data(), data());
        assert_eq!(a.customers, b.customers);
        assert_eq!(a.agents, b.agents);
    }

    #[test]
    fn agent_1001_holds_a_call_three_chats_and_two_emails_at_once() {
        let d = data();
        let cap = d.agents[0].capacity;
        assert_eq!(d.agents[0].extension.as_str(), "1001");
        assert_eq!((cap.voice, cap.chat, cap.email, cap.voice_blocks_others), (1, 3, 2, false));
        assert!(d.agents[1..].iter().all(|a| a.capacity.voice_blocks_others), "the others' calls block");
    }

    #[test]
    fn credentials_match_the_readme() {
        let d = data();
        let pw = |name: &str| d.users.iter().find(|u| u.user.username.as_str() == name).map(|u| u.password.clone());
        assert_eq!(pw("1001").as_deref(), Some("demo1001"));
        assert_eq!(pw("supervisor").as_deref(), Some("demosuper"));
        assert_eq!(pw("admin").as_deref(), Some("demoadmin"));
        assert_eq!(d.agents[0].sip_secret.expose(), "demo1001");
        assert_eq!(demo_passwords().len(), 8);
    }
}
