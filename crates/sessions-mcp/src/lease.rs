//! Leases: hand out pool sessions to many users, capped at a capacity, and never leak one.
//!
//! A [`LeasePool`] creates one fresh session per [`Lease`]. At most `capacity` leases are out at
//! once; when the pool is full [`LeasePool::acquire`] waits in arrival order (or fails fast, see
//! [`LeaseConfig::fail_fast`]). A lease deletes its session when it is released, when it has been
//! idle longer than [`LeaseConfig::idle_timeout`], or when it is dropped (the deletion then runs on
//! the current tokio runtime). [`retry_capacity`] retries the pool's `SessionPoolCapacityExceeded`
//! 429s with backoff.
//!
//! Depends only on sessions-core's public API, so it can move into that crate unchanged.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sessions_core::{Client, Error, Session};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// How a [`LeasePool`] hands out sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    /// The most leases out at once (a session pool's `maxConcurrentSessions`).
    pub capacity: usize,
    /// When full: `true` fails at once with [`LeaseError::Full`], `false` waits in order.
    pub fail_fast: bool,
    /// How long a waiting [`LeasePool::acquire`] may wait before [`LeaseError::Timeout`].
    pub acquire_timeout: Option<Duration>,
    /// A lease unused for this long has its session deleted (the next use gets a new one).
    pub idle_timeout: Option<Duration>,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        LeaseConfig {
            capacity: DEFAULT_CAPACITY,
            fail_fast: false,
            acquire_timeout: None,
            idle_timeout: Some(Duration::from_secs(15 * 60)),
        }
    }
}

/// The capacity when neither the user nor the pool's metadata says (Azure's default
/// `maxConcurrentSessions` for a new pool).
pub const DEFAULT_CAPACITY: usize = 10;

/// Why no lease was handed out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LeaseError {
    /// The pool is at capacity and the config says fail fast.
    #[error(
        "all {capacity} sessions are in use; retry later or raise the capacity (--max-sessions)"
    )]
    Full {
        /// The capacity.
        capacity: usize,
    },
    /// Waited longer than `acquire_timeout`.
    #[error("no session became free within {0:?}; retry later or raise the capacity")]
    Timeout(Duration),
    /// The pool was closed.
    #[error("the lease pool is closed")]
    Closed,
}

/// Hands out sessions of one pool, at most `capacity` at once. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LeasePool {
    inner: Arc<PoolInner>,
}

#[derive(Debug)]
struct PoolInner {
    client: Client,
    config: LeaseConfig,
    permits: Arc<Semaphore>,
}

impl LeasePool {
    /// A pool handing out sessions of `client`'s pool.
    pub fn new(client: Client, config: LeaseConfig) -> Self {
        let permits = Arc::new(Semaphore::new(config.capacity.max(1)));
        LeasePool {
            inner: Arc::new(PoolInner {
                client,
                config,
                permits,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.inner.config
    }

    /// How many more leases can be handed out right now.
    pub fn available(&self) -> usize {
        self.inner.permits.available_permits()
    }

    /// A lease on a new session. Waits in order when full (unless fail-fast). Cancel-safe:
    /// dropping the future while it waits takes nothing.
    pub async fn acquire(&self) -> Result<Lease, LeaseError> {
        let permits = self.inner.permits.clone();
        let capacity = self.inner.config.capacity.max(1);
        let permit = if self.inner.config.fail_fast {
            permits.try_acquire_owned().map_err(|e| match e {
                TryAcquireError::NoPermits => LeaseError::Full { capacity },
                TryAcquireError::Closed => LeaseError::Closed,
            })?
        } else {
            let wait = permits.acquire_owned();
            match self.inner.config.acquire_timeout {
                Some(limit) => tokio::time::timeout(limit, wait)
                    .await
                    .map_err(|_| LeaseError::Timeout(limit))?,
                None => wait.await,
            }
            .map_err(|_| LeaseError::Closed)?
        };
        let state = Arc::new(LeaseState {
            session: self.inner.client.new_session(),
            last_used: Mutex::new(Instant::now()),
            released: AtomicBool::new(false),
            permit: Mutex::new(Some(permit)),
        });
        if let Some(idle) = self.inner.config.idle_timeout {
            tokio::spawn(reap_when_idle(Arc::downgrade(&state), idle));
        }
        Ok(Lease { state })
    }
}

/// One session handed out by a [`LeasePool`]; its session is deleted when released or dropped.
#[derive(Debug)]
pub struct Lease {
    state: Arc<LeaseState>,
}

#[derive(Debug)]
struct LeaseState {
    session: Session,
    last_used: Mutex<Instant>,
    released: AtomicBool,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl LeaseState {
    /// Delete the session once, then free the slot (only after the pool has let go of it).
    async fn release(&self) -> Result<(), Error> {
        if self.released.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = delete_session(&self.session).await;
        self.permit.lock().unwrap_or_else(|e| e.into_inner()).take();
        result
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }
}

impl Lease {
    /// The session, or `None` when it was deleted for being idle (acquire a new lease then).
    /// Marks the lease as used now.
    pub fn session(&self) -> Option<&Session> {
        if self.state.released.load(Ordering::Acquire) {
            return None;
        }
        *self
            .state
            .last_used
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Instant::now();
        Some(&self.state.session)
    }

    /// The session's identifier (also after it was deleted).
    pub fn identifier(&self) -> &str {
        self.state.session.identifier()
    }

    /// Whether the session was deleted (released or idle).
    pub fn is_released(&self) -> bool {
        self.state.released.load(Ordering::Acquire)
    }

    /// Delete the session now and free its slot. A session the pool no longer knows is fine.
    pub async fn release(self) -> Result<(), Error> {
        self.state.release().await
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.state.released.load(Ordering::Acquire) {
            return;
        }
        let state = self.state.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    if let Err(e) = state.release().await {
                        tracing::warn!(error = %e, "could not delete a dropped lease's session");
                    }
                });
            }
            // No runtime left: the pool's own expiry deletes the session; the slot is freed.
            Err(_) => {
                state.released.store(true, Ordering::Release);
                tracing::warn!(
                    session = state.session.identifier(),
                    "a lease was dropped outside a tokio runtime; its session expires on its own"
                );
            }
        }
    }
}

