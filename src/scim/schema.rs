//! Attribute metadata, loaded once from the JSON files in `scim-schemas/`.
//!
//! These files are the single source of truth for `caseExact`, `mutability`, `returned`,
//! `multiValued`, `type` and `canonicalValues`: the filter validator, the PATCH engine, input
//! normalisation and `attributes`/`excludedAttributes` all ask this module.

use serde::Deserialize;
use serde_json::Value;
use std::sync::OnceLock;

use crate::scim::urn;

/// An attribute's data type (RFC 7643 section 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AttrType {
    /// A JSON string.
    String,
    /// A JSON boolean.
    Boolean,
    /// A JSON number with a fractional part allowed.
    Decimal,
    /// A JSON integer.
    Integer,
    /// An xsd:dateTime string, compared chronologically.
    DateTime,
    /// A URI string.
    Reference,
    /// Base64 data in a string.
    Binary,
    /// An object of sub-attributes.
    Complex,
}

/// When and how an attribute may be changed (RFC 7643 section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Mutability {
    /// Set by the server only.
    ReadOnly,
    /// Updatable by the client.
    ReadWrite,
    /// Settable once, never changed.
    Immutable,
    /// Accepted on input, never returned.
    WriteOnly,
}

/// When an attribute is returned (RFC 7643 section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Returned {
    /// Always returned, whatever `attributes`/`excludedAttributes` say.
    Always,
    /// Never returned.
    Never,
    /// Returned unless excluded or another selection is requested.
    Default,
    /// Returned only when named in `attributes`.
    Request,
}

/// How unique a value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Uniqueness {
    /// No uniqueness.
    #[default]
    None,
    /// Unique within the service provider (for us: within a tenant).
    Server,
    /// Globally unique.
    Global,
}

/// One attribute definition from a schema file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    /// Attribute name, in its canonical case.
    pub name: String,
    /// Data type.
    #[serde(rename = "type")]
    pub kind: AttrType,
    /// Whether the attribute holds an array of values.
    pub multi_valued: bool,
    /// Whether a resource must carry it.
    #[serde(default)]
    pub required: bool,
    /// Whether string comparison is case-sensitive.
    #[serde(default)]
    pub case_exact: bool,
    /// Mutability.
    pub mutability: Mutability,
    /// Returned rule.
    pub returned: Returned,
    /// Uniqueness rule.
    #[serde(default)]
    pub uniqueness: Uniqueness,
    /// Advertised canonical values (not enforced here: the bridge maps roles).
    #[serde(default)]
    pub canonical_values: Vec<String>,
    /// Sub-attributes of a complex attribute.
    #[serde(default)]
    pub sub_attributes: Vec<Attribute>,
}

impl Attribute {
    /// The sub-attribute named `name`, compared case-insensitively.
    pub fn sub(&self, name: &str) -> Option<&Attribute> {
        self.sub_attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// Whether a client-sent value of this attribute is kept: not readOnly (server-set) and
    /// not writeOnly (never returned, so never stored).
    pub fn is_stored(&self) -> bool {
        matches!(
            self.mutability,
            Mutability::ReadWrite | Mutability::Immutable
        )
    }
}

/// One schema (`/Schemas/{urn}`).
#[derive(Debug, Clone, Deserialize)]
pub struct Schema {
    /// The schema URN.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Top-level attributes.
    pub attributes: Vec<Attribute>,
}

impl Schema {
    /// The attribute named `name`, compared case-insensitively.
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// The resource types this server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// Every resource kind, in the order a root `/.search` lists them.
    pub const ALL: [ResourceKind; 2] = [ResourceKind::User, ResourceKind::Group];

    /// The resource type name (`meta.resourceType`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    /// The endpoint path segment (`Users`, `Groups`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The core schema URN.
    pub fn core_schema(self) -> &'static str {
        match self {
            ResourceKind::User => urn::USER,
            ResourceKind::Group => urn::GROUP,
        }
    }
}

/// Where an attribute lives in a resource's JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location<'a> {
    /// A top-level key (core schema or common attribute).
    TopLevel,
    /// A key inside the object keyed by this extension URN.
    Extension(&'a str),
}

/// A resolved attribute: its definition and where it sits in the JSON.
#[derive(Debug, Clone, Copy)]
pub struct AttrRef<'a> {
    /// The attribute definition.
    pub attr: &'a Attribute,
    /// Where it lives.
    pub location: Location<'a>,
}

