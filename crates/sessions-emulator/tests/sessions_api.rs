//! Session lifecycle: shapes of session/listSessions/.management, delete, cooldown, the
//! concurrent-session limit, many sessions at once.

mod common;

use common::*;
use std::time::Duration;

fn redact_session(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["createdAt", "lastAccessedAt", "expireAt", "expiresAt"] {
            if m.contains_key(k) {
                m.insert(k.into(), serde_json::json!("[time]"));
            }
        }
        if m.contains_key("etag") {
            m.insert("etag".into(), serde_json::json!("[etag]"));
        }
    }
    v
}

#[tokio::test]
async fn session_shapes_and_delete() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_2502}&identifier=session-shapes");
    let r = emu.get(&format!("session?{q}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    insta::assert_json_snapshot!("session_get", redact_session(&first));

    let r = emu.get(&format!("listSessions?api-version={V_2502}")).await;
    let mut list = r.json();
    list["sessions"][0] = redact_session(&list["sessions"][0]);
    insta::assert_json_snapshot!("session_list", list);

    let r = emu
        .post_empty(&format!(
            ".management/getSession?api-version={V_LEGACY}&identifier=session-shapes"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["etag"], first["etag"]);
    insta::assert_json_snapshot!("management_get_session", redact_session(&r.json()));

    let r = emu
        .post_empty(&format!(".management/listSessions?api-version={V_2502}"))
        .await;
    let mut list = r.json();
    list["value"][0] = redact_session(&list["value"][0]);
    insta::assert_json_snapshot!("management_list_sessions", list);

    let r = emu.delete(&format!("session?{q}")).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    emu.post_empty(&format!(
        ".management/getSession?api-version={V_LEGACY}&identifier=session-shapes"
    ))
    .await
    .assert_error(400, "SessionWithIdentifierNotFound");
    // reusing the identifier gives a new, empty session
    let r = emu.get(&format!("session?{q}")).await;
    assert_ne!(r.json()["etag"], first["etag"]);

    let r = emu
        .post_empty(&format!(
            ".management/stopSession?api-version={V_2502}&identifier=session-shapes"
        ))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "Session session-shapes in session pool local stopped."
    );
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    emu.post_empty(&format!(
        ".management/stopSession?api-version={V_2502}&identifier=session-shapes"
    ))
    .await
    .assert_error(400, "SessionWithIdentifierNotFound");
    emu.stop().await;
}

#[tokio::test]
async fn files_do_not_survive_a_delete() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_CURRENT}&identifier=deleted-files");
    emu.upload(&format!("files?{q}"), "a.txt", b"a").await;
    assert_eq!(emu.delete(&format!("session?{q}")).await.status, 204);
    let r = emu.get(&format!("files?{q}")).await;
    assert_eq!(r.json()["value"], serde_json::json!([]));
    emu.stop().await;
}

#[tokio::test]
async fn the_session_limit_gives_429() {
    let emu = start(builder().max_sessions(2)).await;
    for id in ["limit-1", "limit-2"] {
        let r = emu
            .get(&format!("files?api-version={V_CURRENT}&identifier={id}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = emu
        .get(&format!("files?api-version={V_CURRENT}&identifier=limit-3"))
        .await;
    r.assert_error(429, "SessionPoolCapacityExceeded");
    insta::assert_json_snapshot!("error_pool_full", r.json());
    // existing sessions still work; freeing one makes room
    assert_eq!(
        emu.get(&format!("files?api-version={V_CURRENT}&identifier=limit-1"))
            .await
            .status,
        200
    );
    assert_eq!(
        emu.delete(&format!("session?api-version={V_2502}&identifier=limit-1"))
            .await
            .status,
        204
    );
    assert_eq!(
        emu.get(&format!("files?api-version={V_CURRENT}&identifier=limit-3"))
            .await
            .status,
        200
    );
    emu.stop().await;
}

#[tokio::test]
async fn idle_sessions_expire_after_the_cooldown() {
    let emu = start(
        builder()
            .cooldown(Duration::from_secs(1))
            .reap_interval(Duration::from_millis(50)),
    )
    .await;
    let q = format!("api-version={V_CURRENT}&identifier=cooldown-1");
    emu.upload(&format!("files?{q}"), "a.txt", b"a").await;
    let get = format!(".management/getSession?api-version={V_LEGACY}&identifier=cooldown-1");
    assert_eq!(emu.post_empty(&get).await.status, 200);
    // getSession does not touch the session; wait (bounded) until the reaper frees it
    let mut gone = false;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if emu.post_empty(&get).await.status == 400 {
            gone = true;
            break;
        }
    }
    assert!(gone, "the session was not reclaimed");
    let r = emu.get(&format!("files?{q}")).await;
    assert_eq!(
        r.json()["value"],
        serde_json::json!([]),
        "a new session is empty"
    );
    emu.stop().await;
}

#[tokio::test]
async fn many_sessions_at_once() {
    let emu = std::sync::Arc::new(start(builder().prewarm(4)).await);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let emu = emu.clone();
        tasks.push(tokio::spawn(async move {
            let q = format!("api-version={V_CURRENT}&identifier=many-{i:03}");
            let body = format!("session {i}");
            let r = emu
                .upload(&format!("files?{q}"), "own.txt", body.as_bytes())
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            let r = emu.get(&format!("files/own.txt/content?{q}")).await;
            assert_eq!(r.text(), body);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = emu
        .get(&format!("listSessions?api-version={V_CURRENT}"))
        .await;
    assert_eq!(r.json()["sessions"].as_array().unwrap().len(), 24);
    let r = emu
        .get(&format!("listSessions?api-version={V_CURRENT}&skip=20"))
        .await;
    assert_eq!(r.json()["sessions"].as_array().unwrap().len(), 4);
    let r = emu
        .post_empty(&format!(
            ".management/listSessions?api-version={V_LEGACY}&limit=10"
        ))
        .await;
    let j = r.json();
    assert_eq!(j["count"], 24);
    assert_eq!(j["value"].as_array().unwrap().len(), 10);
    assert!(j["nextLink"].as_str().unwrap().contains("skip=10"));
}
