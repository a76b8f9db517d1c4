//! Indexing throughput and query latency over a synthetic corpus of call transcripts.
//!
//! Corpus size: `HOTLINE_SEARCH_BENCH_DOCS` (default 20,000; the figures in the report use
//! 100,000 and the code runs unchanged at 1,000,000). Each document is one call transcript of
//! mixed Chinese and English (~80 Han characters + ~25 English words), spread over 10 orgs, 200
//! agents, 10 queues and 90 days; 5 % mention 退款, 2 % 投诉, 5 % "refund", 1 % a "cancel my
//! order" phrase. The index lives in a temporary directory (mmap), as in production.
//!
//! Besides criterion's own figures, the run prints the one-off bulk-indexing rate of the whole
//! corpus and p50/p99 latencies over 1,000 mixed queries, which criterion does not report.
//!
//! Run: `HOTLINE_SEARCH_BENCH_DOCS=100000 cargo bench -p search -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use model::{AgentId, Channel, ContactId, CustomerId, OrgId, QueueId, ReasonCode, Timestamp};
use search::{
    DocumentKind, Filters, IndexConfig, KeywordRules, SearchDocument, SearchIndex, SearchQuery, SortOrder, Speaker,
};

const ORGS: u64 = 10;
const DAY_MS: i64 = 86_400_000;
const EPOCH_MS: i64 = 1_780_000_000_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const ZH: &[&str] = &[
    "您好，请问有什么可以帮您？",
    "我的订单一直没有发货，已经等了一个星期了。",
    "请您提供一下订单号，我帮您查询一下物流信息。",
    "快递显示已经签收，但是我没有收到包裹。",
    "我们会尽快联系快递公司核实情况。",
    "这个产品的质量有问题，屏幕有划痕。",
    "可以申请换货，我们会安排上门取件。",
    "请问发票什么时候可以开具？",
    "会员积分可以抵扣一部分运费。",
    "感谢您的耐心等待，还有其他问题吗？",
];
const ZH_RARE: &[(&str, u64)] = &[("我要申请退款，钱什么时候退回来？", 5), ("你们的服务太差了，我要投诉。", 2)];
const EN: &[&str] = &[
    "thanks for calling customer support",
    "could you confirm the phone number on the account",
    "the package was delivered to the wrong address",
    "I can see the payment went through yesterday",
    "let me transfer you to the billing team",
    "is there anything else I can help you with today",
];
const EN_RARE: &[(&str, u64)] =
    &[("I would like a refund for the damaged item", 5), ("please cancel my order before it ships", 1)];

fn transcript(rng: &mut Rng) -> String {
    let mut text = String::with_capacity(600);
    for _ in 0..4 {
        text.push_str(rng.pick(ZH));
    }
    for &(s, pct) in ZH_RARE {
        if rng.below(100) < pct {
            text.push_str(s);
        }
    }
    for _ in 0..3 {
        text.push(' ');
        text.push_str(rng.pick(EN));
        text.push('.');
    }
    for &(s, pct) in EN_RARE {
        if rng.below(100) < pct {
            text.push(' ');
            text.push_str(s);
        }
    }
    text
}

fn document(n: u64, rng: &mut Rng) -> SearchDocument {
    let dispositions = ["resolved", "follow_up", "complaint", "sale"];
    SearchDocument {
        org: OrgId::from_u128(u128::from(n % ORGS) + 1),
        contact: ContactId::from_u128(u128::from(n) + 1_000_000),
        kind: DocumentKind::TranscriptSegment,
        ordinal: 0,
        agent: Some(AgentId::from_u128(u128::from(rng.below(200)) + 1)),
        queue: Some(QueueId::from_u128(u128::from(rng.below(10)) + 1)),
        customer: Some(CustomerId::from_u128(u128::from(rng.below(50_000)) + 1)),
        channel: Channel::Voice,
        at: Timestamp::from_unix_ms(EPOCH_MS + rng.below(90 * DAY_MS as u64) as i64),
        disposition: ReasonCode::parse(dispositions[rng.below(4) as usize]).ok(),
        csat: (rng.below(3) > 0).then(|| rng.below(5) as u8 + 1),
        recording_offset_ms: Some(rng.below(600_000)),
        speaker: Some(if rng.below(2) == 0 { Speaker::Customer } else { Speaker::Agent }),
        text: transcript(rng),
    }
}

