//! Time to the first byte of a response body, measured by our own client (wrk reports only
//! whole-response latency): from the request's first byte written to the body's first byte
//! read, on keep-alive connections.

use super::http::Connection;
use super::wrk::Load;
use anyhow::Result;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Tally {
    first_bytes_us: Vec<u32>,
    non_2xx: u64,
    socket_errors: u64,
}

impl Tally {
    /// One request on `connection` (reopened after a failure).
    fn send(&mut self, addr: SocketAddr, connection: &mut Option<Connection>, request: &[u8]) {
        let outcome = match connection {
            Some(open) => open.send(request),
            None => Connection::open(addr).and_then(|mut open| {
                let response = open.send(request);
                *connection = Some(open);
                response
            }),
        };
        match outcome {
            Ok(response) if (200..300).contains(&response.status) => {
                let first = response.first_body_byte.unwrap_or_default();
                self.first_bytes_us
                    .push(u32::try_from(first.as_micros()).unwrap_or(u32::MAX));
            }
            Ok(_) => self.non_2xx += 1,
            Err(_) => {
                self.socket_errors += 1;
                *connection = None;
            }
        }
    }

    fn merge(&mut self, other: Tally) {
        self.first_bytes_us.extend(other.first_bytes_us);
        self.non_2xx += other.non_2xx;
        self.socket_errors += other.socket_errors;
    }

    fn into_load(mut self, elapsed: Duration) -> Load {
        self.first_bytes_us.sort_unstable();
        let requests = self.first_bytes_us.len() as u64 + self.non_2xx + self.socket_errors;
        Load {
            requests,
            seconds: elapsed.as_secs_f64(),
            p50_us: percentile(&self.first_bytes_us, 50.0),
            p99_us: percentile(&self.first_bytes_us, 99.0),
            non_2xx: self.non_2xx,
            socket_errors: self.socket_errors,
        }
    }
}

/// The nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// `count` requests one after another on one connection (an otherwise idle server).
pub fn sequential(addr: SocketAddr, requests: &[Vec<u8>], count: usize) -> Result<Load> {
    let mut tally = Tally::default();
    let mut connection = Some(Connection::open(addr)?);
    let started = Instant::now();
    for request in requests.iter().cycle().take(count) {
        tally.send(addr, &mut connection, request);
    }
    Ok(tally.into_load(started.elapsed()))
}

/// `connections` clients, each sending one request after another for `duration`.
pub fn concurrent(
    addr: SocketAddr,
    requests: &[Vec<u8>],
    connections: usize,
    duration: Duration,
) -> Result<Load> {
    let started = Instant::now();
    let deadline = started + duration;
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|worker| {
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let mut connection = None;
                    let offset = worker * requests.len() / connections;
                    for request in requests.iter().cycle().skip(offset) {
                        if Instant::now() >= deadline {
                            break;
                        }
                        tally.send(addr, &mut connection, request);
                    }
                    tally
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed();
    let mut total = Tally::default();
    for tally in tallies {
        total.merge(tally);
    }
    Ok(total.into_load(elapsed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u32> = (1..=100).collect();
        assert_eq!(super::percentile(&samples, 50.0), 50.0);
        assert_eq!(super::percentile(&samples, 99.0), 99.0);
        assert_eq!(super::percentile(&[7], 99.0), 7.0);
    }
}
