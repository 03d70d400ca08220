//! Helpers shared by the runnable examples in this package's `examples/` folder.
//!
//! * [`Pool`]: the session pool an example talks to: the one named by
//!   `POOL_MANAGEMENT_ENDPOINT`, or an embedded local pool started for the example;
//! * [`model`]: a minimal OpenAI / Azure OpenAI caller (hyper + rustls with the ring provider),
//!   used by the agent examples when credentials are in the environment;
//! * [`run_code_agent`]: the agent examples' loop, on `llm_tools::agent::Agent`.

use std::error::Error as StdError;
use std::path::PathBuf;

use dynamic_sessions::emulator::python_env::{self, Provision};
use dynamic_sessions::emulator::{Emulator, EmulatorHandle};
use dynamic_sessions::{Client, ClientBuilder, Endpoint};

/// The error type of the examples.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The result type of the examples.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// What the examples need from the pool's Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Any python3.
    Python,
    /// python3 with numpy, pandas and matplotlib (like the service's PythonLTS pools).
    DataPackages,
}

/// The pool an example runs against.
pub struct Pool {
    /// A client for it.
    pub client: Client,
    /// Its endpoint.
    pub endpoint: Endpoint,
    local: Option<EmulatorHandle>,
}

impl Pool {
    /// `POOL_MANAGEMENT_ENDPOINT` when set (with the default Azure credential, or no token on
    /// loopback), otherwise a local pool started now.
    pub async fn from_env_or_local(needs: Needs) -> Result<Pool> {
        match std::env::var("POOL_MANAGEMENT_ENDPOINT") {
            Ok(url) if !url.trim().is_empty() => {
                let endpoint = Endpoint::parse(&url)?;
                let client = client_for(&endpoint)?;
                println!("pool: {endpoint} (from POOL_MANAGEMENT_ENDPOINT)");
                Ok(Pool {
                    client,
                    endpoint,
                    local: None,
                })
            }
            _ => Pool::local(needs).await,
        }
    }

    /// A local pool started now (the `emulator` feature), on a free loopback port.
    pub async fn local(needs: Needs) -> Result<Pool> {
        let python = python_for_local_pool(needs)?;
        let handle = Emulator::builder()
            .python(python.clone())
            .prewarm(1)
            .start()
            .await?;
        let endpoint = Endpoint::parse(handle.endpoint())?;
        let client = client_for(&endpoint)?;
        println!("pool: local, {endpoint} (python: {})", python.display());
        Ok(Pool {
            client,
            endpoint,
            local: Some(handle),
        })
    }

    /// Whether this is the embedded local pool.
    pub fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// Stop the local pool, if one was started.
    pub async fn shutdown(self) {
        if let Some(handle) = self.local {
            handle.shutdown().await;
        }
    }
}

fn client_for(endpoint: &Endpoint) -> Result<Client> {
    let builder = Client::builder(endpoint.as_str()).user_agent("dynamic-sessions-examples");
    Ok(with_pool_auth(builder, endpoint).build()?)
}

/// The examples' auth choice: no token for a loopback endpoint (the local pool), the default
/// Azure credential chain otherwise.
pub fn with_pool_auth(builder: ClientBuilder, endpoint: &Endpoint) -> ClientBuilder {
    if endpoint.is_loopback() {
        builder.no_auth()
    } else {
        builder.default_credential()
    }
}

/// The interpreter for the local pool: `SESSIONS_EMULATOR_PYTHON`, else `.venv/bin/python3` in
/// the workspace root, else `python3`. When the example needs numpy, pandas and matplotlib and no
/// interpreter has them, `.venv` is created with them (one-time; what the README promises for a
/// fresh machine).
pub fn python_for_local_pool(needs: Needs) -> Result<PathBuf> {
    let provision = match needs {
        Needs::DataPackages => Provision::CreateVenv,
        _ => Provision::Find,
    };
    let python = python_env::resolve_python(provision)?;
    if needs == Needs::DataPackages && !python_env::has_packages(&python) {
        return Err(format!(
            "the local pool's Python ({}) lacks numpy, pandas or matplotlib. Fix it with one of: \
             unset SESSIONS_EMULATOR_PYTHON (a .venv with them is then created); \
             `python3 -m venv .venv && .venv/bin/pip install numpy pandas matplotlib`; \
             or set SESSIONS_EMULATOR_PYTHON to an interpreter that has them",
            python.display()
        )
        .into());
    }
    Ok(python)
}

