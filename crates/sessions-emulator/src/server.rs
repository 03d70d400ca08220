//! The embeddable server: [`Emulator::builder`] → [`EmulatorBuilder::start`] → [`EmulatorHandle`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::{OnceCell, watch};
use tokio::task::JoinHandle;

use crate::config::{AuthMode, EmulatorConfig, TlsConfig};
use crate::routes::{self, AppState};
use crate::runtime::{
    IsolationMode, IsolationReport, PoolType, Runtime, RuntimeConfig, RuntimeError, WarmPool,
};
use crate::sessions::{SessionManager, spawn_reaper};
use crate::tls::{self, PoolListener, TlsError};

/// How long a shutdown waits for in-flight requests before it stops them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The host is not a loopback address and `allow_non_loopback` is off.
    #[error(
        "refusing to bind the non-loopback address {0}: sessions run arbitrary code; pass --allow-non-loopback to do it anyway"
    )]
    NonLoopback(String),
    /// The host name did not resolve.
    #[error("cannot resolve the host '{0}'")]
    Resolve(String),
    /// Binding the port failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
    /// The data directory could not be prepared.
    #[error("cannot prepare the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The runtime could not start.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// [`EmulatorBuilder::provision_python`] could not find or create an interpreter.
    #[error(transparent)]
    Python(#[from] crate::python_env::PythonEnvError),
    /// https could not be set up (unreadable or mismatched certificate and key files).
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Entry point: `Emulator::builder().start().await`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults of [`EmulatorConfig::default`].
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            config: EmulatorConfig::default(),
        }
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    config: EmulatorConfig,
}

