//! Webhook delivery: the background workers that fan the `events` outbox out into deliveries
//! and attempt them, signed ([`super::signing`]), to targets the egress guard permits.
//!
//! Each replica runs one worker loop (spawned by [`crate::start`], stopped with the server).
//! Every poll it fans out new events (idempotent across replicas: see `store::webhooks`), then
//! claims due deliveries under a lease and attempts each at most [`CONCURRENCY`] at a time.
//! The lease outlives an attempt, so an attempt is made by exactly one replica; a replica that
//! dies mid-attempt leaves a lease that runs out, and the delivery is attempted again, under
//! the same id (at least once, never lost). An attempt is in the delivery log from before its
//! request is sent, so one cut short by a crash stays there, without an outcome, and counts.

use super::signing::sign;
use crate::config::WebhookConfig;
use crate::db::Db;
use crate::egress::{GuardedResolver, TargetPolicy, describe_request_error, literal_address};
use crate::email::Mailer;
use crate::store::now;
use crate::store::webhooks::{
    self as store, AttemptRow, DeliveryRow, Next, Recorded, Started, TEST_EVENT, WebhookRow,
};
use chrono::NaiveDateTime;
use rand::Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Attempts of an event's delivery: the first, then one after each wait of [`SCHEDULE`].
pub const MAX_ATTEMPTS: i64 = 9;
/// Waits after the 1st, 2nd, ... failed attempt, in seconds (22.7 h in all).
pub const SCHEDULE: [u64; 8] = [30, 120, 600, 1_800, 3_600, 10_800, 21_600, 43_200];
/// Each wait is drawn within this fraction of its nominal value.
const JITTER: f64 = 0.2;
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER_SECS: u64 = 43_200;
/// Failed deliveries in a row that disable a webhook.
pub const DISABLE_AFTER: i64 = 10;
/// Bytes of an answer read at most, and characters of it kept in the delivery log.
const READ_BOUND: usize = 4096;
const SNIPPET_CHARS: usize = 1024;
/// Attempts in flight per replica.
const CONCURRENCY: usize = 16;
/// Events fanned out per round.
const FAN_OUT_BATCH: i64 = 100;

// ---- attempts ------------------------------------------------------------------------------

/// What one attempt gave.
#[derive(Debug, Default)]
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    snippet: Option<String>,
    retry_after: Option<Duration>,
}

impl Outcome {
    fn failed(error: impl Into<String>) -> Self {
        Outcome {
            error: Some(error.into()),
            ..Default::default()
        }
    }

    fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The text of a send error, without the URL (it may carry a token) and with its causes.
fn describe(error: reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    describe_request_error(error)
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (at.timestamp() - chrono::Utc::now().timestamp()).max(0);
    Some(Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

async fn send(
    client: &reqwest::Client,
    policy: &TargetPolicy,
    timeout: Duration,
    webhook: &WebhookRow,
    delivery: &DeliveryRow,
) -> Outcome {
    // An address in the URL itself never reaches the resolver: check it here.
    let url = match reqwest::Url::parse(&webhook.url) {
        Ok(url) => url,
        Err(_) => return Outcome::failed("the webhook's URL does not parse"),
    };
    if let Some(ip) = literal_address(&url).filter(|ip| !policy.permits(*ip)) {
        return Outcome::failed(format!("refused target address {ip}"));
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match sign(&webhook.secret, &delivery.id, timestamp, &delivery.payload) {
        Ok(signature) => signature,
        Err(error) => return Outcome::failed(error),
    };
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.payload.clone())
        .send()
        .await;
    let mut response = match response {
        Ok(response) => response,
        Err(error) => return Outcome::failed(describe(error, timeout)),
    };
    let status = response.status();
    let mut outcome = Outcome {
        status: Some(status.as_u16()),
        ..Default::default()
    };
    if status.is_redirection() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| l.chars().take(200).collect::<String>())
            .unwrap_or_default();
        outcome.error = Some(format!("redirect not followed (Location {location})"));
    }
    if matches!(status.as_u16(), 429 | 503) {
        outcome.retry_after = retry_after(response.headers());
    }
    // The answer, read only up to the bound.
    let mut body = Vec::new();
    while body.len() < READ_BOUND {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(error) => {
                if outcome.error.is_none() && !outcome.succeeded() {
                    outcome.error = Some(describe(error, timeout));
                }
                break;
            }
        }
    }
    body.truncate(READ_BOUND);
    let text: String = String::from_utf8_lossy(&body)
        .chars()
        .take(SNIPPET_CHARS)
        .collect();
    outcome.snippet = (!text.is_empty()).then_some(text);
    outcome
}

