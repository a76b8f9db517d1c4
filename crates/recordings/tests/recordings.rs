//! Recordings at rest through the public interface: sealing in place, reading back whole and by
//! range, every kind of damage detected, wrong and unknown keys, and the retention sweep with
//! legal holds and audit entries on a real SQLite store.

use std::path::{Path, PathBuf};

use model::{ContactId, CountryCode, DurationMs, Org, OrgId, Recording, RecordingId, Role, Timestamp};
use proptest::prelude::*;
use recordings::{
    Actor, Keyring, NoncePrefix, RecordingFile, RecordingKey, RecordingsError, RetentionPolicy, encrypt_in_place,
    is_encrypted, retention,
};
use store::{ConnectOptions, Page, Store};

const CHUNK: u64 = 64 * 1024;
const MAX_RANGE: u64 = 16 * 1024 * 1024;

fn key(id: &str, b: u8) -> RecordingKey {
    RecordingKey::new(id, [b; 32]).expect("key")
}

fn ring(keys: &[RecordingKey], current: &str) -> Keyring {
    Keyring::new(keys.to_vec(), current).expect("keyring")
}

/// A WAV-like file of `len` bytes whose every byte depends on its position.
fn audio(len: usize) -> Vec<u8> {
    let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
    v.extend((v.len()..len).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8));
    v.truncate(len);
    v
}

fn sealed_file(dir: &Path, name: &str, plain: &[u8], k: &RecordingKey) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, plain).expect("write");
    encrypt_in_place(&path, k, NoncePrefix::random().expect("nonce")).expect("seal");
    path
}

fn header_len(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("read");
    (8 + 1 + 1 + usize::from(bytes[9]) + 19 + 4 + 8 + 16) as u64
}

#[test]
fn sealed_recording_reads_back_identical_and_nothing_else_is_left_behind() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(3 * CHUNK as usize + 12_345);
    let k = key("k2026", 1);
    let path = sealed_file(dir.path(), "call.wav", &plain, &k);
    assert!(is_encrypted(&path).expect("probe"));
    let on_disk = std::fs::read(&path).expect("read");
    assert_eq!(on_disk.len() as u64, header_len(&path) + plain.len() as u64 + 4 * 16);
    assert!(!on_disk.windows(16).any(|w| w == &plain[20_000..20_016]), "no clear audio on disk");
    let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("e").file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("call.wav")], "no temp file left");

    let mut f = RecordingFile::open(&path, &ring(&[k], "k2026")).expect("open");
    assert!(f.is_encrypted());
    assert_eq!(f.len(), plain.len() as u64);
    let mut out = Vec::new();
    assert_eq!(f.copy_to(&mut out).expect("copy"), plain.len() as u64);
    assert_eq!(out, plain);
    assert_eq!(f.read_range(0..f.len(), MAX_RANGE).expect("all"), plain);
}

#[test]
fn empty_and_exact_multiple_recordings_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let k = key("k", 9);
    for (name, len) in [("empty.wav", 0), ("two.wav", 2 * CHUNK as usize), ("one.wav", 1)] {
        let plain = audio(len);
        let path = sealed_file(dir.path(), name, &plain, &k);
        let mut f = RecordingFile::open(&path, &ring(std::slice::from_ref(&k), "k")).expect("open");
        let mut out = Vec::new();
        f.copy_to(&mut out).expect("copy");
        assert_eq!(out, plain, "{name}");
    }
}

