//! The text form of a contact's reporting events, as stored in `report_contacts.events`: one
//! line per event, `ID AT CHANNEL KIND [FIELDS]`, fields separated by one space. Ids are 32 hex
//! digits, or `=` when the id is the one [`derived_event_id`] gives for that contact and kind
//! (what [`crate::contact_inputs`] uses), which keeps a record near 40 bytes an event.
//!
//! Decoding never panics: a line that does not parse is [`ReportError::Corrupt`] naming the
//! contact, so a hand-edited row is reported, not counted wrong.

use kpi::aggregate::{ContactEvent, ContactEventKind};
use model::{
    AgentId, Channel, ContactEventId, ContactId, CustomerId, DurationMs, QueueId, ReasonCode, SurveyKind, Timestamp,
};

use crate::ReportError;

/// The kind's one-letter tag (also what derived ids mix in).
fn tag(kind: &ContactEventKind) -> char {
    match kind {
        ContactEventKind::IvrEntered => 'i',
        ContactEventKind::IvrSelfServiceSucceeded => 's',
        ContactEventKind::Queued { .. } => 'q',
        ContactEventKind::Answered { .. } => 'a',
        ContactEventKind::Abandoned => 'x',
        ContactEventKind::LeftQueue => 'l',
        ContactEventKind::HandlingEnded { .. } => 'h',
        ContactEventKind::Ended => 'e',
        ContactEventKind::IssueIdentified { .. } => 't',
        ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, .. } => 'c',
        ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, .. } => 'n',
    }
}

