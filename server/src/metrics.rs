//! Request counters, exposed in Prometheus text format at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct Metrics {
    /// (operationId, status code) -> responses sent.
    responses: Mutex<BTreeMap<(String, u16), u64>>,
    /// LLM completions by outcome (`ok`, `failed`, `cancelled`), and tokens by kind
    /// (`prompt`, `completion`) as the LLM server counted them.
    llm_completions: Mutex<BTreeMap<&'static str, u64>>,
    llm_tokens: Mutex<BTreeMap<&'static str, u64>>,
}

fn add<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, n: u64) {
    let mut map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *map.entry(key).or_insert(0) += n;
}

fn render_counter<K: std::fmt::Display>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    map: &Mutex<BTreeMap<K, u64>>,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    let map = map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for (key, count) in map.iter() {
        let _ = writeln!(out, "{name}{{{label}=\"{key}\"}} {count}");
    }
}

impl Metrics {
    /// One LLM completion ended with `outcome`.
    pub fn record_llm(&self, outcome: &'static str) {
        add(&self.llm_completions, outcome, 1);
    }

    pub fn record_llm_tokens(&self, prompt: u64, completion: u64) {
        add(&self.llm_tokens, "prompt", prompt);
        add(&self.llm_tokens, "completion", completion);
    }

    pub fn record(&self, operation_id: &str, status: u16) {
        let mut responses = self
            .responses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match responses.get_mut(&(operation_id.to_string(), status)) {
            Some(count) => *count += 1,
            None => {
                responses.insert((operation_id.to_string(), status), 1);
            }
        }
    }

    /// The exposition text (version 0.0.4).
    pub fn render(&self, uptime: Duration, backend: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP botwire_build_info Build and backend of this server."
        );
        let _ = writeln!(out, "# TYPE botwire_build_info gauge");
        let _ = writeln!(
            out,
            "botwire_build_info{{version=\"{}\",database=\"{backend}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP botwire_uptime_seconds Seconds since the server started."
        );
        let _ = writeln!(out, "# TYPE botwire_uptime_seconds gauge");
        let _ = writeln!(out, "botwire_uptime_seconds {:.3}", uptime.as_secs_f64());
        let _ = writeln!(
            out,
            "# HELP botwire_http_responses_total Responses sent, by operation and status."
        );
        let _ = writeln!(out, "# TYPE botwire_http_responses_total counter");
        let responses = self
            .responses
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for ((operation_id, status), count) in responses.iter() {
            let _ = writeln!(
                out,
                "botwire_http_responses_total{{operation_id=\"{operation_id}\",status=\"{status}\"}} {count}"
            );
        }
        drop(responses);
        render_counter(
            &mut out,
            "botwire_llm_completions_total",
            "LLM completions, by outcome.",
            "outcome",
            &self.llm_completions,
        );
        render_counter(
            &mut out,
            "botwire_llm_tokens_total",
            "Tokens of LLM completions, as the LLM server counted them.",
            "kind",
            &self.llm_tokens,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_operation_and_status() {
        let metrics = Metrics::default();
        metrics.record("health_get", 200);
        metrics.record("health_get", 200);
        metrics.record("bot_get", 404);
        let text = metrics.render(Duration::from_secs(3), "sqlite");
        assert!(text.contains(
            "botwire_http_responses_total{operation_id=\"health_get\",status=\"200\"} 2"
        ));
        assert!(
            text.contains(
                "botwire_http_responses_total{operation_id=\"bot_get\",status=\"404\"} 1"
            )
        );
        assert!(text.contains("botwire_uptime_seconds 3.000"));
        metrics.record_llm("ok");
        metrics.record_llm_tokens(40, 7);
        metrics.record_llm_tokens(2, 1);
        let text = metrics.render(Duration::from_secs(3), "sqlite");
        assert!(text.contains("botwire_llm_completions_total{outcome=\"ok\"} 1"));
        assert!(text.contains("botwire_llm_tokens_total{kind=\"prompt\"} 42"));
        assert!(text.contains("botwire_llm_tokens_total{kind=\"completion\"} 8"));
    }
}
