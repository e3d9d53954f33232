//! A scratch project directory and a `tt` command that runs in it with a clean environment.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Variables that would change what `tt` does if the test runner's environment had them.
const ENV_TO_CLEAR: &[&str] = &[
    "DATABASE_URL",
    "RUST_LOG",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "CI",
    "TERM",
];

/// A temporary directory standing for a project that uses `tt`.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // tt looks for tt.toml and .env in every parent: one there would leak into the test.
        for parent in dir.path().ancestors().skip(1) {
            for name in ["tt.toml", ".env"] {
                let path = parent.join(name);
                assert!(
                    !path.is_file(),
                    "{} would leak into the CLI tests: remove it",
                    path.display()
                );
            }
        }
        Self { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `text` to `relative` (parents created).
    pub(crate) fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().expect("a file in the project"))
            .expect("creates parents");
        std::fs::write(&path, text).expect("writes the file");
        path
    }

    /// Writes a migration file into `migrations/`.
    pub(crate) fn migration(&self, file_name: &str, sql: &str) -> PathBuf {
        self.write(&format!("migrations/{file_name}"), sql)
    }

    /// The files in `migrations/`, sorted.
    pub(crate) fn migration_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path().join("migrations"))
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// A SQLite URL for a database file in the project.
    pub(crate) fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}", self.path().join(file).display())
    }

    /// `tt` with `args`, run in the project with a clean environment.
    pub(crate) fn tt(&self, args: &[&str]) -> Command {
        let mut command = assert_cmd::cargo::cargo_bin_cmd!("tt");
        command.current_dir(self.path()).args(args);
        for name in ENV_TO_CLEAR {
            command.env_remove(name);
        }
        command
    }

    /// `tt --database-url URL` with `args`, as [`Project::tt`].
    pub(crate) fn tt_on(&self, url: &str, args: &[&str]) -> Command {
        let mut command = self.tt(args);
        command.args(["--database-url", url]);
        command
    }
}

/// `tt --database-url URL` with `args` run on a terminal (a pseudo-terminal from util-linux
/// `script`) in `project`, typing `input`; `None`, after saying so, where `script` is missing.
/// The terminal carries stdout and stderr both, with CRLF line ends turned back into LF.
pub(crate) fn on_terminal(project: &Project, url: &str, args: &[&str], input: &str) -> Option<Run> {
    let tt = assert_cmd::cargo::cargo_bin!("tt");
    let quote = |word: &str| format!("'{}'", word.replace('\'', r"'\''"));
    let mut words = vec![
        quote(&tt.display().to_string()),
        "--database-url".into(),
        quote(url),
    ];
    words.extend(args.iter().map(|arg| quote(arg)));
    let mut command = std::process::Command::new("script");
    command
        .args(["-q", "-e", "-c", &words.join(" "), "/dev/null"])
        .current_dir(project.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for name in ENV_TO_CLEAR {
        command.env_remove(name);
    }
    // A terminal would get colour; the assertions read plain text. A terminal type, so that
    // progress is drawn as on a user's terminal.
    command.env("NO_COLOR", "1").env("TERM", "xterm");
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            tt_testdb::skipped("no `script` (util-linux) to give tt a terminal");
            return None;
        }
        Err(error) => panic!("script runs: {error}"),
    };
    use std::io::Write as _;
    let mut stdin = child.stdin.take().expect("script's stdin");
    stdin.write_all(input.as_bytes()).expect("types the answer");
    drop(stdin);
    let output = child.wait_with_output().expect("script finishes");
    Some(Run {
        code: output.status.code().expect("script exits with a code"),
        stdout: String::from_utf8(output.stdout)
            .expect("the terminal's text is UTF-8")
            .replace("\r\n", "\n"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    })
}

/// What a finished `tt` printed, with its exit code.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// stdout parsed as the one JSON document it must be.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| {
            panic!(
                "stdout is not one JSON document ({error}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs `command` and collects what it printed.
pub(crate) fn run(command: &mut Command) -> Run {
    let output = command.output().expect("tt runs");
    Run {
        code: output.status.code().expect("tt exits with a code"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `command`, which must succeed.
pub(crate) fn ok(command: &mut Command) -> Run {
    let run = run(command);
    assert_eq!(
        run.code, 0,
        "tt failed:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}