/// When to try again after the `n`th failed attempt of a round (1-based): the schedule's
/// wait with jitter, or a longer `Retry-After` (capped), all times `scale`.
fn retry_delay(n: usize, retry_after: Option<Duration>, scale: f64) -> Duration {
    let nominal = SCHEDULE[n.saturating_sub(1).min(SCHEDULE.len() - 1)] as f64;
    let jittered = nominal * rand::rng().random_range((1.0 - JITTER)..=(1.0 + JITTER));
    let asked = retry_after.map_or(0.0, |d| d.as_secs_f64().min(MAX_RETRY_AFTER_SECS as f64));
    Duration::from_secs_f64(jittered.max(asked) * scale)
}

fn at(from: NaiveDateTime, after: Duration) -> NaiveDateTime {
    from + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::hours(12))
}

// ---- the worker ----------------------------------------------------------------------------

struct Shared {
    db: Db,
    mailer: Arc<Mailer>,
    config: WebhookConfig,
    policy: TargetPolicy,
    client: reqwest::Client,
    log: slog::Logger,
    /// This process's name in leases and attempts.
    replica: String,
    /// The inbox's housekeeping rides the loop too (`services::inbox::sweep`).
    live: crate::live::LiveHub,
    inbox_sweep: crate::every::Every,
}

impl Shared {
    /// How long a claim holds a delivery: longer than any attempt.
    fn lease(&self) -> Duration {
        self.config.timeout * 2 + Duration::from_secs(5)
    }
}

