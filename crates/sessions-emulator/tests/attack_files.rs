//! Attack suite, files API: session code racing the routes by swapping a directory for a
//! link to the host (`renameat2(RENAME_EXCHANGE)` in a loop), and stalling them with a FIFO.
//! Bounded: the swapping thread stops after 20 s and dies with the session.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_swapping_a_directory_for_a_link_never_escapes() {
    let data = tempfile::tempdir().unwrap();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("secret"), "HOST-SECRET").unwrap();
    std::fs::write(host.path().join("victim"), "host file").unwrap();
    std::fs::write(host.path().join("host-only.txt"), "x").unwrap();
    let emu = start(builder().data_dir(data.path())).await;
    let id = "racer";
    let q = format!("api-version={V_CURRENT}&identifier={id}");
    let setup = format!(
        "import os, threading, time, ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n\
         os.makedirs('d', exist_ok=True)\nopen('d/secret', 'w').write('inside')\n\
         open('d/victim', 'w').write('mine')\nos.symlink({:?}, 'l')\nswaps = 0\n\
         def swap():\n    global swaps\n    stop = time.time() + 20\n    while time.time() < stop:\n        \
         if libc.renameat2(-100, b'd', -100, b'l', 2) == 0:\n            swaps += 1\n\
         threading.Thread(target=swap, daemon=True).start()\n'started'",
        host.path().display().to_string()
    );
    let r = emu.exec(id, &setup).await;
    assert_eq!(r["result"]["executionResult"], "started", "{r}");
    for i in 0..60 {
        let r = emu.get(&format!("files/secret/content?{q}&path=d")).await;
        assert!(
            (r.status == 200 && &r.body[..] == b"inside") || r.status == 404,
            "download {i}: {} {}",
            r.status,
            r.text()
        );
        let r = emu.get(&format!("files?{q}&path=d")).await;
        assert!(
            !r.text().contains("host-only"),
            "listed the host: {}",
            r.text()
        );
        let name = format!("planted-{i}.txt");
        emu.upload(&format!("files?{q}&path=d"), &name, b"p").await;
        assert!(!host.path().join(&name).exists(), "created a host file");
        emu.delete(&format!("files/victim?{q}&path=d")).await;
        assert!(host.path().join("victim").exists(), "deleted a host file");
        emu.delete(&format!("files/l?{q}")).await;
        assert!(
            host.path().join("secret").exists(),
            "deleted through a link"
        );
    }
    let swaps = emu.exec(id, "swaps").await;
    assert!(
        swaps["result"]["executionResult"].as_i64().unwrap() > 0,
        "the race never ran: {swaps}"
    );
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_a_fifo_cannot_stall_the_files_api() {
    let emu = start(builder()).await;
    let id = "fifo";
    let q = format!("api-version={V_CURRENT}&identifier={id}");
    let r = emu
        .exec(
            id,
            "import os\nos.mkfifo('/mnt/data/pipe')\nos.mkfifo('/mnt/data/p2')\n'ok'",
        )
        .await;
    assert_eq!(r["result"]["executionResult"], "ok", "{r}");
    let within = |what: &'static str| {
        move |r: Result<Resp, tokio::time::error::Elapsed>| {
            r.unwrap_or_else(|_| panic!("{what} blocked on a FIFO"))
        }
    };
    let legacy = format!("api-version={V_LEGACY}&identifier={id}");
    for (what, url) in [
        ("download", format!("files/pipe/content?{q}")),
        ("legacy download", format!("files/content/p2?{legacy}")),
    ] {
        let r = tokio::time::timeout(Duration::from_secs(10), emu.get(&url)).await;
        let r = within(what)(r);
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        assert!(r.text().contains("FIFO"), "{}", r.text());
    }
    let r = tokio::time::timeout(Duration::from_secs(10), emu.get(&format!("files?{q}"))).await;
    let r = within("listing")(r);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("pipe"), "{}", r.text());
    emu.stop().await;
}
