//! `scim-tui`: connects to the admin API and runs the dashboard until `q`.

use std::{io::IsTerminal, path::PathBuf, process::ExitCode};

use clap::Parser;
use crossterm::event::EventStream;
use tui::{
    app::{App, KeySource},
    client::AdminClient,
    runtime::{Runtime, read_key_file, terminal_clipboard},
};

/// The operators' terminal dashboard for the SCIM provisioning server. The admin key is
/// read from SCIM_ADMIN_KEY or from a file, never from the command line (where `ps` would
/// show it).
#[derive(Debug, Parser)]
#[command(name = "scim-tui", version)]
struct Args {
    /// The server's base URL.
    #[arg(long, env = "SCIM_SERVER_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A file holding the admin key (a fresh server writes its operator key here).
    #[arg(long, env = "SCIM_ADMIN_KEY_FILE", default_value = "data/operator.key")]
    key_file: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "scim-tui is an interactive dashboard and needs a terminal; standard input or \
             output is not one here. For scripts, use the admin API (see openapi.json)."
        );
        return ExitCode::from(2);
    }
    // A key in the environment is used as it is; a key file is read again before each
    // connection attempt (it may appear once the server has first started).
    let env_key = std::env::var("SCIM_ADMIN_KEY")
        .ok()
        .filter(|key| !key.trim().is_empty());
    let (client, key_source) = match env_key {
        Some(key) => match AdminClient::new(&args.server, &key) {
            Ok(client) => (Some(client), KeySource::Env),
            Err(err) => {
                eprintln!("scim-tui: {err}");
                return ExitCode::FAILURE;
            }
        },
        None if read_key_file(&args.key_file).is_some() => {
            (None, KeySource::File(args.key_file.clone()))
        }
        None => (None, KeySource::Missing(args.key_file.clone())),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("scim-tui: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let key_from_env = matches!(key_source, KeySource::Env);
    let app = App::new(args.server, key_source);
    // `init` restores the terminal on panic too; `restore` below on every other way out.
    let mut terminal = ratatui::init();
    let mut dashboard = Runtime::new(app, client, terminal_clipboard());
    if !key_from_env {
        dashboard = dashboard.reading_key_from(args.key_file);
    }
    let outcome = runtime.block_on(dashboard.run_loop(&mut terminal, EventStream::new()));
    ratatui::restore();
    if let Err(err) = outcome {
        eprintln!("scim-tui: the terminal failed: {err}");
        return ExitCode::FAILURE;
    }
    if let Some(text) = &dashboard.app.print_on_exit {
        println!("{text}");
    }
    ExitCode::SUCCESS
}
