//! `iop bench`: drives a running network (or one it starts in-process, as
//! `iop dev`) with concurrent gRPC clients and reports, per operation,
//! throughput and latency percentiles, each as a ratio to
//! `grpc.health.v1.Health/Check` measured in the same run (the server's own
//! floor on this machine), so figures compare across machines. Operations:
//! registration, registration + screening + admission, audited reads
//! (`GetPatient`, `GetPatientView`), a group's attendance, and propagation —
//! a write acknowledged until the patient view answers with its consistency
//! token, and an admission until scheduling shows the enrollment.
//!
//! Everything it creates lives at facilities of its own (`bench-<run>-<n>`,
//! each with the largest capacity a program may have), so a run never
//! touches other facilities' patients.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{Days, NaiveDate, Utc};
use iop_proto::{
    admissions::v1::{
        AdmitPatientRequest, Facility, GetPatientRequest, ProgramOffering, PutFacilityRequest,
        RecordAssessmentRequest, RegisterPatientRequest,
        admissions_service_client::AdmissionsServiceClient,
    },
    common::v1::{
        AsamDimensions, AssessmentInput, Commitments, HomeEnvironment, Motivation, PaymentMeans,
        PersonName, Program, Severity, Sex, Suitability, Transportation,
    },
    patientview::v1::{
        GetPatientViewRequest, patient_view_service_client::PatientViewServiceClient,
    },
    scheduling::v1::{
        AttendanceEntry, AttendanceStatus, BookSessionRequest, CreateTrackRequest,
        GenerateSessionsRequest, GetEnrollmentRequest, LocalTime, RecordAttendanceRequest, Track,
        Weekday, scheduling_service_client::SchedulingServiceClient,
    },
};
use tonic::{Request, Status, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a run measures, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Op {
    /// `grpc.health.v1.Health/Check`: the baseline every ratio divides by.
    Health,
    /// `RegisterPatient`, a new person each call (the duplicate search runs).
    Register,
    /// `RegisterPatient`, `RecordAssessment` and `AdmitPatient` in a row.
    RegisterAdmit,
    /// `GetPatient` of a registered patient (audited read).
    GetPatient,
    /// `GetPatientView` without a token (audited read).
    GetView,
    /// `RecordAttendance` of a group of 12 for one session.
    Attendance,
    /// A registration acknowledged → the view answers with its token.
    PropagateView,
    /// An admission acknowledged → scheduling shows the enrollment.
    PropagateScheduling,
}

impl Op {
    /// Every operation, in the order a run measures them.
    pub const ALL: [Op; 8] = [
        Op::Health,
        Op::Register,
        Op::RegisterAdmit,
        Op::GetPatient,
        Op::GetView,
        Op::Attendance,
        Op::PropagateView,
        Op::PropagateScheduling,
    ];

    fn name(self) -> &'static str {
        match self {
            Op::Health => "health_check",
            Op::Register => "register",
            Op::RegisterAdmit => "register_admit",
            Op::GetPatient => "get_patient",
            Op::GetView => "get_patient_view",
            Op::Attendance => "attendance_group_of_12",
            Op::PropagateView => "propagation_view",
            Op::PropagateScheduling => "propagation_scheduling",
        }
    }
}

/// How long each operation runs.
#[derive(Debug, Clone, Copy)]
pub enum Limit {
    /// This many calls.
    Count(u64),
    /// For this long.
    Duration(Duration),
}

/// A run's parameters.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Calls in flight at once.
    pub clients: usize,
    /// How long each operation runs.
    pub limit: Limit,
    /// Patients registered before measuring (the index the duplicate search
    /// and the reads run against).
    pub preload: u64,
    /// Writes per second of the propagation operations (paced; 0: as fast as
    /// the clients go).
    pub propagation_rate: u32,
    /// The operations, in order; `Health` is always measured first.
    pub ops: Vec<Op>,
    /// Print progress on standard error.
    pub progress: bool,
    /// Also measure rebuilding the patient view from the topics.
    pub rebuild: bool,
}

