//! Test fixtures shared by the integration tests: an in-process network (every
//! service of the registry on one gRPC address, the librdkafka mock broker,
//! SQLite files in a temporary directory or fresh PostgreSQL databases), bearer
//! tokens, and builders that call the API as a facility system would
//! ([`admitted_patient`] and friends). Never used by production code.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test fixtures fail loudly"
)]

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use iop_proto::{
    admissions::v1::{
        AdmitPatientRequest, RecordAssessmentRequest, RegisterPatientRequest,
        admissions_service_client::AdmissionsServiceClient,
    },
    common::v1::{
        AsamDimensions, AssessmentInput, Commitments, Date, HomeEnvironment, Motivation,
        PaymentMeans, PersonName, Program, Severity, Sex, Suitability, Transportation,
    },
    patientview::v1::{
        GetPatientViewRequest, PatientView, patient_view_service_client::PatientViewServiceClient,
    },
    scheduling::v1::scheduling_service_client::SchedulingServiceClient,
};
use iop_registry::SERVICES;
use iop_runtime::{
    CancellationToken, Settings,
    auth::{Role, TokenIssuer},
    server::{self, Host},
    service::{self, Seed},
    settings::DatabaseSettings,
};
use rdkafka::mocking::MockCluster;
use sea_orm::ConnectionTrait;
use tonic::{Request, Status, transport::Channel};

/// Environment variable naming a PostgreSQL server for tests: a URL whose user
/// may create databases, e.g. `postgres://iop:iop@127.0.0.1:55432/postgres`.
pub const POSTGRES_ENV: &str = "IOP_TEST_DATABASE_URL";

/// Which database backend the services use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files in a temporary directory.
    Sqlite,
    /// Fresh databases on the server named by [`POSTGRES_ENV`].
    Postgres,
}

/// A fresh database for one service of one test.
pub async fn database(backend: Backend, dir: &std::path::Path, name: &str) -> DatabaseSettings {
    let base = defaults().database;
    match backend {
        Backend::Sqlite => base.with_url(format!("sqlite://{}/{name}.db", dir.display())),
        Backend::Postgres => {
            let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
                panic!("{POSTGRES_ENV} is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
            });
            let db_name = format!(
                "iop_test_{}_{}",
                name.replace('-', "_"),
                uuid::Uuid::new_v4().simple()
            );
            let admin = sea_orm::Database::connect(&admin_url)
                .await
                .expect("connect to test PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
                .await
                .expect("create test database");
            let (prefix, _) = admin_url.rsplit_once('/').expect("database URL has a path");
            DatabaseSettings {
                max_connections: 5,
                ..base.with_url(format!("{prefix}/{db_name}"))
            }
        }
    }
}

/// The embedded defaults of every registered service.
pub fn defaults() -> Settings {
    Settings::defaults(&iop_registry::sections()).expect("defaults")
}

/// Settings for tests: defaults with a fresh secret and quick timings.
pub fn settings() -> Settings {
    let mut s = defaults();
    s.auth.hs256_secret = iop_runtime::auth::generate_secret().into();
    s.audit.chain_key = iop_runtime::auth::generate_secret().into();
    s.grpc.listen = "127.0.0.1:0".parse().unwrap();
    s.grpc.drain_ms = 0;
    s.kafka.topic_partitions = 3;
    s.kafka.topic_replication = 1;
    s.outbox.poll_interval_ms = 50;
    s.consumer.retry_backoff_ms = 10;
    s
}

/// Every service in this process, on the mock broker.
pub struct TestNetwork {
    /// gRPC address of all services.
    pub address: SocketAddr,
    /// Settings the services run with.
    pub settings: Settings,
    databases: BTreeMap<&'static str, DatabaseSettings>,
    shutdown: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    // Declared last: dropped after the services stopped using it.
    broker: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
}

