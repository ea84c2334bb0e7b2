//! Connection settings: a libpq URL or `key=value` string, the password from a file,
//! `PGPASSWORD` or `~/.pgpass`, and TLS with libpq's `sslmode` meanings (tokio-postgres knows
//! only disable/prefer/require, so the verify modes and `sslrootcert` are taken out of the
//! string here and turned into a rustls verifier).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::CentralError;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Option<SslMode> {
        Some(match s {
            "disable" => SslMode::Disable,
            // libpq's "allow" tries plain first; a plain-first attempt buys nothing here.
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

/// A plain connection's driver (poll it, or `poll_message` it for notifications).
pub type PgConnection = tokio_postgres::Connection<
    tokio_postgres::Socket,
    <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
>;

/// Everything needed to open a connection, and the database's name for error messages.
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: MakeRustlsConnect,
    /// `user@host:port/dbname`, never the password.
    pub db: Arc<str>,
    pub sslmode: SslMode,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("db", &self.db)
            .field("sslmode", &self.sslmode)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Parses `url` (a `postgres://` URL or a `key=value` string) and reads the password
    /// from `password_file` when given, else from the URL, `PGPASSWORD` or `~/.pgpass`.
    pub fn parse(url: &str, password_file: Option<&Path>) -> Result<Target, CentralError> {
        let (rest, sslmode, rootcert) = split_ssl_options(url);
        let label_guess = "the central database".to_string();
        let mut config: tokio_postgres::Config =
            rest.parse()
                .map_err(|e: tokio_postgres::Error| CentralError::Config {
                    db: label_guess.clone(),
                    message: format!(
                        "the connection URL cannot be read: {}",
                        super::pg_message(&e)
                    ),
                })?;
        let db: Arc<str> = label(&config).into();
        let cfg_err = |message: String| CentralError::Config {
            db: db.to_string(),
            message,
        };
        let sslmode = match sslmode.as_deref() {
            None => SslMode::Prefer,
            Some(s) => SslMode::parse(s).ok_or_else(|| {
                cfg_err(format!(
                    "sslmode={s} is not one of disable, prefer, require, verify-ca, verify-full"
                ))
            })?,
        };
        if let Some(file) = password_file {
            let text = std::fs::read_to_string(file).map_err(|e| {
                cfg_err(format!(
                    "password file {} cannot be read: {e}",
                    file.display()
                ))
            })?;
            let pw = text.lines().next().unwrap_or("").trim_end_matches('\r');
            if pw.is_empty() {
                return Err(cfg_err(format!(
                    "password file {} is empty",
                    file.display()
                )));
            }
            config.password(pw);
        } else if config.get_password().is_none() {
            if let Some(pw) = std::env::var_os("PGPASSWORD") {
                config.password(pw.to_string_lossy().as_bytes());
            } else if let Some(pw) = pgpass_lookup(&config) {
                config.password(pw);
            }
        }
        // libpq never uses TLS on a unix socket; neither do we.
        let all_unix = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        let effective = if all_unix && !config.get_hosts().is_empty() {
            SslMode::Disable
        } else {
            sslmode
        };
        config.ssl_mode(match effective {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Prefer => PgSslMode::Prefer,
            _ => PgSslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        // A cut cable must not hold a connection for the kernel's 15 minutes of retries.
        config.keepalives_idle(Duration::from_secs(30));
        #[cfg(target_os = "linux")]
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(Duration::from_secs(30));
        }
        if config.get_application_name().is_none() {
            config.application_name("packbench");
        }
        let tls = tls_config(effective, rootcert.as_deref()).map_err(cfg_err)?;
        Ok(Target {
            config,
            tls: MakeRustlsConnect::new(tls),
            db,
            sslmode,
        })
    }

    /// Opens one plain (non-pooled) connection and returns the client with the connection
    /// future still to be driven by the caller.
    pub async fn connect_raw(
        &self,
    ) -> Result<(tokio_postgres::Client, PgConnection), CentralError> {
        self.config
            .connect(self.tls.clone())
            .await
            .map_err(|source| CentralError::Connect {
                db: self.db.to_string(),
                source,
            })
    }
}

/// `user@host:port/dbname` for messages.
pub fn label(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("?");
    let db = config.get_dbname().unwrap_or(user);
    format!("{user}@{host}:{port}/{db}")
}

/// Takes `sslmode` and `sslrootcert` out of a URL or key=value string: tokio-postgres
/// refuses the verify modes and does not know `sslrootcert`.
fn split_ssl_options(url: &str) -> (String, Option<String>, Option<String>) {
    let mut sslmode = None;
    let mut rootcert = None;
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), None, None);
        };
        let mut keep = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "sslmode" => sslmode = Some(percent_decode(v)),
                "sslrootcert" => rootcert = Some(percent_decode(v)),
                _ => keep.push(pair),
            }
        }
        let rest = if keep.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", keep.join("&"))
        };
        (rest, sslmode, rootcert)
    } else {
        let mut keep = Vec::new();
        for (k, v) in parse_key_values(url) {
            match k.as_str() {
                "sslmode" => sslmode = Some(v),
                "sslrootcert" => rootcert = Some(v),
                _ => keep.push(format!(
                    "{k}='{}'",
                    v.replace('\\', "\\\\").replace('\'', "\\'")
                )),
            }
        }
        (keep.join(" "), sslmode, rootcert)
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// libpq's `key = value` syntax: values bare or single-quoted, backslash escapes.
fn parse_key_values(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    loop {
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let mut key = String::new();
        while let Some(&c) = it.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            it.next();
        }
        if key.is_empty() {
            break;
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        if it.peek() == Some(&'=') {
            it.next();
        }
        while it.peek().is_some_and(|c| c.is_whitespace()) {
            it.next();
        }
        let mut value = String::new();
        if it.peek() == Some(&'\'') {
            it.next();
            while let Some(c) = it.next() {
                match c {
                    '\\' => {
                        if let Some(n) = it.next() {
                            value.push(n)
                        }
                    }
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = it.peek() {
                if c.is_whitespace() {
                    break;
                }
                it.next();
                if c == '\\' {
                    if let Some(n) = it.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        out.push((key, value));
    }
    out
}

/// `~/.pgpass` (or `PGPASSFILE`): `host:port:database:user:password`, `*` matches anything.
fn pgpass_lookup(config: &tokio_postgres::Config) -> Option<String> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        // libpq matches socket connections as "localhost".
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user()?.to_string();
    let db = config.get_dbname().unwrap_or(&user).to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        let m = |f: &str, v: &str| f == "*" || f == v;
        if m(&fields[0], &host)
            && m(&fields[1], &port)
            && m(&fields[2], &db)
            && m(&fields[3], &user)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut it = line.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    out.last_mut().expect("never empty").push(n);
                }
            }
            ':' if out.len() < 5 => out.push(String::new()),
            c => out.last_mut().expect("never empty").push(c),
        }
    }
    out
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(mode: SslMode, rootcert: Option<&str>) -> Result<ClientConfig, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let verify = match mode {
        SslMode::Disable | SslMode::Prefer => false,
        // libpq: `require` checks the certificate when a root certificate is given.
        SslMode::Require => rootcert.is_some(),
        SslMode::VerifyCa | SslMode::VerifyFull => true,
    };
    let config = if !verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let roots = load_roots(rootcert)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
        if mode == SslMode::VerifyFull {
            builder.with_webpki_verifier(webpki).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(CaOnly(webpki)))
                .with_no_client_auth()
        }
    };
    Ok(config)
}

