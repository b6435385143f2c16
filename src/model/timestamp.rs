//! [`Timestamp`]: an instant as epoch seconds, at the precision its sender used.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// An instant as epoch seconds, kept with the precision the sender used: boto3 sends microseconds, the AWS CLI
/// whole seconds, the Rust SDK a float64. Whole values are written back as integers, others as the shortest
/// decimal that reads back to the same `f64` (so `1704164645.678` stays `1704164645.678`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Timestamp(f64);

impl Timestamp {
    /// A finite epoch-seconds value.
    pub fn from_secs_f64(secs: f64) -> Option<Timestamp> {
        secs.is_finite().then_some(Timestamp(secs))
    }
    /// Whole epoch seconds.
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs as f64)
    }
    /// The instant as epoch seconds.
    pub fn secs_f64(self) -> f64 {
        self.0
    }
    /// A total order (timestamps are finite, so this agrees with `<`).
    pub fn total_cmp(&self, other: &Timestamp) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
    /// The JSON number this timestamp is written as.
    pub fn to_json(self) -> Value {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            Value::from(self.0 as i64)
        } else {
            serde_json::Number::from_f64(self.0).map_or(Value::Null, Value::Number)
        }
    }
    /// ISO 8601 (UTC, milliseconds), for humans.
    pub fn to_rfc3339(self) -> String {
        crate::time::rfc3339(self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        Timestamp::from_secs_f64(secs).ok_or_else(|| serde::de::Error::custom("timestamp must be finite"))
    }
}
