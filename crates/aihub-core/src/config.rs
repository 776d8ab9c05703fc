//! Runtime settings of the use cases, already validated (the binary parses files and
//! environment into this).

use crate::{Error, Result};
use aihub_domain::ErrorCode;
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Minimum length of the deployment secret, in bytes (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Settings of the core services.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// Pool size.
    pub max_db_connections: usize,
    /// Deployment secret (≥ 32 bytes): JWT signing and provider-key encryption keys derive from it.
    pub secret: SecretString,
    /// Whether `POST /auth/register` is open (the first account can always register).
    pub allow_registration: bool,
    /// bcrypt cost (12 in production; tests use the minimum, 4).
    pub bcrypt_cost: u32,
    /// Access token lifetime (30 minutes).
    pub access_token_ttl: Duration,
    /// Refresh token / session lifetime (30 days).
    pub refresh_token_ttl: Duration,
    /// Default whole-request timeout of upstream calls when a provider sets none.
    pub default_provider_timeout: Duration,
    /// Failed logins per account or IP allowed within [`CoreConfig::login_window`].
    pub login_max_failures: u32,
    /// Window of the login throttle.
    pub login_window: Duration,
    /// Usage writer: flush when this many records are queued.
    pub usage_batch_size: usize,
    /// Usage writer: flush at least this often.
    pub usage_flush_interval: Duration,
    /// Usage writer: channel capacity (back-pressure beyond it).
    pub usage_channel_capacity: usize,
    /// How long shutdown waits for running generations to end before cancelling them.
    pub shutdown_grace: Duration,
    /// Gateway routing: retries, timeouts, cooldown.
    pub routing: RoutingConfig,
    /// How long an exact-cache entry of `POST /completions` lives (default 10 minutes).
    pub completion_cache_ttl: Duration,
    /// Bound of the completion cache, in bytes of cached text (default 64 MiB).
    pub completion_cache_max_bytes: u64,
    /// How long a checked session is trusted without asking the database again (default
    /// 10 s). Logout, refresh-token reuse and a password change drop it at once on this
    /// process; on other replicas it ends within this time.
    pub session_cache_ttl: Duration,
}

/// How the gateway retries, times out and cools down providers (`docs/API-DESIGN.md`,
/// "Routing" under the `/v1` API). Provider config (`max_retries`, `first_byte_timeout_s`, `timeout_s`) overrides per provider.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// Retries of a retryable failure before the first byte (default 2, so 3 attempts).
    pub max_retries: u32,
    /// First backoff delay; each retry doubles it, with full jitter (default 250 ms).
    pub retry_base_delay: Duration,
    /// Longest backoff, and the longest upstream `Retry-After` that is waited out rather than
    /// returned to the caller (default 5 s).
    pub retry_max_delay: Duration,
    /// Streams: time allowed for the first chunk (default 60 s).
    pub first_byte_timeout: Duration,
    /// Streams: longest silence between two chunks once streaming (default 120 s).
    pub idle_timeout: Duration,
    /// Consecutive retryable failures that open a provider's circuit (default 5).
    pub cooldown_failures: u32,
    /// How long an open circuit skips its provider (default 30 s).
    pub cooldown: Duration,
    /// How long a user's resolved providers and a provider's model list stay cached (default
    /// 30 s; every provider change clears the first at once).
    pub route_cache_ttl: Duration,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            max_retries: 2,
            retry_base_delay: Duration::from_millis(250),
            retry_max_delay: Duration::from_secs(5),
            first_byte_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(120),
            cooldown_failures: 5,
            cooldown: Duration::from_secs(30),
            route_cache_ttl: Duration::from_secs(30),
        }
    }
}

