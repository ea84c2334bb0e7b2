//! TLS for the central connection with libpq's `sslmode` meanings: the root certificates
//! (a file, `~/.postgresql/root.crt`, or the system's store) and a rustls verifier that says
//! plainly why a server's certificate is refused.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use super::{SettingError, SslMode};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Where the root certificates come from.
enum Roots {
    /// None given and `~/.postgresql/root.crt` absent.
    None,
    File(PathBuf),
    /// `sslrootcert=system`: the operating system's store.
    System,
}

impl Roots {
    /// `sslrootcert`, else `~/.postgresql/root.crt` when it exists (libpq's default).
    fn of(rootcert: Option<&str>) -> Roots {
        match rootcert {
            Some("system") => Roots::System,
            Some(p) => Roots::File(PathBuf::from(p)),
            None => {
                let default = default_root_file();
                if default.exists() {
                    Roots::File(default)
                } else {
                    Roots::None
                }
            }
        }
    }

    /// For messages: "the root certificate(s) in FILE" or "the system's root certificates".
    fn describe(&self) -> String {
        match self {
            Roots::None => "no root certificate".into(),
            Roots::File(p) => format!("the root certificate(s) in {}", p.display()),
            Roots::System => "the system's root certificates".into(),
        }
    }
}

pub(super) fn default_root_file() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".postgresql")
        .join("root.crt")
}

/// Set once the "not verified" warning of `sslmode=require` was given (once per process: a
/// bench reconnects often, and one line says it).
static REQUIRE_UNVERIFIED_WARNED: AtomicBool = AtomicBool::new(false);

pub(super) fn tls_config(
    mode: SslMode,
    rootcert: Option<&str>,
    db: &str,
) -> Result<ClientConfig, SettingError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let roots = Roots::of(rootcert);
    let verify = match mode {
        SslMode::Disable | SslMode::Prefer => false,
        // libpq: `require` checks the chain when a root certificate is there.
        SslMode::Require => !matches!(roots, Roots::None),
        SslMode::VerifyCa | SslMode::VerifyFull => true,
    };
    if mode == SslMode::Require
        && !verify
        && !REQUIRE_UNVERIFIED_WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            db = %db,
            "sslmode=require without a root certificate: the connection is encrypted but the \
             server is not verified (anyone on the path can pose as it); give sslrootcert=FILE \
             with sslmode=verify-full"
        );
    }
    let config = if !verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let store = load_roots(&roots, mode)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
            .build()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verify {
                webpki,
                check_name: mode == SslMode::VerifyFull,
                mode,
                roots: roots.describe(),
            }))
            .with_no_client_auth()
    };
    Ok(config)
}

fn load_roots(roots: &Roots, mode: SslMode) -> Result<RootCertStore, SettingError> {
    let mut store = RootCertStore::empty();
    let path = match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            for c in found.certs {
                // One unusable certificate in the system store does not spoil the others.
                if let Err(e) = store.add(c) {
                    tracing::debug!("a system root certificate left out: {e}");
                }
            }
            if store.is_empty() {
                return Err(SettingError(
                    "sslrootcert=system: no root certificates found in the system store".into(),
                ));
            }
            return Ok(store);
        }
        Roots::File(p) => p,
        Roots::None => {
            return Err(SettingError(format!(
                "sslmode={} verifies the server and needs a root certificate: give \
                 sslrootcert=FILE (the CA that signed the server's certificate) or \
                 sslrootcert=system, or put it in {}{}",
                mode.name(),
                default_root_file().display(),
                if mode == SslMode::VerifyFull {
                    " (verify-full is the default for a host that is not this machine; \
                     sslmode=require connects without verifying)"
                } else {
                    ""
                }
            )));
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("root certificate {} cannot be read: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("root certificate {} cannot be read: {e}", path.display()))?;
    for c in certs {
        store
            .add(c)
            .map_err(|e| format!("root certificate {} is not usable: {e}", path.display()))?;
    }
    if store.is_empty() {
        return Err(SettingError(format!(
            "root certificate file {} holds no certificate",
            path.display()
        )));
    }
    Ok(store)
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

/// `require` with a root certificate and `verify-ca`: the chain must lead to a trusted root;
/// `verify-full`: and the certificate must name the host. A refusal says which, in words, with
/// the host and the roots (rustls alone says `UnknownIssuer`).
#[derive(Debug)]
struct Verify {
    webpki: Arc<WebPkiServerVerifier>,
    check_name: bool,
    mode: SslMode,
    /// [`Roots::describe`]
    roots: String,
}

impl Verify {
    fn refusal(&self, e: CertificateError, host: &ServerName<'_>) -> rustls::Error {
        let host = host.to_str();
        let mode = self.mode.name();
        let message = match e {
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "the server's certificate is not valid for host {host}: it names {} \
                 (sslmode={mode} checks the host name: connect by a name the certificate holds)",
                if presented.is_empty() {
                    "no host".to_string()
                } else {
                    presented
                        .iter()
                        .map(|n| plain_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::NotValidForName => format!(
                "the server's certificate is not valid for host {host} (sslmode={mode} checks \
                 the host name: connect by a name the certificate holds)"
            ),
            CertificateError::UnknownIssuer => format!(
                "the server's certificate for host {host} is not signed by {} (sslmode={mode}): \
                 the wrong sslrootcert, or not the server you meant",
                self.roots
            ),
            other => format!("the server's certificate for host {host} is refused: {other}"),
        };
        rustls::Error::Other(rustls::OtherError(Arc::new(std::io::Error::other(message))))
    }
}

/// A certificate's name as webpki shows it (`DnsName("localhost")`, `IpAddress(10.0.0.5)`) as a
/// person writes it.
fn plain_name(n: &str) -> &str {
    n.strip_prefix("DnsName(\"")
        .and_then(|r| r.strip_suffix("\")"))
        .or_else(|| {
            n.strip_prefix("IpAddress(")
                .and_then(|r| r.strip_suffix(')'))
        })
        .unwrap_or(n)
}

impl ServerCertVerifier for Verify {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => Ok(v),
            // webpki checks the chain before the name: a name error means the chain is good.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(rustls::Error::InvalidCertificate(e)) => Err(self.refusal(e, server_name)),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names_read_as_written() {
        assert_eq!(plain_name("DnsName(\"db.lan\")"), "db.lan");
        assert_eq!(plain_name("IpAddress(10.0.0.5)"), "10.0.0.5");
        assert_eq!(plain_name("DirectoryName"), "DirectoryName");
    }
}
