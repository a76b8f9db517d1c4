//! Dialogs (RFC 3261 §12): the state two user agents share after an INVITE is answered with a
//! tag — Call-ID and tags, route set, remote target, CSeq counters — and the requests built
//! inside them (BYE, re-INVITE, REFER, ACK for 2xx).
//!
//! Pure data and functions: the caller passes the Via (with a fresh branch) for each request it
//! builds. Loose routing only (RFC 3261 §16.12.1.1: every route set entry with `;lr`); a strict
//! router in the route set is reported as an error rather than mis-routed. Never panics.

use thiserror::Error;

use crate::message::{HeaderName, Method, NameAddr, Request, Response, StatusCode, Uri, Via};

/// Identifies a dialog from our side: Call-ID, our tag, their tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    /// Empty when the peer sent no tag (RFC 2543 peers: a null tag, §12.1.1).
    pub remote_tag: String,
}

/// Early (after a 1xx with a To tag) or confirmed (after a 2xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    Early,
    Confirmed,
}

/// Why a dialog could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialogError {
    #[error("the message lacks a header a dialog needs: {0}")]
    Missing(&'static str),
    #[error("the route set contains a strict router, which is not supported")]
    StrictRouter,
    #[error("the request's CSeq {got} is not above the last one {last}")]
    CSeqOutOfOrder { got: u32, last: u32 },
    #[error("the request does not belong to this dialog")]
    NotThisDialog,
}

