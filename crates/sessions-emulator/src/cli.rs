//! Command-line options ([`ServeArgs`]) and [`run_cli`], shared by the `sessions-emulator`
//! binary and the project's `dynsess serve`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{AuthMode, default_python};
use crate::runtime::{IsolationMode, PoolType};
use crate::server::{Emulator, EmulatorBuilder, EmulatorError};

/// `--pool-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PoolTypeArg {
    /// Python code interpreter.
    Python,
    /// Shell (`shellCommand`).
    Shell,
}

/// `--auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthArg {
    /// Token optional, never checked.
    Any,
    /// A bearer token is required.
    Bearer,
    /// A bearer JWT with an accepted audience is required (signature not checked).
    Audience,
}

/// `--isolation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IsolationArg {
    /// Namespaces when available, else degraded with a warning.
    Auto,
    /// Require namespaces.
    Namespaces,
    /// Resource limits and a per-session directory only.
    Degraded,
}

/// Options of `sessions-emulator` / `dynsess serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Pool type.
    #[arg(long, value_enum, default_value_t = PoolTypeArg::Python)]
    pub pool_type: PoolTypeArg,
    /// Authentication mode.
    #[arg(long, value_enum, default_value_t = AuthArg::Any)]
    pub auth: AuthArg,
    /// Idle cooldown in seconds (the service allows 300–3600).
    #[arg(long, default_value_t = 300)]
    pub cooldown: u64,
    /// Maximum number of concurrent sessions.
    #[arg(long, default_value_t = 100)]
    pub max_sessions: usize,
    /// Pre-started interpreters kept ready.
    #[arg(long, default_value_t = 2)]
    pub prewarm: usize,
    /// The python3 interpreter (default: $SESSIONS_EMULATOR_PYTHON, else .venv/bin/python3 in the
    /// enclosing Cargo workspace or the current directory, else python3).
    #[arg(long, env = "SESSIONS_EMULATOR_PYTHON")]
    pub python: Option<PathBuf>,
    /// Run on an interpreter with numpy, pandas and matplotlib: the one above when it has them,
    /// else create .venv with them (once, from PyPI).
    #[arg(long)]
    pub provision_python: bool,
    /// Modules the template interpreter imports once for every session: `default` (numpy,
    /// pandas, matplotlib, those installed), `none`, or a comma-separated list.
    #[arg(long, default_value = "default", value_parser = crate::Preload::parse)]
    pub preload: crate::Preload,
    /// Memory cap per session, in MiB.
    #[arg(long, default_value_t = 2048)]
    pub memory_limit_mb: u64,
    /// Reject a `properties` envelope on `executions` (SessionPropertiesMissing).
    #[arg(long)]
    pub strict: bool,
    /// Allow binding a non-loopback address.
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Keep session directories here (default: a temporary directory removed on exit).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Isolation mode.
    #[arg(long, value_enum, default_value_t = IsolationArg::Auto)]
    pub isolation: IsolationArg,
    /// Entries per page of file listings and session lists, followed by `nextLink`
    /// (default: sessions by 300, as the service does; files in one page).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
    /// Serve https with a certificate generated for 127.0.0.1, localhost and ::1, signed by a
    /// generated CA (its path is printed on stderr).
    #[arg(long)]
    pub tls: bool,
    /// Write the generated CA certificate (PEM) here (default: tls-ca.pem in the data
    /// directory). Implies --tls.
    #[arg(long, value_name = "FILE", conflicts_with = "tls_cert")]
    pub tls_ca_out: Option<PathBuf>,
    /// Serve https with this certificate chain (PEM) instead of a generated one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ServeArgs {
    /// The builder these options describe.
    pub fn builder(&self) -> EmulatorBuilder {
        let mut b = Emulator::builder()
            .host(self.host.clone())
            .port(self.port)
            .pool_type(match self.pool_type {
                PoolTypeArg::Python => PoolType::Python,
                PoolTypeArg::Shell => PoolType::Shell,
            })
            .auth(match self.auth {
                AuthArg::Any => AuthMode::Any,
                AuthArg::Bearer => AuthMode::Bearer,
                AuthArg::Audience => AuthMode::Audience,
            })
            .cooldown(Duration::from_secs(self.cooldown.max(1)))
            .max_sessions(self.max_sessions)
            .prewarm(self.prewarm)
            .preload(self.preload.clone())
            .python(self.python.clone().unwrap_or_else(default_python))
            .memory_limit_bytes(self.memory_limit_mb.saturating_mul(1024 * 1024))
            .strict(self.strict)
            .allow_non_loopback(self.allow_non_loopback)
            .isolation(match self.isolation {
                IsolationArg::Auto => IsolationMode::Auto,
                IsolationArg::Namespaces => IsolationMode::Namespaces,
                IsolationArg::Degraded => IsolationMode::Degraded,
            });
        if let Some(d) = &self.data_dir {
            b = b.data_dir(d.clone());
        }
        if self.provision_python {
            b = b.provision_python();
        }
        if let Some(n) = self.page_size {
            b = b.page_size(n as usize);
        }
        b = match (&self.tls_cert, &self.tls_key, &self.tls_ca_out) {
            (Some(cert), Some(key), _) => b.tls_files(cert, key),
            (_, _, Some(ca_out)) => b.tls_ca_out(ca_out),
            _ if self.tls => b.tls(),
            _ => b,
        };
        b
    }
}

