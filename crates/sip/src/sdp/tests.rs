use super::*;

const OFFER: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 8 0 96 101\r\n\
a=rtpmap:96 opus/48000/2\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
m=video 51372 RTP/AVP 31\r\n\
a=rtpmap:31 H261/90000\r\n";

fn local(direction: Direction) -> LocalMedia {
    LocalMedia {
        address: "203.0.113.5".parse().expect("ip"),
        rtp_port: 20000,
        direction,
        session_id: 7,
        session_version: 1,
    }
}

fn offer_with(extra_audio_attr: &str) -> SessionDescription {
    let text = OFFER.replace("a=ptime:20\r\n", &format!("a=ptime:20\r\n{extra_audio_attr}"));
    SessionDescription::parse(&text).expect("offer parses")
}

#[test]
fn parses_media_rtpmap_fmtp_and_ptime() {
    let sd = SessionDescription::parse(OFFER).expect("parses");
    assert_eq!(sd.media.len(), 2);
    let audio = &sd.media[0];
    assert_eq!(audio.formats, vec!["8", "0", "96", "101"]);
    assert_eq!(audio.fmtp(101), Some("0-15"));
    assert_eq!(audio.ptime_ms(), Some(20));
    assert_eq!(audio.rtpmaps()[0].channels, Some(2));
    assert_eq!(sd.direction_of(audio), Direction::SendRecv);
}

#[test]
fn writing_and_reparsing_keeps_the_description() {
    let sd = SessionDescription::parse(OFFER).expect("parses");
    assert_eq!(SessionDescription::parse(&sd.to_string()), Ok(sd));
}

#[test]
fn refuses_garbage_and_missing_origin() {
    assert_eq!(SessionDescription::parse("hello"), Err(SdpError::BadVersion));
    assert_eq!(SessionDescription::parse("v=0\r\ns=-\r\n"), Err(SdpError::MissingOrigin));
    assert_eq!(
        SessionDescription::parse("v=0\r\no=a 1 1 IN IP4 x\r\nm=audio x RTP/AVP 0\r\n"),
        Err(SdpError::BadMedia)
    );
}

