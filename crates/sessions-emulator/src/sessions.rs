//! Sessions: identifier → allocated interpreter and directory, cooldown reaping, the
//! concurrent-session limit and the per-session store of executions.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use tokio::sync::OnceCell;

use crate::error::{ApiError, codes};
use crate::files::SessionDir;
use crate::runtime::{StopHandle, WarmPool, Worker};
use crate::shapes::{Execution, SessionInfo, SessionView, rfc3339};

/// How many executions a session remembers for `GET executions/{id}`.
const EXECUTIONS_KEPT: usize = 256;
/// Bytes of stored executions one session keeps (oldest evicted first).
const SESSION_STORE_BYTES: u64 = 16 << 20;
/// Bytes of stored executions the whole pool keeps: past it, a session storing a new
/// execution evicts its own oldest ones first.
const POOL_STORE_BYTES: u64 = 256 << 20;

/// An allocated slot: the worker and its directory.
#[derive(Debug)]
pub struct Slot {
    /// The session's data directory.
    pub dir: SessionDir,
    /// The interpreter; `None` once the session was stopped. Lock it to run: calls run in order.
    pub worker: tokio::sync::Mutex<Option<Worker>>,
    /// Ends the interpreter's whole process tree without waiting for a run to finish.
    pub stop: StopHandle,
}

/// One session.
#[derive(Debug)]
pub struct Session {
    /// The identifier.
    pub identifier: String,
    /// A UUID per allocation.
    pub etag: String,
    /// Allocation time.
    pub created_at: SystemTime,
    last_accessed_ms: AtomicU64,
    slot: OnceCell<Slot>,
    executions: Mutex<ExecStore>,
}

#[derive(Debug)]
struct ExecStore {
    map: HashMap<String, (Execution, u64)>,
    order: VecDeque<String>,
    /// Bytes held by this store.
    bytes: u64,
    /// Bytes held by every store of the pool.
    pool_bytes: Arc<AtomicU64>,
}