#[test]
fn ranges_across_chunk_boundaries_match_the_clear_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(3 * CHUNK as usize + 100);
    let k = key("k", 1);
    let path = sealed_file(dir.path(), "r.wav", &plain, &k);
    let mut f = RecordingFile::open(&path, &ring(&[k], "k")).expect("open");
    let len = plain.len() as u64;
    for r in
        [0..1, 0..CHUNK, CHUNK - 1..CHUNK + 1, CHUNK..2 * CHUNK, 2 * CHUNK - 10..3 * CHUNK + 10, len - 5..len, 7..7]
    {
        let got = f.read_range(r.clone(), MAX_RANGE).expect("range");
        assert_eq!(got, &plain[r.start as usize..r.end as usize], "{r:?}");
    }
    assert!(matches!(f.read_range(len - 1..len + 1, MAX_RANGE), Err(RecordingsError::BadRange { .. })));
    assert!(matches!(f.read_range(0..1_000, 999), Err(RecordingsError::RangeTooLong { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_range_reads_the_same_bytes_as_the_clear_file(a in 0u64..200_001, b in 0u64..200_001) {
        let dir = tempfile::tempdir().expect("tmp");
        let plain = audio(200_000);
        let k = key("k", 1);
        let path = sealed_file(dir.path(), "p.wav", &plain, &k);
        let mut f = RecordingFile::open(&path, &ring(&[k], "k")).expect("open");
        let (start, end) = (a.min(b).min(200_000), a.max(b).min(200_000));
        let got = f.read_range(start..end, MAX_RANGE).expect("range");
        prop_assert_eq!(got, &plain[start as usize..end as usize]);
    }
}

#[test]
fn a_changed_byte_fails_its_chunk_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(3 * CHUNK as usize);
    let k = key("k", 1);
    let path = sealed_file(dir.path(), "t.wav", &plain, &k);
    let mut bytes = std::fs::read(&path).expect("read");
    let at = (header_len(&path) + 2 * (CHUNK + 16) + 500) as usize;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).expect("write");
    let mut f = RecordingFile::open(&path, &ring(&[k], "k")).expect("open: header and length are intact");
    assert_eq!(f.read_range(0..CHUNK, MAX_RANGE).expect("chunk 0 is fine"), &plain[..CHUNK as usize]);
    let err = f.read_range(2 * CHUNK..2 * CHUNK + 10, MAX_RANGE).expect_err("chunk 2");
    assert!(matches!(err, RecordingsError::Tampered { chunk: 2 }), "{err}");
    assert!(f.copy_to(&mut Vec::new()).is_err(), "a whole read stops at the damaged chunk");
}

#[test]
fn swapped_chunks_are_detected() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(3 * CHUNK as usize);
    let k = key("k", 1);
    let path = sealed_file(dir.path(), "s.wav", &plain, &k);
    let mut bytes = std::fs::read(&path).expect("read");
    let (h, stride) = (header_len(&path) as usize, (CHUNK + 16) as usize);
    let first: Vec<u8> = bytes[h..h + stride].to_vec();
    bytes.copy_within(h + stride..h + 2 * stride, h);
    bytes[h + stride..h + 2 * stride].copy_from_slice(&first);
    std::fs::write(&path, &bytes).expect("write");
    let mut f = RecordingFile::open(&path, &ring(&[k], "k")).expect("open");
    assert!(matches!(f.read_range(0..10, MAX_RANGE), Err(RecordingsError::Tampered { chunk: 0 })));
    assert!(matches!(f.read_range(CHUNK..CHUNK + 10, MAX_RANGE), Err(RecordingsError::Tampered { chunk: 1 })));
}

#[test]
fn truncated_or_extended_files_are_refused_at_open() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(2 * CHUNK as usize + 7);
    let k = key("k", 1);
    let path = sealed_file(dir.path(), "c.wav", &plain, &k);
    let bytes = std::fs::read(&path).expect("read");
    let keys = ring(std::slice::from_ref(&k), "k");
    for cut in [1, 7 + 16, (7 + 16 + CHUNK + 16) as usize] {
        std::fs::write(&path, &bytes[..bytes.len() - cut]).expect("write");
        let err = RecordingFile::open(&path, &keys).expect_err("truncated");
        assert!(matches!(err, RecordingsError::Truncated { .. }), "cut {cut}: {err}");
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 40]);
    std::fs::write(&path, &longer).expect("write");
    assert!(matches!(RecordingFile::open(&path, &keys), Err(RecordingsError::Truncated { .. })));
    // A header edited to agree with the cut (shorter plaintext length) fails the key check.
    let mut edited = bytes[..bytes.len() - (7 + 16)].to_vec();
    let len_at = header_len(&path) as usize - 16 - 8;
    edited[len_at..len_at + 8].copy_from_slice(&(2 * CHUNK).to_be_bytes());
    std::fs::write(&path, &edited).expect("write");
    let err = RecordingFile::open(&path, &keys).expect_err("edited header");
    assert!(matches!(err, RecordingsError::WrongKey { .. }), "{err}");
}

