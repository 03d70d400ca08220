//! `session show|delete`, `sessions`, `metadata`.

use std::process::ExitCode;

use dynamic_sessions::SessionInfo;

use super::{print_json, print_raw};
use crate::cli::{SessionArgs, SessionCommand};
use crate::context::Context;
use crate::error::Result;

/// `session [show]` / `session delete`.
pub async fn session(ctx: &Context, args: SessionArgs) -> Result<ExitCode> {
    let session = ctx.session()?;
    match args.command.unwrap_or(SessionCommand::Show) {
        SessionCommand::Show => {
            let info = session.info().await?;
            if ctx.json() {
                print_json(&info)?;
            } else {
                print_raw(&describe(&info))?;
            }
        }
        SessionCommand::Delete => {
            let id = session.identifier().to_owned();
            session.delete().await?;
            if ctx.json() {
                print_json(&serde_json::json!({ "deleted": id }))?;
            } else {
                print_raw(&format!("deleted session {id}\n"))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `sessions`: the pool's sessions, one per line.
pub async fn sessions(ctx: &Context) -> Result<ExitCode> {
    let client = ctx.client()?;
    let sessions = client.list_sessions().await?;
    if ctx.json() {
        print_json(&sessions)?;
    } else {
        let mut out = String::new();
        for s in &sessions {
            out.push_str(&format!(
                "{}  created {}  expires {}\n",
                s.identifier,
                s.created_at.as_deref().unwrap_or("?"),
                s.expires_at.as_deref().unwrap_or("?")
            ));
        }
        print_raw(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `metadata`: the pool's runtimes and packages.
pub async fn metadata(ctx: &Context) -> Result<ExitCode> {
    let client = ctx.client()?;
    let metadata = client.metadata().await?;
    if ctx.json() {
        print_json(&metadata.raw)?;
    } else {
        let mut out = String::new();
        for r in &metadata.runtimes {
            out.push_str(&format!(
                "runtime  {} {}\n",
                r.name,
                r.version.as_deref().unwrap_or("")
            ));
        }
        if let Some(kernel) = &metadata.jupyter_kernel {
            let name = kernel.get("name").and_then(|v| v.as_str()).unwrap_or("?");
            let version = kernel.get("version").and_then(|v| v.as_str()).unwrap_or("");
            out.push_str(&format!("kernel   {name} {version}\n"));
        }
        for p in &metadata.pre_installed_packages {
            out.push_str(&format!(
                "package  {} {}\n",
                p.name,
                p.version.as_deref().unwrap_or("")
            ));
        }
        print_raw(&out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(info: &SessionInfo) -> String {
    let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".to_owned());
    format!(
        "identifier     {}\ncreated        {}\nlast accessed  {}\nexpires        {}\netag           {}\n",
        info.identifier,
        field(&info.created_at),
        field(&info.last_accessed_at),
        field(&info.expires_at),
        field(&info.etag),
    )
}
