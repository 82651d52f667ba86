//! Encryption at rest (`--encryption-key-file`): recordings in the blob store and embeddings in
//! the database are sealed with XChaCha20-Poly1305, an authenticated cipher with a random
//! 192-bit nonce per object.
//!
//! **Two levels of keys.** The operator's *master key* (32 bytes, hex, in a file that never
//! enters the storage) wraps *data keys*, which are random and kept wrapped in the `data_keys`
//! table. Objects are sealed with a data key, whose number is in each object's header. This is
//! what lets `voxprint admin rotate-key` run while servers serve: it wraps the data keys under
//! the new master key too, so servers holding either master key can open everything while the
//! objects are re-sealed (see `rotation.rs`). Servers reread the table every
//! [`KEY_REFRESH_INTERVAL`], always seal with the newest data key they can unwrap, and refuse to
//! seal when they could not reread it for [`MAX_KEY_AGE`].
//!
//! **Identity as associated data.** Every object is sealed together with what it is (the blob's
//! key, or "embedding" and the recording's sample ID), so a sealed value moved onto another
//! object does not open.
//!
//! **Unencrypted values** (stored before encryption was turned on) carry no header and are read
//! as they are; `admin check` counts them and `rotate-key` seals them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// How often a server rereads the data keys, to seal with a key `rotate-key` added.
pub const KEY_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// A process that rereads the data keys refuses to seal once its last reread began this long
/// ago (see [`Keyring::seal`]): three intervals, so that a slow database delays a reread by up
/// to ten seconds before writes are refused.
pub const MAX_KEY_AGE: Duration = Duration::from_secs(3 * KEY_REFRESH_INTERVAL.as_secs());

/// How long rotation waits after adding a data key before it re-seals anything: [`MAX_KEY_AGE`],
/// after which every process seals with the new key, and two intervals more for a value sealed
/// just before that to reach the storage, where rotation's passes find it.
pub const ROTATION_WAIT: Duration = Duration::from_secs(MAX_KEY_AGE.as_secs() + 2 * KEY_REFRESH_INTERVAL.as_secs());

/// The start of every sealed value: no WAV, MP3, Ogg, MP4 or WebM file and no unit-length
/// float embedding starts with these bytes.
const MAGIC: &[u8; 8] = b"\0VXSEAL1";
const HEADER_LEN: usize = MAGIC.len() + 4;
const NONCE_LEN: usize = 24;
/// What sealing adds to a value: header, nonce and the 16-byte authentication tag.
const SEALED_OVERHEAD: usize = HEADER_LEN + NONCE_LEN + 16;

/// The operator's key, read from `--encryption-key-file`.
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    /// A public name of the key (a hash of it), stored beside the data keys it wraps, so a wrong
    /// key is told apart from damaged data.
    pub id: String,
}

impl MasterKey {
    /// Reads a key file: 64 hex digits (32 bytes), such as `openssl rand -hex 32` writes.
    pub fn read(path: &Path) -> anyhow::Result<MasterKey> {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(metadata) = std::fs::metadata(path) {
            if metadata.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the encryption key file is readable by other local users; chmod 600 it");
            }
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the encryption key file {}", path.display()))?;
        let key = hex::decode(text.trim()).ok().filter(|key| key.len() == 32).with_context(|| {
            format!(
                "the encryption key file {} must hold 64 hex digits (32 bytes), as `openssl rand -hex 32` writes",
                path.display()
            )
        })?;
        Ok(MasterKey::from_bytes(&key))
    }

    fn from_bytes(key: &[u8]) -> MasterKey {
        let id =
            hex::encode(&Sha256::new().chain_update(b"voxprint master key id\0").chain_update(key).finalize()[..8]);
        MasterKey { cipher: XChaCha20Poly1305::new_from_slice(key).expect("32-byte key"), id }
    }