/// The schemas of one resource type: core, served extensions, input-only extensions and the
/// common attributes (`id`, `externalId`, `meta`).
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema<'a> {
    /// Which resource type.
    pub kind: ResourceKind,
    /// The core schema.
    pub core: &'a Schema,
    /// Extensions advertised in the ResourceType.
    pub extensions: &'a [Schema],
    /// Extensions accepted on input only (Tableau's own SCIM extension).
    pub input_extensions: &'a [Schema],
    /// Common attributes.
    pub common: &'a [Attribute],
}

impl<'a> ResourceSchema<'a> {
    /// Every extension schema this resource type knows, served or input-only.
    pub fn all_extensions(&self) -> impl Iterator<Item = &'a Schema> {
        self.extensions.iter().chain(self.input_extensions.iter())
    }

    /// The extension whose URN is `urn` (case-insensitive). Tableau's documentation also writes
    /// its extension without the `:User` suffix; both spellings resolve to the same schema.
    pub fn extension(&self, urn: &str) -> Option<&'a Schema> {
        let wanted = if urn.eq_ignore_ascii_case(urn::TABLEAU_30) {
            urn::TABLEAU_30_USER
        } else {
            urn
        };
        self.all_extensions()
            .find(|s| s.id.eq_ignore_ascii_case(wanted))
    }

    /// Whether `urn` names this resource type's core schema.
    pub fn is_core(&self, urn: &str) -> bool {
        self.core.id.eq_ignore_ascii_case(urn)
    }

    /// Resolve a top-level attribute name, optionally qualified by a schema URN.
    ///
    /// An unqualified name is looked up among the common and core attributes first, then in the
    /// extensions (IdPs sometimes omit the URN of an extension attribute).
    pub fn resolve(&self, urn: Option<&str>, name: &str) -> Option<AttrRef<'a>> {
        let top = |attr| AttrRef {
            attr,
            location: Location::TopLevel,
        };
        match urn {
            Some(u) if self.is_core(u) => self
                .common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .or_else(|| self.core.attr(name))
                .map(top),
            Some(u) => {
                let ext = self.extension(u)?;
                ext.attr(name).map(|attr| AttrRef {
                    attr,
                    location: Location::Extension(&ext.id),
                })
            }
            None => self
                .common
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case(name))
                .or_else(|| self.core.attr(name))
                .map(top)
                .or_else(|| {
                    self.all_extensions().find_map(|ext| {
                        ext.attr(name).map(|attr| AttrRef {
                            attr,
                            location: Location::Extension(&ext.id),
                        })
                    })
                }),
        }
    }
}

/// A resource type as served under `/ResourceTypes`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceTypeDoc {
    id: String,
    schema: String,
}

/// Every schema and resource type this server knows, loaded once.
#[derive(Debug)]
pub struct SchemaRegistry {
    user: Schema,
    group: Schema,
    user_extensions: Vec<Schema>,
    user_input_extensions: Vec<Schema>,
    common: Vec<Attribute>,
    served_schemas: Vec<Value>,
    resource_types: Vec<Value>,
    service_provider_config: Value,
}

#[derive(Deserialize)]
struct CommonDoc {
    attributes: Vec<Attribute>,
}

const USER_JSON: &str = include_str!("../../scim-schemas/User.json");
const GROUP_JSON: &str = include_str!("../../scim-schemas/Group.json");
const ENTERPRISE_JSON: &str = include_str!("../../scim-schemas/EnterpriseUser.json");
const TABLEAU_SCIM_JSON: &str = include_str!("../../scim-schemas/TableauScimUser.json");
const TABLEAU_30_JSON: &str = include_str!("../../scim-schemas/TableauUser30.json");
const COMMON_JSON: &str = include_str!("../../scim-schemas/common.json");
const SPC_SCHEMA_JSON: &str = include_str!("../../scim-schemas/ServiceProviderConfigSchema.json");
const RT_SCHEMA_JSON: &str = include_str!("../../scim-schemas/ResourceTypeSchema.json");
const SCHEMA_SCHEMA_JSON: &str = include_str!("../../scim-schemas/SchemaSchema.json");
const RESOURCE_TYPES_JSON: &str = include_str!("../../scim-schemas/ResourceTypes.json");
const SPC_JSON: &str = include_str!("../../scim-schemas/ServiceProviderConfig.json");

