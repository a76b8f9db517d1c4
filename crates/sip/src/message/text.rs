//! Lexical helpers shared by the SIP and SDP codecs: token classes, quoted strings, list splitting.
//!
//! Everything here works on `&str` slices and returns `None`/`Err` on bad input; nothing here may
//! panic or allocate more than the input's size.

/// RFC 3261 `token` characters: `alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"`.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii() && is_token_byte(c as u8)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Linear white space after unfolding: space or horizontal tab.
pub(crate) fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn trim_ws(s: &str) -> &str {
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| *b != b' ' && *b != b'\t').map_or(start, |i| i + 1);
    // Both ends sit next to ASCII bytes (or at the ends), so they are char boundaries.
    s.get(start..end).unwrap_or_default()
}

/// Splits `s` on `sep` where the separator is outside a quoted string and outside `<...>`.
/// Returns `None` when a quote or an angle bracket is left open. Works on bytes: every delimiter
/// is ASCII, and UTF-8 continuation bytes never equal an ASCII byte.
pub(crate) fn split_outside(s: &str, sep: char) -> Option<Vec<&str>> {
    let sep = u8::try_from(sep).ok().filter(u8::is_ascii)?;
    let bytes = s.as_bytes();
    // Fast path: nothing quoted or bracketed, so every separator counts (memchr-based search).
    if !bytes.contains(&b'"') && !bytes.contains(&b'<') {
        return Some(s.split(char::from(sep)).collect());
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_quotes = false;
            }
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b'<' if !in_angle => in_angle = true,
            b'>' if in_angle => in_angle = false,
            _ if b == sep && !in_angle => {
                parts.push(s.get(start..i)?);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes || in_angle {
        return None;
    }
    parts.push(s.get(start..)?);
    Some(parts)
}

/// Reads a quoted string at the start of `s` (which must begin with `"`). Returns the decoded
/// content (quoted-pairs resolved) and the rest of `s` after the closing quote.
pub(crate) fn read_quoted(s: &str) -> Option<(String, &str)> {
    let inner = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, next) = chars.next()?;
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): no CR, no LF, ASCII only.
                if next == '\r' || next == '\n' || !next.is_ascii() {
                    return None;
                }
                out.push(next);
            }
            '"' => return Some((out, &inner[i + 1..])),
            '\r' | '\n' => return None,
            _ => out.push(c),
        }
    }
    None
}

/// Writes `s` as a quoted string, escaping `"` and `\` (and control characters) as quoted-pairs.
pub(crate) fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' || (c.is_ascii_control() && c != '\t') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Parses an unsigned decimal with leading zeros allowed, refusing overflow and empty input.
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = s.trim_start_matches('0');
    if trimmed.is_empty() {
        return Some(0);
    }
    trimmed.parse().ok()
}

/// Like [`parse_u32`] but saturates at `u32::MAX` (RFC 3261 §20.19: delta-seconds too large are
/// taken as 2**32-1).
pub(crate) fn parse_u32_saturating(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(parse_u32(s).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commas_inside_quotes_and_angles_do_not_split() {
        let parts = split_outside(r#""a, b" <sip:x@y;p=1,2>, <sip:z@w>"#, ',').unwrap_or_default();
        assert_eq!(parts.len(), 2);
    }

    #[test]
    fn quoted_string_resolves_escaped_quote_and_backslash() {
        let (text, rest) = read_quoted(r#""J Rosenberg \\\"" <sip:x>"#).unwrap_or_default();
        assert_eq!(text, r#"J Rosenberg \""#);
        assert_eq!(rest, " <sip:x>");
    }

    #[test]
    fn unterminated_quote_is_refused() {
        assert!(read_quoted("\"Mr. J. User <sip:j@x>").is_none());
        assert!(split_outside("\"Mr. J. User <sip:j@x>", ',').is_none());
    }

    #[test]
    fn integers_allow_leading_zeros_but_not_overflow() {
        assert_eq!(parse_u32("0009"), Some(9));
        assert_eq!(parse_u32("36893488147419103232"), None);
        assert_eq!(parse_u32_saturating("36893488147419103232"), Some(u32::MAX));
        assert_eq!(parse_u32("-1"), None);
    }
}
