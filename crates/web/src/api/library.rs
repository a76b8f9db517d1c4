//! The recordings library: `GET /api/recordings` (filtered, paged), `GET /api/recordings/{id}/peaks`
//! (a waveform of both channels, min/max per bucket, computed from the WAV, decrypted through the
//! `recordings` crate when sealed) and the legal hold (`PUT`/`DELETE /api/recordings/{id}/hold`,
//! staff; audited by the guard like every unsafe request).
//!
//! The list walks contacts by arrival time in the date range (an agent's own contacts only, for
//! the agent role) and keeps the recordings that pass every filter. A page reads at most
//! [`MAX_SCANNED_CONTACTS`] contacts, so it may hold fewer items than `limit` and still have a
//! `next` cursor: follow it until `next` is null.
//!
//! Never: read more than [`MAX_PEAK_FILE_BYTES`] of a recording for a waveform, answer more than
//! [`MAX_PEAK_BUCKETS`] buckets, read a file outside the recordings directory, or tell an agent
//! whether a recording they may not hear exists.

use axum::Extension;
use axum::extract::{Path, State};
use kpi::calendar::DAY_MS;
use model::{AgentId, Contact, CustomerId, QueueId, Recording, RecordingId, Timestamp};
use serde::Deserialize;
use serde_json::{Value, json};
use store::{Cursor, Page, TimeRange};

use super::recordings::file_under;
use axum::Json;

use super::{ApiQuery, S, found, parse_id, text_field};
use crate::guard::Caller;
use crate::problem::ApiJson;
use crate::problem::{Problem, ProblemKind};

/// Contacts one list request reads at most (each costs a recordings lookup).
pub(crate) const MAX_SCANNED_CONTACTS: u32 = 500;
/// Longest date range of a list request, in days.
pub(crate) const MAX_LIST_RANGE_DAYS: i64 = 366;
/// Most waveform buckets per channel.
pub(crate) const MAX_PEAK_BUCKETS: u32 = 4_000;
/// Buckets when the client does not say.
pub(crate) const DEFAULT_PEAK_BUCKETS: u32 = 800;
/// Largest recording a waveform is computed for (about 70 minutes of 8 kHz 16-bit stereo).
pub(crate) const MAX_PEAK_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Bytes read (and decrypted) at once while computing peaks.
const PEAK_READ_BYTES: u64 = 1024 * 1024;
/// Bytes of the file's start searched for the `fmt ` and `data` chunks.
const MAX_WAV_HEADER_BYTES: u64 = 64 * 1024;

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    /// Unix ms, inclusive; default: `to` − 30 days.
    from_ms: Option<i64>,
    /// Unix ms, exclusive; default: now.
    to_ms: Option<i64>,
    agent: Option<String>,
    queue: Option<String>,
    customer: Option<String>,
    min_duration_s: Option<u64>,
    max_duration_s: Option<u64>,
    disposition: Option<String>,
    csat_min: Option<u8>,
    csat_max: Option<u8>,
    legal_hold: Option<bool>,
    limit: Option<u32>,
    after: Option<String>,
}

struct Filters {
    queue: Option<QueueId>,
    customer: Option<CustomerId>,
    min_ms: Option<u64>,
    max_ms: Option<u64>,
    disposition: Option<String>,
    csat: (u8, u8),
    legal_hold: Option<bool>,
}

impl Filters {
    fn contact(&self, c: &Contact) -> bool {
        self.queue.is_none_or(|q| c.queue == Some(q))
            && self.customer.is_none_or(|x| c.customer == Some(x))
            && self.disposition.as_deref().is_none_or(|d| c.disposition.as_ref().is_some_and(|x| x.as_str() == d))
            && (self.csat == (1, 5) || c.csat.is_some_and(|s| (self.csat.0..=self.csat.1).contains(&s)))
    }

    fn recording(&self, r: &Recording) -> bool {
        let ms = r.duration.as_ms();
        r.deleted_at.is_none()
            && self.min_ms.is_none_or(|m| ms >= m)
            && self.max_ms.is_none_or(|m| ms <= m)
            && self.legal_hold.is_none_or(|h| r.legal_hold == h)
    }
}

