//! Settings: defaults, then the TOML file, then the environment (which wins).

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything the binary reads. Field names are the TOML keys; the environment uses
/// `AIHUB_<KEY>` (e.g. `AIHUB_PORT`), plus `DATABASE_URL` and `REDIS_URL` unprefixed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Bind address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Data directory (SQLite file, generated secret).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default `sqlite://<data_dir>/aihub.db`.
    pub database_url: Option<String>,
    /// Redis (reserved for shared rate limits; unused by this build).
    pub redis_url: Option<String>,
    /// Deployment secret, ≥ 32 bytes; generated into the data directory when absent.
    #[serde(skip_serializing)]
    pub secret_key: Option<secrecy::SecretString>,
    /// Whether anyone may register (the first account always may).
    pub allow_registration: bool,
    /// Comma-separated CORS origins; empty sends no CORS headers.
    pub cors_origins: String,
    /// tracing filter, e.g. `info` or `aihub=debug,info`.
    pub log: String,
    /// Largest request body in MiB.
    pub body_limit_mb: usize,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// bcrypt cost (≥ 10; 12 recommended).
    pub bcrypt_cost: u32,
    /// Database pool size.
    pub db_pool_size: usize,
    /// Seconds a graceful stop waits for open streams.
    pub shutdown_timeout_s: u64,
    /// Seconds between SIGTERM and closing the listener, during which `/health/ready` answers
    /// 503 while every request is still served, so a load balancer (a Kubernetes readiness
    /// probe) stops sending new traffic first. 0 (a single node): close at once.
    pub shutdown_drain_s: u64,
    /// A JSON file of price overrides (`{"currency": "USD", "models": {"my-model":
    /// {"input_per_million": "0.10", "output_per_million": "0.20"}}}`) applied on top of the
    /// built-in catalog; a different currency replaces the catalog.
    pub pricing_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            redis_url: None,
            secret_key: None,
            allow_registration: true,
            cors_origins: String::new(),
            log: "info".into(),
            body_limit_mb: 10,
            workers: 0,
            bcrypt_cost: 12,
            db_pool_size: 16,
            shutdown_timeout_s: 30,
            shutdown_drain_s: 0,
            pricing_file: None,
        }
    }
}

impl Settings {
    /// Loads defaults ← TOML file ← environment.
    ///
    /// # Errors
    /// A malformed file, an unknown key, or a value of the wrong type.
    pub fn load(file: Option<&Path>) -> Result<Settings> {
        let mut fig = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("configuration file {} does not exist", path.display());
                }
                fig = fig.merge(Toml::file(path));
            }
            None => fig = fig.merge(Toml::file("aihub.toml")),
        }
        fig = fig
            // Variables of the tools around the server (tests, the local LLM script, `user
            // create`) share the prefix but are not settings.
            .merge(Env::prefixed("AIHUB_").filter(|k| {
                let k = k.as_str().to_ascii_lowercase();
                !(k.starts_with("test_") || k.starts_with("llm_") || k == "user_password")
            }))
            .merge(Env::raw().only(&["DATABASE_URL", "REDIS_URL"]));
        let settings: Settings = fig.extract().context("reading configuration")?;
        if settings.bcrypt_cost < 4 || settings.bcrypt_cost > 31 {
            bail!("bcrypt_cost must be between 4 and 31");
        }
        Ok(settings)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("aihub.db").display()))
    }

    /// Builds the core configuration and starts the app (database connected and migrated).
    ///
    /// # Errors
    /// A weak secret, an unknown database scheme, an unreachable database.
    pub async fn start_app(&self) -> Result<aihub_core::App> {
        let secret =
            aihub_core::config::load_or_create_secret(&self.data_dir, self.secret_key.clone())
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        let mut core = aihub_core::CoreConfig::new(self.database_url(), secret);
        core.allow_registration = self.allow_registration;
        core.bcrypt_cost = self.bcrypt_cost;
        core.max_db_connections = self.db_pool_size.max(1);
        core.shutdown_grace = Duration::from_secs(self.shutdown_timeout_s);
        let app = aihub_core::App::start(core, self.pricing()?)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
        Ok(app)
    }

    /// The built-in pricing catalog with the overrides of `pricing_file`, if any.
    ///
    /// # Errors
    /// An unreadable file or an invalid price.
    pub fn pricing(&self) -> Result<aihub_core::Pricing> {
        let builtin = aihub_core::Pricing::builtin();
        let Some(path) = &self.pricing_file else {
            return Ok(builtin);
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        builtin
            .with_overrides_json(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.message))
    }

    /// HTTP server options.
    ///
    /// # Errors
    /// Never today; kept fallible for validation.
    pub fn http_options(&self) -> Result<aihub_http::HttpOptions> {
        let mut opts = aihub_http::HttpOptions {
            body_limit_bytes: self.body_limit_mb.max(1) * 1024 * 1024,
            shutdown_timeout: Duration::from_secs(self.shutdown_timeout_s),
            cors_origins: self
                .cors_origins
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            ..aihub_http::HttpOptions::default()
        };
        if self.workers > 0 {
            opts.workers = self.workers;
        }
        Ok(opts)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aihub_core::domain::Usage;

    #[test]
    fn pricing_file_overrides_the_catalog() {
        let dir = std::env::temp_dir().join(format!("aihub-pricing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pricing.json");
        std::fs::write(
            &file,
            r#"{"models": {"smollm2-135m": {"input_per_million": "0.10", "output_per_million": "0.20"}}}"#,
        )
        .unwrap();
        let settings = Settings {
            pricing_file: Some(file),
            ..Settings::default()
        };
        let pricing = settings.pricing().unwrap();
        let usage = Usage {
            prompt_tokens: 1_000_000,
            completion_tokens: 500_000,
            estimated: false,
        };
        let cost = pricing.cost("smollm2-135m", &usage);
        assert_eq!(cost.map(|c| c.nanos()), Some(200_000_000));
        // The built-in prices are still there.
        assert!(pricing.cost("gpt-4o-mini", &usage).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn database_url_defaults_to_sqlite_in_the_data_dir() {
        let s = Settings {
            data_dir: PathBuf::from("/srv/aihub"),
            ..Settings::default()
        };
        assert_eq!(s.database_url(), "sqlite:///srv/aihub/aihub.db");
    }
}
