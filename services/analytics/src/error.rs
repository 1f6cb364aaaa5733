//! The projector's error type and its mapping to gRPC statuses (domain
//! `iop.analytics`). Its one RPC reads counts, so only the shared kinds
//! (invalid argument, denied, storage) occur.

iop_runtime::service_error! {
/// Everything the projector's API can fail with.
pub enum AnalyticsError in "iop.analytics" {
}
}
