//! Runnable examples live in this package's `examples/` folder.
