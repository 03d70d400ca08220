//! One MCP client's server: its own pool session, the tools and the resources.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListResourcesResult,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use sessions_core::{ExecuteRequest, ListOptions, Session, ShellRequest, Upload};
use tokio::sync::Mutex;

use crate::content::{self, FileContent};
use crate::lease::{self, Lease, LeasePool};
use crate::tools::{self, ArgError, Args, PoolKind, names};

/// What every client's handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) leases: LeasePool,
    pub(crate) pinned: Option<Session>,
    pub(crate) kind: PoolKind,
    pub(crate) max_download_bytes: u64,
}

/// The session of one client: pinned, or leased on first use.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    lease: Mutex<Option<Lease>>,
    /// Set when the session was deleted for being idle and a new one replaced it.
    renewed: std::sync::atomic::AtomicBool,
}

impl Slot {
    /// Mark the session as used now (after a call, so a long run does not count as idle).
    async fn touch(&self) {
        if let Some(lease) = self.lease.lock().await.as_ref() {
            lease.session();
        }
    }

    /// Delete the client's session (if it has one) now.
    pub(crate) async fn release(&self) {
        let lease = self.lease.lock().await.take();
        if let Some(Err(e)) =
            futures_util::future::OptionFuture::from(lease.map(Lease::release)).await
        {
            tracing::warn!(error = %e, "could not delete a client's session");
        }
    }
}

/// The MCP server for one client (a stdio process, or one `Mcp-Session-Id`). Dropping it deletes
/// its pool session.
#[derive(Debug)]
pub struct ClientHandler {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
}

type ToolOutcome = Result<CallToolResult, String>;