impl ExecStore {
    fn new(pool_bytes: Arc<AtomicU64>) -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            pool_bytes,
        }
    }

    fn insert(&mut self, exec: Execution) {
        let size = stored_size(&exec);
        let id = exec.id.clone();
        match self.map.insert(id.clone(), (exec, size)) {
            Some((_, old)) => self.release(old),
            None => self.order.push_back(id),
        }
        self.bytes += size;
        self.pool_bytes.fetch_add(size, Ordering::Relaxed);
        while self.order.len() > 1
            && (self.order.len() > EXECUTIONS_KEPT
                || self.bytes > SESSION_STORE_BYTES
                || self.pool_bytes.load(Ordering::Relaxed) > POOL_STORE_BYTES)
        {
            if let Some((_, size)) = self.order.pop_front().and_then(|old| self.map.remove(&old)) {
                self.release(size);
            }
        }
    }

    fn release(&mut self, size: u64) {
        self.bytes = self.bytes.saturating_sub(size);
        self.pool_bytes.fetch_sub(
            size.min(self.pool_bytes.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }
}

impl Drop for ExecStore {
    fn drop(&mut self) {
        let bytes = self.bytes;
        self.release(bytes);
    }
}

/// Approximate memory of a stored execution (its text dominates).
fn stored_size(exec: &Execution) -> u64 {
    let text = exec.result.as_ref().map_or(0, |r| {
        r.stdout.len()
            + r.stderr.len()
            + r.execution_result
                .as_ref()
                .map_or(0, |v| serde_json::to_vec(v).map_or(0, |b| b.len()))
    });
    (text + exec.id.len() + exec.identifier.len() + 128) as u64
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Session {
    /// Mark the session as used now (resets the cooldown).
    pub fn touch(&self) {
        self.last_accessed_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// The last access time.
    pub fn last_accessed(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.last_accessed_ms.load(Ordering::Relaxed))
    }

    /// The allocated slot (always set for sessions handed out by the manager).
    pub fn slot(&self) -> Result<&Slot, ApiError> {
        self.slot
            .get()
            .ok_or_else(|| ApiError::internal("the session is not allocated"))
    }

    /// Remember an execution (replacing one with the same id).
    pub fn store_execution(&self, exec: Execution) {
        let mut store = match self.executions.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        store.insert(exec);
    }

    /// Look an execution up.
    pub fn execution(&self, id: &str) -> Option<Execution> {
        let store = match self.executions.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        store.map.get(id).map(|(e, _)| e.clone())
    }

    fn expire_at(&self, cooldown: Duration) -> SystemTime {
        self.last_accessed() + cooldown
    }

    /// `GET session` shape.
    pub fn info(&self, cooldown: Duration) -> SessionInfo {
        SessionInfo {
            identifier: self.identifier.clone(),
            created_at: rfc3339(self.created_at, 3),
            last_accessed_at: rfc3339(self.last_accessed(), 3),
            expire_at: rfc3339(self.expire_at(cooldown), 3),
            etag: self.etag.clone(),
        }
    }

    /// `.management/getSession` shape.
    pub fn view(&self, cooldown: Duration) -> SessionView {
        SessionView {
            identifier: self.identifier.clone(),
            etag: self.etag.clone(),
            expires_at: rfc3339(self.expire_at(cooldown), 3),
            created_at: rfc3339(self.created_at, 3),
            last_accessed_at: rfc3339(self.last_accessed(), 3),
        }
    }
}

/// The outcome of looking a session up for a session-scoped call.
#[derive(Debug, Clone)]
pub struct Allocation {
    /// The session.
    pub session: Arc<Session>,
    /// True when this call allocated it.
    pub new: bool,
    /// Time spent allocating (zero for an existing session).
    pub took: Duration,
}

/// All sessions of the pool.
#[derive(Debug)]
pub struct SessionManager {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    pool: WarmPool,
    max_sessions: usize,
    cooldown: Duration,
    /// Bytes of stored executions over all sessions.
    stored_bytes: Arc<AtomicU64>,
    /// Sessions removed from the map whose processes are still being ended: they count
    /// against `max_sessions` until nothing of them runs.
    stopping: Arc<AtomicUsize>,
}

impl SessionManager {
    /// Create a manager that allocates from `pool`.
    pub fn new(pool: WarmPool, max_sessions: usize, cooldown: Duration) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            pool,
            max_sessions,
            cooldown,
            stored_bytes: Arc::default(),
            stopping: Arc::default(),
        }
    }

    /// The idle cooldown.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        match self.sessions.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        }
    }

    /// Look up a session without allocating.
    pub fn get(&self, identifier: &str) -> Option<Arc<Session>> {
        self.map()
            .get(identifier)
            .filter(|s| s.slot.initialized())
            .cloned()
    }

    /// Get or allocate the session for `identifier`, touching it.
    pub async fn get_or_allocate(&self, identifier: &str) -> Result<Allocation, ApiError> {
        let session = {
            let mut map = self.map();
            match map.get(identifier) {
                Some(s) => s.clone(),
                None => {
                    if map.len() + self.stopping.load(Ordering::SeqCst) >= self.max_sessions {
                        return Err(ApiError::new(
                            StatusCode::TOO_MANY_REQUESTS,
                            codes::POOL_FULL,
                            format!(
                                "The session pool has reached its maximum of {} concurrent sessions.",
                                self.max_sessions
                            ),
                        ));
                    }
                    let s = Arc::new(Session {
                        identifier: identifier.to_string(),
                        etag: uuid::Uuid::new_v4().to_string(),
                        created_at: SystemTime::now(),
                        last_accessed_ms: AtomicU64::new(now_ms()),
                        slot: OnceCell::new(),
                        executions: Mutex::new(ExecStore::new(self.stored_bytes.clone())),
                    });
                    map.insert(identifier.to_string(), s.clone());
                    s
                }
            }
        };
        session.touch();
        if session.slot.initialized() {
            return Ok(Allocation {
                session,
                new: false,
                took: Duration::ZERO,
            });
        }
        let start = Instant::now();
        let mut allocated_here = false;
        let flag = &mut allocated_here;
        let pool = &self.pool;
        let init = session
            .slot
            .get_or_try_init(|| async move {
                *flag = true;
                let (worker, dir) = pool.acquire().await.map_err(|e| {
                    ApiError::internal(format!("could not allocate a session: {e}"))
                })?;
                let dir = match SessionDir::new(&dir) {
                    Ok(d) => d,
                    Err(e) => {
                        worker.shutdown().await;
                        return Err(ApiError::internal(format!(
                            "the session directory is unusable: {e}"
                        )));
                    }
                };
                Ok(Slot {
                    dir,
                    stop: worker.stop_handle(),
                    worker: tokio::sync::Mutex::new(Some(worker)),
                })
            })
            .await;
        match init {
            Ok(_) => Ok(Allocation {
                session,
                new: allocated_here,
                took: start.elapsed(),
            }),
            Err(e) => {
                let mut map = self.map();
                if map
                    .get(identifier)
                    .is_some_and(|s| Arc::ptr_eq(s, &session))
                {
                    map.remove(identifier);
                }
                Err(e)
            }
        }
    }

    /// Remove a session and end its whole process tree at once, returning when nothing of
    /// it runs any more (its slot is then free). Returns whether it existed.
    pub async fn remove(&self, identifier: &str) -> bool {
        let removed = self.map().remove(identifier);
        match removed {
            Some(s) => {
                let _ = self.stop_in_background(s).await;
                true
            }
            None => false,
        }
    }

    /// End a removed session's processes now and clean up in a task (which the caller may
    /// await); its slot counts against `max_sessions` until nothing of it runs.
    fn stop_in_background(&self, session: Arc<Session>) -> tokio::task::JoinHandle<()> {
        if let Some(slot) = session.slot.get() {
            slot.stop.stop();
        }
        self.stopping.fetch_add(1, Ordering::SeqCst);
        let stopping = Arc::clone(&self.stopping);
        tokio::spawn(async move {
            stop_session(session).await;
            stopping.fetch_sub(1, Ordering::SeqCst);
        })
    }

    /// All allocated sessions, sorted by creation time then identifier.
    pub fn all(&self) -> Vec<Arc<Session>> {
        let mut v: Vec<_> = self
            .map()
            .values()
            .filter(|s| s.slot.initialized())
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.created_at, &a.identifier).cmp(&(b.created_at, &b.identifier)));
        v
    }

    /// Number of sessions (allocated or allocating).
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Remove sessions idle for longer than the cooldown (not while they run code).
    pub fn reap(&self) -> usize {
        let now = SystemTime::now();
        let expired: Vec<Arc<Session>> = {
            let mut map = self.map();
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, s)| s.slot.initialized() && s.expire_at(self.cooldown) <= now)
                .filter(|(_, s)| {
                    s.slot
                        .get()
                        .is_some_and(|slot| slot.worker.try_lock().is_ok())
                })
                .map(|(k, _)| k.clone())
                .collect();
            ids.iter().filter_map(|k| map.remove(k)).collect()
        };
        let n = expired.len();
        for s in expired {
            tracing::debug!(identifier = %s.identifier, "session expired after cooldown");
            drop(self.stop_in_background(s));
        }
        n
    }

    /// Stop every session and the warm pool (on shutdown).
    pub async fn shutdown(&self) {
        let all: Vec<Arc<Session>> = self.map().drain().map(|(_, s)| s).collect();
        for s in &all {
            if let Some(slot) = s.slot.get() {
                slot.stop.stop();
            }
        }
        for s in all {
            stop_session(s).await;
        }
        self.pool.shutdown().await;
    }
}

/// Stop a session's worker and delete its directory.
async fn stop_session(session: Arc<Session>) {
    let Some(slot) = session.slot.get() else {
        return;
    };
    let worker = slot.worker.lock().await.take();
    if let Some(w) = worker {
        w.shutdown().await;
    }
    let dir: PathBuf = slot.dir.root().to_path_buf();
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), "could not remove a session directory: {e}");
    }
}

/// Run the reaper until the manager is dropped.
pub fn spawn_reaper(manager: &Arc<SessionManager>, every: Duration) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(manager);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(m) = weak.upgrade() else { break };
            m.reap();
        }
    })
}
