//! The delivery threads, off the request path: one poller that runs the
//! dispatcher and claims due deliveries, and `WEBHOOK_DELIVERY_THREADS`
//! senders that make the attempts and record them.
//!
//! The poller claims again as soon as a sender finishes (each finish wakes
//! it), and keeps up to [`AHEAD`] claimed deliveries per sender queued, so
//! a fast receiver is sent to as fast as the threads can go rather than at
//! one claim per poll.
//!
//! A claim sets a lease of [`LEASE`] on the delivery; an instance killed
//! mid-attempt leaves it leased, and it is due again when the lease runs
//! out. With several instances, PostgreSQL's `FOR UPDATE SKIP LOCKED` hands
//! each due delivery to one claimer; SQLite's single writer does the same.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use super::{DeliveryRow, EndpointRow, Presenter};
use crate::db::webhooks::{self as store, AttemptRow};
use crate::db::{Db, DbConnection};
use crate::domain::date;
use crate::domain::webhook::{self, WebhookSettings};
use crate::error::AppError;
use crate::infra::metrics::WebhookMetrics;
use crate::infra::webhook_sender::{self, Outcome};

/// How often the poller looks for changes and due deliveries when no
/// sender has woken it.
pub const POLL: Duration = Duration::from_millis(250);
/// Claimed deliveries queued per sender thread, beyond the one it sends:
/// enough that a sender never waits for the next claim, few enough that a
/// stalled instance holds little under lease.
const AHEAD: usize = 2;
/// How long a claim holds a delivery: longer than an attempt can take (a
/// slow resolver, up to about 30 s with glibc's retries, then the 10 s
/// request, then recording it). An attempt that still outlives it records
/// its log line but not its outcome (`db::webhooks::finish_attempt`).
pub const LEASE: Duration = Duration::from_secs(120);
/// The longest one attempt can take (resolver, connect, the 10 s request,
/// recording it). A queued delivery with less than this left of its lease
/// is given back rather than sent: its lease could run out mid-attempt and
/// another claimer send it a second time.
const ATTEMPT_MAX: Duration = Duration::from_secs(50);
const QUEUE_EVERY: Duration = Duration::from_secs(5);
/// How often finished deliveries past `KEEP_FINISHED` are deleted; the
/// first time this long after start, not at once.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// The running threads; they stop when this is dropped.
pub struct Running {
    stop: Arc<AtomicBool>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

struct Shared {
    db: Db,
    settings: WebhookSettings,
    metrics: WebhookMetrics,
    stop: Arc<AtomicBool>,
    /// Deliveries claimed and not yet recorded (queued or being sent).
    in_flight: AtomicUsize,
}

type Job = (DeliveryRow, EndpointRow);

/// Starts the poller and the senders.
pub fn start(
    db: Db,
    settings: WebhookSettings,
    present: Arc<dyn Presenter>,
    metrics: WebhookMetrics,
) -> Running {
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared {
        db,
        settings,
        metrics,
        stop: stop.clone(),
        in_flight: AtomicUsize::new(0),
    });
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let (wake, woken) = mpsc::channel::<()>();
    for n in 0..shared.settings.threads {
        let (shared, receiver, wake) = (shared.clone(), receiver.clone(), wake.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("webhook-sender-{n}"))
            .spawn(move || send_loop(&shared, &receiver, &wake));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a webhook sender thread");
        }
    }
    let spawned = std::thread::Builder::new()
        .name("webhook-poller".into())
        .spawn(move || poll_loop(&shared, present.as_ref(), sender, &woken));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the webhook poller: no webhooks will be sent");
    }
    Running { stop }
}