impl ClientHandler {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        ClientHandler {
            shared,
            slot: Arc::new(Slot::default()),
        }
    }

    pub(crate) fn slot(&self) -> Arc<Slot> {
        self.slot.clone()
    }

    /// The client's session, leasing a new one when it has none (or it expired while idle).
    async fn session(&self) -> Result<Session, String> {
        if let Some(pinned) = &self.shared.pinned {
            return Ok(pinned.clone());
        }
        let mut slot = self.slot.lease.lock().await;
        if let Some(session) = slot.as_ref().and_then(|l| l.session()) {
            return Ok(session.clone());
        }
        if slot.is_some() {
            // The idle timeout deleted it: say so, since variables and files are gone.
            self.slot.renewed.store(true, Ordering::Release);
        }
        let lease = self
            .shared
            .leases
            .acquire()
            .await
            .map_err(|e| e.to_string())?;
        let session = lease.session().cloned().ok_or("the new session expired")?;
        *slot = Some(lease);
        Ok(session)
    }

    async fn call(
        &self,
        params: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<ToolOutcome, ErrorData> {
        let args = Args::new(params.arguments.as_ref());
        let outcome = match (&*params.name, self.shared.kind) {
            (names::CODE_INTERPRETER, PoolKind::Python) => self.run_code(&args, context).await,
            (names::RUN_SHELL, PoolKind::Shell) => self.run_shell(&args).await,
            (names::UPLOAD_FILE, _) => self.upload(&args).await,
            (names::LIST_FILES, _) => self.list(&args).await,
            (names::DOWNLOAD_FILE, _) => self.download(&args).await,
            (names::DELETE_FILE, _) => self.delete(&args).await,
            (names::RESET_SESSION, _) => self.reset(&args).await,
            (other, _) => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool `{other}`: see tools/list"),
                    None,
                ));
            }
        };
        Ok(outcome)
    }

    async fn run_code(&self, args: &Args<'_>, context: &RequestContext<RoleServer>) -> ToolOutcome {
        args.only(&[llm_tools::definition::CODE_PARAMETER])
            .map_err(arg)?;
        let code = args
            .string(llm_tools::definition::CODE_PARAMETER)
            .map_err(arg)?;
        let session = self.session().await?;
        let run = session.execute_with(ExecuteRequest::new(code));
        let run = with_progress(run, context).await;
        let run = run.map_err(|e| format!("the run could not complete: {e}"))?;
        notify_files_changed(context).await;
        Ok(content::execution(&run))
    }

    async fn run_shell(&self, args: &Args<'_>) -> ToolOutcome {
        args.only(&["command", "stdin"]).map_err(arg)?;
        let mut request = ShellRequest::new(args.string("command").map_err(arg)?);
        if let Some(stdin) = args.opt_string("stdin").map_err(arg)? {
            request = request.stdin(stdin);
        }
        let session = self.session().await?;
        let run = session
            .shell_with(request)
            .await
            .map_err(|e| format!("the command could not complete: {e}"))?;
        Ok(content::execution(&run))
    }

    async fn upload(&self, args: &Args<'_>) -> ToolOutcome {
        args.only(&["name", "content", "content_base64", "path"])
            .map_err(arg)?;
        let name = args.string("name").map_err(arg)?;
        let bytes = match (
            args.opt_string("content").map_err(arg)?,
            args.opt_string("content_base64").map_err(arg)?,
        ) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("argument `content_base64` is not valid base64: {e}"))?,
            _ => {
                return Err(
                    "give exactly one of the arguments `content` (text) or `content_base64` (bytes)"
                        .into(),
                );
            }
        };
        let mut upload = Upload::bytes(name, bytes);
        if let Some(path) = args.opt_string("path").map_err(arg)? {
            upload = upload.in_dir(path);
        }
        let session = self.session().await?;
        let file = session
            .files()
            .upload(upload)
            .await
            .map_err(|e| format!("could not upload `{name}`: {e}"))?;
        Ok(content::text(format!(
            "uploaded /mnt/data/{} ({} bytes)",
            file.relative_path(),
            file.size.unwrap_or_default()
        )))
    }

    async fn list(&self, args: &Args<'_>) -> ToolOutcome {
        args.only(&["path", "recursive"]).map_err(arg)?;
        let mut options = ListOptions::default();
        if let Some(path) = args.opt_string("path").map_err(arg)? {
            options = options.path(path);
        }
        if let Some(recursive) = args.opt_bool("recursive").map_err(arg)? {
            options = options.recursive(recursive);
        }
        let session = self.session().await?;
        let files = session
            .files()
            .list_with(options)
            .await
            .map_err(|e| format!("could not list the files: {e}"))?;
        Ok(content::listing(&files))
    }

    async fn download(&self, args: &Args<'_>) -> ToolOutcome {
        args.only(&["name", "path"]).map_err(arg)?;
        let name = tools::join_path(
            args.opt_string("path").map_err(arg)?,
            args.string("name").map_err(arg)?,
        );
        let file = self.read_file(&name).await?;
        Ok(file.into_tool_result(&content::file_uri(&name)))
    }

    /// Read a file, refusing it (before reading it all) when it is over the size cap.
    async fn read_file(&self, name: &str) -> Result<FileContent, String> {
        let cap = self.shared.max_download_bytes;
        let session = self.session().await?;
        let download = session
            .files()
            .download(name)
            .await
            .map_err(|e| format!("could not download `{name}`: {e}"))?;
        let too_big = |size: u64| {
            format!(
                "`{name}` is {size} bytes, over the download cap of {cap} bytes: read part of it \
                 with code, or raise the cap (--max-download-bytes)"
            )
        };
        if let Some(size) = download.content_length().filter(|s| *s > cap) {
            return Err(too_big(size));
        }
        let bytes = download
            .bytes()
            .await
            .map_err(|e| format!("could not download `{name}`: {e}"))?;
        if bytes.len() as u64 > cap {
            return Err(too_big(bytes.len() as u64));
        }
        Ok(FileContent::classify(name, &bytes))
    }

    async fn delete(&self, args: &Args<'_>) -> ToolOutcome {
        args.only(&["name", "path"]).map_err(arg)?;
        let name = tools::join_path(
            args.opt_string("path").map_err(arg)?,
            args.string("name").map_err(arg)?,
        );
        let session = self.session().await?;
        session
            .files()
            .delete(&name)
            .await
            .map_err(|e| format!("could not delete `{name}`: {e}"))?;
        Ok(content::text(format!("deleted /mnt/data/{name}")))
    }

    async fn reset(&self, args: &Args<'_>) -> ToolOutcome {
        args.only(&[]).map_err(arg)?;
        match &self.shared.pinned {
            Some(pinned) => {
                lease::retry_capacity(|| pinned.delete())
                    .await
                    .or_else(|e| match e.status().map(|s| s.as_u16()) {
                        Some(404) => Ok(()),
                        _ => Err(format!("could not reset the session: {e}")),
                    })?;
            }
            None => self.slot.release().await,
        }
        Ok(content::text(
            "the session was deleted; the next call starts a new, empty one",
        ))
    }
}

