//! End-to-end suites across the crates live in `tests/`.
