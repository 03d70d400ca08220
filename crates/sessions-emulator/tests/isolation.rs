//! A session cannot reach another session's files: not by `..`, absolute paths, NUL bytes or
//! symbolic links (planted on the host side, so no code execution is needed).

mod common;

use common::*;

fn blocked(r: &Resp) {
    assert!(
        r.status == 400 || r.status == 404,
        "expected 400/404, got {} {}",
        r.status,
        r.text()
    );
    assert!(!r.text().contains("TOP-SECRET"), "leaked: {}", r.text());
}

#[tokio::test]
async fn sessions_cannot_read_each_other() {
    let data = tempfile::tempdir().unwrap();
    let emu = start(builder().data_dir(data.path())).await;
    let qa = format!("api-version={V_CURRENT}&identifier=victim-a");
    let qb = format!("api-version={V_CURRENT}&identifier=attacker-b");

    let r = emu
        .upload(&format!("files?{qa}"), "secret-a.txt", b"TOP-SECRET")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = emu
        .upload(&format!("files?{qb}"), "marker-b.txt", b"b")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let secret = find_file(data.path(), "secret-a.txt").expect("victim file on disk");
    let b_dir = find_file(data.path(), "marker-b.txt")
        .expect("attacker marker on disk")
        .parent()
        .unwrap()
        .to_path_buf();
    let a_dir = secret.parent().unwrap().to_path_buf();
    let a_slot = a_dir.file_name().unwrap().to_string_lossy().into_owned();

    // plain name in another session
    blocked(&emu.get(&format!("files/secret-a.txt/content?{qb}")).await);
    // `..` in the name and in `path`
    blocked(
        &emu.get(&format!("files/..%2F{a_slot}%2Fsecret-a.txt/content?{qb}"))
            .await,
    );
    blocked(
        &emu.get(&format!("files/secret-a.txt/content?{qb}&path=../{a_slot}"))
            .await,
    );
    blocked(&emu.get(&format!("files?{qb}&path=..")).await);
    blocked(&emu.get(&format!("files/content/..%2F{a_slot}%2Fsecret-a.txt?api-version={V_LEGACY}&identifier=attacker-b")).await);
    // absolute paths outside /mnt/data
    let abs = secret.to_string_lossy().replace('/', "%2F");
    blocked(&emu.get(&format!("files/{abs}/content?{qb}")).await);
    blocked(
        &emu.get(&format!(
            "files/secret-a.txt/content?{qb}&path={}",
            a_dir.display()
        ))
        .await,
    );
    blocked(
        &emu.get(&format!("files/passwd/content?{qb}&path=/etc"))
            .await,
    );
    blocked(
        &emu.get(&format!(
            "files/content/%2Fetc%2Fpasswd?api-version={V_LEGACY}&identifier=attacker-b"
        ))
        .await,
    );
    // NUL bytes
    blocked(
        &emu.get(&format!("files/secret-a.txt%00/content?{qb}"))
            .await,
    );
    // uploads cannot escape either
    blocked(
        &emu.upload(&format!("files?{qb}"), "../escape.txt", b"x")
            .await,
    );
    blocked(
        &emu.upload(&format!("files?{qb}&path=/tmp"), "escape.txt", b"x")
            .await,
    );
    blocked(
        &emu.upload(
            &format!("files/upload?api-version={V_LEGACY}&identifier=attacker-b"),
            "/etc/escape.txt",
            b"x",
        )
        .await,
    );
    assert!(find_file(data.path(), "escape.txt").is_none());
    assert!(!std::path::Path::new("/etc/escape.txt").exists());

    // symbolic links planted in B's directory pointing at A's file, A's directory and /etc
    std::os::unix::fs::symlink(&secret, b_dir.join("link-file")).unwrap();
    std::os::unix::fs::symlink(&a_dir, b_dir.join("link-dir")).unwrap();
    std::os::unix::fs::symlink("/etc", b_dir.join("link-etc")).unwrap();
    blocked(&emu.get(&format!("files/link-file/content?{qb}")).await);
    blocked(&emu.get(&format!("files/link-file?{qb}")).await);
    blocked(
        &emu.get(&format!("files/secret-a.txt/content?{qb}&path=link-dir"))
            .await,
    );
    blocked(&emu.get(&format!("files?{qb}&path=link-dir")).await);
    blocked(
        &emu.get(&format!("files/passwd/content?{qb}&path=link-etc"))
            .await,
    );
    blocked(
        &emu.get(&format!(
            "files/content/link-file?api-version={V_LEGACY}&identifier=attacker-b"
        ))
        .await,
    );
    // listings do not show links that lead out
    let r = emu.get(&format!("files?{qb}&recursive=true")).await;
    assert_eq!(r.status, 200);
    let names: Vec<String> = r.json()["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["marker-b.txt"]);
    let r = emu
        .get(&format!(
            "files?api-version={V_LEGACY}&identifier=attacker-b"
        ))
        .await;
    assert!(!r.text().contains("link-"), "{}", r.text());
    // uploading through a link writes the link's own name, never the target
    let r = emu
        .upload(&format!("files?{qb}"), "link-file", b"overwritten")
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(std::fs::read(&secret).unwrap(), b"TOP-SECRET");
    blocked(
        &emu.upload(&format!("files?{qb}&path=link-dir"), "planted.txt", b"x")
            .await,
    );
    assert!(!a_dir.join("planted.txt").exists());
    // deleting a link removes the link, not the target
    let r = emu.delete(&format!("files/link-dir?{qb}")).await;
    assert_eq!(r.status, 204);
    assert!(secret.exists());

    // A still reads its own file
    let r = emu.get(&format!("files/secret-a.txt/content?{qa}")).await;
    assert_eq!(&r.body[..], b"TOP-SECRET");
    emu.stop().await;
}

#[tokio::test]
async fn links_inside_the_session_are_not_followed_either() {
    let data = tempfile::tempdir().unwrap();
    let emu = start(builder().data_dir(data.path())).await;
    let q = format!("api-version={V_CURRENT}&identifier=inner-links");
    emu.upload(&format!("files?{q}&path=real"), "x.txt", b"inner")
        .await;
    let dir = find_file(data.path(), "x.txt")
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    std::os::unix::fs::symlink(dir.join("real"), dir.join("alias")).unwrap();
    // No component may be a link, even one that stays inside: a link can be swapped for
    // another between a check and a use, so the files API never follows one.
    let r = emu
        .get(&format!("files/x.txt/content?{q}&path=alias"))
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = emu.get(&format!("files/x.txt/content?{q}&path=real")).await;
    assert_eq!(&r.body[..], b"inner");
    emu.stop().await;
}

#[tokio::test]
async fn metadata_reports_isolation() {
    let emu = start(builder()).await;
    let r = emu.get(&format!("metadata?api-version={V_2502}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(
        j["emulator"]["isolation"]["namespaces"],
        emu.handle.isolation().namespaces
    );
    assert!(
        j["emulator"]["isolation"]["detail"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert!(j["runtimes"][0]["name"] == "python");
    emu.stop().await;
}
