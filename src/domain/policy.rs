use super::Membership;

/// The permission this endpoint needs.
pub const TRACKING_READ: &str = "tracking:read";

/// The verify-program-access policy: a membership in the program's workspace
/// with role `owner` or `admin`, or with `tracking:read` among its permissions.
/// Matching is exact: `Tracking:Read`, `tracking:*` and `tracking:write` do not grant.
pub fn can_read_tracking(membership: Option<&Membership>) -> bool {
    membership.is_some_and(|m| {
        matches!(m.role.as_str(), "owner" | "admin")
            || m.permissions.iter().any(|p| p == TRACKING_READ)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: &str, permissions: &[&str]) -> Membership {
        Membership {
            role: role.to_string(),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn decides_each_case() {
        let cases: &[(Option<Membership>, bool)] = &[
            (None, false),
            (Some(member("owner", &[])), true),
            (Some(member("admin", &[])), true),
            (Some(member("member", &["tracking:read"])), true),
            (
                Some(member("viewer", &["billing:read", "tracking:read"])),
                true,
            ),
            (Some(member("member", &[])), false),
            (Some(member("member", &["billing:read"])), false),
            (Some(member("member", &["tracking:write"])), false),
            (Some(member("member", &["Tracking:Read"])), false),
            (Some(member("member", &["tracking:*"])), false),
            (Some(member("member", &[" tracking:read"])), false),
            (Some(member("Owner", &[])), false),
            (Some(member("ADMIN", &[])), false),
            (Some(member("superuser", &[])), false),
            (Some(member("", &[])), false),
        ];
        for (membership, expected) in cases {
            assert_eq!(
                can_read_tracking(membership.as_ref()),
                *expected,
                "{membership:?}"
            );
        }
    }
}
