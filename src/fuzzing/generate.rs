//! The generator of cases: from bytes, with hand-written, boundary-biased [`Arbitrary`] impls for the leaves.
//!
//! Every choice puts its simplest value first, because `arbitrary` answers zeros once the bytes run out: a
//! short input is a plain, valid request, never a pile of zeros that happens to be invalid. Values observed in
//! the target's answers (a [`Pool`]) feed the generators: JobNames with their prefixes and extensions,
//! SubmitTimes exactly and one microsecond either side, real NextTokens.

use arbitrary::{Arbitrary, Result, Unstructured};
use serde_json::{Value, json};

use super::input::{Case, Change, FilterInput, Member, Mutation, Pool, Relation, RequestInput, Step, TokenInput};
use crate::model::{JOB_NAME_MAX, JobStatus, MAX_RESULTS_MAX};
use crate::rng::SplitMix64;

/// The bytes case `i` of a seed is generated from.
pub fn case_bytes(seed: u64, i: u64) -> Vec<u8> {
    let mut rng = SplitMix64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let n = 64 + rng.below(448) as usize;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Case `i` of a seed.
pub fn case(seed: u64, i: u64, pool: &Pool) -> Case {
    let bytes = case_bytes(seed, i);
    Case::generate(&mut Unstructured::new(&bytes), pool).expect("generation never fails: it falls back to defaults")
}

impl Case {
    /// A case from bytes, with observed values from `pool`.
    pub fn generate(u: &mut Unstructured, pool: &Pool) -> Result<Case> {
        let g = Gen { pool };
        // Sequences first: an exhausted input is a one-step sequence of the empty request.
        Ok(if !chance(u, 1, 4)? {
            let n = 1 + usize::from(u.int_in_range(0..=3u8)?);
            let mut steps = Vec::with_capacity(n);
            for _ in 0..n {
                steps.push(g.step(u)?);
            }
            Case::Sequence(steps)
        } else {
            Case::Relation(g.relation(u)?)
        })
    }
}

/// The generators, with the pool of observed values.
struct Gen<'p> {
    pool: &'p Pool,
}