fn bad(detail: impl Into<String>) -> Problem {
    Problem::bad_request(detail)
}

fn view(r: &Recording, c: &Contact) -> Value {
    json!({
        "id": r.id.to_string(),
        "contact": c.id.to_string(),
        "started_at_ms": r.started_at.unix_ms(),
        "duration_ms": r.duration.as_ms(),
        "channels": r.channels,
        "sample_rate_hz": r.sample_rate_hz,
        "size_bytes": r.size_bytes,
        "legal_hold": r.legal_hold,
        "agent": c.agent.map(|a| a.to_string()),
        "queue": c.queue.map(|q| q.to_string()),
        "customer": c.customer.map(|x| x.to_string()),
        "channel": c.channel.as_str(),
        "from_address": c.from_address,
        "disposition": c.disposition.as_ref().map(|d| d.as_str().to_owned()),
        "csat": c.csat,
        "audio_url": format!("/api/recordings/{}/audio", r.id),
        "peaks_url": format!("/api/recordings/{}/peaks", r.id),
    })
}

/// `GET /api/recordings`.
pub(crate) async fn list(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, Problem> {
    let org = c.who.org;
    let to = q.to_ms.unwrap_or_else(|| app.clock.now().unix_ms());
    let from = q.from_ms.unwrap_or(to - 30 * DAY_MS);
    if from >= to {
        return Err(bad("from_ms must be before to_ms"));
    }
    if to - from > MAX_LIST_RANGE_DAYS * DAY_MS {
        return Err(bad(format!("the date range covers at most {MAX_LIST_RANGE_DAYS} days")));
    }
    let agent: Option<AgentId> = match q.agent.as_deref().filter(|s| !s.is_empty()) {
        Some(a) => Some(a.parse().map_err(|_| bad("agent must be an agent id"))?),
        None => None,
    };
    let filters = Filters {
        queue: match q.queue.as_deref().filter(|s| !s.is_empty()) {
            Some(x) => Some(x.parse().map_err(|_| bad("queue must be a queue id"))?),
            None => None,
        },
        customer: match q.customer.as_deref().filter(|s| !s.is_empty()) {
            Some(x) => Some(x.parse().map_err(|_| bad("customer must be a customer id"))?),
            None => None,
        },
        min_ms: q.min_duration_s.map(|s| s.saturating_mul(1000)),
        max_ms: q.max_duration_s.map(|s| s.saturating_mul(1000)),
        disposition: q.disposition.clone().filter(|d| !d.is_empty()),
        csat: (q.csat_min.unwrap_or(1), q.csat_max.unwrap_or(5)),
        legal_hold: q.legal_hold,
    };
    if filters.csat.0 > filters.csat.1 || filters.csat.0 < 1 || filters.csat.1 > 5 {
        return Err(bad("csat_min and csat_max are scores 1–5, min ≤ max"));
    }
    // An agent sees only their own contacts; a filter on another agent finds nothing.
    let agent = match (c.grant, c.agent) {
        (auth::policy::Grant::All, _) => agent,
        (_, Some(own)) if agent.is_none_or(|a| a == own) => Some(own),
        _ => return Ok(Json(json!({ "items": [], "next": null }))),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, store::MAX_PAGE_SIZE) as usize;
    let range = TimeRange::new(Timestamp::from_unix_ms(from), Timestamp::from_unix_ms(to));
    let mut after = q.after.filter(|a| !a.is_empty()).map(|a| Cursor::from_text(&a));
    let (mut items, mut scanned) = (Vec::new(), 0u32);
    let next = loop {
        let want = (MAX_SCANNED_CONTACTS - scanned).min(100);
        let page = Page { limit: want, after: after.take() };
        let got = match agent {
            Some(a) => app.store.list_contacts_by_agent(org, a, range, &page).await?,
            None => app.store.list_contacts_in_range(org, range, &page).await?,
        };
        scanned += got.items.len() as u32;
        for contact in got.items.iter().filter(|x| filters.contact(x)) {
            let recs =
                app.store.list_recordings_by_contact(org, contact.id, &Page::first(store::MAX_PAGE_SIZE)).await?;
            items.extend(recs.items.iter().filter(|r| filters.recording(r)).map(|r| view(r, contact)));
        }
        match got.next {
            Some(cursor) if items.len() < limit && scanned < MAX_SCANNED_CONTACTS => after = Some(cursor),
            other => break other,
        }
    };
    Ok(Json(json!({ "items": items, "next": next.map(|c| c.to_string()), "scanned_contacts": scanned })))
}

/// The recording and its contact, if the caller may hear it (404 otherwise).
async fn visible(app: &crate::AppState, c: &Caller, id: &str) -> Result<Recording, Problem> {
    let id: RecordingId = parse_id(id, "recording")?;
    let org = c.who.org;
    let rec = found(app.store.get_recording(org, id).await?, "recording")?;
    let contact = found(app.store.get_contact(org, rec.contact).await?, "recording")?;
    if !c.may_see(contact.agent) || rec.deleted_at.is_some() {
        return Err(Problem::not_found("recording"));
    }
    Ok(rec)
}

#[derive(Debug, Deserialize)]
pub(crate) struct PeaksQuery {
    buckets: Option<u32>,
}

/// `GET /api/recordings/{id}/peaks?buckets=N`.
pub(crate) async fn peaks(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PeaksQuery>,
) -> Result<Json<Value>, Problem> {
    let buckets = q.buckets.unwrap_or(DEFAULT_PEAK_BUCKETS);
    if buckets == 0 || buckets > MAX_PEAK_BUCKETS {
        return Err(bad(format!("buckets must be 1–{MAX_PEAK_BUCKETS}")));
    }
    let rec = visible(&app, &c, &id).await?;
    let Some(dir) = &app.config.recordings_dir else {
        return Err(Problem::of(ProblemKind::NotFound, "this server keeps no recording files"));
    };
    let Some(path) = file_under(dir, &rec.path) else { return Err(Problem::not_found("recording file")) };
    let keys = app.config.recording_keys.clone();
    let result = tokio::task::spawn_blocking(move || compute_peaks(&path, &keys, buckets as usize))
        .await
        .map_err(|_| Problem::of(ProblemKind::Internal, "the waveform could not be computed"))?;
    let w = result?;
    let side = |s: &Side| json!({ "min": s.min, "max": s.max });
    Ok(Json(json!({
        "recording": rec.id.to_string(),
        "channels": w.channels,
        "sample_rate_hz": w.sample_rate_hz,
        "duration_ms": w.frames * 1000 / u64::from(w.sample_rate_hz.max(1)),
        "buckets": w.left.min.len(),
        "left": side(&w.left),
        "right": w.right.as_ref().map(side),
    })))
}

/// The `fmt ` facts and where the samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WavLayout {
    pub channels: u16,
    pub sample_rate_hz: u32,
    pub data_offset: u64,
    pub data_bytes: u64,
}

