//! The client's paging against the pool's pages: with the suites' small page size
//! ([`e2e_tests::PAGE_SIZE`]), file listings and session lists span several `nextLink` pages
//! and come back whole.

use e2e_tests::{PAGE_SIZE, client, pool, start};
use sessions_core::{ApiVersion, ListOptions, Upload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_listings_and_session_lists_span_pages() {
    let pool = start(pool()).await;
    let client = client(pool.endpoint(), ApiVersion::V2025_10_02Preview);
    let count = 3 * PAGE_SIZE + 1;
    let mut identifiers = Vec::new();
    for i in 0..count {
        // Identifiers the definitions allow, e-mail style.
        let session = client.session(format!("pager-{i}@contoso.com")).unwrap();
        session
            .files()
            .upload(Upload::text(format!("f{i}.txt"), "x").in_dir("sub"))
            .await
            .unwrap();
        identifiers.push(session.identifier().to_string());
    }
    let session = client.session(identifiers[0].clone()).unwrap();
    for i in 0..count {
        session
            .files()
            .upload(Upload::text(format!("root{i}.txt"), "y"))
            .await
            .unwrap();
    }

    let root = session.files().list().await.unwrap();
    assert_eq!(root.len(), count + 1, "{root:?}"); // the files and `sub`
    let all = session
        .files()
        .list_with(ListOptions::default().recursive(true))
        .await
        .unwrap();
    assert_eq!(all.len(), count + 2, "{all:?}");
    assert!(
        all.iter().any(|f| f.relative_path() == "sub/f0.txt"),
        "{all:?}"
    );

    let listed = client.list_sessions().await.unwrap();
    let mut got: Vec<_> = listed.iter().map(|s| s.identifier.clone()).collect();
    got.sort();
    identifiers.sort();
    assert_eq!(got, identifiers);
    pool.shutdown().await;
}
