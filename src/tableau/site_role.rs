//! Tableau site roles: exact strings, privilege order, legacy names, and which we may set.

use std::fmt;
use std::str::FromStr;

/// A Tableau site role (tableau-rest.md section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SiteRole {
    /// Server administrator (Tableau Server only); never set by us.
    ServerAdministrator,
    /// Site administrator with a Creator license.
    SiteAdministratorCreator,
    /// Site administrator with an Explorer license.
    SiteAdministratorExplorer,
    /// Creator license.
    Creator,
    /// Explorer license, may publish.
    ExplorerCanPublish,
    /// Explorer license.
    Explorer,
    /// Viewer license.
    Viewer,
    /// Tableau Cloud support user; never set by us.
    SupportUser,
    /// Guest (Tableau Server core licensing); never set by us.
    Guest,
    /// Read-only administrator (legacy); never set by us.
    ReadOnly,
    /// No license: the user exists but cannot sign in.
    Unlicensed,
}

/// A string that is not a site role Tableau knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a Tableau site role")]
pub struct UnknownSiteRole(pub String);

impl SiteRole {
    /// The roles an IdP may ask for, most privileged first ([ENTRA] "Valid Tableau site role
    /// values" in tableau-rest.md section 4.1).
    pub const ASSIGNABLE: [SiteRole; 7] = [
        SiteRole::SiteAdministratorCreator,
        SiteRole::SiteAdministratorExplorer,
        SiteRole::Creator,
        SiteRole::ExplorerCanPublish,
        SiteRole::Explorer,
        SiteRole::Viewer,
        SiteRole::Unlicensed,
    ];

    /// Tableau's exact string.
    pub fn as_str(self) -> &'static str {
        match self {
            SiteRole::ServerAdministrator => "ServerAdministrator",
            SiteRole::SiteAdministratorCreator => "SiteAdministratorCreator",
            SiteRole::SiteAdministratorExplorer => "SiteAdministratorExplorer",
            SiteRole::Creator => "Creator",
            SiteRole::ExplorerCanPublish => "ExplorerCanPublish",
            SiteRole::Explorer => "Explorer",
            SiteRole::Viewer => "Viewer",
            SiteRole::SupportUser => "SupportUser",
            SiteRole::Guest => "Guest",
            SiteRole::ReadOnly => "ReadOnly",
            SiteRole::Unlicensed => "Unlicensed",
        }
    }

    /// Privilege rank, higher is more privileged, in the order ServerAdministrator,
    /// SiteAdministratorCreator, SiteAdministratorExplorer, Creator, ExplorerCanPublish,
    /// Explorer, Viewer, Unlicensed (tableau-rest.md section 4.2, from the Migration SDK's
    /// decomposition). Guest, SupportUser and ReadOnly carry a Viewer-level license.
    pub fn privilege(self) -> u8 {
        match self {
            SiteRole::ServerAdministrator => 8,
            SiteRole::SiteAdministratorCreator => 7,
            SiteRole::SiteAdministratorExplorer => 6,
            SiteRole::Creator => 5,
            SiteRole::ExplorerCanPublish => 4,
            SiteRole::Explorer => 3,
            SiteRole::Viewer | SiteRole::SupportUser | SiteRole::Guest | SiteRole::ReadOnly => 2,
            SiteRole::Unlicensed => 1,
        }
    }

    /// Whether a user of this role can be given every kind of content: the publishing roles.
    /// The strictest row of Tableau's "Manage Content Ownership" table decides (top-level
    /// projects: "Server administrator, Site administrator, Creator, Explorer (can
    /// publish)"); for workbooks and data sources its Cloud and Server pages disagree about
    /// Viewers, and Tableau's migration SDK takes it that Viewers "can't be owners"
    /// (`ViewerOwnerTransformer.cs`). An Unlicensed user cannot publish.
    pub fn can_own_content(self) -> bool {
        matches!(
            self,
            SiteRole::ServerAdministrator
                | SiteRole::SiteAdministratorCreator
                | SiteRole::SiteAdministratorExplorer
                | SiteRole::Creator
                | SiteRole::ExplorerCanPublish
        )
    }

    /// The license tier the role consumes, for capacity checks.
    pub fn tier(self) -> Option<LicenseTier> {
        match self {
            SiteRole::ServerAdministrator
            | SiteRole::SiteAdministratorCreator
            | SiteRole::Creator => Some(LicenseTier::Creator),
            SiteRole::SiteAdministratorExplorer
            | SiteRole::ExplorerCanPublish
            | SiteRole::Explorer => Some(LicenseTier::Explorer),
            SiteRole::Viewer | SiteRole::SupportUser | SiteRole::Guest | SiteRole::ReadOnly => {
                Some(LicenseTier::Viewer)
            }
            SiteRole::Unlicensed => None,
        }
    }

    /// Whether we may set this role through the REST API. ServerAdministrator, SupportUser,
    /// Guest and ReadOnly are read and round-tripped, never written.
    pub fn is_assignable(self) -> bool {
        Self::ASSIGNABLE.contains(&self)
    }

    /// The most privileged of `roles`.
    pub fn most_privileged(roles: impl IntoIterator<Item = SiteRole>) -> Option<SiteRole> {
        roles.into_iter().max_by_key(|r| r.privilege())
    }
}

