//! Recording keys and the keyring: the current key seals new files; older keys stay to open
//! files sealed before a rotation. A file names its key by id in its header.
//!
//! Never: a key printed (Debug shows the id only), or a key id that could not be written in the
//! header.

use crate::RecordingsError;
use crate::format::MAX_KEY_ID_BYTES;

/// A 256-bit XChaCha20-Poly1305 key with its id.
#[derive(Clone, PartialEq, Eq)]
pub struct RecordingKey {
    id: String,
    key: [u8; 32],
}

impl std::fmt::Debug for RecordingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingKey").field("id", &self.id).field("key", &"***").finish()
    }
}

/// 1–64 characters of `A-Z a-z 0-9 - _ .`
pub(crate) fn valid_key_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_KEY_ID_BYTES
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl RecordingKey {
    pub fn new(id: &str, key: [u8; 32]) -> Result<Self, RecordingsError> {
        if !valid_key_id(id) {
            return Err(RecordingsError::BadKey(format!(
                "key id {:?} must be 1 to {MAX_KEY_ID_BYTES} letters, digits, '-', '_' or '.'",
                id.chars().take(80).collect::<String>()
            )));
        }
        Ok(Self { id: id.to_owned(), key })
    }

    /// A key written as 64 hex digits (as in the configuration file).
    pub fn from_hex(id: &str, hex: &str) -> Result<Self, RecordingsError> {
        let hex = hex.trim();
        let bad = || RecordingsError::BadKey(format!("key {id:?} must be 64 hex digits (32 bytes)"));
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        let mut key = [0u8; 32];
        for (i, out) in key.iter_mut().enumerate() {
            *out = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Self::new(id, key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }
}

/// The configured keys. Without a current key, new recordings stay in clear.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<RecordingKey>,
    current: Option<usize>,
}

impl Keyring {
    /// No keys: recordings are not encrypted (and encrypted ones cannot be read).
    pub fn none() -> Self {
        Self::default()
    }

    /// `keys` with `current` (one of their ids) sealing new files. Ids must be unique.
    pub fn new(keys: Vec<RecordingKey>, current: &str) -> Result<Self, RecordingsError> {
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(RecordingsError::BadKey(format!("key id {:?} is configured twice", k.id)));
            }
        }
        let current = keys
            .iter()
            .position(|k| k.id == current)
            .ok_or_else(|| RecordingsError::BadKey(format!("the current key {current:?} is not among the keys")))?;
        Ok(Self { keys, current: Some(current) })
    }

    /// The key new files are sealed with, if encryption is on.
    pub fn current(&self) -> Option<&RecordingKey> {
        self.current.and_then(|i| self.keys.get(i))
    }

    pub fn get(&self, id: &str) -> Option<&RecordingKey> {
        self.keys.iter().find(|k| k.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_and_never_print() {
        let k = RecordingKey::from_hex("k1", &"ab".repeat(32)).expect("key");
        assert_eq!(k.bytes(), &[0xab; 32]);
        assert!(!format!("{k:?}").contains("ab, ") && format!("{k:?}").contains("***"));
        assert!(RecordingKey::from_hex("k1", "abc").is_err());
        assert!(RecordingKey::from_hex("k1", &"zz".repeat(32)).is_err());
        assert!(RecordingKey::from_hex("k1", &"é".repeat(32)).is_err());
        assert!(RecordingKey::new("", [0; 32]).is_err());
        assert!(RecordingKey::new("has space", [0; 32]).is_err());
        assert!(RecordingKey::new(&"k".repeat(65), [0; 32]).is_err());
    }

    #[test]
    fn keyring_needs_its_current_key_and_unique_ids() {
        let a = RecordingKey::new("a", [1; 32]).expect("a");
        let b = RecordingKey::new("b", [2; 32]).expect("b");
        let ring = Keyring::new(vec![a.clone(), b.clone()], "b").expect("ring");
        assert_eq!(ring.current().map(RecordingKey::id), Some("b"));
        assert_eq!(ring.get("a"), Some(&a));
        assert!(Keyring::new(vec![a.clone()], "b").is_err());
        assert!(Keyring::new(vec![a.clone(), a], "a").is_err());
        assert!(Keyring::none().current().is_none());
    }
}
