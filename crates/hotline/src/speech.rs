//! Speech analytics on a finished contact's recordings: each stereo WAV (customer left, agent
//! right; plain or sealed, opened with the recordings keyring) is analysed by the `analytics`
//! crate's energy VAD on a blocking thread, and talk per side, silence, longest silence,
//! overtalk, talk ratio and the QA outlier flags are stored per contact and recording
//! (`contact_speech`). Flagged contacts are then flagged QA candidates.
//!
//! Never: hold a recording larger than [`MAX_SPEECH_RECORDING_BYTES`] in memory, touch the
//! network, or let a bad recording stop the others (the error is logged with its id).

use std::path::Path;
use std::sync::Arc;

use analytics::speech::{OutlierPolicy, SpeechConfig, SpeechFlag, TalkAnalysis, analyse_wav};
use model::{ContactId, OrgId, Recording, Timestamp};
use recordings::{Keyring, RecordingFile};
use store::{ContactSpeech, Store};

/// Largest recording analysed, in bytes of WAV (about 2.3 hours of 8 kHz 16-bit stereo).
pub const MAX_SPEECH_RECORDING_BYTES: u64 = 256 * 1024 * 1024;

/// The name a flag is stored under.
pub fn flag_name(flag: &SpeechFlag) -> &'static str {
    match flag {
        SpeechFlag::TooMuchSilence { .. } => "too_much_silence",
        SpeechFlag::LongSilence { .. } => "long_silence",
        SpeechFlag::TooMuchOvertalk { .. } => "too_much_overtalk",
        SpeechFlag::AgentInterrupts { .. } => "agent_interrupts",
        SpeechFlag::AgentTalksTooMuch { .. } => "agent_talks_too_much",
        SpeechFlag::AgentTalksTooLittle { .. } => "agent_talks_too_little",
        SpeechFlag::NoTalk => "no_talk",
    }
}

/// Reads and analyses one recording (blocking: file IO and the VAD).
fn analyse_file(dir: &Path, rec: &Recording, keys: &Keyring) -> anyhow::Result<TalkAnalysis> {
    let path = recordings::retention::recording_path(dir, &rec.path)?;
    let mut file = RecordingFile::open(&path, keys)?;
    if file.len() > MAX_SPEECH_RECORDING_BYTES {
        anyhow::bail!("{} bytes, more than the {MAX_SPEECH_RECORDING_BYTES}-byte limit", file.len());
    }
    let mut wav = Vec::with_capacity(usize::try_from(file.len()).unwrap_or(0));
    file.copy_to(&mut wav)?;
    Ok(analyse_wav(&wav, &SpeechConfig::standard())?)
}

fn to_row(rec: &Recording, talk: &TalkAnalysis, policy: &OutlierPolicy, now: Timestamp) -> ContactSpeech {
    ContactSpeech {
        org: rec.org,
        contact: rec.contact,
        recording: rec.id,
        duration_ms: talk.duration_ms,
        customer_talk_ms: talk.customer.talk_ms,
        agent_talk_ms: talk.agent.talk_ms,
        silence_ratio: talk.silence_ratio(),
        longest_silence_ms: talk.longest_silence_ms,
        overtalk_ms: talk.overtalk_ms,
        talk_ratio: talk.agent_to_customer_talk_ratio(),
        agent_interruptions: talk.agent.interruptions,
        flags: policy.flags(talk).iter().map(|f| flag_name(f).to_owned()).collect(),
        analysed_at: now,
    }
}

/// Analyses and stores one recording of a contact; the stored row on success.
pub async fn analyse_recording(
    store: &Store,
    dir: &Path,
    keys: Arc<Keyring>,
    rec: &Recording,
    now: Timestamp,
) -> anyhow::Result<ContactSpeech> {
    let (dir_owned, rec_owned) = (dir.to_owned(), rec.clone());
    let talk = tokio::task::spawn_blocking(move || analyse_file(&dir_owned, &rec_owned, &keys)).await??;
    let row = to_row(rec, &talk, &OutlierPolicy::default(), now);
    store.put_contact_speech(&row).await?;
    Ok(row)
}

