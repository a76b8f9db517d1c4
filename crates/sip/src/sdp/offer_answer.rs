//! RFC 3264 offer/answer for one audio stream with G.711 (PCMU, PCMA) and RFC 4733
//! telephone-event.
//!
//! Pure functions: an offer (or answer) and our policy in, the description to send and what was
//! agreed out. Never panics; "no common codec" is an error the caller answers with 488.

use std::net::{IpAddr, SocketAddr};

use thiserror::Error;

use super::{Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SessionDescription};

/// The audio codecs Hotline speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioCodec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl AudioCodec {
    pub fn static_payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }
}

/// What we accept and prefer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPolicy {
    /// The codecs we accept, in the order our own offers list them. Answering an offer, the
    /// offer's first codec among them is chosen (the offerer's order, as Asterisk and
    /// FreeSWITCH's generous negotiation do; RFC 3264 §6.1 leaves the choice to the answerer).
    pub codecs: Vec<AudioCodec>,
    /// Offer/accept RFC 4733 telephone-event for DTMF.
    pub telephone_event: bool,
    /// Payload type we use for telephone-event in our own offers.
    pub telephone_event_payload_type: u8,
    /// Packetisation time we ask for (`a=ptime`), when set.
    pub ptime_ms: Option<u32>,
}

impl Default for AudioPolicy {
    fn default() -> Self {
        AudioPolicy {
            codecs: vec![AudioCodec::Pcmu, AudioCodec::Pcma],
            telephone_event: true,
            telephone_event_payload_type: 101,
            ptime_ms: Some(20),
        }
    }
}

/// Our side of the session: where we receive RTP, and the o= identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    pub address: IpAddr,
    pub rtp_port: u16,
    /// The direction we want (sendonly to put the other side on hold).
    pub direction: Direction,
    pub session_id: u64,
    /// Incremented by the caller for every new description in the same session (RFC 3264 §8).
    pub session_version: u64,
}

/// What an offer/answer exchange agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: AudioCodec,
    /// Payload type to use for the codec (the offerer's numbering).
    pub payload_type: u8,
    /// Payload type of telephone-event, when both sides do RFC 4733.
    pub telephone_event_payload_type: Option<u8>,
    /// Where to send RTP; `None` when the peer gave no usable address (0.0.0.0 hold).
    pub remote_rtp: Option<SocketAddr>,
    /// Our direction after the exchange.
    pub direction: Direction,
    /// True when the remote side put the call on hold (it will not receive: sendonly/inactive, RFC 3264
    /// §8.4, or c=0.0.0.0, RFC 2543).
    pub remote_hold: bool,
    pub ptime_ms: Option<u32>,
}

/// Why an offer or answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OfferAnswerError {
    #[error("no audio stream with a codec we support")]
    NoCommonCodec,
    #[error("the answer does not match our offer")]
    AnswerMismatch,
}

impl OfferAnswerError {
    /// The SIP status to answer an unusable offer with (488 Not Acceptable Here).
    pub fn status(&self) -> crate::StatusCode {
        crate::StatusCode::NOT_ACCEPTABLE_HERE
    }
}

/// Finds our preferred codec in an m-line: by static payload type, or by rtpmap name at 8000 Hz.
fn choose_codec(media: &MediaDescription, policy: &AudioPolicy) -> Option<(AudioCodec, u8)> {
    let maps = media.rtpmaps();
    policy.codecs.iter().find_map(|codec| {
        media
            .formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .find_map(|pt| is_codec(&maps, pt, *codec).then_some((*codec, pt)))
    })
}

/// Finds the offer's first codec (its order of preference) that the policy accepts.
fn first_offered_codec(media: &MediaDescription, policy: &AudioPolicy) -> Option<(AudioCodec, u8)> {
    let maps = media.rtpmaps();
    media
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find_map(|pt| policy.codecs.iter().find(|codec| is_codec(&maps, pt, **codec)).map(|codec| (*codec, pt)))
}

/// Payload type `pt` of an m-line is `codec`: by its rtpmap (name at 8000 Hz), or without one by
/// the codec's static payload type.
fn is_codec(maps: &[RtpMap], pt: u8, codec: AudioCodec) -> bool {
    match maps.iter().find(|m| m.payload_type == pt) {
        Some(m) => m.encoding.eq_ignore_ascii_case(codec.encoding_name()) && m.clock_rate == 8000,
        None => pt == codec.static_payload_type(),
    }
}

fn telephone_event_of(media: &MediaDescription) -> Option<u8> {
    media
        .rtpmaps()
        .into_iter()
        .find(|m| m.encoding.eq_ignore_ascii_case("telephone-event") && m.clock_rate == 8000)
        .map(|m| m.payload_type)
        .filter(|pt| media.formats.iter().any(|f| f.parse::<u8>().ok() == Some(*pt)))
}

fn is_audio_rtp(media: &MediaDescription) -> bool {
    media.media.eq_ignore_ascii_case("audio") && media.protocol.eq_ignore_ascii_case("RTP/AVP") && media.port != 0
}

fn remote_address(sd: &SessionDescription, media: &MediaDescription) -> Option<SocketAddr> {
    let ip = sd.connection_of(media)?.ip()?;
    (!ip.is_unspecified() && media.port != 0).then(|| SocketAddr::new(ip, media.port))
}

