//! Secrets at rest and on the wire: AES-256-GCM for provider API keys, SHA-256 for refresh
//! tokens and developer API keys, OS randomness, constant-time comparison, and the keys
//! derived from the deployment secret.

use crate::{Error, Result};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aihub_domain::Id;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// Derives a 32-byte key for one purpose from the deployment secret (SHA-256 over a purpose
/// label and the secret), so the JWT key and the encryption key are never the same bytes.
pub fn derive_key(secret: &SecretString, purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"aihub:");
    h.update(purpose.as_bytes());
    h.update(b":");
    h.update(secret.expose_secret().as_bytes());
    h.finalize().into()
}

/// Encrypts provider API keys with AES-256-GCM: a fresh random 96-bit nonce per write, and
/// the row identity (`provider:<owner>:<id>`) as associated data, so a ciphertext copied onto
/// another row fails to decrypt.
#[derive(Clone)]
pub struct KeyCipher {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for KeyCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCipher([REDACTED])")
    }
}

fn associated_data(owner_id: Id, provider_id: Id) -> String {
    format!("provider:{owner_id}:{provider_id}")
}

impl KeyCipher {
    /// A cipher keyed from the deployment secret.
    pub fn new(secret: &SecretString) -> Self {
        let key = derive_key(secret, "provider-api-key:v1");
        KeyCipher {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// Encrypts `plaintext` for provider `provider_id` of `owner_id`; returns
    /// base64(nonce ‖ ciphertext ‖ tag).
    ///
    /// # Errors
    /// `internal_error` if the cipher refuses the input (it never does for API-key sizes).
    pub fn encrypt(
        &self,
        owner_id: Id,
        provider_id: Id,
        plaintext: &SecretString,
    ) -> Result<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = associated_data(owner_id, provider_id);
        let ct = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("provider key encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(STANDARD.encode(out))
    }

    /// Decrypts what [`KeyCipher::encrypt`] produced for the same row.
    ///
    /// # Errors
    /// `internal_error` when the ciphertext is malformed, was made for another row, or the
    /// deployment secret changed.
    pub fn decrypt(&self, owner_id: Id, provider_id: Id, encoded: &str) -> Result<SecretString> {
        let raw = STANDARD
            .decode(encoded)
            .map_err(|_| Error::internal("stored provider key is not base64"))?;
        if raw.len() <= NONCE_LEN {
            return Err(Error::internal("stored provider key is truncated"));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| Error::internal("bad nonce"))?;
        let aad = associated_data(owner_id, provider_id);
        let pt = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::internal("stored provider key does not decrypt for this row"))?;
        let s = String::from_utf8(pt)
            .map_err(|_| Error::internal("stored provider key is not UTF-8"))?;
        Ok(SecretString::from(s))
    }
}

/// The display form of a key: first 4 and last 4 characters (`sk-a…wxyz`); short keys show
/// only `…` and their last 2.
pub fn mask_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
        format!("…{tail}")
    }
}

/// `n` random bytes, URL-safe base64 without padding (refresh tokens, secrets).
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of `s` as lower-case hex (how refresh tokens and developer API keys are stored).
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// SHA-256 of `s` as raw bytes (the in-memory cache key of a developer API key).
pub fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Fills `buf` straight from the operating system's CSPRNG (`getrandom`), not from a
/// user-space generator: used for secrets that are shown once and live for years.
///
/// # Errors
/// `internal_error` when the operating system cannot provide randomness.
pub fn os_random_bytes(buf: &mut [u8]) -> Result<()> {
    use rand::TryRng;
    rand::rngs::SysRng
        .try_fill_bytes(buf)
        .map_err(|e| Error::internal(format!("operating system randomness unavailable: {e}")))
}

/// Compares two byte strings in time that depends only on their lengths, never on where
/// they first differ (for anything derived from a secret).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimizer from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cipher() -> KeyCipher {
        KeyCipher::new(&SecretString::from("x".repeat(40)))
    }

    #[test]
    fn round_trips_and_uses_a_fresh_nonce() {
        let key = SecretString::from("sk-canary-1234567890");
        let a = cipher().encrypt(1, 2, &key).unwrap();
        let b = cipher().encrypt(1, 2, &key).unwrap();
        assert_ne!(a, b, "same plaintext must not give the same ciphertext");
        assert!(!a.contains("canary"));
        assert_eq!(
            cipher().decrypt(1, 2, &a).unwrap().expose_secret(),
            "sk-canary-1234567890"
        );
    }

    #[test]
    fn ciphertext_moved_to_another_row_fails() {
        let ct = cipher()
            .encrypt(1, 2, &SecretString::from("sk-secret"))
            .unwrap();
        assert!(cipher().decrypt(1, 3, &ct).is_err());
        assert!(cipher().decrypt(9, 2, &ct).is_err());
        let other = KeyCipher::new(&SecretString::from("y".repeat(40)));
        assert!(other.decrypt(1, 2, &ct).is_err());
    }

    #[test]
    fn constant_time_eq_compares_bytes() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn os_random_bytes_are_random() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        os_random_bytes(&mut a).unwrap();
        os_random_bytes(&mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn masks_keys() {
        assert_eq!(mask_key("sk-abcdefghijklmnop"), "sk-a…mnop");
        assert_eq!(mask_key("short"), "…rt");
    }
}
