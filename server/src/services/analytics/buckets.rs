//! Where a series' buckets begin in a time zone: hours, local midnights, ISO weeks (Monday),
//! months (the 1st). A bucket across a daylight-saving change has its true length, because
//! every boundary is a local time resolved to the instant it names.

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Hour,
    Day,
    Week,
    Month,
}

impl Interval {
    pub fn parse(name: &str) -> Option<Interval> {
        Some(match name {
            "hour" => Interval::Hour,
            "day" => Interval::Day,
            "week" => Interval::Week,
            "month" => Interval::Month,
            _ => return None,
        })
    }
}

/// The boundaries of the buckets covering `[from, to)`: the start of `from`'s bucket, each
/// next start, and last the end of `to`'s bucket (`to` itself when it is a boundary); at least
/// two. None when that is more than `max` buckets.
pub fn starts(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: Interval,
    zone: Tz,
    max: usize,
) -> Option<Vec<DateTime<Utc>>> {
    let mut boundaries = vec![start_of(from, interval, zone)];
    loop {
        let last = *boundaries.last()?;
        if last >= to && boundaries.len() >= 2 {
            return Some(boundaries);
        }
        // `max` buckets (max + 1 boundaries) and `to` not reached yet.
        if boundaries.len() > max {
            return None;
        }
        boundaries.push(next(last, interval, zone));
    }
}

/// The start of the bucket holding `at`.
fn start_of(at: DateTime<Utc>, interval: Interval, zone: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&zone);
    match interval {
        // The local hour, at the offset `at` has (in an hour that repeats, each is its own).
        Interval::Hour => {
            at - TimeDelta::seconds(i64::from(local.minute() * 60 + local.second()))
                - TimeDelta::nanoseconds(i64::from(local.nanosecond()))
        }
        Interval::Day => midnight(local.date_naive(), zone),
        Interval::Week => {
            let monday =
                local.date_naive() - Days::new(u64::from(local.weekday().num_days_from_monday()));
            midnight(monday, zone)
        }
        Interval::Month => midnight(
            local.date_naive().with_day(1).unwrap_or(local.date_naive()),
            zone,
        ),
    }
}

/// The start of the bucket after the one starting at `start`.
fn next(start: DateTime<Utc>, interval: Interval, zone: Tz) -> DateTime<Utc> {
    let date = start.with_timezone(&zone).date_naive();
    match interval {
        Interval::Hour => start + TimeDelta::hours(1),
        Interval::Day => midnight(date + Days::new(1), zone),
        Interval::Week => midnight(date + Days::new(7), zone),
        Interval::Month => {
            let first = date.with_day(1).unwrap_or(date);
            midnight(
                first
                    .checked_add_months(chrono::Months::new(1))
                    .unwrap_or(first),
                zone,
            )
        }
    }
}

/// The instant a local date begins: its midnight, the earlier one when midnight repeats, and
/// the first local time after the gap when a daylight-saving change skips midnight.
fn midnight(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let mut local: NaiveDateTime = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    // Gaps are at most a few hours; the 15-minute steps find their end.
    for _ in 0..(4 * 24) {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(at) => return at.to_utc(),
            LocalResult::Ambiguous(earlier, _) => return earlier.to_utc(),
            LocalResult::None => local += TimeDelta::minutes(15),
        }
    }
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn zone(name: &str) -> Tz {
        name.parse().unwrap()
    }

    #[test]
    fn days_across_daylight_saving_have_their_true_length() {
        // Stockholm moved to summer time on 2026-03-29 (23 hours) and back on 2026-10-25 (25).
        let stockholm = zone("Europe/Stockholm");
        let spring = starts(
            at("2026-03-28T12:00:00Z"),
            at("2026-03-30T12:00:00Z"),
            Interval::Day,
            stockholm,
            1000,
        )
        .unwrap();
        let lengths: Vec<i64> = spring
            .windows(2)
            .map(|w| (w[1] - w[0]).num_hours())
            .collect();
        assert_eq!(spring[0], at("2026-03-27T23:00:00Z"));
        assert_eq!(lengths, vec![24, 23, 24]);
        let autumn = starts(
            at("2026-10-25T00:00:00Z"),
            at("2026-10-25T12:00:00Z"),
            Interval::Day,
            stockholm,
            1000,
        )
        .unwrap();
        assert_eq!(
            autumn,
            vec![at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z")]
        );
    }

    #[test]
    fn weeks_begin_on_monday_and_months_on_the_first() {
        let utc = zone("UTC");
        // 2026-05-07 is a Thursday.
        let weeks = starts(
            at("2026-05-07T10:00:00Z"),
            at("2026-05-12T00:00:00Z"),
            Interval::Week,
            utc,
            1000,
        )
        .unwrap();
        assert_eq!(
            weeks,
            vec![
                at("2026-05-04T00:00:00Z"),
                at("2026-05-11T00:00:00Z"),
                at("2026-05-18T00:00:00Z")
            ]
        );
        let new_york = zone("America/New_York");
        let months = starts(
            at("2026-01-31T12:00:00Z"),
            at("2026-03-02T00:00:00Z"),
            Interval::Month,
            new_york,
            1000,
        )
        .unwrap();
        assert_eq!(
            months,
            vec![
                at("2026-01-01T05:00:00Z"),
                at("2026-02-01T05:00:00Z"),
                at("2026-03-01T05:00:00Z"),
                at("2026-04-01T04:00:00Z")
            ]
        );
    }

    #[test]
    fn hours_follow_the_offset_and_a_boundary_to_is_kept() {
        let kolkata = zone("Asia/Kolkata");
        let hours = starts(
            at("2026-05-08T09:40:00Z"),
            at("2026-05-08T10:30:00Z"),
            Interval::Hour,
            kolkata,
            1000,
        )
        .unwrap();
        assert_eq!(
            hours,
            vec![at("2026-05-08T09:30:00Z"), at("2026-05-08T10:30:00Z")]
        );
        // The repeated hour of New York's autumn change is two buckets of an hour each.
        let new_york = zone("America/New_York");
        let repeated = starts(
            at("2026-11-01T05:00:00Z"),
            at("2026-11-01T07:00:00Z"),
            Interval::Hour,
            new_york,
            1000,
        )
        .unwrap();
        assert_eq!(repeated.len(), 3);
    }

    #[test]
    fn a_midnight_skipped_by_daylight_saving_begins_after_the_gap() {
        // Santiago de Chile skips from 00:00 to 01:00 on 2026-09-06.
        let santiago = zone("America/Santiago");
        let day = start_of(at("2026-09-06T12:00:00Z"), Interval::Day, santiago);
        assert_eq!(day, at("2026-09-06T04:00:00Z"));
    }

    #[test]
    fn too_many_buckets_are_refused() {
        let utc = zone("UTC");
        assert!(
            starts(
                at("2026-01-01T00:00:00Z"),
                at("2026-03-01T00:00:00Z"),
                Interval::Hour,
                utc,
                1000
            )
            .is_none()
        );
        assert_eq!(
            starts(
                at("2026-01-01T00:00:00Z"),
                at("2026-01-01T00:00:00.000001Z"),
                Interval::Day,
                utc,
                1000
            )
            .unwrap()
            .len(),
            2
        );
    }
}