impl TestNetwork {
    /// Starts the network and waits until every service reports SERVING.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// As [`TestNetwork::start`], letting `tune` change the settings first.
    pub async fn start_with(backend: Backend, tune: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let broker = MockCluster::new(1).expect("mock broker");
        let mut settings = settings();
        settings.kafka.bootstrap_servers = broker.bootstrap_servers();
        settings.kafka.create_topics = false;
        tune(&mut settings);
        for t in service::topics(SERVICES) {
            broker
                .create_topic(t, settings.kafka.topic_partitions, 1)
                .expect("create topic");
        }
        let mut databases = BTreeMap::new();
        for s in SERVICES {
            databases.insert(s.name, database(backend, dir.path(), s.name).await);
        }
        let shutdown = CancellationToken::new();
        let listener = server::bind(settings.grpc.listen).await.expect("bind");
        let address = listener.local_addr().expect("address");
        let grpc = service::grpc_names(SERVICES);
        let mut host = Host::new(settings.clone(), shutdown.clone(), &grpc)
            .await
            .expect("host");
        for s in SERVICES {
            (s.start)(&mut host, databases[s.name].clone())
                .await
                .unwrap_or_else(|e| panic!("{} starts: {e}", s.name));
        }
        let server = tokio::spawn(async move {
            host.serve(listener).await.expect("serve");
        });
        let network = Self {
            address,
            settings,
            databases,
            shutdown,
            server: Some(server),
            _dir: dir,
            broker,
        };
        network.wait_serving("").await;
        let admin = network.token(&[Role::Admin], &["*"]);
        seed(network.channel().await, &admin).await;
        network
    }

    /// Takes the mock cluster's only broker down: clients' requests fail
    /// until [`TestNetwork::broker_up`].
    pub fn broker_down(&self) {
        self.broker.broker_down(1).expect("broker down");
    }

    /// Brings the broker back.
    pub fn broker_up(&self) {
        self.broker.broker_up(1).expect("broker up");
    }

    /// The database settings of the service named `name`.
    pub fn database(&self, name: &str) -> &DatabaseSettings {
        self.databases
            .get(name)
            .unwrap_or_else(|| panic!("no service named {name} in the registry"))
    }

    /// The URL of that database (for tests that inspect it directly).
    pub fn database_url(&self, name: &str) -> &str {
        self.database(name).url.expose()
    }

    /// The broker's bootstrap address (for test producers and consumers).
    pub fn bootstrap_servers(&self) -> String {
        self.broker.bootstrap_servers()
    }

    /// A channel to the services.
    pub async fn channel(&self) -> Channel {
        channel(self.address).await
    }

    /// Admissions client.
    pub async fn admissions(&self) -> AdmissionsServiceClient<Channel> {
        AdmissionsServiceClient::new(self.channel().await)
    }

    /// Patient view client.
    pub async fn view(&self) -> PatientViewServiceClient<Channel> {
        PatientViewServiceClient::new(self.channel().await)
    }

    /// Scheduling client.
    pub async fn scheduling(&self) -> SchedulingServiceClient<Channel> {
        SchedulingServiceClient::new(self.channel().await)
    }

    /// A token signed with the network's key.
    pub fn token(&self, roles: &[Role], facilities: &[&str]) -> String {
        token(&self.settings, roles, facilities)
    }

    /// Waits until health reports `service` ("" = all) SERVING.
    pub async fn wait_serving(&self, service: &str) {
        wait_serving(self.address, service, Duration::from_secs(30)).await;
    }

    /// Stops the services and waits for them.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(s) = self.server.take() {
            s.await.expect("server task");
        }
    }
}

/// Gives every registered service its demo data through `channel` with an
/// admin `token`, with limits no test meets by accident ([`Seed::Unlimited`]).
pub async fn seed(channel: Channel, token: &str) {
    for s in SERVICES {
        if let Some(seed) = s.seed {
            seed(channel.clone(), token.to_owned(), Seed::Unlimited)
                .await
                .unwrap_or_else(|e| panic!("{} seeds: {e}", s.name));
        }
    }
}

/// A token signed with `settings`' key, valid for an hour, for `test-user`.
pub fn token(settings: &Settings, roles: &[Role], facilities: &[&str]) -> String {
    token_of(settings, "test-user", roles, facilities)
}

/// [`token`] for another person (`subject`): authorship rules tell callers apart.
pub fn token_of(settings: &Settings, subject: &str, roles: &[Role], facilities: &[&str]) -> String {
    TokenIssuer::new(&settings.auth)
        .expect("issuer")
        .issue(subject, roles, facilities, 3600)
        .expect("token")
}

