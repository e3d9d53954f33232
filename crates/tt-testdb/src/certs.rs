//! A certificate authority, a server certificate it signs, and a second, unrelated CA.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// PEM files in a temporary directory: `ca.pem` signs `server.pem` (key `server.key`) for the
/// names given; `other-ca.pem` signs nothing the server holds (a wrong CA).
#[derive(Debug)]
pub struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    /// Generates the CAs and a server certificate valid for `names` (host names or IP
    /// addresses).
    ///
    /// # Panics
    /// When generation or writing fails.
    pub fn generate(names: &[&str]) -> Certificates {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca = authority("tt test CA");
        let other = authority("tt test CA nobody trusts");
        let server_key = KeyPair::generate().expect("a key pair");
        let names: Vec<String> = names.iter().map(ToString::to_string).collect();
        let mut params = CertificateParams::new(names).expect("valid names");
        params
            .distinguished_name
            .push(DnType::CommonName, "tt test server");
        let server = params
            .signed_by(&server_key, &ca)
            .expect("a server certificate");
        let write = |name: &str, text: String| {
            std::fs::write(dir.path().join(name), text).expect("writes a PEM file");
        };
        write("ca.pem", ca.pem());
        write("other-ca.pem", other.pem());
        write("server.pem", server.pem());
        write("server.key", server_key.serialize_pem());
        Certificates { dir }
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A CA that signed nothing the server holds.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.pem")
    }

    /// The server's certificate.
    pub fn server_cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// The server's private key.
    pub fn server_key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no names");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().expect("a key pair");
    CertifiedIssuer::self_signed(params, key).expect("a CA certificate")
}
