//! The operations of the bridge, named once for logs, metrics and the audit trail.

/// One SCIM operation (or a change the bridge makes on its own behalf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `POST /Users`.
    CreateUser,
    /// `GET /Users/{id}`.
    GetUser,
    /// `GET /Users`, `POST /Users/.search`.
    ListUsers,
    /// `PUT /Users/{id}`.
    ReplaceUser,
    /// `PATCH /Users/{id}`.
    PatchUser,
    /// `DELETE /Users/{id}`.
    DeleteUser,
    /// `POST /Groups`.
    CreateGroup,
    /// `GET /Groups/{id}`.
    GetGroup,
    /// `GET /Groups`, `POST /Groups/.search`.
    ListGroups,
    /// `PUT /Groups/{id}`.
    ReplaceGroup,
    /// `PATCH /Groups/{id}`.
    PatchGroup,
    /// `DELETE /Groups/{id}`.
    DeleteGroup,
    /// A user's site role given again after a change to a role-granting group (`group_roles`).
    GroupRole,
    /// An identity move: a userName change carried out as a new Tableau user (each step
    /// audited under this name).
    MoveUser,
    /// A repair of drift found by reconciliation (`tableau-scim reconcile --apply`).
    Reconcile,
}

impl Operation {
    /// Whether the operation reads no cache before it takes its key lock. Taking the lock
    /// brings in the other replicas' changes ([`crate::bridge::replicas::Replicas::lock`]), so
    /// reading the change feed before it as well would be the same read twice. Keep it true
    /// only while `create_user` and `create_group` check and plan from the request alone.
    pub fn locks_before_reading(self) -> bool {
        matches!(self, Operation::CreateUser | Operation::CreateGroup)
    }

    /// The name in logs (`scim.op`) and in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateUser => "create_user",
            Operation::GetUser => "get_user",
            Operation::ListUsers => "list_users",
            Operation::ReplaceUser => "replace_user",
            Operation::PatchUser => "patch_user",
            Operation::DeleteUser => "delete_user",
            Operation::CreateGroup => "create_group",
            Operation::GetGroup => "get_group",
            Operation::ListGroups => "list_groups",
            Operation::ReplaceGroup => "replace_group",
            Operation::PatchGroup => "patch_group",
            Operation::DeleteGroup => "delete_group",
            Operation::GroupRole => "group_role",
            Operation::MoveUser => "move_user",
            Operation::Reconcile => "reconcile",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
