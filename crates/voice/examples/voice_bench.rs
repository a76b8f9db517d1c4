//! The voice path under load, for `crates/voice/bench/callers.sh`: a SQLite store seeded with the
//! Demo Shop plus `--agents` bench agents (extensions 2001…, password `bench<ext>`, queue
//! `general`), the center, the media server, the SIP server and the voice path in one process.
//!
//! Prints `READY <sip address>` once listening. Each stdin line is a command: `available` signs
//! every bench agent in (after their phones registered), `report` prints the contacts by status
//! and outcome as `REPORT <json>`; end of input stops everything (with a last report).
//!
//! Loopback differs from a deployment in two settings, both printed at start: every peer shares
//! 127.0.0.1, so the SIP per-source guard is raised; and the media timeout is raised to
//! `--media-timeout-s` because the sipp callers stop sending RTP while they wait in the queue.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use center::{Center, CenterConfig, Presence, SystemClock};
use media_server::{MediaServer, MediaServerConfig};
use model::{
    Agent, AgentId, AgentSkill, ChannelCapacity, DurationMs, Extension, Language, Proficiency, QueueMembership, Role,
    SipSecret, SkillName, Timestamp, User, UserId, Username,
};
use sip_server::{PassThrough, SipServer, SipServerConfig, StoreDirectory};
use store::{ConnectOptions, Page, Store};
use tokio::io::AsyncBufReadExt;
use voice::{Prompts, Voice, VoiceConfig};

