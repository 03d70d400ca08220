//! A small RFC 3339 timestamp parser (no chrono): `2024-05-29T02:17:25.902Z`,
//! `2024-05-02T07:21:07.9922617Z`, `2024-05-29T04:17:25+02:00`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parse an RFC 3339 timestamp.
///
/// Lenient where the service's .NET side is: `t`/`T`/space separate date and time, any number
/// of fractional digits (nanoseconds kept), and a missing offset means UTC. Returns `None` for
/// anything else rather than an error: a timestamp the crate cannot read must never fail a call.
pub(crate) fn parse_rfc3339(input: &str) -> Option<SystemTime> {
    let s = input.trim().as_bytes();
    let year = i64::from(digits(s, 0, 4)?);
    expect(s, 4, b'-')?;
    let month = digits(s, 5, 2)?;
    expect(s, 7, b'-')?;
    let day = digits(s, 8, 2)?;
    if !matches!(s.get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let hour = digits(s, 11, 2)? as i64;
    expect(s, 13, b':')?;
    let minute = digits(s, 14, 2)? as i64;
    expect(s, 16, b':')?;
    let second = digits(s, 17, 2)? as i64;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }

    let mut i = 19;
    let mut nanos: u32 = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while let Some(d) = s.get(i).filter(|b| b.is_ascii_digit()) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        if n < 9 {
            nanos *= 10u32.pow((9 - n) as u32);
        }
    }

    let offset_secs: i64 = match s.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == s.len() => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, i + 1, 2)? as i64;
            let (om, end) = if s.get(i + 3) == Some(&b':') {
                (digits(s, i + 4, 2)? as i64, i + 6)
            } else {
                (digits(s, i + 3, 2)? as i64, i + 5)
            };
            if end != s.len() || oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if sign == b'+' { off } else { -off }
        }
        _ => return None,
    };

    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::new(secs as u64, nanos))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
            .checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

fn digits(s: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = s.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

fn expect(s: &[u8], at: usize, c: u8) -> Option<()> {
    (s.get(at) == Some(&c)).then_some(())
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_kept_and_nonsense_is_none() {
        let t = parse_rfc3339("1970-01-02T00:00:01.5Z").unwrap();
        assert_eq!(t, UNIX_EPOCH + Duration::from_millis(86_401_500));
        assert!(parse_rfc3339("yesterday").is_none());
    }

    fn ms(s: &str) -> Option<i128> {
        parse_rfc3339(s).map(|t| match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i128,
            Err(e) => -(e.duration().as_millis() as i128),
        })
    }

    #[test]
    fn parses_service_formats() {
        assert_eq!(ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ms("2024-05-29T02:17:25.902Z"), Some(1_716_949_045_902));
        assert_eq!(ms("2024-05-02T07:21:07.9922617Z"), Some(1_714_634_467_992));
        assert_eq!(ms("2024-05-29T04:17:25.902+02:00"), Some(1_716_949_045_902));
        assert_eq!(ms("2024-05-28T21:17:25.902-0500"), Some(1_716_949_045_902));
        assert_eq!(ms("2024-05-29 02:17:25.902z"), Some(1_716_949_045_902));
        assert_eq!(ms("2024-05-02T07:21:07.9922617"), Some(1_714_634_467_992));
        assert_eq!(ms("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(ms("1969-12-31T23:59:59.5Z"), Some(-500));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-29T24:00:00Z",
            "2024-05-29T02:17:25.Z",
            "2024-05-29T02:17:25Zjunk",
            "2024-05-29",
            "2024-05-29T02:17:25+2",
            "２０２４-05-29T02:17:25Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}
