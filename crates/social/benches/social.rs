//! Throughput of the social cores: WeChat verify + parse + reply, webhook HMAC verify.

use criterion::{Criterion, criterion_group, criterion_main};
use model::Timestamp;
use social::webhook::{WebhookConfig, WebhookVerifier, sign};
use social::wechat::{CallbackConfig, CallbackQuery, CallbackVerifier, PassiveReply, XmlLimits, signature};

const TEXT_XML: &[u8] =
    b"<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
<CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content>\
<MsgId>1234567890123456</MsgId></xml>";

fn wechat(c: &mut Criterion) {
    let verifier = CallbackVerifier::new(CallbackConfig {
        token: "hotline".into(),
        max_clock_skew_ms: 300_000,
        xml: XmlLimits::default(),
    });
    let query = CallbackQuery::parse(&format!(
        "signature={}&timestamp=1764222000&nonce=8849",
        signature("hotline", "1764222000", "8849")
    ));
    let now = Timestamp::from_unix_ms(1_764_222_000_000);
    c.bench_function("wechat_verify_parse_reply", |b| {
        b.iter(|| {
            let message = verifier.receive(now, &query, std::hint::black_box(TEXT_XML)).expect("valid sample");
            PassiveReply::Text { content: "收到".into() }.to_xml(&message, 1_764_222_001)
        })
    });
}

fn webhook(c: &mut Criterion) {
    let body = br#"{"id":"e1","from":{"id":"u1"},"text":"hello from a customer"}"#;
    let signature = sign(b"secret", "1764222000", body);
    let headers = [("X-Hotline-Timestamp", "1764222000"), ("X-Hotline-Signature", signature.as_str())];
    let config = WebhookConfig { max_remembered_signatures: usize::MAX, ..WebhookConfig::with_secret(b"secret") };
    let now = Timestamp::from_unix_ms(1_764_222_000_000);
    c.bench_function("webhook_verify_and_parse", |b| {
        // A fresh verifier per batch: the replay memory would (rightly) refuse the same request twice.
        b.iter_batched(
            || WebhookVerifier::new(config.clone()),
            |mut v| v.receive(now, &headers, body),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, wechat, webhook);
criterion_main!(benches);