fn poll_loop(shared: &Shared, present: &dyn Presenter, jobs: mpsc::Sender<Job>, woken: &mpsc::Receiver<()>) {
    let capacity = shared.settings.threads * (1 + AHEAD);
    let mut last_dispatch = Instant::now();
    let mut dispatch_now = true;
    let mut queue_now = true;
    let mut last_queue = Instant::now();
    let mut last_purge = Instant::now();
    while !shared.stop.load(Ordering::Acquire) {
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = Instant::now();
            purge(shared);
        }
        // On its own clock: a wake per finished attempt must not turn into
        // a change-log read per delivery. At once again while a backlog
        // is being queued.
        if dispatch_now || last_dispatch.elapsed() >= POLL {
            last_dispatch = Instant::now();
            dispatch_now = match super::dispatch::dispatch_once(&shared.db, present) {
                Ok(done) => done.more,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook dispatch failed; retrying");
                    false
                }
            };
        }
        let free = capacity.saturating_sub(shared.in_flight.load(Ordering::Acquire));
        // Claim when a sender's worth of room is free, not for every slot,
        // so a busy queue is refilled in batches.
        if free >= shared.settings.threads.min(capacity) {
            match claim(shared, free) {
                Ok(claimed) => {
                    for job in claimed {
                        shared.in_flight.fetch_add(1, Ordering::AcqRel);
                        if jobs.send(job).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
            }
        }
        if queue_now || last_queue.elapsed() >= QUEUE_EVERY {
            (queue_now, last_queue) = (false, Instant::now());
            if let Ok(depth) = shared.db.read_blocking(|conn| Ok(store::queue_depth(conn)?)) {
                shared.metrics.queue.set(depth);
            }
        }
        // Until a sender finishes or the poll comes round; the finishes
        // that arrived meanwhile are one wake.
        match woken.recv_timeout(if dispatch_now { Duration::ZERO } else { POLL }) {
            Ok(()) => while woken.try_recv().is_ok() {},
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(POLL),
        }
    }
}

fn purge(shared: &Shared) {
    match super::purge_finished(&shared.db, date::now()) {
        Ok(0) => {}
        Ok(n) => tracing::info!(deliveries = n, "purged finished webhook deliveries"),
        Err(e) => tracing::warn!(error = %e, "purging finished webhook deliveries failed; retrying later"),
    }
}

/// Claims up to `limit` due deliveries, with their endpoints. Reads first
/// (uncounted, no write lock) so an idle instance writes nothing.
fn claim(shared: &Shared, limit: usize) -> Result<Vec<Job>, AppError> {
    let now = date::now();
    let any = shared.db.read_blocking(|conn| Ok(store::any_due(conn, now)?))?;
    if !any {
        return Ok(Vec::new());
    }
    let lease = now + LEASE;
    shared.db.write_blocking(|conn| {
        let rows = store::claim_due(conn, now, lease, limit as i64)?;
        let mut jobs = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(endpoint) = store::find_endpoint(conn, row.endpoint_id)? {
                jobs.push((row, endpoint));
            }
        }
        Ok(jobs)
    })
}

fn send_loop(shared: &Shared, jobs: &Mutex<mpsc::Receiver<Job>>, wake: &mpsc::Sender<()>) {
    loop {
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv_timeout(POLL),
            Err(_) => return,
        };
        match job {
            Ok((delivery, endpoint)) => {
                // Counted out however the job ends (a panic included), so
                // the poller's room never shrinks for good.
                let _slot = Slot { shared, wake };
                let lease_left = delivery
                    .lease_until
                    .map_or(Duration::ZERO, |l| (l - date::now()).to_std().unwrap_or_default());
                if shared.stop.load(Ordering::Acquire) || lease_left < ATTEMPT_MAX {
                    give_back(shared, &delivery);
                } else {
                    attempt(shared, delivery, endpoint);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if !shared.stop.load(Ordering::Acquire) => {}
            Err(_) => return,
        }
    }
}

/// One claimed delivery in a sender's hands: when it goes, the poller has
/// room for one more and is woken to claim it.
struct Slot<'a> {
    shared: &'a Shared,
    wake: &'a mpsc::Sender<()>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        // The poller may be gone (shutting down); nothing to wake then.
        let _ = self.wake.send(());
    }
}