/// Reads a 16-bit PCM WAV header (RIFF, `fmt ` format 1 or extensible, 1 or 2 channels) from the
/// file's first bytes; `file_len` bounds a `data` size a crashed writer left at 0 or too large.
/// Pure; never panics.
pub(crate) fn parse_wav(head: &[u8], file_len: u64) -> Result<WavLayout, String> {
    if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let mut fmt: Option<(u16, u32)> = None;
    let mut at = 12usize;
    while at + 8 <= head.len() {
        let id = &head[at..at + 4];
        let size = u32_at(at + 4) as usize;
        let body = at + 8;
        if id == b"fmt " {
            if size < 16 || body + 16 > head.len() {
                return Err("short fmt chunk".into());
            }
            let (format, channels, rate, bits) = (u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14));
            if !(format == 1 || format == 0xFFFE) || bits != 16 {
                return Err(format!("only 16-bit PCM is drawn (format {format}, {bits} bits)"));
            }
            if !(1..=2).contains(&channels) || rate == 0 {
                return Err(format!("{channels} channels at {rate} Hz"));
            }
            fmt = Some((channels, rate));
        } else if id == b"data" {
            let (channels, sample_rate_hz) = fmt.ok_or("data before fmt")?;
            let data_offset = body as u64;
            let left = file_len.saturating_sub(data_offset);
            let data_bytes = if size == 0 || size as u64 > left { left } else { size as u64 };
            return Ok(WavLayout { channels, sample_rate_hz, data_offset, data_bytes });
        }
        at = body.saturating_add(size).saturating_add(size & 1);
    }
    Err("no data chunk in the file's first bytes".into())
}

