//! Keyset pagination. A [`Page`] asks for at most `limit` rows after a [`Cursor`]; a [`PageOf`]
//! answers with the rows and the cursor of the next page. Cursors are opaque to callers (they
//! travel through the API as text) and are checked when they come back: a cursor never reaches
//! SQL unparsed.

use std::fmt;

use crate::error::StoreError;

/// The most rows one page returns, whatever the caller asks for.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// Where a page starts: after the row the cursor points at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps cursor text received from a client; checked when used.
    pub fn from_text(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn for_id(id: &str) -> Self {
        Self(id.to_owned())
    }

    pub(crate) fn for_time_and_id(ms: i64, id: &str) -> Self {
        Self(format!("{ms}_{id}"))
    }

    /// The id of a cursor made by [`Cursor::for_id`]. Ids are UUIDs; anything else is refused.
    pub(crate) fn id(&self) -> Result<String, StoreError> {
        if is_uuid_text(&self.0) { Ok(self.0.clone()) } else { Err(bad_cursor()) }
    }

    /// The (time, id) of a cursor made by [`Cursor::for_time_and_id`].
    pub(crate) fn time_and_id(&self) -> Result<(i64, String), StoreError> {
        let (ms, id) = self.0.split_once('_').ok_or_else(bad_cursor)?;
        let ms: i64 = ms.parse().map_err(|_| bad_cursor())?;
        if !is_uuid_text(id) {
            return Err(bad_cursor());
        }
        Ok((ms, id.to_owned()))
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad_cursor() -> StoreError {
    StoreError::InvalidInput { what: "page cursor", reason: "was not made by this server".into() }
}

fn is_uuid_text(s: &str) -> bool {
    s.len() == 36 && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// A request for one page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Rows wanted; 0 is read as 1 and anything above [`MAX_PAGE_SIZE`] as [`MAX_PAGE_SIZE`].
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl Page {
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }

    pub fn after(limit: u32, cursor: Cursor) -> Self {
        Self { limit, after: Some(cursor) }
    }

    /// The limit actually used: 1 to [`MAX_PAGE_SIZE`].
    pub fn effective_limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

impl Default for Page {
    fn default() -> Self {
        Self::first(DEFAULT_PAGE_SIZE)
    }
}

/// One page of rows and where the next one starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq)]
pub struct PageOf<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped() {
        assert_eq!(Page::first(0).effective_limit(), 1);
        assert_eq!(Page::first(10_000).effective_limit(), MAX_PAGE_SIZE);
    }

    #[test]
    fn foreign_cursors_are_refused() {
        assert!(Cursor::from_text("1 OR 1=1").id().is_err());
        assert!(Cursor::from_text("x_00000000-0000-0000-0000-000000000001").time_and_id().is_err());
        let c = Cursor::for_time_and_id(5, "00000000-0000-0000-0000-000000000001");
        assert_eq!(c.time_and_id().ok(), Some((5, "00000000-0000-0000-0000-000000000001".to_owned())));
    }
}
