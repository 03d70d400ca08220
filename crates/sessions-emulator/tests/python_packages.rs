//! Start-up tells when the pool's interpreter lacks the data packages, and
//! `provision_python` gives one that has them.

mod common;

use sessions_emulator::{Emulator, PoolType};

/// A fresh virtual environment without system packages: none of numpy, pandas, matplotlib.
fn bare_python(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let venv = dir.path().join("bare");
    let made = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .expect("python3 runs");
    assert!(made.success(), "python3 -m venv --without-pip");
    venv.join("bin").join("python3")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_on_a_bare_interpreter_names_the_missing_packages() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Emulator::builder()
        .python(bare_python(&dir))
        .prewarm(0)
        .start()
        .await
        .unwrap();
    assert_eq!(pool.missing_packages(), ["numpy", "pandas", "matplotlib"]);
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_gives_an_interpreter_with_the_data_packages() {
    // The suite's interpreter ($SESSIONS_EMULATOR_PYTHON, or the workspace .venv) has them;
    // provisioning finds it instead of the bare one named first.
    let _ = common::python();
    let pool = Emulator::builder()
        .python("/nonexistent/python3")
        .provision_python()
        .prewarm(0)
        .start()
        .await
        .unwrap();
    assert!(
        pool.missing_packages().is_empty(),
        "{:?}",
        pool.missing_packages()
    );
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_pools_do_not_check_python_packages() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Emulator::builder()
        .pool_type(PoolType::Shell)
        .python(bare_python(&dir))
        .prewarm(0)
        .start()
        .await
        .unwrap();
    assert!(pool.missing_packages().is_empty());
    pool.shutdown().await;
}