fn arg(e: ArgError) -> String {
    e.0
}

/// Await a run, sending a progress notification every few seconds when the client asked for it.
async fn with_progress<F: std::future::Future>(
    run: F,
    context: &RequestContext<RoleServer>,
) -> F::Output {
    let Some(token) = context.meta.get_progress_token() else {
        return run.await;
    };
    const EVERY: Duration = Duration::from_secs(2);
    tokio::pin!(run);
    let started = tokio::time::Instant::now();
    let mut ticker = tokio::time::interval_at(started + EVERY, EVERY);
    loop {
        tokio::select! {
            out = &mut run => return out,
            _ = ticker.tick() => {
                let secs = started.elapsed().as_secs_f64();
                let note = ProgressNotificationParam::new(token.clone(), secs)
                    .with_message(format!("running for {secs:.0} s"));
                let _ = context.peer.notify_progress(note).await;
            }
        }
    }
}

async fn notify_files_changed(context: &RequestContext<RoleServer>) {
    // A client that does not listen is fine; the notification is advisory.
    let _ = context.peer.notify_resource_list_changed().await;
}

impl ServerHandler for ClientHandler {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_resources_list_changed()
                .build(),
        );
        config.server_info.name = "dynsess".into();
        config.server_info.version = env!("CARGO_PKG_VERSION").into();
        config.instructions = Some(
            "A sandboxed session of its own for this client: run code, then move files in and \
             out of /mnt/data. The session is deleted when the client disconnects."
                .into(),
        );
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools::definitions(
            self.shared.kind,
        )))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let mut result = match self.call(&request, &context).await? {
            Ok(result) => result,
            Err(message) => content::error(message),
        };
        self.slot.touch().await;
        if self.slot.renewed.swap(false, Ordering::AcqRel) {
            let note = "note: the previous session was deleted after being idle; this call ran in \
                        a new, empty session (earlier variables and files are gone)";
            result.content.insert(0, ContentBlock::text(note));
        }
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let session = self.session().await.map_err(internal)?;
        let files = session
            .files()
            .list_with(ListOptions::default().recursive(true))
            .await
            .map_err(|e| internal(format!("could not list the files: {e}")))?;
        let resources: Vec<_> = files
            .iter()
            .filter(|f| f.kind == sessions_core::FileKind::File)
            .map(|f| {
                let path = f.relative_path();
                let mime = mime_guess::from_path(&path).first_raw();
                json!({
                    "uri": content::file_uri(&path),
                    "name": path,
                    "mimeType": mime,
                    "size": f.size,
                })
            })
            .collect();
        serde_json::from_value(json!({ "resources": resources }))
            .map_err(|e| internal(e.to_string()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let Some(relative) = content::relative_from_uri(&request.uri) else {
            return Err(ErrorData::resource_not_found(
                format!(
                    "`{}` is not a file of this session (sandbox:/mnt/data/...)",
                    request.uri
                ),
                None,
            ));
        };
        let file = self
            .read_file(relative)
            .await
            .map_err(|e| ErrorData::resource_not_found(e, None))?;
        Ok(ReadResourceResult::new(vec![file.into_resource(&request.uri)]).into())
    }
}

fn internal(message: impl Into<String>) -> ErrorData {
    ErrorData::internal_error(message.into(), None)
}