async fn reap_when_idle(state: std::sync::Weak<LeaseState>, idle: Duration) {
    loop {
        let wait = match state.upgrade() {
            Some(s) if s.released.load(Ordering::Acquire) => return,
            Some(s) => {
                let idle_for = s.idle_for();
                if idle_for >= idle {
                    if let Err(e) = s.release().await {
                        tracing::warn!(error = %e, "could not delete an idle lease's session");
                    }
                    return;
                }
                idle - idle_for
            }
            None => return,
        };
        tokio::time::sleep(wait).await;
    }
}

/// Delete a session; one that does not exist (never used, already gone) counts as deleted.
async fn delete_session(session: &Session) -> Result<(), Error> {
    match retry_capacity(|| session.delete()).await {
        Err(e) if e.status().map(|s| s.as_u16()) == Some(404) => Ok(()),
        other => other,
    }
}

/// Whether the error is the pool refusing a new session for lack of capacity (nothing ran).
pub fn is_capacity_exceeded(err: &Error) -> bool {
    err.as_api().is_some_and(|api| {
        api.status.as_u16() == 429 && api.code.as_deref() == Some("SessionPoolCapacityExceeded")
    })
}

/// Run `op`, retrying while the pool answers `SessionPoolCapacityExceeded` (a refusal before
/// anything ran, so a retry never runs code twice): up to 6 tries, backoff from 250 ms to 4 s.
pub async fn retry_capacity<T, F, Fut>(mut op: F) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let mut delay = Duration::from_millis(250);
    for _ in 1..6 {
        match op().await {
            Err(e) if is_capacity_exceeded(&e) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(4));
            }
            other => return other,
        }
    }
    op().await
}

/// The pool's session cap from its metadata (`maxConcurrentSessions`, at the top level or under
/// `dynamicPoolConfiguration`/`scaleConfiguration`), when it reports one.
pub fn capacity_from_metadata(raw: &serde_json::Value) -> Option<usize> {
    let keys = ["maxConcurrentSessions", "maxSessions"];
    let candidates = [
        raw,
        &raw["scaleConfiguration"],
        &raw["properties"]["scaleConfiguration"],
    ];
    candidates
        .iter()
        .flat_map(|v| keys.iter().map(move |k| &v[*k]))
        .find_map(|v| v.as_u64())
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn capacity_is_read_from_the_usual_places() {
        assert_eq!(
            capacity_from_metadata(&json!({"maxConcurrentSessions": 20})),
            Some(20)
        );
        assert_eq!(
            capacity_from_metadata(&json!({"scaleConfiguration": {"maxConcurrentSessions": 7}})),
            Some(7)
        );
        assert_eq!(capacity_from_metadata(&json!({"runtimes": []})), None);
        assert_eq!(
            capacity_from_metadata(&json!({"maxConcurrentSessions": 0})),
            None
        );
    }

    fn unreachable_client() -> Client {
        // Port 9 on loopback: nothing listens, so deletes fail fast without touching anything.
        Client::builder("http://127.0.0.1:9")
            .no_auth()
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn fail_fast_refuses_when_full_and_a_release_frees_the_slot() {
        let pool = LeasePool::new(
            unreachable_client(),
            LeaseConfig {
                capacity: 1,
                fail_fast: true,
                ..LeaseConfig::default()
            },
        );
        let lease = pool.acquire().await.unwrap();
        assert_eq!(
            pool.acquire().await.unwrap_err(),
            LeaseError::Full { capacity: 1 }
        );
        let _ = lease.release().await; // the delete fails (nothing listens), the slot is freed
        assert_eq!(pool.available(), 1);
    }

    #[tokio::test]
    async fn a_dropped_waiter_takes_nothing_and_waiters_time_out() {
        let pool = LeasePool::new(
            unreachable_client(),
            LeaseConfig {
                capacity: 1,
                acquire_timeout: Some(Duration::from_millis(50)),
                ..LeaseConfig::default()
            },
        );
        let held = pool.acquire().await.unwrap();
        let waiting = pool.acquire();
        drop(waiting);
        assert_eq!(
            pool.acquire().await.unwrap_err(),
            LeaseError::Timeout(Duration::from_millis(50))
        );
        drop(held);
        // The drop deletes on a spawned task, then frees the slot.
        let lease = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Ok(l) = pool.acquire().await {
                    return l;
                }
            }
        })
        .await
        .unwrap();
        assert!(!lease.is_released());
    }

    #[tokio::test]
    async fn an_idle_lease_loses_its_session() {
        let pool = LeasePool::new(
            unreachable_client(),
            LeaseConfig {
                capacity: 1,
                idle_timeout: Some(Duration::from_millis(30)),
                ..LeaseConfig::default()
            },
        );
        let lease = pool.acquire().await.unwrap();
        assert!(lease.session().is_some());
        tokio::time::timeout(Duration::from_secs(5), async {
            // Deleted, then the slot is freed.
            while pool.available() == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap();
        assert!(lease.is_released());
        assert!(lease.session().is_none());
    }
}
