//! Recording downloads: `GET /api/recordings/{id}/audio`, the WAV file with HTTP Range support
//! (RFC 9110 §14: one `bytes=` range → 206 with `Content-Range`; a range past the end → 416 with
//! `Content-Range: bytes */size`; several ranges or a malformed header → the whole file, as the
//! RFC allows). Agents download recordings of their own contacts; staff the org's. Every
//! download, allowed or not, is written to the audit log. A recording sealed at rest (`recordings`
//! crate) is served decrypted with the configured keyring: ranges are of the clear WAV, and only
//! the chunks a range touches are read and authenticated.
//!
//! Never: read a file outside the recordings directory (a stored path with `..`, a root or a
//! prefix is refused), hold a whole recording in memory (it is streamed in
//! [`STREAM_CHUNK_BYTES`] pieces), or tell an agent whether a recording they may not hear exists.

use std::path::{Component, Path as FsPath, PathBuf};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use model::RecordingId;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{S, found, parse_id};
use crate::guard::{Caller, client_ip, record};
use crate::problem::{Problem, ProblemKind};

/// Bytes read from disk per body chunk.
pub(crate) const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// What a `Range` header asks of a resource of a known size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// No usable range: send everything (200).
    Full,
    /// Bytes `start..=end` (206).
    Partial { start: u64, end: u64 },
    /// The range starts past the end (416).
    Unsatisfiable,
}

/// Reads a `Range` header value against a resource of `size` bytes. Pure; never panics.
pub(crate) fn parse_range(header: Option<&str>, size: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else { return RangeRequest::Full };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return RangeRequest::Full };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    match (first.is_empty(), last.is_empty()) {
        // `bytes=-N`: the last N bytes.
        (true, false) => match number(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if size == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Partial { start: size.saturating_sub(n), end: size - 1 },
            None => RangeRequest::Full,
        },
        (false, _) => {
            let Some(start) = number(first) else { return RangeRequest::Full };
            let end = if last.is_empty() { Some(u64::MAX) } else { number(last) };
            match end {
                None => RangeRequest::Full,
                Some(end) if end < start => RangeRequest::Full,
                Some(_) if start >= size => RangeRequest::Unsatisfiable,
                Some(end) => RangeRequest::Partial { start, end: end.min(size - 1) },
            }
        }
        (true, true) => RangeRequest::Full,
    }
}

/// The recording's file under `dir`, if its stored path stays inside it.
pub(crate) fn file_under(dir: &FsPath, stored: &str) -> Option<PathBuf> {
    let rel = FsPath::new(stored);
    let inside = !stored.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    inside.then(|| dir.join(rel))
}

/// `GET /api/recordings/{id}/audio`.
pub(crate) async fn download(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let (path, client) = (req.uri().path().to_owned(), client_ip(&req));
    let range = req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let resp = match serve(&app, &c, &id, range.as_deref()).await {
        Ok(r) => r,
        Err(p) => p.into_response(),
    };
    record(&app, &c.who, "download_recording", "GET".into(), path, resp.status().as_u16(), client).await;
    resp
}

async fn serve(app: &crate::AppState, c: &Caller, id: &str, range: Option<&str>) -> Result<Response, Problem> {
    let id: RecordingId = parse_id(id, "recording")?;
    let org = c.who.org;
    let rec = found(app.store.get_recording(org, id).await?, "recording")?;
    let contact = found(app.store.get_contact(org, rec.contact).await?, "recording")?;
    if !c.may_see(contact.agent) || rec.deleted_at.is_some() {
        return Err(Problem::not_found("recording"));
    }
    let Some(dir) = &app.config.recordings_dir else {
        return Err(Problem::of(ProblemKind::NotFound, "this server keeps no recording files"));
    };
    let Some(file_path) = file_under(dir, &rec.path) else {
        tracing::error!(recording = %rec.id, "stored recording path leaves the recordings directory");
        return Err(Problem::not_found("recording file"));
    };
    if recordings::is_encrypted(&file_path).unwrap_or(false) {
        return serve_sealed(app, &rec, file_path, range).await;
    }
    let mut file = tokio::fs::File::open(&file_path).await.map_err(|e| {
        tracing::warn!(recording = %rec.id, error = %e, "recording file cannot be opened");
        Problem::not_found("recording file")
    })?;
    let size = file.metadata().await.map_err(|_| Problem::not_found("recording file"))?.len();
    let Some((status, start, len)) = span(range, size) else { return Ok(unsatisfiable(size)) };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|_| Problem::of(ProblemKind::Internal, "the recording file could not be read"))?;
    }
    Ok(respond(status, Body::from_stream(chunks(file, len)), start, len, size))
}

