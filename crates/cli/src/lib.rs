//! The `iop` command line. It only wires: parse flags, load settings, start
//! telemetry, then hand over to the service crates.
//!
//! - `iop dev`: every service in one process behind one gRPC address, SQLite files
//!   under a data directory and librdkafka's in-process mock cluster as the broker
//!   (Grafana Mimir's `-target=all`). The mock broker keeps nothing across
//!   restarts, so `dev` sets `outbox.replay_on_start`: each service republishes
//!   its retained outbox into the fresh broker and consumers skip, by their inbox,
//!   what they had already applied. Every view is complete after a restart.
//! - `iop serve --service <name>`: one service against the broker and database
//!   named in settings, as a pod runs it.
//! - `iop token`: mints a bearer token with the configured (or dev) key.
//! - `iop services`: the registry, one service per line.
//! - `iop verify-audit --service <name>`: recomputes a service's audit chain
//!   and names the first row that does not hold (exit status 1 then).
//! - `iop outbox --service <name> parked|release`: the outbox rows the broker
//!   will never accept, and releasing them for the relay to try again.
//! - `iop bench`: throughput and latency of the network's operations, as
//!   ratios to Health/Check measured in the same run (`bench.rs`), against a
//!   running network or one started in this process.
//!
//! Services are never named here: every command loops over `iop_registry`.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand, ValueEnum, builder::PossibleValuesParser};

pub mod bench;
pub mod dlq;
pub mod rebuild;
pub mod schema;
pub mod task;
use iop_registry::SERVICES;
use iop_runtime::{
    CancellationToken, Settings,
    auth::{Role, TokenIssuer},
    secret::Secret,
    server::{self, Host},
    service::{self, Seed},
    settings::DatabaseSettings,
    telemetry,
};

