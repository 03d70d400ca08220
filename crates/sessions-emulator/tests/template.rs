//! Sessions forked from the pool's template interpreter (issue 13): the preload is there at
//! once and behaves normally, and forked sessions are as isolated from each other as fresh
//! ones (files, memory, variables, random state, open descriptors). The attack suites
//! (`attack_host.rs`, `attack_resources.rs`) run against forked workers too.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use sessions_emulator::Preload;

/// The value of an execution's result.
fn result(r: &Value) -> &Value {
    &r["result"]["executionResult"]
}

async fn layers(emu: &Emu) -> Value {
    let r = emu.get(&format!("metadata?api-version={V_CURRENT}")).await;
    r.json()["emulator"]["isolation"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forked_sessions_start_with_the_preload_and_use_it_normally() {
    let emu = start(builder()).await;
    let iso = layers(&emu).await;
    assert!(
        iso["layers"].to_string().contains("forked from a template"),
        "{iso}"
    );
    // Preloaded: in sys.modules before the session imports anything.
    let r = emu
        .exec(
            "preload-a",
            "import sys\n[m in sys.modules for m in ('numpy', 'pandas', 'matplotlib.pyplot')]",
        )
        .await;
    assert_eq!(result(&r), &json!([true, true, true]), "{r}");
    // A pandas round trip through /mnt/data, and a plot.
    let code = "import pandas as pd, matplotlib.pyplot as plt\n\
                df = pd.DataFrame({'m': ['jan', 'feb', 'mar'], 'v': [120, 95, 140]})\n\
                df.to_csv('/mnt/data/sales.csv', index=False)\n\
                back = pd.read_csv('/mnt/data/sales.csv')\n\
                [int(back.v.sum()), list(back.m), plt.get_backend()]";
    let r = emu.exec("preload-a", code).await;
    assert_eq!(r["status"], "Succeeded", "{r}");
    assert_eq!(
        result(&r),
        &json!([355, ["jan", "feb", "mar"], "Agg"]),
        "{r}"
    );
    let r = emu.exec("preload-a", "plt.plot(back.m, back.v)").await;
    let image = result(&r);
    assert_eq!(
        (&image["type"], &image["format"]),
        (&json!("image"), &json!("png")),
        "{r}"
    );
    assert!(
        image["base64_data"]
            .as_str()
            .is_some_and(|b| b.len() > 1000),
        "{r}"
    );
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forked_sessions_are_isolated_from_each_other() {
    let emu = start(builder().prewarm(2)).await;
    let probe = "import os, random, sys, numpy as np\n\
                 [random.random(), float(np.random.rand()), sorted(os.listdir('/proc/self/fd')), \
                 [os.path.exists(p) for p in ('/mnt/data/a.txt', '/tmp/a', '/dev/shm/a')], \
                 'x' in globals(), hasattr(np, 'MARK')]";
    let a = emu.exec("iso-a", probe).await;
    let b = emu.exec("iso-b", probe).await;
    let (a, b) = (result(&a).clone(), result(&b).clone());
    // Random state was reseeded in each fork: the template's state is not shared.
    assert_ne!(a[0], b[0], "random: {a} {b}");
    assert_ne!(a[1], b[1], "numpy.random: {a} {b}");
    // The same descriptors as each other (nothing of the template's, nothing of another
    // session's); each one is checked below.
    assert_eq!(a[2], b[2], "{a} {b}");
    // Session a leaves files, variables, a module attribute and shared memory behind.
    let leave = "import numpy as np\nx = 1\nnp.MARK = 'a'\n\
                 open('/mnt/data/a.txt', 'w').write('a'); open('/tmp/a', 'w').write('a'); \
                 open('/dev/shm/a', 'w').write('a')\n\
                 [open(p).read() for p in ('/mnt/data/a.txt', '/tmp/a', '/dev/shm/a')]";
    assert_eq!(
        result(&emu.exec("iso-a", leave).await),
        &json!(["a", "a", "a"])
    );
    let seen = result(&emu.exec("iso-b", probe).await).clone();
    assert_eq!(seen[3], json!([false, false, false]), "files: {seen}");
    assert_eq!(seen[4], json!(false), "variables: {seen}");
    assert_eq!(
        seen[5],
        json!(false),
        "a module changed in another session: {seen}"
    );
    // What each descriptor is: the kernel's /dev/null, capture files and its protocol socket.
    let fds = "import os\nsorted({os.readlink('/proc/self/fd/' + f).split(':')[0] \
               for f in os.listdir('/proc/self/fd') if os.path.exists('/proc/self/fd/' + f)})";
    let kinds = result(&emu.exec("iso-b", fds).await).clone();
    for kind in kinds.as_array().unwrap() {
        let k = kind.as_str().unwrap();
        assert!(
            ["/dev/null", "/memfd", "socket", "/proc/"]
                .iter()
                .any(|p| k.starts_with(p)),
            "an unexpected descriptor in a forked session: {k} ({kinds})"
        );
    }
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_the_template_s_private_paths_are_hidden_from_sessions() {
    let data = tempfile::tempdir().unwrap();
    let emu = start(builder().data_dir(data.path())).await;
    // Another session's file, which the host's slot directory (the template's /.slots) holds.
    emu.exec(
        "hidden-victim",
        "open('/mnt/data/secret.txt', 'w').write('TOP-SECRET')",
    )
    .await;
    let code = "import os\nr = {}\nfor p in ('/.slots', '/.proc0'):\n    r[p] = os.listdir(p)\n    \
                try:\n        open(p + '/x', 'w').close(); r[p + ' write'] = 'opened'\n    \
                except OSError:\n        r[p + ' write'] = 'denied'\n\
                r['mounts'] = [l.split()[1] for l in open('/proc/self/mounts') if 'slots' in l or 'proc0' in l]\nr";
    let r = emu.exec("hidden-attacker", code).await;
    let got = result(&r);
    assert_eq!(got["/.slots"], json!([]), "{r}");
    assert_eq!(got["/.proc0"], json!([]), "{r}");
    assert_eq!(got["/.slots write"], json!("denied"), "{r}");
    assert_eq!(got["/.proc0 write"], json!("denied"), "{r}");
    assert!(!r.to_string().contains("TOP-SECRET"), "{r}");
    emu.stop().await;
}

/// The host pid of the template whose `/.slots` is `slots` (tests run in parallel, each pool
/// with a template of its own).
fn template_of(slots: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let want = std::fs::metadata(slots).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("Sessions emulator template"))
                && std::fs::metadata(format!("/proc/{pid}/root/.slots"))
                    .is_ok_and(|m| (m.dev(), m.ino()) == (want.dev(), want.ino()))
        })
}

/// The parent of `pid`.
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The direct children of `pid` (over all its threads).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_session_s_whole_tree_ends_at_once() {
    let data = tempfile::tempdir().unwrap();
    let emu = start(builder().prewarm(0).data_dir(data.path())).await;
    let template = template_of(&data.path().join("slots")).expect("this pool's template process");
    emu.exec(
        "tree-a",
        "import subprocess\np = subprocess.Popen(['sleep', '60'])\np.pid",
    )
    .await;
    // A forked session's top process is its namespace init, a sibling of the template (the
    // relay that forked it has exited).
    let parent = parent_of(template).expect("the template's parent");
    let inits: Vec<u32> = children(parent)
        .into_iter()
        .filter(|p| *p != template)
        .collect();
    assert_eq!(inits.len(), 1, "one session, one init: {inits:?}");
    let tree = {
        let mut all = inits.clone();
        let mut i = 0;
        while i < all.len() && all.len() < 64 {
            all.extend(children(all[i]));
            i += 1;
        }
        all
    };
    assert!(tree.len() >= 3, "init, interpreter and sleep: {tree:?}");
    let r = emu
        .delete(&format!("session?api-version={V_2502}&identifier=tree-a"))
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    let t = Instant::now();
    while tree
        .iter()
        .any(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        && t.elapsed() < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left: Vec<_> = tree
        .iter()
        .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
        .collect();
    assert!(left.is_empty(), "still alive after delete: {left:?}");
    emu.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preload_can_be_chosen_and_a_missing_module_is_said() {
    let emu = start(builder().preload(Preload::Modules(vec![
        "json".into(),
        "no_such_module_here".into(),
    ])))
    .await;
    let iso = layers(&emu).await;
    assert!(
        iso["layers"].to_string().contains("json preloaded"),
        "{iso}"
    );
    assert!(
        iso["warnings"].to_string().contains("no_such_module_here"),
        "{iso}"
    );
    let r = emu
        .exec(
            "choose-a",
            "import sys\n['json' in sys.modules, 'pandas' in sys.modules]",
        )
        .await;
    assert_eq!(result(&r), &json!([true, false]), "{r}");
    emu.stop().await;
}

#[test]
fn preload_lists_are_parsed_with_clear_errors() {
    assert_eq!(Preload::parse("none"), Ok(Preload::None));
    assert_eq!(Preload::parse("default"), Ok(Preload::Default));
    assert_eq!(
        Preload::parse("numpy, pandas,scipy.stats"),
        Ok(Preload::Modules(vec![
            "numpy".into(),
            "pandas".into(),
            "scipy.stats".into()
        ]))
    );
    for bad in ["", " , ", "os; import x", "../x", "1abc"] {
        let err = Preload::parse(bad).unwrap_err();
        assert!(
            err.contains("none") && err.contains("default"),
            "{bad}: {err}"
        );
    }
}
