//! gRPC server bootstrap shared by every process: standard health
//! (`grpc.health.v1`) whose per-service status is SERVING only once the service
//! is ready and NOT_SERVING from the moment shutdown begins; server reflection (v1
//! and v1alpha, which older grpcurl needs); request deadline and message-size
//! limits; a span per request that continues the caller's trace; and graceful
//! shutdown on SIGTERM/SIGINT that drains before closing.

use std::{net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::settings::GrpcSettings;

/// The server failed to start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address asked for (`grpc.listen`).
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Reflection could not load the descriptors.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("grpc transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A TLS file could not be read.
    #[error("grpc.tls: {path}: {source}")]
    Tls {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The server's TLS configuration from `[grpc.tls]`, if it has one.
fn tls_config(
    tls: &crate::settings::GrpcTls,
) -> Result<Option<tonic::transport::ServerTlsConfig>, ServerError> {
    use tonic::transport::{Certificate, Identity, ServerTlsConfig};
    if !tls.enabled() {
        return Ok(None);
    }
    let read = |path: &str| {
        std::fs::read(path).map_err(|source| ServerError::Tls {
            path: path.to_owned(),
            source,
        })
    };
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(
        read(&tls.cert_file)?,
        read(&tls.key_file)?,
    ));
    if !tls.client_ca_file.is_empty() {
        config = config.client_ca_root(Certificate::from_pem(read(&tls.client_ca_file)?));
    }
    Ok(Some(config))
}

/// The health entry that says only "this process runs": SERVING from the
/// start, NOT_SERVING once shutdown begins. A liveness probe asks it, so a
/// broker outage (which makes the services NOT_SERVING) restarts nothing.
pub const LIVENESS: &str = "liveness";

/// Health of the services in one process. Every service starts NOT_SERVING;
/// once shutdown begins, nothing turns SERVING again.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    serving: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<&'static str, bool>>>,
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Health {
    /// Health for `services` (full gRPC names), all NOT_SERVING, and the health
    /// service to mount.
    pub async fn new(
        services: &[&'static str],
    ) -> (
        Self,
        tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    ) {
        let (reporter, server) = tonic_health::server::health_reporter();
        let serving = services.iter().map(|s| (*s, false)).collect();
        let health = Self {
            reporter,
            serving: std::sync::Arc::new(std::sync::Mutex::new(serving)),
            stopping: std::sync::Arc::default(),
        };
        health.publish().await;
        (health, server)
    }

    /// Marks one service SERVING; the overall status ("") follows once all are.
    pub async fn serving(&self, service: &'static str) {
        self.set(service, true).await;
    }

    /// Marks one service SERVING or NOT_SERVING (a consumer that stalled, then
    /// recovered). After shutdown began, a service stays NOT_SERVING.
    pub async fn set(&self, service: &'static str, up: bool) {
        use std::sync::atomic::Ordering;
        if up && self.stopping.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(mut map) = self.serving.lock() {
            map.insert(service, up);
        }
        self.publish().await;
    }

    /// Marks every service (and the overall status) NOT_SERVING, for good.
    pub async fn not_serving(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut map) = self.serving.lock() {
            map.values_mut().for_each(|v| *v = false);
        }
        self.publish().await;
    }

    async fn publish(&self) {
        let snapshot: Vec<(&'static str, bool)> = match self.serving.lock() {
            Ok(map) => map.iter().map(|(k, v)| (*k, *v)).collect(),
            Err(_) => return,
        };
        let status = |up: bool| {
            if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            }
        };
        for (service, up) in &snapshot {
            self.reporter
                .set_service_status(*service, status(*up))
                .await;
        }
        let all = !snapshot.is_empty() && snapshot.iter().all(|(_, up)| *up);
        self.reporter.set_service_status("", status(all)).await;
        let alive = !self.stopping.load(std::sync::atomic::Ordering::SeqCst);
        self.reporter
            .set_service_status(LIVENESS, status(alive))
            .await;
    }
}

/// Binds the gRPC listener (port 0 picks a free port).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })
}

