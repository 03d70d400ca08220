//! [`ClientBuilder`]: the default stack with your settings and layers.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{Request, Response};
use tower::{Layer, Service};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

use crate::api_version::ApiVersion;
use crate::auth::{
    AccessToken, DEFAULT_SCOPE, FnTokenSource, StaticToken, TokenCache, TokenSource,
};
use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::{BoxError, Error};
use crate::middleware::retry::{RetryConfig, RetryLayer};
use crate::middleware::{auth, deadline, request_id, timeout, trace, user_agent};
use crate::transport::connector::{TransportOptions, parse_root_certificates, pooled};
use crate::transport::{Body, BoxLayer, HttpService, ResponseBody};

enum AuthConfig {
    /// Decided at build time from the endpoint and features.
    Default,
    None,
    Source(Arc<dyn TokenSource>),
    #[cfg(feature = "azure-identity")]
    Azure(Arc<dyn azure_core::credentials::TokenCredential>),
    #[cfg(feature = "azure-identity")]
    DefaultChain,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthConfig::Default => f.write_str("Default"),
            AuthConfig::None => f.write_str("None"),
            AuthConfig::Source(s) => f.debug_tuple("Source").field(s).finish(),
            #[cfg(feature = "azure-identity")]
            AuthConfig::Azure(c) => f.debug_tuple("Azure").field(c).finish(),
            #[cfg(feature = "azure-identity")]
            AuthConfig::DefaultChain => f.write_str("DefaultChain"),
        }
    }
}

/// Builds a [`Client`] with the default stack (see [`crate::middleware`]).
///
/// Defaults: api-version [`ApiVersion::default`]; connect timeout 10 s; per-attempt timeout
/// 250 s (the service stops code after 220 s and still answers); overall timeout 600 s;
/// [`RetryConfig::default`]; scope [`DEFAULT_SCOPE`]. Without an explicit token source, a loopback
/// endpoint gets no auth and any other endpoint the default Azure credential chain (feature
/// `azure-identity`), else `build` fails.
///
/// ```no_run
/// use std::time::Duration;
/// use sessions_core::{Client, RetryConfig};
///
/// # fn main() -> Result<(), sessions_core::Error> {
/// let client = Client::builder("https://eastus.dynamicsessions.io/subscriptions/s/resourceGroups/g/sessionPools/p")
///     .static_token("eyJ0eXAi...")
///     .attempt_timeout(Duration::from_secs(120))
///     .retry(RetryConfig::default().max_attempts(3))
///     .user_agent("my-app/1.2.3")
///     .build()?;
/// # Ok(()) }
/// ```
pub struct ClientBuilder {
    endpoint: String,
    api_version: ApiVersion,
    auth: AuthConfig,
    scope: Option<String>,
    #[cfg(feature = "azure-identity")]
    managed_identity_client_id: Option<String>,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    overall_timeout: Duration,
    token_load_timeout: Duration,
    retry: RetryConfig,
    user_agent: Option<String>,
    layers: Vec<BoxLayer>,
    base_service: Option<HttpService>,
    extra_roots: Vec<RootSource>,
}

/// A root certificate given to the builder, read and parsed by `build`.
#[derive(Debug)]
enum RootSource {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl RootSource {
    fn read(&self) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, Error> {
        match self {
            RootSource::Bytes(b) => parse_root_certificates(b),
            RootSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    Error::io(
                        format!("reading the root certificate file {}", path.display()),
                        e,
                    )
                })?;
                parse_root_certificates(&bytes).map_err(|e| match e {
                    Error::InvalidInput(m) => Error::invalid(format!("{}: {m}", path.display())),
                    other => other,
                })
            }
        }
    }
}

impl fmt::Debug for ClientBuilder {
    // Never prints tokens: token sources print themselves redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientBuilder");
        d.field("endpoint", &self.endpoint)
            .field("api_version", &self.api_version)
            .field("auth", &self.auth)
            .field("scope", &self.scope);
        #[cfg(feature = "azure-identity")]
        d.field(
            "managed_identity_client_id",
            &self.managed_identity_client_id,
        );
        d.field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("overall_timeout", &self.overall_timeout)
            .field("token_load_timeout", &self.token_load_timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field("layers", &self.layers.len())
            .field("custom_base_service", &self.base_service.is_some())
            .field("extra_roots", &self.extra_roots)
            .finish()
    }
}

