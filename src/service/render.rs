//! Markdown rendering on threads of its own, bounded in cost and in time.
//!
//! Rendering is CPU work that an author controls. It used to run on the
//! blocking pool that database reads wait for, so a few costly bodies made
//! anonymous reads answer 503. Now:
//! - [`markdown::check_cost`] refuses disproportionate nesting first (422);
//! - the render runs on [`THREADS`] dedicated threads fed by a queue of
//!   [`QUEUE`] jobs: a full queue answers 503 at once, and database reads
//!   never share these threads;
//! - a render not finished within [`TIME_LIMIT`] answers 422 naming the
//!   field (its thread finishes the job and moves on: the cost check keeps
//!   that bounded); one still queued at the limit is dropped and answers 503.
//!
//! The threads belong to a [`Renderer`], built once with the `AppState` and
//! handed to the article use cases (no globals: tests build their own). The
//! threads end when the last handle is dropped.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::domain::markdown;
use crate::error::AppError;

/// Render threads (a fraction of the machine: writes are rare).
pub const THREADS: usize = 2;
/// Renders that may wait for a thread.
pub const QUEUE: usize = 16;
/// Longest a render may take, waiting included.
pub const TIME_LIMIT: Duration = Duration::from_secs(3);

/// A body rendered: sanitised HTML and what is derived from its text.
pub struct Body {
    pub html: String,
    /// The plain text (see `markdown::Rendered::text`).
    pub text: String,
    pub pull_quotes: Vec<String>,
    pub excerpt: String,
    pub word_count: usize,
}

const QUEUED: u8 = 0;
const RUNNING: u8 = 1;
const ABANDONED: u8 = 2;

struct Job {
    source: String,
    state: Arc<AtomicU8>,
    reply: oneshot::Sender<Body>,
}

/// Render threads fed by a bounded queue; a cheap handle to clone.
#[derive(Clone)]
pub struct Renderer {
    queue: SyncSender<Job>,
    time_limit: Duration,
}

impl Default for Renderer {
    /// [`THREADS`] threads, [`QUEUE`] waiting jobs, [`TIME_LIMIT`].
    fn default() -> Self {
        Renderer::start(THREADS, QUEUE, TIME_LIMIT)
    }
}

impl Renderer {
    pub fn start(threads: usize, queue: usize, time_limit: Duration) -> Renderer {
        let (tx, rx) = sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("markdown-render-{n}"))
                .spawn(move || work(&rx))
                .expect("spawning a render thread");
        }
        Renderer {
            queue: tx,
            time_limit,
        }
    }

    /// Checks the cost of `source`, then renders it on the render threads
    /// within the time limit. Problems name `field`.
    pub async fn render(&self, source: String, field: &'static str) -> Result<Body, AppError> {
        render_on(self, source, field).await
    }
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // A poisoned lock only means another render thread panicked while
        // holding it; the receiver itself is intact.
        let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A job its caller gave up on while queued is skipped.
        if job
            .state
            .compare_exchange(QUEUED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            continue;
        }
        // A panic in the renderer costs this job, not the thread.
        let source = &job.source;
        if let Ok(body) = std::panic::catch_unwind(|| render_now(source)) {
            let _ = job.reply.send(body);
        }
    }
}

/// Renders on the calling thread (no cost check): what the pool runs.
pub fn render_now(source: &str) -> Body {
    let rendered = markdown::render(source);
    Body {
        excerpt: markdown::excerpt(&rendered.text),
        word_count: markdown::word_count(&rendered.text),
        html: rendered.html,
        text: rendered.text,
        pull_quotes: rendered.pull_quotes,
    }
}

async fn render_on(pool: &Renderer, source: String, field: &'static str) -> Result<Body, AppError> {
    markdown::check_cost(&source).map_err(|message| AppError::field(field, message))?;
    let state = Arc::new(AtomicU8::new(QUEUED));
    let (reply, answer) = oneshot::channel();
    let job = Job {
        source,
        state: Arc::clone(&state),
        reply,
    };
    pool.queue.try_send(job).map_err(|e| match e {
        TrySendError::Full(_) => busy(),
        TrySendError::Disconnected(_) => AppError::internal("the render threads stopped"),
    })?;
    match tokio::time::timeout(pool.time_limit, answer).await {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(AppError::internal("a render thread dropped its job")),
        Err(_) => {
            let never_started = state
                .compare_exchange(QUEUED, ABANDONED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok();
            if never_started {
                Err(busy())
            } else {
                Err(AppError::field(
                    field,
                    format!(
                        "took longer than {} ms to render; simplify its structure",
                        pool.time_limit.as_millis()
                    ),
                ))
            }
        }
    }
}

fn busy() -> AppError {
    AppError::Unavailable("every Markdown renderer is busy; try again shortly".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body within the nesting limits that takes far longer than the
    /// test's time limit to render (about a second).
    fn slow_body() -> String {
        (0..40_000).map(|n| format!("[^{n}]\n\n[^{n}]: x\n")).collect()
    }

    /// The HTTP status an outcome maps to, for the two refusals here.
    fn status(result: &Result<Body, AppError>) -> Option<u16> {
        match result {
            Ok(_) => None,
            Err(AppError::Validation(errors)) if errors[0].field == "body_markdown" => Some(422),
            Err(AppError::Unavailable(_)) => Some(503),
            Err(_) => Some(500),
        }
    }

    #[tokio::test]
    async fn renders_refuses_and_times_out() {
        let pool = Renderer::start(1, 1, Duration::from_secs(30));
        let body = render_on(&pool, "# Hi\n\n> quoted".into(), "body_markdown")
            .await
            .unwrap_or_else(|_| panic!("renders"));
        assert!(body.html.contains("<blockquote>"));
        assert_eq!(body.word_count, 2);
        let deep = render_on(&pool, ">".repeat(32_000), "body_markdown").await;
        assert_eq!(status(&deep), Some(422));

        // One thread, one queue slot, a short limit: the running render
        // overruns (422 naming the field), the queued one is dropped (503),
        // and one more than the queue holds is turned away at once (503).
        let pool = Renderer::start(1, 1, Duration::from_millis(100));
        let (running, queued, turned_away) = tokio::join!(
            render_on(&pool, slow_body(), "body_markdown"),
            async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                render_on(&pool, slow_body(), "body_markdown").await
            },
            async {
                tokio::time::sleep(Duration::from_millis(60)).await;
                render_on(&pool, slow_body(), "body_markdown").await
            },
        );
        assert_eq!(status(&running), Some(422));
        assert_eq!(status(&queued), Some(503));
        assert_eq!(status(&turned_away), Some(503));
    }
}
