//! Where the endpoint, the session and the credential come from.
//!
//! * endpoint: `--endpoint`, else `POOL_MANAGEMENT_ENDPOINT`;
//! * session: `--session`, else `DYNSESS_SESSION`, else a new UUID (announced on stderr, as
//!   JSON under `--json`);
//! * token: `--token`, else `DYNSESS_TOKEN`, else none for a loopback endpoint, else the default
//!   Azure credential chain.
//!
//! clap reads the environment variables (see [`crate::cli::GlobalArgs`]).

use dynamic_sessions::{ApiVersion, Client, Endpoint, Session};

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};

/// The User-Agent product token of this tool.
pub const USER_AGENT: &str = concat!("dynsess/", env!("CARGO_PKG_VERSION"));

/// The resolved global options.
pub struct Context {
    global: GlobalArgs,
}

impl Context {
    /// Wrap the parsed global options.
    pub fn new(global: GlobalArgs) -> Self {
        Context { global }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.global.json
    }

    /// The api-version to use (the client's default when not given).
    pub fn api_version(&self) -> Result<Option<ApiVersion>> {
        self.global
            .api_version
            .as_deref()
            .map(|v| v.parse::<ApiVersion>().map_err(Error::from))
            .transpose()
    }

    /// The pool endpoint.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let raw = self
            .global
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::msg(
                    "no pool endpoint: pass --endpoint URL or set POOL_MANAGEMENT_ENDPOINT \
                 (for a local pool, run `dynsess serve` and use the URL it prints)",
                )
            })?;
        Ok(Endpoint::parse(raw)?)
    }

    /// A client for the pool.
    pub fn client(&self) -> Result<Client> {
        let endpoint = self.endpoint()?;
        let mut builder = Client::builder(endpoint.as_str()).user_agent(USER_AGENT);
        if let Some(v) = self.api_version()? {
            builder = builder.api_version(v);
        }
        builder = match self
            .global
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(token) => builder.static_token(token.to_owned()),
            None if endpoint.is_loopback() => builder.no_auth(),
            None => builder.default_credential(),
        };
        Ok(builder.build()?)
    }

    /// The session identifier given with --session or DYNSESS_SESSION, if any.
    pub fn given_session_id(&self) -> Option<String> {
        self.global
            .session
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// Whether --endpoint or POOL_MANAGEMENT_ENDPOINT was given.
    pub fn has_endpoint(&self) -> bool {
        self.global
            .endpoint
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty())
    }

    /// The session identifier: the given one, or a new UUID announced on stderr.
    pub fn session_id(&self) -> String {
        match self.given_session_id() {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                if self.json() {
                    // Under --json, every line dynsess writes to stderr is one JSON object.
                    let notice = serde_json::json!({"session": {"identifier": id, "new": true}});
                    eprintln!("{notice}");
                } else {
                    eprintln!(
                        "session: {id} (new; pass --session {id} or set DYNSESS_SESSION to reuse it)"
                    );
                }
                id
            }
        }
    }

    /// The session to work in.
    pub fn session(&self) -> Result<Session> {
        let client = self.client()?;
        let id = self.session_id();
        Ok(client.session(id)?)
    }
}