impl Client {
    /// A builder for a client of the pool at `endpoint` (parsed by [`ClientBuilder::build`]).
    pub fn builder(endpoint: &str) -> ClientBuilder {
        ClientBuilder::new(endpoint)
    }
}

impl ClientBuilder {
    /// The default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A builder for the pool at `endpoint` (its `poolManagementEndpoint`).
    pub fn new(endpoint: &str) -> ClientBuilder {
        ClientBuilder {
            endpoint: endpoint.to_owned(),
            api_version: ApiVersion::default(),
            auth: AuthConfig::Default,
            scope: None,
            #[cfg(feature = "azure-identity")]
            managed_identity_client_id: None,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            attempt_timeout: timeout::TimeoutLayer::DEFAULT,
            overall_timeout: deadline::DeadlineLayer::DEFAULT,
            token_load_timeout: TokenCache::DEFAULT_LOAD_TIMEOUT,
            retry: RetryConfig::default(),
            user_agent: None,
            layers: Vec::new(),
            base_service: None,
            extra_roots: Vec::new(),
        }
    }

    /// The api-version to send (default [`ApiVersion::default`]).
    pub fn api_version(mut self, v: ApiVersion) -> Self {
        self.api_version = v;
        self
    }

    /// Get tokens from `source` (cached and refreshed by the client).
    pub fn token_source(mut self, source: impl TokenSource + 'static) -> Self {
        self.auth = AuthConfig::Source(Arc::new(source));
        self
    }

    /// Send this token on every request; it never expires (a 401 is returned as is).
    pub fn static_token(self, token: impl Into<String>) -> Self {
        self.token_source(StaticToken::new(token))
    }

    /// Get tokens from an async closure that receives the scope.
    pub fn token_fn<F, Fut>(self, f: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<AccessToken, BoxError>> + Send + 'static,
    {
        self.token_source(FnTokenSource::new(f))
    }

    /// Send no `Authorization` header (for the local emulator).
    pub fn no_auth(mut self) -> Self {
        self.auth = AuthConfig::None;
        self
    }

    /// Get tokens from an azure_identity credential.
    #[cfg(feature = "azure-identity")]
    pub fn azure_credential(
        mut self,
        cred: Arc<dyn azure_core::credentials::TokenCredential>,
    ) -> Self {
        self.auth = AuthConfig::Azure(cred);
        self
    }

    /// Use the default credential chain (see [`crate::auth::default_chain`]): workload identity,
    /// managed identity, then developer tools such as `az login`.
    #[cfg(feature = "azure-identity")]
    pub fn default_credential(mut self) -> Self {
        self.auth = AuthConfig::DefaultChain;
        self
    }

    /// The client id of the user-assigned managed identity the default chain should use (also
    /// selects managed identity when `IDENTITY_ENDPOINT` is absent, i.e. IMDS).
    #[cfg(feature = "azure-identity")]
    pub fn managed_identity_client_id(mut self, id: impl Into<String>) -> Self {
        self.managed_identity_client_id = Some(id.into());
        self
    }

    /// The token scope (default [`DEFAULT_SCOPE`]).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The TCP connect timeout (default 10 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// The per-attempt timeout, up to the response headers (default 250 s).
    pub fn attempt_timeout(mut self, d: Duration) -> Self {
        self.attempt_timeout = d;
        self
    }

    /// The overall timeout of a call: attempts, back-off and the response body (default 600 s).
    pub fn overall_timeout(mut self, d: Duration) -> Self {
        self.overall_timeout = d;
        self
    }

    /// How long a token fetch may take (default 30 s).
    pub fn token_load_timeout(mut self, d: Duration) -> Self {
        self.token_load_timeout = d;
        self
    }

    /// Retry settings (default [`RetryConfig::default`]; [`RetryConfig::disabled`] for none).
    pub fn retry(mut self, cfg: RetryConfig) -> Self {
        self.retry = cfg;
        self
    }

    /// A product token put before ours in `User-Agent`, e.g. `"dynsess/0.1.0"`.
    pub fn user_agent(mut self, product: impl Into<String>) -> Self {
        self.user_agent = Some(product.into());
        self
    }

    /// Add a tower layer outside the default stack. Layers added first are outermost (they see
    /// the call first), and each sees a call once, whatever the retries.
    ///
    /// ```no_run
    /// use sessions_core::Client;
    ///
    /// # fn main() -> Result<(), sessions_core::Error> {
    /// let client = Client::builder("http://127.0.0.1:8080/")
    ///     .layer(tower::util::MapRequestLayer::new(|mut req: http::Request<sessions_core::Body>| {
    ///         req.headers_mut().insert("x-tenant", http::HeaderValue::from_static("blue"));
    ///         req
    ///     }))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        self.layers.push(BoxLayer::new(layer));
        self
    }

