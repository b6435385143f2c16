//! The family of Comprehend Medical list operations: five names over one input shape, one output shape and
//! the same four modeled errors (`aws-model/`), told apart only by name. The one table every part reads:
//! the model, both codecs (the JSON 1.1 target and the RPC v2 path are built from [`Operation::name`]),
//! matching, record, playback, the reference, diff and fuzz.

/// One list operation of the family.
///
/// ```
/// use snomed_vcr::model::Operation;
///
/// let rxnorm = Operation::parse("ListRxNormInferenceJobs").unwrap();
/// assert_eq!(rxnorm.boto3(), "list_rx_norm_inference_jobs");
/// assert_eq!(rxnorm.cli(), "list-rx-norm-inference-jobs");
/// assert_eq!(Operation::ALL.len(), 5);
/// assert_eq!(Operation::default(), Operation::SnomedCt);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `ListEntitiesDetectionV2Jobs`.
    EntitiesDetectionV2,
    /// `ListICD10CMInferenceJobs`.
    Icd10Cm,
    /// `ListPHIDetectionJobs`.
    Phi,
    /// `ListRxNormInferenceJobs`.
    RxNorm,
    /// `ListSNOMEDCTInferenceJobs`: the operation every cassette without an `operation` of its own holds.
    #[default]
    SnomedCt,
}

/// Name, boto3 method, AWS CLI command, Rust SDK fluent method (the botocore and smithy-rs spellings).
const TABLE: [(Operation, &str, &str, &str, &str); 5] = [
    (
        Operation::EntitiesDetectionV2,
        "ListEntitiesDetectionV2Jobs",
        "list_entities_detection_v2_jobs",
        "list-entities-detection-v2-jobs",
        "list_entities_detection_v2_jobs",
    ),
    (
        Operation::Icd10Cm,
        "ListICD10CMInferenceJobs",
        "list_icd10_cm_inference_jobs",
        "list-icd10-cm-inference-jobs",
        "list_icd10_cm_inference_jobs",
    ),
    (
        Operation::Phi,
        "ListPHIDetectionJobs",
        "list_phi_detection_jobs",
        "list-phi-detection-jobs",
        "list_phi_detection_jobs",
    ),
    (
        Operation::RxNorm,
        "ListRxNormInferenceJobs",
        "list_rx_norm_inference_jobs",
        "list-rx-norm-inference-jobs",
        "list_rx_norm_inference_jobs",
    ),
    (
        Operation::SnomedCt,
        "ListSNOMEDCTInferenceJobs",
        "list_snomedct_inference_jobs",
        "list-snomedct-inference-jobs",
        "list_snomedct_inference_jobs",
    ),
];

impl Operation {
    /// Every operation of the family, in the order of their names.
    pub const ALL: [Operation; 5] =
        [Operation::EntitiesDetectionV2, Operation::Icd10Cm, Operation::Phi, Operation::RxNorm, Operation::SnomedCt];

    fn row(self) -> &'static (Operation, &'static str, &'static str, &'static str, &'static str) {
        &TABLE[self as usize]
    }

    /// The operation's name, as in `X-Amz-Target` (after the service prefix) and the RPC v2 path.
    pub fn name(self) -> &'static str {
        self.row().1
    }

    /// The boto3 client method.
    pub fn boto3(self) -> &'static str {
        self.row().2
    }

    /// The AWS CLI command (`aws comprehendmedical …`).
    pub fn cli(self) -> &'static str {
        self.row().3
    }

    /// The Rust SDK's fluent method on `aws_sdk_comprehendmedical::Client`.
    pub fn rust(self) -> &'static str {
        self.row().4
    }

    /// The operation named `name` exactly, if it is one of the family.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::parse_bytes(name.as_bytes())
    }

    /// [`Operation::parse`] of a name as bytes, as a request header holds it.
    pub(crate) fn parse_bytes(name: &[u8]) -> Option<Operation> {
        // The default operation first: most calls are of it.
        if name == Operation::SnomedCt.name().as_bytes() {
            return Some(Operation::SnomedCt);
        }
        TABLE.iter().find(|row| row.1.as_bytes() == name).map(|row| row.0)
    }

    /// The operation named by `name` or any of its spellings (`ListRxNormInferenceJobs`,
    /// `list_rx_norm_inference_jobs`, `list-rx-norm-inference-jobs`, `rxnorm`), for the command line.
    pub fn parse_loose(name: &str) -> Option<Operation> {
        let squash = |s: &str| s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
        let want = squash(name);
        TABLE.iter().find(|row| squash(row.1) == want || short(row.0) == want).map(|row| row.0)
    }

    /// The names of the family, for messages.
    pub fn names() -> String {
        Operation::ALL.map(Operation::name).join(", ")
    }
}

/// The short name of an operation (`rxnorm`, `snomedct`), as `--operation` also takes it.
fn short(op: Operation) -> &'static str {
    match op {
        Operation::EntitiesDetectionV2 => "entities",
        Operation::Icd10Cm => "icd10cm",
        Operation::Phi => "phi",
        Operation::RxNorm => "rxnorm",
        Operation::SnomedCt => "snomedct",
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Operation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Operation, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Operation::parse(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown operation '{name}' (expected one of {})", Operation::names()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_the_enums_order_and_every_spelling_parses() {
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].0, op);
            for spelling in [op.name(), op.boto3(), op.cli(), short(op)] {
                assert_eq!(Operation::parse_loose(spelling), Some(op), "{spelling}");
            }
            assert_eq!(Operation::parse(op.name()), Some(op));
        }
        assert_eq!(Operation::parse("ListSnomedCTInferenceJobs"), None, "names are exact on the wire");
        assert_eq!(Operation::parse_loose("ListComprehendJobs"), None);
    }
}
