//! The `tt` command: parses arguments, builds the runtime, runs one command, maps the outcome
//! to an exit code (0 ok, 1 error, 2 usage, 3 verification failed, 4 refused for safety).

mod cli;
mod commands;
mod config;
mod outcome;
mod output;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::commands::Refused;
use crate::output::{BAD, Output, paint};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => usage(&error),
    };
    init_tracing(cli.global.verbose, cli.global.quiet);
    let output = Output {
        json: cli.global.json,
        quiet: cli.global.quiet,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return report(&anyhow::Error::new(error), output),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(error) => report(&error, output),
    }
}

/// Prints clap's usage error (or help, or version) and exits; under `--json` a usage error is
/// also a document on stdout, as every other error is.
fn usage(error: &clap::Error) -> ! {
    use clap::error::ErrorKind;
    let help = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    // clap could not tell us whether --json was given: look for it among the words.
    if !help && std::env::args_os().any(|arg| arg == "--json") {
        let text = error.render().to_string();
        let message = text.trim().trim_start_matches("error: ");
        let output = Output {
            json: true,
            quiet: false,
        };
        let _ = output.json(&serde_json::json!({
            "error": { "message": message, "refused": false }
        }));
    }
    error.exit()
}

/// Prints an error on stderr (and, in JSON mode, as a document on stdout) and picks the exit
/// code: 4 for a refusal, 1 otherwise.
fn report(error: &anyhow::Error, output: Output) -> ExitCode {
    // Library errors do not repeat their source in their message: each cause is new.
    let parts: Vec<String> = error.chain().map(ToString::to_string).collect();
    let message = parts.join("\n  caused by: ");
    let mut stderr = anstream::stderr();
    let _ = writeln!(stderr, "{} {message}", paint(BAD, "error:"));
    let refused = error.chain().any(|cause| {
        cause.is::<Refused>()
            || matches!(
                cause.downcast_ref::<tt_migrate::Error>(),
                Some(tt_migrate::Error::Protected { .. } | tt_migrate::Error::Dependents { .. })
            )
    });
    if output.json && !commands::printed_json_error() {
        let _ = output.json(&serde_json::json!({
            "error": { "message": message, "refused": refused }
        }));
    }
    if refused {
        ExitCode::from(4)
    } else {
        ExitCode::FAILURE
    }
}

/// Logs go to stderr: warnings by default, `-v` tt's debug (each statement batch and its
/// timing), `-vv` everything including sqlx's statement log; `RUST_LOG` overrides.
fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "warn,tt_migrate=debug,tt_verify=debug,tt_cli=debug",
        (false, _) => "debug,sqlx=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Same rule as the rest of the output: colour only on a terminal, never with NO_COLOR.
    let colour = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(false)
        // Seconds since start: easier to read than wall-clock time when looking for slow steps.
        .with_timer(tracing_subscriber::fmt::time::uptime())
        .try_init();
}
