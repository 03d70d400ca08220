//! Pre-started workers with fresh slot directories, refilled in the background.
//!
//! Everything a session needs is prepared here, off the allocation path: the worker, its
//! directory and the directory's handle (taking a ready worker is then a queue pop).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Runtime, RuntimeError, Worker};
use crate::files::SessionDir;

/// Shared state of a `WarmPool`.
#[derive(Debug)]
pub(crate) struct PoolInner {
    runtime: Runtime,
    data_root: PathBuf,
    size: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    idle: VecDeque<(Worker, SessionDir)>,
    /// Workers being started by refill tasks.
    starting: usize,
    closed: bool,
}

impl PoolInner {
    pub(crate) fn new(runtime: Runtime, data_root: PathBuf, size: usize) -> Arc<PoolInner> {
        let inner = Arc::new(PoolInner {
            runtime,
            data_root,
            size,
            state: Mutex::new(State::default()),
        });
        refill(&inner);
        inner
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked: every update is one step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Start enough workers in the background to bring the pool back to `size`.
/// Without a tokio runtime (e.g. `new` called outside one) this waits for the next acquire.
pub(crate) fn refill(inner: &Arc<PoolInner>) {
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let missing = {
        let mut s = inner.lock();
        if s.closed {
            return;
        }
        let missing = inner.size.saturating_sub(s.idle.len() + s.starting);
        s.starting += missing;
        missing
    };
    for _ in 0..missing {
        let inner = Arc::clone(inner);
        handle.spawn(async move {
            let started = start_one(&inner).await;
            let leftover = {
                let mut s = inner.lock();
                s.starting = s.starting.saturating_sub(1);
                match started {
                    Ok(ready) if !s.closed => {
                        s.idle.push_back(ready);
                        None
                    }
                    Ok(ready) => Some(ready),
                    Err(e) => {
                        tracing::warn!(error = %e, "warm pool could not start a worker");
                        None
                    }
                }
            };
            if let Some((worker, dir)) = leftover {
                discard(worker, dir).await;
            }
        });
    }
}

/// Create a fresh slot directory, start a worker in it and open the directory's handle.
pub(crate) async fn start_one(inner: &PoolInner) -> Result<(Worker, SessionDir), RuntimeError> {
    let dir = inner.data_root.join(uuid::Uuid::new_v4().to_string());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| RuntimeError::Spawn(format!("slot directory {}: {e}", dir.display())))?;
    let worker = match inner.runtime.spawn(&dir).await {
        Ok(worker) => worker,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    match SessionDir::new(&dir) {
        Ok(handle) => Ok((worker, handle)),
        Err(e) => {
            worker.shutdown().await;
            let _ = tokio::fs::remove_dir_all(&dir).await;
            Err(RuntimeError::Spawn(format!(
                "slot directory {} is unusable: {e}",
                dir.display()
            )))
        }
    }
}

/// Take an idle worker, or start one now when none is ready.
pub(crate) async fn acquire(inner: &Arc<PoolInner>) -> Result<(Worker, SessionDir), RuntimeError> {
    let ready = inner.lock().idle.pop_front();
    refill(inner);
    match ready {
        Some(ready) => Ok(ready),
        None => start_one(inner).await,
    }
}

/// Stop idle workers and remove their (unused) slot directories.
pub(crate) async fn shutdown(inner: &PoolInner) {
    let idle: Vec<_> = {
        let mut s = inner.lock();
        s.closed = true;
        s.idle.drain(..).collect()
    };
    for (worker, dir) in idle {
        discard(worker, dir).await;
    }
}

async fn discard(worker: Worker, dir: SessionDir) {
    worker.shutdown().await;
    let _ = tokio::fs::remove_dir_all(dir.root()).await;
}