/// A claim not acted on goes back to the queue at once instead of waiting
/// out its lease (an instance stopping, or a job queued too long).
fn give_back(shared: &Shared, delivery: &DeliveryRow) {
    let Some(lease) = delivery.lease_until else { return };
    if let Err(e) = shared
        .db
        .write_blocking(|conn| Ok(store::release_lease(conn, delivery.id, lease)?))
    {
        tracing::warn!(error = %e, delivery = delivery.id, "giving back a webhook claim failed; its lease will run out");
    }
}

/// Makes one attempt and records it.
fn attempt(shared: &Shared, delivery: DeliveryRow, endpoint: EndpointRow) {
    let timestamp = chrono::Utc::now().timestamp();
    let outcome = match webhook::sign(
        &endpoint.secret,
        &delivery.message_id,
        timestamp,
        delivery.payload.as_bytes(),
    ) {
        Some(signature) => {
            let headers = [
                ("webhook-id", delivery.message_id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ];
            webhook_sender::send(
                &endpoint.url,
                &headers,
                delivery.payload.as_bytes(),
                shared.settings.allow_private_targets,
            )
        }
        None => Outcome {
            status: None,
            duration: Duration::ZERO,
            error: Some("the endpoint's secret is not a whsec_ secret".into()),
            body: None,
        },
    };
    if outcome.succeeded() {
        shared.metrics.sent.inc();
    } else {
        shared.metrics.failed.inc();
    }
    let settings = &shared.settings;
    let recorded = shared
        .db
        .write_blocking(|conn| record(conn, settings, &delivery, &endpoint, &outcome));
    match recorded {
        Ok(true) => {
            shared.metrics.disabled.inc();
            tracing::warn!(
                endpoint = endpoint.id,
                "webhook endpoint disabled: its retry schedule ran out"
            );
        }
        Ok(false) => {}
        // The lease runs out and the delivery is tried again.
        Err(e) => tracing::warn!(error = %e, delivery = delivery.id, "recording a webhook attempt failed"),
    }
}

/// Stores the attempt and what follows; returns whether the endpoint was
/// disabled (its schedule ran out with no success since the delivery was
/// queued).
fn record(
    conn: &mut DbConnection,
    settings: &WebhookSettings,
    delivery: &DeliveryRow,
    endpoint: &EndpointRow,
    outcome: &Outcome,
) -> Result<bool, AppError> {
    let now = date::now();
    let attempts = delivery.attempts + 1;
    let retry = webhook::retry_delay(&settings.schedule, attempts as usize, rand::random::<f64>());
    let (status, next) = match (outcome.succeeded(), retry) {
        (true, _) => (store::DELIVERED, now),
        (false, Some(delay)) => (store::PENDING, now + delay),
        (false, None) => (store::FAILED, now),
    };
    let row = AttemptRow {
        id: 0,
        delivery_id: delivery.id,
        attempted_at: now,
        status_code: outcome.status.map(i32::from),
        duration_ms: outcome.duration.as_millis() as i64,
        error: outcome.error.clone(),
        response_body: outcome.body.clone(),
    };
    if !store::finish_attempt(conn, &row, delivery.lease_until, status, attempts, next)? {
        tracing::warn!(
            delivery = delivery.id,
            "a webhook attempt outlived its lease; its outcome is logged, not applied"
        );
        return Ok(false);
    }
    if status != store::FAILED || store::succeeded_since_first_attempt(conn, endpoint.id, delivery.id)? {
        return Ok(false);
    }
    let Some(current) = store::find_endpoint(conn, endpoint.id)? else {
        return Ok(false);
    };
    if !current.active {
        return Ok(false);
    }
    let changes = store::EndpointChanges {
        active: Some(false),
        disabled_reason: Some(Some(format!(
            "every attempt of delivery {} failed over the whole retry schedule ({attempts} attempts); last: {}",
            delivery.id,
            outcome.error.as_deref().unwrap_or("no answer")
        ))),
        disabled_at: Some(Some(now)),
        updated_at: Some(now),
        ..Default::default()
    };
    store::update_endpoint(conn, endpoint.id, &changes)?;
    Ok(true)
}