    /// Replace the connection pool (e.g. a custom connector or a test double), keeping every
    /// other layer. The service also carries identity-endpoint requests of the Azure credentials.
    pub fn base_service(mut self, svc: HttpService) -> Self {
        self.base_service = Some(svc);
        self
    }

    /// Trust this root certificate (or these, for PEM with several) in addition to the default
    /// store: PEM text or one DER-encoded certificate. For the local pool's
    /// `dynsess serve --tls` CA, or a corporate TLS proxy's. Bad input fails
    /// [`build`](ClientBuilder::build) with [`Error::InvalidInput`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), sessions_core::Error> {
    /// let ca = std::fs::read("pool-ca.pem").map_err(|e| sessions_core::Error::io("reading the CA", e))?;
    /// let client = sessions_core::Client::builder("https://127.0.0.1:8443/")
    ///     .add_root_certificate(ca)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn add_root_certificate(mut self, pem_or_der: impl Into<Vec<u8>>) -> Self {
        self.extra_roots.push(RootSource::Bytes(pem_or_der.into()));
        self
    }

    /// Like [`add_root_certificate`](ClientBuilder::add_root_certificate), reading the PEM or
    /// DER file at `path` when the client is built.
    pub fn add_root_certificate_file(mut self, path: impl AsRef<Path>) -> Self {
        self.extra_roots
            .push(RootSource::File(path.as_ref().to_path_buf()));
        self
    }

    /// Build the client. No network I/O, and no tokio runtime needed.
    pub fn build(self) -> Result<Client, Error> {
        let endpoint = Endpoint::parse(&self.endpoint)?;
        let mut options = TransportOptions::default().connect_timeout(self.connect_timeout);
        for source in &self.extra_roots {
            options.extra_roots.extend(source.read()?);
        }
        match self.base_service.clone() {
            Some(_) if !options.extra_roots.is_empty() => Err(Error::invalid(
                "root certificates configure the default connection pool, which base_service \
                 replaces: trust them in your own service's TLS config instead",
            )),
            Some(svc) => self.assemble(endpoint, svc),
            None => self.assemble(endpoint, pooled(&options)?),
        }
    }

    /// The default layers over `base`, composed as concrete types and boxed once: a call then
    /// makes one boxed future and clones no boxed service (see [`HttpService`]).
    fn assemble<B>(&self, endpoint: Endpoint, base: B) -> Result<Client, Error>
    where
        B: Service<Request<Body>, Response = Response<ResponseBody>, Error = BoxError>
            + Clone
            + Send
            + Sync
            + 'static,
        B::Future: Send + 'static,
    {
        let attempt = timeout::TimeoutLayer::new(self.attempt_timeout).layer(base);
        // The token source's own HTTP calls (azure_identity) go through the same pool.
        let token_http = HttpService::new(attempt.clone());
        let auth = match self.resolve_auth(&endpoint, &token_http)? {
            Some(source) => {
                let cache = TokenCache::new(source)
                    .with_scope(
                        self.scope
                            .clone()
                            .unwrap_or_else(|| DEFAULT_SCOPE.to_owned()),
                    )
                    .with_load_timeout(self.token_load_timeout);
                Some(auth::AuthLayer::new(Arc::new(cache)))
            }
            None => None,
        };
        let ua = match &self.user_agent {
            Some(p) => user_agent::UserAgentLayer::with_product(p)?,
            None => user_agent::UserAgentLayer::new(),
        };
        let stack = tower::ServiceBuilder::new()
            .layer(ua)
            .layer(request_id::RequestIdLayer::new())
            .layer(trace::TraceLayer::new())
            .layer(deadline::DeadlineLayer::new(self.overall_timeout))
            .layer(RetryLayer::new(self.retry.clone()))
            .option_layer(auth)
            // Whoever set it (the auth layer, or a caller's own header), it never reaches logs.
            .layer(SetSensitiveRequestHeadersLayer::new([AUTHORIZATION]))
            .service(attempt);
        let mut svc = HttpService::new(stack);
        // The first layer added is the outermost: wrap in reverse order.
        for layer in self.layers.iter().rev() {
            svc = layer.layer(svc);
        }
        Ok(Client::from_service(svc, endpoint, self.api_version))
    }

    /// The token source to use, or `None` for no auth.
    #[cfg_attr(not(feature = "azure-identity"), allow(unused_variables))]
    fn resolve_auth(
        &self,
        endpoint: &Endpoint,
        http: &HttpService,
    ) -> Result<Option<Arc<dyn TokenSource>>, Error> {
        match &self.auth {
            AuthConfig::None => Ok(None),
            AuthConfig::Source(s) => Ok(Some(s.clone())),
            #[cfg(feature = "azure-identity")]
            AuthConfig::Azure(c) => {
                Ok(Some(Arc::new(crate::auth::AzureCredential::new(c.clone()))))
            }
            #[cfg(feature = "azure-identity")]
            AuthConfig::DefaultChain => self.default_chain(http).map(Some),
            AuthConfig::Default if endpoint.is_loopback() => Ok(None),
            #[cfg(feature = "azure-identity")]
            AuthConfig::Default => self.default_chain(http).map(Some),
            #[cfg(not(feature = "azure-identity"))]
            AuthConfig::Default => Err(Error::invalid(
                "no token source configured: call ClientBuilder::token_source, static_token or token_fn \
                 (or enable the `azure-identity` feature for the default Azure credential chain)",
            )),
        }
    }

    #[cfg(feature = "azure-identity")]
    fn default_chain(&self, http: &HttpService) -> Result<Arc<dyn TokenSource>, Error> {
        let options = crate::auth::DefaultChainOptions {
            managed_identity_client_id: self.managed_identity_client_id.clone(),
            ..Default::default()
        };
        let cred = crate::auth::default_chain(http.clone(), &options)?;
        Ok(Arc::new(crate::auth::AzureCredential::new(cred)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use http::HeaderValue;
    use http_body_util::BodyExt;

    use super::*;

    /// A base service that records whether each request's `Authorization` was marked sensitive.
    fn recording(seen: Arc<Mutex<Vec<bool>>>) -> HttpService {
        HttpService::new(tower::service_fn(move |req: Request<Body>| {
            let seen = seen.clone();
            async move {
                let sensitive = req.headers()[AUTHORIZATION].is_sensitive();
                seen.lock().unwrap().push(sensitive);
                let body = http_body_util::Empty::<bytes::Bytes>::new()
                    .map_err(|never| match never {})
                    .boxed_unsync();
                Ok::<_, BoxError>(Response::new(body))
            }
        }))
    }

    #[tokio::test]
    async fn a_callers_own_authorization_is_marked_sensitive_too() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let client = Client::builder("http://127.0.0.1:9/")
            .no_auth()
            .base_service(recording(seen.clone()))
            .layer(tower::util::MapRequestLayer::new(
                |mut req: Request<Body>| {
                    req.headers_mut()
                        .insert(AUTHORIZATION, HeaderValue::from_static("Bearer mine"));
                    req
                },
            ))
            .build()
            .unwrap();
        let mut req = Request::new(Body::empty());
        *req.uri_mut() = "http://127.0.0.1:9/x".parse().unwrap();
        client.send(req).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![true]);
    }
}
