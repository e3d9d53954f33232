//! Connecting as production does: TLS modes against throwaway servers with test certificates,
//! libpq's socket form, the connect timeout, URLs refused before connecting.

use std::time::{Duration, Instant};
use tt_migrate::ConnectError;

use tt_migrate::{ConnectOptions, Database, Error, TlsProblem};
use tt_schema::Backend;
use tt_testdb::{Certificates, Server};

/// A password that must never be printed.
const PASSWORD: &str = "pw-never-shown-7f3a";

fn options() -> ConnectOptions {
    ConnectOptions {
        connect_timeout: Duration::from_secs(20),
        ..ConnectOptions::default()
    }
}

async fn connect(url: &str) -> Result<Database, Error> {
    Database::connect(url, options()).await
}

/// Whether the session runs over TLS, as the server sees it.
async fn uses_tls(db: &mut Database) -> bool {
    let sql = match db.backend() {
        Backend::Postgres => "SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        _ => {
            "SELECT variable_value FROM information_schema.session_status WHERE variable_name = 'Ssl_cipher'"
        }
    };
    let rows = db
        .fetch_text(sql)
        .await
        .expect("reads the session's TLS state");
    let value = rows
        .first()
        .and_then(|row| row.first().cloned().flatten())
        .unwrap_or_default();
    !value.is_empty() && value != "false"
}

/// A throwaway server with TLS, and a URL base `scheme://user:PASSWORD@HOST:port/db` for it.
async fn tls_server(backend: Backend) -> Option<(Server, Certificates)> {
    let certificates = Certificates::generate(&["localhost"]);
    let server = Server::start(backend, &certificates)?;
    if backend == Backend::Mysql {
        // MariaDB checks passwords even here: a user that has one.
        let mut root = connect(&format!("{}?ssl-mode=DISABLED", server.url()))
            .await
            .expect("connects as root");
        // For 'localhost' too: the anonymous ''@'localhost' would otherwise match first.
        for host in ["%", "localhost"] {
            for sql in [
                format!("CREATE USER 'tt'@'{host}' IDENTIFIED BY '{PASSWORD}'"),
                format!("GRANT ALL ON *.* TO 'tt'@'{host}'"),
            ] {
                root.exec(&sql, &[]).await.expect("creates the user");
            }
        }
    }
    Some((server, certificates))
}

fn base(backend: Backend, host: &str, server: &Server) -> String {
    match backend {
        Backend::Postgres => format!(
            "postgres://postgres:{PASSWORD}@{host}:{}/postgres",
            server.port()
        ),
        _ => format!("mysql://tt:{PASSWORD}@{host}:{}/mysql", server.port()),
    }
}

async fn connects_over_tls(url: &str) {
    let mut db = connect(url)
        .await
        .unwrap_or_else(|e| panic!("{url} connects: {e}"));
    assert!(uses_tls(&mut db).await, "{url} uses TLS");
    assert!(
        !db.redacted_url().contains(PASSWORD),
        "{}",
        db.redacted_url()
    );
}

async fn refused(url: &str) -> (TlsProblem, String) {
    let error = match connect(url).await {
        Ok(_) => panic!("{url} connects"),
        Err(error) => error,
    };
    let text = error.to_string();
    assert!(!text.contains(PASSWORD), "the password is shown: {text}");
    assert!(!format!("{error:?}").contains(PASSWORD), "{error:?}");
    match error {
        Error::Connect(ConnectError::Tls { problem, .. }) => (*problem, text),
        other => panic!("{url}: expected a TLS refusal, got {other}"),
    }
}

