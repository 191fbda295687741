use super::Membership;

/// The permission this endpoint needs.
pub const TRACKING_READ: &str = "tracking:read";

/// What the verify-program-access policy decides for a caller on an existing program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A membership in the program's workspace with role `owner` or `admin`, or
    /// with `tracking:read` among its permissions.
    Granted,
    /// A member of the program's workspace without `tracking:read`: a 403. A
    /// member already knows the workspace's programs, so nothing is hidden.
    MemberWithoutPermission,
    /// No membership in the program's workspace: answered exactly as a program
    /// that does not exist (a 404), because program ids are small sequential
    /// integers and a 403 would tell any signed-in user which ids exist.
    NotAMember,
}

/// The verify-program-access policy. Matching is exact: `Tracking:Read`,
/// `tracking:*`, `tracking:write` and `Owner` do not grant.
pub fn program_access(membership: Option<&Membership>) -> Access {
    match membership {
        None => Access::NotAMember,
        Some(m)
            if matches!(m.role.as_str(), "owner" | "admin")
                || m.permissions.iter().any(|p| p == TRACKING_READ) =>
        {
            Access::Granted
        }
        Some(_) => Access::MemberWithoutPermission,
    }
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
        use Access::*;
        let cases: &[(Option<Membership>, Access)] = &[
            (None, NotAMember),
            (Some(member("owner", &[])), Granted),
            (Some(member("admin", &[])), Granted),
            (Some(member("member", &["tracking:read"])), Granted),
            (
                Some(member("viewer", &["billing:read", "tracking:read"])),
                Granted,
            ),
            (Some(member("member", &[])), MemberWithoutPermission),
            (
                Some(member("member", &["billing:read"])),
                MemberWithoutPermission,
            ),
            (
                Some(member("member", &["tracking:write"])),
                MemberWithoutPermission,
            ),
            (
                Some(member("member", &["Tracking:Read"])),
                MemberWithoutPermission,
            ),
            (
                Some(member("member", &["tracking:*"])),
                MemberWithoutPermission,
            ),
            (
                Some(member("member", &[" tracking:read"])),
                MemberWithoutPermission,
            ),
            (Some(member("Owner", &[])), MemberWithoutPermission),
            (Some(member("ADMIN", &[])), MemberWithoutPermission),
            (Some(member("superuser", &[])), MemberWithoutPermission),
            // A membership record without a role or permissions is still a membership.
            (Some(member("", &[])), MemberWithoutPermission),
        ];
        for (membership, expected) in cases {
            assert_eq!(
                program_access(membership.as_ref()),
                *expected,
                "{membership:?}"
            );
        }
    }
}
