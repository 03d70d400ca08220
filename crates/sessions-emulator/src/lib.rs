//! A faithful local Azure Container Apps dynamic-sessions pool.
#![deny(missing_docs)]

pub mod runtime;
