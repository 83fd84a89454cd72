//! Configuration in layers: compiled-in defaults (`default-config.toml`),
//! then a TOML file, then `HARK_*` environment variables, then flags.
//! Validated once at start, with messages that say what to fix.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// The keys read from `HARK_*` variables; other `HARK_` variables (such as
/// `HARK_TEST_DATABASE_URL`) belong to other tools.
const CONFIG_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "database_url",
    "postgres_max_connections",
    "metrics_listen",
    "secret_key",
    "secure_cookies",
    "max_body_bytes",
    "login_attempts_per_minute",
    "log_level",
    "log_format",
    "order_number_pattern",
    "smtp_url",
    "smtp_from",
    "allow_private_hooks",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub postgres_max_connections: u32,
    pub metrics_listen: String,
    pub secret_key: String,
    pub secure_cookies: bool,
    pub max_body_bytes: usize,
    pub login_attempts_per_minute: u32,
    pub log_level: String,
    pub log_format: String,
    pub poll_interval_secs: u64,
    pub public_url: String,
    pub order_number_pattern: String,
    /// The mail server rules escalate by email through (empty: none).
    pub smtp_url: String,
    pub smtp_from: String,
    /// Lets Slack and rule webhooks reach private and loopback addresses.
    pub allow_private_hooks: bool,
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct FlagOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
}

/// Where the database lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Database {
    SqliteFile(PathBuf),
    SqliteUrl(String),
    Postgres(String),
}

impl Config {
    pub fn load(file: Option<&Path>, flags: FlagOverrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Toml::string(DEFAULT_CONFIG));
        match file {
            Some(path) => {
                if !path.exists() {
                    bail!("config file {} does not exist", path.display());
                }
                figment = figment.merge(Toml::file(path));
            }
            None => {
                // A hark.toml in the data directory is picked up when present.
                let data_dir: PathBuf = flags
                    .data_dir
                    .clone()
                    .or_else(|| std::env::var_os("HARK_DATA_DIR").map(PathBuf::from))
                    .unwrap_or_else(|| PathBuf::from("data"));
                let implicit = data_dir.join("hark.toml");
                if implicit.exists() {
                    figment = figment.merge(Toml::file(implicit));
                }
            }
        }
        let config: Config = figment
            .merge(Env::prefixed("HARK_").only(CONFIG_KEYS))
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        self.database()?;
        if !self.secret_key.is_empty() {
            parse_key(&self.secret_key).context("secret_key")?;
        }
        if let Some(metrics) = self.metrics_address()?
            && metrics == self.listen
        {
            bail!("metrics_listen must differ from listen ({metrics}), so metrics are never public");
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.max_body_bytes) {
            bail!("max_body_bytes must be between 1024 and 67108864, not {}", self.max_body_bytes);
        }
        if !self.order_number_pattern.trim().is_empty()
            && let Err(err) = hark_app::understanding::Understanding::shipped(&self.order_number_pattern)
        {
            bail!("order_number_pattern: {err}");
        }
        if self.login_attempts_per_minute == 0 {
            bail!("login_attempts_per_minute must be at least 1");
        }
        if !(1..=1000).contains(&self.postgres_max_connections) {
            bail!("postgres_max_connections must be between 1 and 1000");
        }
        if !["pretty", "json"].contains(&self.log_format.as_str()) {
            bail!("log_format must be \"pretty\" or \"json\", not {:?}", self.log_format);
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map_err(|e| anyhow::anyhow!("log_level {:?} is not a valid filter: {e}", self.log_level))?;
        Ok(())
    }

    pub fn database(&self) -> anyhow::Result<Database> {
        let url = self.database_url.trim();
        if url.is_empty() {
            return Ok(Database::SqliteFile(self.data_dir.join("hark.db")));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_owned()));
        }
        if url.starts_with("sqlite:") {
            return Ok(Database::SqliteUrl(url.to_owned()));
        }
        bail!("database_url must start with postgres://, postgresql:// or sqlite: (got {url:?})")
    }

    pub fn metrics_address(&self) -> anyhow::Result<Option<SocketAddr>> {
        let text = self.metrics_listen.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).with_context(|| format!("metrics_listen {text:?} is not an address like 127.0.0.1:9464"))
    }
}

pub fn parse_key(text: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex_decode(text.trim()).context("must be 64 hexadecimal characters")?;
    bytes.try_into().map_err(|_| anyhow::anyhow!("must be 64 hexadecimal characters (32 bytes)"))
}

fn hex_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        bail!("odd length");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16).context("not hexadecimal"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_flags_win() {
        let config = Config::load(None, FlagOverrides { listen: Some("127.0.0.1:9999".into()), ..Default::default() });
        let config = config.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.database().ok(), Some(Database::SqliteFile(PathBuf::from("data/hark.db"))));
    }

    #[test]
    fn bad_values_are_explained() {
        let mut c = Config::load(None, FlagOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        c.database_url = "mysql://x".into();
        assert!(c.validate().err().map(|e| e.to_string()).unwrap_or_default().contains("database_url"));
        c.database_url = String::new();
        c.secret_key = "abc".into();
        assert!(c.validate().err().map(|e| format!("{e:#}")).unwrap_or_default().contains("secret_key"));
        c.secret_key = String::new();
        c.metrics_listen = c.listen.to_string();
        assert!(c.validate().is_err());
    }

    #[test]
    fn unknown_keys_in_a_file_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("hark.toml");
        std::fs::write(&path, "listne = \"1.2.3.4:5\"\n").unwrap_or_else(|e| panic!("{e}"));
        let err = Config::load(Some(&path), FlagOverrides::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn keys_parse_from_hex() {
        assert!(parse_key(&"ab".repeat(32)).is_ok());
        assert!(parse_key(&"ab".repeat(31)).is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
    }
}
