//! A throwaway PostgreSQL or MariaDB server for one test: its own data directory under /tmp,
//! its own port and socket, TLS with test certificates, stopped and removed when dropped.
//!
//! Servers refuse to run as root, so under root (as in CI) the server and its setup run as
//! the `postgres` or `mysql` user (util-linux `setpriv`), with files that user owns.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use tt_schema::Backend;

use crate::Certificates;
use crate::is_required;

/// How long a server may take to start.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running server that lives as long as this value.
#[derive(Debug)]
pub struct Server {
    backend: Backend,
    port: u16,
    child: Child,
    // Holds the data directory, the socket and the log; removed after the server stops.
    dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server of `backend` (PostgreSQL or MySQL) listening on 127.0.0.1 with TLS from
    /// `certificates`, trusting every local user without a password; `None` (after printing
    /// why) when its programs are missing and `TT_REQUIRE_BACKENDS` does not name it.
    ///
    /// # Panics
    /// When the backend is required and its programs are missing, or the server fails to
    /// start (the panic shows its log).
    pub fn start(backend: Backend, certificates: &Certificates) -> Option<Server> {
        let programs = match backend {
            Backend::Postgres => {
                postgres_bin().map(|bin| vec![bin.join("initdb"), bin.join("postgres")])
            }
            Backend::Mysql => Some(vec![
                PathBuf::from("/usr/bin/mariadb-install-db"),
                PathBuf::from("/usr/sbin/mariadbd"),
            ]),
            Backend::Sqlite => panic!("SQLite has no server"),
        };
        let missing = programs
            .as_ref()
            .is_none_or(|p| p.iter().any(|p| !p.exists()));
        if missing {
            if is_required(backend) {
                panic!(
                    "{backend} is required by TT_REQUIRE_BACKENDS but its server programs are missing"
                );
            }
            println!("skipped: no {backend} server programs to start a throwaway server");
            return None;
        }
        let programs = programs.unwrap_or_default();
        let user = match backend {
            Backend::Postgres => "postgres",
            _ => "mysql",
        };
        let dir = tempfile::Builder::new()
            .prefix("tt-server-")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port();
        let path = dir.path();
        for file in ["ca.pem", "server.pem", "server.key"] {
            let from = certificates.dir().join(file);
            std::fs::copy(&from, path.join(file)).expect("copies the certificate");
        }
        // PostgreSQL refuses a key others can read.
        set_mode(&path.join("server.key"), "600");
        give_to(user, path);
        let data = path.join("data");
        let log = path.join("server.log");
        let child = match backend {
            Backend::Postgres => {
                run(as_user(user, &programs[0], path)
                    .args(["-D", &data.display().to_string()])
                    .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"]));
                spawn(
                    as_user(user, &programs[1], path)
                        .args(["-D", &data.display().to_string()])
                        .args(["-p", &port.to_string(), "-k", &path.display().to_string()])
                        .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
                        .args(["-c", "ssl=on"])
                        .arg("-c")
                        .arg(format!(
                            "ssl_cert_file={}",
                            path.join("server.pem").display()
                        ))
                        .arg("-c")
                        .arg(format!(
                            "ssl_key_file={}",
                            path.join("server.key").display()
                        )),
                    &log,
                )
            }
            _ => {
                run(as_user(user, &programs[0], path)
                    .arg("--no-defaults")
                    .arg(format!("--datadir={}", data.display()))
                    .arg("--auth-root-authentication-method=normal"));
                spawn(
                    as_user(user, &programs[1], path)
                        .arg("--no-defaults")
                        .arg(format!("--datadir={}", data.display()))
                        .arg(format!("--port={port}"))
                        .arg("--bind-address=127.0.0.1")
                        .arg(format!("--socket={}", path.join("mysqld.sock").display()))
                        .arg(format!("--pid-file={}", path.join("mysqld.pid").display()))
                        .arg("--innodb-buffer-pool-size=16M")
                        .arg(format!("--ssl-ca={}", path.join("ca.pem").display()))
                        .arg(format!("--ssl-cert={}", path.join("server.pem").display()))
                        .arg(format!("--ssl-key={}", path.join("server.key").display())),
                    &log,
                )
            }
        };
        let server = Server {
            backend,
            port,
            child,
            dir,
        };
        server.wait_until_ready();
        Some(server)
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding its Unix socket.
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A URL for the server's administrative database, TLS left to the driver's default.
    pub fn url(&self) -> String {
        match self.backend {
            Backend::Postgres => format!("postgres://postgres@127.0.0.1:{}/postgres", self.port),
            _ => format!("mysql://root@127.0.0.1:{}/mysql", self.port),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn wait_until_ready(&self) {
        let url = match self.backend {
            Backend::Postgres => format!("{}?sslmode=disable", self.url()),
            _ => format!("{}?ssl-mode=DISABLED", self.url()),
        };
        let backend = self.backend;
        let ready = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime");
            let started = Instant::now();
            loop {
                let result = runtime.block_on(async {
                    match backend {
                        Backend::Postgres => sqlx::PgConnection::connect(&url).await?.close().await,
                        _ => sqlx::MySqlConnection::connect(&url).await?.close().await,
                    }
                });
                match result {
                    Ok(()) => return Ok(()),
                    Err(error) if started.elapsed() > START_TIMEOUT => return Err(error),
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        })
        .join()
        .expect("the readiness check finishes");
        if let Err(error) = ready {
            panic!(
                "the throwaway {} server did not start: {error}\n{}",
                self.backend,
                self.log()
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // PostgreSQL stops fast on SIGINT, MariaDB cleanly on SIGTERM.
        let signal = match self.backend {
            Backend::Postgres => "-INT",
            _ => "-TERM",
        };
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PostgreSQL's server programs: the newest /usr/lib/postgresql/N/bin (Debian's layout).
fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `program` run as `user` when we are root (servers refuse root), else as ourselves.
fn as_user(user: &str, program: &Path, dir: &Path) -> Command {
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid", user, "--regid", user, "--init-groups"])
            .arg(program);
        command
    } else {
        Command::new(program)
    };
    command.current_dir(dir);
    command
}

/// Hands `dir` and what it holds to `user` when we are root.
fn give_to(user: &str, dir: &Path) {
    if is_root() {
        run(Command::new("chown")
            .arg("-R")
            .arg(format!("{user}:"))
            .arg(dir));
    }
}

fn set_mode(path: &Path, mode: &str) {
    run(Command::new("chmod").arg(mode).arg(path));
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn spawn(command: &mut Command, log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("creates the server log");
    let err = file.try_clone().expect("a second handle on the log");
    command
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// A port nothing listens on now (the OS's pick).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
