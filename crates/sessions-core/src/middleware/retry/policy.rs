//! What is retried, and how long to wait: the classification and the back-off, as plain
//! functions so custom stacks can reuse them.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use tower::util::rng::Rng;

use super::RetryConfig;
use crate::error::is_connect_error;
use crate::error::{Error, TimeoutKind};
use crate::transport::Retryable;

/// Why an attempt is retried (recorded in tracing events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum RetryReason {
    /// The connection was never established: the request surely did not reach the service.
    Connect,
    /// The attempt timed out (reads and deletes only).
    Timeout,
    /// The connection broke after the request may have been sent (reads and deletes only).
    Connection,
    /// The service answered with a retryable status.
    Status(StatusCode),
}

/// Whether a status is worth another attempt.
///
/// 429 is retried for every operation: the service refused the request without processing it.
/// 408, 500, 502, 503 and 504 are retried only for [`Retryable::Idempotent`] operations, because
/// the service may have run the code before failing.
pub(crate) fn retryable_status(retryable: Retryable, status: StatusCode) -> bool {
    match status.as_u16() {
        429 => true,
        408 | 500 | 502 | 503 | 504 => retryable == Retryable::Idempotent,
        _ => false,
    }
}

/// Whether an error from an attempt is worth another attempt, and why.
///
/// A failure to connect is retried for every operation (nothing was sent). Timeouts and broken
/// connections are retried only for idempotent operations. Token errors and errors from unknown
/// middleware are never retried.
pub(crate) fn retryable_error(
    retryable: Retryable,
    err: &(dyn std::error::Error + 'static),
) -> Option<RetryReason> {
    if is_connect_error(err) {
        return Some(RetryReason::Connect);
    }
    if retryable != Retryable::Idempotent {
        return None;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(e) = e.downcast_ref::<Error>() {
            return match e {
                Error::Timeout {
                    kind: TimeoutKind::Attempt,
                    ..
                } => Some(RetryReason::Timeout),
                Error::Transport(_) => {
                    std::error::Error::source(e).and_then(|s| retryable_error(retryable, s))
                }
                _ => None,
            };
        }
        // tower's own timeout, for stacks rebuilt with it in place of ours.
        if e.is::<tower::timeout::error::Elapsed>() {
            return Some(RetryReason::Timeout);
        }
        if e.is::<hyper::Error>()
            || e.is::<hyper_util::client::legacy::Error>()
            || e.is::<std::io::Error>()
        {
            return Some(RetryReason::Connection);
        }
        cur = e.source();
    }
    None
}

/// Parse a `Retry-After` value: delay-seconds (`"3"`, also `"1.5"`) or an HTTP date, relative to
/// `now`. A date in the past gives zero; garbage gives `None`.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// The `Retry-After` of a response (also `retry-after-ms` / `x-ms-retry-after-ms`, which Azure
/// services send in milliseconds), if any and valid.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// The back-off before retry number `retry` (1 for the first retry): exponential with full
/// jitter, a uniformly random delay in `[0, min(max_delay, base_delay * 2^(retry-1))]`.
pub(crate) fn backoff(config: &RetryConfig, retry: u32, rng: &mut impl Rng) -> Duration {
    let exp = config
        .base_delay
        .saturating_mul(1u32 << retry.saturating_sub(1).min(20));
    let ceiling = exp.min(config.max_delay);
    ceiling.mul_f64(rng.next_f64().clamp(0.0, 1.0))
}

/// The wait before the next attempt: the server's `Retry-After` capped at
/// `retry_after_cap`, else [`backoff`].
pub(crate) fn delay(
    config: &RetryConfig,
    retry: u32,
    server: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    match server {
        Some(d) => d.min(config.retry_after_cap),
        None => backoff(config, retry, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::util::rng::HasherRng;

    #[test]
    fn parses_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(7)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
    }

    #[test]
    fn reads_ms_headers_first() {
        let now = SystemTime::now();
        let mut h = HeaderMap::new();
        h.insert("retry-after", "10".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        h.insert("retry-after-ms", "250".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(250)));
    }

    #[test]
    fn backoff_is_bounded_and_capped() {
        let cfg = RetryConfig::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1))
            .retry_after_cap(Duration::from_secs(5));
        let mut rng = HasherRng::default();
        for retry in 1..40 {
            let d = backoff(&cfg, retry, &mut rng);
            let ceiling = Duration::from_millis(100 * 2u64.pow(retry.min(20) - 1))
                .min(Duration::from_secs(1));
            assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
        }
        assert_eq!(
            delay(&cfg, 1, Some(Duration::from_secs(60)), &mut rng),
            Duration::from_secs(5)
        );
        assert_eq!(
            delay(&cfg, 1, Some(Duration::from_secs(2)), &mut rng),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn classifies_statuses() {
        use Retryable::*;
        assert!(retryable_status(
            OnlyIfNotProcessed,
            StatusCode::TOO_MANY_REQUESTS
        ));
        assert!(retryable_status(
            Idempotent,
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(!retryable_status(
            OnlyIfNotProcessed,
            StatusCode::SERVICE_UNAVAILABLE
        ));
        assert!(!retryable_status(
            OnlyIfNotProcessed,
            StatusCode::REQUEST_TIMEOUT
        ));
        assert!(retryable_status(Idempotent, StatusCode::REQUEST_TIMEOUT));
        assert!(!retryable_status(Idempotent, StatusCode::NOT_FOUND));
        assert!(!retryable_status(Idempotent, StatusCode::UNAUTHORIZED));
    }

    #[test]
    fn classifies_errors() {
        use Retryable::*;
        let timeout = Error::Timeout {
            kind: TimeoutKind::Attempt,
            after: None,
        };
        assert_eq!(
            retryable_error(Idempotent, &timeout),
            Some(RetryReason::Timeout)
        );
        assert_eq!(retryable_error(OnlyIfNotProcessed, &timeout), None);
        let connect = Error::Connect {
            source: "refused".into(),
        };
        assert_eq!(
            retryable_error(OnlyIfNotProcessed, &connect),
            Some(RetryReason::Connect)
        );
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(
            retryable_error(Idempotent, &io),
            Some(RetryReason::Connection)
        );
        assert_eq!(retryable_error(OnlyIfNotProcessed, &io), None);
        let auth = Error::Auth {
            message: "no".into(),
            source: None,
        };
        assert_eq!(retryable_error(Idempotent, &auth), None);
        let overall = Error::Timeout {
            kind: TimeoutKind::Overall,
            after: None,
        };
        assert_eq!(retryable_error(Idempotent, &overall), None);
    }
}