#[test]
fn wrong_and_unknown_keys_are_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(1_000);
    let path = sealed_file(dir.path(), "k.wav", &plain, &key("k2026", 1));
    let err = RecordingFile::open(&path, &ring(&[key("k2026", 2)], "k2026")).expect_err("wrong key");
    assert!(matches!(err, RecordingsError::WrongKey { .. }) && err.to_string().contains("k2026"), "{err}");
    let err = RecordingFile::open(&path, &ring(&[key("k2027", 1)], "k2027")).expect_err("unknown");
    assert!(matches!(err, RecordingsError::UnknownKey { ref key_id } if key_id == "k2026"), "{err}");
    assert!(matches!(RecordingFile::open(&path, &Keyring::none()), Err(RecordingsError::UnknownKey { .. })));
    // After a rotation the old key still opens old files.
    let rotated = ring(&[key("k2026", 1), key("k2027", 3)], "k2027");
    let mut f = RecordingFile::open(&path, &rotated).expect("old key kept");
    assert_eq!(f.read_range(0..1_000, MAX_RANGE).expect("read"), plain);
}

#[test]
fn clear_recordings_read_the_same_way_and_sealing_twice_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let plain = audio(100_000);
    let path = dir.path().join("clear.wav");
    std::fs::write(&path, &plain).expect("write");
    let mut f = RecordingFile::open(&path, &Keyring::none()).expect("open");
    assert!(!f.is_encrypted());
    assert_eq!(f.read_range(65_000..70_000, MAX_RANGE).expect("range"), &plain[65_000..70_000]);
    let k = key("k", 1);
    encrypt_in_place(&path, &k, NoncePrefix::random().expect("n")).expect("seal");
    let again = encrypt_in_place(&path, &k, NoncePrefix::random().expect("n"));
    assert!(matches!(again, Err(RecordingsError::AlreadyEncrypted { .. })), "{again:?}");
    let missing = encrypt_in_place(&dir.path().join("nope.wav"), &k, NoncePrefix::random().expect("n"));
    assert!(matches!(missing, Err(RecordingsError::Io(ref m)) if m.contains("nope.wav")), "{missing:?}");
}

// ---- retention and legal holds on a real store ----

const ORG: OrgId = OrgId::from_u128(1);
const DAY_MS: i64 = 86_400_000;
const NOW: i64 = 1_780_000_000_000;

async fn store(dir: &Path) -> Store {
    let url = format!("sqlite://{}/hotline.db", dir.display());
    let store = Store::connect(&url, &ConnectOptions::default()).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
        .insert_org(&Org {
            id: ORG,
            name: "Demo Shop".into(),
            default_country: CountryCode::new(86).expect("86"),
            time_zone: "Asia/Shanghai".into(),
            created_at: Timestamp::from_unix_ms(0),
        })
        .await
        .expect("org");
    store
}

async fn stored_recording(store: &Store, dir: &Path, n: u128, age_days: i64) -> RecordingId {
    let path = format!("{n}.wav");
    std::fs::write(dir.join(&path), audio(1_000)).expect("write");
    let rec = Recording {
        id: RecordingId::from_u128(n),
        org: ORG,
        contact: ContactId::from_u128(n),
        path,
        started_at: Timestamp::from_unix_ms(NOW - age_days * DAY_MS),
        duration: DurationMs::from_ms(60_000),
        size_bytes: 1_000,
        sha256: String::new(),
        channels: 2,
        sample_rate_hz: 8_000,
        legal_hold: false,
        deleted_at: None,
    };
    store.insert_recording(&rec).await.expect("insert");
    rec.id
}