impl Gen<'_> {
    fn step(&self, u: &mut Unstructured) -> Result<Step> {
        let request = self.request(u)?;
        let follow = *u.choose(&[0u8, 0, 1, 2, 5, 50])?;
        let change = match u.int_in_range(0..=9u8)? {
            0 => Some(Change::MaxResults(MaxResults::arbitrary(u)?.0)),
            1 => Some(Change::Filter(self.filter_opt(u)?)),
            _ => None,
        };
        let repeat = chance(u, 1, 8)?;
        Ok(Step { request, follow, change, repeat })
    }

    fn request(&self, u: &mut Unstructured) -> Result<RequestInput> {
        let filter = self.filter_opt(u)?;
        let filter_confused = if chance(u, 1, 30)? { Some(Confused::arbitrary(u)?.0) } else { None };
        let max_results = MaxResults::arbitrary(u)?.0;
        let token = match u.int_in_range(0..=9u8)? {
            0..=5 => TokenInput::Absent,
            6 | 7 => TokenInput::Issued { n: u.arbitrary()?, mutation: mutation(u)? },
            _ => TokenInput::Literal(TokenLiteral::arbitrary(u)?.0),
        };
        let unknown = if chance(u, 1, 20)? {
            Some((u.choose(&["Unknown", "filter", "maxResults", "Extra"])?.to_string(), Confused::arbitrary(u)?.0))
        } else {
            None
        };
        Ok(RequestInput { filter, filter_confused, max_results, token, unknown })
    }

    fn filter_opt(&self, u: &mut Unstructured) -> Result<Option<FilterInput>> {
        Ok(if chance(u, 3, 4)? { Some(self.filter(u, false)?) } else { None })
    }

    /// A filter; `valid` keeps every member within the model (for relations).
    fn filter(&self, u: &mut Unstructured, valid: bool) -> Result<FilterInput> {
        let mut f = FilterInput::default();
        if chance(u, 1, 3)? {
            f.job_name = Some(self.name(u, valid)?);
        }
        if chance(u, 1, 3)? {
            f.job_status = Some(if valid { status_valid(u)? } else { Status::arbitrary(u)?.0 });
        }
        if chance(u, 1, 3)? {
            f.before = Some(self.time(u, valid)?);
        }
        if chance(u, 1, 3)? {
            f.after = Some(self.time(u, valid)?);
        }
        // Sometimes the two bounds are equal, or crossed.
        if let (Some(b), Some(a)) = (&f.before, &f.after)
            && chance(u, 1, 4)?
        {
            let (b, a) = (b.clone(), a.clone());
            if chance(u, 1, 2)? {
                f.after = Some(b);
            } else {
                f.before = Some(a);
                f.after = Some(b);
            }
        }
        Ok(f)
    }

    fn name(&self, u: &mut Unstructured, valid: bool) -> Result<Value> {
        let pool = &self.pool.names;
        if !pool.is_empty() && chance(u, 2, 3)? {
            let base = &pool[u.choose_index(pool.len())?];
            let chars: Vec<char> = base.chars().collect();
            return Ok(json!(match u.int_in_range(0..=4u8)? {
                0 | 1 => base.clone(),
                2 => chars[..u.int_in_range(1..=chars.len().max(1))?.min(chars.len())].iter().collect::<String>(),
                3 => format!("{base}{}", u.choose(&["x", "-", " ", "1", "é"])?),
                _ => base.to_uppercase(),
            }));
        }
        if valid {
            let n = JobName::arbitrary(u)?.0;
            return Ok(if crate::model::job_name_valid(&n) { json!(n) } else { json!("x") });
        }
        Ok(if chance(u, 1, 12)? { Confused::arbitrary(u)?.0 } else { json!(JobName::arbitrary(u)?.0) })
    }

    fn time(&self, u: &mut Unstructured, valid: bool) -> Result<Value> {
        let pool = &self.pool.times;
        if !pool.is_empty() && chance(u, 2, 3)? {
            let t = pool[u.choose_index(pool.len())?];
            let t = match u.int_in_range(0..=3u8)? {
                0 | 1 => t,
                2 => t - 1e-6,
                _ => t + 1e-6,
            };
            return Ok(number(t));
        }
        if valid {
            return Ok(number(1_704_067_200.0 + f64::from(u.int_in_range(0..=40_000_000u32)?)));
        }
        Ok(if chance(u, 1, 12)? { Confused::arbitrary(u)?.0 } else { Time::arbitrary(u)?.0 })
    }

    fn relation(&self, u: &mut Unstructured) -> Result<Relation> {
        let size = |u: &mut Unstructured| -> Result<Option<i64>> {
            Ok(*u.choose(&[Some(50), Some(7), Some(13), Some(100), None, Some(500)])?)
        };
        Ok(match u.int_in_range(0..=3u8)? {
            0 => {
                let base = self.filter(u, true)?;
                let mut extra = self.filter(u, true)?;
                if extra.is_empty() {
                    extra.job_status = Some(status_valid(u)?);
                }
                Relation::Narrower { base, extra, max_results: size(u)? }
            }
            1 => {
                let a = self.filter(u, true)?;
                let b = self.filter(u, true)?;
                // Members apart: b keeps only what a does not set.
                let mut b2 = FilterInput::default();
                for ((a, b), slot) in a.members().iter().zip(b.members()).zip(b2.members_mut()) {
                    if a.1.is_none() {
                        *slot = b.1.clone();
                    }
                }
                Relation::Intersection { a, b: b2, max_results: size(u)? }
            }
            2 => {
                let filter = self.filter(u, true)?;
                let a = size(u)?;
                let mut b = size(u)?;
                if a == b {
                    b = if a == Some(7) { Some(50) } else { Some(7) };
                }
                Relation::PageSizes { filter, sizes: [a, b] }
            }
            _ => {
                let filter = FilterInput { job_status: None, ..self.filter(u, true)? };
                Relation::Partition { filter, max_results: size(u)? }
            }
        })
    }
}

/// True with probability `n/d`, and false once the bytes run out (`Unstructured::ratio` is true then).
fn chance(u: &mut Unstructured, n: u32, d: u32) -> Result<bool> {
    Ok(u.int_in_range(0..=d - 1)? >= d - n)
}

fn number(t: f64) -> Value {
    if t.fract() == 0.0 && t.abs() < 9e15 { json!(t as i64) } else { json!(t) }
}

