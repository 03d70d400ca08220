//! Paging of file listings and session lists: a configured page size, absolute `nextLink`s
//! that keep the request's parameters, and `skip`.

mod common;

use common::*;
use serde_json::Value;

/// Follow `nextLink` from `first` (bounded), returning every page's `key` items.
async fn all_pages(emu: &Emu, first: &str, key: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut rel = first.to_string();
    for pages in 1..=50 {
        let r = emu.get(&rel).await;
        assert_eq!(r.status, 200, "{rel}: {}", r.text());
        let j = r.json();
        items.extend(j[key].as_array().unwrap().iter().cloned());
        match j["nextLink"].as_str() {
            Some(link) => {
                rel = link
                    .strip_prefix(emu.handle.endpoint())
                    .unwrap_or_else(|| panic!("nextLink {link} is not absolute on the pool"))
                    .to_string();
            }
            None => return (items, pages),
        }
    }
    panic!("more than 50 pages");
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|v| {
            let dir = v["directory"].as_str().unwrap_or("");
            let name = v["name"].as_str().unwrap();
            if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            }
        })
        .collect()
}

#[tokio::test]
async fn file_listings_page_with_next_links() {
    let emu = start(builder().page_size(2)).await;
    let qs = format!("api-version={V_CURRENT}&identifier=pager%40x");
    for name in ["e.txt", "a.txt", "c.txt"] {
        let r = emu.upload(&format!("files?{qs}"), name, b"x").await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for name in ["b.txt", "a.txt"] {
        let r = emu
            .upload(&format!("files?{qs}&path=sub%20dir"), name, b"y")
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let first = emu.get(&format!("files?{qs}")).await.json();
    assert_eq!(first["value"].as_array().unwrap().len(), 2, "{first}");
    let link = first["nextLink"].as_str().unwrap();
    assert!(
        link.starts_with(&format!("{}files?", emu.handle.endpoint())),
        "{link}"
    );
    assert!(
        link.contains("identifier=pager%40x") && link.contains("skip=2"),
        "{link}"
    );

    let (items, pages) = all_pages(&emu, &format!("files?{qs}"), "value").await;
    assert_eq!(names(&items), ["a.txt", "c.txt", "e.txt", "sub dir"]);
    assert_eq!(pages, 2);
    let (items, pages) = all_pages(&emu, &format!("files?{qs}&recursive=true"), "value").await;
    assert_eq!(
        names(&items),
        [
            "a.txt",
            "c.txt",
            "e.txt",
            "sub dir",
            "sub dir/a.txt",
            "sub dir/b.txt"
        ]
    );
    assert_eq!(pages, 3);
    let (items, _) = all_pages(&emu, &format!("files?{qs}&path=sub%20dir"), "value").await;
    assert_eq!(names(&items), ["sub dir/a.txt", "sub dir/b.txt"]);
    // `skip` past the end is an empty last page.
    let j = emu.get(&format!("files?{qs}&skip=10")).await.json();
    assert_eq!(j["value"], serde_json::json!([]));
    assert!(j.get("nextLink").is_none());
    emu.stop().await;
}

#[tokio::test]
async fn file_listings_are_one_page_by_default() {
    let emu = start(builder()).await;
    let qs = format!("api-version={V_CURRENT}&identifier=one-page");
    emu.exec(
        "one-page",
        "import os\nfor i in range(10050): open(f'/mnt/data/f{i:05}', 'w').close()",
    )
    .await;
    let j = emu.get(&format!("files?{qs}")).await.json();
    assert_eq!(
        j["value"].as_array().unwrap().len(),
        10050,
        "no 10,000-entry stop"
    );
    assert!(j.get("nextLink").is_none());
    emu.stop().await;
}

#[tokio::test]
async fn session_lists_page_with_next_links_and_skip() {
    let emu = start(builder().page_size(2)).await;
    for i in 0..5 {
        emu.get(&format!(
            "files?api-version={V_CURRENT}&identifier=list-{i}"
        ))
        .await;
    }
    let (items, pages) = all_pages(
        &emu,
        &format!("listSessions?api-version={V_CURRENT}"),
        "sessions",
    )
    .await;
    let ids: Vec<&str> = items
        .iter()
        .map(|s| s["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["list-0", "list-1", "list-2", "list-3", "list-4"]);
    assert_eq!(pages, 3);
    let j = emu
        .get(&format!("listSessions?api-version={V_CURRENT}&skip=4"))
        .await
        .json();
    assert_eq!(j["sessions"][0]["identifier"], "list-4");
    assert!(j.get("nextLink").is_none());

    let j = emu
        .post_empty(&format!(".management/listSessions?api-version={V_CURRENT}"))
        .await
        .json();
    assert_eq!(j["count"], 5);
    assert_eq!(j["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        j["nextLink"],
        format!(
            "{}.management/listSessions?api-version={V_CURRENT}&skip=2",
            emu.handle.endpoint()
        )
    );
    emu.stop().await;
}
