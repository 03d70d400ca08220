//! Leases on a real local pool: 200 users on a pool capped at 20, none refused, none leaked,
//! and a lease whose future is dropped mid-call still deletes its session.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sessions_emulator::PoolType;
use sessions_mcp::lease::{LeaseConfig, LeasePool};
use support::*;

const CAP: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_users_share_twenty_sessions_without_errors_or_leaks() {
    let pool = pool(PoolType::Shell, CAP).await;
    let leases = LeasePool::new(
        client(&pool),
        LeaseConfig {
            capacity: CAP,
            ..LeaseConfig::default()
        },
    );
    let (in_use, peak, errors) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let users: Vec<_> = (0..200)
        .map(|user| {
            let (leases, in_use, peak, errors) =
                (leases.clone(), in_use.clone(), peak.clone(), errors.clone());
            tokio::spawn(async move {
                let lease = leases.acquire().await.unwrap();
                let now = in_use.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let session = lease.session().unwrap().clone();
                for call in 0..5 {
                    let run = session.shell(format!("echo {user}-{call}")).await;
                    if !run.is_ok_and(|r| r.stdout.trim() == format!("{user}-{call}")) {
                        errors.fetch_add(1, Ordering::SeqCst);
                    }
                }
                in_use.fetch_sub(1, Ordering::SeqCst);
                lease.release().await.unwrap();
            })
        })
        .collect();
    for user in users {
        tokio::time::timeout(Duration::from_secs(120), user)
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(errors.load(Ordering::SeqCst), 0, "lease_errors");
    assert!(peak.load(Ordering::SeqCst) <= CAP);
    assert!(
        client(&pool).list_sessions().await.unwrap().is_empty(),
        "leaked_sessions"
    );
    assert_eq!(leases.available(), CAP);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_dropped_with_its_future_deletes_its_session() {
    let pool = pool(PoolType::Shell, CAP).await;
    let leases = LeasePool::new(client(&pool), LeaseConfig::default());
    let task = {
        let leases = leases.clone();
        tokio::spawn(async move {
            let lease = leases.acquire().await.unwrap();
            let session = lease.session().unwrap().clone();
            session.shell("echo up").await.unwrap();
            session.shell("sleep 30").await.ok(); // aborted here, holding the lease
            drop(lease);
        })
    };
    let c = client(&pool);
    for _ in 0..100 {
        if c.list_sessions().await.unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.list_sessions().await.unwrap().len(), 1);
    task.abort();
    let _ = task.await;
    for _ in 0..100 {
        if c.list_sessions().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        c.list_sessions().await.unwrap().is_empty(),
        "the dropped lease leaked"
    );
}