fn corpus_size() -> u64 {
    std::env::var("HOTLINE_SEARCH_BENCH_DOCS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000)
}

fn bench_config() -> IndexConfig {
    let threads = std::env::var("HOTLINE_SEARCH_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    IndexConfig { writer_threads: threads, writer_memory_bytes: 128_000_000 * threads, ..IndexConfig::default() }
}

fn build_corpus(index: &SearchIndex, docs: u64, rules: &KeywordRules) -> (Duration, u64) {
    let mut rng = Rng(42);
    let mut bytes = 0u64;
    let started = Instant::now();
    for n in 0..docs {
        let d = document(n, &mut rng);
        bytes += d.text.len() as u64;
        index.index(&d, rules).expect("indexed");
        if n % 200_000 == 199_999 {
            index.commit().expect("commit");
        }
    }
    index.commit().expect("commit");
    (started.elapsed(), bytes)
}

fn queries() -> Vec<(&'static str, SearchQuery)> {
    let q = |text: &str| SearchQuery { text: text.into(), limit: 20, ..SearchQuery::default() };
    let last_30_days = Filters {
        from: Some(Timestamp::from_unix_ms(EPOCH_MS + 60 * DAY_MS)),
        until: Some(Timestamp::from_unix_ms(EPOCH_MS + 90 * DAY_MS)),
        queues: vec![QueueId::from_u128(3)],
        ..Filters::default()
    };
    vec![
        ("zh_term_退款", q("退款")),
        ("zh_term_投诉_30d_queue", SearchQuery { filters: last_30_days, ..q("投诉") }),
        ("en_term_refund", q("refund")),
        ("en_phrase_cancel_my_order", q("\"cancel my order\"")),
        ("zh_phrase_申请退款", q("申请退款")),
        (
            "common_term_newest_agent",
            SearchQuery {
                order: SortOrder::Newest,
                filters: Filters { agents: vec![AgentId::from_u128(7)], ..Filters::default() },
                ..q("订单")
            },
        ),
        (
            "flagged_only_csat_low",
            SearchQuery { filters: Filters { flagged_only: true, max_csat: Some(2), ..Filters::default() }, ..q("") },
        ),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report_latencies(index: &SearchIndex, queries: &[(&str, SearchQuery)]) {
    let mut all = Vec::new();
    for round in 0..1_000u64 {
        let (_, query) = &queries[(round % queries.len() as u64) as usize];
        let org = OrgId::from_u128(u128::from(round % ORGS) + 1);
        let started = Instant::now();
        black_box(index.search(org, query).expect("search"));
        all.push(started.elapsed());
    }
    all.sort_unstable();
    eprintln!(
        "search bench: {} mixed queries, p50 {:?}, p99 {:?}, max {:?}",
        all.len(),
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        all[all.len() - 1]
    );
}

fn benches(c: &mut Criterion) {
    let docs = corpus_size();
    let rules = KeywordRules::standard();
    let dir = tempfile::tempdir().expect("tempdir");
    let index = SearchIndex::open_or_create_in_dir(dir.path(), bench_config()).expect("index");
    let (took, bytes) = build_corpus(&index, docs, &rules);
    eprintln!(
        "search bench: bulk-indexed {docs} transcripts ({:.1} MB of text) in {took:?}: {:.0} docs/s, {:.2} MB/s",
        bytes as f64 / 1e6,
        docs as f64 / took.as_secs_f64(),
        bytes as f64 / 1e6 / took.as_secs_f64()
    );
    let queries = queries();
    for (name, query) in &queries {
        let total = index.search(OrgId::from_u128(1), query).expect("search").total;
        eprintln!("search bench: {name} matches {total} documents in org 1");
    }
    report_latencies(&index, &queries);

    let mut group = c.benchmark_group(format!("query_{docs}_docs"));
    for (name, query) in &queries {
        group.bench_function(*name, |b| b.iter(|| black_box(index.search(OrgId::from_u128(1), query).expect("ok"))));
    }
    group.finish();

    const BATCH: u64 = 1_000;
    let mut group = c.benchmark_group(format!("index_into_{docs}_docs"));
    group.throughput(Throughput::Elements(BATCH));
    group.sample_size(10);
    let mut next = docs;
    group.bench_function("batch_of_1000_transcripts_and_commit", |b| {
        b.iter_batched(
            || {
                let mut rng = Rng(next);
                let batch: Vec<_> = (next..next + BATCH).map(|n| document(n, &mut rng)).collect();
                next += BATCH;
                batch
            },
            |batch| {
                for d in &batch {
                    index.index(d, &rules).expect("indexed");
                }
                index.commit().expect("commit");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("analyzer");
    let sample = transcript(&mut Rng(7));
    group.throughput(Throughput::Bytes(sample.len() as u64));
    group.bench_function("tokenize_one_transcript", |b| {
        b.iter(|| black_box(search::tokenizer::analyse(&sample, search::tokenizer::Mode::Index)))
    });
    group.finish();
}

criterion_group!(search_benches, benches);
criterion_main!(search_benches);
