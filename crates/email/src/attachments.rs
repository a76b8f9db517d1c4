//! Attachments at rest: each kept attachment of an accepted message is written to a file of its
//! own under one directory (`<data_dir>/email-attachments`), named by its id with a two-hex-digit
//! fan-out (`3f/3f2a…`), together with the SHA-256 of its bytes.
//!
//! A file is written to `<name>.part`, flushed to disk, then renamed: a reader never sees a
//! half-written attachment, and writing the same id again (a message redelivered before its first
//! delivery was stored) replaces the file whole. The caller stores the rows only after the files
//! are written, so a stored row always has its file.
//!
//! Never: write outside the directory (names come from ids this module checks, never from a
//! sender's file name), or keep a `.part` file after a failed write when it can be removed.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// A kept attachment written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Relative to the attachments directory, `/`-separated.
    pub path: String,
    /// Hex SHA-256 of the bytes written.
    pub sha256: String,
}

/// Why an attachment could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentWriteError {
    #[error("attachment id {0:?} is not a file name (hex digits and dashes, 8 to 64 characters)")]
    BadId(String),
    #[error("cannot write attachment file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The relative path of attachment `id` (a UUID's text): `<first two characters>/<id>`.
pub fn relative_path(id: &str) -> Result<String, AttachmentWriteError> {
    let ok = (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !ok {
        return Err(AttachmentWriteError::BadId(id.to_owned()));
    }
    Ok(format!("{}/{id}", &id[..2]))
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `data` as attachment `id` under `dir` (created when missing), whole or not at all.
pub async fn write(dir: &Path, id: &str, data: &[u8]) -> Result<WrittenFile, AttachmentWriteError> {
    let path = relative_path(id)?;
    let full = dir.join(&path);
    let part = full.with_extension("part");
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| AttachmentWriteError::Io { path: p, source }
    };
    if let Some(parent) = full.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(io(parent))?;
    }
    let written = async {
        let mut file = tokio::fs::File::create(&part).await?;
        file.write_all(data).await?;
        file.sync_all().await?;
        drop(file);
        tokio::fs::rename(&part, &full).await
    }
    .await;
    if let Err(source) = written {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(AttachmentWriteError::Io { path: full, source });
    }
    Ok(WrittenFile { path, sha256: sha256_hex(data) })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ids_that_are_not_file_names_are_refused() {
        assert_eq!(
            relative_path("3f2a0000-0000-5000-8000-000000000001").unwrap(),
            "3f/3f2a0000-0000-5000-8000-000000000001"
        );
        for bad in ["../../etc/passwd", "ab/cd", "", "short", "zzzzzzzzzz"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sha256_of_known_bytes() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[tokio::test]
    async fn written_file_holds_the_bytes_and_no_part_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let id = "3f2a0000-0000-5000-8000-000000000001";
        let w = write(dir.path(), id, b"%PDF-1.4 one").await.unwrap();
        let w2 = write(dir.path(), id, b"%PDF-1.4 two").await.unwrap();
        assert_eq!(w.path, w2.path);
        assert_eq!(std::fs::read(dir.path().join(&w2.path)).unwrap(), b"%PDF-1.4 two");
        assert_eq!(w2.sha256, sha256_hex(b"%PDF-1.4 two"));
        assert_eq!(std::fs::read_dir(dir.path().join("3f")).unwrap().count(), 1, "a .part file was left");
    }
}
