//! End-to-end suites across the crates, against the local pool. The tests are in `tests/`;
//! this library holds what they share.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use sessions_core::{ApiVersion, Client, Error};
use sessions_emulator::python_env::{Provision, resolve_python};
use sessions_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};

/// The current-family api-versions, oldest first.
pub const CURRENT: [ApiVersion; 3] = [
    ApiVersion::V2024_10_02Preview,
    ApiVersion::V2025_02_02Preview,
    ApiVersion::V2025_10_02Preview,
];

/// The legacy-family api-versions.
pub const LEGACY: [ApiVersion; 2] = [
    ApiVersion::V2024_02_02Preview,
    ApiVersion::V2024_08_02Preview,
];

/// The interpreter for the local pool, creating the workspace `.venv` on a fresh machine.
pub fn pool_python() -> PathBuf {
    match resolve_python(Provision::CreateVenv) {
        Ok(p) => p,
        Err(e) => panic!("no Python for the local pool: {e}"),
    }
}

/// The same interpreter, with the other projects' published clients installed at the versions
/// `.ci/requirements-clients.txt` pins, installing them when one is missing or at another
/// version. Checked (and installed) once per test process.
pub fn python_with_other_clients() -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    READY
        .get_or_init(|| {
            let python = pool_python();
            let reqs =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.ci/requirements-clients.txt");
            if !has_pinned_versions(&python, &reqs) {
                install_requirements(&python, &reqs);
            }
            python
        })
        .clone()
}

/// The script that drives the other projects' clients (`tests/python/other_clients.py`).
pub const OTHER_CLIENTS_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/python/other_clients.py");

/// A hung client must fail its test, not the CI run: the slowest client takes a few seconds.
pub const CLIENT_DEADLINE: Duration = Duration::from_secs(180);

/// Run the clients of `kind` (see the script's usage) against `endpoint`, unmodified, with `env`
/// added to their environment (how a user tells them to trust the pool's CA), and require them
/// to pass within [`CLIENT_DEADLINE`]. Returns their JSON line.
pub async fn run_other_clients(kind: &str, endpoint: &str, env: &[(&str, &Path)]) -> String {
    let mut command = tokio::process::Command::new(python_with_other_clients());
    command
        .arg(OTHER_CLIENTS_SCRIPT)
        .arg(kind)
        .arg(endpoint)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(CLIENT_DEADLINE, command.output())
        .await
        .unwrap_or_else(|_| panic!("the {kind} clients took longer than {CLIENT_DEADLINE:?}"))
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && stdout.contains("\"ok\""),
        "the {kind} clients failed against {endpoint}\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Whether every `name==version` pin in `reqs` is installed for `python`, read from the
/// installed distributions' metadata (importing the clients would take seconds).
fn has_pinned_versions(python: &std::path::Path, reqs: &std::path::Path) -> bool {
    // A missing distribution raises, which fails the check as a wrong version does.
    const CHECK: &str = r#"import importlib.metadata as m, re, sys
for line in open(sys.argv[1]):
    pin = re.match(r'\s*([A-Za-z0-9_.-]+)(\[[^]]*\])?==(\S+)', line)
    if pin and m.version(pin[1]) != pin[3]:
        sys.exit(1)"#;
    Command::new(python)
        .args(["-c", CHECK])
        .arg(reqs)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn install_requirements(python: &std::path::Path, reqs: &std::path::Path) {
    let out = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(reqs)
        .output()
        .expect("running pip");
    assert!(
        out.status.success(),
        "could not install the other clients into {}: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Entries per page of the suites' pools: small, so that every list the client makes
/// follows `nextLink` pages.
pub const PAGE_SIZE: usize = 2;

/// An emulator builder with the suites' defaults: the pool interpreter, one pre-warmed session,
/// pages of [`PAGE_SIZE`] entries.
pub fn pool() -> EmulatorBuilder {
    Emulator::builder()
        .python(pool_python())
        .prewarm(1)
        .page_size(PAGE_SIZE)
}

/// Start `builder`, panicking with the reason when the pool cannot start.
pub async fn start(builder: EmulatorBuilder) -> EmulatorHandle {
    builder.start().await.expect("start the local pool")
}

/// A client of the pool at `endpoint` without auth, at `version`.
pub fn client(endpoint: &str, version: ApiVersion) -> Client {
    Client::builder(endpoint)
        .no_auth()
        .api_version(version)
        .build()
        .expect("build the client")
}

/// The API error's status, panicking with the error when it is something else.
pub fn api_status(err: &Error) -> u16 {
    match err.as_api() {
        Some(api) => api.status.as_u16(),
        None => panic!("expected an API error, got {err:?}"),
    }
}

/// Panic unless `err` is [`Error::InvalidInput`].
pub fn assert_invalid_input(err: &Error, what: &str) {
    assert!(
        matches!(err, Error::InvalidInput(_)),
        "{what}: expected InvalidInput, got {err:?}"
    );
}

/// A streaming checksum (64-bit FNV-1a) with a length, to compare large contents without
/// holding them in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checksum {
    hash: u64,
    len: u64,
}

impl Default for Checksum {
    fn default() -> Self {
        Checksum {
            hash: 0xcbf2_9ce4_8422_2325,
            len: 0,
        }
    }
}

impl Checksum {
    /// Feed more bytes.
    pub fn update(&mut self, data: &[u8]) {
        for b in data {
            self.hash ^= u64::from(*b);
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.len += data.len() as u64;
    }

    /// The checksum of a whole file, read in chunks.
    pub fn of_file(path: &std::path::Path) -> std::io::Result<Checksum> {
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut sum = Checksum::default();
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                return Ok(sum);
            }
            sum.update(&buf[..n]);
        }
    }

    /// The number of bytes fed.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no bytes were fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
