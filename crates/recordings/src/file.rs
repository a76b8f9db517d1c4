//! Recording files on disk: sealing a finished WAV in place (atomically: temp file, fsync,
//! rename, fsync of the folder) and reading a recording, encrypted or not, whole or by byte
//! range, so the web layer can serve HTTP Range requests without decrypting the whole file.
//!
//! Blocking std IO: call from a blocking thread in async code. Never: a half-written file under
//! the recording's name (a crash leaves the clear original or the sealed file, plus at worst a
//! temp file), or plaintext returned from a chunk that did not authenticate.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::RecordingsError;
use crate::format::{Header, MAGIC, MAX_HEADER_BYTES, NoncePrefix};
use crate::keys::{Keyring, RecordingKey};

fn io(what: &str, path: &Path, e: std::io::Error) -> RecordingsError {
    RecordingsError::Io(format!("{what} {}: {e}", path.display()))
}

/// Whether the file starts with the encrypted format's magic.
pub fn is_encrypted(path: &Path) -> Result<bool, RecordingsError> {
    let mut f = File::open(path).map_err(|e| io("cannot open", path, e))?;
    let mut magic = [0u8; 8];
    let mut got = 0;
    while got < magic.len() {
        match f.read(&mut magic[got..]).map_err(|e| io("cannot read", path, e))? {
            0 => return Ok(false),
            n => got += n,
        }
    }
    Ok(magic == MAGIC)
}

/// What sealing a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub plaintext_bytes: u64,
    pub file_bytes: u64,
}

/// Seals the finished recording at `path` with `key`, in place: the sealed copy is written to a
/// temp file beside it, flushed to disk, renamed over the original, and the folder is flushed.
/// A file already sealed is refused ([`RecordingsError::AlreadyEncrypted`]).
pub fn encrypt_in_place(path: &Path, key: &RecordingKey, prefix: NoncePrefix) -> Result<Sealed, RecordingsError> {
    if is_encrypted(path)? {
        return Err(RecordingsError::AlreadyEncrypted { path: path.display().to_string() });
    }
    let mut src = File::open(path).map_err(|e| io("cannot open", path, e))?;
    let len = src.metadata().map_err(|e| io("cannot stat", path, e))?.len();
    let header = Header::new(key, prefix, len)?;
    let tmp = temp_path(path)?;
    let result = write_sealed(&mut src, &tmp, &header, key, path);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io("cannot rename the sealed copy over", path, e)
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io("cannot flush the folder", dir, e))?;
    }
    Ok(Sealed { key_id: key.id().to_owned(), plaintext_bytes: len, file_bytes: header.file_len() })
}

fn temp_path(path: &Path) -> Result<PathBuf, RecordingsError> {
    let name = path.file_name().ok_or_else(|| RecordingsError::Io(format!("{} is not a file path", path.display())))?;
    Ok(path.with_file_name(format!(".{}.sealing", name.to_string_lossy())))
}

fn write_sealed(
    src: &mut File,
    tmp: &Path,
    header: &Header,
    key: &RecordingKey,
    path: &Path,
) -> Result<(), RecordingsError> {
    let mut out = OpenOptions::new().write(true).create_new(true).open(tmp).map_err(|e| io("cannot create", tmp, e))?;
    out.write_all(&header.encode()).map_err(|e| io("cannot write", tmp, e))?;
    let mut buf = vec![0u8; header.chunk_bytes as usize];
    for i in 0..header.chunk_count() {
        let n = usize::try_from(header.chunk_plaintext_len(i)).unwrap_or(usize::MAX);
        src.read_exact(&mut buf[..n]).map_err(|e| io("the recording changed or shrank while sealing", path, e))?;
        let sealed = header.seal_chunk(key, i, &buf[..n])?;
        out.write_all(&sealed).map_err(|e| io("cannot write", tmp, e))?;
    }
    let mut extra = [0u8; 1];
    if src.read(&mut extra).map_err(|e| io("cannot read", path, e))? != 0 {
        return Err(RecordingsError::Io(format!("{} grew while sealing; is it still being recorded?", path.display())));
    }
    out.sync_all().map_err(|e| io("cannot flush", tmp, e))
}

enum Kind {
    Clear,
    Sealed { header: Header, key: RecordingKey },
}

/// An open recording, encrypted or not, read by plaintext byte ranges.
pub struct RecordingFile {
    file: File,
    path: PathBuf,
    kind: Kind,
    len: u64,
}

impl std::fmt::Debug for RecordingFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key_id = match &self.kind {
            Kind::Clear => None,
            Kind::Sealed { header, .. } => Some(header.key_id.as_str()),
        };
        f.debug_struct("RecordingFile")
            .field("path", &self.path)
            .field("key_id", &key_id)
            .field("len", &self.len)
            .finish()
    }
}