impl FromStr for SiteRole {
    type Err = UnknownSiteRole;

    /// Tableau's strings, exactly (Tableau compares them case-sensitively), plus the pre-3.0
    /// names read as their modern equivalents per "Updated Site Roles in REST API 3.0":
    /// Interactor -> Explorer, Publisher -> ExplorerCanPublish, SiteAdministrator ->
    /// SiteAdministratorExplorer.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "ServerAdministrator" => SiteRole::ServerAdministrator,
            "SiteAdministratorCreator" => SiteRole::SiteAdministratorCreator,
            "SiteAdministratorExplorer" | "SiteAdministrator" => {
                SiteRole::SiteAdministratorExplorer
            }
            "Creator" => SiteRole::Creator,
            "ExplorerCanPublish" | "Publisher" => SiteRole::ExplorerCanPublish,
            "Explorer" | "Interactor" => SiteRole::Explorer,
            "Viewer" => SiteRole::Viewer,
            "SupportUser" => SiteRole::SupportUser,
            "Guest" => SiteRole::Guest,
            "ReadOnly" => SiteRole::ReadOnly,
            "Unlicensed" => SiteRole::Unlicensed,
            other => return Err(UnknownSiteRole(other.to_string())),
        })
    }
}

impl fmt::Display for SiteRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A license tier with its own capacity (`tierCreatorCapacity` and siblings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenseTier {
    /// Creator seats.
    Creator,
    /// Explorer seats.
    Explorer,
    /// Viewer seats.
    Viewer,
}

impl LicenseTier {
    /// The tier's name as Tableau's capacity attributes spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseTier::Creator => "Creator",
            LicenseTier::Explorer => "Explorer",
            LicenseTier::Viewer => "Viewer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_strings_round_trip_and_legacy_names_read_as_modern() {
        for r in SiteRole::ASSIGNABLE {
            assert_eq!(r.as_str().parse::<SiteRole>(), Ok(r));
        }
        assert_eq!("Interactor".parse(), Ok(SiteRole::Explorer));
        assert_eq!("Publisher".parse(), Ok(SiteRole::ExplorerCanPublish));
        assert_eq!(
            "SiteAdministrator".parse(),
            Ok(SiteRole::SiteAdministratorExplorer)
        );
        assert!(
            "creator".parse::<SiteRole>().is_err(),
            "Tableau's strings are exact"
        );
        assert!("UnlicensedWithPublish".parse::<SiteRole>().is_err());
    }

    #[test]
    fn privilege_order_and_assignability() {
        let order = [
            SiteRole::ServerAdministrator,
            SiteRole::SiteAdministratorCreator,
            SiteRole::SiteAdministratorExplorer,
            SiteRole::Creator,
            SiteRole::ExplorerCanPublish,
            SiteRole::Explorer,
            SiteRole::Viewer,
            SiteRole::Unlicensed,
        ];
        for w in order.windows(2) {
            assert!(
                w[0].privilege() > w[1].privilege(),
                "{:?} > {:?}",
                w[0],
                w[1]
            );
        }
        assert_eq!(
            SiteRole::most_privileged([SiteRole::Viewer, SiteRole::Creator, SiteRole::Explorer]),
            Some(SiteRole::Creator)
        );
        for never in [
            SiteRole::ServerAdministrator,
            SiteRole::SupportUser,
            SiteRole::Guest,
            SiteRole::ReadOnly,
        ] {
            assert!(!never.is_assignable());
        }
    }
}
