//! Connection settings: a libpq URL or `key=value` string, the password from a file,
//! `PGPASSWORD` or `~/.pgpass`, and TLS with libpq's `sslmode` meanings (tokio-postgres knows
//! only disable/prefer/require, so the verify modes and `sslrootcert` are taken out of the
//! string here and turned into a rustls verifier).
//!
//! Stricter than libpq's defaults where a bench's link crosses a network: `sslmode` defaults
//! to `verify-full` for any host that is not this machine (loopback or a unix socket keep
//! `prefer`); `sslrootcert=system` needs `verify-full` (as libpq 16); `require` without a root
//! certificate warns once; a `password_file` that group or others may read is refused.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode as PgSslMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::CentralError;
#[cfg(test)]
use tls::default_root_file;
use tls::tls_config;

mod tls;

/// A connection setting that cannot be used: the message says which and why (it becomes a
/// [`CentralError::Config`] naming the database).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SettingError(pub(crate) String);

impl From<String> for SettingError {
    fn from(s: String) -> Self {
        SettingError(s)
    }
}

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
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

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
        // Every packbench session resolves names in its own schema and the catalog, never in
        // `public`, where another database user may have planted a look-alike function.
        let path = super::privileges::SEARCH_PATH.replace(' ', "");
        let options = match config.get_options() {
            Some(o) if !o.trim().is_empty() => format!("{o} -c search_path={path}"),
            _ => format!("-c search_path={path}"),
        };
        config.options(&options);
        let cfg_err = |message: String| CentralError::Config {
            db: db.to_string(),
            message,
        };
        let system_roots = rootcert.as_deref() == Some("system");
        let sslmode = match sslmode.as_deref() {
            None => default_sslmode(&config, system_roots),
            Some(s) => {
                let mode = SslMode::parse(s).ok_or_else(|| {
                    cfg_err(format!(
                        "sslmode={s} is not one of disable, prefer, require, verify-ca, verify-full"
                    ))
                })?;
                // libpq 16's rule: the system's roots vouch for every name they ever signed,
                // so only a host-name check makes them mean "this server".
                if system_roots && mode != SslMode::VerifyFull {
                    return Err(cfg_err(format!(
                        "sslmode={s} may not be used with sslrootcert=system: use sslmode=verify-full \
                         (or leave sslmode out), so that the host name is checked"
                    )));
                }
                mode
            }
        };
        if let Some(file) = password_file {
            check_private(file).map_err(|e| cfg_err(e.0))?;
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
        let tls = tls_config(effective, rootcert.as_deref(), &db).map_err(|e| cfg_err(e.0))?;
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

/// The `sslmode` when the URL gives none: `verify-full` unless every host is this machine
/// (TLS to loopback guards nothing a local user could not read anyway, and libpq's `prefer`
/// keeps local set-ups working), and always with `sslrootcert=system` (as libpq 16).
/// A `hostaddr` without a `host` is judged by its address; neither means a local socket.
pub fn default_sslmode(config: &tokio_postgres::Config, system_roots: bool) -> SslMode {
    let local = if config.get_hosts().is_empty() {
        config.get_hostaddrs().iter().all(is_loopback)
    } else {
        config.get_hosts().iter().all(is_this_machine)
    };
    if local && !system_roots {
        SslMode::Prefer
    } else {
        SslMode::VerifyFull
    }
}

fn is_loopback(a: &IpAddr) -> bool {
    match a {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
    }
}

/// A unix socket, `localhost`, or a loopback address (127.0.0.0/8, ::1).
fn is_this_machine(host: &Host) -> bool {
    match host {
        Host::Unix(_) => true,
        Host::Tcp(h) => {
            // "localhost." is the same name, fully qualified.
            let name = h.strip_suffix('.').unwrap_or(h);
            if name.eq_ignore_ascii_case("localhost") {
                return true;
            }
            let ip = h.trim_start_matches('[').trim_end_matches(']');
            ip.parse::<IpAddr>().is_ok_and(|a| is_loopback(&a))
        }
    }
}

/// A password file must be the owner's alone (libpq's rule for `.pgpass`): mode 0600 or
/// stricter, and a plain file.
fn check_private(file: &Path) -> Result<(), SettingError> {
    let meta = std::fs::metadata(file).map_err(|e| {
        SettingError(format!(
            "password file {} cannot be read: {e}",
            file.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(SettingError(format!(
            "password file {} is not a plain file",
            file.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SettingError(format!(
                "password file {f} may be read by group or others (mode {mode:04o}); \
                 make it the owner's alone: chmod 600 {f}",
                f = file.display()
            )));
        }
    }
    Ok(())
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
    pgpass_lookup_in(&path, config)
}

/// [`pgpass_lookup`] in `path`. A file others may read is not used, with a warning (libpq
/// does the same: the user did not name this file, so it is not an error).
fn pgpass_lookup_in(path: &Path, config: &tokio_postgres::Config) -> Option<String> {
    if !path.exists() {
        return None;
    }
    if let Err(why) = check_private(path) {
        tracing::warn!("{why}; it is not used");
        return None;
    }
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

    /// A file holding `text` with permissions `mode`.
    fn file_with_mode(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn sslmode_defaults_to_verify_full_off_this_machine() {
        let mode = |url: &str| {
            let (rest, _, root) = split_ssl_options(url);
            let c: tokio_postgres::Config = rest.parse().unwrap();
            default_sslmode(&c, root.as_deref() == Some("system"))
        };
        for local in [
            "postgres://u@127.0.0.1/x",
            "postgres://u@127.1.2.3:6543/x",
            "postgres://u@localhost/x",
            "postgres://u@LOCALHOST./x",
            "postgres://u@[::1]/x",
            "host=::1 user=u",
            "host=::ffff:127.0.0.1 user=u",
            "postgres://u@/x?host=/var/run/postgresql",
            "host=/tmp user=u",
            "user=u",
            "hostaddr=127.0.0.1 user=u",
            "postgres://u@localhost,127.0.0.1/x",
        ] {
            assert_eq!(mode(local), SslMode::Prefer, "{local}");
        }
        for remote in [
            "postgres://u@db.lan/x",
            "postgres://u@10.0.0.5/x",
            "postgres://u@128.0.0.1/x",
            "postgres://u@[fe80::1]/x",
            "postgres://u@localhost.example.com/x",
            "hostaddr=192.168.1.9 user=u",
            // The name is what the certificate must hold, wherever hostaddr points.
            "host=db.lan hostaddr=127.0.0.1 user=u",
            // One remote host among local ones is enough.
            "postgres://u@localhost,db.lan/x",
            // libpq 16: system roots mean verify-full, even to this machine.
            "postgres://u@127.0.0.1/x?sslrootcert=system",
        ] {
            assert_eq!(mode(remote), SslMode::VerifyFull, "{remote}");
        }
    }

    #[test]
    fn the_default_is_what_target_parse_uses() {
        // A root certificate that cannot be read is an error only where it would be used.
        let t = Target::parse(
            "postgres://u@127.0.0.1/x?sslrootcert=/nonexistent/ca.pem",
            None,
        )
        .unwrap();
        assert_eq!(t.sslmode, SslMode::Prefer);
        let err = Target::parse(
            "postgres://u@db.lan/x?sslrootcert=/nonexistent/ca.pem",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/ca.pem cannot be read"), "{err}");
        // An explicit mode is honoured.
        let t = Target::parse("postgres://u@db.lan/x?sslmode=disable", None).unwrap();
        assert_eq!(t.sslmode, SslMode::Disable);
        // Without any root certificate the message says why one is needed and the way out.
        if !default_root_file().exists() {
            let err = Target::parse("postgres://u@db.lan/x", None)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("u@db.lan:5432/x")
                    && err.contains("sslmode=verify-full verifies the server")
                    && err.contains("sslrootcert=FILE")
                    && err.contains("default for a host that is not this machine"),
                "{err}"
            );
        }
    }

    #[test]
    fn system_roots_only_with_verify_full() {
        for weak in ["disable", "allow", "prefer", "require", "verify-ca"] {
            let err = Target::parse(
                &format!("postgres://u@db.lan/x?sslmode={weak}&sslrootcert=system"),
                None,
            )
            .unwrap_err()
            .to_string();
            assert!(
                err.contains(&format!(
                    "sslmode={weak} may not be used with sslrootcert=system: use sslmode=verify-full"
                )),
                "{err}"
            );
        }
        let kv = Target::parse(
            "host=db.lan user=u sslmode=require sslrootcert=system",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            kv.contains("may not be used with sslrootcert=system"),
            "{kv}"
        );
        // Left out, the mode is verify-full (the system store may be empty on a bare machine).
        match Target::parse("postgres://u@127.0.0.1/x?sslrootcert=system", None) {
            Ok(t) => assert_eq!(t.sslmode, SslMode::VerifyFull),
            Err(e) => assert!(e.to_string().contains("no root certificates found"), "{e}"),
        }
    }

    /// Everything written through `tracing` while `f` runs on this thread.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let w = buf.clone();
        let sub = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || w.clone())
            .finish();
        tracing::subscriber::with_default(sub, f);
        let out = buf.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn require_without_a_root_certificate_warns_once() {
        if default_root_file().exists() {
            return; // then `require` verifies against it, as libpq's does
        }
        // No other test of this binary uses `require` without a root certificate, so the
        // process-wide "once" is this test's.
        let log = logged(|| {
            for _ in 0..3 {
                let t = Target::parse("postgres://u@db.lan/x?sslmode=require", None).unwrap();
                assert_eq!(t.sslmode, SslMode::Require);
            }
        });
        assert_eq!(
            log.matches("the server is not verified").count(),
            1,
            "{log}"
        );
        assert!(
            log.contains("WARN") && log.contains("sslmode=require"),
            "{log}"
        );
    }

    #[test]
    fn a_password_file_others_may_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660] {
            let f = file_with_mode(dir.path(), &format!("p{mode:o}"), "s3cret\n", mode);
            let err = Target::parse("postgres://u@127.0.0.1/x", Some(&f))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!(
                    "password file {} may be read by group or others (mode {mode:04o})",
                    f.display()
                )) && err.contains(&format!("chmod 600 {}", f.display())),
                "{err}"
            );
            assert!(!err.contains("s3cret"), "{err}");
        }
        for mode in [0o600, 0o400] {
            let f = file_with_mode(dir.path(), &format!("q{mode:o}"), "s3cret\n", mode);
            let t = Target::parse("postgres://u@127.0.0.1/x", Some(&f)).unwrap();
            assert_eq!(t.config.get_password(), Some(&b"s3cret"[..]));
        }
        let err = Target::parse("postgres://u@127.0.0.1/x", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a plain file"), "{err}");
    }

    #[test]
    fn a_pgpass_others_may_read_is_ignored_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let c: tokio_postgres::Config = "host=db.lan user=u dbname=x".parse().unwrap();
        let line = "db.lan:5432:x:u:s3cret\n";
        let open = file_with_mode(dir.path(), "open", line, 0o644);
        let log = logged(|| assert_eq!(pgpass_lookup_in(&open, &c), None));
        assert!(
            log.contains("may be read by group or others") && log.contains("it is not used"),
            "{log}"
        );
        let private = file_with_mode(dir.path(), "private", line, 0o600);
        assert_eq!(pgpass_lookup_in(&private, &c).as_deref(), Some("s3cret"));
        assert_eq!(pgpass_lookup_in(&dir.path().join("none"), &c), None);
    }

    #[test]
    fn pgpass_fields_unescape() {
        assert_eq!(
            split_pgpass(r"db\:x:5432:*:u:pa\:ss:w"),
            vec!["db:x", "5432", "*", "u", "pa:ss:w"]
        );
    }
}
