//! Through our client: a session cannot read another session's files, neither from its code
//! (`..`, the other's absolute host path, symbolic links it plants) nor through the file API
//! (another session's name, traversal in the name or `path`, links followed on the host side).

use std::path::{Path, PathBuf};

use e2e_tests::{api_status, assert_invalid_input, client, pool, start};
use http_body_util::BodyExt;
use serde_json::json;
use sessions_core::{ApiVersion, Body, ExecutionResult, ListOptions, Upload};

const SECRET: &str = "TOP-SECRET-of-b";

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
        if entry.file_type().ok()?.is_dir()
            && let Some(found) = find(&path, name)
        {
            return Some(found);
        }
    }
    None
}

/// Python that returns the text at `path`, or "denied" when it cannot be read.
fn try_read(path: &str) -> String {
    format!("try:\n    r = open({path:?}).read()\nexcept OSError:\n    r = 'denied'\nr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cannot_read_another_sessions_files() {
    let data = tempfile::tempdir().unwrap();
    let pool = start(pool().data_dir(data.path())).await;
    let client = client(pool.endpoint(), ApiVersion::V2025_10_02Preview);
    let victim = client.session("victim-b").unwrap();
    let attacker = client.session("attacker-a").unwrap();

    victim
        .files()
        .upload(Upload::text("secret-b.txt", SECRET))
        .await
        .unwrap();
    attacker
        .files()
        .upload(Upload::text("mine.txt", "a"))
        .await
        .unwrap();
    let secret = find(data.path(), "secret-b.txt").expect("the victim's file on disk");
    let victim_dir = secret.parent().unwrap().to_path_buf();
    let attacker_dir = find(data.path(), "mine.txt")
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    assert_ne!(victim_dir, attacker_dir);
    let victim_slot = victim_dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let host_abs = secret.display().to_string();
    let relative = format!("../{victim_slot}/secret-b.txt");

    // From code: the other session's host path, `..` from /mnt/data, and guesses.
    for path in [
        host_abs.clone(),
        format!("/mnt/data/{relative}"),
        relative.clone(),
        format!("/mnt/{victim_slot}/secret-b.txt"),
    ] {
        let run = attacker.execute(try_read(&path)).await.unwrap();
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!("denied")),
            "{path}: {run:?}"
        );
    }
    let run = attacker
        .execute("import os\nsorted(os.listdir('/mnt/data/..'))")
        .await
        .unwrap();
    let listing = run.result.as_value().unwrap().to_string();
    assert!(
        !listing.contains(&victim_slot),
        "the attacker sees the victim's slot: {listing}"
    );

    // Links planted by code resolve inside the attacker's sandbox, from code and from the API.
    let plant = format!(
        "import os\nos.symlink({host_abs:?}, '/mnt/data/link-abs')\nos.symlink({relative:?}, '/mnt/data/link-rel')\nos.symlink('/mnt/data/../{victim_slot}', '/mnt/data/link-dir')"
    );
    let run = attacker.execute(plant).await.unwrap();
    assert!(run.succeeded(), "{run:?}");
    for link in ["link-abs", "link-rel", "link-dir/secret-b.txt"] {
        let run = attacker
            .execute(try_read(&format!("/mnt/data/{link}")))
            .await
            .unwrap();
        assert_eq!(
            run.result,
            ExecutionResult::Value(json!("denied")),
            "{link}: {run:?}"
        );

        match attacker.files().download_bytes(link).await {
            Ok(bytes) => panic!("{link} was served: {:?}", String::from_utf8_lossy(&bytes)),
            Err(e) => {
                let status = api_status(&e);
                assert!(status == 400 || status == 404, "{link}: {e}");
                assert!(!e.to_string().contains(SECRET), "{link}: {e}");
            }
        }
    }
    if let Ok(info) = attacker.files().get("link-abs").await {
        assert_ne!(
            info.size,
            Some(SECRET.len() as u64),
            "the link's target leaked its size: {info:?}"
        );
    }
    if let Ok(list) = attacker
        .files()
        .list_with(ListOptions::default().path("link-dir"))
        .await
    {
        assert!(list.iter().all(|f| f.name != "secret-b.txt"), "{list:?}");
    }
    // Writing through a planted link must not reach the victim either.
    let _ = attacker
        .files()
        .upload(Upload::text("link-rel", "overwritten"))
        .await;
    let _ = attacker
        .files()
        .upload(Upload::text("pwn.txt", "x").in_dir("link-dir"))
        .await;
    assert_eq!(
        std::fs::read_to_string(&secret).unwrap(),
        SECRET,
        "the victim's file was changed"
    );
    assert!(
        !victim_dir.join("pwn.txt").exists(),
        "a file was written into the victim's directory"
    );

    // Through the file API: the victim's name is simply absent for the attacker.
    let err = attacker
        .files()
        .download_bytes("secret-b.txt")
        .await
        .unwrap_err();
    assert_eq!(api_status(&err), 404, "{err}");
    let err = attacker.files().get("secret-b.txt").await.unwrap_err();
    assert_eq!(api_status(&err), 404, "{err}");
    assert!(
        attacker
            .files()
            .list()
            .await
            .unwrap()
            .iter()
            .all(|f| f.name != "secret-b.txt")
    );

    // Traversal in names is refused by the client before sending...
    for name in [relative.as_str(), host_abs.as_str(), "/mnt/data/../x"] {
        let e = attacker.files().download_bytes(name).await.unwrap_err();
        assert_invalid_input(&e, name);
    }
    // ...and by the pool when sent anyway (encoded slashes, `path`), through the pass-through.
    let v = "api-version=2025-10-02-preview";
    for raw in [
        format!("files/..%2F{victim_slot}%2Fsecret-b.txt/content?{v}"),
        format!("files/secret-b.txt/content?{v}&path=..%2F{victim_slot}"),
        format!("files/secret-b.txt/content?{v}&path=%2Fmnt%2Fdata%2F..%2F{victim_slot}"),
        format!("files/{}/content?{v}", host_abs.replace('/', "%2F")),
        format!("files?{v}&path=..%2F{victim_slot}"),
        format!("files/content/..%2F{victim_slot}%2Fsecret-b.txt?api-version=2024-02-02-preview"),
    ] {
        let response = attacker
            .request(http::Method::GET, &raw, Body::empty())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(status == 400 || status == 404, "{raw}: {status} {text}");
        assert!(!text.contains(SECRET), "{raw}: leaked {text}");
    }

    // The victim still has its file.
    assert_eq!(
        &victim.files().download_bytes("secret-b.txt").await.unwrap()[..],
        SECRET.as_bytes()
    );
    pool.shutdown().await;
}
