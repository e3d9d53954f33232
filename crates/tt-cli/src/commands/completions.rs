//! `tt completions`: a shell completion script on stdout (clap_complete).

use std::io::Write as _;

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::Shell;
use serde::Serialize;

use crate::cli::Cli;
use crate::exit::Exit;
use crate::output::Output;

/// The JSON document of `tt completions`.
#[derive(Debug, Serialize)]
struct CompletionsDocument<'a> {
    script: &'a str,
    shell: String,
}

pub(crate) fn run(shell: Shell, output: Output) -> Result<Exit> {
    let mut command = Cli::command();
    let name = command.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    if output.json {
        let script = String::from_utf8_lossy(&script);
        output.json(&CompletionsDocument {
            script: &script,
            shell: shell.to_string(),
        })?;
    } else {
        // The script is the point even under -q; a closed pipe is not worth an error.
        let _ = std::io::stdout().lock().write_all(&script);
    }
    Ok(Exit::Success)
}
