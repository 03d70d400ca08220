//! File routes of both families: shapes (insta), byte-exact round trips, paths, limits.

mod common;

use common::*;
use std::time::Duration;

fn redact_file(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "lastModifiedAt" || k == "lastModifiedTime" {
                        *x = serde_json::json!("[time]");
                    } else {
                        walk(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

#[tokio::test]
async fn current_family_file_shapes() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_CURRENT}&identifier=files-current");

    let r = emu.get(&format!("files?{q}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"value": []}));

    let r = emu
        .upload(&format!("files?{q}"), "notes.txt", b"hello\n")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("current_upload", redact_file(&r.json()));

    let r = emu
        .upload(
            &format!("files?{q}&path=/mnt/data/sub/deeper"),
            "data.csv",
            b"a,b\n1,2\n",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("current_upload_in_subdir", redact_file(&r.json()));

    let r = emu.get(&format!("files?{q}")).await;
    insta::assert_json_snapshot!("current_list", redact_file(&r.json()));

    let r = emu.get(&format!("files?{q}&recursive=true")).await;
    insta::assert_json_snapshot!("current_list_recursive", redact_file(&r.json()));

    let r = emu.get(&format!("files?{q}&path=sub/deeper")).await;
    assert_eq!(r.json()["value"][0]["name"], "data.csv");

    let r = emu.get(&format!("files/notes.txt?{q}")).await;
    assert_eq!(r.status, 200);
    insta::assert_json_snapshot!("current_file_metadata", redact_file(&r.json()));

    let r = emu.get(&format!("files/notes.txt/content?{q}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"hello\n");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(r.header("last-modified").is_some());

    let r = emu
        .get(&format!("files/data.csv/content?{q}&path=sub/deeper"))
        .await;
    assert_eq!(&r.body[..], b"a,b\n1,2\n");

    let r = emu.delete(&format!("files/notes.txt?{q}")).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    emu.get(&format!("files/notes.txt/content?{q}"))
        .await
        .assert_error(404, "NotFound");
    emu.get(&format!("files/notes.txt?{q}"))
        .await
        .assert_error(404, "NotFound");
    emu.delete(&format!("files/notes.txt?{q}"))
        .await
        .assert_error(404, "NotFound");
    emu.get(&format!("files?{q}&path=missing-dir"))
        .await
        .assert_error(404, "NotFound");
    let r = emu.get(&format!("files/x/content?{q}")).await;
    insta::assert_json_snapshot!("error_file_not_found", r.json());

    // older current version: no `directory` field
    let r = emu
        .get(&format!(
            "files?api-version={V_2410}&identifier=files-current&recursive=true"
        ))
        .await;
    assert!(
        r.json()["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f.get("directory").is_none())
    );
    emu.stop().await;
}

#[tokio::test]
async fn legacy_family_file_shapes() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_LEGACY}&identifier=files-legacy");

    let r = emu.get(&format!("files?{q}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("legacy_list_empty", r.json());

    let r = emu
        .upload(
            &format!("files/upload?{q}"),
            "test1.txt",
            b"0123456789abcdef",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    insta::assert_json_snapshot!("legacy_upload", redact_file(&r.json()));

    // legacy clients send `/mnt/data/<name>` as the file name
    let r = emu
        .upload(
            &format!("files/upload?{q}"),
            "/mnt/data/input.py",
            b"print(1)\n",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["value"][0]["properties"]["filename"], "input.py");

    let r = emu.get(&format!("files?{q}")).await;
    insta::assert_json_snapshot!("legacy_list", redact_file(&r.json()));

    let r = emu.get(&format!("files/content/test1.txt?{q}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"0123456789abcdef");
    let r = emu
        .get(&format!("files/content/%2Fmnt%2Fdata%2Finput.py?{q}"))
        .await;
    assert_eq!(&r.body[..], b"print(1)\n");
    emu.get(&format!("files/content/nope.txt?{q}"))
        .await
        .assert_error(404, "NotFound");
    emu.stop().await;
}

#[tokio::test]
async fn binary_round_trip_is_byte_exact() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_CURRENT}&identifier=binary-rt");
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = emu.upload(&format!("files?{q}"), "blob.bin", &data).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sizeInBytes"], data.len());
    assert_eq!(r.json()["contentType"], "application/octet-stream");
    let r = emu.get(&format!("files/blob.bin/content?{q}")).await;
    assert_eq!(
        r.header("content-length"),
        Some(data.len().to_string().as_str())
    );
    assert!(r.body[..] == data[..], "downloaded bytes differ");
    // unicode and spaces in names
    let r = emu
        .upload(&format!("files?{q}"), "résumé 数据.txt", "ok".as_bytes())
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = emu
        .get(&format!(
            "files/r%C3%A9sum%C3%A9%20%E6%95%B0%E6%8D%AE.txt/content?{q}"
        ))
        .await;
    assert_eq!(&r.body[..], b"ok");
    emu.stop().await;
}

#[tokio::test]
async fn upload_over_the_limit_is_413_and_leaves_nothing() {
    let emu = start(builder()).await;
    let q = format!("api-version={V_CURRENT}&identifier=too-large");
    let limit = 128 * 1024 * 1024;
    let data = vec![7u8; limit + 1];
    let r = emu.upload(&format!("files?{q}"), "big.bin", &data).await;
    r.assert_error(413, "RequestEntityTooLarge");
    insta::assert_json_snapshot!("error_too_large", r.json());
    let r = emu.get(&format!("files?{q}")).await;
    assert_eq!(r.json()["value"], serde_json::json!([]));
    // exactly at the limit is fine
    drop(data);
    let data = vec![7u8; limit];
    let r = emu.upload(&format!("files?{q}"), "ok.bin", &data).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["sizeInBytes"], limit);
    emu.stop().await;
}

#[tokio::test]
async fn upload_limit_is_configurable_and_legacy_gives_413_too() {
    let emu = start(builder().max_upload_bytes(1000)).await;
    let r = emu
        .upload(
            &format!("files/upload?api-version={V_LEGACY}&identifier=small-limit"),
            "x.bin",
            &[1u8; 1001],
        )
        .await;
    r.assert_error(413, "RequestEntityTooLarge");
    emu.stop().await;
}

#[tokio::test]
async fn azure_style_base_path_and_double_slashes_are_accepted() {
    let emu = start(builder()).await;
    let r = emu
        .upload(
            &format!("subscriptions/s/resourceGroups/g/sessionPools/p/files?api-version={V_CURRENT}&identifier=base-path"),
            "a.txt",
            b"A",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = emu
        .get(&format!(
            "/files//a.txt/content?api-version={V_CURRENT}&identifier=base-path"
        ))
        .await;
    assert_eq!(&r.body[..], b"A");
    emu.stop().await;
}

#[tokio::test]
async fn an_upload_that_is_not_multipart_gets_its_400_after_its_body() {
    // Semantic Kernel labels uploads `application/json` once it has executed code. Answering
    // before the body is read resets the client's connection, which then never sees the 400.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let emu = start(builder()).await;
    for (rel, version) in [("files", V_CURRENT), ("files/upload", V_LEGACY)] {
        let body = vec![b'x'; 1 << 20];
        let mut tcp = tokio::net::TcpStream::connect(emu.handle.local_addr())
            .await
            .unwrap();
        let head = format!(
            "POST /{rel}?api-version={version}&identifier=wrong-type HTTP/1.1\r\n\
             host: localhost\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        tcp.write_all(&body[..body.len() / 2]).await.unwrap();
        // Half the body sent: the pool must still be reading, not answering.
        let mut buf = vec![0u8; 4096];
        let early = tokio::time::timeout(Duration::from_millis(300), tcp.read(&mut buf)).await;
        assert!(
            early.is_err(),
            "{rel}: the pool answered before the body was read"
        );
        tcp.write_all(&body[body.len() / 2..]).await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
            .await
            .expect("an answer within 10 s")
            .expect("the answer, not a reset");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 400"), "{rel}: {text}");
        assert!(
            text.contains("multipart/form-data") && text.contains("application/json"),
            "{rel}: {text}"
        );
    }
    emu.stop().await;
}
