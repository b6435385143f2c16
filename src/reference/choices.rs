//! What the documentation leaves to the service, as choices the reference can be set to.
//!
//! The reference's own choices ([`Choices::REFERENCE`]) are one correct service; [`Choices::variant`] is
//! another, just as correct, that chooses differently wherever the documentation is silent (`reference
//! --variant`); and each knob a real service turns is a flag of its own (`--short-pages`,
//! `--empty-last-page`, `--random-tokens`, `--terse-messages`, `--bad-token-error`), every one correct by the
//! documentation. A judge that raises an alarm against either takes an undocumented choice as truth. A model
//! learned from a recording (`reference --from-cassette`) sets them to what the recording showed.

use crate::model::{Order, ServiceError};

pub use crate::model::oracle::NameRule;

/// How NextTokens are spelled (their content, a sealed cursor, is the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFormat {
    /// base64url without padding.
    Base64Url,
    /// Lower-case hex, prefixed `c1.`.
    Hex,
}

/// How error messages are worded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Messages {
    /// AWS's wording (`1 validation error detected: …`).
    Aws,
    /// A terse wording of the service's own.
    Terse,
}

/// The service's choices where the documentation is silent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choices {
    /// Order with neither time bound.
    pub unfiltered_order: Order,
    /// Order with both time bounds.
    pub both_bounds_order: Order,
    /// Whether `SubmitTimeBefore` lists a job submitted at exactly that instant.
    pub before_inclusive: bool,
    /// Whether `SubmitTimeAfter` lists a job submitted at exactly that instant.
    pub after_inclusive: bool,
    /// How names match.
    pub job_name: NameRule,
    /// How tokens are spelled.
    pub tokens: TokenFormat,
    /// How messages are worded.
    pub messages: Messages,
    /// The status and code of the answer to a NextToken this service did not issue (or issued for another
    /// filter); `None`: 400 `InvalidRequestException`.
    pub token_error: Option<(u16, String)>,
    /// Pages hold from one to `MaxResults` jobs, varying page by page (`MaxResults` is a maximum).
    pub short_pages: bool,
    /// A page as full as it may be always carries a `NextToken`, even when no job follows: the listing then
    /// ends with an empty page.
    pub empty_last_page: bool,
    /// Tokens are random ids the service keeps, a new one on every call, even for the same page.
    pub random_tokens: bool,
}

impl Choices {
    /// The reference's own: newest first with no time bound, oldest first with both, strict bounds, exact
    /// names, base64url tokens, AWS's wording, 400 `InvalidRequestException` for a bad token.
    pub const REFERENCE: Choices = Choices {
        unfiltered_order: Order::Descending,
        both_bounds_order: Order::Ascending,
        before_inclusive: false,
        after_inclusive: false,
        job_name: NameRule::Exact,
        tokens: TokenFormat::Base64Url,
        messages: Messages::Aws,
        token_error: None,
        short_pages: false,
        empty_last_page: false,
        random_tokens: false,
    };

    /// Another correct service: oldest first with no time bound, newest first with both, hex tokens, terse
    /// messages, and 400 `ValidationException` for a bad token.
    pub fn variant() -> Choices {
        Choices {
            unfiltered_order: Order::Ascending,
            both_bounds_order: Order::Descending,
            tokens: TokenFormat::Hex,
            messages: Messages::Terse,
            token_error: Some((400, "ValidationException".into())),
            ..Choices::REFERENCE
        }
    }

    /// The order of a listing under `filter`: the documented one where there is one.
    pub fn order(&self, filter: &crate::model::Filter) -> Order {
        Order::documented(filter).unwrap_or(match filter.submit_time_before {
            Some(_) => self.both_bounds_order,
            None => self.unfiltered_order,
        })
    }

    /// An error as this service words it.
    pub fn word(&self, mut e: ServiceError) -> ServiceError {
        if self.messages == Messages::Terse {
            e.message = match e.code.as_str() {
                "ValidationException" => format!("invalid input ({})", e.message.matches("Value '").count().max(1)),
                "InvalidRequestException" => "bad request".into(),
                "SerializationException" => "cannot read the request".into(),
                _ => "error".into(),
            };
        }
        e
    }

    /// How many jobs the page after `cursor` (a hash of where it starts) holds, of at most `limit`.
    pub fn page_size(&self, limit: usize, cursor: u64) -> usize {
        if !self.short_pages || limit <= 1 {
            return limit;
        }
        1 + (crate::rng::SplitMix64::new(cursor).next_u64() % limit as u64) as usize
    }

    /// A token error as this service answers it.
    pub fn token_refusal(&self, e: ServiceError) -> ServiceError {
        match &self.token_error {
            Some((status, code)) => ServiceError::new(*status, code.clone(), e.message),
            None => e,
        }
    }
}

impl Default for Choices {
    fn default() -> Self {
        Choices::REFERENCE
    }
}