/// A core schema as `/Schemas` serves it: with `externalId`, which the server stores and
/// returns (RFC 7643 section 3.1 defines it outside every schema, and clients such as
/// Microsoft's validation look for it in the served one). `userName` is `readWrite`: a change
/// is an identity move (the bridge's `users/moves.rs`), or, where a tenant sets
/// `rename = "refuse"`, a 400 `mutability` that says why.
fn advertised(mut doc: Value, common: &Value, kind: ResourceKind) -> Result<Value, String> {
    let external_id = common["attributes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "externalId"))
        .cloned()
        .ok_or("common.json: no externalId")?;
    let attributes = doc["attributes"]
        .as_array_mut()
        .ok_or_else(|| format!("{}: no attributes", kind.name()))?;
    attributes.insert(0, external_id);
    Ok(doc)
}

impl SchemaRegistry {
    /// The registry built from the schema files compiled into the binary.
    ///
    /// The files are checked by the test suite, so a failure here is a build defect; it is
    /// reported with the file at fault rather than hidden. `http::start_with` loads the registry
    /// before the first request, so a defective build fails at start, never mid-request.
    #[expect(
        clippy::panic,
        reason = "the schemas are compiled in and parsed by a unit test: only a defective build fails here"
    )]
    pub fn builtin() -> &'static SchemaRegistry {
        static REGISTRY: OnceLock<SchemaRegistry> = OnceLock::new();
        REGISTRY.get_or_init(|| match Self::load() {
            Ok(r) => r,
            Err(e) => panic!("scim-schemas/ is inconsistent: {e}"),
        })
    }

    fn load() -> Result<SchemaRegistry, String> {
        fn schema(name: &str, text: &str) -> Result<(Schema, Value), String> {
            let value: Value = serde_json::from_str(text).map_err(|e| format!("{name}: {e}"))?;
            let typed: Schema =
                serde_json::from_value(value.clone()).map_err(|e| format!("{name}: {e}"))?;
            Ok((typed, value))
        }
        let (user, user_v) = schema("User.json", USER_JSON)?;
        let (group, group_v) = schema("Group.json", GROUP_JSON)?;
        let (ent, ent_v) = schema("EnterpriseUser.json", ENTERPRISE_JSON)?;
        let (tsc, tsc_v) = schema("TableauScimUser.json", TABLEAU_SCIM_JSON)?;
        let (t30, _) = schema("TableauUser30.json", TABLEAU_30_JSON)?;
        let (_, spc_v) = schema("ServiceProviderConfigSchema.json", SPC_SCHEMA_JSON)?;
        let (_, rt_v) = schema("ResourceTypeSchema.json", RT_SCHEMA_JSON)?;
        let (_, sch_v) = schema("SchemaSchema.json", SCHEMA_SCHEMA_JSON)?;
        let common: CommonDoc =
            serde_json::from_str(COMMON_JSON).map_err(|e| format!("common.json: {e}"))?;
        let common_v: Value =
            serde_json::from_str(COMMON_JSON).map_err(|e| format!("common.json: {e}"))?;
        let user_v = advertised(user_v, &common_v, ResourceKind::User)?;
        let group_v = advertised(group_v, &common_v, ResourceKind::Group)?;
        let resource_types: Vec<Value> = serde_json::from_str(RESOURCE_TYPES_JSON)
            .map_err(|e| format!("ResourceTypes.json: {e}"))?;
        for rt in &resource_types {
            let doc: ResourceTypeDoc = serde_json::from_value(rt.clone())
                .map_err(|e| format!("ResourceTypes.json: {e}"))?;
            if doc.schema != user.id && doc.schema != group.id {
                return Err(format!(
                    "ResourceTypes.json: {} names unknown schema {}",
                    doc.id, doc.schema
                ));
            }
        }
        let service_provider_config: Value = serde_json::from_str(SPC_JSON)
            .map_err(|e| format!("ServiceProviderConfig.json: {e}"))?;
        Ok(SchemaRegistry {
            user,
            group,
            user_extensions: vec![ent, tsc],
            user_input_extensions: vec![t30],
            common: common.attributes,
            served_schemas: vec![user_v, ent_v, tsc_v, group_v, spc_v, rt_v, sch_v],
            resource_types,
            service_provider_config,
        })
    }

    /// The schemas of one resource type.
    pub fn resource(&self, kind: ResourceKind) -> ResourceSchema<'_> {
        match kind {
            ResourceKind::User => ResourceSchema {
                kind,
                core: &self.user,
                extensions: &self.user_extensions,
                input_extensions: &self.user_input_extensions,
                common: &self.common,
            },
            ResourceKind::Group => ResourceSchema {
                kind,
                core: &self.group,
                extensions: &[],
                input_extensions: &[],
                common: &self.common,
            },
        }
    }

    /// The schema documents served under `/Schemas`, without `meta`.
    pub fn served_schemas(&self) -> &[Value] {
        &self.served_schemas
    }

    /// The resource type documents served under `/ResourceTypes`, without `meta`.
    pub fn resource_types(&self) -> &[Value] {
        &self.resource_types
    }

    /// The ServiceProviderConfig document, without `meta` and with the default page size.
    pub fn service_provider_config(&self) -> &Value {
        &self.service_provider_config
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
