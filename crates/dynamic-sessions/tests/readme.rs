//! The READMEs' first program (the workspace's and this crate's), kept byte-for-byte in
//! `readme/program.rs`, compiled and run here.
//!
//! It is also compiled as a doctest (the README is included in the crate's doctests), but a
//! doctest runs in the crate's directory and the program saves `sales.png` in the current one;
//! here it runs in a temporary directory.

// At the root, so that its `main` is callable (the test harness supplies the entry point).
include!("readme/program.rs");

use dynamic_sessions::emulator::python_env;

const README: &str = include_str!("../../../README.md");
const CRATE_README: &str = include_str!("../README.md");
const PROGRAM: &str = include_str!("readme/program.rs");

/// The first ```rust block of the README (any attributes after `rust`).
fn first_rust_block(markdown: &str) -> Option<String> {
    let mut lines = markdown.lines();
    lines.find(|l| l.starts_with("```rust"))?;
    let body: Vec<&str> = lines.take_while(|l| !l.starts_with("```")).collect();
    Some(body.join("\n") + "\n")
}

#[test]
fn the_readme_programs_are_the_one_tested_here() {
    for (name, readme) in [
        ("README.md", README),
        ("crates/dynamic-sessions/README.md", CRATE_README),
    ] {
        let block = first_rust_block(readme).unwrap_or_else(|| panic!("a ```rust block in {name}"));
        assert!(
            block == PROGRAM,
            "{name}'s first Rust block differs from tests/readme/program.rs: copy one onto the other"
        );
        assert!(
            !block.lines().any(|l| l.trim_start().starts_with("# ")),
            "the {name} program has no hidden lines: GitHub shows them literally"
        );
    }
}

#[test]
fn the_readme_program_runs_and_saves_its_plot() {
    // The plot needs matplotlib: find or create the workspace's .venv with the data packages
    // (as the examples do), before leaving the workspace. The program's `Emulator::builder()`
    // then finds the same interpreter (resolved once per process).
    python_env::resolve_python(python_env::Provision::CreateVenv)
        .expect("a python3 with numpy, pandas and matplotlib (or SESSIONS_EMULATOR_PYTHON)");
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The only test in this binary that depends on the current directory.
    std::env::set_current_dir(dir.path()).expect("enter the temporary directory");
    main().expect("the README program runs");
    let saved = dir.path().join("sales.png");
    let png = std::fs::read(&saved)
        .expect("the program saved sales.png (it needs matplotlib: set SESSIONS_EMULATOR_PYTHON)");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "sales.png is a PNG");
}