#[derive(Parser)]
#[command(
    name = "iop",
    version,
    about = "IOP Network: care-path services for intensive outpatient programs"
)]
struct Cli {
    /// Settings file (TOML), layered over the defaults and under IOP__* variables.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole network in this process with embedded defaults.
    Dev {
        /// Where SQLite files and the dev signing key live (default: dev.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// gRPC address (default: grpc.listen); port 0 picks a free one.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// A fixed address for Kafka clients (e.g. 127.0.0.1:9092): it
        /// forwards to the embedded broker, whose own port changes at every
        /// start. Clients then follow the broker's advertised address on
        /// 127.0.0.1, so it serves clients on this machine.
        #[arg(long)]
        kafka_listen: Option<SocketAddr>,
    },
    /// Run one service against the broker and database in settings.
    Serve {
        /// Which service (see `iop services`).
        #[arg(long, value_parser = PossibleValuesParser::new(iop_registry::names()))]
        service: String,
    },
    /// Apply a service's pending database migrations and exit: what a
    /// Kubernetes Job or init container runs under a migration role, before
    /// `serve` starts with `database.migrate_at_start = false`.
    Migrate {
        /// Which service (see `iop services`).
        #[arg(long, value_parser = PossibleValuesParser::new(iop_registry::names()))]
        service: String,
        /// Only list the pending migrations; exit 3 when there are any.
        #[arg(long)]
        check: bool,
    },
    /// List the services of the network: name, gRPC services, topics.
    Services,
    /// Verify a service's audit trail: every row and the chain head hold.
    VerifyAudit {
        /// Which service's trail (see `iop services`).
        #[arg(long, value_parser = PossibleValuesParser::new(iop_registry::names()))]
        service: String,
        /// Verify the trail of an `iop dev` data directory (its SQLite file and
        /// dev key) instead of the database and key in settings.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// A service's outbox: rows parked because the broker will never accept
    /// them (too large, invalid), and releasing them for another try.
    Outbox {
        /// Which service (see `iop services`).
        #[arg(long, value_parser = PossibleValuesParser::new(iop_registry::names()))]
        service: String,
        /// Use an `iop dev` data directory's SQLite file instead of settings.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Measure the network: throughput and latency per operation, as ratios
    /// to Health/Check in the same run.
    Bench {
        /// A running network, e.g. `http://127.0.0.1:50051`; without it, the
        /// whole network starts in this process as `iop dev` would, in a
        /// fresh data directory.
        #[arg(long)]
        target: Option<String>,
        /// Bearer token (admin, every facility) for `--target`; default: one
        /// minted with the configured key (or the dev key of `--data-dir`).
        #[arg(long)]
        token: Option<String>,
        /// Calls in flight at once.
        #[arg(long, default_value_t = 32)]
        clients: usize,
        /// Seconds each operation runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Calls per operation instead of a duration.
        #[arg(long)]
        count: Option<u64>,
        /// Patients registered before measuring.
        #[arg(long, default_value_t = 1000)]
        patients: u64,
        /// Writes per second of the propagation operations (0: unpaced).
        #[arg(long, default_value_t = 200)]
        propagation_rate: u32,
        /// Operations to measure (repeatable); default: all.
        #[arg(long = "op", value_enum)]
        ops: Vec<bench::Op>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also rebuild the patient view from the topics into a new database
        /// and compare its rate with a raw consume of the same records (needs
        /// the broker: the in-process one, or `--kafka` with `--target`).
        #[arg(long)]
        rebuild: bool,
        /// The broker of `--target`, for `--rebuild` (`host:port`).
        #[arg(long)]
        kafka: Option<String>,
        /// Data directory of the in-process network (default: a new
        /// temporary one, removed afterwards), or whose dev key signs the
        /// token for `--target`.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// The events' schemas for analysts' tools.
    Schema {
        #[command(subcommand)]
        action: SchemaAction,
    },
    /// Read the topics.
    Events {
        #[command(subcommand)]
        action: EventsAction,
    },
    /// A consumer's dead letters: list them, or put them back on their
    /// topic once the cause is fixed.
    Dlq {
        #[command(subcommand)]
        action: DlqAction,
        /// The dead-letter topic, e.g. iop.patientview.dlq.
        #[arg(long, global = true)]
        topic: Option<String>,
        /// The broker (`host:port`) instead of `[kafka]` in settings.
        #[arg(long, global = true)]
        bootstrap: Option<String>,
    },
    /// Make a projection again from the topics into a new, empty database,
    /// with progress and rate; then point the service at it (the swap).
    Rebuild {
        /// Which projection: only the patient view is folded wholly from the
        /// topics.
        #[arg(long, value_parser = ["patient-view"])]
        service: String,
        /// The new database, e.g. postgres://…/iop_patient_view_2 or
        /// sqlite://rebuilt.db.
        #[arg(long)]
        into: String,
        /// The broker (`host:port`) instead of `[kafka]` in settings.
        #[arg(long)]
        bootstrap: Option<String>,
    },
    /// Make one of the calls a site schedules (a CronJob per time zone):
    /// the weekly close, the day's lab orders and draw, the week's claims.
    Task {
        /// Which call.
        #[arg(value_enum)]
        task: task::Task,
        #[command(flatten)]
        call: task::Call,
    },
    /// Print a bearer token signed with the configured key (or the dev key).
    Token {
        /// Token subject (who calls).
        #[arg(long, default_value = "dev-admin")]
        subject: String,
        /// Roles (repeatable): intake, clinician, billing, admin, auditor.
        #[arg(long = "role", value_enum, default_values_t = vec![RoleArg::Admin])]
        roles: Vec<RoleArg>,
        /// Facility ids (repeatable); `*` for all.
        #[arg(long = "facility", default_values_t = vec!["*".to_owned()])]
        facilities: Vec<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 12 * 3600)]
        ttl: i64,
        /// Dev data directory whose key to use when settings name none.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SchemaAction {
    /// Write the descriptor set of every event (protobuf FileDescriptorSet
    /// with its imports: Kafka UI, AKHQ, `protoc --descriptor_set_in`).
    Export {
        /// The descriptor set file.
        #[arg(long, default_value = "iop.binpb")]
        out: PathBuf,
        /// Also write the table of topics and event types (docs/events.md).
        #[arg(long)]
        docs: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EventsAction {
    /// Print a topic's records as JSON lines: CloudEvents attributes and the
    /// data decoded (proto JSON field names). Against the broker in settings
    /// (`[kafka]`, with its security) or `--bootstrap`.
    Tail {
        /// The topic, e.g. iop.admissions.v1.
        #[arg(long)]
        topic: String,
        /// From the oldest record kept, not only new ones.
        #[arg(long)]
        from_beginning: bool,
        /// Only records with this key (patient or facility id).
        #[arg(long)]
        key: Option<String>,
        /// Only this event type (full name or its last part, e.g. PatientAdmitted).
        #[arg(long = "type")]
        event_type: Option<String>,
        /// Stop after this many records.
        #[arg(long)]
        count: Option<u64>,
        /// Stop once nothing arrived for this many seconds.
        #[arg(long)]
        idle_exit: Option<u64>,
        /// The broker (`host:port`), e.g. what `iop dev` prints as `kafka:`.
        #[arg(long)]
        bootstrap: Option<String>,
    },
}

#[derive(Subcommand)]
enum DlqAction {
    /// Each dead letter as a JSON line: the event decoded, the reason, the
    /// consumer, the origin (topic/partition/offset), whether redriven.
    List,
    /// Publish the dead letters not redriven yet back onto their origin
    /// topic; consumers apply each once (their inbox skips what they have).
    Redrive,
}

#[derive(Subcommand)]
enum OutboxAction {
    /// List parked rows: position, event type, size, when and why.
    Parked,
    /// Release parked rows for the relay (after fixing the cause, e.g.
    /// raising the broker's `message.max.bytes`).
    Release {
        /// Only this row.
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        position: Option<i64>,
        /// Every parked row.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Intake,
    Clinician,
    Billing,
    Admin,
    Auditor,
    MedicalDirector,
}

impl std::fmt::Display for RoleArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(Role::from(*self).as_str())
    }
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Intake => Role::Intake,
            RoleArg::Clinician => Role::Clinician,
            RoleArg::Billing => Role::Billing,
            RoleArg::Admin => Role::Admin,
            RoleArg::Auditor => Role::Auditor,
            RoleArg::MedicalDirector => Role::MedicalDirector,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Entry point of the `iop` executable.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dev {
            data_dir,
            listen,
            kafka_listen,
        } => dev(cli.config.as_deref(), data_dir, listen, kafka_listen),
        Command::Serve { service } => serve(cli.config.as_deref(), &service),
        Command::Services => load(cli.config.as_deref()).map(|_| list_services()),
        Command::Schema {
            action: SchemaAction::Export { out, docs },
        } => schema::export(&out, docs.as_deref()),
        Command::Events {
            action:
                EventsAction::Tail {
                    topic,
                    from_beginning,
                    key,
                    event_type,
                    count,
                    idle_exit,
                    bootstrap,
                },
        } => load(cli.config.as_deref()).and_then(|mut settings| {
            if let Some(b) = bootstrap {
                settings.kafka.bootstrap_servers = b;
            }
            schema::tail(
                &settings,
                &schema::Tail {
                    topic,
                    from_beginning,
                    key,
                    event_type,
                    count,
                    idle: idle_exit.map(std::time::Duration::from_secs),
                },
            )
        }),
        Command::Dlq {
            action,
            topic,
            bootstrap,
        } => load(cli.config.as_deref()).and_then(|mut settings| {
            let topic = topic.ok_or("--topic: the dead-letter topic, e.g. iop.patientview.dlq")?;
            if let Some(b) = bootstrap {
                settings.kafka.bootstrap_servers = b;
            }
            match action {
                DlqAction::List => dlq::list(&settings, &topic),
                DlqAction::Redrive => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(BoxError::from)
                    .and_then(|rt| rt.block_on(dlq::redrive(&settings, &topic)))
                    .map(|n| println!("{n} dead letters of {topic} redriven")),
            }
        }),
        Command::Rebuild {
            service,
            into,
            bootstrap,
        } => load(cli.config.as_deref()).and_then(|mut settings| {
            if let Some(b) = bootstrap {
                settings.kafka.bootstrap_servers = b;
            }
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(BoxError::from)
                .and_then(|rt| rt.block_on(rebuild::patient_view(&settings, &into)))
                .map(|r| {
                    println!(
                        "{service} rebuilt: {} events applied, {:.0}/s",
                        r.applied, r.per_second
                    );
                })
        }),
        Command::Task { task, call } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(BoxError::from)
            .and_then(|rt| rt.block_on(task::run(task, call))),
        Command::Migrate { service, check } => migrate(cli.config.as_deref(), &service, check),
        Command::VerifyAudit { service, data_dir } => {
            match verify_audit(cli.config.as_deref(), &service, data_dir) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Command::Outbox {
            service,
            data_dir,
            action,
        } => outbox(cli.config.as_deref(), &service, data_dir, action),
        Command::Bench {
            target,
            token,
            clients,
            seconds,
            count,
            patients,
            propagation_rate,
            ops,
            json,
            rebuild,
            kafka,
            data_dir,
        } => {
            let plan = bench::Plan {
                clients,
                limit: match count {
                    Some(n) => bench::Limit::Count(n),
                    None => bench::Limit::Duration(std::time::Duration::from_secs(seconds)),
                },
                preload: patients,
                propagation_rate,
                ops: if ops.is_empty() {
                    bench::Op::ALL.to_vec()
                } else {
                    ops
                },
                progress: !json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
                rebuild,
            };
            let targeted = target.map(|t| (t, kafka));
            run_bench(cli.config.as_deref(), targeted, token, data_dir, &plan).map(|report| {
                if json {
                    println!("{}", report.json());
                } else {
                    print!("{}", report.table());
                }
            })
        }
        Command::Token {
            subject,
            roles,
            facilities,
            ttl,
            data_dir,
        } => token(
            cli.config.as_deref(),
            &subject,
            &roles,
            &facilities,
            ttl,
            data_dir,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iop: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Ends the runtime once the host has stopped. Waits a moment for blocking
/// work (a broker client closing), never forever: a client whose broker is gone
/// must not keep the process (and its pod) alive.
fn finish(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
}

fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Key file of the dev token signing key.
const DEV_SIGNING_KEY: &str = "dev-signing-key";
/// Key file of the dev audit chain key.
const DEV_AUDIT_KEY: &str = "dev-audit-key";

/// The dev key `name` in `data_dir`, created on first use (mode 0600).
fn dev_secret(data_dir: &Path, name: &str) -> Result<String, BoxError> {
    let path = data_dir.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    let secret = iop_runtime::auth::generate_secret();
    // Created 0600 under a temporary name (in a 0700 directory), then renamed:
    // never readable by others, never half-written.
    let partial = data_dir.join(format!(".{name}.partial"));
    let _ = std::fs::remove_file(&partial);
    iop_runtime::db::private_file(&partial)?;
    std::fs::write(&partial, &secret)?;
    std::fs::rename(&partial, &path)?;
    Ok(secret)
}

fn sqlite(data_dir: &Path, service: &str, base: &DatabaseSettings) -> DatabaseSettings {
    base.with_url(format!("sqlite://{}/{service}.db", data_dir.display()))
}

fn load(config: Option<&Path>) -> Result<Settings, BoxError> {
    Ok(Settings::load(config, &iop_registry::sections())?)
}

/// Prints the registry: what `iop serve --service` takes and what each runs.
fn list_services() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for s in SERVICES {
        let _ = writeln!(out, "{}\t{}", s.name, s.summary);
        let _ = writeln!(out, "  grpc:      {}", s.grpc.join(", "));
        let _ = writeln!(out, "  publishes: {}", s.publishes.join(", "));
        let _ = writeln!(out, "  consumes:  {}", s.consumes.join(", "));
    }
}

/// The one-machine network before it serves: settings pointed at the
/// embedded broker and the data directory, with dev keys where settings name
/// none, and an admin token for it.
struct Embedded {
    settings: Settings,
    data_dir: PathBuf,
    /// Held, not read: the embedded broker lives as long as the network.
    _broker: rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    token: String,
}

fn embedded(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
) -> Result<Embedded, BoxError> {
    let mut settings = load(config)?;
    let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(&settings.dev.data_dir));
    iop_runtime::db::private_dir(&data_dir)?;
    if settings.auth.hs256_secret.is_empty() {
        settings.auth.hs256_secret = Secret::new(dev_secret(&data_dir, DEV_SIGNING_KEY)?);
    }
    if settings.audit.chain_key.is_empty() {
        settings.audit.chain_key = Secret::new(dev_secret(&data_dir, DEV_AUDIT_KEY)?);
    }
    let broker = rdkafka::mocking::MockCluster::new(1)?;
    settings.kafka.bootstrap_servers = broker.bootstrap_servers();
    settings.kafka.topic_replication = 1;
    settings.kafka.create_topics = false;
    for topic in service::topics(SERVICES) {
        broker.create_topic(topic, settings.kafka.topic_partitions, 1)?;
    }
    settings.outbox.replay_on_start = true;
    // Replay needs the whole history: the embedded broker starts empty every time.
    settings.outbox.retention_hours = 0;
    if let Some(listen) = listen {
        settings.grpc.listen = listen;
    }
    let token =
        TokenIssuer::new(&settings.auth)?.issue("dev-admin", &[Role::Admin], &["*"], 12 * 3600)?;
    Ok(Embedded {
        settings,
        data_dir,
        _broker: broker,
        token,
    })
}

/// Starts every service of `e` on one host, listening; returns the host to
/// serve and its address.
async fn start_embedded(
    e: &Embedded,
    shutdown: CancellationToken,
) -> Result<(Host, tokio::net::TcpListener, SocketAddr), BoxError> {
    let listener = server::bind(e.settings.grpc.listen).await?;
    let address = listener.local_addr()?;
    let base = e.settings.database.clone();
    let grpc = service::grpc_names(SERVICES);
    let mut host = Host::new(e.settings.clone(), shutdown, &grpc).await?;
    for s in SERVICES {
        (s.start)(&mut host, sqlite(&e.data_dir, s.name, &base)).await?;
    }
    Ok((host, listener, address))
}

/// Forwards every connection to `listener` to the broker at `bootstrap`.
async fn forward_kafka(listener: tokio::net::TcpListener, bootstrap: String) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            continue;
        };
        let bootstrap = bootstrap.clone();
        tokio::spawn(async move {
            if let Ok(mut broker) = tokio::net::TcpStream::connect(&bootstrap).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
            }
        });
    }
}

