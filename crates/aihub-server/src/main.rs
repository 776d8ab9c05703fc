//! `aihub`: the AI Hub gateway binary. Subcommands: `serve` (default), `migrate`, `openapi`,
//! `user create`. Configuration: defaults, then `aihub.toml` (or `--config`), then the
//! environment (`AIHUB_*`, `DATABASE_URL`), which wins.

mod config;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use config::Settings;
use std::path::PathBuf;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "aihub",
    version,
    about = "Self-hosted multi-provider AI gateway"
)]
struct Cli {
    /// Configuration file (TOML). Default: ./aihub.toml when it exists.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve {
        /// Address to bind (default 127.0.0.1; env AIHUB_HOST).
        #[arg(long)]
        host: Option<String>,
        /// Port (default 8080; env AIHUB_PORT).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write the OpenAPI document.
    Openapi {
        /// Output file; `-` for stdout.
        #[arg(long, short, default_value = "openapi/openapi.json")]
        output: String,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Password (else read from AIHUB_USER_PASSWORD, else from the first line of stdin).
        #[arg(long)]
        password: Option<String>,
        /// Make the account an admin.
        #[arg(long)]
        admin: bool,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve {
        host: None,
        port: None,
    }) {
        Command::Openapi { output } => write_openapi(&output),
        Command::Serve { host, port } => {
            let mut settings = Settings::load(cli.config.as_deref())?;
            if let Some(h) = host {
                settings.host = h;
            }
            if let Some(p) = port {
                settings.port = p;
            }
            init_tracing(&settings.log);
            serve(settings).await
        }
        Command::Migrate => {
            let settings = Settings::load(cli.config.as_deref())?;
            init_tracing(&settings.log);
            let backend = aihub_core::migrate(&settings.database_url())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))
                .context("migrating the database")?;
            println!("migrations applied ({backend})");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    email,
                    password,
                    admin,
                },
        } => {
            let settings = Settings::load(cli.config.as_deref())?;
            init_tracing(&settings.log);
            let password = match password.or_else(|| std::env::var("AIHUB_USER_PASSWORD").ok()) {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from stdin")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let app = settings.start_app().await?;
            let role = if admin {
                aihub_core::domain::Role::Admin
            } else {
                aihub_core::domain::Role::User
            };
            let reg = aihub_core::auth::Registration {
                username,
                email,
                password,
                confirm_password: None,
                full_name: None,
            };
            let result = app.create_account(reg, role).await;
            app.shutdown().await;
            let user = result.map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!(
                "created user {} (id {}, role {})",
                user.username,
                user.id,
                user.role.as_str()
            );
            Ok(())
        }
    }
}

/// Installs the log subscriber with the configured filter (`info` when it does not parse).
fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

fn write_openapi(output: &str) -> Result<()> {
    let doc = aihub_http::openapi_document()
        .to_pretty_json()
        .context("rendering the OpenAPI document")?;
    if output == "-" {
        println!("{doc}");
    } else {
        if let Some(dir) = std::path::Path::new(output)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(output, format!("{doc}\n")).with_context(|| format!("writing {output}"))?;
        eprintln!("wrote {output}");
    }
    Ok(())
}

async fn serve(settings: Settings) -> Result<()> {
    let app = settings.start_app().await?;
    let addr = format!("{}:{}", settings.host, settings.port);
    let listener = std::net::TcpListener::bind(&addr).with_context(|| format!("binding {addr}"))?;
    let server = aihub_http::server(app.clone(), listener, settings.http_options()?)?;
    let handle = server.handle();
    tracing::info!(%addr, database = app.database_backend(), "AI Hub listening; Swagger UI at http://{addr}/docs/");
    let drain = app.clone();
    let drain_for = std::time::Duration::from_secs(settings.shutdown_drain_s);
    tokio::spawn(async move {
        shutdown_signal().await;
        // Readiness says 503 from now on; requests are still served until the listener closes.
        drain.begin_drain();
        if !drain_for.is_zero() {
            tracing::info!(
                seconds = drain_for.as_secs(),
                "shutdown requested: draining before closing the listener"
            );
            tokio::select! {
                _ = tokio::time::sleep(drain_for) => {}
                _ = shutdown_signal() => tracing::info!("second signal: closing the listener now"),
            }
        }
        tracing::info!("closing the listener; waiting for running requests");
        handle.stop(true).await;
    });
    server.await.context("serving HTTP")?;
    app.shutdown().await;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
