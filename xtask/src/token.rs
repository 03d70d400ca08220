//! Section 3: token refresh under a thundering herd.
//!
//! 1,000 concurrent execute calls on a fresh client whose token cache is cold; the `token_fn`
//! source sleeps a few milliseconds and counts its calls. A single-flight cache fetches once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::bench::{Params, client_runtime};
use crate::canned_server::{CannedServer, IDENT};
use crate::ours::{Auth, Ours};
use crate::report::{Section, Target};

pub const TOKEN_FETCH_DELAY: Duration = Duration::from_millis(5);

pub fn run(params: &Params) -> Section {
    let mut section = Section::new("token", "3. Token refresh (cold cache, concurrent calls)")
        .expect(&[("token_fetches", "", Some(Target::Exactly(1.0)))]);
    let server = match CannedServer::start() {
        Ok(s) => s,
        Err(e) => return section.failed(format!("cannot start the canned server: {e}")),
    };
    let calls = Arc::new(AtomicU64::new(0));
    let rt = client_runtime();
    let n = params.token_calls;
    let result = rt.block_on(async {
        let ours = Ours::new(
            &server.endpoint(),
            Auth::Counting {
                calls: calls.clone(),
                delay: TOKEN_FETCH_DELAY,
            },
        )?;
        let t = Instant::now();
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let o = ours.clone();
                tokio::spawn(async move {
                    o.execute_check(IDENT, "1+1")
                        .await
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        let mut failed = 0usize;
        for task in tasks {
            if !matches!(task.await, Ok(Ok(()))) {
                failed += 1;
            }
        }
        Ok::<_, String>((t.elapsed(), failed))
    });
    match result {
        Err(e) => section.failed(format!("our client is not available: {e}")),
        Ok((elapsed, failed)) => {
            let fetches = calls.load(Ordering::SeqCst);
            section.set(
                "token_fetches",
                Some(fetches as f64),
                format!(
                    "{n} concurrent calls in {:.1} ms, {failed} failed; the source sleeps {} ms",
                    elapsed.as_secs_f64() * 1e3,
                    TOKEN_FETCH_DELAY.as_millis()
                ),
            );
            section.detail("concurrent_calls", n);
            section.detail("failed_calls", failed);
            section.detail("elapsed_ms", elapsed.as_secs_f64() * 1e3);
            section.detail("requests_served", server.requests());
            section
        }
    }
}