/// One operation's figures.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Which.
    pub op: Op,
    /// Calls that succeeded.
    pub ok: u64,
    /// Calls that failed (each counted, none timed).
    pub errors: u64,
    /// First error seen, if any.
    pub first_error: Option<String>,
    /// Successful calls per second.
    pub per_second: f64,
    /// Latency percentiles and maximum, milliseconds.
    pub p50_ms: f64,
    #[allow(missing_docs, reason = "as above")]
    pub p95_ms: f64,
    #[allow(missing_docs, reason = "as above")]
    pub p99_ms: f64,
    #[allow(missing_docs, reason = "as above")]
    pub max_ms: f64,
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where it ran.
    pub target: String,
    /// Calls in flight.
    pub clients: usize,
    /// Patients registered before measuring.
    pub preloaded: u64,
    /// Per operation, Health first.
    pub measured: Vec<Measured>,
    /// The view rebuilt from the topics, when asked for.
    pub rebuild: Option<Rebuild>,
}

impl Report {
    fn baseline(&self) -> f64 {
        (self.measured.iter())
            .find(|m| m.op == Op::Health)
            .map_or(0.0, |m| m.per_second)
    }

    /// Throughput of `m` as a share of Health/Check's.
    pub fn ratio(&self, m: &Measured) -> f64 {
        let base = self.baseline();
        if base > 0.0 { m.per_second / base } else { 0.0 }
    }

    /// The table for people.
    pub fn table(&self) -> String {
        let mut out = format!(
            "iop bench: {} ({} clients, {} patients preloaded)\n\
             | operation | ok | errors | per second | share of Health/Check | p50 ms | p95 ms | p99 ms | max ms |\n\
             |---|---|---|---|---|---|---|---|---|\n",
            self.target, self.clients, self.preloaded
        );
        for m in &self.measured {
            out.push_str(&format!(
                "| {} | {} | {} | {:.0} | {:.1}% | {:.2} | {:.2} | {:.2} | {:.2} |\n",
                m.op.name(),
                m.ok,
                m.errors,
                m.per_second,
                100.0 * self.ratio(m),
                m.p50_ms,
                m.p95_ms,
                m.p99_ms,
                m.max_ms
            ));
            if let Some(e) = &m.first_error {
                out.push_str(&format!("  first error of {}: {e}\n", m.op.name()));
            }
        }
        if let Some(r) = &self.rebuild {
            out.push_str(&format!(
                "view rebuild: {} of {} records applied, {:.0}/s; raw consume {:.0}/s; rebuild at {:.1}% of raw\n",
                r.applied,
                r.records,
                r.rebuild_per_second,
                r.raw_per_second,
                100.0 * r.ratio()
            ));
        }
        out
    }

    /// The report for machines.
    pub fn json(&self) -> String {
        let ops: Vec<_> = (self.measured.iter())
            .map(|m| {
                serde_json::json!({
                    "operation": m.op.name(),
                    "ok": m.ok,
                    "errors": m.errors,
                    "first_error": m.first_error,
                    "per_second": m.per_second,
                    "ratio_to_health_check": self.ratio(m),
                    "p50_ms": m.p50_ms,
                    "p95_ms": m.p95_ms,
                    "p99_ms": m.p99_ms,
                    "max_ms": m.max_ms,
                })
            })
            .collect();
        let rebuild = self.rebuild.as_ref().map(|r| {
            serde_json::json!({
                "records": r.records,
                "applied": r.applied,
                "raw_per_second": r.raw_per_second,
                "rebuild_per_second": r.rebuild_per_second,
                "ratio_to_raw": r.ratio(),
            })
        });
        serde_json::json!({
            "target": self.target,
            "clients": self.clients,
            "preloaded_patients": self.preloaded,
            "operations": ops,
            "view_rebuild": rebuild,
        })
        .to_string()
    }
}

/// Bearer-authenticated clients of one network.
#[derive(Clone)]
struct Clients {
    channel: Channel,
    token: Arc<str>,
}

impl Clients {
    fn request<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        if let Ok(v) = format!("Bearer {}", self.token).parse() {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }
    fn admissions(&self) -> AdmissionsServiceClient<Channel> {
        AdmissionsServiceClient::new(self.channel.clone())
    }
    fn view(&self) -> PatientViewServiceClient<Channel> {
        PatientViewServiceClient::new(self.channel.clone())
    }
    fn scheduling(&self) -> SchedulingServiceClient<Channel> {
        SchedulingServiceClient::new(self.channel.clone())
    }
}

