//! Helpers of the webhook tests: the delivery configurations (loopback targets, the schedule
//! scaled down), webhooks created and read, deliveries waited for, and signatures verified by
//! an implementation that is not ours (the `standardwebhooks` crate).

use botwire_client::Client;
use botwire_client::types::{self, WebhookEventType};
use botwire_conformance::receiver::Received;
use botwire_server::config::{Config, WebhookConfig};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Loopback targets allowed, a quick poll, and the 24-hour schedule in a thousandth of it.
pub fn fast(config: &mut Config) {
    config.webhooks = WebhookConfig {
        allowed_cidrs: WebhookConfig::parse_cidrs("127.0.0.0/8").expect("a CIDR"),
        poll_interval: Duration::from_millis(20),
        retry_scale: 0.001,
        timeout: Duration::from_secs(5),
    };
}

/// How long a delivery may take to arrive or to finish.
pub const WAIT: Duration = Duration::from_secs(30);

/// [`fast`], with the whole schedule in about 1.6 s.
pub fn fastest(config: &mut Config) {
    fast(config);
    config.webhooks.retry_scale = 0.00002;
    config.webhooks.poll_interval = Duration::from_millis(10);
}

/// Creates a webhook that must be created (201), its secret shown.
pub async fn create_webhook(
    owner: &Client,
    bot_id: Uuid,
    url: &str,
    events: Vec<WebhookEventType>,
) -> types::WebhookWithSecret {
    let response = owner
        .webhook_create()
        .bot_id(bot_id)
        .body(types::WebhookCreate::builder().url(url).events(events))
        .send()
        .await
        .unwrap_or_else(|e| panic!("webhook_create {url}: {e:?}"));
    assert_eq!(response.status(), 201);
    response.into_inner()
}

/// Polls a delivery until it is no longer pending.
pub async fn finished(
    owner: &Client,
    webhook_id: Uuid,
    delivery_id: Uuid,
) -> types::WebhookDelivery {
    let deadline = Instant::now() + WAIT;
    loop {
        let delivery = owner
            .delivery_get()
            .webhook_id(webhook_id)
            .delivery_id(delivery_id)
            .send()
            .await
            .expect("delivery_get")
            .into_inner();
        if delivery.status != types::WebhookDeliveryStatus::Pending {
            return delivery;
        }
        assert!(Instant::now() < deadline, "still pending: {delivery:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Sends a test ping and waits for its outcome.
pub async fn send_ping(owner: &Client, webhook_id: Uuid) -> types::WebhookDelivery {
    let queued = owner.webhook_test().webhook_id(webhook_id).send().await;
    let queued = queued.expect("webhook_test");
    assert_eq!(queued.status(), 202);
    finished(owner, webhook_id, queued.into_inner().id).await
}

/// A webhook, as its owner reads it.
pub async fn webhook(owner: &Client, webhook_id: Uuid) -> types::Webhook {
    let got = owner.webhook_get().webhook_id(webhook_id).send().await;
    got.expect("webhook_get").into_inner()
}

/// The webhook's deliveries (newest first), once there are at least `count`.
pub async fn deliveries(
    owner: &Client,
    webhook_id: Uuid,
    count: usize,
) -> Vec<types::WebhookDelivery> {
    let deadline = Instant::now() + WAIT;
    loop {
        let page = owner
            .delivery_list()
            .webhook_id(webhook_id)
            .limit(100u64)
            .send()
            .await
            .expect("delivery_list")
            .into_inner();
        if page.data.len() >= count {
            return page.data;
        }
        assert!(
            Instant::now() < deadline,
            "{} deliveries, expected {count}",
            page.data.len()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Verifies a request with the `standardwebhooks` crate (not our signing code).
pub fn verify(secret: &str, request: &Received) -> Result<(), standardwebhooks::WebhookError> {
    standardwebhooks::Webhook::new(secret)
        .expect("a whsec_ secret")
        .verify(&request.body, &request.headers)
}