fn dev(
    config: Option<&Path>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    kafka_listen: Option<SocketAddr>,
) -> Result<(), BoxError> {
    // The embedded broker lives as long as this stack frame, i.e. the whole run.
    let e = embedded(config, data_dir, listen)?;
    iop_messaging::kafka::check(&e.settings.kafka)?;
    // The OTLP exporter spawns onto the runtime, so the runtime comes first and
    // the telemetry guard is dropped (flushed) before it ends.
    let runtime = runtime()?;
    let telemetry = {
        let _entered = runtime.enter();
        telemetry::init(&e.settings.telemetry, "iop-dev")?
    };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        server::cancel_on_signals(shutdown.clone());
        let (host, listener, address) = start_embedded(&e, shutdown).await?;
        let kafka = match kafka_listen {
            None => e.settings.kafka.bootstrap_servers.clone(),
            Some(at) => {
                let forwarder = tokio::net::TcpListener::bind(at)
                    .await
                    .map_err(|err| format!("--kafka-listen {at}: {err}"))?;
                let bound = forwarder.local_addr()?;
                tokio::spawn(forward_kafka(
                    forwarder,
                    e.settings.kafka.bootstrap_servers.clone(),
                ));
                bound.to_string()
            }
        };
        tokio::spawn(seed(address, e.token.clone()));
        // Written, not println!: a closed stdout must not stop the network.
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "IOP Network (dev): every service in one process");
            let _ = writeln!(out, "grpc: {address}");
            // The embedded broker speaks the Kafka protocol: any client on
            // this machine can read the topics from it.
            let _ = writeln!(out, "kafka: {kafka}");
            let _ = writeln!(out, "data: {}", e.data_dir.display());
            let _ = writeln!(
                out,
                "try:  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" {address} list"
            );
            let _ = writeln!(out, "token: {}", e.token);
            let _ = out.flush();
        }
        host.serve(listener).await?;
        Ok::<(), BoxError>(())
    });
    drop(telemetry);
    finish(runtime);
    // Only now: every client of the embedded broker has closed.
    drop(e);
    result
}

