//! The secret's format: `sk-aihub-` + 43 base62 characters encoding 32 bytes from the
//! operating system's CSPRNG, and the short display prefix shown instead of it.

use super::{KEY_PREFIX, PREFIX_CHARS, SECRET_BYTES, SECRET_CHARS};
use crate::Result;
use crate::crypto::os_random_bytes;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `sk-aihub-` + base62 of 32 bytes from the OS CSPRNG.
pub(super) fn generate_secret() -> Result<String> {
    let mut bytes = [0u8; SECRET_BYTES];
    os_random_bytes(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", base62(&bytes)))
}

/// Big-endian base62 of a 256-bit number, zero-padded to [`SECRET_CHARS`] characters.
pub(super) fn base62(bytes: &[u8; SECRET_BYTES]) -> String {
    let mut num = *bytes;
    let mut digits = [0u8; SECRET_CHARS];
    for d in digits.iter_mut().rev() {
        let mut rem: u32 = 0;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        *d = BASE62[rem as usize];
    }
    digits.iter().map(|&c| char::from(c)).collect()
}

/// Whether `s` has the shape of a secret; anything else is refused without a lookup.
pub(super) fn looks_like_secret(s: &str) -> bool {
    s.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == SECRET_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

pub(super) fn display_prefix(secret: &str) -> String {
    let random: String = secret[KEY_PREFIX.len()..]
        .chars()
        .take(PREFIX_CHARS)
        .collect();
    format!("{KEY_PREFIX}{random}…")
}
