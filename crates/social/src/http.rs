//! The HTTP values that cross the sans-IO boundary: what a core asks the shell to send, and what
//! came back. Nothing here performs a request.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A request for the shell to perform; answer with the same `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub id: RequestId,
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What came back. A failure to get any response (connect error, timeout) is `None` where accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Appends `key=value` pairs to a URL, percent-encoding the values.
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = base.to_owned();
    for (i, (k, v)) in pairs.iter().enumerate() {
        url.push(if i == 0 && !base.contains('?') { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
    }
    url
}

/// Decodes `%XX` and `+` in a query component; invalid escapes are kept as written.
pub fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string into decoded pairs, at most `max_pairs` of them.
pub fn parse_query(query: &str, max_pairs: usize) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .take(max_pairs)
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_round_trips_through_encoding() {
        let url = with_query("http://x/api", &[("a", "b c/é"), ("n", "1")]);
        assert_eq!(url, "http://x/api?a=b%20c%2F%C3%A9&n=1");
        let q = parse_query(url.split_once('?').unwrap().1, 10);
        assert_eq!(q, vec![("a".into(), "b c/é".into()), ("n".into(), "1".into())]);
    }

    #[test]
    fn broken_escapes_are_kept_not_panicked_on() {
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%zz%4"), "a%zz%4");
    }
}
