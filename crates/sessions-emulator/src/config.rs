//! Emulator settings.

use std::path::PathBuf;
use std::time::Duration;

use crate::runtime::{IsolationMode, PoolType};

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// A bearer token is optional and never checked (the default).
    #[default]
    Any,
    /// `Authorization: Bearer <token>` is required (any token); a missing one is 401.
    Bearer,
    /// A bearer JWT is required and its `aud` must be `https://dynamicsessions.io` or
    /// `https://acasessions.io`. The signature is not verified.
    Audience,
}

impl std::str::FromStr for AuthMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "any" => Ok(AuthMode::Any),
            "bearer" => Ok(AuthMode::Bearer),
            "audience" => Ok(AuthMode::Audience),
            other => Err(format!("unknown auth mode '{other}' (any|bearer|audience)")),
        }
    }
}

/// Upload size limit: 128 MiB (the service documents "128 MB").
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;

/// Execution wall-clock cap of the service.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(220);

/// All settings of an emulator instance. Build it through [`crate::Emulator::builder`].
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind (default `127.0.0.1`).
    pub host: String,
    /// Port to bind; 0 picks a free port (the default).
    pub port: u16,
    /// Python or shell pool.
    pub pool_type: PoolType,
    /// Authentication mode.
    pub auth: AuthMode,
    /// Idle time after which a session is reclaimed (default 300 s).
    pub cooldown: Duration,
    /// How often the reaper looks for idle sessions (default: a quarter of the cooldown, 50 ms–5 s).
    pub reap_interval: Option<Duration>,
    /// Maximum number of concurrent sessions (default 100); beyond it, 429.
    pub max_sessions: usize,
    /// Number of pre-started interpreters kept ready (default 2).
    pub prewarm: usize,
    /// The python3 interpreter (default: `$SESSIONS_EMULATOR_PYTHON`, else the workspace's
    /// `.venv`, else `python3`; see [`resolve_python`](crate::python_env::resolve_python)).
    pub python: PathBuf,
    /// Replace `python` at start by one that has numpy, pandas and matplotlib, creating the
    /// workspace's `.venv` with them the first time (see
    /// [`EmulatorBuilder::provision_python`](crate::EmulatorBuilder::provision_python)).
    pub provision_python: bool,
    /// What the template interpreter imports before sessions are forked from it (default:
    /// numpy, pandas and matplotlib, those installed; see [`Preload`](crate::Preload)).
    pub preload: crate::Preload,
    /// Memory cap per session in bytes (default 2 GiB).
    pub memory_limit_bytes: u64,
    /// Strict mode: reject a `properties` envelope on `executions` (and a flat body on `code/execute`).
    pub strict: bool,
    /// Allow binding a non-loopback address.
    pub allow_non_loopback: bool,
    /// Where session directories live; default a temporary directory removed on shutdown.
    pub data_dir: Option<PathBuf>,
    /// Isolation requested from the runtime.
    pub isolation: IsolationMode,
    /// Upload size limit in bytes (default 128 MiB).
    pub max_upload_bytes: u64,
    /// Pool name used in `stopSession` messages (default `local`).
    pub pool_name: String,
    /// Largest JSON request body accepted, in bytes (default 4 MiB); larger ones get 413.
    pub max_json_body_bytes: usize,
    /// Soft disk quota of each session's `/mnt/data` in bytes (default 4 GiB; `None`:
    /// none): uploads past it get 413, and a session still writing past it is stopped.
    pub disk_quota_bytes: Option<u64>,
    /// Entries per page of file listings and session lists, followed by `nextLink` (and
    /// `skip`). `None` (the default): session lists page by 300, as the service does, and
    /// file listings come in one page, since several clients never follow `nextLink` there.
    pub page_size: Option<usize>,
    /// Serve https instead of http (default: http).
    pub tls: Option<TlsConfig>,
}

/// Sessions per page of `listSessions` when no page size is configured (the service's).
pub const DEFAULT_SESSION_PAGE_SIZE: usize = 300;

/// Where the https certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// A certificate generated at start for `127.0.0.1`, `localhost` and `::1` (and the bound
    /// host), signed by a CA generated with it. The CA certificate (PEM) is written to
    /// `ca_out`, else to `tls-ca.pem` in the data directory.
    Generated {
        /// Where to write the CA certificate.
        ca_out: Option<PathBuf>,
    },
    /// A certificate chain and its private key, both PEM files.
    Files {
        /// The certificate chain (leaf first).
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_string(),
            port: 0,
            pool_type: PoolType::Python,
            auth: AuthMode::Any,
            cooldown: Duration::from_secs(300),
            reap_interval: None,
            max_sessions: 100,
            prewarm: 2,
            python: default_python(),
            provision_python: false,
            preload: crate::Preload::Default,
            memory_limit_bytes: 2 * 1024 * 1024 * 1024,
            strict: false,
            allow_non_loopback: false,
            data_dir: None,
            isolation: IsolationMode::Auto,
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            pool_name: "local".to_string(),
            max_json_body_bytes: 4 << 20,
            disk_quota_bytes: Some(4 << 30),
            page_size: None,
            tls: None,
        }
    }
}

impl EmulatorConfig {
    /// Sessions per page of `listSessions` and `.management/listSessions`.
    pub fn session_page_size(&self) -> usize {
        self.page_size.unwrap_or(DEFAULT_SESSION_PAGE_SIZE).max(1)
    }

    /// Entries per page of a file listing.
    pub fn file_page_size(&self) -> usize {
        self.page_size.unwrap_or(usize::MAX).max(1)
    }

    /// The effective reaper interval.
    pub fn effective_reap_interval(&self) -> Duration {
        self.reap_interval.unwrap_or_else(|| {
            (self.cooldown / 4).clamp(Duration::from_millis(50), Duration::from_secs(5))
        })
    }
}

/// The interpreter a pool runs unless told otherwise: `$SESSIONS_EMULATOR_PYTHON` when set and
/// non-empty, else `.venv/bin/python3` in the enclosing Cargo workspace (or the current
/// directory) when it exists, else `python3` from `PATH`. Nothing is installed here; a pool
/// started on an interpreter without numpy, pandas or matplotlib warns at start-up, and
/// [`EmulatorBuilder::provision_python`](crate::EmulatorBuilder::provision_python) creates the
/// `.venv` with them.
pub fn default_python() -> PathBuf {
    crate::python_env::resolve_python(crate::python_env::Provision::Find)
        .unwrap_or_else(|_| PathBuf::from("python3"))
}