    /// A fresh data key numbered `number`, and its wrapping under this master key.
    pub fn new_data_key(&self, number: u32) -> anyhow::Result<(DataKey, Vec<u8>)> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).context("no randomness for a data key")?;
        let key = DataKey { number, key };
        let wrapped = self.wrap(&key)?;
        Ok((key, wrapped))
    }

    /// `key` sealed under this master key, bound to its number.
    pub fn wrap(&self, key: &DataKey) -> anyhow::Result<Vec<u8>> {
        let nonce = random_nonce()?;
        let aad = wrapping_identity(key.number);
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: &key.key, aad: &aad })
            .map_err(|_| anyhow::anyhow!("cannot wrap data key {}", key.number))?;
        Ok([&nonce[..], &sealed].concat())
    }

    /// The data key `number` that [`MasterKey::wrap`] wrapped under this key.
    pub fn unwrap(&self, number: u32, wrapped: &[u8]) -> anyhow::Result<DataKey> {
        let key = (wrapped.len() > NONCE_LEN)
            .then(|| {
                let (nonce, sealed) = wrapped.split_at(NONCE_LEN);
                let aad = wrapping_identity(number);
                self.cipher.decrypt(&nonce_of(nonce), Payload { msg: sealed, aad: &aad }).ok()
            })
            .flatten()
            .and_then(|key| <[u8; 32]>::try_from(key).ok())
            .with_context(|| format!("data key {number} does not open with the master key {}", self.id))?;
        Ok(DataKey { number, key })
    }
}

/// One data key, unwrapped.
#[derive(Clone)]
pub struct DataKey {
    pub number: u32,
    key: [u8; 32],
}

impl DataKey {
    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(&self.key).expect("32-byte key")
    }
}

/// A data key as the `data_keys` table holds it: its number, the ID of the master key that
/// wraps it, and the wrapped key. A data key has one row per master key wrapping it.
#[derive(Debug, Clone)]
pub struct WrappedKey {
    pub number: u32,
    pub master_key_id: String,
    pub wrapped: Vec<u8>,
}

/// The data keys this process can open, under its master key; shared by the database and the
/// blob store.
pub struct Keyring {
    master: MasterKey,
    keys: RwLock<BTreeMap<u32, XChaCha20Poly1305>>,
    /// In a process that rereads the data keys (a server, `admin reembed`): when the last
    /// successful reread began. `None` in one-shot commands, which seal with what they loaded.
    reread_at: Mutex<Option<Instant>>,
}

/// Why a stored value did not open.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("{0} is encrypted, and this process was started without --encryption-key-file")]
    NoKey(String),
    #[error("{0} is sealed with data key {1}, which the master key does not open")]
    UnknownKey(String, u32),
    #[error("{0} does not open: it was altered, damaged or moved from another object")]
    Tampered(String),
    #[error("cannot encrypt {0}")]
    Seal(String),
    /// The data keys could not be reread for [`MAX_KEY_AGE`]: a rotation may have added a key
    /// this process does not know, and a value sealed with an older one could stop opening.
    #[error("cannot encrypt {0} now: the data keys have not been reread from the database for {1} s")]
    Stale(String, u64),
}

impl SealError {
    /// Whether trying again later may succeed (the database is back, the keys reread).
    pub fn is_transient(&self) -> bool {
        matches!(self, SealError::Stale(..))
    }
}

/// For the blob store: keys not reread are an outage (`NotConnected`, answered 4009 as storage
/// outages are), anything else a fault.
impl From<SealError> for std::io::Error {
    fn from(err: SealError) -> std::io::Error {
        let kind = if err.is_transient() { std::io::ErrorKind::NotConnected } else { std::io::ErrorKind::Other };
        std::io::Error::new(kind, err)
    }
}