/// Serves `routes` plus reflection and the health service on `listener` until
/// `shutdown` is cancelled; then reports NOT_SERVING, waits `grpc.drain_ms` for
/// balancers to notice, and lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    settings: &GrpcSettings,
    routes: Routes,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(iop_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(iop_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let drain = Duration::from_millis(settings.drain_ms);
    let routes = routes
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    // Accepted connections are configured here: the builder's `tcp_nodelay`
    // applies only to listeners tonic binds itself. Without TCP_NODELAY a
    // small response waits for the client's delayed ACK (measured with `iop
    // bench`: a 40 ms stall in the tail of every operation).
    let incoming = tokio_stream::StreamExt::map(TcpListenerStream::new(listener), |accepted| {
        accepted.and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    });
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls_config(&settings.tls)? {
        builder = builder.tls_config(tls)?;
    }
    builder
        .timeout(settings.request_timeout())
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .trace_fn(|request| {
            let span = crate::telemetry::server_span(request.uri().path());
            crate::telemetry::set_parent_from_headers(&span, request.headers());
            span
        })
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.cancelled().await;
            health.not_serving().await;
            tracing::info!(
                drain_ms = drain.as_millis() as u64,
                "shutting down: NOT_SERVING, draining"
            );
            tokio::time::sleep(drain).await;
        })
        .await?;
    Ok(())
}

/// Binds `grpc.health_listen`.
async fn bind_health(listen: &str) -> Result<TcpListener, ServerError> {
    let addr: SocketAddr = listen.parse().map_err(|e| ServerError::Bind {
        addr: SocketAddr::from(([0, 0, 0, 0], 0)),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("grpc.health_listen {listen:?}: {e}"),
        ),
    })?;
    bind(addr).await
}

/// Serves the health service alone, in plaintext, until `stop`.
async fn serve_health(listener: TcpListener, routes: Routes, stop: CancellationToken) {
    let served = tonic::transport::Server::builder()
        .add_routes(routes)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), stop.cancelled_owned())
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "grpc.health_listen stopped");
    }
}

/// Cancels `token` on SIGTERM or SIGINT.
pub fn cancel_on_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received"),
            _ = term => tracing::info!("SIGTERM received"),
        }
        token.cancel();
    });
}

/// How long shutdown waits for background tasks once the server stopped.
pub const STOP_WITHIN: Duration = Duration::from_secs(20);

/// One process's gRPC host: the services it mounts, their health, the shared
/// authenticator and the background tasks (relays, consumers) they spawn. A
/// service's `start` adds itself here; `iop serve` hosts one service and `iop dev`
/// hosts them all behind one address.
pub struct Host {
    /// The process's settings.
    pub settings: crate::Settings,
    /// Health of the hosted services.
    pub health: Health,
    /// Validates bearer tokens for every hosted service.
    pub auth: crate::auth::Authenticator,
    /// Cancelled when the process shuts down.
    pub shutdown: CancellationToken,
    routes: tonic::service::RoutesBuilder,
    /// The health service alone, for `grpc.health_listen`.
    health_routes: Routes,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    extensions: http::Extensions,
}

/// The host could not start.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The verification keys are unusable.
    #[error(transparent)]
    Auth(#[from] crate::auth::KeysError),
    /// The server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
}

impl Host {
    /// A host for `services` (full gRPC names), all NOT_SERVING until ready.
    pub async fn new(
        settings: crate::Settings,
        shutdown: CancellationToken,
        services: &[&'static str],
    ) -> Result<Self, HostError> {
        let auth = crate::auth::Authenticator::new(&settings.auth)?;
        let (health, health_server) = Health::new(services).await;
        let health_routes = Routes::new(health_server.clone());
        let mut routes = tonic::service::RoutesBuilder::default();
        routes.add_service(health_server);
        Ok(Self {
            settings,
            health,
            auth,
            shutdown,
            routes,
            health_routes,
            tasks: Vec::new(),
            extensions: http::Extensions::new(),
        })
    }

    /// Where a service mounts its gRPC server (wrapped in [`Host::auth`]).
    pub fn routes(&mut self) -> &mut tonic::service::RoutesBuilder {
        &mut self.routes
    }

    /// The process-wide value of type `T` that hosted services share (e.g. the
    /// board of consumer statuses), created on first use; `None` the first
    /// time, so the caller can set up what goes with it (mount its API).
    pub fn shared<T: Clone + Default + Send + Sync + 'static>(&mut self) -> (T, bool) {
        match self.extensions.get::<T>() {
            Some(existing) => (existing.clone(), false),
            None => {
                let created = T::default();
                self.extensions.insert(created.clone());
                (created, true)
            }
        }
    }

