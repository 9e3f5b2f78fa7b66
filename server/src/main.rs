//! `scim-server`: serve (the default), print the OpenAPI document, migrate, manage keys.

use std::{fs::File, net::SocketAddr, path::Path, process::ExitCode};

use anyhow::Context;
use clap::Parser;
use server::{
    auth::hasher::SecretHasher,
    bootstrap,
    clock::Clock,
    config::{Cli, Command, DatabaseArgs, KeysCommand, LogFormat, ServeArgs, StorageSettings},
    logging::Sink,
    startup::{Application, Launch},
    store::{self, Storage},
};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Errors can quote the database URL: its password is not printed.
            eprintln!("Error: {}", server::logging::redact(&format!("{err:?}")));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
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
            let _log = server::logging::init(LogFormat::Text, Sink::Direct);
            open_database(&args).await?.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        Some(Command::Keys(KeysCommand::CreateOperator { database, name })) => {
            let _log = server::logging::init(LogFormat::Text, Sink::Direct);
            let db = open_database(&database).await?;
            let hasher = SecretHasher::new(server::config::Argon2Params::default(), 1)?;
            let key =
                bootstrap::create_operator_key(&db, &hasher, name, Clock::default().now()).await?;
            db.close().await;
            println!("{key}");
            eprintln!("This operator key is shown once; store it now.");
            Ok(())
        }
    }
}

/// Creates the data directory when the database lives there, connects, migrates.
async fn open_database(args: &DatabaseArgs) -> anyhow::Result<Storage> {
    let url = args.url();
    if args.database_url.is_none() {
        std::fs::create_dir_all(&args.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                args.data_dir.display()
            )
        })?;
    }
    Storage::open(&url, &StorageSettings::default())
        .await
        .context("cannot open the database")
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
    let _log = server::logging::init(args.log_format, Sink::Buffered(args.log_buffer_lines));
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

    let settings = args.settings();
    let public_url = settings.public_url.clone();
    let app = Application::build(Launch {
        database_url: args.database.url(),
        bind: args.bind,
        data_dir: args.database.data_dir.clone(),
        settings,
        observer: None,
    })
    .await
    .context("cannot start")?;
    tracing::info!(
        listen = %SocketAddr::new(args.bind.ip(), app.port()),
        public_url = %public_url,
        database = if embedded { "sqlite" } else { "postgres" },
        "scim-server ready"
    );
    app.run_until_stopped(shutdown_signal())
        .await
        .context("server failed")?;
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
