//! Custom-container pools: `Session::request` passes any request through to the session's
//! container (`endpoint + path`, with `identifier` added), through the same stack (auth, retry,
//! timeouts) as the typed calls. Any status comes back as-is, body unread.
//!
//! Against the local pool (a code-interpreter pool) it shows the request shape with the pool's
//! own routes; against a real custom-container pool, use your container's paths.
//!
//! Run: `cargo run --example custom_container`

use std::process::ExitCode;

use dynamic_sessions::{Body, Client};
use examples::{Needs, Pool, Result, exit_code, one_line, with_pool_auth};
use http::Method;
use http_body_util::BodyExt;

#[tokio::main]
async fn main() -> ExitCode {
    exit_code(run().await)
}

async fn run() -> Result<()> {
    println!("custom_container: raw requests through Session::request");
    let pool = Pool::from_env_or_local(Needs::Python).await?;

    // A layer that prints each request as it leaves (shape only; the body is never read here).
    let show = tower::util::MapRequestLayer::new(|req: http::Request<Body>| {
        println!("  → {} {}", req.method(), req.uri());
        if let Some(ct) = req.headers().get(http::header::CONTENT_TYPE) {
            println!("    content-type: {}", ct.to_str().unwrap_or("?"));
        }
        req
    });
    let builder = Client::builder(pool.endpoint.as_str()).layer(show);
    let builder = with_pool_auth(builder, &pool.endpoint);
    let session = builder.build()?.new_session();
    println!("session: {}", session.identifier());

    // A GET with its own query: the client adds `identifier` and nothing else (the container
    // defines its own API, so no api-version is added).
    let response = session
        .request(
            Method::GET,
            "metadata?api-version=2025-10-02-preview",
            Body::empty(),
        )
        .await?;
    show_response(response).await?;

    // A POST with a JSON body.
    let body = r#"{"codeInputType":"Inline","executionType":"Synchronous","code":"print('hello through the pass-through')"}"#;
    let request_path = "executions?api-version=2025-10-02-preview";
    let response = session
        .request(Method::POST, request_path, Body::from(body))
        .await?;
    show_response(response).await?;

    // An unknown route: the status comes back as-is, it is not turned into an error.
    let response = session
        .request(Method::GET, "api/health", Body::empty())
        .await?;
    show_response(response).await?;

    // Bad paths are refused before anything is sent.
    match session
        .request(Method::GET, "../other-pool/files", Body::empty())
        .await
    {
        Err(e) => println!("  refused locally: {e}"),
        Ok(r) => println!("  unexpectedly sent: {}", r.status()),
    }

    session.delete().await?;
    pool.shutdown().await;
    Ok(())
}

async fn show_response(
    response: http::Response<dynamic_sessions::transport::ResponseBody>,
) -> Result<()> {
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    println!(
        "  ← {status}: {}",
        one_line(&String::from_utf8_lossy(&bytes), 110)
    );
    Ok(())
}
