//! Bearer auth, the pool's session limit, many sessions at once, and concurrent calls on one
//! session.

use std::time::Duration;

use e2e_tests::{api_status, client, pool, start};
use futures_util::future::join_all;
use serde_json::json;
use sessions_core::{ApiVersion, Client, ExecutionResult, ExecutionStatus, RetryConfig};
use sessions_emulator::AuthMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_mode_needs_a_token() {
    let pool = start(pool().auth(AuthMode::Bearer)).await;
    for version in [
        ApiVersion::V2024_02_02Preview,
        ApiVersion::V2025_10_02Preview,
    ] {
        let with_token = Client::builder(pool.endpoint())
            .static_token("x")
            .api_version(version)
            .build()
            .unwrap();
        let session = with_token.new_session();
        let run = session.execute("1 + 1").await.unwrap();
        assert_eq!(run.result, ExecutionResult::Value(json!(2)), "{version}");
        assert!(session.files().list().await.unwrap().is_empty());

        let without = client(pool.endpoint(), version);
        let err = without
            .session(session.identifier())
            .unwrap()
            .execute("1")
            .await
            .unwrap_err();
        assert_eq!(api_status(&err), 401, "{version}: {err}");
        let hint = err.as_api().unwrap().hint().expect("a 401 hint");
        assert!(
            hint.contains("https://dynamicsessions.io/.default"),
            "{hint}"
        );
        assert!(
            err.to_string()
                .contains("https://dynamicsessions.io/.default"),
            "{err}"
        );
        let err = without.list_sessions().await.unwrap_err();
        assert_eq!(api_status(&err), 401, "{version}: {err}");
    }
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_limit_is_a_429_until_a_session_is_deleted() {
    let pool = start(pool().max_sessions(2)).await;
    let client = Client::builder(pool.endpoint())
        .no_auth()
        .retry(
            RetryConfig::default()
                .max_attempts(2)
                .base_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap();
    let (a, b, c) = (
        client.new_session(),
        client.new_session(),
        client.new_session(),
    );
    a.execute("1").await.unwrap();
    b.execute("2").await.unwrap();

    let err = c.execute("3").await.unwrap_err();
    assert_eq!(api_status(&err), 429, "{err}");
    assert!(
        err.as_api()
            .unwrap()
            .hint()
            .is_some_and(|h| h.contains("delete")),
        "{err}"
    );
    // Existing sessions keep working at the limit.
    assert!(b.execute("'still'").await.unwrap().succeeded());
    let err = c.files().list().await.unwrap_err();
    assert_eq!(api_status(&err), 429, "{err}");

    a.delete().await.unwrap();
    let run = c.execute("3").await.unwrap();
    assert_eq!(run.result, ExecutionResult::Value(json!(3)));
    // Now `a` would be the third.
    let err = a.execute("1").await.unwrap_err();
    assert_eq!(api_status(&err), 429, "{err}");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sessions_at_once_keep_separate_state() {
    const N: usize = 12;
    let pool = start(pool().prewarm(2)).await;
    let client = client(pool.endpoint(), ApiVersion::V2025_10_02Preview);
    let sessions: Vec<_> = (0..N)
        .map(|i| client.session(format!("many-{i:02}")).unwrap())
        .collect();

    let runs = join_all(sessions.iter().enumerate().map(|(i, s)| async move {
        s.execute(format!(
            "mine = {i}\nimport os\nopen('/mnt/data/who.txt', 'w').write('{i}')\nmine"
        ))
        .await
    }))
    .await;
    for (i, run) in runs.into_iter().enumerate() {
        assert_eq!(
            run.unwrap().result,
            ExecutionResult::Value(json!(i)),
            "session {i}"
        );
    }
    let runs = join_all(sessions.iter().map(|s| async move {
        s.execute("[mine * 10, open('/mnt/data/who.txt').read(), os.listdir('/mnt/data')]")
            .await
    }))
    .await;
    for (i, run) in runs.into_iter().enumerate() {
        let run = run.unwrap();
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!([i * 10, i.to_string(), ["who.txt"]])),
            "session {i}"
        );
    }
    let listed = client.list_sessions().await.unwrap();
    for s in &sessions {
        assert!(
            listed.iter().any(|l| l.identifier == s.identifier()),
            "{}",
            s.identifier()
        );
    }
    join_all(sessions.iter().map(|s| s.delete()))
        .await
        .into_iter()
        .for_each(|r| r.unwrap());
    assert!(
        client
            .list_sessions()
            .await
            .unwrap()
            .iter()
            .all(|l| !l.identifier.starts_with("many-"))
    );
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_on_one_session_all_apply() {
    const N: usize = 16;
    let pool = start(pool()).await;
    let session = client(pool.endpoint(), ApiVersion::V2025_10_02Preview).new_session();
    session.execute("x = 0\nseen = []").await.unwrap();
    let runs = join_all((0..N).map(|i| {
        let session = session.clone();
        async move {
            session
                .execute(format!("x += 1\nseen.append({i})\nx"))
                .await
        }
    }))
    .await;
    let mut values: Vec<i64> = runs
        .into_iter()
        .map(|r| {
            let run = r.unwrap();
            assert_eq!(run.status, ExecutionStatus::Succeeded, "{run:?}");
            run.result
                .as_value()
                .and_then(|v| v.as_i64())
                .expect("an int")
        })
        .collect();
    values.sort_unstable();
    // Every call saw a distinct count: they ran one at a time, none lost.
    assert_eq!(values, (1..=N as i64).collect::<Vec<_>>());
    let run = session
        .execute("[x, sorted(seen) == list(range(16)), len(seen)]")
        .await
        .unwrap();
    assert_eq!(run.result, ExecutionResult::Value(json!([N, true, N])));
    pool.shutdown().await;
}