impl CoreConfig {
    /// Production defaults for `database_url` and `secret`.
    pub fn new(database_url: String, secret: SecretString) -> Self {
        CoreConfig {
            database_url,
            max_db_connections: 16,
            secret,
            allow_registration: true,
            bcrypt_cost: 12,
            access_token_ttl: Duration::from_secs(30 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            default_provider_timeout: Duration::from_secs(120),
            login_max_failures: 10,
            login_window: Duration::from_secs(15 * 60),
            usage_batch_size: 256,
            usage_flush_interval: Duration::from_millis(500),
            usage_channel_capacity: 16_384,
            shutdown_grace: Duration::from_secs(25),
            routing: RoutingConfig::default(),
            completion_cache_ttl: Duration::from_secs(10 * 60),
            completion_cache_max_bytes: 64 * 1024 * 1024,
            session_cache_ttl: Duration::from_secs(10),
        }
    }
}

/// Least estimated entropy of the deployment secret, in bits.
pub const MIN_SECRET_BITS: f64 = 128.0;

/// An estimate of a secret's entropy in bits: its length times the Shannon entropy of its byte
/// distribution. Random secrets score far above [`MIN_SECRET_BITS`] (`openssl rand -hex 32`
/// ≈ 250, `-base64 48` ≈ 360); a repeated character scores 0, two alternating ones 1 per byte.
/// It cannot see structure (a keyboard walk scores well), so it only refuses the obviously weak.
pub fn secret_entropy_bits(secret: &str) -> f64 {
    let bytes = secret.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for b in bytes {
        counts[usize::from(*b)] += 1;
    }
    let n = bytes.len() as f64;
    let per_byte: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_byte * n
}

/// Refuses a secret that is too short or too predictable, naming where it came from.
fn check_secret(secret: &str, source: &str) -> Result<()> {
    const HOW: &str = "generate one with `openssl rand -base64 48`";
    if secret.len() < MIN_SECRET_BYTES {
        return Err(Error::new(
            ErrorCode::ValidationError,
            format!("{source} must be at least {MIN_SECRET_BYTES} bytes; {HOW}"),
        ));
    }
    let bits = secret_entropy_bits(secret);
    if bits < MIN_SECRET_BITS {
        return Err(Error::new(
            ErrorCode::ValidationError,
            format!(
                "{source} is too predictable (about {bits:.0} bits of entropy, at least \
                 {MIN_SECRET_BITS:.0} needed); {HOW}"
            ),
        ));
    }
    Ok(())
}

/// The deployment secret: the configured one, else the one kept in `<data_dir>/secret.key`,
/// else a new random one written there (mode 0600). A configured or kept secret must be at
/// least [`MIN_SECRET_BYTES`] long with an estimated [`MIN_SECRET_BITS`] of entropy.
///
/// # Errors
/// `validation_error` for a short or predictable secret (the message says how to generate
/// one); `internal_error` when the data directory cannot be written.
pub fn load_or_create_secret(
    data_dir: &Path,
    configured: Option<SecretString>,
) -> Result<SecretString> {
    if let Some(secret) = configured {
        check_secret(secret.expose_secret(), "AIHUB_SECRET_KEY")?;
        return Ok(secret);
    }
    let path: PathBuf = data_dir.join("secret.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        check_secret(&existing, &format!("the secret in {}", path.display()))?;
        return Ok(SecretString::from(existing));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::internal(format!("cannot create {}: {e}", data_dir.display())))?;
    let secret = crate::crypto::random_token(48);
    write_private(&path, &secret)
        .map_err(|e| Error::internal(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a new deployment secret");
    Ok(SecretString::from(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_generated_once_and_kept() {
        let dir =
            std::env::temp_dir().join(format!("aihub-secret-{}", crate::crypto::random_token(6)));
        let a = load_or_create_secret(&dir, None).unwrap();
        let b = load_or_create_secret(&dir, None).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().len() >= MIN_SECRET_BYTES);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn short_configured_secret_is_refused() {
        let err =
            load_or_create_secret(Path::new("/nonexistent"), Some(SecretString::from("short")));
        assert!(err.is_err());
        let ok = load_or_create_secret(
            Path::new("/nonexistent"),
            Some(SecretString::from(crate::crypto::random_token(32))),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn predictable_secrets_are_refused_with_how_to_make_one() {
        for weak in ["a".repeat(40), "ab".repeat(20), "0123".repeat(10)] {
            let err = load_or_create_secret(
                Path::new("/nonexistent"),
                Some(SecretString::from(weak.clone())),
            )
            .unwrap_err();
            assert!(err.message.contains("too predictable"), "{weak}: {err:?}");
            assert!(err.message.contains("openssl rand -base64 48"), "{err:?}");
        }
        // What the docs tell people to use passes with room to spare.
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert!(secret_entropy_bits(hex) > 200.0);
        let b64 = "q0bXzVYq3e8Qw2n4Lk9xZp7RtU1sHc6mJg5dFa2yBv3NrE8oWi4lKhGjTf0PuYMx";
        assert!(secret_entropy_bits(b64) > 300.0);
        // The test apps' secret (aihub-testkit) passes too.
        let testkit = "aihub-testkit-secret-0123456789abcdef-0123456789abcdef";
        assert!(secret_entropy_bits(testkit) >= MIN_SECRET_BITS);
    }
}
