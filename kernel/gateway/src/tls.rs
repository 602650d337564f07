//! TLS with rustls: the server's certificate chain and key, read from PEM
//! files at start and again on `SIGHUP`, so that a renewed certificate is
//! taken up without a restart.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Makes the kernel's TLS crypto (aws-lc-rs, as it serves with) the
/// process's default. The workspace's HTTP client (reqwest, the webhooks'
/// and the CLI's) is built with rustls and no crypto of its own: a process
/// calls this before it makes one. Calling it again does nothing.
pub fn install_crypto() {
    // An error means a default is installed already, which will do.
    drop(rustls::crypto::aws_lc_rs::default_provider().install_default());
}

/// Where the server's certificate chain and private key are, in PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, the server's own first.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The TLS configuration in use, replaced whole on reload.
#[derive(Debug)]
pub(crate) struct Tls {
    files: TlsFiles,
    config: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Reads `files`; an error says which file and what is wrong with it.
    pub(crate) fn load(files: TlsFiles) -> Result<Self, String> {
        let config = server_config(&files)?;
        Ok(Self { files, config: RwLock::new(Arc::new(config)) })
    }

    /// Reads the files again; on an error the configuration in use stays.
    pub(crate) fn reload(&self) -> Result<(), String> {
        let config = server_config(&self.files)?;
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// Accepts connections with the configuration in use now.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.config.read().unwrap_or_else(|p| p.into_inner())))
    }

    /// Reloads on every `SIGHUP` from now on, in a task the caller aborts
    /// when it stops serving. The signal is hooked before this returns, so
    /// a hang-up that follows can never take the default action (exit).
    #[cfg(unix)]
    pub(crate) fn reload_on_hangup(self: Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGHUP; TLS files are not reloaded");
                return None;
            }
        };
        Some(tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let tls = Arc::clone(&self);
                match tokio::task::spawn_blocking(move || tls.reload()).await {
                    Ok(Ok(())) => {
                        tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                    }
                    Ok(Err(err)) => tracing::error!(
                        error = %err,
                        "TLS certificate not reloaded; the previous one stays in use"
                    ),
                    Err(err) => tracing::error!(error = %err, "TLS reload failed"),
                }
            }
        }))
    }

    /// No hang-up signal here: the files are read once.
    #[cfg(not(unix))]
    pub(crate) fn reload_on_hangup(self: Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}

fn server_config(files: &TlsFiles) -> Result<ServerConfig, String> {
    let cert = files.cert.display();
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| format!("cannot read the TLS certificate chain {cert}: {err}"))?;
    if certs.is_empty() {
        return Err(format!("{cert} holds no PEM certificate"));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|err| format!("cannot read the TLS private key {}: {err}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("TLS: {err}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| format!("the TLS key {} does not fit {cert}: {err}", files.key.display()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
