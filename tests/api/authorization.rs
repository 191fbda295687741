//! Object-level authorization (OWASP API1), table-driven against DynamoDB Local:
//! every combination of membership, role and permission that matters, on a
//! program of the caller's workspace, of another workspace, and no program.
//! A caller with no membership in the program's workspace gets the missing
//! program's 404, byte for byte; a member without tracking:read gets 403.

use crate::common;

use common::{read, request_as, seeded_store};
use serde_json::{Value, json};
use tracking_status::http::handle;

/// Program 100 belongs to workspace ws_a, program 200 to ws_b; 300 does not exist.
/// Each user has at most one membership, described by (workspace, role, permissions).
/// (workspace, role, permissions)
type Membership = (&'static str, &'static str, &'static [&'static str]);

const USERS: &[(&str, Option<Membership>)] = &[
    ("no_membership", None),
    ("owner_of_b", Some(("ws_b", "owner", &[]))),
    ("admin_of_b", Some(("ws_b", "admin", &["tracking:read"]))),
    ("reader_of_b", Some(("ws_b", "member", &["tracking:read"]))),
    ("owner", Some(("ws_a", "owner", &[]))),
    ("admin", Some(("ws_a", "admin", &[]))),
    (
        "member_reader",
        Some(("ws_a", "member", &["tracking:read"])),
    ),
    ("member", Some(("ws_a", "member", &[]))),
    (
        "member_billing",
        Some(("ws_a", "member", &["billing:read"])),
    ),
    (
        "viewer_reader",
        Some(("ws_a", "viewer", &["tracking:read"])),
    ),
    ("viewer", Some(("ws_a", "viewer", &[]))),
    (
        "unknown_role_reader",
        Some(("ws_a", "superuser", &["tracking:read"])),
    ),
    ("unknown_role", Some(("ws_a", "superuser", &[]))),
    ("empty_role", Some(("ws_a", "", &[]))),
    ("owner_uppercase", Some(("ws_a", "Owner", &[]))),
    ("admin_uppercase", Some(("ws_a", "ADMIN", &[]))),
    (
        "tracking_write",
        Some(("ws_a", "member", &["tracking:write"])),
    ),
    (
        "tracking_read_capitalized",
        Some(("ws_a", "member", &["Tracking:Read"])),
    ),
    (
        "tracking_wildcard",
        Some(("ws_a", "member", &["tracking:*"])),
    ),
    ("wildcard", Some(("ws_a", "member", &["*"]))),
    (
        "tracking_read_padded",
        Some(("ws_a", "member", &[" tracking:read "])),
    ),
    (
        "tracking_read_prefix",
        Some(("ws_a", "member", &["tracking:readonly"])),
    ),
    (
        "reader_among_others",
        Some((
            "ws_a",
            "viewer",
            &["billing:read", "tracking:read", "links:write"],
        )),
    ),
];

/// The status the contract gives `user` on `program`.
fn expected(user: &str, program: u64) -> u16 {
    let workspace = match program {
        100 => "ws_a",
        200 => "ws_b",
        _ => return 404,
    };
    let is_member = USERS
        .iter()
        .any(|(name, membership)| *name == user && membership.is_some_and(|m| m.0 == workspace));
    if !is_member {
        return 404;
    }
    let grants_on_a = [
        "owner",
        "admin",
        "member_reader",
        "viewer_reader",
        "unknown_role_reader",
        "reader_among_others",
    ];
    let grants_on_b = ["owner_of_b", "admin_of_b", "reader_of_b"];
    let granted = match program {
        100 => grants_on_a.contains(&user),
        200 => grants_on_b.contains(&user),
        _ => unreachable!(),
    };
    if granted { 200 } else { 403 }
}

fn fixture() -> String {
    let memberships: Vec<Value> = USERS
        .iter()
        .filter_map(|(user, membership)| {
            membership.map(|(workspace, role, permissions)| {
                json!({"workspaceId": workspace, "userId": user, "role": role, "permissions": permissions})
            })
        })
        .collect();
    json!({
        "programs": [
            {"id": 100, "workspaceId": "ws_a", "advertiserId": "adv_a", "name": "A"},
            {"id": 200, "workspaceId": "ws_b", "advertiserId": "adv_b", "name": "B"}
        ],
        "advertisers": [
            {"id": "adv_a", "stripeConnectionStatus": "connected", "stripeAccountId": "acct_A"},
            {"id": "adv_b", "stripeConnectionStatus": "connected", "stripeAccountId": "acct_B"}
        ],
        "memberships": memberships,
        "events": [
            {"id": 1, "programId": 100, "type": "click", "test": true, "timestamp": "2026-06-07T10:00:00Z", "createdAt": "2026-06-07T10:00:00Z"},
            {"id": 2, "programId": 200, "type": "lead", "test": true, "timestamp": "2026-06-07T10:00:00Z", "createdAt": "2026-06-07T10:00:00Z"}
        ]
    })
    .to_string()
}

/// The whole response as a client sees it: status, headers and body bytes.
fn raw(response: lambda_http::Response<lambda_http::Body>) -> (u16, String, Vec<u8>) {
    let headers = format!("{:?}", response.headers());
    (
        response.status().as_u16(),
        headers,
        response.body().to_vec(),
    )
}

#[tokio::test]
async fn every_combination_gets_its_contract_status_and_no_foreign_data() {
    let store = seeded_store(&fixture()).await;
    for (user, _) in USERS {
        for program in [100u64, 200, 300] {
            let (status, body) =
                read(handle(&store, request_as(Some(user), &program.to_string())).await);
            let want = expected(user, program);
            assert_eq!(status, want, "{user} on program {program}: {body}");
            let text = body.to_string();
            if status == 200 {
                // the caller's own program, and nothing of the other one
                assert_eq!(body["data"]["programId"], program.to_string());
                let (own, foreign) = if program == 100 {
                    ("acct_A", "acct_B")
                } else {
                    ("acct_B", "acct_A")
                };
                assert!(
                    text.contains(own) && !text.contains(foreign),
                    "{user}: {text}"
                );
            } else {
                assert_eq!(body["data"], Value::Null);
                assert!(
                    !text.contains("acct_") && !text.contains("testEventCount"),
                    "{user}: {text}"
                );
            }
        }
    }
}

/// No existence oracle: for every caller, a program of a workspace they are not
/// a member of answers exactly what a program that does not exist answers.
#[tokio::test]
async fn a_non_member_gets_the_missing_programs_response_byte_for_byte() {
    let store = seeded_store(&fixture()).await;
    for (user, membership) in USERS {
        let missing = raw(handle(&store, request_as(Some(user), "300")).await);
        assert_eq!(missing.0, 404, "{user}");
        for (program, workspace) in [(100u64, "ws_a"), (200, "ws_b")] {
            if membership.is_some_and(|m| m.0 == workspace) {
                continue;
            }
            let hidden = raw(handle(&store, request_as(Some(user), &program.to_string())).await);
            assert_eq!(hidden, missing, "{user} on program {program}");
        }
    }
}

#[tokio::test]
async fn no_principal_is_refused_before_anything_else() {
    let store = seeded_store(&fixture()).await;
    for program in ["100", "200", "300", "abc"] {
        let (status, _) = read(handle(&store, request_as(None, program)).await);
        assert_eq!(status, 401, "{program}");
    }
}
