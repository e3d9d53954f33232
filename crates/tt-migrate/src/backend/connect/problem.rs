//! Why a URL or a TLS connection was refused: leaf types, so `error` can hold them.

use std::path::PathBuf;

/// What is wrong with a database URL, found before connecting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrlProblem {
    /// `sqlite://` with no file: the driver would open a throwaway in-memory database.
    #[error(
        "it names no SQLite file (write sqlite://path/to/file.db; sqlite::memory: is a database \
         that vanishes when tt exits)"
    )]
    EmptySqlitePath,
    /// A query parameter tt does not know (a typo such as `sslmod` would otherwise silently
    /// connect without TLS).
    #[error(
        "unknown parameter `{name}` (known: {}); a setting for every connection goes in \
         session_sql in tt.toml (or --session-sql)",
        known.join(", ")
    )]
    UnknownParameter {
        /// The parameter as written.
        name: String,
        /// The parameters this backend takes.
        known: &'static [&'static str],
    },
    /// A parameter whose value is not one of those allowed.
    #[error("`{name}={value}` is not one of {}", allowed.join(", "))]
    BadValue {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
        /// The values it takes.
        allowed: &'static [&'static str],
    },
    /// `sslrootcert=system` with a mode that does not verify the host name.
    #[error(
        "`sslrootcert=system` verifies the server against the system's roots and needs \
         sslmode=verify-full (or no sslmode), not `{mode}`"
    )]
    SystemRootsNeedVerifyFull {
        /// The mode given.
        mode: String,
    },
    /// A certificate or key file named in the URL cannot be read.
    #[error("`{parameter}` names {}, which cannot be read: {source}", path.display())]
    CertificateFile {
        /// The parameter.
        parameter: String,
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// A client certificate without its key, or a key without its certificate.
    #[error("a client certificate needs both `{cert}` and `{key}`")]
    ClientCertificateHalf {
        /// The certificate parameter's name.
        cert: &'static str,
        /// The key parameter's name.
        key: &'static str,
    },
}

/// Why a TLS connection was refused, in the terms of the URL's options.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsProblem {
    /// The server does not offer TLS, which the mode requires.
    #[error(
        "the server does not offer TLS, which `{mode}` requires (enable ssl on the server, or \
         choose a mode that allows plain connections)"
    )]
    NotOffered {
        /// The mode as a URL parameter, e.g. `sslmode=require`.
        mode: String,
    },
    /// The server's certificate is not signed by a trusted certificate authority.
    #[error(
        "the server's certificate is not signed by a certificate authority tt trusts ({roots}); \
         `{mode}` verifies it: name the CA that signed it with `{ca_parameter}=FILE`"
    )]
    Untrusted {
        /// The mode as a URL parameter.
        mode: String,
        /// Where the trusted roots came from.
        roots: String,
        /// The parameter that names a CA file on this backend.
        ca_parameter: &'static str,
    },
    /// The server's certificate does not name the host connected to.
    #[error(
        "the server's certificate is not valid for host `{host}`{}; `{mode}` checks the host \
         name: connect with a name the certificate holds",
        if names.is_empty() { String::new() } else { format!(" (it names {})", names.join(", ")) }
    )]
    WrongHost {
        /// The mode as a URL parameter.
        mode: String,
        /// The host connected to.
        host: String,
        /// The names the certificate holds.
        names: Vec<String>,
    },
    /// The server's certificate has expired or is not valid yet.
    #[error("the server's certificate has expired or is not valid yet (`{mode}` checks it)")]
    Expired {
        /// The mode as a URL parameter.
        mode: String,
    },
}