/// (status, first byte, length) of what a `Range` header asks of `size` bytes; `None` when the
/// range is unsatisfiable.
fn span(range: Option<&str>, size: u64) -> Option<(StatusCode, u64, u64)> {
    match parse_range(range, size) {
        RangeRequest::Full => Some((StatusCode::OK, 0, size)),
        RangeRequest::Partial { start, end } => Some((StatusCode::PARTIAL_CONTENT, start, end - start + 1)),
        RangeRequest::Unsatisfiable => None,
    }
}

/// The 416 answer, naming the size.
fn unsatisfiable(size: u64) -> Response {
    let mut resp =
        Problem::of(ProblemKind::RangeNotSatisfiable, format!("the recording has {size} bytes")).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
        resp.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// A sealed recording, decrypted chunk by chunk as the body is sent.
async fn serve_sealed(
    app: &crate::AppState,
    rec: &model::Recording,
    path: PathBuf,
    range: Option<&str>,
) -> Result<Response, Problem> {
    let keys = app.config.recording_keys.clone();
    let id = rec.id;
    let opened = tokio::task::spawn_blocking(move || recordings::RecordingFile::open(&path, &keys))
        .await
        .map_err(|_| Problem::of(ProblemKind::Internal, "the recording file could not be read"))?;
    let file = opened.map_err(|e| {
        tracing::warn!(recording = %id, error = %e, "sealed recording cannot be opened");
        Problem::not_found("recording file")
    })?;
    let size = file.len();
    let Some((status, start, len)) = span(range, size) else { return Ok(unsatisfiable(size)) };
    Ok(respond(status, Body::from_stream(sealed_chunks(file, start, len)), start, len, size))
}

fn respond(status: StatusCode, body: Body, start: u64, len: u64, size: u64) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    resp
}

/// `len` clear bytes of a sealed recording from `start`, in pieces of at most
/// [`STREAM_CHUNK_BYTES`], each decrypted on the blocking pool.
fn sealed_chunks(
    file: recordings::RecordingFile,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let end = start + len;
    futures_util::stream::unfold((Some(file), start), move |(file, at)| async move {
        let mut file = file?;
        if at >= end {
            return None;
        }
        let upto = (at + STREAM_CHUNK_BYTES as u64).min(end);
        let read = tokio::task::spawn_blocking(move || {
            let r = file.read_range(at..upto, STREAM_CHUNK_BYTES as u64);
            (file, r)
        })
        .await;
        match read {
            Ok((file, Ok(bytes))) => Some((Ok(Bytes::from(bytes)), (Some(file), upto))),
            Ok((_, Err(e))) => Some((Err(std::io::Error::other(e.to_string())), (None, end))),
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), (None, end))),
        }
    })
}

/// `len` bytes of `file` from its current position, in chunks of at most [`STREAM_CHUNK_BYTES`].
pub(crate) fn chunks(
    file: tokio::fs::File,
    len: u64,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold((file, len), |(mut file, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left).unwrap_or(usize::MAX).min(STREAM_CHUNK_BYTES);
        let mut buf = vec![0u8; want];
        match file.read(&mut buf).await {
            Ok(0) => Some((
                Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "recording shorter than its size")),
                (file, 0),
            )),
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (file, left - n as u64)))
            }
            Err(e) => Some((Err(e), (file, 0))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::{Full, Partial, Unsatisfiable};
    use super::*;

    #[test]
    fn one_range_is_partial_and_clamped_to_the_size() {
        assert_eq!(parse_range(Some("bytes=0-99"), 1000), Partial { start: 0, end: 99 });
        assert_eq!(parse_range(Some("bytes=900-"), 1000), Partial { start: 900, end: 999 });
        assert_eq!(parse_range(Some("bytes=900-5000"), 1000), Partial { start: 900, end: 999 });
        assert_eq!(parse_range(Some("bytes=-100"), 1000), Partial { start: 900, end: 999 });
        assert_eq!(parse_range(Some("bytes=-5000"), 1000), Partial { start: 0, end: 999 });
    }

    #[test]
    fn a_range_past_the_end_is_unsatisfiable() {
        assert_eq!(parse_range(Some("bytes=1000-"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 1000), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_ranges_mean_the_whole_file() {
        for h in [None, Some("bytes=a-b"), Some("items=0-1"), Some("bytes=5-2"), Some("bytes=0-1,5-6"), Some("bytes=-")]
        {
            assert_eq!(parse_range(h, 1000), Full, "{h:?}");
        }
        assert_eq!(parse_range(Some("bytes=+1-2"), 1000), Full);
    }

    #[test]
    fn stored_paths_never_leave_the_recordings_directory() {
        let dir = FsPath::new("/srv/rec");
        assert_eq!(file_under(dir, "2026/11/27/a.wav"), Some(PathBuf::from("/srv/rec/2026/11/27/a.wav")));
        for bad in ["../etc/passwd", "/etc/passwd", "a/../../b", "", "./a.wav"] {
            assert_eq!(file_under(dir, bad), None, "{bad}");
        }
    }
}
