//! The gRPC glue every service shares, written once: what a handler starts from
//! ([`Call`]: the authenticated caller, the purpose of use, the client's
//! deadline), the role check that opens every RPC, the [`grpc_service!`] macro
//! that writes a service's trait impl from its role table and checks every
//! request against [`crate::bounds`] before the handler runs, and [`mount!`], which
//! puts a service behind the authenticator with the message-size limits.
//!
//! [`grpc_service!`]: crate::grpc_service
//! [`mount!`]: crate::mount

use std::time::Duration;

use tonic::{Request, Status, metadata::MetadataMap};

use crate::{
    audit::Purpose,
    auth::{Caller, Role},
};

/// Who calls, why, and by when: what every handler starts from.
#[derive(Debug, Clone)]
pub struct Call {
    /// The authenticated caller.
    pub caller: Caller,
    /// The purpose of use: stated by the caller, and one its roles serve
    /// ([`Purpose::of_call`]).
    pub purpose: Purpose,
    /// The client's deadline (`grpc-timeout`), if it set one.
    pub deadline: Option<Duration>,
}

/// Opens an RPC: the caller must be authenticated and hold one of `roles`.
#[allow(
    clippy::result_large_err,
    reason = "tonic::Status is the error type of every handler"
)]
pub fn begin<T>(request: &Request<T>, roles: &[Role]) -> Result<Call, Status> {
    let caller = Caller::of(request)?;
    caller.require_role(roles)?;
    Ok(Call {
        purpose: Purpose::of_call(request.metadata(), &caller)?,
        caller,
        deadline: grpc_timeout(request.metadata()),
    })
}

/// The client's deadline from `grpc-timeout` (e.g. `500m`, `10S`), if any.
pub fn grpc_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// Re-exports the macros' expansions need, so a service crate needs no extra
/// dependency to use them.
#[doc(hidden)]
pub mod __private {
    pub use sea_orm;
    pub use tonic;
}

/// Writes a gRPC service's trait impl from its role table: per RPC, the roles
/// allowed and the handler (`async fn(&self, &Call, Request) -> Result<Response,
/// E>` with `E: Into<Status>`). Also defines `ROLES`, the table as data (RPC
/// name → roles), for documentation and the authorization tests.
#[macro_export]
macro_rules! grpc_service {
    ($api:ty => $service:path {
        $($rpc:ident($req:ty) -> $resp:ty, $roles:expr => $handler:ident;)*
    }) => {
        #[$crate::grpc::__private::tonic::async_trait]
        impl $service for $api {
            $(
                async fn $rpc(
                    &self,
                    request: $crate::grpc::__private::tonic::Request<$req>,
                ) -> ::std::result::Result<
                    $crate::grpc::__private::tonic::Response<$resp>,
                    $crate::grpc::__private::tonic::Status,
                > {
                    let call = $crate::grpc::begin(&request, $roles)?;
                    $crate::bounds::check(request.get_ref()).map_err(|e| {
                        $crate::status::invalid_argument("iop.request", e.field, &e.reason)
                    })?;
                    let response = self.$handler(&call, request.into_inner()).await?;
                    Ok($crate::grpc::__private::tonic::Response::new(response))
                }
            )*
        }

        /// Per RPC, the roles that may call it.
        pub const ROLES: &[(&str, &[$crate::auth::Role])] = &[$((stringify!($rpc), $roles),)*];
    };
}

/// Mounts a generated gRPC server on a [`crate::server::Host`]: behind the
/// host's authenticator, with the settings' message-size limits.
#[macro_export]
macro_rules! mount {
    ($host:expr, $server:expr) => {{
        let host: &mut $crate::server::Host = $host;
        let limit = host.settings.grpc.max_message_bytes;
        let server = $server
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
        let auth = host.auth.clone();
        host.routes().add_service(
            $crate::grpc::__private::tonic::service::interceptor::InterceptedService::new(
                server, auth,
            ),
        );
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_grpc_timeout_units() {
        let mut m = MetadataMap::new();
        for (v, d) in [
            ("500m", Duration::from_millis(500)),
            ("10S", Duration::from_secs(10)),
            ("2M", Duration::from_secs(120)),
        ] {
            m.insert("grpc-timeout", v.parse().unwrap_or_else(|_| unreachable!()));
            assert_eq!(grpc_timeout(&m), Some(d));
        }
        m.insert(
            "grpc-timeout",
            "abc".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(grpc_timeout(&m), None);
    }
}
