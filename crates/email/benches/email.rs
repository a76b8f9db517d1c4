//! Throughput of the email cores: MIME parsing of the fixtures and the SMTP state machine.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use email::mime::{self, MimeLimits};
use email::smtp::{SmtpConfig, SmtpLimits, SmtpOutput, SmtpSession, Verdict};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture exists")
}

fn parse(c: &mut Criterion) {
    let limits = MimeLimits::default();
    let mut group = c.benchmark_group("mime_parse");
    for name in ["plain_utf8.eml", "gbk_body.eml", "multipart_attachment.eml"] {
        let raw = fixture(name);
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.bench_function(name, |b| b.iter(|| mime::parse(std::hint::black_box(&raw), None, &limits)));
    }
    group.finish();
}

fn smtp_transaction(c: &mut Criterion) {
    let config = SmtpConfig {
        hostname: "mx.hotline.test".into(),
        accepted_domains: vec!["hotline.test".into()],
        limits: SmtpLimits::default(),
    };
    let body = "x".repeat(76) + "\r\n";
    let script = format!(
        "EHLO c\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<s@hotline.test>\r\nDATA\r\nSubject: t\r\n\r\n{}.\r\nQUIT\r\n",
        body.repeat(50)
    );
    let mut group = c.benchmark_group("smtp_session");
    group.throughput(Throughput::Bytes(script.len() as u64));
    group.bench_function("one_4kB_transaction", |b| {
        b.iter(|| {
            let mut s = SmtpSession::new(config.clone());
            s.handle_input(script.as_bytes());
            while let Some(out) = s.poll_output() {
                if let SmtpOutput::Message(_) = out {
                    s.handle_verdict(Verdict::Accepted { queue_id: "q".into() });
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, parse, smtp_transaction);
criterion_main!(benches);