/// Runs the bench against `target`, or against a network started here.
fn run_bench(
    config: Option<&Path>,
    target: Option<(String, Option<String>)>,
    token: Option<String>,
    data_dir: Option<PathBuf>,
    plan: &bench::Plan,
) -> Result<bench::Report, BoxError> {
    let runtime = runtime()?;
    if let Some((target, kafka)) = target {
        let token = match token {
            Some(t) => t,
            None => {
                let mut settings = load(config)?;
                if settings.auth.hs256_secret.is_empty() {
                    let dir = data_dir.unwrap_or_else(|| PathBuf::from(&settings.dev.data_dir));
                    settings.auth.hs256_secret = Secret::new(dev_secret(&dir, DEV_SIGNING_KEY)?);
                }
                TokenIssuer::new(&settings.auth)?.issue("bench", &[Role::Admin], &["*"], 3600)?
            }
        };
        let report = runtime.block_on(async {
            let mut report = bench::run(&target, &token, plan).await?;
            if let (true, Some(bootstrap)) = (plan.rebuild, kafka) {
                let mut settings = load(config)?;
                settings.kafka.bootstrap_servers = bootstrap;
                let dir = std::env::temp_dir().join(format!("iop-rebuild-{}", std::process::id()));
                iop_runtime::db::private_dir(&dir)?;
                report.rebuild = Some(bench::rebuild(&settings, &dir).await?);
                let _ = std::fs::remove_dir_all(&dir);
            }
            Ok::<_, BoxError>(report)
        });
        finish(runtime);
        return report;
    }
    let (dir, temporary) = match data_dir {
        Some(d) => (d, false),
        None => (
            std::env::temp_dir().join(format!("iop-bench-{}", std::process::id())),
            true,
        ),
    };
    let listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    let e = embedded(config, Some(dir.clone()), Some(listen))?;
    let report = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let (host, listener, address) = start_embedded(&e, shutdown.clone()).await?;
        let serving = tokio::spawn(host.serve(listener));
        let mut report = bench::run(&format!("http://{address}"), &e.token, plan).await;
        if let (true, Ok(r)) = (plan.rebuild, &mut report) {
            match bench::rebuild(&e.settings, &e.data_dir).await {
                Ok(rebuilt) => r.rebuild = Some(rebuilt),
                Err(err) => report = Err(err),
            }
        }
        shutdown.cancel();
        let _ = serving.await;
        report.map(|mut r| {
            r.target = format!("iop dev in this process ({address})");
            r
        })
    });
    finish(runtime);
    drop(e);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    report
}

