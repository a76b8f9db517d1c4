//! WeChat callback: real signatures, the documented sample XMLs, passive replies and hostile XML.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use model::Timestamp;
use social::wechat::xml::{self, NO_REPLY};
use social::wechat::{
    CallbackConfig, CallbackError, CallbackQuery, CallbackVerifier, PassiveReply, WeChatMessage, XmlError, XmlLimits,
    signature,
};

const TOKEN: &str = "hotline";
const TS: &str = "1764222000";
/// `sha1("1764222000" + "8849" + "hotline")` computed independently with Python's hashlib.
const SIGNATURE: &str = "c5e116cc727080d5b7805e11723161b6e67a8731";

fn now() -> Timestamp {
    Timestamp::from_unix_ms(1_764_222_000_000 + 30_000)
}

fn verifier() -> CallbackVerifier {
    CallbackVerifier::new(CallbackConfig { token: TOKEN.into(), max_clock_skew_ms: 300_000, xml: XmlLimits::default() })
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/wechat_samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn signed_query(extra: &str) -> CallbackQuery {
    CallbackQuery::parse(&format!("signature={SIGNATURE}&timestamp={TS}&nonce=8849{extra}"))
}

#[test]
fn signature_matches_an_independent_sha1() {
    assert_eq!(signature(TOKEN, TS, "8849"), SIGNATURE);
}

#[test]
fn echostr_handshake_answers_the_echo_when_signed() {
    assert_eq!(
        verifier().handshake(now(), &signed_query("&echostr=5837397520665436492")).unwrap(),
        "5837397520665436492"
    );
}

#[test]
fn wrong_signature_is_refused() {
    let mut q = signed_query("&echostr=1");
    q.signature = "c5e116cc727080d5b7805e11723161b6e67a8730".into();
    assert_eq!(verifier().handshake(now(), &q), Err(CallbackError::BadSignature));
    q.signature = "short".into();
    assert_eq!(verifier().verify(now(), &q), Err(CallbackError::BadSignature));
}

#[test]
fn signature_with_another_token_is_refused_before_the_body_is_parsed() {
    let q = CallbackQuery::parse(&format!("signature={}&timestamp={TS}&nonce=8849", signature("other", TS, "8849")));
    assert_eq!(verifier().receive(now(), &q, b"<!DOCTYPE x>"), Err(CallbackError::BadSignature));
}

#[test]
fn stale_timestamp_is_refused_even_when_signed() {
    let later = Timestamp::from_unix_ms(1_764_222_000_000 + 301_000);
    assert!(matches!(verifier().verify(later, &signed_query("")), Err(CallbackError::StaleTimestamp { .. })));
}

#[test]
fn missing_parameters_are_named() {
    let q = CallbackQuery::parse(&format!("signature={SIGNATURE}&timestamp={TS}"));
    assert_eq!(verifier().verify(now(), &q), Err(CallbackError::MissingParameter("nonce")));
}

#[test]
fn documented_text_sample_parses() {
    let m = verifier().receive(now(), &signed_query(""), &sample("text.xml")).unwrap();
    assert_eq!(m.to_user, "toUser");
    assert_eq!(m.from_user, "fromUser");
    assert_eq!(m.create_time_s, 1_348_831_860);
    assert_eq!(
        m.message,
        WeChatMessage::Text { content: "this is a test".into(), msg_id: Some(1_234_567_890_123_456) }
    );
}

#[test]
fn documented_image_sample_parses() {
    let m = xml::parse_message(&sample("image.xml"), &XmlLimits::default()).unwrap();
    assert_eq!(
        m.message,
        WeChatMessage::Image {
            pic_url: "this is a url".into(),
            media_id: "media_id".into(),
            msg_id: Some(1_234_567_890_123_456)
        }
    );
}

#[test]
fn documented_voice_sample_parses() {
    let m = xml::parse_message(&sample("voice.xml"), &XmlLimits::default()).unwrap();
    assert_eq!(
        m.message,
        WeChatMessage::Voice {
            media_id: "media_id".into(),
            format: "Format".into(),
            recognition: None,
            msg_id: Some(1_234_567_890_123_456)
        }
    );
}

#[test]
fn documented_video_location_and_link_samples_parse() {
    let limits = XmlLimits::default();
    let parse = |name: &str| xml::parse_message(&sample(name), &limits).unwrap().message;
    let video = |short| WeChatMessage::Video {
        media_id: "media_id".into(),
        thumb_media_id: "thumb_media_id".into(),
        short,
        msg_id: Some(1_234_567_890_123_456),
    };
    assert_eq!(parse("video.xml"), video(false));
    assert_eq!(parse("shortvideo.xml"), video(true));
    assert_eq!(
        parse("location.xml"),
        WeChatMessage::Location {
            latitude: "23.134521".into(),
            longitude: "113.358803".into(),
            scale: Some("20".into()),
            label: "位置信息".into(),
            msg_id: Some(1_234_567_890_123_456)
        }
    );
    assert_eq!(
        parse("link.xml"),
        WeChatMessage::Link {
            title: "公众平台官网链接".into(),
            description: "公众平台官网链接".into(),
            url: "url".into(),
            msg_id: Some(1_234_567_890_123_456)
        }
    );
    // A location without its coordinates is malformed, not a message with holes.
    let broken = String::from_utf8(sample("location.xml")).unwrap().replace("<Location_Y>113.358803</Location_Y>", "");
    assert!(xml::parse_message(broken.as_bytes(), &limits).is_err());
}

#[test]
fn documented_subscribe_and_unsubscribe_events_parse() {
    let limits = XmlLimits::default();
    assert_eq!(
        xml::parse_message(&sample("subscribe.xml"), &limits).unwrap().message,
        WeChatMessage::Subscribe { event_key: None }
    );
    assert_eq!(
        xml::parse_message(&sample("subscribe_qrscene.xml"), &limits).unwrap().message,
        WeChatMessage::Subscribe { event_key: Some("qrscene_123123".into()) }
    );
    assert_eq!(xml::parse_message(&sample("unsubscribe.xml"), &limits).unwrap().message, WeChatMessage::Unsubscribe);
}

#[test]
fn escaped_text_without_cdata_is_unescaped() {
    let body = "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>\
                <MsgType>text</MsgType><Content>1 &lt; 2 &amp; &#x4F60;&#22909;</Content></xml>";
    let m = xml::parse_message(body.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(m.message, WeChatMessage::Text { content: "1 < 2 & 你好".into(), msg_id: None });
}

#[test]
fn doctype_and_custom_entities_are_refused() {
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>"#;
    assert_eq!(xml::parse_message(xxe, &XmlLimits::default()), Err(XmlError::DocType));
    let entity = b"<xml><Content>&e;</Content></xml>";
    assert_eq!(xml::parse_message(entity, &XmlLimits::default()), Err(XmlError::Entity("e".into())));
}

#[test]
fn oversized_body_is_refused() {
    let limits = XmlLimits { max_body_bytes: 100, ..XmlLimits::default() };
    assert!(matches!(xml::parse_message(&sample("text.xml"), &limits), Err(XmlError::TooLarge { .. })));
}

#[test]
fn missing_field_is_named() {
    let body = b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>";
    assert_eq!(xml::parse_message(body, &XmlLimits::default()), Err(XmlError::MissingField("Content")));
}

#[test]
fn passive_text_reply_swaps_users_and_survives_cdata_breakers() {
    let inbound = xml::parse_message(&sample("text.xml"), &XmlLimits::default()).unwrap();
    let reply = PassiveReply::Text { content: "你好 ]]> <b>".into() }.to_xml(&inbound, 1_764_222_001);
    assert!(reply.starts_with("<xml><ToUserName><![CDATA[fromUser]]></ToUserName><FromUserName><![CDATA[toUser]]>"));
    assert!(reply.contains("<CreateTime>1764222001</CreateTime><MsgType><![CDATA[text]]></MsgType>"));
    // Read back through our own parser: the content survives intact.
    let back = xml::parse_message(reply.as_bytes(), &XmlLimits::default()).unwrap();
    assert_eq!(back.message, WeChatMessage::Text { content: "你好 ]]> <b>".into(), msg_id: None });
    assert_eq!(NO_REPLY, "success");
}

#[test]
fn passive_image_reply_nests_media_id() {
    let inbound = xml::parse_message(&sample("image.xml"), &XmlLimits::default()).unwrap();
    let reply = PassiveReply::Image { media_id: "m1".into() }.to_xml(&inbound, 5);
    assert!(reply.contains("<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[m1]]></MediaId></Image>"));
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = xml::parse_message(&bytes, &XmlLimits::default());
        }

        #[test]
        fn mutated_samples_parse_or_fail_cleanly(pos in 0usize..400, byte in any::<u8>(), cut in 1usize..400) {
            let mut raw = sample("subscribe_qrscene.xml");
            let len = raw.len();
            raw[pos % len] = byte;
            raw.truncate(cut.min(len));
            let _ = xml::parse_message(&raw, &XmlLimits::default());
        }

        #[test]
        fn any_query_string_never_panics(q in ".{0,200}") {
            let _ = verifier().verify(now(), &CallbackQuery::parse(&q));
        }
    }
}
