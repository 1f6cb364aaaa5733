//! Generated code for every IOP Network contract: gRPC services and the event
//! messages published on Kafka, plus the encoded descriptor set that servers
//! register for gRPC reflection. Nothing here is written by hand.

#![allow(
    missing_docs,
    reason = "generated code; the .proto files carry the docs"
)]
#![allow(clippy::all, clippy::pedantic, reason = "generated code")]

/// Encoded `FileDescriptorSet` of every proto, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/iop_descriptor.bin"));

pub mod iop {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("iop.common.v1");
        }
    }
    pub mod admissions {
        pub mod v1 {
            tonic::include_proto!("iop.admissions.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("iop.admissions.events.v1");
            }
        }
    }
    pub mod scheduling {
        pub mod v1 {
            tonic::include_proto!("iop.scheduling.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("iop.scheduling.events.v1");
            }
        }
    }
    pub mod clinical {
        pub mod v1 {
            tonic::include_proto!("iop.clinical.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("iop.clinical.events.v1");
            }
        }
    }
    pub mod lab {
        pub mod v1 {
            tonic::include_proto!("iop.lab.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("iop.lab.events.v1");
            }
        }
    }
    pub mod billing {
        pub mod v1 {
            tonic::include_proto!("iop.billing.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("iop.billing.events.v1");
            }
        }
    }
    pub mod patientview {
        pub mod v1 {
            tonic::include_proto!("iop.patientview.v1");
        }
    }
    pub mod analytics {
        pub mod v1 {
            tonic::include_proto!("iop.analytics.v1");
        }
        pub mod events {
            pub mod v1 {
                tonic::include_proto!("iop.analytics.events.v1");
            }
        }
    }
    pub mod ops {
        pub mod v1 {
            tonic::include_proto!("iop.ops.v1");
        }
    }
    pub mod audit {
        pub mod v1 {
            tonic::include_proto!("iop.audit.v1");
        }
    }
}

pub use iop::{
    admissions, analytics, audit, billing, clinical, common, lab, ops, patientview, scheduling,
};

/// Full gRPC service names, as registered with health and reflection.
pub mod service_names {
    /// `iop.admissions.v1.AdmissionsService`.
    pub const ADMISSIONS: &str = "iop.admissions.v1.AdmissionsService";
    /// `iop.patientview.v1.PatientViewService`.
    pub const PATIENT_VIEW: &str = "iop.patientview.v1.PatientViewService";
    /// `iop.scheduling.v1.SchedulingService`.
    pub const SCHEDULING: &str = "iop.scheduling.v1.SchedulingService";
    /// `iop.ops.v1.OperationsService`: what a process says about itself.
    pub const OPERATIONS: &str = "iop.ops.v1.OperationsService";
    /// `iop.audit.v1.AuditService`: the audit trails a process keeps.
    pub const AUDIT: &str = "iop.audit.v1.AuditService";
    /// `iop.clinical.v1.ClinicalService`.
    pub const CLINICAL: &str = "iop.clinical.v1.ClinicalService";
    /// `iop.lab.v1.TestingLabService`.
    pub const TESTING_LAB: &str = "iop.lab.v1.TestingLabService";
    /// `iop.billing.v1.BillingService`.
    pub const BILLING: &str = "iop.billing.v1.BillingService";
    /// `iop.analytics.v1.AnalyticsService`.
    pub const ANALYTICS: &str = "iop.analytics.v1.AnalyticsService";
}

/// Event types that change who may see a patient or whether they are in care:
/// a consumer never dead-letters one of these for a transient cause (its
/// partition waits, with an ERROR log per attempt, until it applies), since
/// skipping it would leave access granted or bookings in place.
pub const SECURITY_EVENTS: &[&str] = &[
    "iop.admissions.events.v1.ConsentRevoked",
    "iop.admissions.events.v1.ConsentExpired",
    "iop.admissions.events.v1.PatientDischarged",
    "iop.admissions.events.v1.PatientsMerged",
];

/// Bounded-context names: each publishes on `iop.<context>.v1` and names itself so
/// in consistency tokens.
pub mod contexts {
    /// Admissions.
    pub const ADMISSIONS: &str = "admissions";
    /// Scheduling.
    pub const SCHEDULING: &str = "scheduling";
    /// Clinical.
    pub const CLINICAL: &str = "clinical";
    /// Testing-lab.
    pub const LAB: &str = "lab";
    /// Billing.
    pub const BILLING: &str = "billing";
    /// The de-identified analytics stream.
    pub const ANALYTICS: &str = "analytics";
}

/// Topic names: one per bounded context (`iop.<context>.v1`, keyed by patient
/// id), and one dead-letter topic per consumer group (`<group>.dlq`).
pub mod topics {
    /// Admissions' events.
    pub const ADMISSIONS: &str = "iop.admissions.v1";
    /// Scheduling's events.
    pub const SCHEDULING: &str = "iop.scheduling.v1";
    /// Clinical's events.
    pub const CLINICAL: &str = "iop.clinical.v1";
    /// Testing-lab's events.
    pub const LAB: &str = "iop.lab.v1";
    /// Billing's events.
    pub const BILLING: &str = "iop.billing.v1";
    /// Dead letters of billing's consumer (`iop.billing`).
    pub const BILLING_DLQ: &str = "iop.billing.dlq";
    /// Dead letters of testing-lab's consumer (`iop.lab`).
    pub const LAB_DLQ: &str = "iop.lab.dlq";
    /// Dead letters of admissions' consumer (`iop.admissions`).
    pub const ADMISSIONS_DLQ: &str = "iop.admissions.dlq";
    /// Dead letters of clinical's consumer (`iop.clinical`).
    pub const CLINICAL_DLQ: &str = "iop.clinical.dlq";
    /// Dead letters of the patient view's consumer (`iop.patientview`).
    pub const PATIENT_VIEW_DLQ: &str = "iop.patientview.dlq";
    /// Dead letters of scheduling's consumer (`iop.scheduling`).
    pub const SCHEDULING_DLQ: &str = "iop.scheduling.dlq";
    /// The de-identified stream for analysts (the only topic they may read).
    pub const ANALYTICS: &str = "iop.analytics.v1";
    /// Dead letters of the analytics projector (`iop.analytics`).
    pub const ANALYTICS_DLQ: &str = "iop.analytics.dlq";
}

#[cfg(test)]
mod tests {
    #[test]
    fn topic_names_follow_the_context_convention() {
        for (context, topic) in [
            (super::contexts::ADMISSIONS, super::topics::ADMISSIONS),
            (super::contexts::SCHEDULING, super::topics::SCHEDULING),
            (super::contexts::CLINICAL, super::topics::CLINICAL),
            (super::contexts::LAB, super::topics::LAB),
            (super::contexts::BILLING, super::topics::BILLING),
            (super::contexts::ANALYTICS, super::topics::ANALYTICS),
        ] {
            assert_eq!(format!("iop.{context}.v1"), topic);
        }
    }
}
