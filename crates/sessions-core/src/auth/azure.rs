//! azure_identity credentials as a [`TokenSource`], and the default credential chain.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    DeveloperToolsCredential, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use futures_util::future::BoxFuture;

use super::azure_http::HyperHttpClient;
use super::{AccessToken, TokenSource};
use crate::error::{BoxError, Error};
use crate::transport::HttpService;

/// Any azure_identity credential as a [`TokenSource`].
#[derive(Clone)]
pub struct AzureCredential {
    credential: Arc<dyn TokenCredential>,
}

impl AzureCredential {
    /// Wrap a credential.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        AzureCredential { credential }
    }
}

impl fmt::Debug for AzureCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // azure_identity's Debug impls print no secrets; still, keep only the type-level view.
        f.debug_tuple("AzureCredential")
            .field(&self.credential)
            .finish()
    }
}

impl TokenSource for AzureCredential {
    fn token<'a>(&'a self, scope: &'a str) -> BoxFuture<'a, Result<AccessToken, BoxError>> {
        Box::pin(async move {
            let t = self
                .credential
                .get_token(&[scope], None)
                .await
                .map_err(|e| {
                    Box::new(Error::Auth {
                        message: e.to_string(),
                        source: Some(Box::new(e)),
                    }) as BoxError
                })?;
            Ok(AccessToken::new(
                t.token.secret(),
                SystemTime::from(t.expires_on),
            ))
        })
    }
}

/// How [`default_chain`] picks a credential.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct DefaultChainOptions {
    /// The client id of a user-assigned managed identity. When unset, `AZURE_CLIENT_ID` is used
    /// if present, else the system-assigned identity. Setting it also selects managed identity
    /// when `IDENTITY_ENDPOINT` is absent (IMDS, e.g. on a VM).
    pub managed_identity_client_id: Option<String>,
    /// Use managed identity through IMDS even without `IDENTITY_ENDPOINT` (Azure VMs, AKS
    /// without workload identity). Also enabled by the env var `AZURE_SESSIONS_USE_IMDS=1`.
    pub use_imds: bool,
}

impl DefaultChainOptions {
    /// Options with a user-assigned managed identity's client id.
    pub fn managed_identity_client_id(mut self, id: impl Into<String>) -> Self {
        self.managed_identity_client_id = Some(id.into());
        self
    }

    /// Opt in to IMDS managed identity.
    pub fn use_imds(mut self, yes: bool) -> Self {
        self.use_imds = yes;
        self
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The default credential, chosen once from the environment (no network I/O):
///
/// 1. `AZURE_FEDERATED_TOKEN_FILE` set: [`WorkloadIdentityCredential`] (AKS workload identity;
///    also reads `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`);
/// 2. `IDENTITY_ENDPOINT` set (Container Apps, App Service, Functions), or IMDS opted in, or a
///    managed-identity client id given: [`ManagedIdentityCredential`];
/// 3. otherwise [`DeveloperToolsCredential`] (`az login`, then `azd auth login`).
///
/// Credentials that call an identity endpoint send their requests through `http` (our hyper
/// stack), so no reqwest and no second TLS provider is involved.
pub fn default_chain(
    http: HttpService,
    options: &DefaultChainOptions,
) -> Result<Arc<dyn TokenCredential>, Error> {
    let client_options = || ClientOptions {
        transport: Some(Transport::new(Arc::new(HyperHttpClient::new(http.clone())))),
        ..Default::default()
    };
    let map = |e: azure_core::Error| Error::Auth {
        message: e.to_string(),
        source: Some(Box::new(e)),
    };
    if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
        tracing::debug!("default credential: workload identity");
        let mut opts = WorkloadIdentityCredentialOptions::default();
        opts.credential_options.client_options = client_options();
        return Ok(WorkloadIdentityCredential::new(Some(opts)).map_err(map)?);
    }
    let imds =
        options.use_imds || env("AZURE_SESSIONS_USE_IMDS").is_some_and(|v| v == "1" || v == "true");
    if env("IDENTITY_ENDPOINT").is_some() || imds || options.managed_identity_client_id.is_some() {
        let client_id = options
            .managed_identity_client_id
            .clone()
            .or_else(|| env("AZURE_CLIENT_ID"));
        tracing::debug!(
            user_assigned = client_id.is_some(),
            "default credential: managed identity"
        );
        let opts = ManagedIdentityCredentialOptions {
            user_assigned_id: client_id.map(UserAssignedId::ClientId),
            client_options: client_options(),
        };
        return Ok(ManagedIdentityCredential::new(Some(opts)).map_err(map)?);
    }
    tracing::debug!("default credential: developer tools (az login)");
    Ok(DeveloperToolsCredential::new(None).map_err(map)?)
}
