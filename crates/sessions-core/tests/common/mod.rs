//! Helpers shared by the integration tests (one file per helper).

pub mod fault_server;