/// A lazily connecting channel to `address`.
pub async fn channel(address: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("uri")
        .connect_lazy()
}

/// Waits until the health service at `address` reports `service` SERVING.
pub async fn wait_serving(address: SocketAddr, service: &str, within: Duration) {
    use iop_runtime_health::*;
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut client = HealthClient::new(channel(address).await);
        let status = client
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map(|r| r.into_inner().status);
        if status.as_ref().ok() == Some(&1) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{service:?} at {address} not SERVING: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

mod iop_runtime_health {
    pub use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
}

/// `message` with a bearer token.
pub fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    request
}

/// A valid registration of `given family` at `facility`. It confirms a new
/// patient up front (tests of other behaviour register look-alikes on purpose);
/// duplicate-detection tests clear `confirm_new_patient`.
pub fn registration(given: &str, family: &str, facility: &str) -> RegisterPatientRequest {
    RegisterPatientRequest {
        legal_name: Some(PersonName {
            given: given.into(),
            middle: String::new(),
            family: family.into(),
        }),
        date_of_birth: Some(Date {
            year: 1988,
            month: 7,
            day: 3,
        }),
        sex: Sex::Unknown as i32,
        facility_id: facility.into(),
        confirm_new_patient: true,
        ..Default::default()
    }
}

/// A screening that places an adult at IOP (2.1): relapse potential rated 2,
/// the other dimensions 0-1, moderate severity, stable home, daytime work.
pub fn iop_assessment() -> AssessmentInput {
    AssessmentInput {
        dimensions: Some(AsamDimensions {
            d1_withdrawal: 1,
            d3_emotional: 1,
            d5_relapse: 2,
            ..Default::default()
        }),
        suitability: Some(Suitability {
            severity: Severity::Moderate as i32,
            home: HomeEnvironment::Stable as i32,
            commitments: Commitments::Daytime as i32,
            motivation: Motivation::High as i32,
            payment: PaymentMeans::Insured as i32,
            transportation: Transportation::Reliable as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A screening that places at partial hospitalization (2.5): relapse
/// potential rated 3, a severe disorder.
pub fn php_assessment() -> AssessmentInput {
    let mut input = iop_assessment();
    if let Some(s) = input.suitability.as_mut() {
        s.severity = Severity::Severe as i32;
    }
    if let Some(d) = input.dimensions.as_mut() {
        d.d5_relapse = 3;
    }
    input
}

/// Records a screening of `patient_id` at `facility`; returns the assessment id.
pub async fn assess(
    client: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    patient_id: &str,
    facility: &str,
    input: AssessmentInput,
) -> Result<String, Status> {
    let request = RecordAssessmentRequest {
        patient_id: patient_id.into(),
        facility_id: facility.into(),
        input: Some(input),
    };
    Ok(client
        .record_assessment(authed(request, token))
        .await?
        .into_inner()
        .assessment
        .map(|a| a.assessment_id)
        .unwrap_or_default())
}

/// Registers a patient; returns its id and the write's consistency token.
pub async fn register(
    client: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    request: RegisterPatientRequest,
) -> Result<(String, String), Status> {
    let r = client
        .register_patient(authed(request, token))
        .await?
        .into_inner();
    Ok((
        r.patient.map(|p| p.patient_id).unwrap_or_default(),
        r.consistency_token,
    ))
}

/// Registers `given family` at `facility` as a new patient (see
/// [`registration`]) and returns its id; fails the test on an error.
pub async fn patient(
    client: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    given: &str,
    family: &str,
    facility: &str,
) -> String {
    register(client, token, registration(given, family, facility))
        .await
        .unwrap_or_else(|e| panic!("registration at {facility}: {e}"))
        .0
}

/// A patient registered, screened and admitted at `facility` in `program`,
/// with a token acting for that facility: what most tests start from. Returns
/// the patient id and the admission's consistency token.
pub async fn admitted_patient(
    network: &TestNetwork,
    given: &str,
    family: &str,
    facility: &str,
    program: Program,
) -> (String, String) {
    let token = network.token(&[Role::Intake], &[facility]);
    let mut admissions = network.admissions().await;
    let id = patient(&mut admissions, &token, given, family, facility).await;
    let admitted = admit(&mut admissions, &token, &id, facility, program)
        .await
        .unwrap_or_else(|e| panic!("admission at {facility}: {e}"));
    (id, admitted)
}

/// Polls `f` until it yields a value, for up to 60 s (CI machines are slow,
/// and a test binary runs its networks in parallel: a lab test once took
/// 30 s for one consumer hop under that load); fails the test naming `what`
/// otherwise.
pub async fn until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every record on `topic` of the network's broker now, as an analyst reads it.
pub async fn all_records(
    network: &TestNetwork,
    topic: &str,
) -> Vec<rdkafka::message::OwnedMessage> {
    let bootstrap = network.bootstrap_servers();
    let total = record_count(&bootstrap, topic, network.settings.kafka.topic_partitions);
    read_topic(&bootstrap, topic, total).await
}

/// Screens a patient for `program`'s level (see [`assess`]), then admits them
/// to it at `facility` today; returns the admission's consistency token.
pub async fn admit(
    client: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    patient_id: &str,
    facility: &str,
    program: Program,
) -> Result<String, Status> {
    admit_on(client, token, patient_id, facility, program, None).await
}

/// [`admit`], with the episode's first day (`None`: today at the facility).
pub async fn admit_on(
    client: &mut AdmissionsServiceClient<Channel>,
    token: &str,
    patient_id: &str,
    facility: &str,
    program: Program,
    admitted_on: Option<Date>,
) -> Result<String, Status> {
    let input = if program == Program::Php {
        php_assessment()
    } else {
        iop_assessment()
    };
    assess(client, token, patient_id, facility, input).await?;
    let request = AdmitPatientRequest {
        patient_id: patient_id.into(),
        facility_id: facility.into(),
        program: program as i32,
        admitted_on,
        ..Default::default()
    };
    Ok(client
        .admit_patient(authed(request, token))
        .await?
        .into_inner()
        .consistency_token)
}

/// Reads a patient's view once it holds the write named by `consistency`,
/// giving the call `within` as its deadline.
pub async fn read_view(
    client: &mut PatientViewServiceClient<Channel>,
    token: &str,
    patient_id: &str,
    consistency: &str,
    within: Duration,
) -> Result<PatientView, Status> {
    let mut request = authed(
        GetPatientViewRequest {
            patient_id: patient_id.into(),
            consistency_token: consistency.into(),
        },
        token,
    );
    request.set_timeout(within);
    Ok(client
        .get_patient_view(request)
        .await?
        .into_inner()
        .view
        .unwrap_or_default())
}

/// A Part 2 consent, valid until 2099, by which `patient_id` lets `facility`
/// receive all records (not counseling notes) for treatment.
pub fn consent_to(patient_id: &str, facility: &str) -> iop_proto::common::v1::Consent {
    use iop_proto::common::v1::{
        Consent, ConsentExpiry, ConsentInformation, ConsentPurpose, ConsentRecipient, Date,
        DisclosurePurpose, consent_expiry, consent_recipient,
    };
    Consent {
        patient_id: patient_id.into(),
        disclosing_party: "IOP Network Oakland".into(),
        information: vec![ConsentInformation::AllRecords as i32],
        recipients: vec![ConsentRecipient {
            kind: Some(consent_recipient::Kind::Named(facility.into())),
        }],
        purposes: vec![ConsentPurpose {
            purpose: DisclosurePurpose::Treatment as i32,
            description: String::new(),
        }],
        right_to_revoke_acknowledged: true,
        expiry: Some(ConsentExpiry {
            kind: Some(consent_expiry::Kind::OnDate(Date {
                year: 2099,
                month: 12,
                day: 31,
            })),
        }),
        signed_by: "the patient".into(),
        signed_on: Some(Date {
            year: 2026,
            month: 11,
            day: 2,
        }),
        ..Default::default()
    }
}

/// Audit rows about `patient_id` with `outcome` (`allowed`, `denied`), and with
/// `action` when given, in the database at `url`.
pub async fn audit_rows(url: &str, patient_id: &str, action: Option<&str>, outcome: &str) -> i64 {
    audit_count(url, Some(patient_id), action, outcome).await
}

/// Audit rows with `outcome`, about `patient_id` and of `action` when given,
/// in the database at `url`.
pub async fn audit_count(
    url: &str,
    patient_id: Option<&str>,
    action: Option<&str>,
    outcome: &str,
) -> i64 {
    use sea_orm::{DbBackend, Statement};
    let db = sea_orm::Database::connect(url)
        .await
        .expect("audit database");
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT COUNT(*) AS n FROM audit_log WHERE outcome = $1 \
             AND ($2 = '' OR patient_id = $2) AND ($3 = '' OR action = $3)"
        }
        _ => {
            "SELECT COUNT(*) AS n FROM audit_log WHERE outcome = ?1 \
             AND (?2 = '' OR patient_id = ?2) AND (?3 = '' OR action = ?3)"
        }
    };
    let values: Vec<sea_orm::Value> = vec![
        outcome.into(),
        patient_id.unwrap_or_default().into(),
        action.unwrap_or_default().into(),
    ];
    let row = db
        .query_one(Statement::from_sql_and_values(backend, sql, values))
        .await
        .expect("audit query")
        .expect("a count");
    row.try_get::<i64>("", "n").expect("count")
}

/// The accounting of disclosures of `patient_id` (Part 2), as an auditor with
/// `token` reads it through `iop.audit.v1.AuditService`.
pub async fn account_disclosures(
    net: &TestNetwork,
    token: &str,
    patient_id: &str,
) -> Vec<iop_proto::audit::v1::AuditEntry> {
    use iop_proto::audit::v1::{
        AccountDisclosuresRequest, audit_service_client::AuditServiceClient,
    };
    AuditServiceClient::new(net.channel().await)
        .account_disclosures(authed(
            AccountDisclosuresRequest {
                patient_id: patient_id.into(),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("the accounting of disclosures")
        .into_inner()
        .disclosures
}

/// Creates `track` once scheduling knows its facility (from admissions'
/// `FacilityRecorded`, which may not have arrived yet); returns it as stored.
pub async fn create_track(
    scheduling: &SchedulingServiceClient<Channel>,
    token: &str,
    track: iop_proto::scheduling::v1::Track,
) -> iop_proto::scheduling::v1::Track {
    use iop_proto::scheduling::v1::CreateTrackRequest;
    until("the facility to reach scheduling", || {
        let mut c = scheduling.clone();
        let request = authed(
            CreateTrackRequest {
                track: Some(track.clone()),
            },
            token,
        );
        async move { c.create_track(request).await.ok() }
    })
    .await
    .into_inner()
    .track
    .expect("the created track")
}

/// Reads `count` records of `topic` from the start, as an analyst's consumer
/// would; fails after 20 s. Partitions are assigned explicitly, not through a
/// consumer group: a rebalance would redeliver records and a count would then
/// stop short of the newest ones.
pub async fn read_topic(
    bootstrap: &str,
    topic: &str,
    count: usize,
) -> Vec<rdkafka::message::OwnedMessage> {
    use rdkafka::{
        ClientConfig, Message, Offset, TopicPartitionList,
        consumer::{Consumer, StreamConsumer},
    };
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("analyst-{}", uuid::Uuid::new_v4()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("topic metadata");
    let mut partitions = TopicPartitionList::new();
    for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
        partitions
            .add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&partitions).expect("assign");
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while out.len() < count {
        let m = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} records on {topic}", out.len()))
            .expect("record");
        if seen.insert((m.partition(), m.offset())) {
            out.push(m.detach());
        }
    }
    out
}

/// A record's header as text.
pub fn header<'a>(m: &'a rdkafka::message::OwnedMessage, key: &str) -> Option<&'a str> {
    use rdkafka::{Message, message::Headers};
    m.headers()?
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| std::str::from_utf8(h.value?).ok())
}

/// How many records `topic` holds now, over its `partitions` (high minus low
/// watermark of each).
pub fn record_count(bootstrap: &str, topic: &str, partitions: i32) -> usize {
    use rdkafka::{
        ClientConfig,
        consumer::{BaseConsumer, Consumer},
    };
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "watermarks")
        .create()
        .expect("consumer");
    (0..partitions)
        .map(|p| {
            let (low, high) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(5))
                .expect("watermarks");
            usize::try_from(high - low).unwrap_or(0)
        })
        .sum()
}

