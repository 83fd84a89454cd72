//! `hark`: the one binary. Subcommands run the server, the demo, migrations
//! and administration; everything else lives in the library crates.

mod bench;
mod config;
mod corrections;
mod demo;
mod nlp_cli;
mod search;
mod serve;
mod storage;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use hark_domain::Role;

use crate::config::{Config, FlagOverrides};

/// glibc's allocator spent a fifth of the ingest benchmark's time in
/// malloc and free across threads (sqlx hands every row between threads);
/// mimalloc's thread-local free lists make that a small share.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "hark", version, about = "Hark: social customer care, self-hosted")]
struct Cli {
    /// A TOML configuration file (default: hark.toml in the data directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: web UI, API, webhooks and workers.
    Serve(ServerFlags),
    /// Run the server with a demo workspace full of conversations, on embedded SQLite.
    Demo(DemoFlags),
    /// Run the platform sandbox alone: X, Meta, Telegram and VK reproduced on this machine.
    Sandbox(SandboxFlags),
    /// Apply pending database migrations and exit.
    Migrate(StoreFlags),
    /// Administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print the configuration file with every key, its default and what it means.
    DefaultConfig,
    /// Message understanding: language, sentiment, intent, personal data; train and evaluate models.
    Nlp {
        #[command(subcommand)]
        command: nlp_cli::NlpCommand,
    },
    /// Benchmarks; each prints one JSON object (and a summary on stderr).
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Args, Clone, Default)]
struct StoreFlags {
    /// Directory for the SQLite database and the credentials key [env: HARK_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of SQLite [env: HARK_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

#[derive(Args, Clone)]
struct ServerFlags {
    /// Address to serve on, e.g. 127.0.0.1:8080 [env: HARK_LISTEN].
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Address for Prometheus metrics; "" disables them [env: HARK_METRICS_LISTEN].
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    #[command(flatten)]
    store: StoreFlags,
}

#[derive(Args, Clone)]
struct DemoFlags {
    #[command(flatten)]
    server: ServerFlags,
    /// How many customer actions the sandbox sends as history on first run.
    #[arg(long, default_value_t = 300)]
    conversations: usize,
    /// Live simulated customer actions per minute after the history (0: none).
    #[arg(long, default_value_t = 12)]
    traffic_per_minute: u32,
    /// Address of the platform sandbox's APIs and control endpoints (default: a free port).
    #[arg(long, value_name = "ADDR")]
    sandbox_listen: Option<std::net::SocketAddr>,
}

#[derive(Args, Clone)]
struct SandboxFlags {
    /// Address for the sandbox's APIs and control endpoints.
    #[arg(long, default_value = "127.0.0.1:9900")]
    listen: std::net::SocketAddr,
    /// Simulated customer actions per minute across registered accounts (0: none).
    #[arg(long, default_value_t = 0)]
    traffic_per_minute: u32,
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Signed webhook events from the sandbox into a fresh server, against a bare-handler baseline.
    Ingest {
        #[arg(long, default_value_t = 20000)]
        events: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// postgres://… to measure PostgreSQL (use an empty database) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Send at this many requests per second (open loop) instead of as fast as accepted.
        #[arg(long)]
        rate: Option<f64>,
        /// Hark nodes sharing the PostgreSQL database, requests spread over them.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
    },
    /// A generated workspace of this size; inbox views, opening conversations and search, over HTTP.
    Inbox {
        #[arg(long, default_value_t = 100_000)]
        conversations: usize,
        #[arg(long, default_value_t = 1_000_000)]
        messages: usize,
        #[arg(long)]
        database_url: Option<String>,
        /// Requests per measured operation.
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// Live-event delivery latency to this many connected subscribers.
    Fanout {
        #[arg(long, default_value_t = 100)]
        subscribers: usize,
        #[arg(long, default_value_t = 500)]
        events: usize,
        /// Events per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Language + sentiment + intent + personal data on a multilingual mix, messages per second on one core.
    Nlp(nlp_cli::BenchNlpArgs),
    /// Report summaries filled with a generated history; year and month reports read from them.
    Reports {
        /// Customer messages in the generated history.
        #[arg(long, default_value_t = 10_000_000)]
        messages: u64,
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Runs per measured report.
        #[arg(long, default_value_t = 20)]
        samples: u32,
        #[arg(long)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user (and the workspace, if there is none yet).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// owner, admin, supervisor, agent or trainee.
        #[arg(long, default_value = "owner")]
        role: Role,
        /// The password; read from HARK_ADMIN_PASSWORD when omitted, or generated and printed.
        #[arg(long)]
        password: Option<String>,
        /// Name of the workspace to create when none exists.
        #[arg(long, default_value = "My workspace")]
        workspace: String,
        /// IANA time zone of a new workspace.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        #[command(flatten)]
        store: StoreFlags,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create an API token acting as the user with this email; prints the token.
    Create {
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "command line")]
        name: String,
        #[command(flatten)]
        store: StoreFlags,
    },
}

fn overrides(server: Option<&ServerFlags>, store: &StoreFlags) -> FlagOverrides {
    FlagOverrides {
        listen: server.and_then(|s| s.listen.clone()),
        metrics_listen: server.and_then(|s| s.metrics_listen.clone()),
        data_dir: store.data_dir.clone(),
        database_url: store.database_url.clone(),
    }
}

/// Benchmarks log only warnings, so their output is their figures.
fn quiet_logging(config_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let mut config = Config::load(config_file, FlagOverrides::default())?;
    config.log_level = "warn".into();
    serve::init_logging(&config);
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // One TLS crypto provider for every HTTP client in the process.
    hark_channels::http::install_crypto_provider();
    let config_file = cli.config.as_deref();
    match cli.command {
        Command::Nlp { command: nlp_cli::NlpCommand::Corrections { command } } => {
            corrections::run(config_file, command).await
        }
        Command::Nlp { command } => nlp_cli::run(command),
        Command::Bench { command: BenchCommand::Nlp(args) } => {
            let result = nlp_cli::bench(args)?;
            eprintln!(
                "nlp: {} messages/s on one core ({} µs each) for language + sentiment + intent + personal data",
                result["messages_per_s_per_core"], result["microseconds_per_message"]
            );
            println!("{result}");
            Ok(())
        }
        Command::DefaultConfig => {
            print!("{}", config::DEFAULT_CONFIG);
            Ok(())
        }
        Command::Serve(flags) => {
            let config = Config::load(config_file, overrides(Some(&flags), &flags.store))?;
            serve::init_logging(&config);
            let app = storage::open_app(&config).await?;
            serve::run(&config, app).await
        }
        Command::Demo(flags) => {
            let mut config = Config::load(config_file, overrides(Some(&flags.server), &flags.server.store))?;
            if config.order_number_pattern.trim().is_empty() {
                // The demo airline's booking references, e.g. NW-48213.
                config.order_number_pattern = r"\bNW-?\d{4,8}\b".into();
            }
            serve::init_logging(&config);
            let app = storage::open_app(&config).await?;
            let mut sandbox_config = hark_sandbox::SandboxConfig::default();
            if let Some(listen) = flags.sandbox_listen {
                sandbox_config.listen = listen;
            }
            let sandbox = hark_sandbox::Sandbox::start(sandbox_config).await?;
            let login = demo::prepare(&app, &sandbox, config.listen).await?;
            let running = serve::start(&config, app.clone()).await?;
            println!();
            println!("  Hark demo is running at http://{}", config.listen);
            println!("  Sign in as {} with password {}", login.email, login.password);
            println!("  API token: hark token create --data-dir {} --email {}", config.data_dir.display(), login.email);
            println!("  API reference: http://{}/api/openapi.json", config.listen);
            println!("  Platform sandbox (the simulated networks): {}", sandbox.base_url());
            println!();
            demo::load_history(&app, &running.workers, &sandbox, flags.conversations).await?;
            if flags.traffic_per_minute > 0 {
                let traffic = sandbox.clone();
                let stop = running.shutdown.clone();
                let per_minute = flags.traffic_per_minute;
                tokio::spawn(async move { traffic.run_traffic(per_minute, stop).await });
            }
            running.wait().await
        }
        Command::Bench { command: BenchCommand::Ingest { events, concurrency, database_url, rate, nodes } } => {
            quiet_logging(config_file)?;
            let options = bench::ingest::IngestOptions { events, concurrency, database_url, rate, nodes };
            let result = bench::ingest::ingest(options).await?;
            eprintln!(
                "ingest: {} events/s acknowledged ({}x the bare handler's {} /s), ack p99 {} ms, end-to-end p99 {} ms, lost {}, duplicated {}",
                result["events_per_s"],
                result["ratio"],
                result["baseline_per_s"],
                result["ack_latency_ms"]["p99"],
                result["end_to_end_ms"]["p99"],
                result["lost"],
                result["duplicated"]
            );
            println!("{result}");
            Ok(())
        }
        Command::Bench { command: BenchCommand::Reports { messages, days, samples, database_url } } => {
            quiet_logging(config_file)?;
            let options = bench::reports::ReportsOptions { messages, days, samples, database_url };
            let result = bench::reports::reports(options).await?;
            eprintln!(
                "reports: {} messages over {} days in {} summary rows; year by day p50 {} ms, by agent p50 {} ms",
                result["messages"],
                result["days"],
                result["summary_rows"],
                result["queries"]["year_by_day"]["latency_ms"]["p50"],
                result["queries"]["year_by_agent"]["latency_ms"]["p50"]
            );
            println!("{result}");
            Ok(())
        }
        Command::Bench { command: BenchCommand::Inbox { conversations, messages, database_url, samples } } => {
            quiet_logging(config_file)?;
            let options = bench::inbox::InboxOptions { conversations, messages, database_url, samples };
            let result = bench::inbox::inbox(options).await?;
            eprintln!(
                "inbox: {} conversations, {} messages; views p95 {} ms, open conversation p95 {} ms (page {} ms), search p95 {} ms, memory {} MB",
                result["conversations"],
                result["messages"],
                result["views_all_ms"]["p95"],
                result["open_conversation_api_ms"]["p95"],
                result["open_conversation_page_ms"]["p95"],
                result["search_ms"]["p95"],
                result["resident_mb"]["loaded"]
            );
            println!("{result}");
            Ok(())
        }
        Command::Bench { command: BenchCommand::Fanout { subscribers, events, rate, database_url } } => {
            quiet_logging(config_file)?;
            let options = bench::fanout::FanoutOptions { subscribers, events, rate, database_url };
            let result = bench::fanout::fanout(options).await?;
            eprintln!(
                "fanout: {} subscribers, {} of {} deliveries, p50 {} ms, p99 {} ms",
                result["subscribers"],
                result["delivered"],
                result["expected"],
                result["delivery_ms"]["p50"],
                result["delivery_ms"]["p99"]
            );
            println!("{result}");
            Ok(())
        }
        Command::Sandbox(flags) => {
            let config = Config::load(config_file, FlagOverrides::default())?;
            serve::init_logging(&config);
            let sandbox = hark_sandbox::Sandbox::start(hark_sandbox::SandboxConfig {
                listen: flags.listen,
                ..Default::default()
            })
            .await?;
            println!("platform sandbox on {}", sandbox.base_url());
            for network in hark_sandbox::SimNetwork::ALL {
                println!("  {network:<10} api_base_url = {}", sandbox.api_base_url(network));
            }
            println!(
                "  control: POST /_sim/accounts, /_sim/actions, /_sim/faults/{{network}}, /_sim/clock; GET /_sim/calls, /_sim/published, /_sim/deliveries"
            );
            let stop = tokio_util::sync::CancellationToken::new();
            if flags.traffic_per_minute > 0 {
                let traffic = sandbox.clone();
                let until = stop.clone();
                tokio::spawn(async move { traffic.run_traffic(flags.traffic_per_minute, until).await });
            }
            tokio::signal::ctrl_c().await?;
            stop.cancel();
            sandbox.stop();
            Ok(())
        }
        Command::Migrate(store) => {
            let config = Config::load(config_file, overrides(None, &store))?;
            serve::init_logging(&config);
            let applied = storage::migrate(&config).await?;
            println!("database is up to date ({applied} migrations)");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email, name, role, password, workspace, time_zone, store },
        } => {
            let config = Config::load(config_file, overrides(None, &store))?;
            serve::init_logging(&config);
            let app = storage::open_app(&config).await?;
            let (password, generated) = match password.or_else(|| std::env::var("HARK_ADMIN_PASSWORD").ok()) {
                Some(p) => (p, false),
                None => (hark_app::auth::random_token()?[..20].to_owned(), true),
            };
            let user = storage::create_user(&app, &workspace, &time_zone, &email, &name, role, &password).await?;
            println!("created {} {} ({})", user.role, user.email, user.id);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { email, name, store } } => {
            let config = Config::load(config_file, overrides(None, &store))?;
            serve::init_logging(&config);
            let app = storage::open_app(&config).await?;
            let token = app.create_token_for_email(&email, &name).await?;
            println!("{}", token.token);
            Ok(())
        }
    }
}