/// Gives each service its demo data through its own API once the network
/// answers (a service seeds only what it does not hold yet), so a newcomer
/// can register and admit right away.
async fn seed(address: SocketAddr, token: String) {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://{address}")) else {
        return;
    };
    let channel = endpoint.connect_lazy();
    for s in SERVICES {
        let Some(seed) = s.seed else { continue };
        for _ in 0..100 {
            match seed(channel.clone(), token.clone(), Seed::Demo).await {
                Ok(()) => break,
                Err(e) if e.code() == tonic::Code::Unavailable => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                Err(e) => {
                    tracing::warn!(service = s.name, error = %e.message(), "demo data not seeded");
                    break;
                }
            }
        }
    }
}

fn serve(config: Option<&Path>, name: &str) -> Result<(), BoxError> {
    let service = iop_registry::find(name).ok_or_else(|| format!("no service named {name}"))?;
    let settings = load(config)?;
    iop_messaging::kafka::check(&settings.kafka)?;
    let runtime = runtime()?;
    let telemetry = {
        let _entered = runtime.enter();
        telemetry::init(&settings.telemetry, &format!("iop-{}", service.name))?
    };
    let result = runtime.block_on(async move {
        let shutdown = CancellationToken::new();
        server::cancel_on_signals(shutdown.clone());
        service::serve_one(service, settings, shutdown).await
    });
    drop(telemetry);
    finish(runtime);
    result
}