/// Min and max of one channel per bucket, as fractions of full scale (−1..1, 4 decimals).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Side {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Waveform {
    pub channels: u16,
    pub sample_rate_hz: u32,
    pub frames: u64,
    pub left: Side,
    pub right: Option<Side>,
}

/// Folds samples into buckets of `frames_per_bucket` frames. Sans-IO: bytes in, peaks out.
pub(crate) struct PeakFolder {
    channels: usize,
    frames_per_bucket: u64,
    frame_in_bucket: u64,
    current: [(i16, i16); 2],
    sides: [Side; 2],
    /// A byte of a sample split across two reads.
    carry: Vec<u8>,
    sample_index: usize,
    pub frames: u64,
}

fn frac(v: i16) -> f32 {
    (f32::from(v) / 32768.0 * 10_000.0).round() / 10_000.0
}

impl PeakFolder {
    pub fn new(channels: usize, total_frames: u64, buckets: usize) -> Self {
        let frames_per_bucket = total_frames.div_ceil(buckets.max(1) as u64).max(1);
        Self {
            channels,
            frames_per_bucket,
            frame_in_bucket: 0,
            current: [(i16::MAX, i16::MIN); 2],
            sides: [Side::default(), Side::default()],
            carry: Vec::with_capacity(2),
            sample_index: 0,
            frames: 0,
        }
    }

    fn close_bucket(&mut self) {
        for ch in 0..self.channels {
            let (lo, hi) = self.current[ch];
            self.sides[ch].min.push(frac(lo));
            self.sides[ch].max.push(frac(hi));
            self.current[ch] = (i16::MAX, i16::MIN);
        }
        self.frame_in_bucket = 0;
    }

    pub fn push(&mut self, bytes: &[u8]) {
        let mut i = 0;
        if !self.carry.is_empty() && !bytes.is_empty() {
            let s = i16::from_le_bytes([self.carry[0], bytes[0]]);
            self.carry.clear();
            self.sample(s);
            i = 1;
        }
        while i + 1 < bytes.len() {
            self.sample(i16::from_le_bytes([bytes[i], bytes[i + 1]]));
            i += 2;
        }
        if i < bytes.len() {
            self.carry.push(bytes[i]);
        }
    }

    fn sample(&mut self, s: i16) {
        let ch = self.sample_index;
        let (lo, hi) = &mut self.current[ch];
        *lo = (*lo).min(s);
        *hi = (*hi).max(s);
        self.sample_index += 1;
        if self.sample_index == self.channels {
            self.sample_index = 0;
            self.frames += 1;
            self.frame_in_bucket += 1;
            if self.frame_in_bucket == self.frames_per_bucket {
                self.close_bucket();
            }
        }
    }

    pub fn finish(mut self, sample_rate_hz: u32) -> Waveform {
        if self.frame_in_bucket > 0 {
            self.close_bucket();
        }
        let [left, right] = self.sides;
        Waveform {
            channels: self.channels as u16,
            sample_rate_hz,
            frames: self.frames,
            left,
            right: (self.channels == 2).then_some(right),
        }
    }
}

fn unreadable(e: impl std::fmt::Display) -> Problem {
    tracing::warn!(error = %e, "recording cannot be read for a waveform");
    Problem::of(ProblemKind::Validation, format!("the recording cannot be drawn: {e}"))
}