    /// Runs a background task until the process stops.
    pub fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// Marks `service` SERVING once `ready` resolves (e.g. the broker answers).
    pub fn serving_when(
        &mut self,
        service: &'static str,
        ready: impl std::future::Future<Output = bool> + Send + 'static,
    ) {
        let health = self.health.clone();
        let shutdown = self.shutdown.clone();
        self.spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => {}
                ok = ready => if ok {
                    health.serving(service).await;
                    tracing::info!(service, "SERVING");
                },
            }
        });
    }

    /// Serves until shutdown, then waits (at most [`STOP_WITHIN`]) for the
    /// background tasks to finish.
    pub async fn serve(self, listener: TcpListener) -> Result<(), HostError> {
        let Host {
            settings,
            health,
            shutdown,
            routes,
            health_routes,
            tasks,
            ..
        } = self;
        // The probes' listener outlives the main one's drain, so probes read
        // NOT_SERVING (not a refused connection) while the pod drains.
        let probes_stop = CancellationToken::new();
        let probes = match settings.grpc.health_listen.as_str() {
            "" => None,
            listen => Some(tokio::spawn(serve_health(
                bind_health(listen).await?,
                health_routes,
                probes_stop.clone(),
            ))),
        };
        let result = serve(
            listener,
            &settings.grpc,
            routes.routes(),
            health,
            shutdown.clone(),
        )
        .await;
        shutdown.cancel();
        probes_stop.cancel();
        if let Some(p) = probes {
            let _ = p.await;
        }
        // Relays flush and consumers commit on the way out; a task stuck in a
        // broker call must not keep the process (and its pod) from exiting.
        let count = tasks.len();
        let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(STOP_WITHIN, all).await.is_err() {
            let running = aborts.iter().filter(|a| !a.is_finished()).count();
            tracing::warn!(
                running,
                of = count,
                "background tasks did not stop within {STOP_WITHIN:?}; abandoning them"
            );
            for a in aborts {
                a.abort();
            }
        }
        result.map_err(HostError::from)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    use super::*;

    /// A CA, and a certificate it signed for `name` with `purpose`.
    fn issued(
        ca: &(rcgen::Certificate, KeyPair),
        name: &str,
        purpose: ExtendedKeyUsagePurpose,
    ) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![purpose];
        let cert = params.signed_by(&key, &ca.0, &ca.1).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    async fn check(channel: Channel) -> Result<(), tonic::Status> {
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(drop)
    }

    async fn status_of(port: u16, service: &str) -> Result<i32, tonic::Status> {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect_lazy();
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map(|r| r.into_inner().status)
    }

    #[tokio::test]
    async fn the_probes_port_answers_liveness_apart_from_readiness_until_shutdown() {
        const SERVICE: &str = "iop.test.v1.Test";
        let probes = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let probe_port = probes.local_addr().unwrap().port();
        drop(probes);
        let mut settings = crate::Settings::defaults(&[]).unwrap();
        settings.auth.hs256_secret = crate::auth::generate_secret().into();
        settings.grpc.health_listen = format!("127.0.0.1:{probe_port}");
        settings.grpc.drain_ms = 1_000;
        let shutdown = CancellationToken::new();
        let host = Host::new(settings, shutdown.clone(), &[SERVICE])
            .await
            .unwrap();
        let health = host.health.clone();
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let server = tokio::spawn(host.serve(listener));

        let serving = ServingStatus::Serving as i32;
        let not_serving = ServingStatus::NotServing as i32;
        let mut alive = Err(tonic::Status::unavailable("not yet"));
        for _ in 0..100 {
            alive = status_of(probe_port, LIVENESS).await;
            if alive.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Alive while the service is not ready (say, the broker is away).
        assert_eq!(alive.unwrap(), serving);
        assert_eq!(status_of(probe_port, SERVICE).await.unwrap(), not_serving);
        health.serving(SERVICE).await;
        assert_eq!(status_of(probe_port, SERVICE).await.unwrap(), serving);
        assert_eq!(status_of(probe_port, "").await.unwrap(), serving);

        // Shutting down: the probes' port reads NOT_SERVING through the drain,
        // then closes with the server.
        shutdown.cancel();
        let mut seen_down = false;
        for _ in 0..100 {
            match status_of(probe_port, LIVENESS).await {
                Ok(s) if s == not_serving => {
                    seen_down = true;
                    break;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                Err(e) => panic!("the probes' port closed before the drain ended: {e}"),
            }
        }
        assert!(seen_down, "liveness stayed SERVING after shutdown began");
        assert_eq!(status_of(probe_port, SERVICE).await.unwrap(), not_serving);
        server.await.unwrap().unwrap();
        assert!(status_of(probe_port, LIVENESS).await.is_err());
    }

    #[tokio::test]
    async fn mutual_tls_lets_in_only_a_client_the_ca_signed() {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "IOP test CA");
        let ca = (ca_params.self_signed(&ca_key).unwrap(), ca_key);
        let ca_pem = ca.0.pem();
        let (server_cert, server_key) =
            issued(&ca, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
        let (client_cert, client_key) =
            issued(&ca, "facility-system", ExtendedKeyUsagePurpose::ClientAuth);
        // Another CA's client: refused as well.
        let other_key = KeyPair::generate().unwrap();
        let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other = (other_params.self_signed(&other_key).unwrap(), other_key);
        let (stranger_cert, stranger_key) =
            issued(&other, "stranger", ExtendedKeyUsagePurpose::ClientAuth);

        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.to_string_lossy().into_owned()
        };
        let mut grpc = crate::Settings::defaults(&[]).unwrap().grpc;
        grpc.tls.cert_file = file("server.pem", &server_cert);
        grpc.tls.key_file = file("server.key", &server_key);
        grpc.tls.client_ca_file = file("ca.pem", &ca_pem);
        grpc.tls.check().unwrap();
        grpc.drain_ms = 0;

        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (health, health_server) = Health::new(&["iop.test.v1.Test"]).await;
        health.serving("iop.test.v1.Test").await;
        let mut routes = tonic::service::RoutesBuilder::default();
        routes.add_service(health_server);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn({
            let shutdown = shutdown.clone();
            async move { serve(listener, &grpc, routes.routes(), health, shutdown).await }
        });

        let tls = || {
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&ca_pem))
                .domain_name("localhost")
        };
        let connect = |config: ClientTlsConfig| async move {
            Channel::from_shared(format!("https://127.0.0.1:{port}"))
                .unwrap()
                .tls_config(config)
                .unwrap()
                .connect()
                .await
        };
        // With the CA's client certificate: in.
        let ours = connect(tls().identity(Identity::from_pem(&client_cert, &client_key)))
            .await
            .expect("a client the CA signed connects");
        check(ours).await.expect("and is answered");
        // Without a certificate, or with another CA's: no answer.
        for config in [
            tls(),
            tls().identity(Identity::from_pem(&stranger_cert, &stranger_key)),
        ] {
            let refused = match connect(config).await {
                Err(_) => true,
                Ok(channel) => check(channel).await.is_err(),
            };
            assert!(
                refused,
                "a client without the CA's certificate was answered"
            );
        }
        // Nor in plaintext.
        let plain = Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await;
        let refused = match plain {
            Err(_) => true,
            Ok(channel) => check(channel).await.is_err(),
        };
        assert!(refused, "plaintext was answered on a TLS port");
        shutdown.cancel();
        server.await.unwrap().unwrap();
    }
}