impl RecordingFile {
    /// Opens a recording. An encrypted one needs its key in `keys` (by the id in its header) and
    /// must have exactly the length its header implies: a truncated or extended file is refused
    /// here, before any byte is served.
    pub fn open(path: &Path, keys: &Keyring) -> Result<RecordingFile, RecordingsError> {
        let mut file = File::open(path).map_err(|e| io("cannot open", path, e))?;
        let file_len = file.metadata().map_err(|e| io("cannot stat", path, e))?.len();
        let mut head = Vec::with_capacity(MAX_HEADER_BYTES);
        (&mut file).take(MAX_HEADER_BYTES as u64).read_to_end(&mut head).map_err(|e| io("cannot read", path, e))?;
        if head.len() < MAGIC.len() || head[..MAGIC.len()] != MAGIC {
            return Ok(RecordingFile { file, path: path.to_owned(), kind: Kind::Clear, len: file_len });
        }
        let header = Header::decode(&head)?;
        let key =
            keys.get(&header.key_id).ok_or_else(|| RecordingsError::UnknownKey { key_id: header.key_id.clone() })?;
        if !header.key_matches(key) {
            return Err(RecordingsError::WrongKey { key_id: header.key_id.clone() });
        }
        let expected = header.file_len();
        if file_len != expected {
            return Err(RecordingsError::Truncated { expected_bytes: expected, found_bytes: file_len });
        }
        let len = header.plaintext_len;
        Ok(RecordingFile { file, path: path.to_owned(), kind: Kind::Sealed { header, key: key.clone() }, len })
    }

    /// The recording's length (of the WAV, not of the sealed file).
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_encrypted(&self) -> bool {
        matches!(self.kind, Kind::Sealed { .. })
    }

    /// The bytes `range` of the recording (an HTTP Range, end exclusive), at most
    /// `max_range_bytes` of them. Only the chunks the range touches are read and authenticated.
    pub fn read_range(&mut self, range: Range<u64>, max_range_bytes: u64) -> Result<Vec<u8>, RecordingsError> {
        if range.start > range.end || range.end > self.len {
            return Err(RecordingsError::BadRange { start: range.start, end: range.end, len: self.len });
        }
        if range.end - range.start > max_range_bytes {
            return Err(RecordingsError::RangeTooLong { bytes: range.end - range.start, max_range_bytes });
        }
        let mut out = Vec::with_capacity(usize::try_from(range.end - range.start).unwrap_or(0));
        match &self.kind {
            Kind::Clear => {
                self.file.seek(SeekFrom::Start(range.start)).map_err(|e| io("cannot seek", &self.path, e))?;
                (&mut self.file)
                    .take(range.end - range.start)
                    .read_to_end(&mut out)
                    .map_err(|e| io("cannot read", &self.path, e))?;
                if (out.len() as u64) < range.end - range.start {
                    return Err(RecordingsError::Io(format!("{} shrank while being read", self.path.display())));
                }
            }
            Kind::Sealed { header, .. } => {
                if range.start == range.end {
                    return Ok(out);
                }
                let chunk = u64::from(header.chunk_bytes);
                for i in range.start / chunk..=(range.end - 1) / chunk {
                    let plain = self.read_chunk(i)?;
                    let base = i * chunk;
                    let from = usize::try_from(range.start.saturating_sub(base)).unwrap_or(0);
                    let to = usize::try_from((range.end - base).min(plain.len() as u64)).unwrap_or(plain.len());
                    out.extend_from_slice(&plain[from..to]);
                }
            }
        }
        Ok(out)
    }

    /// Chunk `i` of an encrypted recording, authenticated (for a clear one: the same 64 KiB
    /// slice).
    pub fn read_chunk(&mut self, i: u64) -> Result<Vec<u8>, RecordingsError> {
        let Kind::Sealed { header, key } = &self.kind else {
            let chunk = u64::from(crate::format::CHUNK_BYTES);
            let start = (i * chunk).min(self.len);
            let end = (start + chunk).min(self.len);
            return self.read_range(start..end, chunk);
        };
        if i >= header.chunk_count() {
            return Err(RecordingsError::BadRange { start: i * u64::from(header.chunk_bytes), end: 0, len: self.len });
        }
        let (at, n) = header.chunk_location(i);
        let mut sealed = vec![0u8; usize::try_from(n).unwrap_or(0)];
        self.file.seek(SeekFrom::Start(at)).map_err(|e| io("cannot seek", &self.path, e))?;
        self.file.read_exact(&mut sealed).map_err(|e| io("cannot read", &self.path, e))?;
        header.open_chunk(key, i, &sealed)
    }

    /// Writes the whole recording to `out`, chunk by chunk (memory stays at one chunk).
    pub fn copy_to(&mut self, out: &mut impl Write) -> Result<u64, RecordingsError> {
        let mut written = 0;
        let mut i = 0;
        while written < self.len {
            let bytes = self.read_chunk(i)?;
            out.write_all(&bytes).map_err(|e| RecordingsError::Io(format!("cannot write the recording out: {e}")))?;
            written += bytes.len() as u64;
            i += 1;
        }
        Ok(written)
    }
}
