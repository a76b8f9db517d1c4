//! Inbound MIME parsing against the .eml fixtures in `tests/fixtures`.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use email::mime::{self, MailKind, MimeError, MimeLimits, RejectReason};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn parse(name: &str) -> email::InboundEmail {
    mime::parse(&fixture(name), None, &MimeLimits::default()).unwrap()
}

const ORDER_BODY: &str = "您好，我的订单还没有发货，请帮忙查询。谢谢！";

#[test]
fn plain_utf8_message_yields_headers_and_body() {
    let e = parse("plain_utf8.eml");
    assert_eq!(e.message_id.as_deref(), Some("plain-1@example.com"));
    assert_eq!(e.from.address, "alice@example.com");
    assert_eq!(e.from.name.as_deref(), Some("Alice Example"));
    assert_eq!(e.to[0].address, "support@hotline.test");
    assert_eq!(e.subject, "Printer not working");
    assert!(e.text_body.as_deref().unwrap().contains("Café ☕"));
    assert_eq!(e.html_body, None, "no HTML part, no HTML body");
    assert_eq!(e.return_path.as_deref(), Some("alice@example.com"));
    assert_eq!(e.kind, MailKind::Person);
}

#[test]
fn gbk_body_decodes_to_chinese_text() {
    let e = parse("gbk_body.eml");
    assert!(e.text_body.as_deref().unwrap().contains(ORDER_BODY), "{:?}", e.text_body);
    assert_eq!(e.from.name.as_deref(), Some("张三"));
}

#[test]
fn gb2312_body_decodes_to_chinese_text() {
    let e = parse("gb2312_body.eml");
    assert!(e.text_body.as_deref().unwrap().contains(ORDER_BODY), "{:?}", e.text_body);
}

#[test]
fn gb18030_body_decodes_including_four_byte_characters() {
    let text = parse("gb18030_body.eml").text_body.unwrap();
    assert!(text.contains(ORDER_BODY), "{text:?}");
    assert!(text.contains("𠀀 扩展字符"), "{text:?}");
}

#[test]
fn base64_encoded_gb2312_subject_decodes() {
    assert_eq!(parse("subject_base64.eml").subject, "订单查询 [#1042]");
}

#[test]
fn quoted_printable_encoded_utf8_subject_decodes() {
    assert_eq!(parse("subject_qp.eml").subject, "订单查询 [#1042]");
}

#[test]
fn multipart_alternative_gives_text_html_and_threading_headers() {
    let e = parse("multipart_attachment.eml");
    assert_eq!(e.text_body.as_deref().map(str::trim), Some("Please see the attached invoice — thanks."));
    assert!(e.html_body.as_deref().unwrap().contains("<p>Please see"));
    assert_eq!(e.in_reply_to, vec!["ack-9@hotline.test"]);
    assert_eq!(e.references, vec!["root-1@example.com", "ack-9@hotline.test"]);
    assert_eq!(e.cc[0].address, "carol@example.com");
}

#[test]
fn allowed_attachment_is_kept_and_unknown_type_is_rejected_with_a_reason() {
    let e = parse("multipart_attachment.eml");
    assert_eq!(e.attachments.len(), 1);
    let pdf = &e.attachments[0];
    assert_eq!(pdf.filename.as_deref(), Some("invoice.pdf"));
    assert_eq!(pdf.content_type, "application/pdf");
    assert!(pdf.data.starts_with(b"%PDF-1.4"));
    assert_eq!(pdf.size_bytes, pdf.data.len());
    assert_eq!(e.rejected_attachments.len(), 1);
    assert_eq!(e.rejected_attachments[0].filename.as_deref(), Some("setup.exe"));
    assert_eq!(e.rejected_attachments[0].reason, RejectReason::TypeBlocked, "an .exe is on the default block list");
}

#[test]
fn attachment_over_the_size_limit_is_rejected() {
    let limits = MimeLimits { max_attachment_bytes: 10, ..MimeLimits::default() };
    let e = mime::parse(&fixture("multipart_attachment.eml"), None, &limits).unwrap();
    assert!(e.attachments.is_empty());
    assert!(e.rejected_attachments.iter().any(|r| r.reason == RejectReason::TooLarge));
}

#[test]
fn delivery_status_report_from_mailer_daemon_is_a_bounce() {
    let e = parse("bounce.eml");
    assert_eq!(e.kind, MailKind::Bounce);
    assert_eq!(e.return_path.as_deref(), Some(""));
}

#[test]
fn null_envelope_sender_alone_marks_a_bounce() {
    let e = mime::parse(&fixture("plain_utf8.eml"), Some(""), &MimeLimits::default()).unwrap();
    assert_eq!(e.kind, MailKind::Bounce);
}

#[test]
fn auto_submitted_message_is_an_auto_reply() {
    assert_eq!(parse("auto_reply.eml").kind, MailKind::AutoReply);
}

#[test]
fn list_headers_mark_mailing_list_mail() {
    let e = parse("mailing_list.eml");
    assert_eq!(e.kind, MailKind::MailingList);
    assert_eq!(e.list_id.as_deref(), Some("weekly.lists.example.com"));
}