/// The running delivery workers; stopped by [`Workers::stop`] or when dropped.
pub struct Workers {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Workers {
    pub fn spawn(
        db: Db,
        mailer: Arc<Mailer>,
        config: WebhookConfig,
        live: crate::live::LiveHub,
        log: slog::Logger,
    ) -> anyhow::Result<Workers> {
        let policy = TargetPolicy::new(config.allowed_cidrs.clone());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))
            .user_agent(concat!("Botwire-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("building the webhook HTTP client: {e}"))?;
        let replica = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let shared = Arc::new(Shared {
            db,
            mailer,
            config,
            policy,
            client,
            log,
            replica,
            live,
            inbox_sweep: crate::every::Every::new(INBOX_SWEEP_EVERY),
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(shared, stopped));
        Ok(Workers {
            stop,
            task: Some(task),
        })
    }

    /// Stops claiming work and waits for the attempts in flight.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// How often each process sweeps the inbox (assignments gone unanswered, automatic rounds).
const INBOX_SWEEP_EVERY: Duration = Duration::from_secs(2);

async fn run(shared: Arc<Shared>, mut stopped: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut in_flight = JoinSet::new();
    slog::debug!(shared.log, "webhook workers started"; "replica" => &shared.replica);
    while !*stopped.borrow() {
        while in_flight.try_join_next().is_some() {}
        let mut busy = false;
        match fan_out(&shared).await {
            Ok(full) => busy |= full,
            Err(error) => slog::warn!(shared.log, "fanning out events"; "error" => %error),
        }
        match claim(&shared, &permits, &mut in_flight).await {
            Ok(full) => busy |= full,
            Err(error) => slog::warn!(shared.log, "claiming deliveries"; "error" => %error),
        }
        // The notifications' email copies ride the same loop: one per process, any replica.
        match crate::services::notifications::mail_round(&shared.db, &shared.mailer, &shared.log)
            .await
        {
            Ok(full) => busy |= full,
            Err(error) => slog::warn!(shared.log, "mailing notifications"; "error" => %error),
        }
        if shared.inbox_sweep.due()
            && let Err(error) = crate::services::inbox::sweep(&shared.db, &shared.live).await
        {
            slog::warn!(shared.log, "sweeping the inbox"; "error" => %error);
        }
        if !busy {
            tokio::select! {
                _ = stopped.changed() => {}
                () = tokio::time::sleep(shared.config.poll_interval) => {}
            }
        } else {
            tokio::task::yield_now().await;
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Fans out a batch of events; true when the batch was full (more may wait).
async fn fan_out(shared: &Shared) -> Result<bool, crate::db::DbError> {
    let events = store::events_to_fan_out(&shared.db, FAN_OUT_BATCH).await?;
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    let unsubscribed = store::events_mark_unsubscribed(&shared.db, &ids).await?;
    for event in events.iter().filter(|e| !unsubscribed.contains(&e.id)) {
        store::event_fan_out(&shared.db, event, MAX_ATTEMPTS).await?;
    }
    Ok(events.len() == usize::try_from(FAN_OUT_BATCH).unwrap_or(usize::MAX))
}

/// Claims as many due deliveries as there are free slots and starts their attempts; true when
/// every slot was filled.
async fn claim(
    shared: &Arc<Shared>,
    permits: &Arc<Semaphore>,
    in_flight: &mut JoinSet<()>,
) -> Result<bool, crate::db::DbError> {
    let free = permits.available_permits();
    if free == 0 {
        return Ok(true);
    }
    let now = now();
    let due = store::deliveries_due(&shared.db, now, i64::try_from(free).unwrap_or(16)).await?;
    let full = due.len() == free;
    for id in due {
        let until = at(now, shared.lease());
        let Some((delivery, webhook)) =
            store::delivery_claim(&shared.db, &id, &shared.replica, now, until).await?
        else {
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            break;
        };
        let shared = shared.clone();
        in_flight.spawn(async move {
            deliver(&shared, delivery, webhook).await;
            drop(permit);
        });
    }
    Ok(full)
}

/// Makes one attempt, recorded as begun before it is sent and with its outcome after.
async fn deliver(shared: &Shared, delivery: DeliveryRow, webhook: WebhookRow) {
    let is_test = delivery.event_type == TEST_EVENT;
    let begun = AttemptRow::begun(&delivery, &shared.replica);
    let attempt = begun.attempt;
    match store::attempt_start(&shared.db, &delivery, &begun).await {
        Ok(Started::Begun) => {}
        Ok(Started::LeaseLost) => {
            slog::warn!(shared.log,
                "a webhook delivery's lease ran out before its attempt; another replica owns it";
                "delivery" => &delivery.id);
            return;
        }
        Ok(Started::Exhausted) => {
            slog::info!(shared.log,
                "a webhook delivery failed: its last attempt was cut short by a server stop";
                "delivery" => &delivery.id);
            return;
        }
        // Nothing was sent: the lease runs out and the delivery is claimed again.
        Err(error) => {
            slog::error!(shared.log, "starting a webhook attempt";
                "delivery" => &delivery.id, "error" => %error);
            return;
        }
    }
    let started = Instant::now();
    let outcome = if webhook.enabled || is_test {
        send(
            &shared.client,
            &shared.policy,
            shared.config.timeout,
            &webhook,
            &delivery,
        )
        .await
    } else {
        Outcome::failed("not sent: the webhook is disabled")
    };
    let latency = started.elapsed();
    let left = delivery.attempts_left - 1;
    let next = if outcome.succeeded() {
        Next::Succeeded
    } else if left <= 0 || !(webhook.enabled || is_test) {
        Next::Failed
    } else {
        let n = usize::try_from(MAX_ATTEMPTS - left).unwrap_or(1);
        Next::RetryAt(at(
            now(),
            retry_delay(n, outcome.retry_after, shared.config.retry_scale),
        ))
    };
    let row = AttemptRow {
        status_code: outcome.status.map(i64::from),
        latency_ms: i64::try_from(latency.as_millis()).unwrap_or(i64::MAX),
        error: outcome.error.clone(),
        response_snippet: outcome.snippet.clone(),
        ..begun
    };
    slog::debug!(shared.log, "webhook attempt";
        "delivery" => &delivery.id, "webhook" => &webhook.id, "attempt" => attempt,
        "status" => outcome.status, "next" => ?next);
    // Its account's users are told in the same transaction (in-app and, by their preferences,
    // by email through the notifications' mail round).
    let disabled = || {
        crate::services::notifications::webhook_disabled(
            &webhook.id,
            &webhook.bot_id,
            &webhook.url,
            DISABLE_AFTER,
        )
    };
    match store::attempt_record(&shared.db, &delivery, &row, next, DISABLE_AFTER, &disabled).await {
        Ok(Recorded::Done { disabled: true }) => slog::warn!(shared.log,
            "webhook disabled after failed deliveries";
            "webhook" => &webhook.id, "failures" => DISABLE_AFTER),
        Ok(Recorded::Done { disabled: false }) => {}
        Ok(Recorded::LeaseLost) => slog::warn!(shared.log,
            "a webhook attempt outlived its lease (another replica owns the delivery) or its webhook";
            "delivery" => &delivery.id),
        // The lease runs out and the attempt is made again: at least once.
        Err(error) => slog::error!(shared.log, "recording a webhook attempt";
            "delivery" => &delivery.id, "error" => %error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_spans_about_a_day_with_jitter() {
        let total: u64 = SCHEDULE.iter().sum();
        assert!((22 * 3600..25 * 3600).contains(&total), "{total}");
        for n in 1..=SCHEDULE.len() {
            let wait = retry_delay(n, None, 1.0).as_secs_f64();
            let nominal = SCHEDULE[n - 1] as f64;
            assert!(wait >= nominal * 0.8 - 0.001 && wait <= nominal * 1.2 + 0.001);
        }
        // A longer Retry-After wins, capped at 12 h; scale applies to it.
        let asked = retry_delay(1, Some(Duration::from_secs(3_600)), 1.0);
        assert_eq!(asked, Duration::from_secs(3_600));
        let capped = retry_delay(1, Some(Duration::from_secs(999_999)), 0.001);
        assert_eq!(capped, Duration::from_secs_f64(43.2));
    }
}
