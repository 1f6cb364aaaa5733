//! The facility registry over gRPC: what each facility of the network is called,
//! where it is, its time zone, and the programs it offers with their capacity.
//! Each change publishes the facility's full description (`FacilityRecorded`,
//! keyed by facility id) so other contexts keep their own copy.

use chrono::Utc;
use iop_messaging::work::{Actor, Stream};
use iop_proto::admissions::v1::{
    ListFacilitiesRequest, ListFacilitiesResponse, PutFacilityRequest, PutFacilityResponse,
};
use iop_runtime::grpc::Call;

use super::{AdmissionsApi, convert};
use crate::{error::AdmissionsError, events, facility, store::facilities};

impl AdmissionsApi {
    /// Registers or replaces a facility. A program dropped from the list takes
    /// no new admissions; a capacity below the census stops admissions until
    /// patients leave. Neither touches active episodes.
    pub(super) async fn put_facility(
        &self,
        call: &Call,
        req: PutFacilityRequest,
    ) -> Result<PutFacilityResponse, AdmissionsError> {
        let f = facility::facility(req.facility.as_ref())?;
        // An admin changes the facilities they act for; network admins act for all.
        call.caller.require_facility(&f.facility_id)?;
        let mut work = self
            .ledger
            .command(Actor::of(call, "admissions.PutFacility"))
            .await?;
        let stream = Stream {
            aggregate: "facility",
            id: &f.facility_id,
        };
        let version = work.lock(stream).await? + 1;
        facilities::put(work.txn(), &f).await?;
        work.emit(stream, &events::facility_recorded(&f, version, Utc::now()))
            .await?;
        work.audit(None, Some(&f.facility_id));
        work.commit().await?;
        let stored = facilities::registered(self.ledger.conn(), Some(&f.facility_id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| AdmissionsError::NotFound {
                what: "facility",
                id: f.facility_id.clone(),
            })?;
        Ok(PutFacilityResponse {
            facility: Some(convert::facility_message(stored)),
        })
    }

    pub(super) async fn list_facilities(
        &self,
        _call: &Call,
        _req: ListFacilitiesRequest,
    ) -> Result<ListFacilitiesResponse, AdmissionsError> {
        Ok(ListFacilitiesResponse {
            facilities: facilities::registered(self.ledger.conn(), None)
                .await?
                .into_iter()
                .map(convert::facility_message)
                .collect(),
        })
    }
}