fn supervisor() -> Actor {
    Actor { user: None, name: "supervisor1".into(), role: Role::Supervisor, client: "127.0.0.1".into() }
}

#[tokio::test]
async fn retention_sweep_deletes_old_recordings_but_respects_legal_hold_and_audits() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    let old = stored_recording(&store, tmp.path(), 1, 100).await;
    let held = stored_recording(&store, tmp.path(), 2, 100).await;
    let young = stored_recording(&store, tmp.path(), 3, 10).await;
    let now = Timestamp::from_unix_ms(NOW);
    let hold = retention::place_legal_hold(&store, ORG, held, &supervisor(), "complaint #42 in court", now)
        .await
        .expect("hold");
    assert_eq!(store.get_legal_hold(ORG, held).await.expect("get"), Some(hold));

    let policy = RetentionPolicy { retention_days: 90, max_deletions_per_sweep: 100 };
    let report = retention::sweep(&store, ORG, tmp.path(), policy, now).await.expect("sweep");
    assert_eq!(report.deleted, vec![old]);
    assert!(!tmp.path().join("1.wav").exists());
    assert!(tmp.path().join("2.wav").exists() && tmp.path().join("3.wav").exists());
    assert_eq!(store.get_recording(ORG, old).await.expect("get").expect("row").deleted_at, Some(now));
    assert_eq!(store.get_recording(ORG, held).await.expect("get").expect("row").deleted_at, None);
    assert_eq!(store.get_recording(ORG, young).await.expect("get").expect("row").deleted_at, None);

    let later = Timestamp::from_unix_ms(NOW + 1);
    assert!(retention::release_legal_hold(&store, ORG, held, &supervisor(), later).await.expect("release"));
    let report = retention::sweep(&store, ORG, tmp.path(), policy, later).await.expect("sweep");
    assert_eq!(report.deleted, vec![held], "released, it goes at the next sweep");

    let audit = store.list_audit_entries(ORG, &Page::first(50)).await.expect("audit");
    let mut actions: Vec<(String, String)> = audit.items.iter().map(|a| (a.action.clone(), a.actor.clone())).collect();
    actions.sort();
    assert_eq!(
        actions,
        vec![
            ("delete_recording".into(), "system:retention".into()),
            ("delete_recording".into(), "system:retention".into()),
            ("place_legal_hold".into(), "supervisor1".into()),
            ("release_legal_hold".into(), "supervisor1".into()),
        ]
    );
}

#[tokio::test]
async fn sweep_is_bounded_reports_missing_files_and_holds_need_a_reason() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = store(tmp.path()).await;
    for n in 1..=3 {
        stored_recording(&store, tmp.path(), n, 400).await;
    }
    std::fs::remove_file(tmp.path().join("1.wav")).expect("rm");
    let now = Timestamp::from_unix_ms(NOW);
    let policy = RetentionPolicy { retention_days: 365, max_deletions_per_sweep: 2 };
    let report = retention::sweep(&store, ORG, tmp.path(), policy, now).await.expect("sweep");
    assert_eq!(report.missing_files, vec![RecordingId::from_u128(1)]);
    assert_eq!(report.deleted, vec![RecordingId::from_u128(2)]);
    let report = retention::sweep(&store, ORG, tmp.path(), policy, now).await.expect("sweep");
    assert_eq!(report.deleted, vec![RecordingId::from_u128(3)]);
    let zero = RetentionPolicy { retention_days: 0, max_deletions_per_sweep: 2 };
    assert!(retention::sweep(&store, ORG, tmp.path(), zero, now).await.is_err());
    let no_reason = retention::place_legal_hold(&store, ORG, RecordingId::from_u128(3), &supervisor(), "  ", now).await;
    assert!(matches!(no_reason, Err(RecordingsError::BadPolicy(_))), "{no_reason:?}");
}
