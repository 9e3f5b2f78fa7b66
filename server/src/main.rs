//! `scim-server`: serve (the default), print the OpenAPI document, migrate, manage keys.

use std::{fs::File, path::Path, time::Duration};

use anyhow::Context;
use clap::Parser;
use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use server::{
    AppState,
    auth::hasher::SecretHasher,
    bootstrap,
    clock::Clock,
    config::{Cli, Command, DatabaseArgs, KeysCommand, LogFormat, ServeArgs},
    store,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None => serve(cli.serve).await,
        Some(Command::Serve(args)) => serve(args).await,
        Some(Command::Openapi) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{}", server::openapi_spec()) {
                Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
                _ => Ok(()),
            }
        }
        Some(Command::Migrate(args)) => {
            init_tracing(LogFormat::Text);
            open_database(&args).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Keys(KeysCommand::CreateOperator { database, name })) => {
            init_tracing(LogFormat::Text);
            let db = open_database(&database).await?;
            let hasher = SecretHasher::new(server::config::Argon2Params::default())?;
            let key =
                bootstrap::create_operator_key(&db, &hasher, name, Clock::default().now()).await?;
            println!("{key}");
            eprintln!("This operator key is shown once; store it now.");
            Ok(())
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Creates the data directory when the database lives there, connects, migrates.
async fn open_database(args: &DatabaseArgs) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let url = args.url();
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                args.data_dir.display()
            )
        })?;
    }
    let db = store::db::connect(&url)
        .await
        .context("cannot open the database")?;
    store::db::migrate(&db)
        .await
        .context("cannot migrate the database")?;
    Ok(db)
}

/// One server per SQLite file: the credential cache of a second process would not hear
/// about revocations. (Replicas share PostgreSQL instead.)
fn lock_data_dir(dir: &Path) -> anyhow::Result<File> {
    let path = dir.join(".lock");
    let file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    file.try_lock().map_err(|_| {
        anyhow::anyhow!(
            "another scim-server is already using {}; run replicas against PostgreSQL instead",
            dir.display()
        )
    })?;
    Ok(file)
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing(args.log_format);
    std::fs::create_dir_all(&args.database.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.database.data_dir.display()
        )
    })?;
    let embedded = store::db::is_sqlite_url(&args.database.url());
    let _lock = if embedded {
        Some(lock_data_dir(&args.database.data_dir)?)
    } else {
        None
    };

    let db = open_database(&args.database).await?;
    let settings = args.settings();
    let state = AppState::start(db.clone(), settings.clone()).await?;
    if let Some(path) = bootstrap::ensure_operator_key(
        &db,
        state.auth.hasher(),
        &args.database.data_dir,
        state.clock.now(),
    )
    .await?
    {
        tracing::info!(path = %path.display(), "created the first operator key; it is in this file");
    }

    let acceptor = TcpListener::bind(args.bind)
        .into_acceptor()
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let local: Vec<String> = acceptor
        .local_addr()
        .iter()
        .map(ToString::to_string)
        .collect();
    tracing::info!(
        listen = %local.join(", "),
        public_url = %settings.public_url,
        database = if embedded { "sqlite" } else { "postgres" },
        "scim-server ready"
    );
    Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            server::app(state.clone()),
            shutdown_signal(),
            Some(Duration::from_secs(30)),
        )
        .await
        .context("server failed")?;
    if let Err(err) = state.auth.flush_usage().await {
        tracing::warn!(error = %err, "could not record credential usage at shutdown");
    }
    tracing::info!("scim-server stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    tracing::info!("shutting down");
}