/// The event id of a contact's one event of a kind, derived from the contact id: the same
/// contact, stored and re-ingested, gives the same ids, so re-ingesting it counts nothing twice.
/// (SplitMix64 finalisers over both halves; distinct contacts collide with probability ~2⁻¹²⁸.)
pub fn derived_event_id(contact: ContactId, kind: &ContactEventKind) -> ContactEventId {
    let c = contact.as_uuid().as_u128();
    let t = u64::from(u32::from(tag(kind)));
    let hi = mix((c >> 64) as u64 ^ t.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let lo = mix(c as u64 ^ hi ^ t);
    ContactEventId::from_u128((u128::from(hi) << 64) | u128::from(lo))
}

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hex<T: Copy>(id: T, as_u128: impl Fn(T) -> u128) -> String {
    format!("{:032x}", as_u128(id))
}

/// Writes a contact's events, one line each.
pub fn encode(contact: ContactId, events: &[ContactEvent]) -> String {
    let mut out = String::with_capacity(events.len() * 48);
    for e in events {
        if !out.is_empty() {
            out.push('\n');
        }
        let id = if e.id == derived_event_id(contact, &e.kind) {
            "=".to_owned()
        } else {
            hex(e.id, |i| i.as_uuid().as_u128())
        };
        out.push_str(&format!("{id} {} {} {}", e.at.unix_ms(), e.channel.as_str(), tag(&e.kind)));
        match &e.kind {
            ContactEventKind::Queued { queue, customer } => {
                out.push_str(&format!(" {}", hex(*queue, |q| q.as_uuid().as_u128())));
                match customer {
                    Some(c) => out.push_str(&format!(" {}", hex(*c, |c| c.as_uuid().as_u128()))),
                    None => out.push_str(" -"),
                }
            }
            ContactEventKind::Answered { agent } => {
                out.push_str(&format!(" {}", hex(*agent, |a| a.as_uuid().as_u128())))
            }
            ContactEventKind::HandlingEnded { agent, talk, hold, wrap_up, transferred } => out.push_str(&format!(
                " {} {} {} {} {}",
                hex(*agent, |a| a.as_uuid().as_u128()),
                talk.as_ms(),
                hold.as_ms(),
                wrap_up.as_ms(),
                u8::from(*transferred)
            )),
            ContactEventKind::IssueIdentified { issue_type } => out.push_str(&format!(" {}", issue_type.as_str())),
            ContactEventKind::SurveyAnswered { score, .. } => out.push_str(&format!(" {score}")),
            _ => {}
        }
    }
    out
}

/// Reads a contact's events back.
pub fn decode(contact: ContactId, text: &str) -> Result<Vec<ContactEvent>, ReportError> {
    text.lines().filter(|l| !l.is_empty()).map(|line| decode_line(contact, line)).collect()
}

fn decode_line(contact: ContactId, line: &str) -> Result<ContactEvent, ReportError> {
    let corrupt = |why: &str| ReportError::Corrupt { contact, reason: format!("{why} in {line:?}") };
    let mut f = line.split(' ');
    let mut next = |what: &str| f.next().ok_or_else(|| corrupt(&format!("no {what}")));
    let id_text = next("id")?;
    let at = next("time")?.parse::<i64>().map_err(|_| corrupt("bad time"))?;
    let channel: Channel = next("channel")?.parse().map_err(|_| corrupt("bad channel"))?;
    let tag = next("kind")?;
    let u128_of = |s: &str| u128::from_str_radix(s, 16).map_err(|_| corrupt("bad id"));
    let ms = |s: &str| s.parse::<u64>().map(DurationMs::from_ms).map_err(|_| corrupt("bad duration"));
    let score = |s: &str| s.parse::<u8>().map_err(|_| corrupt("bad score"));
    let kind = match tag {
        "i" => ContactEventKind::IvrEntered,
        "s" => ContactEventKind::IvrSelfServiceSucceeded,
        "q" => {
            let queue = QueueId::from_u128(u128_of(next("queue")?)?);
            let customer = match next("customer")? {
                "-" => None,
                c => Some(CustomerId::from_u128(u128_of(c)?)),
            };
            ContactEventKind::Queued { queue, customer }
        }
        "a" => ContactEventKind::Answered { agent: AgentId::from_u128(u128_of(next("agent")?)?) },
        "x" => ContactEventKind::Abandoned,
        "l" => ContactEventKind::LeftQueue,
        "h" => ContactEventKind::HandlingEnded {
            agent: AgentId::from_u128(u128_of(next("agent")?)?),
            talk: ms(next("talk")?)?,
            hold: ms(next("hold")?)?,
            wrap_up: ms(next("wrap-up")?)?,
            transferred: next("transferred")? == "1",
        },
        "e" => ContactEventKind::Ended,
        "t" => ContactEventKind::IssueIdentified {
            issue_type: ReasonCode::parse(next("issue")?).map_err(|_| corrupt("bad issue type"))?,
        },
        "c" => ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score: score(next("score")?)? },
        "n" => ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, score: score(next("score")?)? },
        _ => return Err(corrupt("unknown kind")),
    };
    if f.next().is_some() {
        return Err(corrupt("extra fields"));
    }
    let id = match id_text {
        "=" => derived_event_id(contact, &kind),
        h => ContactEventId::from_u128(u128_of(h)?),
    };
    Ok(ContactEvent { id, contact, channel, at: Timestamp::from_unix_ms(at), kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: ContactEventId, kind: ContactEventKind) -> ContactEvent {
        let contact = ContactId::from_u128(7);
        ContactEvent { id, contact, channel: Channel::WeChat, at: Timestamp::from_unix_ms(-5), kind }
    }

    #[test]
    fn every_kind_round_trips_with_derived_and_explicit_ids() {
        let contact = ContactId::from_u128(7);
        let kinds = vec![
            ContactEventKind::IvrEntered,
            ContactEventKind::IvrSelfServiceSucceeded,
            ContactEventKind::Queued { queue: QueueId::from_u128(1), customer: Some(CustomerId::from_u128(u128::MAX)) },
            ContactEventKind::Queued { queue: QueueId::from_u128(1), customer: None },
            ContactEventKind::Answered { agent: AgentId::from_u128(3) },
            ContactEventKind::Abandoned,
            ContactEventKind::LeftQueue,
            ContactEventKind::HandlingEnded {
                agent: AgentId::from_u128(3),
                talk: DurationMs::from_ms(1),
                hold: DurationMs::from_ms(2),
                wrap_up: DurationMs::from_ms(3),
                transferred: true,
            },
            ContactEventKind::Ended,
            ContactEventKind::IssueIdentified { issue_type: ReasonCode::parse("billing").expect("code") },
            ContactEventKind::SurveyAnswered { kind: SurveyKind::Csat, score: 4 },
            ContactEventKind::SurveyAnswered { kind: SurveyKind::Nps, score: 10 },
        ];
        let mut events: Vec<ContactEvent> = kinds.iter().map(|k| ev(derived_event_id(contact, k), k.clone())).collect();
        events.extend(kinds.into_iter().enumerate().map(|(i, k)| ev(ContactEventId::from_u128(1000 + i as u128), k)));
        let text = encode(contact, &events);
        assert!(text.starts_with("= -5 wechat i\n"), "{text}");
        assert_eq!(decode(contact, &text).expect("decode"), events);
    }

    #[test]
    fn derived_ids_differ_by_kind_and_contact() {
        let a = derived_event_id(ContactId::from_u128(1), &ContactEventKind::Ended);
        assert_ne!(a, derived_event_id(ContactId::from_u128(2), &ContactEventKind::Ended));
        assert_ne!(a, derived_event_id(ContactId::from_u128(1), &ContactEventKind::Abandoned));
    }

    #[test]
    fn corrupt_lines_are_errors_not_panics() {
        let contact = ContactId::from_u128(7);
        for bad in [
            "",
            "= 1 voice",
            "= x voice e",
            "= 1 fax e",
            "= 1 voice z",
            "= 1 voice e extra",
            "zz 1 voice e",
            "= 1 voice c 4 5",
            "= 1 voice t Bad Code",
        ] {
            let result = decode(contact, bad);
            assert!(bad.is_empty() == result.is_ok(), "{bad:?} gave {result:?}");
        }
    }
}