impl Keyring {
    pub fn new(master: MasterKey) -> Keyring {
        Keyring { master, keys: RwLock::default(), reread_at: Mutex::default() }
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Adds the data keys of `rows` that are wrapped under this keyring's master key; returns
    /// how many it holds. Keys it held before stay (a rotation removes their rows only once
    /// nothing is sealed with them any more).
    pub fn install(&self, rows: &[WrappedKey]) -> anyhow::Result<usize> {
        let mut opened = Vec::new();
        for row in rows.iter().filter(|row| row.master_key_id == self.master.id) {
            opened.push(self.master.unwrap(row.number, &row.wrapped)?);
        }
        let mut keys = self.keys.write().unwrap_or_else(|poison| poison.into_inner());
        for key in opened {
            keys.insert(key.number, key.cipher());
        }
        Ok(keys.len())
    }

    /// Installs `rows`, read from the database by a query that began at `began`; from then on
    /// [`Self::seal`] refuses once such a reread is [`MAX_KEY_AGE`] old.
    pub fn reread(&self, rows: &[WrappedKey], began: Instant) -> anyhow::Result<usize> {
        let held = self.install(rows)?;
        *self.reread_at.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(began);
        Ok(held)
    }

    /// `plain` sealed with the newest data key (the one a rotation adds last), bound to
    /// `identity`. Refused in a process whose last reread of the data keys is [`MAX_KEY_AGE`]
    /// old: a rotation that added a key since would retire the one this process still knows.
    pub fn seal(&self, identity: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        if let Some(began) = *self.reread_at.lock().unwrap_or_else(|poison| poison.into_inner()) {
            let age = began.elapsed();
            if age >= MAX_KEY_AGE {
                return Err(SealError::Stale(identity.to_owned(), age.as_secs()));
            }
        }
        let keys = self.keys.read().unwrap_or_else(|poison| poison.into_inner());
        let (number, cipher) = keys.iter().next_back().ok_or_else(|| SealError::Seal(identity.to_owned()))?;
        let nonce = random_nonce().map_err(|_| SealError::Seal(identity.to_owned()))?;
        let mut header = Vec::with_capacity(SEALED_OVERHEAD + plain.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&number.to_le_bytes());
        let aad = [&header[..], identity.as_bytes()].concat();
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plain, aad: &aad })
            .map_err(|_| SealError::Seal(identity.to_owned()))?;
        header.extend_from_slice(&nonce);
        header.extend_from_slice(&sealed);
        Ok(header)
    }

    /// The plain value of `stored`, which must have been sealed bound to `identity`; a value
    /// stored before encryption was turned on is returned as it is.
    pub fn open<'a>(&self, identity: &str, stored: &'a [u8]) -> Result<Cow<'a, [u8]>, SealError> {
        let Some(number) = sealed_with(stored) else { return Ok(Cow::Borrowed(stored)) };
        let keys = self.keys.read().unwrap_or_else(|poison| poison.into_inner());
        let cipher = keys.get(&number).ok_or_else(|| SealError::UnknownKey(identity.to_owned(), number))?;
        let (header, rest) = stored.split_at(HEADER_LEN);
        if rest.len() < NONCE_LEN + 16 {
            return Err(SealError::Tampered(identity.to_owned()));
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let aad = [header, identity.as_bytes()].concat();
        let plain = cipher
            .decrypt(&nonce_of(nonce), Payload { msg: sealed, aad: &aad })
            .map_err(|_| SealError::Tampered(identity.to_owned()))?;
        Ok(Cow::Owned(plain))
    }
}

/// The number of the data key `stored` is sealed with; `None` for an unencrypted value.
pub fn sealed_with(stored: &[u8]) -> Option<u32> {
    let number = stored.strip_prefix(MAGIC.as_slice())?.get(..4)?;
    Some(u32::from_le_bytes(number.try_into().ok()?))
}

/// Seals `plain` when there is a keyring, else returns it as it is.
pub fn seal_if(keyring: Option<&Keyring>, identity: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
    match keyring {
        Some(keyring) => keyring.seal(identity, plain),
        None => Ok(plain.to_vec()),
    }
}

/// Opens `stored` with the keyring; without one, a sealed value is an error and any other is
/// returned as it is.
pub fn open_if<'a>(keyring: Option<&Keyring>, identity: &str, stored: &'a [u8]) -> Result<Cow<'a, [u8]>, SealError> {
    match keyring {
        Some(keyring) => keyring.open(identity, stored),
        None if sealed_with(stored).is_some() => Err(SealError::NoKey(identity.to_owned())),
        None => Ok(Cow::Borrowed(stored)),
    }
}

/// The identity a recording's audio is sealed with: its blob key (never reused).
pub fn audio_identity(blob_key: &str) -> String {
    format!("audio {blob_key}")
}

/// The identity of a recording's embedding (`what`: "embedding" or "conditions"): the
/// recording's sample ID, which stays with it when a further sample becomes the primary one.
pub fn embedding_identity(what: &str, sample_id: i64) -> String {
    format!("{what} {sample_id}")
}

/// The associated data of a wrapped data key.
fn wrapping_identity(number: u32) -> Vec<u8> {
    format!("voxprint data key {number}").into_bytes()
}

fn nonce_of(bytes: &[u8]) -> XNonce {
    XNonce::from(<[u8; NONCE_LEN]>::try_from(bytes).expect("split at NONCE_LEN"))
}