/// The settings and database of `service`: the settings' database, or the
/// SQLite file (and dev audit key) of an `iop dev` data directory.
fn service_database(
    config: Option<&Path>,
    service: &str,
    data_dir: Option<&Path>,
) -> Result<(Settings, DatabaseSettings), BoxError> {
    let mut settings = load(config)?;
    let Some(dir) = data_dir else {
        let database = settings.database.clone();
        return Ok((settings, database));
    };
    if !dir.join(format!("{service}.db")).exists() {
        return Err(format!("no {service}.db in {}", dir.display()).into());
    }
    if settings.audit.chain_key.is_empty() {
        settings.audit.chain_key = Secret::new(dev_secret(dir, DEV_AUDIT_KEY)?);
    }
    let database = sqlite(dir, service, &settings.database);
    Ok((settings, database))
}

/// Applies (or, with `check`, lists) `service`'s pending migrations on the
/// database in settings.
fn migrate(config: Option<&Path>, name: &str, check: bool) -> Result<(), BoxError> {
    use iop_runtime::service::Migrate;
    let service = iop_registry::find(name).ok_or_else(|| format!("no service named {name}"))?;
    let settings = load(config)?;
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let db = iop_runtime::db::Database::connect(&settings.database).await?;
        let what = if check {
            Migrate::Pending
        } else {
            Migrate::Apply
        };
        let names = (service.migrate)(&db, what).await;
        db.conn().clone().close().await?;
        names
    });
    finish(runtime);
    let names = result?;
    let verb = if check { "pending" } else { "applied" };
    println!("{name}: {} migration(s) {verb}", names.len());
    for n in &names {
        println!("  {n}");
    }
    if check && !names.is_empty() {
        std::process::exit(3);
    }
    Ok(())
}