#[tokio::test]
async fn postgres_tls_modes_verify_as_libpq() {
    let Some((server, certs)) = tls_server(Backend::Postgres).await else {
        return;
    };
    let at = |host| base(Backend::Postgres, host, &server);
    let ca = certs.ca().display().to_string();
    let other = certs.other_ca().display().to_string();

    connects_over_tls(&format!("{}?sslmode=require", at("localhost"))).await;
    connects_over_tls(&format!(
        "{}?sslmode=verify-full&sslrootcert={ca}",
        at("localhost")
    ))
    .await;
    // verify-ca checks the chain, not the name.
    connects_over_tls(&format!(
        "{}?sslmode=verify-ca&sslrootcert={ca}",
        at("127.0.0.1")
    ))
    .await;
    let mut plain = connect(&format!("{}?sslmode=disable", at("localhost")))
        .await
        .expect("connects without TLS");
    assert!(!uses_tls(&mut plain).await, "sslmode=disable is plain");

    let (problem, text) = refused(&format!(
        "{}?sslmode=verify-full&sslrootcert={other}",
        at("localhost")
    ))
    .await;
    assert!(matches!(problem, TlsProblem::Untrusted { .. }), "{text}");
    assert!(
        text.contains("not signed by a certificate authority tt trusts"),
        "{text}"
    );
    assert!(text.contains(&other), "names the CA file: {text}");

    // Without sslrootcert only the system's roots are trusted: the test CA is not among them.
    let (problem, text) = refused(&format!("{}?sslmode=verify-full", at("localhost"))).await;
    assert!(matches!(problem, TlsProblem::Untrusted { .. }), "{text}");

    // libpq: require with a root certificate verifies the chain.
    let (problem, text) = refused(&format!(
        "{}?sslmode=require&sslrootcert={other}",
        at("localhost")
    ))
    .await;
    assert!(matches!(problem, TlsProblem::Untrusted { .. }), "{text}");

    let (problem, text) = refused(&format!(
        "{}?sslmode=verify-full&sslrootcert={ca}",
        at("127.0.0.1")
    ))
    .await;
    assert!(matches!(problem, TlsProblem::WrongHost { .. }), "{text}");
    assert!(
        text.contains("not valid for host `127.0.0.1` (it names localhost)"),
        "{text}"
    );
    assert!(
        text.starts_with("could not connect to postgres://postgres:***@127.0.0.1"),
        "{text}"
    );
}

#[tokio::test]
async fn mysql_tls_modes_verify_as_the_mysql_client() {
    let Some((server, certs)) = tls_server(Backend::Mysql).await else {
        return;
    };
    let at = |host| base(Backend::Mysql, host, &server);
    let ca = certs.ca().display().to_string();
    let other = certs.other_ca().display().to_string();

    connects_over_tls(&format!("{}?ssl-mode=REQUIRED", at("localhost"))).await;
    connects_over_tls(&format!(
        "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}",
        at("localhost")
    ))
    .await;
    connects_over_tls(&format!(
        "{}?ssl-mode=VERIFY_CA&ssl-ca={ca}",
        at("127.0.0.1")
    ))
    .await;
    let mut plain = connect(&format!("{}?ssl-mode=DISABLED", at("localhost")))
        .await
        .expect("connects without TLS");
    assert!(!uses_tls(&mut plain).await, "ssl-mode=DISABLED is plain");

    let (problem, text) = refused(&format!(
        "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={other}",
        at("localhost")
    ))
    .await;
    assert!(matches!(problem, TlsProblem::Untrusted { .. }), "{text}");
    // A CA without a mode verifies the chain, as the mysql client does.
    let (problem, text) = refused(&format!("{}?ssl-ca={other}", at("localhost"))).await;
    assert!(matches!(problem, TlsProblem::Untrusted { .. }), "{text}");
    assert!(text.contains("ssl-mode=VERIFY_CA"), "{text}");

    let (problem, text) = refused(&format!(
        "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}",
        at("127.0.0.1")
    ))
    .await;
    assert!(matches!(problem, TlsProblem::WrongHost { .. }), "{text}");
    assert!(text.contains("not valid for host `127.0.0.1`"), "{text}");
}

#[tokio::test]
async fn tls_required_by_a_server_without_it_is_refused_clearly() {
    // The shared servers run without TLS configured by tt; a throwaway one with ssl=off is
    // not needed: ask for TLS where a plain listener answers PostgreSQL's SSLRequest with 'N'.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        if let Ok((mut socket, _)) = listener.accept() {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).is_ok() {
                let _ = socket.write_all(b"N");
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    });
    let url = format!("postgres://tt:{PASSWORD}@127.0.0.1:{port}/app?sslmode=require");
    let (problem, text) = refused(&url).await;
    assert!(matches!(problem, TlsProblem::NotOffered { .. }), "{text}");
    assert!(
        text.contains("does not offer TLS, which `sslmode=require` requires"),
        "{text}"
    );
}

