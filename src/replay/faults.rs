//! Faults and latency the replay server adds to its answers, drawn by request number from a seeded stream,
//! so a run is reproduced by its seed.

use std::time::Duration;

use crate::model::ServiceError;
use crate::options::ParseError;
use crate::rng::SplitMix64;

/// Simulated latency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Latency {
    /// Answer at once.
    None,
    /// Each interaction's recorded `elapsed_ms`.
    Recorded,
    /// This long for every answer.
    Fixed(Duration),
}

impl Latency {
    /// Parses `recorded`, `none`, or milliseconds (`25`).
    pub fn parse(s: &str) -> Result<Latency, ParseError> {
        match s {
            "none" => Ok(Latency::None),
            "recorded" => Ok(Latency::Recorded),
            ms => ms
                .parse::<u64>()
                .map(|ms| Latency::Fixed(Duration::from_millis(ms)))
                .map_err(|_| ParseError::new(s, "a latency (expected recorded, none, or milliseconds such as 25)")),
        }
    }
}

/// Injected faults: probabilities of a 429 and a 500, drawn from a seeded stream by request number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Faults {
    /// The probability of a 429 `TooManyRequestsException`.
    pub throttle: f64,
    /// The probability of a 500 `InternalServerException`.
    pub internal: f64,
}

impl Faults {
    /// Parses `throttle=0.05,internal=0.01`.
    pub fn parse(s: &str) -> Result<Faults, ParseError> {
        let probability = "a probability (expected a number from 0 to 1)";
        let mut f = Faults::default();
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| ParseError::new(part, "NAME=PROBABILITY"))?;
            let p: f64 = v.parse().map_err(|_| ParseError::new(v, probability))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(ParseError::new(v, probability));
            }
            match k {
                "throttle" => f.throttle = p,
                "internal" => f.internal = p,
                other => return Err(ParseError::new(other, "a fault (expected throttle or internal)")),
            }
        }
        if f.throttle + f.internal > 1.0 {
            return Err(ParseError::new(s, "a set of faults (their probabilities add up to more than 1)"));
        }
        Ok(f)
    }

    /// The fault for the `n`th request (from 0) under `seed`, if any.
    pub fn draw(&self, seed: u64, n: u64) -> Option<ServiceError> {
        let u = SplitMix64::new(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).unit();
        if u < self.throttle {
            Some(ServiceError::too_many_requests("Rate exceeded (injected by snomed-vcr replay)"))
        } else if u < self.throttle + self.internal {
            Some(ServiceError::internal("Internal server error (injected by snomed-vcr replay)"))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_deterministic_by_seed_and_near_their_rates() {
        let f = Faults::parse("throttle=0.05,internal=0.01").unwrap();
        let draw = |seed| (0..20_000).map(|n| f.draw(seed, n).map(|e| e.status)).collect::<Vec<_>>();
        let a = draw(7);
        assert_eq!(a, draw(7));
        assert_ne!(a, draw(8));
        let throttled = a.iter().filter(|s| **s == Some(429)).count() as f64 / 20_000.0;
        let internal = a.iter().filter(|s| **s == Some(500)).count() as f64 / 20_000.0;
        assert!((0.04..0.06).contains(&throttled), "{throttled}");
        assert!((0.005..0.015).contains(&internal), "{internal}");
        for bad in ["throttle", "throttle=2", "slow=0.1", "throttle=0.7,internal=0.5"] {
            assert!(Faults::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Latency::parse("25"), Ok(Latency::Fixed(Duration::from_millis(25))));
        assert!(Latency::parse("fast").unwrap_err().to_string().contains("milliseconds"));
    }
}