/// Lists or releases `service`'s parked outbox rows.
fn outbox(
    config: Option<&Path>,
    service: &str,
    data_dir: Option<PathBuf>,
    action: OutboxAction,
) -> Result<(), BoxError> {
    use iop_messaging::outbox;
    let (_, database) = service_database(config, service, data_dir.as_deref())?;
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let db = iop_runtime::db::Database::connect(&database).await?;
        let said = match action {
            OutboxAction::Parked => {
                let rows = outbox::parked(db.conn(), 1000).await?;
                let mut out = format!("{service}: {} parked row(s)\n", rows.len());
                for r in rows {
                    out.push_str(&format!(
                        "{}\t{}\t{} bytes\t{}\t{}\n",
                        r.position,
                        r.event_type,
                        r.payload.len(),
                        r.parked_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                        r.park_reason.unwrap_or_default()
                    ));
                }
                out
            }
            OutboxAction::Release { position, .. } => {
                let txn = db.begin_write().await?;
                let n = outbox::release(&*txn, position).await?;
                txn.commit().await?;
                format!("{service}: released {n} row(s); a running relay publishes them within its poll interval\n")
            }
        };
        db.conn().clone().close().await?;
        Ok::<_, sea_orm::DbErr>(said)
    });
    finish(runtime);
    print!("{}", result?);
    Ok(())
}

/// Verifies `service`'s audit chain and prints the verdict; `Ok(false)` when
/// the chain is broken.
fn verify_audit(
    config: Option<&Path>,
    service: &str,
    data_dir: Option<PathBuf>,
) -> Result<bool, BoxError> {
    let (settings, database) = service_database(config, service, data_dir.as_deref())?;
    let chain = iop_runtime::audit::AuditChain::new(&settings.audit.chain_key)?;
    let runtime = runtime()?;
    let verdict = runtime.block_on(async {
        let db = iop_runtime::db::Database::connect(&database).await?;
        let verdict = chain.verify(db.conn()).await;
        db.conn().clone().close().await?;
        verdict
    });
    finish(runtime);
    let verdict = verdict?;
    match &verdict.broken {
        None => println!("{service}: audit trail intact, {} rows", verdict.rows),
        Some(b) => println!(
            "{service}: audit trail broken at row {}{}: {} ({} rows verified before it)",
            b.sequence,
            b.entry_id
                .as_ref()
                .map(|id| format!(" (entry {id})"))
                .unwrap_or_default(),
            b.reason,
            verdict.rows
        ),
    }
    Ok(verdict.intact())
}

fn token(
    config: Option<&Path>,
    subject: &str,
    roles: &[RoleArg],
    facilities: &[String],
    ttl: i64,
    data_dir: Option<PathBuf>,
) -> Result<(), BoxError> {
    let mut settings = load(config)?;
    if settings.auth.hs256_secret.is_empty() {
        let dir = data_dir.unwrap_or_else(|| PathBuf::from(&settings.dev.data_dir));
        settings.auth.hs256_secret = Secret::new(dev_secret(&dir, DEV_SIGNING_KEY)?);
    }
    let roles: Vec<Role> = roles.iter().copied().map(Role::from).collect();
    let facilities: Vec<&str> = facilities.iter().map(String::as_str).collect();
    println!(
        "{}",
        TokenIssuer::new(&settings.auth)?.issue(subject, &roles, &facilities, ttl)?
    );
    Ok(())
}
