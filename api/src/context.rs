//! Who is calling and what they called: the facts the gateway derives from a request before any
//! service code runs.

/// The caller's identity and the operation being served, as the gateway determined them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// Request id returned in `x-amzn-RequestId`.
    pub request_id: String,
    /// Account the access key maps to (12-digit keys are the account; others the default account).
    pub account_id: String,
    /// Region from the SigV4 credential scope, else the emulator's default region.
    pub region: String,
    /// Access key id from the signature, if the request was signed.
    pub access_key_id: Option<String>,
    /// Service signing name (`cleanrooms`, `glue`, …).
    pub service: String,
    /// Operation name as in the model (`GetCollaboration`).
    pub operation: String,
}
