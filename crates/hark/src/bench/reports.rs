//! `hark bench reports`: fills the report summaries with a generated history
//! (ten million messages over a year by default) and measures report queries
//! over it: the year by day, by agent, by hour of day and in another zone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hark_app::reports::{GenerationSpec, ReportGroup, ReportQuery, generate_rows};
use hark_app::{App, CredentialSealer};
use hark_store::{LevelsWrite, Store, Write};
use serde_json::{Value, json};

use super::{latency_summary, resident_mb, round2};

pub struct ReportsOptions {
    pub messages: u64,
    pub days: u32,
    pub samples: u32,
    /// PostgreSQL (or SQLite) URL; a temporary SQLite file when `None`.
    pub database_url: Option<String>,
}

pub async fn reports(options: ReportsOptions) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = match &options.database_url {
        Some(url) if url.starts_with("postgres") => Arc::new(hark_store::postgres::PgStore::connect(url, 8).await?),
        Some(url) => Arc::new(hark_store::sqlite::SqliteStore::open_url(url).await?),
        None => Arc::new(hark_store::sqlite::SqliteStore::open(&dir.path().join("bench.db")).await?),
    };
    let backend = store.backend();
    let app = App::new(store.clone(), CredentialSealer::new(&[3u8; 32]));
    let workspace = app.create_workspace("Bench", "Europe/Athens").await?;
    let tz = hark_domain::business_hours::time_zone(&workspace.time_zone)?;
    let end = jiff::Timestamp::now().to_zoned(tz.clone()).date();
    let start = end.checked_sub(jiff::Span::new().days(i64::from(options.days.max(1)) - 1))?;
    let spec = GenerationSpec {
        start,
        days: options.days.max(1),
        messages: options.messages,
        channels: 12,
        agents: 40,
        labels: 20,
        seed: 2026,
    };
    let began = Instant::now();
    let (rows, stats) = generate_rows(&workspace.id, &tz, &spec);
    let generated = began.elapsed();
    let began = Instant::now();
    let mut batch = Vec::with_capacity(2000);
    for row in rows {
        batch.push(Write::Levels(LevelsWrite::PutReportRow(row)));
        if batch.len() == 2000 {
            store.commit(std::mem::take(&mut batch)).await?;
        }
    }
    if !batch.is_empty() {
        store.commit(batch).await?;
    }
    let stored = began.elapsed();
    let year = |group: ReportGroup, dimension: Option<&str>, zone: Option<&str>| ReportQuery {
        from: start,
        to: end,
        time_zone: zone.map(str::to_owned),
        group,
        dimension: dimension.map(str::to_owned),
    };
    let month_start = end.checked_sub(jiff::Span::new().days(29))?;
    let queries = [
        ("year_by_day", year(ReportGroup::Day, None, None)),
        ("year_by_agent", year(ReportGroup::None, Some("agent"), None)),
        ("year_by_label", year(ReportGroup::Day, Some("label"), None)),
        ("year_by_hour_of_day", year(ReportGroup::Hour, None, None)),
        ("year_in_utc", year(ReportGroup::Day, None, Some("UTC"))),
        ("month_by_channel", ReportQuery { from: month_start, ..year(ReportGroup::Day, Some("channel"), None) }),
    ];
    let mut results = serde_json::Map::new();
    for (name, query) in queries {
        let mut times: Vec<Duration> = vec![];
        let mut inbound = 0;
        let mut merged = 0;
        for _ in 0..options.samples.max(1) {
            let began = Instant::now();
            let report = app.report_for(&workspace, &query).await?;
            times.push(began.elapsed());
            inbound = report.totals.inbound;
            merged = report.rows_merged;
        }
        eprintln!("{name}: p50 {} ms over {merged} rows", super::percentile_ms(&times, 0.5));
        results.insert(
            name.to_owned(),
            json!({ "latency_ms": latency_summary(&times), "rows_merged": merged, "inbound": inbound }),
        );
    }
    Ok(json!({
        "benchmark": "reports",
        "backend": backend,
        "days": spec.days,
        "messages": stats.inbound,
        "outbound": stats.outbound,
        "conversations": stats.conversations,
        "summary_rows": stats.rows,
        "generate_s": round2(generated.as_secs_f64()),
        "store_s": round2(stored.as_secs_f64()),
        "queries": results,
        "resident_mb": resident_mb(),
    }))
}
