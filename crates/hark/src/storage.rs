//! Opening the database and the credentials key named by the configuration.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use hark_app::{Actor, App, CredentialSealer, UserCreate};
use hark_domain::{Role, User};
use hark_store::Store;
use hark_store::postgres::PgStore;
use hark_store::sqlite::SqliteStore;

use crate::config::{Config, Database, parse_key};

pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    Ok(match config.database()? {
        Database::SqliteFile(path) => {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
            Arc::new(SqliteStore::open(&path).await.with_context(|| format!("cannot open {}", path.display()))?)
        }
        Database::SqliteUrl(url) => {
            Arc::new(SqliteStore::open_url(&url).await.with_context(|| format!("cannot open {url}"))?)
        }
        Database::Postgres(url) => Arc::new(
            PgStore::connect(&url, config.postgres_max_connections)
                .await
                .context("cannot connect to PostgreSQL (check database_url)")?,
        ),
    })
}

pub async fn open_app(config: &Config) -> anyhow::Result<App> {
    let store = open_store(config).await?;
    let key = credentials_key(config)?;
    let understanding = hark_app::understanding::Understanding::shipped(&config.order_number_pattern)
        .map_err(|e| anyhow::anyhow!("order_number_pattern: {e}"))?;
    // Models retrained for this installation replace the shipped ones.
    let own = |name: &str| std::fs::read(config.data_dir.join("models").join(name)).ok();
    let (sentiment, intent) = (own("sentiment.model"), own("intent.model"));
    if sentiment.is_some() || intent.is_some() {
        tracing::info!(
            sentiment = sentiment.is_some(),
            intent = intent.is_some(),
            "using this installation's own models"
        );
    }
    let understanding = understanding
        .with_models(sentiment.as_deref(), intent.as_deref())
        .map_err(|e| anyhow::anyhow!("{}/models: {e}", config.data_dir.display()))?;
    Ok(App::new(store, CredentialSealer::new(&key)).with_understanding(understanding))
}

/// Applies migrations (opening a store does) and reports how many exist.
pub async fn migrate(config: &Config) -> anyhow::Result<usize> {
    let store = open_store(config).await?;
    Ok(match store.backend() {
        "postgres" => PgStore::migrations().len(),
        _ => SqliteStore::migrations().len(),
    })
}

/// The key from the configuration, or from `data_dir/secret.key`, generated on first run.
fn credentials_key(config: &Config) -> anyhow::Result<[u8; 32]> {
    if !config.secret_key.trim().is_empty() {
        return parse_key(&config.secret_key);
    }
    let path = config.data_dir.join("secret.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        return parse_key(&text).with_context(|| format!("{} is damaged", path.display()));
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
    let key = CredentialSealer::generate_key()?;
    write_private(&path, &hex_encode(&key)).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the key that encrypts platform credentials; back it up");
    Ok(key)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a file readable by its owner only, refusing to overwrite one.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Creates a user, and the workspace first when there is none.
pub async fn create_user(
    app: &App,
    workspace_name: &str,
    time_zone: &str,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<User> {
    let workspace = match app.store.workspaces().await?.into_iter().next() {
        Some(w) => w,
        None => app.create_workspace(workspace_name, time_zone).await?,
    };
    let system = Actor::system(&workspace.id);
    let input = UserCreate {
        email: email.to_owned(),
        name: name.to_owned(),
        role,
        password: password.to_owned(),
        locale: "en".into(),
    };
    Ok(app.create_user(&system, input).await?)
}
