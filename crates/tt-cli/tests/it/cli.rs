//! Help, version, usage errors and shell completions.

use crate::support::{Project, ok, run};

#[test]
fn help_lists_the_commands_and_the_exit_codes() {
    let project = Project::new();
    let help = ok(&mut project.tt(&["--help"])).stdout;
    for command in ["migrate", "status", "config", "new", "completions"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "{command} missing from:\n{help}"
        );
    }
    let codes: Vec<&str> = help
        .lines()
        .skip_while(|line| *line != "Exit codes:")
        .skip(1)
        .map(str::trim)
        .collect();
    assert_eq!(
        codes,
        [
            "0  success",
            "1  error (bad input, database error, failed migration)",
            "2  usage error",
            "3  verification failed",
            "4  refused for safety (destructive command without --yes, protected database)",
            "130, 143  interrupted by SIGINT, SIGTERM (the running statement is cancelled first)",
        ]
    );
}

#[test]
fn version_prints_the_package_version() {
    let project = Project::new();
    for flag in ["--version", "-V"] {
        let out = ok(&mut project.tt(&[flag])).stdout;
        assert_eq!(out, format!("tt {}\n", env!("CARGO_PKG_VERSION")));
    }
}

#[test]
fn usage_errors_exit_2_and_print_nothing_on_stdout() {
    let project = Project::new();
    let check = |args: &[&str], expected: &str| {
        let out = run(&mut project.tt(args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(
            out.stderr.contains(expected),
            "{args:?}: {expected:?} not in:\n{}",
            out.stderr
        );
    };
    check(&[], "Usage: tt [OPTIONS] <COMMAND>");
    check(&["frobnicate"], "unrecognized subcommand 'frobnicate'");
    check(&["migrate", "--bogus"], "unexpected argument '--bogus'");
    check(&["-q", "-v", "status"], "cannot be used with");
    check(
        &["--lock-timeout=-1", "status"],
        "expected a number of seconds from 0 to 2147483",
    );
    // Longer than the backends take (SQLite's driver panicked on it).
    check(
        &["--lock-timeout", "2147484", "status"],
        "expected a number of seconds from 0 to 2147483",
    );
    check(
        &["--connect-timeout=-3", "status"],
        "expected a number of seconds from 0 to 1000000000",
    );
    check(
        &["--lock-timeout", "soon", "status"],
        "invalid value 'soon'",
    );
    check(&["new"], "<NAME>");
    check(
        &["new", "x", "--backend", "oracle"],
        "invalid value 'oracle'",
    );
    check(&["new", "x", "--toml", "--down"], "cannot be used with");
    check(&["completions", "tcsh"], "invalid value 'tcsh'");
    // Nothing ran: no database file was created.
    assert!(!project.path().join("tinkertools.db").exists());
}

/// Under `--json` a usage error printed nothing on stdout, the one failure without a document.
#[test]
fn usage_errors_under_json_are_a_document_too() {
    let project = Project::new();
    let check = |args: &[&str], expected: &str| {
        let out = run(&mut project.tt(args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        let doc = out.json();
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{args:?}: {doc}");
        assert!(!message.starts_with("error:"), "{message}");
        assert_eq!(doc["error"]["refused"], false);
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
    };
    check(&["--json"], "Usage: tt [OPTIONS] <COMMAND>");
    check(
        &["--json", "migrate", "--bogus"],
        "unexpected argument '--bogus'",
    );
    check(
        &["status", "--json", "--lock-timeout", "soon"],
        "invalid value 'soon'",
    );
    // Help and version are not errors: they stay text.
    let help = ok(&mut project.tt(&["--json", "--help"])).stdout;
    assert!(help.starts_with("Database migrations"), "{help}");
    let version = ok(&mut project.tt(&["--json", "--version"])).stdout;
    assert!(version.starts_with("tt "), "{version}");
}

#[test]
fn completions_are_scripts_for_each_shell() {
    let project = Project::new();
    // Completions must work where the configuration is broken.
    project.write("tt.toml", "not toml at all\n");
    let check = |shell: &str, marker: &str| {
        let script = ok(&mut project.tt(&["completions", shell])).stdout;
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for word in ["migrate", "status", "config", "completions", "database-url"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    };
    check("bash", "complete -F _tt");
    check("zsh", "#compdef tt");
    check("fish", "complete -c tt");
    check("powershell", "Register-ArgumentCompleter");
    check("elvish", "edit:completion:arg-completer[tt]");

    let doc = ok(&mut project.tt(&["--json", "completions", "zsh"])).json();
    assert_eq!(doc["shell"], "zsh");
    assert!(doc["script"].as_str().unwrap().starts_with("#compdef tt"));
    let quiet = ok(&mut project.tt(&["-q", "completions", "bash"])).stdout;
    assert!(
        quiet.contains("complete -F _tt"),
        "-q does not hide the script"
    );
}