#[test]
fn oversized_message_is_refused_before_parsing() {
    let limits = MimeLimits { max_message_bytes: 100, ..MimeLimits::default() };
    let err = mime::parse(&fixture("plain_utf8.eml"), None, &limits).unwrap_err();
    assert!(matches!(err, MimeError::TooLarge { max_message_bytes: 100, .. }));
}

#[test]
fn message_without_from_is_a_clear_error() {
    let err = mime::parse(b"Subject: hi\r\n\r\nbody\r\n", None, &MimeLimits::default()).unwrap_err();
    assert_eq!(err, MimeError::MissingFrom);
    assert_eq!(mime::parse(b"", None, &MimeLimits::default()).unwrap_err(), MimeError::Empty);
}

#[test]
fn reference_lists_keep_the_root_and_the_newest_ids() {
    let refs: String = (0..100).map(|i| format!("<r{i}@x>")).collect::<Vec<_>>().join(" ");
    let raw = format!("From: a@x.test\r\nReferences: {refs}\r\n\r\nhi\r\n");
    let limits = MimeLimits { max_references: 5, ..MimeLimits::default() };
    let e = mime::parse(raw.as_bytes(), None, &limits).unwrap();
    assert_eq!(e.references, vec!["r0@x", "r96@x", "r97@x", "r98@x", "r99@x"]);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn random_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = mime::parse(&bytes, None, &MimeLimits::default());
        }

        #[test]
        fn mutated_fixture_parses_or_fails_cleanly(pos in 0usize..2000, byte in any::<u8>(), cut in 0usize..2000) {
            let mut raw = fixture("multipart_attachment.eml");
            let len = raw.len();
            raw[pos % len] = byte;
            raw.truncate(cut.max(1).min(len));
            let _ = mime::parse(&raw, Some(""), &MimeLimits::default());
        }
    }
}

#[test]
fn chinese_attachment_names_and_base64_gb18030_body_decode() {
    let e = parse("chinese_attachment_names.eml");
    assert_eq!(e.from.name.as_deref(), Some("李四"));
    assert_eq!(e.subject, "发票");
    assert_eq!(e.text_body.as_deref().map(str::trim), Some("请查收发票。"));
    let names: Vec<&str> = e.attachments.iter().filter_map(|a| a.filename.as_deref()).collect();
    assert_eq!(names, ["发票.pdf", "截图.png"]);
    assert_eq!(e.attachments[1].content_type, "image/png");
}

#[test]
fn too_many_received_hops_is_a_mail_loop() {
    let hops: String = (0..31)
        .map(|i| format!("Received: from hop{i}.example.com by mx; Fri, 27 Nov 2026 05:00:00 +0000\r\n"))
        .collect();
    let raw = format!("{hops}From: a@x.test\r\nSubject: loop\r\n\r\nhi\r\n");
    let err = mime::parse(raw.as_bytes(), None, &MimeLimits::default()).unwrap_err();
    assert_eq!(err, MimeError::MailLoop { received_headers: 31, max_received_headers: 30 });
}

/// A multipart message with one attachment whose Content-Disposition is `disposition` (raw bytes).
fn with_attachment(disposition: &[u8], content_type: &str) -> Vec<u8> {
    let mut raw = b"From: a@x.test\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
        .to_vec();
    raw.extend_from_slice(format!("Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n").as_bytes());
    raw.extend_from_slice(disposition);
    raw.extend_from_slice(b"\r\n\r\nJVBERi0xLjQKJSB6aAo=\r\n--b--\r\n");
    raw
}

#[test]
fn rfc2231_gbk_attachment_name_decodes() {
    let raw = with_attachment(b"Content-Disposition: attachment; filename*=gbk''%B6%A9%B5%A5.pdf", "application/pdf");
    let e = mime::parse(&raw, None, &MimeLimits::default()).unwrap();
    assert_eq!(e.attachments[0].filename.as_deref(), Some("订单.pdf"));
}

#[test]
fn raw_8bit_gbk_attachment_name_decodes() {
    let raw = with_attachment(b"Content-Disposition: attachment; filename=\"\xb7\xa2\xc6\xb1.pdf\"", "application/pdf");
    let e = mime::parse(&raw, None, &MimeLimits::default()).unwrap();
    assert_eq!(e.attachments[0].filename.as_deref(), Some("发票.pdf"));
}

#[test]
fn blocked_type_is_refused_even_when_every_type_is_allowed() {
    let limits = MimeLimits { allowed_attachment_types: Vec::new(), ..MimeLimits::default() };
    let raw = with_attachment(b"Content-Disposition: attachment; filename=\"x.sh\"", "application/x-sh");
    let e = mime::parse(&raw, None, &limits).unwrap();
    assert!(e.attachments.is_empty());
    assert_eq!(e.rejected_attachments[0].reason, RejectReason::TypeBlocked);
    assert_eq!(e.rejected_attachments[0].explain(&limits), "type application/x-sh is blocked");
    let raw = with_attachment(b"Content-Disposition: attachment; filename=\"a.bin\"", "application/x-anything");
    assert_eq!(mime::parse(&raw, None, &limits).unwrap().attachments.len(), 1, "an empty allow-list allows all");
    let by_default = mime::parse(&raw, None, &MimeLimits::default()).unwrap();
    assert_eq!(by_default.rejected_attachments[0].reason, RejectReason::TypeNotAllowed);
}
