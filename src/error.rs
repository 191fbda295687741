//! The one error type of the endpoint and the one place that maps it to a
//! status code and the contract's error body.

use serde::Serialize;

use crate::domain::{INCLUDE_PARAMETER, IncludeError, ProgramIdError, Unreadable};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("no principal in the request context")]
    Unauthorized,
    #[error(transparent)]
    InvalidProgramId(#[from] ProgramIdError),
    #[error(transparent)]
    InvalidInclude(#[from] IncludeError),
    #[error("program not found")]
    NotFound,
    #[error("principal lacks tracking:read on the program")]
    Forbidden,
    /// The cause is logged, never returned.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored value the request needs (`include=nextSteps`) cannot be read.
    /// The cause is logged, never returned.
    #[error("a stored value cannot be read: {0}")]
    Unreadable(#[from] Unreadable),
}

impl ApiError {
    /// The one mapping: status, name and the message the caller reads (fixed texts, so
    /// nothing internal can leak).
    fn contract(&self) -> (u16, &'static str, &'static str) {
        match self {
            ApiError::InvalidProgramId(_) => (400, "ValidationError", "programId is not valid"),
            ApiError::InvalidInclude(_) => (400, "ValidationError", "include is not valid"),
            ApiError::Unauthorized => (401, "UnauthorizedError", "Authentication required"),
            ApiError::Forbidden => (
                403,
                "ForbiddenError",
                "You do not have tracking:read permission on this program",
            ),
            ApiError::NotFound => (404, "NotFoundError", "Program not found"),
            ApiError::MethodNotAllowed => {
                (405, "MethodNotAllowedError", "Method not allowed: use GET")
            }
            ApiError::Store(_) | ApiError::Unreadable(_) => {
                (500, "InternalServerError", "Internal server error")
            }
        }
    }

    pub fn status(&self) -> u16 {
        self.contract().0
    }

    /// A failure of the function rather than of the request: a 500, which
    /// `http` logs at ERROR with its cause (never returned).
    pub fn is_internal(&self) -> bool {
        self.status() >= 500
    }

    /// The contract's error body, fields in the contract's order.
    pub fn body(&self) -> ErrorBody {
        let (status, name, message) = self.contract();
        let details = match self {
            ApiError::InvalidProgramId(rule) => Details::Validation {
                field: "programId",
                rule: rule.rule(),
                message: rule.to_string(),
            },
            ApiError::InvalidInclude(rule) => Details::Validation {
                field: INCLUDE_PARAMETER,
                rule: rule.rule(),
                message: rule.to_string(),
            },
            ApiError::MethodNotAllowed => Details::Allow { allow: ["GET"] },
            _ => Details::Empty {},
        };
        ErrorBody {
            data: (),
            error: ErrorDescription {
                status,
                name,
                message,
                details,
            },
        }
    }
}

/// `{"data": null, "error": {...}}`
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    data: (),
    error: ErrorDescription,
}

#[derive(Debug, Serialize)]
struct ErrorDescription {
    status: u16,
    name: &'static str,
    message: &'static str,
    details: Details,
}

/// `details`: `{}`, or what the client can act on, fields in the order written here.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Details {
    Empty {},
    Validation {
        field: &'static str,
        rule: &'static str,
        message: String,
    },
    Allow {
        allow: [&'static str; 1],
    },
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn every_variant_has_its_status_and_name() {
        let cases = [
            (
                ApiError::InvalidProgramId(ProgramIdError::NotDigits),
                400,
                "ValidationError",
            ),
            (
                ApiError::InvalidInclude(IncludeError),
                400,
                "ValidationError",
            ),
            (ApiError::Unauthorized, 401, "UnauthorizedError"),
            (ApiError::Forbidden, 403, "ForbiddenError"),
            (ApiError::NotFound, 404, "NotFoundError"),
            (ApiError::MethodNotAllowed, 405, "MethodNotAllowedError"),
            (
                ApiError::Store(StoreError::Unavailable {
                    operation: "GetItem programs",
                    cause: "dispatch failure: connection refused to 127.0.0.1:8000".into(),
                }),
                500,
                "InternalServerError",
            ),
            (
                ApiError::Unreadable(Unreadable {
                    field: "createdAt",
                    cause: "\"soon\" is not an RFC 3339 timestamp with a time zone".into(),
                }),
                500,
                "InternalServerError",
            ),
        ];
        for (error, status, name) in cases {
            let body = serde_json::to_value(error.body()).unwrap();
            assert_eq!(body["data"], Value::Null);
            assert_eq!(body["error"]["status"], status);
            assert_eq!(body["error"]["name"], name);
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
            assert!(body["error"]["details"].is_object());
        }
    }

    #[test]
    fn body_fields_are_in_contract_order() {
        let text = serde_json::to_string(&ApiError::NotFound.body()).unwrap();
        assert_eq!(
            text,
            r#"{"data":null,"error":{"status":404,"name":"NotFoundError","message":"Program not found","details":{}}}"#
        );
    }

    #[test]
    fn validation_details_name_the_rule() {
        let body =
            serde_json::to_value(ApiError::InvalidProgramId(ProgramIdError::LeadingZero).body())
                .unwrap();
        assert_eq!(body["error"]["details"]["field"], "programId");
        assert_eq!(body["error"]["details"]["rule"], "no_leading_zero");
        // field, rule, message: the contract's order
        let text =
            serde_json::to_string(&ApiError::InvalidProgramId(ProgramIdError::LeadingZero).body())
                .unwrap();
        assert!(text.ends_with(r#""details":{"field":"programId","rule":"no_leading_zero","message":"programId must not have a leading zero"}}}"#), "{text}");
    }

    #[test]
    fn an_unknown_include_names_the_field_and_rule() {
        let text = serde_json::to_string(&ApiError::InvalidInclude(IncludeError).body()).unwrap();
        assert_eq!(
            text,
            r#"{"data":null,"error":{"status":400,"name":"ValidationError","message":"include is not valid","details":{"field":"include","rule":"unknown_value","message":"include may contain only: nextSteps (comma-separated)"}}}"#
        );
    }
}