/// Shorten text for one-line display.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

pub mod model {
    //! Calling OpenAI or Azure OpenAI with nothing but hyper and rustls (ring provider).
    //!
    //! Settings come from the environment:
    //! * OpenAI: `OPENAI_API_KEY`, optional `OPENAI_MODEL` (default `gpt-4.1-mini`) and
    //!   `OPENAI_BASE_URL` (default `https://api.openai.com/v1`);
    //! * Azure OpenAI: `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY` and
    //!   `AZURE_OPENAI_DEPLOYMENT` (the v1 API: `{endpoint}/openai/v1/...`, `model` = deployment).

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::client::legacy::Client as HyperClient;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use serde_json::Value;

    use super::Result;

    /// Which API family to call.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Api {
        /// `chat/completions`.
        Chat,
        /// `responses`.
        Responses,
    }

    /// Where and how to call the model.
    #[derive(Clone)]
    pub struct ModelSettings {
        base: String,
        key: String,
        azure: bool,
        /// The model (OpenAI) or deployment (Azure OpenAI) name.
        pub model: String,
    }

    impl std::fmt::Debug for ModelSettings {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ModelSettings")
                .field("base", &self.base)
                .field("azure", &self.azure)
                .field("model", &self.model)
                .field("key", &"<redacted>")
                .finish()
        }
    }

    fn env(name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    impl ModelSettings {
        /// Settings from the environment, or `None` when neither provider is configured.
        pub fn from_env() -> Option<ModelSettings> {
            if let (Some(endpoint), Some(key), Some(deployment)) = (
                env("AZURE_OPENAI_ENDPOINT"),
                env("AZURE_OPENAI_API_KEY"),
                env("AZURE_OPENAI_DEPLOYMENT").or_else(|| env("AZURE_OPENAI_DEPLOYMENT_NAME")),
            ) {
                let base = format!("{}/openai/v1", endpoint.trim_end_matches('/'));
                return Some(ModelSettings {
                    base,
                    key,
                    azure: true,
                    model: deployment,
                });
            }
            let key = env("OPENAI_API_KEY")?;
            let base = env("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into());
            let model = env("OPENAI_MODEL").unwrap_or_else(|| "gpt-4.1-mini".into());
            Some(ModelSettings {
                base: base.trim_end_matches('/').to_owned(),
                key,
                azure: false,
                model,
            })
        }

        /// A description for the console (no secrets).
        pub fn describe(&self) -> String {
            let who = if self.azure { "Azure OpenAI" } else { "OpenAI" };
            format!("{who} model {} at {}", self.model, self.base)
        }
    }

    /// A client for the model API.
    pub struct ModelClient {
        settings: ModelSettings,
        http: HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    }

    impl ModelClient {
        /// A client with rustls and an explicit ring crypto provider (no reqwest).
        pub fn new(settings: ModelSettings) -> Result<ModelClient> {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))?
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .build();
            let http = HyperClient::builder(TokioExecutor::new()).build(connector);
            Ok(ModelClient { settings, http })
        }

        /// The settings.
        pub fn settings(&self) -> &ModelSettings {
            &self.settings
        }

        /// POST a request body (the `model` field is filled in) and return the JSON answer.
        pub async fn create(&self, api: Api, mut body: Value) -> Result<Value> {
            body["model"] = Value::String(self.settings.model.clone());
            let path = match api {
                Api::Chat => "chat/completions",
                Api::Responses => "responses",
            };
            let uri = format!("{}/{path}", self.settings.base);
            let mut request =
                http::Request::post(&uri).header(http::header::CONTENT_TYPE, "application/json");
            request = if self.settings.azure {
                request.header("api-key", &self.settings.key)
            } else {
                request.header(
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", self.settings.key),
                )
            };
            let request = request.body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
            let response = self.http.request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                let text = String::from_utf8_lossy(&bytes);
                return Err(
                    format!("{uri} answered {status}: {}", super::one_line(&text, 400)).into(),
                );
            }
            Ok(serde_json::from_slice(&bytes)?)
        }
    }

    /// Where an agent's model turns come from: a live model when settings are in the
    /// environment, else a recording replayed in order.
    pub enum TurnSource {
        /// A real model.
        Live(Box<ModelClient>),
        /// Recorded responses, one per turn.
        Replay(std::slice::Iter<'static, &'static str>),
    }

    impl TurnSource {
        /// A live model when `ModelSettings::from_env` finds settings, else `recorded`.
        /// Prints which one `example` uses.
        pub fn from_env(example: &str, recorded: &'static [&'static str]) -> Result<TurnSource> {
            match ModelSettings::from_env() {
                Some(settings) => {
                    println!("{example}: live, {}", settings.describe());
                    Ok(TurnSource::Live(Box::new(ModelClient::new(settings)?)))
                }
                None => {
                    println!(
                        "{example}: replaying recorded turns (set OPENAI_API_KEY or AZURE_OPENAI_* to call a model)"
                    );
                    Ok(TurnSource::Replay(recorded.iter()))
                }
            }
        }

        /// The model's next response to `body` (a recording ignores `body`).
        pub async fn next(&mut self, api: Api, body: Value) -> Result<Value> {
            match self {
                TurnSource::Live(client) => client.create(api, body).await,
                TurnSource::Replay(turns) => {
                    let turn = turns
                        .next()
                        .copied()
                        .ok_or("the recording has no more turns")?;
                    Ok(serde_json::from_str(turn)?)
                }
            }
        }
    }
}