#[test]
fn answer_takes_the_offers_first_codec_we_accept_with_its_payload_type() {
    // The offer lists 8 0 96 101: PCMA first, then PCMU; opus is not ours.
    let (answer, agreed) =
        answer_offer(&offer_with(""), &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert_eq!(agreed.codec, AudioCodec::Pcma);
    assert_eq!(agreed.payload_type, 8);
    assert_eq!(agreed.telephone_event_payload_type, Some(101));
    assert_eq!(agreed.remote_rtp, Some("192.0.2.10:49170".parse().expect("addr")));
    assert_eq!(answer.media[0].port, 20000);
    assert_eq!(answer.media[0].formats, vec!["8", "101"]);
    assert_eq!(answer.media[0].fmtp(101), Some("0-15"));
    assert_eq!(answer.connection.as_ref().map(|c| c.address.as_str()), Some("203.0.113.5"));
}

#[test]
fn answer_rejects_the_video_stream_with_port_zero() {
    let (answer, _) = answer_offer(&offer_with(""), &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert_eq!(answer.media.len(), 2);
    assert_eq!((answer.media[1].media.as_str(), answer.media[1].port), ("video", 0));
}

#[test]
fn answer_follows_the_offerers_order_pcma_first_or_pcmu_first() {
    let offer = |formats: &str| {
        let text = OFFER.replace("m=audio 49170 RTP/AVP 8 0 96 101", &format!("m=audio 49170 RTP/AVP {formats}"));
        SessionDescription::parse(&text).expect("parses")
    };
    for (formats, codec, answered) in
        [("8 0 101", AudioCodec::Pcma, vec!["8", "101"]), ("0 8 101", AudioCodec::Pcmu, vec!["0", "101"])]
    {
        let (answer, agreed) =
            answer_offer(&offer(formats), &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
        assert_eq!((agreed.codec, agreed.telephone_event_payload_type), (codec, Some(101)), "offer {formats}");
        assert_eq!(answer.media[0].formats, answered, "offer {formats}");
    }
}

#[test]
fn the_policy_limits_which_offered_codecs_an_answer_may_take() {
    let policy = AudioPolicy { codecs: vec![AudioCodec::Pcmu], ..AudioPolicy::default() };
    let (_, agreed) = answer_offer(&offer_with(""), &local(Direction::SendRecv), &policy).expect("ok");
    assert_eq!((agreed.codec, agreed.payload_type), (AudioCodec::Pcmu, 0));
}

#[test]
fn sendonly_offer_is_answered_recvonly_and_seen_as_hold() {
    let (answer, agreed) =
        answer_offer(&offer_with("a=sendonly\r\n"), &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert_eq!(answer.direction_of(&answer.media[0]), Direction::RecvOnly);
    assert!(agreed.remote_hold);
}

#[test]
fn inactive_offer_is_answered_inactive() {
    let (_, agreed) =
        answer_offer(&offer_with("a=inactive\r\n"), &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert_eq!(agreed.direction, Direction::Inactive);
    assert!(agreed.remote_hold);
}

#[test]
fn recvonly_offer_is_answered_sendonly_and_is_not_hold() {
    let (_, agreed) =
        answer_offer(&offer_with("a=recvonly\r\n"), &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert_eq!(agreed.direction, Direction::SendOnly);
    assert!(!agreed.remote_hold);
}

#[test]
fn zero_address_offer_is_rfc2543_hold() {
    let text = OFFER.replace("c=IN IP4 192.0.2.10", "c=IN IP4 0.0.0.0");
    let offer = SessionDescription::parse(&text).expect("parses");
    let (_, agreed) = answer_offer(&offer, &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert!(agreed.remote_hold);
    assert_eq!(agreed.remote_rtp, None);
}

#[test]
fn our_hold_answers_sendonly_to_a_sendrecv_offer() {
    let (_, agreed) = answer_offer(&offer_with(""), &local(Direction::SendOnly), &AudioPolicy::default()).expect("ok");
    assert_eq!(agreed.direction, Direction::SendOnly);
}

#[test]
fn no_common_codec_is_a_488() {
    let text = OFFER.replace("m=audio 49170 RTP/AVP 8 0 96 101", "m=audio 49170 RTP/AVP 96");
    let offer = SessionDescription::parse(&text).expect("parses");
    let err = answer_offer(&offer, &local(Direction::SendRecv), &AudioPolicy::default()).expect_err("no codec");
    assert_eq!(err.status().as_u16(), 488);
}

#[test]
fn dynamic_payload_type_named_pcma_is_recognised() {
    let text = OFFER
        .replace("m=audio 49170 RTP/AVP 8 0 96 101", "m=audio 49170 RTP/AVP 97")
        .replace("a=rtpmap:96 opus/48000/2", "a=rtpmap:97 PCMA/8000");
    let offer = SessionDescription::parse(&text).expect("parses");
    let (_, agreed) = answer_offer(&offer, &local(Direction::SendRecv), &AudioPolicy::default()).expect("ok");
    assert_eq!((agreed.codec, agreed.payload_type), (AudioCodec::Pcma, 97));
}

#[test]
fn our_offer_lists_codecs_in_preference_and_is_read_back_from_an_answer() {
    let offer = create_offer(&local(Direction::SendRecv), &AudioPolicy::default());
    assert_eq!(offer.media[0].formats, vec!["0", "8", "101"]);
    let peer =
        LocalMedia { address: "198.51.100.7".parse().expect("ip"), rtp_port: 30000, ..local(Direction::SendRecv) };
    let (answer, _) = answer_offer(&offer, &peer, &AudioPolicy::default()).expect("peer answers");
    let agreed = read_answer(&answer, &AudioPolicy::default(), Direction::SendRecv).expect("usable");
    assert_eq!(agreed.remote_rtp, Some("198.51.100.7:30000".parse().expect("addr")));
    assert_eq!(agreed.codec, AudioCodec::Pcmu);
}

#[test]
fn lines_out_of_the_usual_order_are_written_in_rfc_order() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nb=AS:64\r\ni=info\r\nt=0 0\r\n";
    let sd = SessionDescription::parse(text).expect("parses");
    assert_eq!(sd.other[0].0, 'i');
    assert_eq!(SessionDescription::parse(&sd.to_string()), Ok(sd));
}