/// Analyses every recording of the contact still on disk; failures are logged per recording.
pub async fn after_call(
    store: &Store,
    org: OrgId,
    contact: ContactId,
    dir: &Path,
    keys: Arc<Keyring>,
    recs: &[Recording],
    now: Timestamp,
) {
    for rec in recs.iter().filter(|r| r.deleted_at.is_none() && r.org == org && r.contact == contact) {
        match analyse_recording(store, dir, keys.clone(), rec, now).await {
            Ok(row) => tracing::info!(
                recording = %rec.id,
                %contact,
                customer_talk_ms = row.customer_talk_ms,
                agent_talk_ms = row.agent_talk_ms,
                longest_silence_ms = row.longest_silence_ms,
                flags = %row.flags.join(" "),
                "speech analysed"
            ),
            Err(e) => tracing::warn!(recording = %rec.id, error = %e, "speech not analysed"),
        }
    }
}

#[cfg(test)]
mod tests {
    //! A stereo WAV with tones at known times on each channel, stored as the recording of an
    //! ended contact (once in clear, once sealed): the figures stored land within ±100 ms of what
    //! was placed, a long silence is flagged, and the contact becomes a flagged QA candidate.

    use super::*;
    use analytics::speech::encode_stereo_wav;
    use model::{AgentId, Channel, Contact, Direction, DurationMs, RecordingId};
    use recordings::RecordingKey;
    use store::Page;

    const RATE_HZ: u32 = 8_000;
    const TOLERANCE_MS: u64 = 100;
    const T0: i64 = 1_780_000_000_000;