struct Args {
    agents: u32,
    rtp_base: u16,
    wrap_up_s: u64,
    media_timeout_s: u64,
    dir: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        agents: 50,
        rtp_base: 30_000,
        wrap_up_s: 5,
        media_timeout_s: 600,
        dir: std::env::temp_dir().join(format!("voice-bench-{}", std::process::id())),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--agents" => a.agents = u32::try_from(num(&value)?.clamp(1, 500)).unwrap_or(50),
            "--rtp-base" => a.rtp_base = u16::try_from(num(&value)?).map_err(|e| e.to_string())?,
            "--wrap-up-s" => a.wrap_up_s = num(&value)?,
            "--media-timeout-s" => a.media_timeout_s = num(&value)?,
            "--dir" => a.dir = PathBuf::from(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(a)
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    Timestamp::from_unix_ms(i64::try_from(ms).unwrap_or(0))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

async fn seed(store: &Store, args: &Args) -> Fallible<Vec<AgentId>> {
    let d = demo::dataset(now());
    store.insert_org(&d.org).await?;
    for s in &d.skills {
        store.insert_skill(s).await?;
    }
    for q in &d.queues {
        let mut q = q.clone();
        q.wrap_up = DurationMs::from_secs(args.wrap_up_s);
        q.max_waiting = 1_000;
        store.insert_queue(&q).await?;
    }
    for u in &d.users {
        store.insert_user(&User { password_hash: "not-a-real-hash".into(), ..u.user.clone() }).await?;
    }
    for a in &d.agents {
        store.insert_agent(a).await?;
    }
    for c in &d.customers {
        store.insert_customer(c).await?;
    }
    for o in &d.orders {
        store.insert_order(o).await?;
    }
    let mut ids = Vec::new();
    for n in 1..=args.agents {
        let ext = format!("{}", 2000 + n);
        let user = User {
            id: UserId::from_u128(0xbe4c_0000_0000_0000_0000_0000_0000_0000 + u128::from(n)),
            org: demo::DEMO_ORG,
            username: Username::parse(&format!("bench{ext}"))?,
            display_name: format!("Bench agent {ext}"),
            role: Role::Agent,
            password_hash: "not-a-real-hash".into(),
            email: None,
            language: Language::parse("zh-CN")?,
            active: true,
            created_at: now(),
        };
        store.insert_user(&user).await?;
        let agent = Agent {
            id: AgentId::from_u128(0xbe4c_1000_0000_0000_0000_0000_0000_0000 + u128::from(n)),
            org: demo::DEMO_ORG,
            user: user.id,
            extension: Extension::parse(&ext)?,
            display_name: user.display_name.clone(),
            sip_secret: SipSecret::new(&format!("bench{ext}"))?,
            skills: vec![
                AgentSkill { skill: SkillName::parse("general_support")?, proficiency: Proficiency::new(5)? },
                AgentSkill { skill: SkillName::parse("tech_support")?, proficiency: Proficiency::new(5)? },
                AgentSkill { skill: SkillName::parse("premium_support")?, proficiency: Proficiency::new(5)? },
            ],
            languages: vec![Language::parse("zh-CN")?, Language::parse("en")?],
            capacity: ChannelCapacity::default(),
            queues: ["general", "tech_support", "premium_support"]
                .iter()
                .map(|q| QueueMembership { queue: demo::queue_id(q), penalty: 0 })
                .collect(),
            created_at: now(),
        };
        store.insert_agent(&agent).await?;
        ids.push(agent.id);
    }
    Ok(ids)
}

async fn report(store: &Store, center: &center::CenterHandle) -> Fallible<String> {
    let _ = center.flush().await;
    let range = store::TimeRange::new(Timestamp::from_unix_ms(0), now().plus(DurationMs::from_ms(60_000)));
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_outcome: BTreeMap<String, u64> = BTreeMap::new();
    let mut page = Page::first(store::MAX_PAGE_SIZE);
    let mut total = 0u64;
    loop {
        let got = store.list_contacts_in_range(demo::DEMO_ORG, range, &page).await?;
        for c in &got.items {
            total += 1;
            *by_status.entry(c.status.as_str().to_owned()).or_default() += 1;
            let outcome = c.outcome.map_or("none", |o| o.as_str());
            *by_outcome.entry(outcome.to_owned()).or_default() += 1;
        }
        match got.next {
            Some(next) => page = Page::after(store::MAX_PAGE_SIZE, next),
            None => break,
        }
    }
    Ok(serde_json::json!({ "contacts": total, "by_status": by_status, "by_outcome": by_outcome }).to_string())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Fallible<()> {
    let args = args()?;
    std::fs::create_dir_all(&args.dir)?;
    let url = format!("sqlite://{}/hotline.db", args.dir.display());
    let store = Store::connect(&url, &ConnectOptions { max_connections: 8, connect_timeout_ms: 10_000 }).await?;
    store.migrate().await?;
    let agents = seed(&store, &args).await?;

    let org = demo::DEMO_ORG;
    let (center, _center_task) =
        Center::start(store.clone(), org, &center::demo_routes(), CenterConfig::default(), Arc::new(SystemClock))
            .await?;
    let recordings = args.dir.join("recordings");
    std::fs::create_dir_all(&recordings)?;
    let ports = u16::try_from(args.agents).unwrap_or(500).saturating_mul(4).max(2_000);
    let mut media_config =
        MediaServerConfig::new("127.0.0.1".parse()?, args.rtp_base, args.rtp_base.saturating_add(ports), recordings);
    media_config.media_timeout_ms = args.media_timeout_s * 1_000;
    let (media, media_events, _media_task) = MediaServer::start(media_config)?;

    let catalog_text = std::fs::read_to_string(repo().join("prompts/catalog.toml"))?;
    let catalog = ivr::PromptCatalog::parse_toml("prompts/catalog.toml", &catalog_text)?;
    let flows = ivr::FlowSet::load_dir(&repo().join("flows"), &catalog)?;
    let entry_points: Vec<String> = flows.numbers().map(str::to_owned).collect();
    let prompts = Prompts::load_dir(&repo().join("prompts"))?;

    let mut sip_config = SipServerConfig::new("127.0.0.1:0".parse()?, org);
    sip_config.entry_points = entry_points;
    sip_config.guard.max_messages_per_second = 100_000;
    sip_config.guard.burst_messages = 100_000;
    let directory = StoreDirectory { store: store.clone(), org };
    let (sip, calls, call_events) = SipServer::start_with_calls(sip_config, directory, Box::new(PassThrough)).await?;
    let deps = voice::VoiceDeps {
        calls,
        call_events,
        media,
        media_events,
        center: center.clone(),
        flows: Arc::new(ivr::FlowRegistry::new(flows)),
        prompts: Arc::new(prompts),
        store: store.clone(),
        clock: Arc::new(SystemClock),
    };
    let mut config = VoiceConfig::new(org, "127.0.0.1".parse()?, "+86".parse()?);
    // The bench callers hang up after the agent; no survey question.
    config.survey = false;
    let voice = Voice::start(deps, config).await?;
    eprintln!(
        "voice_bench: {} bench agents (2001…), wrap-up {} s, media timeout {} s, SIP guard raised (all peers on 127.0.0.1)",
        args.agents, args.wrap_up_s, args.media_timeout_s
    );
    println!("READY {}", sip.local_addr());

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        match line.trim() {
            "available" => {
                let mut ok = 0;
                for a in &agents {
                    if center.set_agent_state(*a, Presence::Available).await.is_ok() {
                        ok += 1;
                    }
                }
                println!("AVAILABLE {ok}");
            }
            "report" => println!("REPORT {}", report(&store, &center).await?),
            "" => {}
            other => eprintln!("voice_bench: unknown command {other:?}"),
        }
    }
    println!("REPORT {}", report(&store, &center).await?);
    println!("COUNTERS {:?}", voice.counters());
    // Calls still up (a phone that stopped answering) must not hold the bench: bounded stop.
    let stop = async {
        voice.stop().await;
        sip.stop().await;
        let _ = center.shutdown().await;
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stop).await;
    Ok(())
}
