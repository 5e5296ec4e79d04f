//! Date parts as both references name them (`day`, `d`, `days`; `month`, `mon`, `mons`;
//! `m` is a minute, not a month), for `DATEADD`, `DATEDIFF`, `DATE_PART`, `EXTRACT` and
//! `DATE_TRUNC`.

use datafusion::common::{exec_err, Result};

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
pub const UNIX_EPOCH_DAYS: i32 = 719_163;

/// One date part of the date-parts table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    /// millennium, millennia, mil, mils
    Millennium,
    /// century, centuries, c, cent, cents
    Century,
    /// decade, decades, dec, decs
    Decade,
    /// epoch (seconds since 1970-01-01)
    Epoch,
    /// year, years, y, yr, yrs
    Year,
    /// quarter, quarters, qtr, qtrs
    Quarter,
    /// month, months, mon, mons
    Month,
    /// week, weeks, w
    Week,
    /// dayofweek, dow, dw, weekday (0–6, Sunday = 0)
    DayOfWeek,
    /// dayofyear, doy, dy, yearday
    DayOfYear,
    /// day, days, d
    Day,
    /// hour, hours, h, hr, hrs
    Hour,
    /// minute, minutes, m, min, mins
    Minute,
    /// second, seconds, s, sec, secs
    Second,
    /// millisecond, ms, msec, …
    Millisecond,
    /// microsecond, us, usec, …
    Microsecond,
}

impl DatePart {
    /// The date part a name or abbreviation stands for (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "millennium" | "millennia" | "millenniums" | "mil" | "mils" => Self::Millennium,
            "century" | "centuries" | "c" | "cent" | "cents" => Self::Century,
            "decade" | "decades" | "dec" | "decs" => Self::Decade,
            "epoch" => Self::Epoch,
            "year" | "years" | "y" | "yr" | "yrs" => Self::Year,
            "quarter" | "quarters" | "qtr" | "qtrs" => Self::Quarter,
            "month" | "months" | "mon" | "mons" => Self::Month,
            "week" | "weeks" | "w" => Self::Week,
            "dayofweek" | "dow" | "dw" | "weekday" => Self::DayOfWeek,
            "dayofyear" | "doy" | "dy" | "yearday" => Self::DayOfYear,
            "day" | "days" | "d" => Self::Day,
            "hour" | "hours" | "h" | "hr" | "hrs" => Self::Hour,
            "minute" | "minutes" | "m" | "min" | "mins" => Self::Minute,
            "second" | "seconds" | "s" | "sec" | "secs" => Self::Second,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "msecond" | "mseconds"
            | "millisec" | "millisecs" | "millisecon" => Self::Millisecond,
            "microsecond" | "microseconds" | "microsec" | "microsecs" | "usecond" | "useconds"
            | "us" | "usec" | "usecs" => Self::Microsecond,
            _ => return None,
        })
    }

    /// The canonical lower-case name (`day`, `month`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Millennium => "millennium",
            Self::Century => "century",
            Self::Decade => "decade",
            Self::Epoch => "epoch",
            Self::Year => "year",
            Self::Quarter => "quarter",
            Self::Month => "month",
            Self::Week => "week",
            Self::DayOfWeek => "dayofweek",
            Self::DayOfYear => "dayofyear",
            Self::Day => "day",
            Self::Hour => "hour",
            Self::Minute => "minute",
            Self::Second => "second",
            Self::Millisecond => "millisecond",
            Self::Microsecond => "microsecond",
        }
    }

    /// Whether date arithmetic (`DATEADD`, `DATEDIFF`) can count in this part.
    pub fn is_arithmetic(self) -> bool {
        !matches!(self, Self::Epoch | Self::DayOfWeek | Self::DayOfYear)
    }

    /// The part for date arithmetic in `function`.
    ///
    /// # Errors
    /// When `name` is no date part, or one arithmetic cannot count in.
    pub fn parse_arithmetic(name: &str, function: &str) -> Result<Self> {
        match Self::from_name(name) {
            Some(p) if p.is_arithmetic() => Ok(p),
            _ => exec_err!("{function} does not accept the date part '{name}'"),
        }
    }
}