    /// One channel: a 440 Hz tone at -20 dBFS over the given spans, a -65 dBFS noise bed elsewhere.
    fn channel(spans: &[(u64, u64)], duration_ms: u64, seed: u64) -> Vec<i16> {
        let n = (duration_ms * u64::from(RATE_HZ) / 1000) as usize;
        let mut rng = seed;
        (0..n)
            .map(|i| {
                let t_ms = i as u64 * 1000 / u64::from(RATE_HZ);
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let uniform = ((rng >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0;
                let mut v = uniform * 32768.0 * 10f64.powf(-65.0 / 20.0) * 3f64.sqrt();
                if spans.iter().any(|(s, e)| t_ms >= *s && t_ms < *e) {
                    let t_s = i as f64 / f64::from(RATE_HZ);
                    v += (2.0 * std::f64::consts::PI * 440.0 * t_s).sin() * 32768.0 * 0.1 * 2f64.sqrt();
                }
                v.round().clamp(-32768.0, 32767.0) as i16
            })
            .collect()
    }

    /// 60 s: customer talks 0–10 s and 55–60 s, agent 8–20 s (2 s overtalk), then 35 s of dead air.
    fn call_wav() -> Vec<u8> {
        let left = channel(&[(0, 10_000), (55_000, 60_000)], 60_000, 1);
        let right = channel(&[(8_000, 20_000)], 60_000, 2);
        let interleaved: Vec<i16> = left.iter().zip(&right).flat_map(|(l, r)| [*l, *r]).collect();
        encode_stereo_wav(RATE_HZ, &interleaved)
    }

    fn near(what: &str, got: u64, want: u64) {
        assert!(got.abs_diff(want) <= TOLERANCE_MS, "{what}: got {got} ms, want {want} ms ±{TOLERANCE_MS}");
    }

    async fn ended_contact_with_recording(store: &Store, dir: &Path, org: OrgId, n: u128) -> Recording {
        let contact_id = ContactId::from_u128(n);
        let mut c = Contact::arrived(
            contact_id,
            org,
            Channel::Voice,
            Direction::Inbound,
            "+8613800000001",
            "4000",
            Timestamp::from_unix_ms(T0),
        );
        c.agent = Some(AgentId::from_u128(50));
        c.ended_at = Some(Timestamp::from_unix_ms(T0 + 60_000 + n as i64));
        store.insert_contact(&c).await.expect("contact");
        let path = format!("2026/{n}.wav");
        std::fs::create_dir_all(dir.join("2026")).expect("dir");
        std::fs::write(dir.join(&path), call_wav()).expect("wav");
        let rec = Recording {
            id: RecordingId::from_u128(0x5ec0_0000 + n),
            org,
            contact: contact_id,
            path,
            started_at: Timestamp::from_unix_ms(T0),
            duration: DurationMs::from_secs(60),
            size_bytes: 0,
            sha256: String::new(),
            channels: 2,
            sample_rate_hz: RATE_HZ,
            legal_hold: false,
            deleted_at: None,
        };
        store.insert_recording(&rec).await.expect("recording");
        rec
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ended_contacts_recording_plain_or_sealed_is_analysed_stored_and_a_long_silence_flags_it_for_qa() {
        let tmp = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}", tmp.path().join("hotline.db").display());
        let store = Store::connect(&url, &store::ConnectOptions::default()).await.expect("connect");
        store.migrate().await.expect("migrate");
        let dir = tmp.path().join("recordings");
        let org = OrgId::from_u128(1);
        let key = RecordingKey::new("k1", [7; 32]).expect("key");
        let keys = Arc::new(Keyring::new(vec![key.clone()], "k1").expect("keyring"));
        let plain = ended_contact_with_recording(&store, &dir, org, 1).await;
        let sealed = ended_contact_with_recording(&store, &dir, org, 2).await;
        assert!(crate::recordings::seal(&dir, &sealed.path, &key).expect("seal"));
        for rec in [&plain, &sealed] {
            let recs = store.list_recordings_by_contact(org, rec.contact, &Page::first(20)).await.expect("list").items;
            after_call(&store, org, rec.contact, &dir, keys.clone(), &recs, Timestamp::from_unix_ms(T0)).await;
            let rows = store.list_contact_speech(org, rec.contact, 10).await.expect("speech");
            assert_eq!(rows.len(), 1, "one row per recording");
            let row = &rows[0];
            assert_eq!(row.recording, rec.id);
            near("duration", row.duration_ms, 60_000);
            near("customer talk", row.customer_talk_ms, 15_000);
            near("agent talk", row.agent_talk_ms, 12_000);
            near("overtalk", row.overtalk_ms, 2_000);
            near("longest silence", row.longest_silence_ms, 35_000);
            let silence_ms = (row.silence_ratio * 60_000.0).round() as u64;
            near("silence", silence_ms, 35_000);
            let ratio = row.talk_ratio.expect("the customer talked");
            assert!((ratio - 12.0 / 15.0).abs() < 0.02, "talk ratio {ratio}");
            assert!(row.flags.contains(&"long_silence".to_owned()), "flags {:?}", row.flags);
        }
        let candidates = store
            .list_qa_candidates(org, Timestamp::from_unix_ms(T0), Timestamp::from_unix_ms(T0 + 120_000), 10)
            .await
            .expect("candidates");
        assert_eq!(candidates.len(), 2);
        assert!(candidates.iter().all(|c| c.flagged), "speech-flagged contacts are flagged QA candidates");
    }

    #[tokio::test]
    async fn a_recording_that_is_not_a_wav_is_reported_and_nothing_is_stored() {
        let tmp = tempfile::tempdir().expect("tmp");
        let url = format!("sqlite://{}", tmp.path().join("hotline.db").display());
        let store = Store::connect(&url, &store::ConnectOptions::default()).await.expect("connect");
        store.migrate().await.expect("migrate");
        let dir = tmp.path().join("recordings");
        let org = OrgId::from_u128(1);
        let rec = ended_contact_with_recording(&store, &dir, org, 3).await;
        std::fs::write(dir.join(&rec.path), b"not a wav at all").expect("overwrite");
        let err = analyse_recording(&store, &dir, Arc::new(Keyring::none()), &rec, Timestamp::from_unix_ms(T0))
            .await
            .expect_err("refused");
        assert!(err.to_string().contains("RIFF"), "{err}");
        assert_eq!(store.list_contact_speech(org, rec.contact, 10).await.expect("speech"), vec![]);
    }
}
