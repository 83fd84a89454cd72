//! `hark nlp corrections export`: the corrections agents made to what Hark
//! read in messages, as the labelled CSV (`text,label`) that `hark nlp train
//! … --csv` reads, so each workspace's models can be retrained with them.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, bail};

use crate::config::{Config, FlagOverrides};
use crate::nlp_cli::CorrectionsCommand;

pub async fn run(config_file: Option<&Path>, command: CorrectionsCommand) -> anyhow::Result<()> {
    let CorrectionsCommand::Export { field, workspace, data_dir, database_url } = command;
    if !matches!(field.as_str(), "intent" | "sentiment") {
        bail!("--field takes intent or sentiment");
    }
    let overrides = FlagOverrides { data_dir, database_url, ..Default::default() };
    let mut config = Config::load(config_file, overrides)?;
    config.log_level = "warn".into();
    crate::serve::init_logging(&config);
    let store = crate::storage::open_store(&config).await?;
    let mut writer = csv::Writer::from_writer(std::io::stdout().lock());
    writer.write_record(["text", "label"])?;
    let mut rows = 0;
    for ws in store.workspaces().await? {
        if workspace.as_deref().is_some_and(|w| w != ws.id && w != ws.name) {
            continue;
        }
        for correction in store.corrections(&ws.id, &field).await.context("reading corrections")? {
            let text = correction.text.replace(['\r', '\n'], " ");
            if !text.trim().is_empty() {
                writer.write_record([text.trim(), correction.new_value.as_str()])?;
                rows += 1;
            }
        }
    }
    writer.flush()?;
    drop(writer);
    std::io::stdout().flush().ok();
    eprintln!("{rows} corrections of {field}");
    Ok(())
}
