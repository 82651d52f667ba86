//! Signed, expiring download links for uploaded audio: `audio_url` works without a token (so
//! it can be put in an `<audio>` tag) but only until it expires, and only for the recording it
//! was made for — the signature covers the blob key, so replacing a voiceprint's audio
//! invalidates its old links. The key is shared by every process on the database.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl UrlSigner {
    pub fn new(key: Vec<u8>) -> UrlSigner {
        UrlSigner { key }
    }

    pub fn sign(&self, voiceprint_id: i64, blob_key: &str, expires_at: i64) -> String {
        hex::encode(self.mac(voiceprint_id, blob_key, expires_at).finalize().into_bytes())
    }

    /// True when `signature` was made by `sign` for these values (compared in constant time).
    pub fn verify(&self, voiceprint_id: i64, blob_key: &str, expires_at: i64, signature: &str) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => self.mac(voiceprint_id, blob_key, expires_at).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, voiceprint_id: i64, blob_key: &str, expires_at: i64) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{voiceprint_id}\n{blob_key}\n{expires_at}").as_bytes());
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_only_what_it_signed() {
        let signer = UrlSigner::new(b"secret".to_vec());
        let signature = signer.sign(7, "voiceprints/1/7-a.wav", 1000);
        assert!(signer.verify(7, "voiceprints/1/7-a.wav", 1000, &signature));
        assert!(!signer.verify(8, "voiceprints/1/7-a.wav", 1000, &signature));
        assert!(!signer.verify(7, "voiceprints/1/7-b.wav", 1000, &signature));
        assert!(!signer.verify(7, "voiceprints/1/7-a.wav", 1001, &signature));
        assert!(!signer.verify(7, "voiceprints/1/7-a.wav", 1000, "zz"));
        assert!(!UrlSigner::new(b"other".to_vec()).verify(7, "voiceprints/1/7-a.wav", 1000, &signature));
    }
}