fn random_nonce() -> anyhow::Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).context("no randomness for a nonce")?;
    Ok(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring_of(master: &[u8], numbers: &[u32]) -> (Keyring, Vec<WrappedKey>) {
        let master = MasterKey::from_bytes(master);
        let rows: Vec<WrappedKey> = numbers
            .iter()
            .map(|&number| {
                let (_, wrapped) = master.new_data_key(number).unwrap();
                WrappedKey { number, master_key_id: master.id.clone(), wrapped }
            })
            .collect();
        let keyring = Keyring::new(master);
        keyring.install(&rows).unwrap();
        (keyring, rows)
    }

    #[test]
    fn a_process_that_rereads_the_keys_seals_only_while_its_last_reread_is_recent() {
        let (keyring, rows) = keyring_of(&[7; 32], &[1]);
        let long_ago = Instant::now() - MAX_KEY_AGE - Duration::from_secs(1);
        keyring.seal("audio a.wav", b"x").expect("a one-shot command seals with what it loaded");
        keyring.reread(&rows, Instant::now()).unwrap();
        let sealed = keyring.seal("audio a.wav", b"x").expect("just reread");
        keyring.reread(&rows, long_ago).unwrap();
        let refused = keyring.seal("audio a.wav", b"x").unwrap_err();
        assert!(matches!(refused, SealError::Stale(_, age) if age > MAX_KEY_AGE.as_secs()), "{refused}");
        assert!(refused.is_transient());
        assert!(crate::storage::blobs::is_unavailable(&std::io::Error::from(refused)), "a blob write gets 4009");
        assert_eq!(&*keyring.open("audio a.wav", &sealed).unwrap(), b"x", "opening never depends on the reread");
        keyring.reread(&rows, Instant::now()).unwrap();
        keyring.seal("audio a.wav", b"x").expect("reread again");
    }

    #[test]
    fn seals_with_the_newest_key_and_binds_the_identity() {
        let (keyring, _) = keyring_of(&[7; 32], &[1, 2]);
        let sealed = keyring.seal("audio a.wav", b"RIFF....WAVE").unwrap();
        assert_eq!(sealed_with(&sealed), Some(2));
        assert_eq!(sealed.len(), 12 + SEALED_OVERHEAD);
        assert!(!sealed.windows(4).any(|w| w == b"RIFF"));
        assert_eq!(&*keyring.open("audio a.wav", &sealed).unwrap(), b"RIFF....WAVE");
        assert!(matches!(keyring.open("audio b.wav", &sealed), Err(SealError::Tampered(_))), "moved to another key");
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(keyring.open("audio a.wav", &flipped), Err(SealError::Tampered(_))));
        assert_ne!(keyring.seal("audio a.wav", b"x").unwrap(), keyring.seal("audio a.wav", b"x").unwrap(), "nonce");
    }

    #[test]
    fn unencrypted_values_pass_and_sealed_ones_need_the_key() {
        let (keyring, _) = keyring_of(&[7; 32], &[1]);
        assert_eq!(&*keyring.open("x", b"RIFF plain").unwrap(), b"RIFF plain");
        let sealed = keyring.seal("x", b"secret").unwrap();
        assert!(matches!(open_if(None, "x", &sealed), Err(SealError::NoKey(_))));
        let (other, _) = keyring_of(&[8; 32], &[1]);
        assert!(matches!(other.open("x", &sealed), Err(SealError::Tampered(_))), "same number, other key");
        let (newer, _) = keyring_of(&[7; 32], &[5]);
        assert!(matches!(newer.open("x", &sealed), Err(SealError::UnknownKey(_, 1))));
    }

    #[test]
    fn a_data_key_opens_only_under_its_master_and_number() {
        let (_, rows) = keyring_of(&[7; 32], &[3]);
        let wrong = MasterKey::from_bytes(&[9; 32]);
        assert!(wrong.unwrap(3, &rows[0].wrapped).is_err());
        assert_ne!(wrong.id, rows[0].master_key_id);
        let right = MasterKey::from_bytes(&[7; 32]);
        assert!(right.unwrap(4, &rows[0].wrapped).is_err(), "renumbered");
        let key = right.unwrap(3, &rows[0].wrapped).unwrap();
        let rewrapped = WrappedKey { number: 3, master_key_id: wrong.id.clone(), wrapped: wrong.wrap(&key).unwrap() };
        let under_new = Keyring::new(MasterKey::from_bytes(&[9; 32]));
        assert_eq!(under_new.install(&[rows[0].clone(), rewrapped]).unwrap(), 1);
    }

    #[test]
    fn the_key_file_is_64_hex_digits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        assert_eq!(MasterKey::read(&path).unwrap().id, MasterKey::from_bytes(&[0xab; 32]).id);
        for bad in ["ab".repeat(31), "zz".repeat(32), String::new()] {
            std::fs::write(&path, bad).unwrap();
            let err = MasterKey::read(&path).err().unwrap();
            assert!(format!("{err:#}").contains("64 hex digits"), "{err:#}");
        }
    }
}