impl EmulatorBuilder {
    /// Start from a full configuration.
    pub fn config(mut self, config: EmulatorConfig) -> Self {
        self.config = config;
        self
    }
    /// Python (default) or shell pool.
    pub fn pool_type(mut self, pool_type: PoolType) -> Self {
        self.config.pool_type = pool_type;
        self
    }
    /// Authentication mode (default [`AuthMode::Any`]).
    pub fn auth(mut self, auth: AuthMode) -> Self {
        self.config.auth = auth;
        self
    }
    /// Idle cooldown after which a session is reclaimed (default 300 s; any value is accepted).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.config.cooldown = cooldown;
        self
    }
    /// How often idle sessions are looked for (default: a quarter of the cooldown, 50 ms–5 s).
    pub fn reap_interval(mut self, every: Duration) -> Self {
        self.config.reap_interval = Some(every.max(Duration::from_millis(10)));
        self
    }
    /// Maximum number of concurrent sessions (default 100); beyond it, 429.
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.config.max_sessions = n;
        self
    }
    /// Number of pre-started interpreters kept ready (default 2).
    pub fn prewarm(mut self, n: usize) -> Self {
        self.config.prewarm = n;
        self
    }
    /// What the pool's template interpreter imports once, before every session is forked
    /// from it (default [`Preload::Default`](crate::Preload::Default): numpy, pandas and
    /// matplotlib, those installed). A forked session answers its first `import pandas`
    /// at once and shares the template's memory until it writes to it.
    ///
    /// ```
    /// let b = sessions_emulator::Emulator::builder()
    ///     .preload(sessions_emulator::Preload::Modules(vec!["numpy".into()]));
    /// # drop(b);
    /// ```
    pub fn preload(mut self, preload: crate::Preload) -> Self {
        self.config.preload = preload;
        self
    }
    /// The python3 interpreter (default, as [`resolve_python`](crate::python_env::resolve_python)
    /// finds it:
    /// `$SESSIONS_EMULATOR_PYTHON`, else the workspace's `.venv`, else `python3`). Overrides an
    /// earlier [`provision_python`](Self::provision_python).
    pub fn python(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.python = path.into();
        self.config.provision_python = false;
        self
    }
    /// Run sessions on an interpreter that has numpy, pandas and matplotlib, as the service's
    /// Python pools do: `$SESSIONS_EMULATOR_PYTHON` when set, else `.venv/bin/python3` in the
    /// enclosing Cargo workspace (or the current directory) when it has them, else that `.venv`
    /// is created with them at [`start`](Self::start) (once; `pip` downloads them from PyPI,
    /// which takes a minute or two). Needs `python3` with its `venv` module. Overrides an
    /// earlier [`python`](Self::python).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = sessions_emulator::Emulator::builder()
    ///     .provision_python()
    ///     .start()
    ///     .await?;
    /// assert!(pool.missing_packages().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn provision_python(mut self) -> Self {
        self.config.provision_python = true;
        self
    }
    /// Memory cap per session in bytes (default 2 GiB).
    pub fn memory_limit_bytes(mut self, bytes: u64) -> Self {
        self.config.memory_limit_bytes = bytes;
        self
    }
    /// Strict mode: reject a `properties` envelope on `executions` with `SessionPropertiesMissing`.
    pub fn strict(mut self, strict: bool) -> Self {
        self.config.strict = strict;
        self
    }
    /// Address to bind (default `127.0.0.1`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.config.host = host.into();
        self
    }
    /// Port to bind (default 0: a free port).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self
    }
    /// Allow a non-loopback host.
    pub fn allow_non_loopback(mut self, allow: bool) -> Self {
        self.config.allow_non_loopback = allow;
        self
    }
    /// Keep session directories here instead of a temporary directory.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.data_dir = Some(dir.into());
        self
    }
    /// Isolation requested from the runtime (default [`IsolationMode::Auto`]).
    pub fn isolation(mut self, mode: IsolationMode) -> Self {
        self.config.isolation = mode;
        self
    }
    /// Upload size limit in bytes (default 128 MiB).
    pub fn max_upload_bytes(mut self, bytes: u64) -> Self {
        self.config.max_upload_bytes = bytes;
        self
    }
    /// Serve https with a certificate generated at start for `127.0.0.1`, `localhost` and `::1`,
    /// signed by a CA generated with it; the CA certificate is written to `tls-ca.pem` in the
    /// data directory (or [`tls_ca_out`](Self::tls_ca_out)) and given by
    /// [`EmulatorHandle::ca_certificate_pem`].
    pub fn tls(mut self) -> Self {
        if !matches!(self.config.tls, Some(TlsConfig::Generated { .. })) {
            self.config.tls = Some(TlsConfig::Generated { ca_out: None });
        }
        self
    }
    /// Like [`tls`](Self::tls), writing the CA certificate (PEM) to `path`.
    pub fn tls_ca_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.tls = Some(TlsConfig::Generated {
            ca_out: Some(path.into()),
        });
        self
    }
    /// Serve https with your own certificate chain and private key (PEM files).
    pub fn tls_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.config.tls = Some(TlsConfig::Files {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }
    /// Entries per page of file listings and session lists (default: sessions by 300, files
    /// in one page); small values make clients follow `nextLink`.
    pub fn page_size(mut self, entries: usize) -> Self {
        self.config.page_size = Some(entries.max(1));
        self
    }

    /// The configuration so far.
    pub fn config_ref(&self) -> &EmulatorConfig {
        &self.config
    }

    /// Start the runtime, the warm pool and the HTTP server; returns once it accepts requests.
    pub async fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        let mut config = self.config;
        let missing_packages = prepare_python(&mut config).await?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((config.host.as_str(), config.port))
            .await
            .map_err(|_| EmulatorError::Resolve(config.host.clone()))?
            .collect();
        let Some(addr) = addrs.first().copied() else {
            return Err(EmulatorError::Resolve(config.host.clone()));
        };
        if !config.allow_non_loopback && addrs.iter().any(|a| !a.ip().is_loopback()) {
            return Err(EmulatorError::NonLoopback(config.host.clone()));
        }

        let (temp, root) = match &config.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("sessions-emulator-")
                    .tempdir()
                    .map_err(|source| EmulatorError::DataDir {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let slots = root.join("slots");
        let staging = root.join("uploads");
        for d in [&slots, &staging] {
            std::fs::create_dir_all(d).map_err(|source| EmulatorError::DataDir {
                path: d.clone(),
                source,
            })?;
        }

        // Before the runtime starts: a bad certificate or key fails fast.
        let tls = match &config.tls {
            Some(t) => Some(tls::prepare(t, &root, &config.host)?),
            None => None,
        };
        let (tls_server, ca) = match tls {
            Some(p) => (Some(p.server), p.ca),
            None => (None, None),
        };

        let runtime = Runtime::new(RuntimeConfig {
            python: config.python.clone(),
            pool_type: config.pool_type,
            memory_limit_bytes: config.memory_limit_bytes,
            isolation: config.isolation,
            disk_quota_bytes: config.disk_quota_bytes,
            slots: Some(slots.clone()),
            preload: config.preload.clone(),
            ..RuntimeConfig::default()
        })
        .await?;
        let isolation = runtime.isolation();
        let pool = WarmPool::new(runtime, slots, config.prewarm);
        let sessions = Arc::new(SessionManager::new(
            pool,
            config.max_sessions.max(1),
            config.cooldown,
        ));
        let reaper = spawn_reaper(&sessions, config.effective_reap_interval());

        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let scheme = if tls_server.is_some() {
            "https"
        } else {
            "http"
        };
        let endpoint = match local {
            SocketAddr::V4(a) => format!("{scheme}://{}:{}/", a.ip(), a.port()),
            SocketAddr::V6(a) => format!("{scheme}://[{}]:{}/", a.ip(), a.port()),
        };
        let tls_on = tls_server.is_some();
        let listener =
            PoolListener::new(listener, tls_server).map_err(|source| EmulatorError::Bind {
                addr: addr.to_string(),
                source,
            })?;

        let state = Arc::new(AppState {
            config,
            sessions: sessions.clone(),
            isolation: isolation.clone(),
            started_at: SystemTime::now(),
            staging,
            metadata: OnceCell::new(),
            local_addr: local,
            tls: tls_on,
        });
        let app = tower::ServiceExt::map_request(routes::router(state), routes::normalize_path);
        let make = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);

        let (stop, rx) = watch::channel(false);
        let mut rx_grace = rx.clone();
        let task = tokio::spawn(async move {
            let mut rx = rx;
            let serve = axum::serve(listener, make).with_graceful_shutdown(async move {
                let _ = rx.wait_for(|v| *v).await;
            });
            let grace = async move {
                let _ = rx_grace.wait_for(|v| *v).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            };
            tokio::select! {
                r = serve => if let Err(e) = r { tracing::warn!("server error: {e}") },
                _ = grace => tracing::warn!("in-flight requests did not finish in time; stopping them"),
            }
            reaper.abort();
            sessions.shutdown().await;
            drop(temp);
        });
        tracing::info!(%endpoint, isolation = %isolation.detail, "sessions emulator listening");
        Ok(EmulatorHandle {
            endpoint,
            ca,
            addr: local,
            isolation,
            missing_packages,
            stop,
            task: Some(task),
        })
    }
}