/// `main` for the examples: run `body`, print an error as one line, exit 1 on failure.
pub fn exit_code(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Run the code-interpreter agent on `task` with `model` (live or replayed), printing each call
/// and its result through the loop's start/end hooks, and the final answer.
pub async fn run_code_agent(
    api: model::Api,
    model: model::TurnSource,
    tool: &dynamic_sessions::tools::CodeInterpreterTool,
    task: &str,
    max_turns: usize,
) -> Result<()> {
    use std::sync::Arc;

    use dynamic_sessions::tools::agent::{Agent, StopReason, ToolResult};
    use dynamic_sessions::tools::{Format, ImageNote};
    use serde_json::json;

    let format = match api {
        model::Api::Chat => Format::Chat,
        model::Api::Responses => Format::Responses,
    };
    tool.prepare().await?;
    println!("user: {task}");
    let agent = Agent::new(format)
        .tool(tool)
        .max_turns(max_turns)
        .on_call_start(|info| {
            let code = info.call.parse(info.tool, &Default::default()).ok();
            let code = code.as_ref().map_or("?", |c| c.code.as_ref());
            println!("assistant → {}: {}", info.tool, one_line(code, 100));
        })
        .on_call_end(|info, result| {
            let text = match result {
                ToolResult::Code(output) => output.text_for_model(ImageNote::Attached),
                ToolResult::Text { text, .. } => text.clone(),
            };
            println!("tool ({}): {}", info.call_id, one_line(&text, 100));
        });
    let model = Arc::new(tokio::sync::Mutex::new(model));
    // Chat sends `messages`; Responses is stateless here: the whole history (reasoning items
    // included) goes back as `input` each turn.
    let history_key = if format == Format::Chat {
        "messages"
    } else {
        "input"
    };
    let run = agent
        .run(
            vec![json!({ "role": "user", "content": task })],
            |request| {
                let model = model.clone();
                async move {
                    let body = json!({ history_key: request.history, "tools": request.tools });
                    model.lock().await.next(api, body).await
                }
            },
        )
        .await?;
    match run.stop {
        StopReason::Finished => {
            println!("assistant: {}", run.text);
            Ok(())
        }
        StopReason::TurnLimit => Err(format!("no final answer after {max_turns} turns").into()),
    }
}
