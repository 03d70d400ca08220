//! Every guide in `docs/` that shows Rust code is compiled as a doctest of this crate: a guide
//! added without its `#[doc = include_str!]` line in `src/lib.rs` fails here.

use std::path::Path;

const LIB_RS: &str = include_str!("../src/lib.rs");

/// Whether a fence's info string marks Rust that rustdoc compiles (`rust`, `rust,no_run`, ...;
/// not `rust,ignore`). Unlabelled fences in these guides are diagrams, not code.
fn is_compiled_rust(info: &str) -> bool {
    let attrs: Vec<&str> = info.split(',').map(str::trim).collect();
    attrs[0] == "rust" && !attrs.contains(&"ignore")
}

/// The info strings of the opening fences of a Markdown text.
fn fence_infos(markdown: &str) -> Vec<&str> {
    let mut infos = Vec::new();
    let mut open = false;
    for line in markdown.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if !open {
                infos.push(info.trim());
            }
            open = !open;
        }
    }
    infos
}

#[test]
fn every_guide_with_rust_code_is_a_doctest() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut missing = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&docs).expect("the workspace's docs/ directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a readable guide");
        if !fence_infos(&text).into_iter().any(is_compiled_rust) {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        checked += 1;
        if !LIB_RS.contains(&format!("include_str!(\"../../../docs/{name}\")")) {
            missing.push(name);
        }
    }
    assert!(
        checked > 0,
        "no guide with Rust code found in {}",
        docs.display()
    );
    assert!(
        missing.is_empty(),
        "docs/{missing:?} show Rust code that no test compiles: add \
         `#[cfg(doctest)] #[doc = include_str!(\"../../../docs/NAME\")] struct ...;` to src/lib.rs"
    );
}

#[test]
fn the_fence_reader_knows_what_rustdoc_compiles() {
    assert!(!is_compiled_rust(""));
    assert!(is_compiled_rust("rust"));
    assert!(is_compiled_rust("rust,no_run"));
    assert!(!is_compiled_rust("rust,ignore"));
    assert!(!is_compiled_rust("toml"));
    assert_eq!(
        fence_infos("a\n```rust\nx\n```\n```sh\n$ y\n```\n"),
        ["rust", "sh"]
    );
}