/// Runs `plan` against the network at `target` (`http://host:port`) with an
/// admin `token`.
pub async fn run(target: &str, token: &str, plan: &Plan) -> Result<Report, BoxError> {
    let channel = tonic::transport::Endpoint::from_shared(target.to_owned())?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let c = Clients {
        channel,
        token: token.into(),
    };
    let run_id = letters(u64::from(uuid::Uuid::new_v4().as_fields().0));
    let setup = Setup::new(&c, &run_id).await?;
    let mut measured = Vec::new();
    let mut ops = vec![Op::Health];
    ops.extend(plan.ops.iter().copied().filter(|o| *o != Op::Health));

    let preloaded = setup.preload(plan).await?;
    if ops
        .iter()
        .any(|o| matches!(o, Op::GetPatient | Op::GetView))
    {
        setup.settle_reads(plan).await?;
    }
    for op in ops {
        // Each operation starts on a network that has applied everything
        // before it, so one's backlog is not measured as the next one's cost.
        setup.settle(plan).await;
        let m = match op {
            Op::Health => {
                let c = c.clone();
                drive(op, plan, None, move |_| {
                    let mut h = HealthClient::new(c.channel.clone());
                    async move {
                        h.check(HealthCheckRequest::default()).await?;
                        Ok(Duration::ZERO)
                    }
                })
                .await
            }
            Op::Register => {
                let s = setup.clone();
                drive(op, plan, None, move |i| {
                    let s = s.clone();
                    async move {
                        s.register(1_000_000 + i, false).await?;
                        Ok(Duration::ZERO)
                    }
                })
                .await
            }
            Op::RegisterAdmit => {
                let s = setup.clone();
                drive(op, plan, None, move |i| {
                    let s = s.clone();
                    async move {
                        let (pid, _) = s.register(2_000_000 + i, true).await?;
                        s.admit(&pid, None).await?;
                        Ok(Duration::ZERO)
                    }
                })
                .await
            }
            Op::GetPatient => {
                let s = setup.clone();
                drive(op, plan, None, move |i| {
                    let pid = s.patient(i);
                    let s = s.clone();
                    async move {
                        let request = s.c.request(GetPatientRequest { patient_id: pid });
                        s.c.admissions().get_patient(request).await?;
                        Ok(Duration::ZERO)
                    }
                })
                .await
            }
            Op::GetView => {
                let s = setup.clone();
                drive(op, plan, None, move |i| {
                    let pid = s.patient(i);
                    let s = s.clone();
                    async move {
                        let request = s.c.request(GetPatientViewRequest {
                            patient_id: pid,
                            consistency_token: String::new(),
                        });
                        s.c.view().get_patient_view(request).await?;
                        Ok(Duration::ZERO)
                    }
                })
                .await
            }
            Op::Attendance => {
                let groups = setup.attendance_sessions(plan).await?;
                let groups = Arc::new(groups);
                let limited = Plan {
                    limit: Limit::Count(groups.len() as u64),
                    ..plan.clone()
                };
                let s = setup.clone();
                drive(op, &limited, None, move |i| {
                    let (s, groups) = (s.clone(), groups.clone());
                    async move {
                        let (session, patients) = &groups[i as usize % groups.len()];
                        s.record_attendance(session, patients).await?;
                        Ok(Duration::ZERO)
                    }
                })
                .await
            }
            Op::PropagateView => {
                let s = setup.clone();
                drive(op, plan, pace(plan), move |i| {
                    let s = s.clone();
                    async move {
                        let (pid, token) = s.register(3_000_000 + i, true).await?;
                        // Timed from the write's acknowledgement.
                        let acked = Instant::now();
                        let request = s.c.request(GetPatientViewRequest {
                            patient_id: pid,
                            consistency_token: token,
                        });
                        s.c.view().get_patient_view(request).await?;
                        Ok(acked.elapsed())
                    }
                })
                .await
            }
            Op::PropagateScheduling => {
                let s = setup.clone();
                drive(op, plan, pace(plan), move |i| {
                    let s = s.clone();
                    async move {
                        let (pid, _) = s.register(4_000_000 + i, true).await?;
                        s.admit(&pid, None).await?;
                        let acked = Instant::now();
                        s.until_enrolled(&pid).await?;
                        Ok(acked.elapsed())
                    }
                })
                .await
            }
        };
        if plan.progress {
            eprintln!("\r{:<28} {:>8} ok {:>6} errors", op.name(), m.ok, m.errors);
        }
        measured.push(m);
    }
    Ok(Report {
        target: target.to_owned(),
        clients: plan.clients,
        preloaded,
        measured,
        rebuild: None,
    })
}