#[tokio::test]
async fn the_libpq_socket_form_connects_and_keeps_the_user_name() {
    let certificates = Certificates::generate(&["localhost"]);
    let Some(server) = Server::start(Backend::Postgres, &certificates) else {
        return;
    };
    let url = format!(
        "postgres://postgres@/postgres?host={}&port={}",
        server.socket_dir().display(),
        server.port()
    );
    let mut db = connect(&url).await.expect("connects through the socket");
    let rows = db
        .fetch_text("SELECT coalesce(inet_server_addr()::text, 'socket')")
        .await
        .expect("asks how it is connected");
    assert_eq!(rows, [[Some("socket".to_string())]]);
    assert_eq!(
        db.redacted_url(),
        url,
        "nothing to hide: the user name stays"
    );

    let with_password = url.replace("postgres@", &format!("postgres:{PASSWORD}@"));
    let db = connect(&with_password).await.expect("connects");
    assert!(
        db.redacted_url()
            .starts_with("postgres://postgres:***@/postgres?host="),
        "{}",
        db.redacted_url()
    );
}

/// A listener that accepts connections and never says a word.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming() {
            held.push(socket);
        }
    });
    port
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_naming_the_url() {
    let port = silent_server();
    for url in [
        format!("postgres://tt:{PASSWORD}@127.0.0.1:{port}/app"),
        format!("mysql://tt:{PASSWORD}@127.0.0.1:{port}/app"),
    ] {
        let options = ConnectOptions {
            connect_timeout: Duration::from_millis(700),
            ..ConnectOptions::default()
        };
        let started = Instant::now();
        let error = Database::connect(&url, options)
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} connects to a silent server"));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url} gave up in time"
        );
        assert!(
            matches!(error, Error::Connect(ConnectError::Timeout { .. })),
            "{error}"
        );
        let text = error.to_string();
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(
            text.contains(&format!("tt:***@127.0.0.1:{port}/app")),
            "{text}"
        );
        assert!(text.contains("no answer within 0.7s"), "{text}");
        assert!(text.contains("--connect-timeout"), "{text}");
    }
}

#[tokio::test]
async fn urls_and_options_tt_cannot_honour_are_refused_before_connecting() {
    let check = |url: &'static str, expected: &'static str| async move {
        let error = connect(url)
            .await
            .err()
            .unwrap_or_else(|| panic!("{url} connects"));
        assert!(
            matches!(error, Error::Connect(ConnectError::BadUrl { .. })),
            "{url}: {error}"
        );
        assert!(error.to_string().contains(expected), "{url}: {error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    };
    check("sqlite://", "names no SQLite file").await;
    check("sqlite:", "names no SQLite file").await;
    check(
        "postgres://u:s3cret@127.0.0.1:1/db?sslmod=require",
        "unknown parameter `sslmod`",
    )
    .await;
    check(
        "postgres://u:s3cret@127.0.0.1:1/db?sslmode=on",
        "`sslmode=on` is not one of",
    )
    .await;
    check(
        "mysql://u:s3cret@127.0.0.1:1/db?ssl-mode=yes",
        "`ssl-mode=yes` is not one of",
    )
    .await;
    check(
        "postgres://u:s3cret@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        "`sslrootcert` names /nonexistent/ca.pem, which cannot be read",
    )
    .await;

    let dir = tempfile::tempdir().expect("a directory");
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let options = ConnectOptions {
        lock_timeout: Duration::from_secs(2_147_484),
        ..ConnectOptions::default()
    };
    let error = Database::connect(&url, options).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        "the lock timeout must be at most 2147483 seconds"
    );
}

#[tokio::test]
async fn postgres_errors_do_not_name_lines_of_the_server_source() {
    let Some(test_db) = tt_testdb::TestDb::create(Backend::Postgres).await else {
        return;
    };
    let mut db = connect(test_db.url()).await.expect("connects");
    let error = db
        .fetch_text("SELECT * FROM no_such_table")
        .await
        .expect_err("fails");
    let mut chain = vec![error.to_string()];
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    for text in &chain {
        assert!(!text.contains(" at line "), "{text}");
    }
    // The server's message is the last cause, whole and without the suffix.
    let server = chain.last().expect("a chain");
    assert!(
        server.ends_with("relation \"no_such_table\" does not exist"),
        "{chain:?}"
    );
}
