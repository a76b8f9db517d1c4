//! Hotline's media core: the voice of a call, as a pure state machine.
//!
//! Packets and time go in, packets, timers and events come out — the sans-IO shape of quinn-proto
//! and str0m. The main type is [`bridge::Bridge`], the media of one call:
//! `handle_packet(now, leg, from, bytes)` and `handle_timeout(now)` feed it;
//! `poll_transmit()`, `poll_timeout()` and `poll_event()` drain it. (`handle_packet` names the leg
//! because each leg has its own local socket: before latching, two legs may share a remote IP.)
//! A thin UDP shell (a later crate) owns the sockets, the clock and the threads.
//!
//! ## Module map
//! | module | what |
//! |---|---|
//! | [`rtp`], [`rtcp`] | RFC 3550 codecs: RTP header view, in-place header rewrite; SR, RR, SDES, BYE compounds |
//! | [`g711`], [`codec`] | µ-law / A-law tables (checked against ITU-T G.191), µ↔A transcoding, framing constants |
//! | [`dtmf`] | RFC 4733 telephone-event payload, receiver (dedupe, duration, volume) and sender |
//! | [`inband`] | Goertzel in-band DTMF detector (twist, relative peak, energy share, ≥ 40 ms) |
//! | [`stream`] | sending side: one SSRC, monotonic sequence/timestamp across source switches, marker |
//! | [`stats`] | RFC 3550 A.1/A.3/A.8 receive statistics, RTT from LSR/DLSR, injected NTP clock |
//! | [`jitter`] | adaptive jitter buffer (reorder, late drop, target from measured jitter, bounded) |
//! | [`quality`] | ITU-T G.107 E-model: R-factor and MOS per leg, [`quality::QualitySummary`] |
//! | [`wav`], [`prompt`] | WAV decoding + downmix + band-limited resampling; prompt cache; playback with barge-in |
//! | [`recorder`] | streaming stereo WAV (customer left, agent right), header kept true, crash repair, SHA-256 |
//! | [`leg`], [`bridge`] | one peer (latching, stats, RTCP, DTMF); the call engine (relay, transcode, hold, monitor, record) |
//! | [`ports`] | RTP port range allocation for the shell |
//! | [`files`] | the only file-system code: create/repair recordings, load prompt files |
//! | [`error`] | typed errors (`thiserror`) |
//!
//! ## Invariants
//! - **Never panics on packets**: every datagram is parsed with bounds checks into typed errors,
//!   and bad ones are dropped with a counter (proptest in `tests/hostile_packets.rs`, `fuzz/`).
//! - **No sockets, no async, no clock**: time is an injected `Instant`; NTP time for sender reports
//!   is an injected mapping ([`stats::NtpClock`]); SSRCs and initial sequence/timestamps are given
//!   by the caller (random in production, fixed in tests).
//! - **No file IO outside [`files`]**; the recorder encodes onto any `Read + Write + Seek`.
//! - **Everything is bounded** and the bound is named with its unit: `max_jitter_buffer_ms`,
//!   `max_queued_transmits`, `max_buffer_frames`, `max_prompt_bytes`, `media_timeout_ms`, ...
//! - **The far end sees one continuous stream per leg**: one SSRC, sequence +1 per packet and
//!   timestamps that never go back across prompt → bridge → hold → prompt, with the marker bit
//!   set on each discontinuity.

pub mod bridge;
pub mod codec;
pub mod dtmf;
pub mod error;
pub mod files;
pub mod g711;
pub mod inband;
pub mod jitter;
pub mod leg;
pub mod ports;
pub mod prompt;
pub mod quality;
pub mod recorder;
pub mod rtcp;
pub mod rtp;
pub mod stats;
pub mod stream;
pub mod wav;
