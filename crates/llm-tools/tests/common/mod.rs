//! Shared helpers for the end-to-end tests: a local emulator pool and a client on it.
#![allow(dead_code)]

use sessions_core::Client;
use sessions_emulator::{Emulator, EmulatorHandle};

/// A running emulator and a client on it.
pub struct Pool {
    pub emulator: EmulatorHandle,
    pub client: Client,
}

impl Pool {
    pub async fn start() -> Pool {
        // The workspace .venv (created once on a fresh machine) unless SESSIONS_EMULATOR_PYTHON is set.
        let python = sessions_emulator::python_env::resolve_python(
            sessions_emulator::python_env::Provision::CreateVenv,
        )
        .expect("a python3 for the local pool (see the error)");
        let emulator = Emulator::builder()
            .python(python)
            .start()
            .await
            .expect("emulator starts");
        let client = Client::builder(emulator.endpoint())
            .no_auth()
            .build()
            .expect("client builds");
        Pool { emulator, client }
    }

    pub async fn stop(self) {
        self.emulator.shutdown().await;
    }
}

/// The JSON text of a result, parsed.
pub fn parse_text(text: &serde_json::Value) -> serde_json::Value {
    serde_json::from_str(text.as_str().expect("text is a string")).expect("text is JSON")
}
