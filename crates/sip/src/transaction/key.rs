//! Transaction matching keys (RFC 3261 §17.1.3 and §17.2.3), including the RFC 2543 fallback for
//! requests whose branch lacks the magic cookie.

use crate::message::{Headers, Method, Request, Response};

/// Identifies one transaction among many.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionKey {
    /// RFC 3261: top Via branch, sent-by, and method (ACK counts as INVITE).
    Branch { branch: String, sent_by: String, method: Method },
    /// RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number, top Via and method.
    Legacy { uri: String, from_tag: String, call_id: String, seq: u32, top_via: String, method: Method },
}

/// ACK belongs to the INVITE transaction it acknowledges.
fn transaction_method(method: &Method) -> Method {
    if *method == Method::Ack { Method::Invite } else { method.clone() }
}

impl TransactionKey {
    /// The key of the server transaction a received request belongs to; `None` if the request lacks
    /// what matching needs (it parsed, so this only happens for hand-built requests).
    pub fn for_server(request: &Request) -> Option<TransactionKey> {
        Self::server_key(request, &request.method)
    }

    /// The key of the INVITE server transaction a CANCEL targets (same branch, method INVITE).
    pub fn for_cancelled_invite(cancel: &Request) -> Option<TransactionKey> {
        Self::server_key(cancel, &Method::Invite)
    }

    fn server_key(request: &Request, method: &Method) -> Option<TransactionKey> {
        let via = request.headers.top_via()?;
        let method = transaction_method(method);
        if via.has_rfc3261_branch() {
            let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(0)).to_ascii_lowercase();
            return Some(TransactionKey::Branch { branch: via.branch()?.to_owned(), sent_by, method });
        }
        legacy_key(&request.uri.to_string(), &request.headers, method)
    }

    /// The key of the client transaction a response belongs to (§17.1.3: branch and CSeq method).
    pub fn for_response(response: &Response) -> Option<TransactionKey> {
        let via = response.headers.top_via()?;
        let method = transaction_method(&response.headers.cseq()?.method);
        Some(TransactionKey::Branch { branch: via.branch()?.to_owned(), sent_by: String::new(), method })
    }

    /// The key under which a client transaction for a request we send is stored.
    pub fn for_client(request: &Request) -> Option<TransactionKey> {
        let via = request.headers.top_via()?;
        let method = transaction_method(&request.method);
        Some(TransactionKey::Branch { branch: via.branch()?.to_owned(), sent_by: String::new(), method })
    }
}

fn legacy_key(uri: &str, headers: &Headers, method: Method) -> Option<TransactionKey> {
    Some(TransactionKey::Legacy {
        uri: uri.to_owned(),
        from_tag: headers.from()?.tag().unwrap_or_default().to_owned(),
        call_id: headers.call_id()?.to_owned(),
        seq: headers.cseq()?.seq,
        top_via: headers.get(&crate::HeaderName::Via)?.to_owned(),
        method,
    })
}