impl ServeArgs {
    /// Refuse, before anything says the pool serves, a literal non-loopback `--host`
    /// without `--allow-non-loopback` (host names are checked once resolved, at start).
    pub fn check(&self) -> Result<(), EmulatorError> {
        let literal = self
            .host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>();
        match literal {
            Ok(ip) if !ip.is_loopback() && !self.allow_non_loopback => {
                Err(EmulatorError::NonLoopback(self.host.clone()))
            }
            _ => Ok(()),
        }
    }
}

/// Start the emulator, print the endpoint URL as the first line on stdout, and serve until
/// Ctrl-C (or SIGTERM), then shut down gracefully. Logging goes to stderr (set it up first).
pub async fn run_cli(args: ServeArgs) -> Result<(), EmulatorError> {
    if !(300..=3600).contains(&args.cooldown) {
        tracing::warn!(
            cooldown = args.cooldown,
            "the service allows a cooldown of 300-3600 s; using {} s anyway",
            args.cooldown.max(1)
        );
    }
    args.check()?;
    let handle = args.builder().start().await?;
    // Logging may be off: say on stderr what makes this pool differ from the service's.
    for warning in &handle.isolation().warnings {
        eprintln!("warning: {warning}");
    }
    if !handle.missing_packages().is_empty() {
        eprintln!(
            "warning: the interpreter lacks {}: importing them fails in sessions; pass \
             --provision-python, or set SESSIONS_EMULATOR_PYTHON to an interpreter that has them",
            handle.missing_packages().join(", ")
        );
    }
    if let Some(path) = handle.ca_certificate_path() {
        eprintln!(
            "TLS: trust the generated CA certificate {} (for example SSL_CERT_FILE or NODE_EXTRA_CA_CERTS); it is new on every start",
            path.display()
        );
    }
    // Listen for SIGTERM before saying where we serve: whoever reads the endpoint may stop us
    // at once, and an uninstalled handler would let the signal kill us without a shutdown.
    let stop = wait_for_signal();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", handle.endpoint());
        let _ = out.flush();
    }
    stop.await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

/// Installs the SIGTERM handler now; the future ends on Ctrl-C or SIGTERM.
fn wait_for_signal() -> impl std::future::Future<Output = ()> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = tokio::signal::ctrl_c();
        match term {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsConfig;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn args(extra: &[&str]) -> ServeArgs {
        Wrap::parse_from(std::iter::once("serve").chain(extra.iter().copied())).serve
    }

    #[test]
    fn a_public_host_is_refused_before_serving() {
        assert!(args(&["--host", "0.0.0.0"]).check().is_err());
        assert!(args(&["--host", "[::]"]).check().is_err());
        assert!(
            args(&["--host", "0.0.0.0", "--allow-non-loopback"])
                .check()
                .is_ok()
        );
        assert!(args(&["--host", "127.0.0.1"]).check().is_ok());
        assert!(args(&[]).check().is_ok());
    }

    #[test]
    fn tls_options_select_the_certificate() {
        let tls = |a: &[&str]| args(a).builder().config_ref().tls.clone();
        assert_eq!(tls(&[]), None);
        assert_eq!(tls(&["--tls"]), Some(TlsConfig::Generated { ca_out: None }));
        assert_eq!(
            tls(&["--tls-ca-out", "ca.pem"]),
            Some(TlsConfig::Generated {
                ca_out: Some("ca.pem".into())
            })
        );
        assert_eq!(
            tls(&["--tls", "--tls-cert", "c.pem", "--tls-key", "k.pem"]),
            Some(TlsConfig::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        let parse =
            |a: &[&str]| Wrap::try_parse_from(std::iter::once("serve").chain(a.iter().copied()));
        assert!(
            parse(&["--tls-cert", "c.pem"]).is_err(),
            "a certificate needs its key"
        );
        assert!(parse(&["--tls-key", "k.pem"]).is_err());
        assert!(parse(&["--tls-ca-out", "a", "--tls-cert", "c", "--tls-key", "k"]).is_err());
        assert_eq!(
            args(&["--page-size", "2"]).builder().config_ref().page_size,
            Some(2)
        );
        assert!(parse(&["--page-size", "0"]).is_err());
    }
}
