//! TEMPORARY stub.
#![allow(missing_docs, unreachable_pub)]
#[derive(Debug, thiserror::Error)]
#[error("discovery")]
pub struct DiscoveryError;
