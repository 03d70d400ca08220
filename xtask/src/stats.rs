//! Order statistics over samples, computed by sorting (no statistics crate).

use std::time::Duration;

/// A summary of a sample of durations, in microseconds.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Summary {
    pub n: usize,
    pub median_us: f64,
    pub p90_us: f64,
    pub min_us: f64,
    pub mean_us: f64,
}

impl Summary {
    pub fn median_ms(&self) -> f64 {
        self.median_us / 1000.0
    }
}

/// The `q`-quantile (0..=1) of sorted values, nearest-rank.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The median of arbitrary values (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Summarise durations.
pub fn summarize(samples: &[Duration]) -> Summary {
    let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(f64::total_cmp);
    if us.is_empty() {
        return Summary {
            n: 0,
            median_us: f64::NAN,
            p90_us: f64::NAN,
            min_us: f64::NAN,
            mean_us: f64::NAN,
        };
    }
    Summary {
        n: us.len(),
        median_us: median(&us),
        p90_us: quantile_sorted(&us, 0.9),
        min_us: us[0],
        mean_us: us.iter().sum::<f64>() / us.len() as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn summary_of_durations() {
        let d: Vec<Duration> = (1..=10).map(Duration::from_micros).collect();
        let s = summarize(&d);
        assert_eq!(s.n, 10);
        assert_eq!(s.median_us, 5.5);
        assert_eq!(s.min_us, 1.0);
        assert_eq!(s.p90_us, 9.0);
    }
}