/// Resolve the interpreter when asked to provision one, and list the data packages it lacks
/// (with a warning: without them a session's `import pandas` is a failed run, not an error).
async fn prepare_python(config: &mut EmulatorConfig) -> Result<Vec<String>, EmulatorError> {
    use crate::python_env::{Provision, missing_packages, resolve_python};
    if config.pool_type != PoolType::Python {
        return Ok(Vec::new());
    }
    let provision = config.provision_python;
    let python = config.python.clone();
    let (python, missing) = tokio::task::spawn_blocking(move || {
        let python = if provision {
            resolve_python(Provision::CreateVenv)?
        } else {
            python
        };
        let missing = missing_packages(&python);
        Ok::<_, crate::python_env::PythonEnvError>((python, missing))
    })
    .await
    .map_err(|e| RuntimeError::Spawn(format!("checking the Python interpreter: {e}")))??;
    if !missing.is_empty() {
        tracing::warn!(
            python = %python.display(),
            missing = %missing.join(", "),
            "the interpreter lacks data packages the service's Python pools have: `import` of them \
             fails in sessions; use EmulatorBuilder::provision_python (dynsess serve \
             --provision-python), or set SESSIONS_EMULATOR_PYTHON to an interpreter that has them"
        );
    }
    config.python = python;
    Ok(missing)
}

/// A running emulator. Dropping it starts a shutdown without waiting for it.
#[derive(Debug)]
pub struct EmulatorHandle {
    endpoint: String,
    /// The generated CA certificate (PEM) and where it was written.
    ca: Option<(String, PathBuf)>,
    addr: SocketAddr,
    isolation: IsolationReport,
    missing_packages: Vec<String>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The pool management endpoint, e.g. `http://127.0.0.1:40123/` (`https://` behind TLS;
    /// always ends with `/`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The generated CA's certificate (PEM) that clients trust to reach the pool over https
    /// ([`EmulatorBuilder::tls`]); `None` over http or with your own certificate.
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca.as_ref().map(|(pem, _)| pem.as_str())
    }

    /// Where that CA certificate was written (for `SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`, ...).
    pub fn ca_certificate_path(&self) -> Option<&Path> {
        self.ca.as_ref().map(|(_, path)| path.as_path())
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The isolation in force.
    pub fn isolation(&self) -> &IsolationReport {
        &self.isolation
    }

    /// The data packages (numpy, pandas, matplotlib) that the pool's interpreter lacks, found
    /// at start without importing them; empty for shell pools. Start-up logs a warning when
    /// any is missing.
    pub fn missing_packages(&self) -> &[String] {
        &self.missing_packages
    }

    /// Stop accepting requests, let in-flight ones finish (up to 5 s), stop every session and
    /// remove the temporary data directory.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