fn mutation(u: &mut Unstructured) -> Result<Mutation> {
    Ok(match u.int_in_range(0..=4u8)? {
        0 | 1 => Mutation::None,
        2 => Mutation::Truncate(u.int_in_range(0..=64u16)?),
        3 => Mutation::FlipBit(u.arbitrary()?, u.arbitrary()?),
        _ => Mutation::Append(*u.choose(&['A', '=', '%', '0', '/'])?),
    })
}

fn status_valid(u: &mut Unstructured) -> Result<Value> {
    Ok(json!(u.choose(&JobStatus::ALL)?.as_str()))
}

/// `MaxResults`: absent first, the bounds and one past them, the default, extremes, any integer, and values
/// of the wrong type.
#[derive(Clone, Debug, PartialEq)]
pub struct MaxResults(pub Member);

impl<'a> Arbitrary<'a> for MaxResults {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let max = MAX_RESULTS_MAX;
        Ok(MaxResults(match u.int_in_range(0..=11u8)? {
            0 | 1 => None,
            2 => Some(json!(*u.choose(&[1, max, 100, 2, max - 1])?)),
            3 => Some(json!(*u.choose(&[0, max + 1, -1])?)),
            4 => Some(json!(*u.choose(&[i64::from(i32::MAX), i64::from(i32::MIN), i64::MAX, i64::MIN])?)),
            5..=7 => Some(json!(u.int_in_range(1..=max)?)),
            8 => Some(json!(u.int_in_range(1..=12)?)),
            9 => Some(json!(u.arbitrary::<i64>()?)),
            _ => Some(Confused::arbitrary(u)?.0),
        }))
    }
}

/// Characters at the edges of the JobName pattern `^([\p{L}\p{Z}\p{N}_.:/=+\-%@]*)$`, allowed and not.
const ALLOWED_EDGE: &[char] = &['_', '.', ':', '/', '=', '+', '-', '%', '@', ' ', '\u{3000}', '\u{a0}'];
const DISALLOWED: &[char] = &['!', '$', '*', '#', '\u{0}', '\u{b}', '\n', '"', '\\', '<', '\u{301}', '\u{200b}', '😀'];
/// Letters and digits of several scripts.
const LETTERS: &[char] = &['a', 'Z', 'é', 'ß', 'Ж', 'λ', 'ا', 'א', '病', 'か', '한', 'ก', '٣', '७', '5', 'Ⅻ'];

/// A `JobName` value: 0, 1, 256 and 257 scalars, allowed classes and edges, several scripts, combining marks,
/// disallowed characters.
#[derive(Clone, Debug, PartialEq)]
pub struct JobName(pub String);

impl<'a> Arbitrary<'a> for JobName {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let len = match u.int_in_range(0..=7u8)? {
            0..=2 => u.int_in_range(1..=12usize)?,
            3 => *u.choose(&[JOB_NAME_MAX, JOB_NAME_MAX + 1])?,
            4 => 0,
            5 => 1,
            _ => u.int_in_range(0..=300usize)?,
        };
        let bad = chance(u, 1, 5)?;
        let mut s = String::with_capacity(len);
        for i in 0..len {
            let c = match u.int_in_range(0..=9u8)? {
                0..=5 => *u.choose(LETTERS)?,
                6 | 7 => *u.choose(ALLOWED_EDGE)?,
                8 if bad || i == 0 => *u.choose(DISALLOWED)?,
                _ => char::from(b'a' + u.int_in_range(0..=25u8)?),
            };
            s.push(c);
        }
        Ok(JobName(s))
    }
}

/// A `JobStatus` value: valid first, then invalid, case-changed, or of the wrong type.
#[derive(Clone, Debug, PartialEq)]
pub struct Status(pub Value);

impl<'a> Arbitrary<'a> for Status {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let valid = u.choose(&JobStatus::ALL)?.as_str();
        Ok(Status(match u.int_in_range(0..=9u8)? {
            0..=5 => json!(valid),
            6 => json!(valid.to_lowercase()),
            7 => json!(*u.choose(&["BOGUS", "", "PARTIALLY_COMPLETED", "COMPLETED ", " FAILED", "DONE"])?),
            8 => json!(format!("{valid}{}", u.choose(&["_", "S", "\u{0}"])?)),
            _ => Confused::arbitrary(u)?.0,
        }))
    }
}

