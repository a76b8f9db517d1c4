//! Attachment checks: the declared MIME type must be allowed *and* match what the bytes are, by
//! their magic numbers. A declared `image/png` whose bytes are an executable is refused.
//!
//! Allowed: PNG, JPEG, GIF, WebP images, PDF, and plain text (valid UTF-8 without NUL bytes).

/// The MIME types an attachment may have.
pub const ALLOWED_MIME_TYPES: &[&str] =
    &["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"];

/// The type the bytes are, by their magic numbers; `None` when they are none of the allowed ones.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if !bytes.is_empty() && !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        Some("text/plain")
    } else {
        None
    }
}

/// The declared type, normalised (lower case, parameters such as `; charset=utf-8` dropped).
pub fn normalise_declared(mime: &str) -> String {
    mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// True when `declared` is allowed and the bytes are of that type.
pub fn content_matches(declared: &str, bytes: &[u8]) -> bool {
    let declared = normalise_declared(declared);
    ALLOWED_MIME_TYPES.contains(&declared.as_str()) && sniff(bytes).is_some_and(|sniffed| sniffed == declared)
}

/// A file name safe to show and store: no path, no control characters, at most `max_chars`.
pub fn clean_name(name: &str, max_chars: usize) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(max_chars).collect();
    let cleaned = cleaned.trim().to_owned();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then_some(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_decide_the_type() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a.."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(sniff("订单 100001".as_bytes()), Some("text/plain"));
        assert_eq!(sniff(b"MZ\x90\0\x03\0"), None, "a Windows executable");
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0"), None, "an ELF binary");
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn declared_type_must_be_allowed_and_match() {
        assert!(content_matches("image/PNG", b"\x89PNG\r\n\x1a\n"));
        assert!(content_matches("text/plain; charset=utf-8", b"hello"));
        assert!(!content_matches("image/png", b"MZ\x90\0"), "forged type");
        assert!(!content_matches("image/png", b"%PDF-1.4"), "other allowed type");
        assert!(!content_matches("application/x-msdownload", b"hello"), "not allowed");
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd", 100).as_deref(), Some("passwd"));
        assert_eq!(clean_name("C:\\x\\发票.pdf", 100).as_deref(), Some("发票.pdf"));
        assert_eq!(clean_name("a\u{0}b\nc.txt", 100).as_deref(), Some("abc.txt"));
        assert_eq!(clean_name("..", 100), None);
        assert_eq!(clean_name("abcdef", 3).as_deref(), Some("abc"));
    }
}