impl DialogError {
    /// The response a UAS gives to a request this error refused (§12.2.2).
    pub fn status(&self) -> StatusCode {
        match self {
            DialogError::CSeqOutOfOrder { .. } => StatusCode::SERVER_INTERNAL_ERROR,
            DialogError::NotThisDialog => StatusCode::CALL_DOES_NOT_EXIST,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// One dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    pub state: DialogState,
    /// Our address (From of our requests), with our tag.
    pub local: NameAddr,
    /// Their address (To of our requests), with their tag.
    pub remote: NameAddr,
    /// Where requests in the dialog go: the peer's Contact.
    pub remote_target: Uri,
    /// Our Contact, sent in target-refresh requests.
    pub local_contact: NameAddr,
    /// Route headers for our requests, in order.
    pub route_set: Vec<NameAddr>,
    /// The last CSeq number we used.
    pub local_seq: u32,
    /// The last CSeq number the peer used, once it sent a request.
    pub remote_seq: Option<u32>,
}

fn first_contact(headers: &crate::message::Headers) -> Option<NameAddr> {
    headers.contacts()?.into_iter().find_map(|c| match c {
        crate::message::Contact::Address(a) => Some(*a),
        crate::message::Contact::Star => None,
    })
}

fn record_route(headers: &crate::message::Headers) -> Result<Vec<NameAddr>, DialogError> {
    let routes = headers.routes(&HeaderName::RecordRoute).ok_or(DialogError::Missing("Record-Route"))?;
    if routes.iter().any(|r| !r.uri.params.contains("lr")) {
        return Err(DialogError::StrictRouter);
    }
    Ok(routes)
}

impl Dialog {
    /// The UAS side (§12.1.1): from the INVITE we received and the 1xx/2xx we send (which carries
    /// our To tag and our Contact).
    pub fn new_uas(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let remote = invite.headers.from().ok_or(DialogError::Missing("From"))?;
        let local = response.headers.to().ok_or(DialogError::Missing("To"))?;
        let local_tag = local.tag().ok_or(DialogError::Missing("To tag"))?.to_owned();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.headers.call_id().ok_or(DialogError::Missing("Call-ID"))?.to_owned(),
                remote_tag: remote.tag().unwrap_or_default().to_owned(),
                local_tag,
            },
            state: if response.status.is_success() { DialogState::Confirmed } else { DialogState::Early },
            remote_target: first_contact(&invite.headers).ok_or(DialogError::Missing("Contact"))?.uri,
            local_contact: first_contact(&response.headers).ok_or(DialogError::Missing("Contact"))?,
            route_set: record_route(&invite.headers)?,
            local_seq: 0,
            remote_seq: Some(invite.headers.cseq().ok_or(DialogError::Missing("CSeq"))?.seq),
            local,
            remote,
        })
    }

    /// The UAC side (§12.1.2): from the INVITE we sent and a 1xx/2xx with a To tag. The route set
    /// is the Record-Route of the response, reversed.
    pub fn new_uac(invite: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let remote = response.headers.to().ok_or(DialogError::Missing("To"))?;
        let local = invite.headers.from().ok_or(DialogError::Missing("From"))?;
        let mut route_set = record_route(&response.headers)?;
        route_set.reverse();
        Ok(Dialog {
            id: DialogId {
                call_id: invite.headers.call_id().ok_or(DialogError::Missing("Call-ID"))?.to_owned(),
                local_tag: local.tag().ok_or(DialogError::Missing("From tag"))?.to_owned(),
                remote_tag: remote.tag().ok_or(DialogError::Missing("To tag"))?.to_owned(),
            },
            state: if response.status.is_success() { DialogState::Confirmed } else { DialogState::Early },
            remote_target: first_contact(&response.headers).ok_or(DialogError::Missing("Contact"))?.uri,
            local_contact: first_contact(&invite.headers).ok_or(DialogError::Missing("Contact"))?,
            route_set,
            local_seq: invite.headers.cseq().ok_or(DialogError::Missing("CSeq"))?.seq,
            remote_seq: None,
            local,
            remote,
        })
    }

    /// The dialog a request we received belongs to, seen from our side (§12.2.2).
    pub fn id_of_received(request: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: request.headers.call_id()?.to_owned(),
            local_tag: request.headers.to()?.tag()?.to_owned(),
            remote_tag: request.headers.from()?.tag().unwrap_or_default().to_owned(),
        })
    }

    /// A 2xx confirmed an early dialog; its Contact refreshes the remote target.
    pub fn confirm(&mut self, response: &Response) {
        self.state = DialogState::Confirmed;
        if let Some(contact) = first_contact(&response.headers) {
            self.remote_target = contact.uri;
        }
    }

    /// A request inside the dialog (§12.2.1.1) with the next CSeq: BYE, re-INVITE, REFER, INFO...
    /// `via` carries a fresh branch.
    pub fn request(&mut self, method: Method, via: &Via) -> Request {
        self.local_seq = self.local_seq.saturating_add(1);
        let seq = self.local_seq;
        self.build(method, via, seq)
    }

    /// The ACK for a 2xx to the INVITE with CSeq `invite_seq` (§13.2.2.4): same CSeq number, new branch.
    pub fn ack(&self, invite_seq: u32, via: &Via) -> Request {
        self.build(Method::Ack, via, invite_seq)
    }

    fn build(&self, method: Method, via: &Via, seq: u32) -> Request {
        let mut request = Request::new(method.clone(), self.remote_target.clone());
        request.headers.push(HeaderName::Via, via.to_string());
        request.headers.push(HeaderName::MaxForwards, "70");
        request.headers.push(HeaderName::From, self.local.to_string());
        request.headers.push(HeaderName::To, self.remote.to_string());
        request.headers.push(HeaderName::CallId, self.id.call_id.clone());
        request.headers.push(HeaderName::CSeq, format!("{seq} {method}"));
        for route in &self.route_set {
            request.headers.push(HeaderName::Route, route.to_string());
        }
        if matches!(method, Method::Invite | Method::Update | Method::Refer | Method::Subscribe | Method::Notify) {
            request.headers.push(HeaderName::Contact, self.local_contact.to_string());
        }
        request
    }

    /// Checks a request the peer sent in this dialog (§12.2.2): it must carry our tag, a CSeq
    /// above the last one (ACK and CANCEL excepted), and a target refresh updates the remote target.
    pub fn handle_remote_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if Dialog::id_of_received(request).as_ref() != Some(&self.id) {
            return Err(DialogError::NotThisDialog);
        }
        let seq = request.headers.cseq().ok_or(DialogError::Missing("CSeq"))?.seq;
        if !matches!(request.method, Method::Ack | Method::Cancel) {
            if let Some(last) = self.remote_seq
                && seq <= last
            {
                return Err(DialogError::CSeqOutOfOrder { got: seq, last });
            }
            self.remote_seq = Some(seq);
        }
        if matches!(request.method, Method::Invite | Method::Update)
            && let Some(contact) = first_contact(&request.headers)
        {
            self.remote_target = contact.uri;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Limits, Message, Transport, parse_datagram};

    fn parse(text: &str) -> Message {
        parse_datagram(text.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("test message must parse: {e}"))
    }

    fn invite() -> Request {
        let Message::Request(r) = parse(
            "INVITE sip:4000@hotline.example SIP/2.0\r\n\
Via: SIP/2.0/UDP proxy.example:5060;branch=z9hG4bKp1\r\n\
Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bKc1\r\n\
Record-Route: <sip:proxy2.example;lr>\r\n\
Record-Route: <sip:proxy1.example;lr>\r\n\
From: \"Customer\" <sip:+14155550100@trunk.example>;tag=caller\r\n\
To: <sip:4000@hotline.example>\r\n\
Call-ID: call-9@198.51.100.20\r\n\
CSeq: 10 INVITE\r\n\
Contact: <sip:+14155550100@198.51.100.20:5060>\r\n\
Content-Length: 0\r\n\r\n",
        ) else {
            panic!("a request")
        };
        r
    }

    fn our_200(invite: &Request) -> Response {
        let mut ok = invite.response(StatusCode::OK, Some("hotline1"));
        ok.headers.push(HeaderName::Contact, "<sip:hotline@203.0.113.5:5060>");
        ok
    }

    fn via() -> Via {
        Via::new(Transport::udp(), crate::message::Host::parse("203.0.113.5").expect("host"), Some(5060), "z9hG4bKnew")
    }

    #[test]
    fn uas_dialog_sends_bye_to_the_callers_contact_through_the_record_route() {
        let invite = invite();
        let mut dialog = Dialog::new_uas(&invite, &our_200(&invite)).expect("dialog");
        let bye = dialog.request(Method::Bye, &via());
        assert_eq!(bye.uri.to_string(), "sip:+14155550100@198.51.100.20:5060");
        assert_eq!(bye.headers.from().and_then(|f| f.tag().map(str::to_owned)).as_deref(), Some("hotline1"));
        assert_eq!(bye.headers.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(), Some("caller"));
        let routes: Vec<String> = bye.headers.get_all(&HeaderName::Route).map(str::to_owned).collect();
        assert_eq!(routes, vec!["<sip:proxy2.example;lr>", "<sip:proxy1.example;lr>"]);
        assert_eq!(bye.headers.cseq().map(|c| c.seq), Some(1));
        assert!(parse_datagram(&bye.to_bytes(), &Limits::default()).is_ok());
    }

    #[test]
    fn uac_dialog_reverses_the_record_route_and_acks_with_the_invite_cseq() {
        let invite = invite();
        let mut answer = our_200(&invite);
        answer.headers.set(HeaderName::To, "<sip:4000@hotline.example>;tag=callee");
        let dialog = Dialog::new_uac(&invite, &answer).expect("dialog");
        assert_eq!(dialog.route_set[0].uri.to_string(), "sip:proxy1.example;lr");
        let ack = dialog.ack(10, &via());
        assert_eq!(ack.headers.cseq().map(|c| (c.seq, c.method)), Some((10, Method::Ack)));
        assert_eq!(ack.uri.to_string(), "sip:hotline@203.0.113.5:5060");
    }

    #[test]
    fn a_peer_request_with_an_old_cseq_is_refused_with_500() {
        let invite = invite();
        let mut dialog = Dialog::new_uas(&invite, &our_200(&invite)).expect("dialog");
        let mut bye = invite.clone();
        bye.method = Method::Bye;
        bye.headers.set(HeaderName::To, "<sip:4000@hotline.example>;tag=hotline1");
        bye.headers.set(HeaderName::CSeq, "10 BYE");
        let err = dialog.handle_remote_request(&bye).expect_err("same CSeq");
        assert_eq!(err.status(), StatusCode::SERVER_INTERNAL_ERROR);
        bye.headers.set(HeaderName::CSeq, "11 BYE");
        assert_eq!(dialog.handle_remote_request(&bye), Ok(()));
    }

    #[test]
    fn a_reinvite_refreshes_the_remote_target() {
        let invite = invite();
        let mut dialog = Dialog::new_uas(&invite, &our_200(&invite)).expect("dialog");
        let mut reinvite = invite.clone();
        reinvite.headers.set(HeaderName::To, "<sip:4000@hotline.example>;tag=hotline1");
        reinvite.headers.set(HeaderName::CSeq, "11 INVITE");
        reinvite.headers.set(HeaderName::Contact, "<sip:+14155550100@198.51.100.99:5070>");
        dialog.handle_remote_request(&reinvite).expect("in order");
        assert_eq!(dialog.remote_target.to_string(), "sip:+14155550100@198.51.100.99:5070");
    }

    #[test]
    fn a_strict_router_in_the_route_set_is_refused() {
        let mut invite = invite();
        invite.headers.remove(&HeaderName::RecordRoute);
        invite.headers.push(HeaderName::RecordRoute, "<sip:old-proxy.example>");
        assert_eq!(Dialog::new_uas(&invite, &our_200(&invite)), Err(DialogError::StrictRouter));
    }

    #[test]
    fn a_request_for_another_dialog_is_481() {
        let invite = invite();
        let mut dialog = Dialog::new_uas(&invite, &our_200(&invite)).expect("dialog");
        let mut bye = invite.clone();
        bye.method = Method::Bye;
        bye.headers.set(HeaderName::To, "<sip:4000@hotline.example>;tag=someone-else");
        bye.headers.set(HeaderName::CSeq, "11 BYE");
        assert_eq!(dialog.handle_remote_request(&bye).map_err(|e| e.status()), Err(StatusCode::CALL_DOES_NOT_EXIST));
    }
}