fn base_description(local: &LocalMedia) -> SessionDescription {
    let connection = Connection::from_ip(local.address);
    SessionDescription {
        origin: Origin {
            username: "hotline".into(),
            session_id: local.session_id,
            session_version: local.session_version,
            connection: connection.clone(),
        },
        session_name: "hotline".into(),
        connection: Some(connection),
        timing: (0, 0),
        attributes: Vec::new(),
        other: Vec::new(),
        media: Vec::new(),
    }
}

fn audio_media(
    local: &LocalMedia,
    codecs: &[(AudioCodec, u8)],
    te: Option<(u8, &str)>,
    ptime: Option<u32>,
    dir: Direction,
) -> MediaDescription {
    let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|(c, pt)| Attribute { name: "rtpmap".into(), value: Some(format!("{pt} {}/8000", c.encoding_name())) })
        .collect();
    if let Some((pt, events)) = te {
        formats.push(pt.to_string());
        attributes.push(Attribute { name: "rtpmap".into(), value: Some(format!("{pt} telephone-event/8000")) });
        attributes.push(Attribute { name: "fmtp".into(), value: Some(format!("{pt} {events}")) });
    }
    if let Some(p) = ptime {
        attributes.push(Attribute { name: "ptime".into(), value: Some(p.to_string()) });
    }
    attributes.push(Attribute { name: dir.as_str().into(), value: None });
    MediaDescription {
        media: "audio".into(),
        port: local.rtp_port,
        port_count: None,
        protocol: "RTP/AVP".into(),
        formats,
        connection: None,
        attributes,
        other: Vec::new(),
    }
}

/// A rejected stream in an answer: same media and formats, port 0 (RFC 3264 §6).
fn rejected(offered: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: offered.media.clone(),
        port: 0,
        port_count: None,
        protocol: offered.protocol.clone(),
        formats: offered.formats.clone(),
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    }
}

/// Answers an offer: the first audio stream with a common codec is accepted with our address,
/// every other stream is rejected with port 0. Directions answer per RFC 3264 §6.1.
pub fn answer_offer(
    offer: &SessionDescription,
    local: &LocalMedia,
    policy: &AudioPolicy,
) -> Result<(SessionDescription, Negotiated), OfferAnswerError> {
    let mut answer = base_description(local);
    let mut agreed = None;
    for offered in &offer.media {
        let choice =
            if agreed.is_none() && is_audio_rtp(offered) { first_offered_codec(offered, policy) } else { None };
        let Some((codec, pt)) = choice else {
            answer.media.push(rejected(offered));
            continue;
        };
        let te = if policy.telephone_event { telephone_event_of(offered) } else { None };
        let events = te.and_then(|pt| offered.fmtp(pt)).unwrap_or("0-16").to_owned();
        let offered_direction = offer.direction_of(offered);
        let direction = offered_direction.reversed().intersect(local.direction);
        let ptime = offered.ptime_ms().or(policy.ptime_ms);
        answer.media.push(audio_media(local, &[(codec, pt)], te.map(|pt| (pt, events.as_str())), ptime, direction));
        let remote_rtp = remote_address(offer, offered);
        agreed = Some(Negotiated {
            codec,
            payload_type: pt,
            telephone_event_payload_type: te,
            remote_rtp,
            direction,
            remote_hold: !offered_direction.receives() || remote_rtp.is_none(),
            ptime_ms: ptime,
        });
    }
    agreed.map(|n| (answer, n)).ok_or(OfferAnswerError::NoCommonCodec)
}

/// Our offer: one audio stream with every codec of the policy, in preference order.
pub fn create_offer(local: &LocalMedia, policy: &AudioPolicy) -> SessionDescription {
    let mut offer = base_description(local);
    let codecs: Vec<(AudioCodec, u8)> = policy.codecs.iter().map(|c| (*c, c.static_payload_type())).collect();
    let te = policy.telephone_event.then_some((policy.telephone_event_payload_type, "0-16"));
    offer.media.push(audio_media(local, &codecs, te, policy.ptime_ms, local.direction));
    offer
}

/// Reads the answer to an offer we made with [`create_offer`].
pub fn read_answer(
    answer: &SessionDescription,
    policy: &AudioPolicy,
    ours: Direction,
) -> Result<Negotiated, OfferAnswerError> {
    let media = answer.media.first().ok_or(OfferAnswerError::AnswerMismatch)?;
    if !is_audio_rtp(media) {
        return Err(OfferAnswerError::NoCommonCodec);
    }
    let (codec, payload_type) = choose_codec(media, policy).ok_or(OfferAnswerError::NoCommonCodec)?;
    let answered = answer.direction_of(media);
    let remote_rtp = remote_address(answer, media);
    Ok(Negotiated {
        codec,
        payload_type,
        telephone_event_payload_type: if policy.telephone_event { telephone_event_of(media) } else { None },
        remote_rtp,
        direction: answered.reversed().intersect(ours),
        remote_hold: !answered.receives() || remote_rtp.is_none(),
        ptime_ms: media.ptime_ms(),
    })
}
