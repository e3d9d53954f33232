//! The `tt` command: parses arguments, builds the runtime, runs one command, maps the outcome
//! to an exit code (0 ok, 1 error, 2 usage, 3 verification failed, 4 refused for safety, 130
//! and 143 interrupted by SIGINT and SIGTERM).

mod cli;
mod commands;
mod config;
mod exit;
mod interrupt;
mod outcome;
mod output;
mod progress;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use tt_migrate::DropRefusal;

use crate::cli::Cli;
use crate::commands::{JsonShown, Refused};
use crate::exit::Exit;
use crate::output::{BAD, ErrorDocument, Output, paint};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error).into(),
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
        Err(error) => return report(&anyhow::Error::new(error), output).into(),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(exit) => exit.into(),
        Err(error) => report(&error, output).into(),
    }
}

/// Prints clap's usage error (or help, or version); under `--json` a usage error is also a
/// document on stdout, as every other error is.
fn usage(error: &clap::Error) -> Exit {
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
        let _ = output.json(&ErrorDocument::new(message, false));
    }
    // Help and version go to stdout, errors to stderr, as clap's own exit would print them.
    let _ = error.print();
    if help { Exit::Success } else { Exit::Usage }
}

/// Prints an error on stderr (and, in JSON mode, as a document on stdout unless the command
/// printed its own) and picks the exit code: a refusal or an error.
fn report(error: &anyhow::Error, output: Output) -> Exit {
    let (error, shown) = match error.downcast_ref::<JsonShown>() {
        Some(JsonShown(inner)) => (inner, true),
        None => (error, false),
    };
    // Library errors do not repeat their source in their message: each cause is new.
    let parts: Vec<String> = error.chain().map(ToString::to_string).collect();
    let message = parts.join("\n  caused by: ");
    let mut stderr = anstream::stderr();
    let _ = writeln!(stderr, "{} {message}", paint(BAD, "error:"));
    let refuses = |error: &tt_migrate::Error| {
        matches!(
            error,
            tt_migrate::Error::Refused(
                DropRefusal::Protected { .. } | DropRefusal::Dependents { .. }
            )
        )
    };
    let refused = error.chain().any(|cause| {
        cause.is::<Refused>()
            || cause.downcast_ref::<tt_migrate::Error>().is_some_and(refuses)
            // A reset's error holds the drop's refusal (its source is the refusal's source).
            || cause
                .downcast_ref::<tt_migrate::ResetError>()
                .is_some_and(|reset| refuses(&reset.error))
    });
    if output.json && !shown {
        let _ = output.json(&ErrorDocument::new(&message, refused));
    }
    if let Some(interrupted) = error.downcast_ref::<interrupt::Interrupted>() {
        return interrupted.exit();
    }
    if refused { Exit::Refused } else { Exit::Error }
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