/// The open level-of-care review of `patient_id` at `facility`, if clinical has one.
pub async fn open_review(
    channel: Channel,
    token: &str,
    facility: &str,
    patient_id: &str,
) -> Option<iop_proto::clinical::v1::Review> {
    use iop_proto::clinical::v1::{
        ListReviewsRequest, clinical_service_client::ClinicalServiceClient,
    };
    ClinicalServiceClient::new(channel)
        .list_reviews(authed(
            ListReviewsRequest {
                facility_id: facility.into(),
                include_decided: false,
            },
            token,
        ))
        .await
        .ok()?
        .into_inner()
        .reviews
        .into_iter()
        .find(|r| r.patient_id == patient_id)
}

/// A group session on `day` (09:00-12:00 facility time) at `facility`, of a
/// track of `program` that meets every day, with `patients` booked into it
/// once scheduling has opened their enrollments; returns the session id.
pub async fn group_session(
    scheduling: &SchedulingServiceClient<Channel>,
    token: &str,
    (facility, program): (&str, iop_proto::common::v1::Program),
    day: chrono::NaiveDate,
    patients: &[String],
) -> String {
    use iop_proto::scheduling::v1::{
        BookSessionRequest, GenerateSessionsRequest, LocalTime, Track,
    };
    let track = create_track(
        scheduling,
        token,
        Track {
            facility_id: facility.into(),
            name: "Group".into(),
            program: program as i32,
            weekdays: (1..=7).collect(),
            starts_at: Some(LocalTime { hour: 9, minute: 0 }),
            ends_at: Some(LocalTime {
                hour: 12,
                minute: 0,
            }),
            capacity: 12,
            facilitator_id: format!("dr-{facility}"),
            room: "group-room".into(),
            ..Default::default()
        },
    )
    .await;
    let session = scheduling
        .clone()
        .generate_sessions(authed(
            GenerateSessionsRequest {
                track_id: track.track_id,
                from: Some(iop_runtime::wire::date(day)),
                to: Some(iop_runtime::wire::date(day)),
            },
            token,
        ))
        .await
        .expect("sessions generated")
        .into_inner()
        .sessions
        .into_iter()
        .next()
        .expect("a session that day")
        .session_id;
    for pid in patients {
        until("the enrollment, to book", || {
            let mut s = scheduling.clone();
            let request = authed(
                BookSessionRequest {
                    patient_id: pid.clone(),
                    session_id: session.clone(),
                },
                token,
            );
            async move { s.book_session(request).await.ok() }
        })
        .await;
    }
    session
}

/// Publishes `event` on `topic` keyed by `key`, as its context's relay
/// would (CloudEvents binary mode); returns the event id. For tests of a
/// consumer that stand in for the producing context.
pub async fn publish<M: prost::Name>(bootstrap: &str, topic: &str, key: &str, event: &M) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    publish_as(bootstrap, topic, key, event, &id).await;
    id
}

/// [`publish`] with a given event id: the same id twice is a redelivery.
pub async fn publish_as<M: prost::Name>(
    bootstrap: &str,
    topic: &str,
    key: &str,
    event: &M,
    id: &str,
) {
    use rdkafka::{
        ClientConfig,
        producer::{FutureProducer, FutureRecord},
    };
    let event_type = M::full_name();
    let headers = iop_messaging::cloudevents::OutboundAttributes {
        id,
        source: "/iop/test/publisher",
        event_type: &event_type,
        time: chrono::Utc::now(),
        subject: key,
        sequence: 1,
        traceparent: None,
    }
    .headers();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::to(topic)
                .key(key)
                .payload(&event.encode_to_vec())
                .headers(headers),
            Duration::from_secs(5),
        )
        .await
        .expect("published");
}