fn load_roots(rootcert: Option<&str>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    if rootcert == Some("system") {
        let found = rustls_native_certs::load_native_certs();
        for c in found.certs {
            let _ = roots.add(c);
        }
        if roots.is_empty() {
            return Err(
                "sslrootcert=system: no root certificates found in the system store".into(),
            );
        }
        return Ok(roots);
    }
    let path = match rootcert {
        Some(p) => PathBuf::from(p),
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            let default = home.join(".postgresql").join("root.crt");
            if !default.exists() {
                return Err(format!(
                    "certificate verification needs a root certificate: give sslrootcert=FILE (or sslrootcert=system), or put it in {}",
                    default.display()
                ));
            }
            default
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("root certificate {} cannot be read: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("root certificate {} cannot be read: {e}", path.display()))?;
    for c in certs {
        roots
            .add(c)
            .map_err(|e| format!("root certificate {} is not usable: {e}", path.display()))?;
    }
    if roots.is_empty() {
        return Err(format!(
            "root certificate file {} holds no certificate",
            path.display()
        ));
    }
    Ok(roots)
}

/// `sslmode=prefer/require` without a root certificate: encrypted, not authenticated (as libpq).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct CaOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for CaOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The URL a bench uses: the admin URL's server, database and TLS settings with the bench's
/// role and password.
pub fn bench_url(admin_url: &str, role: &str, password: &str) -> Result<String, CentralError> {
    let (rest, sslmode, rootcert) = split_ssl_options(admin_url);
    let config: tokio_postgres::Config =
        rest.parse()
            .map_err(|e: tokio_postgres::Error| CentralError::Config {
                db: "the central database".into(),
                message: format!(
                    "the connection URL cannot be read: {}",
                    super::pg_message(&e)
                ),
            })?;
    let c = &config;
    let enc = |s: &str| percent_encode(s);
    let db = c.get_dbname().unwrap_or("packbench");
    let port = c.get_ports().first().copied();
    let mut query: Vec<String> = Vec::new();
    let authority = match c.get_hosts().first() {
        Some(Host::Tcp(h)) => {
            let h = if h.contains(':') {
                format!("[{h}]")
            } else {
                h.clone()
            };
            match port {
                Some(p) => format!("{h}:{p}"),
                None => h,
            }
        }
        Some(Host::Unix(p)) => {
            query.push(format!("host={}", enc(&p.display().to_string())));
            if let Some(p) = port {
                query.push(format!("port={p}"));
            }
            String::new()
        }
        None => String::new(),
    };
    if let Some(m) = sslmode {
        query.push(format!("sslmode={}", enc(&m)));
    }
    if let Some(r) = rootcert {
        query.push(format!("sslrootcert={}", enc(&r)));
    }
    let mut url = format!(
        "postgres://{}:{}@{authority}/{}",
        enc(role),
        enc(password),
        enc(db)
    );
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    Ok(url)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_are_taken_out_of_urls_and_key_values() {
        let (rest, mode, root) = split_ssl_options(
            "postgres://bench01@db.lan/packbench?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        );
        assert_eq!(
            rest,
            "postgres://bench01@db.lan/packbench?application_name=x"
        );
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));
        let (rest, mode, root) =
            split_ssl_options("host=db.lan dbname='pack bench' sslmode = verify-ca user=b\\'x");
        assert_eq!(rest, "host='db.lan' dbname='pack bench' user='b\\'x'");
        assert_eq!(mode.as_deref(), Some("verify-ca"));
        assert_eq!(root, None);
        let c: tokio_postgres::Config = rest.parse().unwrap();
        assert_eq!(c.get_dbname(), Some("pack bench"));
        assert_eq!(c.get_user(), Some("b'x"));
    }

    #[test]
    fn labels_never_hold_the_password() {
        let t = Target::parse(
            "postgres://bench01:s3cret@db.lan:6543/packbench?sslmode=disable",
            None,
        )
        .unwrap();
        assert_eq!(&*t.db, "bench01@db.lan:6543/packbench");
        let err = Target::parse("postgres://u:s3cret@db.lan/x?sslmode=bogus", None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("u@db.lan:5432/x") && msg.contains("sslmode=bogus"),
            "{msg}"
        );
        assert!(!msg.contains("s3cret"), "{msg}");
        assert!(format!("{t:?}").find("s3cret").is_none());
    }

    #[test]
    fn verify_without_a_root_certificate_is_a_clear_error() {
        let err = Target::parse(
            "postgres://u@db.lan/x?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("root certificate /nonexistent/ca.pem cannot be read"),
            "{err}"
        );
    }

    #[test]
    fn bench_urls_keep_server_and_tls_settings() {
        let u = bench_url(
            "postgres://admin:pw@db.lan:6543/packbench?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "bench01",
            "p@ss",
        )
        .unwrap();
        assert_eq!(
            u,
            "postgres://bench01:p%40ss@db.lan:6543/packbench?sslmode=verify-full&sslrootcert=/etc/ca.pem"
        );
        let u = bench_url("host=/tmp/pg port=5433 dbname=t1 user=postgres", "b1", "x").unwrap();
        assert_eq!(u, "postgres://b1:x@/t1?host=/tmp/pg&port=5433");
        let c: tokio_postgres::Config = u.parse().unwrap();
        assert_eq!(c.get_user(), Some("b1"));
        assert_eq!(c.get_password(), Some(&b"x"[..]));
    }

    #[test]
    fn pgpass_fields_unescape() {
        assert_eq!(
            split_pgpass(r"db\:x:5432:*:u:pa\:ss:w"),
            vec!["db:x", "5432", "*", "u", "pa:ss:w"]
        );
    }
}
