//! Planted bugs: `snomed-vcr reference --defect NAME` serves the reference with one realistic mistake, so users
//! (and this project's tests) can see what `diff` and `fuzz` report for it. Each defect breaks one sentence
//! of the documentation or one constraint of the model, and changes the reference in exactly one place,
//! marked `Defect::…` in `reference/mod.rs` (or `garble` below, for outputs); the clean reference has none.

/// One planted bug. The names are stable: tests, docs and `--defect` use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Defect {
    /// Every full page holds one job more than MaxResults (or the default 100).
    PageOverflow,
    /// SubmitTimeBefore also lists jobs submitted at exactly that instant.
    InclusiveBefore,
    /// SubmitTimeBefore alone lists newest first, against the documented oldest first.
    ReversedBefore,
    /// Each follow-up page starts again with the previous page's last job.
    RepeatLastJob,
    /// The JobStatus filter is applied to the first page only.
    StatusFilterFirstPage,
    /// A malformed or tampered NextToken is a 500 InternalServerException, not a 400.
    TokenServerError,
    /// The second page of a listing never carries a NextToken, so listings end after it.
    MissingMiddleToken,
    /// Timestamps go out in epoch milliseconds instead of seconds.
    MillisTimestamps,
    /// PARTIAL_SUCCESS jobs are listed with the status PARTIALLY_COMPLETED, which the model does not have.
    UnknownStatus,
    /// Validation failures are InvalidRequestException instead of ValidationException.
    WrongErrorType,
    /// JobName matches every job whose name starts with the filter's.
    NamePrefix,
    /// SubmitTimeAfter alone lists oldest first, against the documented newest first.
    AfterOldestFirst,
    /// JobStatus is ignored when JobName is also set (combined filters).
    StatusIgnoredWithName,
    /// SubmitTimeAfter is ignored when SubmitTimeBefore is also set (combined filters).
    AfterIgnoredWithBefore,
    /// MaxResults 500, the model's maximum, is refused as out of range.
    #[value(name = "max-results-500-refused")]
    MaxResults500Refused,
    /// A JobName of up to 300 characters is accepted (the model's maximum is 256).
    LongNameAccepted,
    /// An empty NextToken is read as none (the model's minimum length is 1).
    EmptyTokenAccepted,
    /// A JobStatus in lower case is accepted, as if it were upper case (the enum is case-sensitive).
    LowercaseStatusAccepted,
    /// RPC v2 CBOR outputs write timestamps as plain numbers, without tag 1.
    CborUntaggedTimestamps,
    /// Errors carry their code only in the x-amzn-ErrorType header, not in the body's `__type`.
    ErrorTypeHeaderOnly,
    /// The last page of a listing of several pages comes back empty: its jobs are lost.
    DropsLastPage,
    /// Jobs that ended say they ended before they were submitted.
    EndBeforeSubmit,
    /// RPC v2 CBOR errors are written as JSON.
    CborErrorAsJson,
}

impl Defect {
    /// Every defect, in `--help` order.
    pub const ALL: [Defect; 23] = [
        Defect::PageOverflow,
        Defect::InclusiveBefore,
        Defect::ReversedBefore,
        Defect::RepeatLastJob,
        Defect::StatusFilterFirstPage,
        Defect::TokenServerError,
        Defect::MissingMiddleToken,
        Defect::MillisTimestamps,
        Defect::UnknownStatus,
        Defect::WrongErrorType,
        Defect::NamePrefix,
        Defect::AfterOldestFirst,
        Defect::StatusIgnoredWithName,
        Defect::AfterIgnoredWithBefore,
        Defect::MaxResults500Refused,
        Defect::LongNameAccepted,
        Defect::EmptyTokenAccepted,
        Defect::LowercaseStatusAccepted,
        Defect::CborUntaggedTimestamps,
        Defect::ErrorTypeHeaderOnly,
        Defect::DropsLastPage,
        Defect::EndBeforeSubmit,
        Defect::CborErrorAsJson,
    ];

    /// The name `--defect` takes.
    pub fn name(self) -> &'static str {
        match self {
            Defect::PageOverflow => "page-overflow",
            Defect::InclusiveBefore => "inclusive-before",
            Defect::ReversedBefore => "reversed-before",
            Defect::RepeatLastJob => "repeat-last-job",
            Defect::StatusFilterFirstPage => "status-filter-first-page",
            Defect::TokenServerError => "token-server-error",
            Defect::MissingMiddleToken => "missing-middle-token",
            Defect::MillisTimestamps => "millis-timestamps",
            Defect::UnknownStatus => "unknown-status",
            Defect::WrongErrorType => "wrong-error-type",
            Defect::NamePrefix => "name-prefix",
            Defect::AfterOldestFirst => "after-oldest-first",
            Defect::StatusIgnoredWithName => "status-ignored-with-name",
            Defect::AfterIgnoredWithBefore => "after-ignored-with-before",
            Defect::MaxResults500Refused => "max-results-500-refused",
            Defect::LongNameAccepted => "long-name-accepted",
            Defect::EmptyTokenAccepted => "empty-token-accepted",
            Defect::LowercaseStatusAccepted => "lowercase-status-accepted",
            Defect::CborUntaggedTimestamps => "cbor-untagged-timestamps",
            Defect::ErrorTypeHeaderOnly => "error-type-header-only",
            Defect::DropsLastPage => "drops-last-page",
            Defect::EndBeforeSubmit => "end-before-submit",
            Defect::CborErrorAsJson => "cbor-error-as-json",
        }
    }
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The output garbling defects, applied to each listed job.
pub(super) fn garble(defect: Defect, job: &mut crate::model::JobProperties) {
    match defect {
        Defect::MillisTimestamps => {
            for t in [&mut job.submit_time, &mut job.end_time, &mut job.expiration_time].into_iter().flatten() {
                *t = crate::model::Timestamp::from_secs_f64((t.secs_f64() * 1000.0).round()).unwrap_or(*t);
            }
        }
        Defect::UnknownStatus if job.job_status.as_deref() == Some("PARTIAL_SUCCESS") => {
            job.job_status = Some("PARTIALLY_COMPLETED".into());
        }
        Defect::EndBeforeSubmit => {
            if let (Some(s), Some(_)) = (job.submit_time, job.end_time) {
                job.end_time = crate::model::Timestamp::from_secs_f64(s.secs_f64() - 3600.0);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn names_are_the_ones_the_command_line_takes() {
        for d in Defect::ALL {
            assert_eq!(d.to_possible_value().unwrap().get_name(), d.name());
            assert_eq!(Defect::from_str(d.name(), false), Ok(d));
        }
        assert_eq!(Defect::value_variants().len(), Defect::ALL.len());
    }
}
