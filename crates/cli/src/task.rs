//! `iop task`: the calls a site makes on a timetable (the weekly close, the
//! day's lab orders and random draw, the week's claims), as a Kubernetes
//! CronJob runs them against a service's gRPC address with a token from the
//! facility's identity provider. One call per facility; the first refusal
//! stops the run with its status, so the CronJob's Job fails and is retried.

use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use clap::{Args, ValueEnum};
use iop_proto::{
    billing::v1::{CreateClaimsRequest, billing_service_client::BillingServiceClient},
    lab::v1::{
        DrawRandomRequest, DrugClass, OrderDueTestsRequest,
        testing_lab_service_client::TestingLabServiceClient,
    },
    scheduling::v1::{CloseWeekRequest, scheduling_service_client::SchedulingServiceClient},
};
use iop_runtime::wire::date;
use tonic::{
    Request,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};

use crate::BoxError;

/// Which scheduled call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// Scheduling's CloseWeek for the week that ended (weekly hours final).
    CloseWeek,
    /// Testing-lab's OrderDueTests: today's standing orders.
    OrderDueTests,
    /// Testing-lab's DrawRandom: today's random selection.
    DrawRandom,
    /// Billing's CreateClaims: claims for the charges of ended weeks.
    CreateClaims,
}

/// Where and as whom the task calls, and for which facilities.
#[derive(Args, Debug)]
pub struct Call {
    /// The service's gRPC address: `http://host:port`, or `https://…` with
    /// `--ca-file`.
    #[arg(long)]
    pub target: String,
    /// A file holding the bearer token (a mounted Secret the identity
    /// provider's token refresher keeps current); read once per run.
    #[arg(long)]
    pub token_file: PathBuf,
    /// PEM of the CA that signed the service's certificate (https targets).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate for mutual TLS.
    #[arg(long, requires = "key_file")]
    pub cert_file: Option<PathBuf>,
    /// Its key.
    #[arg(long, requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// Facility ids (repeatable), each called in turn.
    #[arg(long = "facility", required = true)]
    pub facilities: Vec<String>,
    /// The facilities' time zone, which decides "today".
    #[arg(long, default_value = "America/Los_Angeles")]
    pub time_zone: chrono_tz::Tz,
    /// The day to act for instead of today (close-week: any day of the
    /// week to close; default a week ago).
    #[arg(long)]
    pub day: Option<NaiveDate>,
    /// draw-random: probability of selection in parts per million.
    #[arg(long, default_value_t = 0)]
    pub rate_ppm: u32,
    /// draw-random: drug classes tested (repeatable), e.g. `fentanyl`.
    #[arg(long = "panel")]
    pub panel: Vec<String>,
    /// draw-random: whether the collections are observed.
    #[arg(long)]
    pub observed: bool,
}

