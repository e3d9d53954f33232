//! Connecting as production does, end to end: TLS against a throwaway server, the connect
//! timeout, and what the driver logs at each verbosity.

use std::time::{Duration, Instant};

use tt_schema::Backend;
use tt_testdb::{Certificates, Server, TestDb};

use crate::support::{Project, ok, run};

/// A password that must never be printed.
const PASSWORD: &str = "pw-never-shown-51c9";

#[test]
fn tls_connects_and_refusals_say_why_without_the_password() {
    let certificates = Certificates::generate(&["localhost"]);
    let Some(server) = Server::start(Backend::Postgres, &certificates) else {
        return;
    };
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);\n",
    );
    let ca = certificates.ca().display().to_string();
    let url = |host: &str, query: &str| {
        format!(
            "postgres://postgres:{PASSWORD}@{host}:{}/postgres?{query}",
            server.port()
        )
    };
    let no_password = |out: &crate::support::Run| {
        assert!(!out.stdout.contains(PASSWORD), "{}", out.stdout);
        assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
    };

    let verified = url(
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let out = ok(&mut project.tt_on(&verified, &["-vv", "migrate"]));
    no_password(&out);
    assert!(out.stdout.contains("001"), "{}", out.stdout);

    let wrong_host = url(
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    for args in [&["status"][..], &["--json", "status"], &["-vv", "status"]] {
        let out = run(&mut project.tt_on(&wrong_host, args));
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        no_password(&out);
        assert!(
            out.stderr
                .contains("certificate is not valid for host `127.0.0.1`"),
            "{args:?}: {}",
            out.stderr
        );
    }
    let wrong_ca = url(
        "localhost",
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            certificates.other_ca().display()
        ),
    );
    let out = run(&mut project.tt_on(&wrong_ca, &["status"]));
    assert_eq!(out.code, 1, "{}", out.stderr);
    no_password(&out);
    assert!(
        out.stderr
            .contains("not signed by a certificate authority tt trusts"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_silent_server_fails_after_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for socket in listener.incoming() {
            held.push(socket);
        }
    });
    let project = Project::new();
    project.migration(
        "001_items.sql",
        "CREATE TABLE items (id INTEGER PRIMARY KEY);\n",
    );
    for url in [
        format!("postgres://tt:{PASSWORD}@127.0.0.1:{port}/app"),
        format!("mysql://tt:{PASSWORD}@127.0.0.1:{port}/app"),
    ] {
        let started = Instant::now();
        let out = run(&mut project.tt_on(
            &url,
            &["migrate", "--connect-timeout", "1", "--lock-timeout", "2"],
        ));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{url} gave up in time"
        );
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(!out.stderr.contains(PASSWORD), "{}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "could not connect to {}",
                url.replace(PASSWORD, "***")
            )) && out.stderr.contains("no answer within 1s"),
            "{}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn slow_statements_are_logged_only_at_vv() {
    for backend in [Backend::Postgres, Backend::Mysql] {
        let sleep = match backend {
            Backend::Postgres => "SELECT pg_sleep(1.1);\n",
            _ => "DO SLEEP(1.1);\n",
        };
        for (verbosity, logged) in [(None, false), (Some("-v"), false), (Some("-vv"), true)] {
            let Some(db) = TestDb::create(backend).await else {
                break;
            };
            let project = Project::new();
            project.migration("001_slow.sql", sleep);
            let mut args = vec!["migrate"];
            args.extend(verbosity);
            let out = ok(&mut project.tt_on(db.url(), &args));
            assert_eq!(
                out.stderr.contains("slow statement"),
                logged,
                "{backend} {verbosity:?}:\n{}",
                out.stderr
            );
        }
    }
}
