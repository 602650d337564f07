//! Exports as served: the client asked for an operation's answer as CSV,
//! XLSX or PDF (`keel-export` renders it by the columns the operation
//! declares). An operation that pages declares where its cursor is, and
//! the export follows it, calling the plugin for each page as the request
//! did for the first: a CSV streams page by page in bounded memory,
//! however many rows; a workbook or PDF gathers its pages first, up to
//! what such a file holds well.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::Frame;
use keel_export::Format;
use keel_host::{CallGuard, Invocation, Plugin};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::problem::Problem;
use crate::state::AppState;

/// Most rows a workbook or PDF export gathers.
const WHOLE_ROWS_MAX: usize = 100_000;
/// Most rows a streamed CSV export writes.
const STREAMED_ROWS_MAX: usize = 10_000_000;

/// An export a client asked for.
pub(crate) struct Wanted {
    pub(crate) format: Format,
    pub(crate) export: keel_manifest::Export,
    pub(crate) operation: String,
}

/// What a printed export says of the request.
pub(crate) struct Said {
    pub(crate) tenant: String,
    pub(crate) parameters: String,
}

/// The answer to an export: `first` is the plugin's answer to the request;
/// `template` calls for the pages after it.
pub(crate) async fn respond(
    state: &AppState,
    plugin: Arc<Plugin>,
    template: Invocation,
    first: Vec<u8>,
    wanted: Wanted,
    said: Said,
) -> Result<Response, Problem> {
    let Wanted { format, export, operation } = wanted;
    let (mut rows, mut next) =
        keel_export::page(&first, &export).map_err(|e| bad(&operation, &e))?;
    if format == Format::Csv && next.is_some() {
        let pages =
            Pages { state: state.clone(), plugin, template, export, operation: operation.clone() };
        return Ok(download(format, &operation, axum::body::Body::new(pages.stream(rows, next))));
    }
    while let Some(cursor) = next.take() {
        if rows.len() > WHOLE_ROWS_MAX {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!(
                    "{operation} has more than {WHOLE_ROWS_MAX} rows, more than a {} holds \
                     well; ask for CSV, which streams any number, or for fewer",
                    format.extension()
                ),
            ));
        }
        let answer = next_page(state, &plugin, &template, &cursor, &operation).await?;
        let (more, after) = keel_export::page(&answer, &export).map_err(|e| bad(&operation, &e))?;
        rows.extend(more);
        next = after;
    }
    // Compressing a workbook is work for a blocking thread, not for the
    // async workers that serve every tenant.
    let name = operation.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let heading = keel_export::Heading {
            operation: &name,
            tenant: &said.tenant,
            parameters: &said.parameters,
        };
        keel_export::render_rows(format, &rows, &export, &heading)
    })
    .await
    .map_err(|err| Problem::internal(&err))?;
    let bytes = rendered.map_err(|err| bad(&operation, &err))?;
    Ok(download(format, &operation, axum::body::Body::from(bytes)))
}

/// A 200 with `body`, typed and named for download.
pub(crate) fn download(format: Format, operation: &str, body: axum::body::Body) -> Response {
    let mut http = (StatusCode::OK, body).into_response();
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    let disposition = format!("attachment; filename=\"{operation}.{}\"", format.extension());
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    http
}

fn bad(operation: &str, err: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_GATEWAY,
        "plugin-bad-response",
        format!("operation {operation} declares an export, but {err}"),
    )
}

/// The plugin's answer for the page at `cursor`: the request again, with
/// the cursor, as a call of its own (its own deadline, its own give-up).
async fn next_page(
    state: &AppState,
    plugin: &Arc<Plugin>,
    template: &Invocation,
    cursor: &str,
    operation: &str,
) -> Result<Vec<u8>, Problem> {
    let mut invocation = template.clone();
    invocation.guard = CallGuard::default();
    invocation.request.query.retain(|(name, _)| name != "cursor");
    invocation.request.query.push(("cursor".to_owned(), cursor.to_owned()));
    let response = crate::calls::run(state, Arc::clone(plugin), invocation).await?;
    if response.status != 200 {
        let answer = String::from_utf8_lossy(&response.body);
        let err = format!("its page after {cursor:?} answered {}: {answer}", response.status);
        return Err(bad(operation, &err));
    }
    Ok(response.body)
}

/// The pages after the first of a CSV export, fetched as the client reads.
struct Pages {
    state: AppState,
    plugin: Arc<Plugin>,
    template: Invocation,
    export: keel_manifest::Export,
    operation: String,
}

impl Pages {
    /// A body that starts with `rows` under the header and goes on with
    /// each page after `next`, fetched by a task that stays at most a few
    /// pages ahead of the client (so memory stays bounded); a page that
    /// fails ends the body with an error, which the client sees as a
    /// download cut short.
    fn stream(self, rows: Vec<Value>, next: Option<String>) -> Chunks {
        let (sender, receiver) = mpsc::channel(2);
        let first = keel_export::csv_lines(&self.export, &rows, true);
        tokio::spawn(async move {
            if sender.send(Ok(Bytes::from(first))).await.is_err() {
                return;
            }
            let (mut written, mut next) = (rows.len(), next);
            while let Some(cursor) = next.take() {
                if written > STREAMED_ROWS_MAX {
                    let stop = format!("an export stops at {STREAMED_ROWS_MAX} rows");
                    let _ = sender.send(Err(std::io::Error::other(stop))).await;
                    return;
                }
                let page =
                    next_page(&self.state, &self.plugin, &self.template, &cursor, &self.operation)
                        .await
                        .and_then(|answer| {
                            keel_export::page(&answer, &self.export)
                                .map_err(|e| bad(&self.operation, &e))
                        });
                let chunk = match page {
                    Ok((rows, after)) => {
                        written += rows.len();
                        next = after;
                        Ok(Bytes::from(keel_export::csv_lines(&self.export, &rows, false)))
                    }
                    Err(problem) => {
                        tracing::warn!(operation = %self.operation, error = %problem.detail(), "an export stopped short");
                        Err(std::io::Error::other(problem.detail().to_owned()))
                    }
                };
                let failed = chunk.is_err();
                if sender.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Chunks(receiver)
    }
}

/// A response body of the chunks a task sends.
struct Chunks(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl hyper::body::Body for Chunks {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|chunk| chunk.map(Frame::data)))
    }
}
