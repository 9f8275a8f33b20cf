//! The benchmark's baseline (`cargo xtask bench`): the least a Rust HTTP server can do per
//! request on this machine. Raw hyper (HTTP/1.1, keep-alive) on tokio's multi-threaded runtime:
//! it reads the whole request body and answers it back as `application/json`, with no routing,
//! parsing, logging or storage. Every Botwire figure of the benchmark is divided by this one's.
//!
//! Usage: `botwire-bench-echo ADDR` (e.g. `127.0.0.1:0`); prints `listening on ADDR` once bound.

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::io::Write;

async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // A body that fails to arrive (the client went away) is answered empty; nobody reads it.
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut response = Response::new(Full::new(body));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(&addr).await?;
            let mut stdout = std::io::stdout();
            writeln!(stdout, "listening on {}", listener.local_addr()?)?;
            stdout.flush()?;
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(async move {
                    // A connection error (a reset by the load generator at the end) ends only
                    // that connection.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(echo))
                        .await;
                });
            }
        })
}