/// Reads the recording (decrypting a sealed one) window by window and folds its samples.
fn compute_peaks(path: &std::path::Path, keys: &recordings::Keyring, buckets: usize) -> Result<Waveform, Problem> {
    let mut file = recordings::RecordingFile::open(path, keys).map_err(|e| match e {
        recordings::RecordingsError::Io(_) => Problem::not_found("recording file"),
        other => unreadable(other),
    })?;
    let len = file.len();
    if len > MAX_PEAK_FILE_BYTES {
        return Err(Problem::of(
            ProblemKind::Validation,
            format!("the recording is {len} bytes; waveforms are drawn for at most {MAX_PEAK_FILE_BYTES}"),
        ));
    }
    let head = file.read_range(0..len.min(MAX_WAV_HEADER_BYTES), MAX_WAV_HEADER_BYTES).map_err(unreadable)?;
    let layout = parse_wav(&head, len).map_err(unreadable)?;
    let frame_bytes = 2 * u64::from(layout.channels);
    let mut folder = PeakFolder::new(layout.channels as usize, layout.data_bytes / frame_bytes, buckets);
    let end = layout.data_offset + layout.data_bytes;
    let mut at = layout.data_offset;
    while at < end {
        let upto = (at + PEAK_READ_BYTES).min(end);
        let bytes = file.read_range(at..upto, PEAK_READ_BYTES).map_err(unreadable)?;
        folder.push(&bytes);
        at = upto;
    }
    Ok(folder.finish(layout.sample_rate_hz))
}

#[derive(Debug, Deserialize)]
pub(crate) struct HoldBody {
    reason: String,
}

/// `PUT /api/recordings/{id}/hold` with `{"reason": "..."}`.
pub(crate) async fn place_hold(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<Json<Value>, Problem> {
    let rec = visible(&app, &c, &id).await?;
    let reason = text_field("reason", &body.reason, store::MAX_HOLD_REASON_CHARS, true)?;
    let hold = store::LegalHold {
        org: c.who.org,
        recording: rec.id,
        held_by: c.who.actor.clone(),
        held_at: app.clock.now(),
        reason,
    };
    app.store.place_legal_hold(&hold).await?;
    Ok(Json(json!({
        "recording": rec.id.to_string(),
        "legal_hold": true,
        "held_by": hold.held_by,
        "held_at_ms": hold.held_at.unix_ms(),
        "reason": hold.reason,
    })))
}

/// `DELETE /api/recordings/{id}/hold`.
pub(crate) async fn release_hold(
    State(app): State<S>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let rec = visible(&app, &c, &id).await?;
    let released = app.store.release_legal_hold(c.who.org, rec.id).await?;
    Ok(Json(json!({ "recording": rec.id.to_string(), "legal_hold": false, "released": released })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(channels: u16, frames: &[[i16; 2]]) -> Vec<u8> {
        let data: Vec<u8> =
            frames.iter().flat_map(|f| f[..channels as usize].iter().flat_map(|s| s.to_le_bytes())).collect();
        let mut out = b"RIFF".to_vec();
        out.extend((36 + data.len() as u32).to_le_bytes());
        out.extend(b"WAVEfmt ");
        out.extend(16u32.to_le_bytes());
        out.extend(1u16.to_le_bytes());
        out.extend(channels.to_le_bytes());
        out.extend(8000u32.to_le_bytes());
        out.extend((8000 * 2 * u32::from(channels)).to_le_bytes());
        out.extend((2 * channels).to_le_bytes());
        out.extend(16u16.to_le_bytes());
        out.extend(b"data");
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn the_header_says_where_the_samples_are() {
        let w = wav(2, &[[1, 2], [3, 4]]);
        let l = parse_wav(&w, w.len() as u64).expect("wav");
        assert_eq!(l, WavLayout { channels: 2, sample_rate_hz: 8000, data_offset: 44, data_bytes: 8 });
        for bad in [&b"RIFX"[..], &w[..20], &[]] {
            assert!(parse_wav(bad, 100).is_err());
        }
    }

    #[test]
    fn peaks_are_per_channel_and_survive_split_reads() {
        let frames: Vec<[i16; 2]> = (0..10).map(|i| [0, if i % 2 == 0 { 16384 } else { -16384 }]).collect();
        let w = wav(2, &frames);
        let mut f = PeakFolder::new(2, 10, 5);
        for piece in w[44..].chunks(3) {
            f.push(piece);
        }
        let out = f.finish(8000);
        assert_eq!(out.frames, 10);
        assert_eq!(out.left.max, vec![0.0; 5]);
        let right = out.right.expect("stereo");
        assert_eq!(right.max, vec![0.5; 5]);
        assert_eq!(right.min, vec![-0.5; 5]);
    }
}