/// The pacing of propagation: one write every `1 / rate` seconds overall.
fn pace(plan: &Plan) -> Option<Duration> {
    (plan.propagation_rate > 0)
        .then(|| Duration::from_secs_f64(1.0 / f64::from(plan.propagation_rate)))
}

/// Runs `call(i)` for i = 0, 1, … from `plan.clients` tasks until the limit;
/// each call returns the latency to record (`ZERO`: the call's own). With
/// `pace`, call i starts no earlier than i × pace after the start.
async fn drive<F, Fut>(op: Op, plan: &Plan, pace: Option<Duration>, call: F) -> Measured
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<Duration, Status>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let limit = plan.limit;
    let ticker = plan.progress.then(|| {
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                eprint!("\r{:<28} {:>8} ok", op.name(), done.load(Ordering::Relaxed));
            }
        })
    });
    let mut tasks = Vec::new();
    for _ in 0..plan.clients.max(1) {
        let (next, done, call) = (next.clone(), done.clone(), call.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut errors, mut first_error) = (0u64, None);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                match limit {
                    Limit::Count(n) if i >= n => break,
                    Limit::Duration(d) if start.elapsed() >= d => break,
                    _ => {}
                }
                if let Some(p) = pace {
                    let due = start + p.mul_f64(i as f64);
                    tokio::time::sleep_until(due.into()).await;
                }
                let began = Instant::now();
                match call(i).await {
                    Ok(latency) => {
                        let latency = if latency.is_zero() {
                            began.elapsed()
                        } else {
                            latency
                        };
                        latencies.push(latency);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error
                            .get_or_insert_with(|| format!("{:?}: {}", e.code(), e.message()));
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for t in tasks {
        if let Ok((l, e, f)) = t.await {
            latencies.extend(l);
            errors += e;
            if first_error.is_none() {
                first_error = f;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64().max(1e-9);
    if let Some(t) = ticker {
        t.abort();
    }
    latencies.sort_unstable();
    let at = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    Measured {
        op,
        ok: latencies.len() as u64,
        errors,
        first_error,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// What every operation shares: the clients, the bench facilities, the
/// patients registered so far.
#[derive(Clone)]
struct Setup {
    c: Clients,
    facilities: Arc<[String]>,
    run_id: Arc<str>,
    patients: Arc<std::sync::RwLock<Vec<(String, usize)>>>,
    /// Patients the view already holds (their registration's consistency
    /// token answered): what the read operations read.
    readable: Arc<std::sync::RwLock<Vec<String>>>,
}

/// Patients the read operations round-robin over.
const READ_SAMPLE: usize = 1000;

/// Facilities a run spreads its admissions over (a program takes at most
/// 1,000 patients).
const FACILITIES: usize = 8;

/// `n` in lower-case letters (names may not hold digits).
fn letters(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Common surnames: the duplicate search meets real blocking-key collisions.
const FAMILIES: [&str; 16] = [
    "García",
    "Hernández",
    "Nguyễn",
    "Smith",
    "López",
    "Martínez",
    "Trần",
    "Kim",
    "Rodríguez",
    "Johnson",
    "Pérez",
    "Lee",
    "González",
    "Williams",
    "Sánchez",
    "Chen",
];

impl Setup {
    async fn new(c: &Clients, run_id: &str) -> Result<Self, BoxError> {
        let mut facilities = Vec::new();
        for n in 0..FACILITIES {
            let facility = format!("bench-{run_id}-{n}");
            let request = c.request(PutFacilityRequest {
                facility: Some(Facility {
                    facility_id: facility.clone(),
                    name: format!("Bench {run_id} {n}"),
                    city: "Fresno".into(),
                    time_zone: "America/Los_Angeles".into(),
                    programs: vec![ProgramOffering {
                        program: Program::IopDay as i32,
                        capacity: 1000,
                        census: 0,
                    }],
                }),
            });
            c.admissions().put_facility(request).await?;
            facilities.push(facility);
        }
        Ok(Self {
            c: c.clone(),
            facilities: facilities.into(),
            run_id: run_id.into(),
            patients: Arc::default(),
            readable: Arc::default(),
        })
    }

    /// A patient to read, round robin over those the view holds.
    fn patient(&self, i: u64) -> String {
        let all = self.readable.read().unwrap_or_else(|e| e.into_inner());
        if all.is_empty() {
            return String::new();
        }
        all[(i % all.len() as u64) as usize].clone()
    }

    /// Waits (at most a minute) until every consumer of the network reports
    /// no lag (`OperationsService.ListConsumers`).
    async fn settle(&self, plan: &Plan) {
        use iop_proto::ops::v1::{
            ConsumerState, ListConsumersRequest, operations_service_client::OperationsServiceClient,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut ops = OperationsServiceClient::new(self.c.channel.clone());
        while Instant::now() < deadline {
            let request = self.c.request(ListConsumersRequest {});
            let Ok(r) = ops.list_consumers(request).await else {
                return;
            };
            let busy = (r.get_ref().consumers.iter())
                .filter(|c| c.total_lag > 0 || c.state == ConsumerState::Starting as i32)
                .count();
            if busy == 0 {
                return;
            }
            if plan.progress {
                eprint!("\rwaiting for {busy} consumer(s) to catch up");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Registers up to [`READ_SAMPLE`] patients to read and waits, by each
    /// one's consistency token, until the view holds them: reads then never
    /// race the view's consumer.
    async fn settle_reads(&self, plan: &Plan) -> Result<(), BoxError> {
        let s = self.clone();
        let sample = Plan {
            limit: Limit::Count(READ_SAMPLE as u64),
            ..plan.clone()
        };
        let m = drive(Op::GetView, &sample, None, move |i| {
            let s = s.clone();
            async move {
                let (pid, token) = s.register(6_000_000 + i, true).await?;
                let request = s.c.request(GetPatientViewRequest {
                    patient_id: pid.clone(),
                    consistency_token: token,
                });
                s.c.view().get_patient_view(request).await?;
                s.readable
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(pid);
                Ok(Duration::ZERO)
            }
        })
        .await;
        match m.first_error {
            Some(e) if m.ok == 0 => Err(format!("no patient to read: {e}").into()),
            _ => Ok(()),
        }
    }

    /// A given name of its own for person `n`: seven letters from a hash of
    /// the run and `n`, so no two people of a run look like a typo of each
    /// other (and the duplicate search proposes nobody).
    fn given_name(&self, n: u64) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.run_id.as_ref(), n).hash(&mut h);
        let mut name = letters(h.finish() % 26u64.pow(7) + 26u64.pow(6));
        name[..1].make_ascii_uppercase();
        name
    }

    /// Registers person `n` of this run (distinct name, birth date and
    /// phone) at facility `n` mod [`FACILITIES`]; returns the id and the
    /// consistency token.
    async fn register(&self, n: u64, confirm: bool) -> Result<(String, String), Status> {
        let at = (n % FACILITIES as u64) as usize;
        // Birth dates spread over 55 years.
        let day = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()
            + Days::new(n.wrapping_mul(7919) % 20_000);
        let request = self.c.request(RegisterPatientRequest {
            legal_name: Some(PersonName {
                given: self.given_name(n),
                middle: String::new(),
                family: FAMILIES[(n % 16) as usize].to_owned(),
            }),
            date_of_birth: Some(iop_runtime::wire::date(day)),
            sex: if n.is_multiple_of(2) {
                Sex::Female
            } else {
                Sex::Male
            } as i32,
            phone: format!("{:010}", 2_000_000_000 + n),
            facility_id: self.facilities[at].clone(),
            confirm_new_patient: confirm,
            ..Default::default()
        });
        let r = self
            .c
            .admissions()
            .register_patient(request)
            .await?
            .into_inner();
        let pid = r.patient.map(|p| p.patient_id).ok_or_else(|| {
            Status::already_exists(format!("person {n} resembles a registered patient"))
        })?;
        self.patients
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((pid.clone(), at));
        Ok((pid, r.consistency_token))
    }

    /// Screens `pid` for IOP and admits them to the day program of the
    /// bench facility they were registered at, on `admitted_on` (today when
    /// `None`).
    async fn admit(&self, pid: &str, admitted_on: Option<NaiveDate>) -> Result<(), Status> {
        let at = (self
            .patients
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter())
        .rev()
        .find(|(p, _)| p == pid)
        .map_or(0, |(_, at)| *at);
        let facility = self.facilities[at].clone();
        let mut a = self.c.admissions();
        let screening = self.c.request(RecordAssessmentRequest {
            patient_id: pid.to_owned(),
            facility_id: facility.clone(),
            input: Some(iop_screening()),
        });
        a.record_assessment(screening).await?;
        let admit = self.c.request(AdmitPatientRequest {
            patient_id: pid.to_owned(),
            facility_id: facility,
            program: Program::IopDay as i32,
            admitted_on: admitted_on.map(iop_runtime::wire::date),
            ..Default::default()
        });
        a.admit_patient(admit).await?;
        Ok(())
    }

    /// Polls scheduling every 2 ms until `pid` is enrolled (at most 10 s).
    async fn until_enrolled(&self, pid: &str) -> Result<(), Status> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let request = self.c.request(GetEnrollmentRequest {
                patient_id: pid.to_owned(),
            });
            match self.c.scheduling().get_enrollment(request).await {
                Ok(r) if r.get_ref().enrollment.is_some() => return Ok(()),
                Ok(_) => {}
                Err(e) if e.code() == tonic::Code::NotFound => {}
                Err(e) if e.code() == tonic::Code::PermissionDenied => {}
                Err(e) => return Err(e),
            }
            if Instant::now() > deadline {
                return Err(Status::deadline_exceeded("no enrollment within 10 s"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Registers `plan.preload` patients (confirmed new, so the search is
    /// skipped), `plan.clients` at a time.
    async fn preload(&self, plan: &Plan) -> Result<u64, BoxError> {
        if plan.preload == 0 {
            return Ok(0);
        }
        let s = self.clone();
        let loading = Plan {
            limit: Limit::Count(plan.preload),
            ..plan.clone()
        };
        let m = drive(Op::Register, &loading, None, move |i| {
            let s = s.clone();
            async move {
                s.register(i, true).await?;
                Ok(Duration::ZERO)
            }
        })
        .await;
        if plan.progress {
            eprintln!("\rpreloaded {} patients ({:.0}/s)", m.ok, m.per_second);
        }
        match m.first_error {
            Some(e) if m.ok == 0 => Err(format!("preload failed: {e}").into()),
            _ => Ok(m.ok),
        }
    }

    /// Past group sessions, each with 12 patients booked and not marked:
    /// patients admitted a fortnight ago, one track per time slot, sessions
    /// for the days since. How many follows the plan (a count, or about 20
    /// per client for a timed run).
    async fn attendance_sessions(
        &self,
        plan: &Plan,
    ) -> Result<Vec<(String, Vec<String>)>, BoxError> {
        let wanted = match plan.limit {
            Limit::Count(n) => n,
            Limit::Duration(_) => 20 * plan.clients as u64,
        }
        .max(1);
        let today = Utc::now()
            .with_timezone(&chrono_tz::America::Los_Angeles)
            .date_naive();
        let days = 14u64;
        let first = today - Days::new(days);
        // Sessions a day per group: one per two-hour slot from 06:00.
        let slots = wanted.div_ceil(days).min(8);
        let groups = wanted.div_ceil(days * slots);
        let mut s = self.c.scheduling();
        let mut out = Vec::new();
        for g in 0..groups {
            let mut patients = Vec::new();
            for p in 0..12 {
                // Every group at the first bench facility: n ≡ 0 mod FACILITIES.
                let n = 5_000_000 + (g * 12 + p) * FACILITIES as u64;
                let (pid, _) = self.register(n, true).await?;
                self.admit(&pid, Some(first)).await?;
                patients.push(pid);
            }
            for slot in 0..slots {
                let hour = 6 + 2 * slot as i32;
                let track = Track {
                    facility_id: self.facilities[0].clone(),
                    name: format!("bench group {g} at {hour}:00"),
                    program: Program::IopDay as i32,
                    weekdays: [
                        Weekday::Monday,
                        Weekday::Tuesday,
                        Weekday::Wednesday,
                        Weekday::Thursday,
                        Weekday::Friday,
                        Weekday::Saturday,
                        Weekday::Sunday,
                    ]
                    .map(|d| d as i32)
                    .to_vec(),
                    starts_at: Some(LocalTime { hour, minute: 0 }),
                    ends_at: Some(LocalTime {
                        hour: hour + 1,
                        minute: 30,
                    }),
                    capacity: 12,
                    room: format!("bench-{}-room-{g}", self.run_id),
                    facilitator_id: format!("bench-{}-clinician-{g}", self.run_id),
                    ..Default::default()
                };
                let created = self
                    .retry(|| {
                        let (mut s, request) = (
                            s.clone(),
                            self.c.request(CreateTrackRequest {
                                track: Some(track.clone()),
                            }),
                        );
                        async move { s.create_track(request).await }
                    })
                    .await?
                    .into_inner()
                    .track
                    .map(|t| t.track_id)
                    .unwrap_or_default();
                let generated = s
                    .generate_sessions(self.c.request(GenerateSessionsRequest {
                        track_id: created,
                        from: Some(iop_runtime::wire::date(first)),
                        to: Some(iop_runtime::wire::date(today - Days::new(1))),
                    }))
                    .await?
                    .into_inner()
                    .sessions;
                for session in generated {
                    for pid in &patients {
                        let request = self.c.request(BookSessionRequest {
                            patient_id: pid.clone(),
                            session_id: session.session_id.clone(),
                        });
                        self.retry(|| {
                            let (mut s, request) = (s.clone(), clone_request(&request));
                            async move { s.book_session(request).await }
                        })
                        .await?;
                    }
                    out.push((session.session_id, patients.clone()));
                }
            }
        }
        out.truncate(wanted as usize);
        Ok(out)
    }

    async fn record_attendance(&self, session: &str, patients: &[String]) -> Result<(), Status> {
        let request = self.c.request(RecordAttendanceRequest {
            session_id: session.to_owned(),
            entries: (patients.iter())
                .map(|p| AttendanceEntry {
                    patient_id: p.clone(),
                    status: AttendanceStatus::Attended as i32,
                    ..Default::default()
                })
                .collect(),
        });
        self.c.scheduling().record_attendance(request).await?;
        Ok(())
    }

    /// `call` until scheduling knows what admissions just said (the
    /// facility, an enrollment): NOT_FOUND, FAILED_PRECONDITION and
    /// PERMISSION_DENIED are retried for up to 10 s.
    async fn retry<T, F, Fut>(&self, call: F) -> Result<T, Status>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, Status>>,
    {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match call().await {
                Err(e)
                    if Instant::now() < deadline
                        && matches!(
                            e.code(),
                            tonic::Code::NotFound
                                | tonic::Code::FailedPrecondition
                                | tonic::Code::PermissionDenied
                        ) =>
                {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }
}

fn clone_request<T: Clone>(r: &Request<T>) -> Request<T> {
    let mut copy = Request::new(r.get_ref().clone());
    *copy.metadata_mut() = r.metadata().clone();
    copy
}

/// A screening that places an adult at IOP (relapse potential rated 2).
fn iop_screening() -> AssessmentInput {
    AssessmentInput {
        dimensions: Some(AsamDimensions {
            d5_relapse: 2,
            ..Default::default()
        }),
        suitability: Some(Suitability {
            severity: Severity::Moderate as i32,
            home: HomeEnvironment::Stable as i32,
            commitments: Commitments::None as i32,
            motivation: Motivation::High as i32,
            payment: PaymentMeans::Insured as i32,
            transportation: Transportation::Reliable as i32,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The second mode: how fast the patient view rebuilds from the topics,
/// against a raw consume of the same records.
#[derive(Debug, Clone)]
pub struct Rebuild {
    /// Records on the view's topics when it started.
    pub records: u64,
    /// Records a plain consumer read per second.
    pub raw_per_second: f64,
    /// Events a fresh view (new database, new group) applied per second.
    pub rebuild_per_second: f64,
    /// Events the fresh view applied (below `records` only if some were
    /// dead-lettered or it ran out of time).
    pub applied: u64,
}

impl Rebuild {
    /// The rebuild's rate as a share of the raw consume's.
    pub fn ratio(&self) -> f64 {
        if self.raw_per_second > 0.0 {
            self.rebuild_per_second / self.raw_per_second
        } else {
            0.0
        }
    }
}

/// Reads every record of the patient view's topics with a plain consumer,
/// then rebuilds the view from them into a new database under `dir` with a
/// consumer group of its own, timing both.
pub async fn rebuild(
    settings: &iop_runtime::Settings,
    dir: &std::path::Path,
) -> Result<Rebuild, BoxError> {
    use rdkafka::{
        ClientConfig,
        consumer::{BaseConsumer, Consumer, StreamConsumer},
    };
    let topics: Vec<String> = (iop_patient_view::SERVICE.consumes.iter())
        .map(|t| (*t).to_owned())
        .collect();
    let config = || {
        let mut c: ClientConfig = iop_messaging::kafka::client_config(&settings.kafka);
        c.set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set(
                "fetch.wait.max.ms",
                settings.kafka.fetch_wait_max_ms.to_string(),
            );
        c
    };
    // The records there are now.
    let probe: BaseConsumer = config().set("group.id", "iop-bench-probe").create()?;
    let metadata = probe.fetch_metadata(None, Duration::from_secs(10))?;
    let mut records = 0u64;
    for t in metadata
        .topics()
        .iter()
        .filter(|t| topics.iter().any(|x| x == t.name()))
    {
        for p in t.partitions() {
            let (low, high) = probe.fetch_watermarks(t.name(), p.id(), Duration::from_secs(10))?;
            records += u64::try_from(high - low).unwrap_or(0);
        }
    }
    drop(probe);

    // A plain consumer reading all of them.
    let raw: StreamConsumer = config()
        .set(
            "group.id",
            format!("iop-bench-raw-{}", uuid::Uuid::new_v4()),
        )
        .create()?;
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    raw.subscribe(&names)?;
    // Timed from the first record: joining the group is not reading.
    let mut read = 0u64;
    let mut began = Instant::now();
    while read < records {
        match tokio::time::timeout(Duration::from_secs(30), raw.recv()).await {
            Ok(Ok(_)) => {
                if read == 0 {
                    began = Instant::now();
                }
                read += 1;
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => break,
        }
    }
    let raw_per_second = read.saturating_sub(1) as f64 / began.elapsed().as_secs_f64().max(1e-9);
    drop(raw);

    // A fresh view from the same records.
    let database = settings
        .database
        .with_url(format!("sqlite://{}/rebuilt-view.db", dir.display()));
    let db = iop_runtime::db::Database::connect(&database).await?;
    db.migrate::<iop_patient_view::migration::Migrator>()
        .await?;
    let group = format!("iop-bench-rebuild-{}", uuid::Uuid::new_v4().simple());
    let (shutdown, running) = crate::rebuild::fold_view(settings, &db, &group, topics)?;
    let deadline = Instant::now() + Duration::from_secs(300);
    // Timed, like the raw read, from the first event applied.
    let (mut done, mut first) = (0, None);
    while Instant::now() < deadline {
        done = crate::rebuild::count_inbox(&db, &group).await.unwrap_or(0);
        if done > 0 && first.is_none() {
            first = Some((Instant::now(), done));
        }
        if done >= records {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rebuild_per_second = match first {
        Some((at, n)) => (done - n) as f64 / at.elapsed().as_secs_f64().max(1e-9),
        None => 0.0,
    };
    shutdown.cancel();
    let _ = running.await;
    db.conn().clone().close().await?;
    Ok(Rebuild {
        records,
        raw_per_second,
        rebuild_per_second,
        applied: done,
    })
}
