//! Admissions owns the patient identity of the whole network and the episodes
//! of care: the facility registry, registration with a network-wide medical
//! record number and duplicate candidates, merges, demographics with their
//! history, screening and level-of-care placement, Part 2 consent, coverage,
//! admission, transfer and discharge — each write publishing its facts on
//! `iop.admissions.v1`; and it discharges an episode when a clinician's
//! level-of-care decision leaves the network's levels ([`decisions`]).
//!
//! Layout (the shape of every service): this file is the registry entry
//! ([`SERVICE`]), start-up and demo data; [`settings`] its section; `api/` the
//! gRPC face; [`registration`], [`episode`], [`mrn`], [`matching`],
//! [`placement`], [`screening`], [`facility`], [`contact`] and [`coverage`] the
//! pure rules; `store/` queries and writes; `events` the event builders;
//! `entity/` and [`migration`] the storage; [`error`] the error type and its
//! statuses.

pub(crate) mod api;
pub mod contact;
pub mod coverage;
pub mod decisions;
mod entity;
pub mod episode;
pub mod error;
mod events;
pub mod facility;
pub mod matching;
pub mod migration;
pub mod mrn;
pub mod placement;
pub mod registration;
pub mod screening;
pub mod settings;
mod store;

use futures::future::BoxFuture;
use iop_messaging::mount;
use iop_proto::{
    admissions::v1::{
        Facility, ListFacilitiesRequest, ProgramOffering, PutFacilityRequest,
        admissions_service_client::AdmissionsServiceClient,
        admissions_service_server::AdmissionsServiceServer,
    },
    common::v1::Program,
    contexts, service_names, topics,
};
use iop_runtime::{
    server::Host,
    service::{BoxError, Seed, ServiceDef},
    settings::DatabaseSettings,
};
use tonic::{Request, Status, transport::Channel};

pub use api::AdmissionsApi;
/// Part 2 consent rules, shared with every context.
pub use iop_consent as consent;

/// Consumer group of clinical's decisions; dead letters go to `iop.admissions.dlq`.
pub const CONSUMER: &str = "iop.admissions";

/// Admissions in the registry.
pub const SERVICE: ServiceDef = ServiceDef {
    name: "admissions",
    summary: "facility registry, one patient identity across sites, placement, Part 2 consent, coverage and episodes of care",
    grpc: &[service_names::ADMISSIONS],
    publishes: &[topics::ADMISSIONS],
    consumes: &[topics::CLINICAL],
    dead_letters: &[topics::ADMISSIONS_DLQ],
    settings: Some(settings::SECTION),
    migrate: iop_messaging::mount::migrations::<migration::Migrator>,
    start,
    seed: Some(seed),
};

/// Connects and migrates the database, mounts the gRPC service on `host`, and
/// starts the outbox relay. SERVING once the broker answers and topics exist.
pub fn start(host: &mut Host, database: DatabaseSettings) -> BoxFuture<'_, Result<(), BoxError>> {
    Box::pin(async move {
        let own: settings::AdmissionsSettings = host.settings.section(settings::KEY)?;
        let ledger = mount::open::<migration::Migrator>(host, SERVICE.name, &database).await?;
        let tokens = iop_runtime::consistency::TokenKey::from_settings(&host.settings.auth);
        let api = AdmissionsApi::new(ledger.clone(), own, tokens);
        iop_runtime::mount!(host, AdmissionsServiceServer::new(api));
        mount::relay(host, &ledger, topics::ADMISSIONS, contexts::ADMISSIONS);
        let handler = decisions::DecisionHandler::default();
        mount::consume(host, &SERVICE, CONSUMER, ledger, handler);
        Ok(())
    })
}

/// The demo network `iop dev` starts with (when its registry is empty) and the
/// tests register: California facilities offering every program. Real networks
/// register theirs with `PutFacility`.
pub fn demo_facilities() -> Vec<Facility> {
    let programs = [
        (Program::IopDay, 24),
        (Program::IopEvening, 24),
        (Program::IopCombined, 12),
        (Program::Php, 12),
    ];
    [
        ("sf-mission", "IOP Network SF Mission", "San Francisco"),
        ("oakland", "IOP Network Oakland", "Oakland"),
        ("san-jose", "IOP Network San Jose", "San Jose"),
        ("sacramento", "IOP Network Sacramento", "Sacramento"),
        ("fresno", "IOP Network Fresno", "Fresno"),
        ("la-downtown", "IOP Network LA Downtown", "Los Angeles"),
        ("san-diego", "IOP Network San Diego", "San Diego"),
    ]
    .into_iter()
    .map(|(id, name, city)| Facility {
        facility_id: id.to_owned(),
        name: name.to_owned(),
        city: city.to_owned(),
        time_zone: "America/Los_Angeles".to_owned(),
        programs: programs
            .iter()
            .map(|(program, capacity)| ProgramOffering {
                program: *program as i32,
                capacity: *capacity,
                census: 0,
            })
            .collect(),
    })
    .collect()
}

fn authed<T>(message: T, token: &str) -> Result<Request<T>, Status> {
    let mut request = Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| Status::invalid_argument("token is not a header value"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// Registers the demo facilities through the public API when the registry is
/// empty; [`Seed::Unlimited`] gives every program the largest capacity, so only
/// tests of capacity (which register their own facility) meet a full one.
fn seed(channel: Channel, token: String, how: Seed) -> BoxFuture<'static, Result<(), Status>> {
    Box::pin(async move {
        let mut client = AdmissionsServiceClient::new(channel);
        let listed = client
            .list_facilities(authed(ListFacilitiesRequest {}, &token)?)
            .await?;
        if !listed.get_ref().facilities.is_empty() {
            return Ok(());
        }
        for mut f in demo_facilities() {
            if how == Seed::Unlimited {
                for p in &mut f.programs {
                    p.capacity = facility::MAX_CAPACITY;
                }
            }
            let request = PutFacilityRequest { facility: Some(f) };
            client.put_facility(authed(request, &token)?).await?;
        }
        tracing::info!("registered the demo facilities");
        Ok(())
    })
}

/// Fixed days for the rules' unit tests.
#[cfg(test)]
mod testing {
    use chrono::NaiveDate;

    /// The "today" every rule test is judged on: Saturday 28 November 2026.
    pub fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or(NaiveDate::MIN)
    }

    /// A day, if it is a calendar date.
    pub fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }
}