/// A time bound: whole seconds, with milliseconds or microseconds, negative, huge, zero.
#[derive(Clone, Debug, PartialEq)]
pub struct Time(pub Value);

impl<'a> Arbitrary<'a> for Time {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let base = 1_704_067_200.0 + f64::from(u.int_in_range(0..=40_000_000u32)?);
        Ok(Time(match u.int_in_range(0..=7u8)? {
            0..=2 => number(base),
            3 => number(base + f64::from(u.int_in_range(0..=999_999u32)?) / 1e6),
            4 => number(base + f64::from(u.int_in_range(0..=999u32)?) / 1e3),
            5 => number(*u.choose(&[0.0, -1.0, -1_704_067_200.0, 1e12, 1.7e12, 253_402_300_800.0])?),
            6 => number(*u.choose(&[1e300, -1e300, 9.007_199_254_740_993e15, f64::MIN_POSITIVE])?),
            _ => number(f64::from(u.arbitrary::<i32>()?)),
        }))
    }
}

/// A `NextToken` literal: empty, short, random, long, or of the wrong type.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLiteral(pub Value);

impl<'a> Arbitrary<'a> for TokenLiteral {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(TokenLiteral(match u.int_in_range(0..=5u8)? {
            0 => json!(""),
            1 => json!(*u.choose(&["x", "0", "null", "AAAA", "1", "eyJvZmZzZXQiOjEwfQ"])?),
            2 | 3 => {
                let n = u.int_in_range(1..=80usize)?;
                let s: String =
                    (0..n).map(|_| u.int_in_range(33..=126u8).map(char::from)).collect::<Result<String>>()?;
                json!(s)
            }
            4 => json!("A".repeat(*u.choose(&[1024usize, 10_000])?)),
            _ => Confused::arbitrary(u)?.0,
        }))
    }
}

/// A value of the wrong type for any member: null, a string of a number, a float, a boolean, an array, an
/// object.
#[derive(Clone, Debug, PartialEq)]
pub struct Confused(pub Value);

impl<'a> Arbitrary<'a> for Confused {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        Ok(Confused(match u.int_in_range(0..=6u8)? {
            0 => Value::Null,
            1 => json!("5"),
            2 => json!(5.5),
            3 => json!(true),
            4 => json!([5]),
            5 => json!({"a": 1}),
            _ => json!(-0.0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausted_bytes_give_the_plain_empty_request() {
        let case = Case::generate(&mut Unstructured::new(&[]), &Pool::default()).unwrap();
        let Case::Sequence(steps) = &case else { panic!("{case:?}") };
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].request.to_document(None), json!({}));
        assert_eq!(steps[0].follow, 0);
    }

    #[test]
    fn generation_reaches_every_boundary_it_promises() {
        let mut rng = crate::rng::SplitMix64::new(7);
        let pool = Pool { names: vec!["病歴-抽出".into()], times: vec![1_704_434_496.5], tokens: vec![] };
        let (mut max, mut names, mut times, mut relations) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for _ in 0..4000 {
            let bytes: Vec<u8> = (0..256).map(|_| rng.next_u64() as u8).collect();
            match Case::generate(&mut Unstructured::new(&bytes), &pool).unwrap() {
                Case::Sequence(steps) => {
                    for s in steps {
                        let d = s.request.to_document(Some("t"));
                        max.push(d.get("MaxResults").cloned());
                        if let Some(n) = d.pointer("/Filter/JobName").and_then(Value::as_str) {
                            names.push(n.chars().count());
                        }
                        if let Some(t) = d.pointer("/Filter/SubmitTimeBefore").and_then(Value::as_f64) {
                            times.push(t);
                        }
                    }
                }
                Case::Relation(_) => relations += 1,
            }
        }
        for m in [json!(1), json!(500), json!(0), json!(501), json!(-1), json!("5"), Value::Null] {
            assert!(max.contains(&Some(m.clone())), "MaxResults {m} never generated");
        }
        assert!(max.contains(&None));
        for n in [0, 1, 256, 257] {
            assert!(names.contains(&n), "no JobName of {n} scalars");
        }
        assert!(times.contains(&1_704_434_496.5), "the observed time itself");
        assert!(times.iter().any(|t| (t - 1_704_434_496.5).abs() > 0.0 && (t - 1_704_434_496.5).abs() < 2e-6));
        assert!(relations > 500, "{relations}");
    }
}