/// Runs `task` for every facility of `call`, printing one line per facility.
pub async fn run(task: Task, call: Call) -> Result<(), BoxError> {
    let token = read_token(&call.token_file)?;
    let channel = connect(&call).await?;
    let today = chrono::Utc::now()
        .with_timezone(&call.time_zone)
        .date_naive();
    let panel = panel(&call.panel)?;
    if task == Task::DrawRandom && (call.rate_ppm == 0 || call.rate_ppm > 1_000_000) {
        return Err("draw-random needs --rate-ppm between 1 and 1000000".into());
    }
    for facility in &call.facilities {
        let facility_id = facility.clone();
        let line = match task {
            Task::CloseWeek => {
                let week_of = call.day.unwrap_or_else(|| today - Days::new(7));
                let closed = SchedulingServiceClient::new(channel.clone())
                    .close_week(authed(
                        CloseWeekRequest {
                            facility_id,
                            week_of: Some(date(week_of)),
                        },
                        &token,
                    ))
                    .await
                    .map_err(|s| refused(facility, &s))?
                    .into_inner();
                format!(
                    "week of {week_of} closed: {} patients evaluated",
                    closed.evaluated.len()
                )
            }
            Task::OrderDueTests => {
                let day = call.day.unwrap_or(today);
                let placed = TestingLabServiceClient::new(channel.clone())
                    .order_due_tests(authed(
                        OrderDueTestsRequest {
                            facility_id,
                            day: Some(date(day)),
                        },
                        &token,
                    ))
                    .await
                    .map_err(|s| refused(facility, &s))?
                    .into_inner();
                format!("{day}: {} standing orders placed", placed.orders.len())
            }
            Task::DrawRandom => {
                let day = call.day.unwrap_or(today);
                let drawn = TestingLabServiceClient::new(channel.clone())
                    .draw_random(authed(
                        DrawRandomRequest {
                            facility_id,
                            day: Some(date(day)),
                            rate_ppm: call.rate_ppm,
                            panel: panel.clone(),
                            observed: call.observed,
                        },
                        &token,
                    ))
                    .await
                    .map_err(|s| refused(facility, &s))?
                    .into_inner()
                    .draw
                    .unwrap_or_default();
                format!(
                    "{day}: {} of {} eligible selected",
                    drawn.selected.len(),
                    drawn.eligible.len()
                )
            }
            Task::CreateClaims => {
                let created = BillingServiceClient::new(channel.clone())
                    .create_claims(authed(CreateClaimsRequest { facility_id }, &token))
                    .await
                    .map_err(|s| refused(facility, &s))?
                    .into_inner();
                format!(
                    "{} claims created, {} charges past timely filing",
                    created.claims.len(),
                    created.past_timely_filing
                )
            }
        };
        // Counts only: no patient appears in a task's output.
        println!("{facility}: {line}");
    }
    Ok(())
}

/// The service's refusal for `facility`, with its gRPC code by name.
fn refused(facility: &str, status: &tonic::Status) -> BoxError {
    format!("{facility}: {:?}: {}", status.code(), status.message()).into()
}

fn read_token(path: &Path) -> Result<String, BoxError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("--token-file {} is empty", path.display()).into());
    }
    Ok(token.to_owned())
}

/// The drug classes named by `names` (`fentanyl` or `DRUG_CLASS_FENTANYL`).
fn panel(names: &[String]) -> Result<Vec<i32>, BoxError> {
    names
        .iter()
        .map(|name| {
            let upper = name.to_ascii_uppercase().replace('-', "_");
            let full = if upper.starts_with("DRUG_CLASS_") {
                upper
            } else {
                format!("DRUG_CLASS_{upper}")
            };
            DrugClass::from_str_name(&full)
                .filter(|c| *c != DrugClass::Unspecified)
                .map(|c| c as i32)
                .ok_or_else(|| format!("--panel {name}: no such drug class").into())
        })
        .collect()
}

async fn connect(call: &Call) -> Result<Channel, BoxError> {
    let read = |flag: &str, path: &Path| {
        std::fs::read(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
    };
    let mut endpoint = Channel::from_shared(call.target.clone())
        .map_err(|e| format!("--target {}: {e}", call.target))?;
    if call.target.starts_with("https://") {
        let ca = call
            .ca_file
            .as_deref()
            .ok_or("an https --target needs --ca-file")?;
        let mut tls =
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read("--ca-file", ca)?));
        if let (Some(cert), Some(key)) = (&call.cert_file, &call.key_file) {
            tls = tls.identity(Identity::from_pem(
                read("--cert-file", cert)?,
                read("--key-file", key)?,
            ));
        }
        endpoint = endpoint.tls_config(tls)?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| format!("--target {}: {e}", call.target).into())
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn panel_names_map_to_drug_classes_and_unknown_ones_are_named() {
        let names = ["fentanyl", "DRUG_CLASS_THC", "methamphetamine"].map(String::from);
        assert_eq!(
            panel(&names).unwrap(),
            vec![
                DrugClass::Fentanyl as i32,
                DrugClass::Thc as i32,
                DrugClass::Methamphetamine as i32
            ]
        );
        let err = panel(&["unspecified".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("--panel unspecified"), "{err}");
        let err = panel(&["kratom".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("--panel kratom"), "{err}");
    }
}
