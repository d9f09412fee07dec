//! Building `PolicyData`: parse the shipped TSV files (compiled in with `include_str!`), merge the
//! operator's `PolicyExtensions`, validate every entry and resolve role includes.

use std::collections::{BTreeSet, HashMap};

use super::data::{Endpoint, Grants, PolicyData, Role};
use super::error::PolicyError;
use super::extensions::{EndpointSpec, PolicyExtensions, RoleSpec};
use super::grammar::{is_permission, is_role_name, is_scope, METHODS};
use super::pattern::PathPattern;

/// The shipped data files, as text.
#[derive(Debug, Clone, Copy)]
pub struct PolicySources<'a> {
    pub endpoints_tsv: &'a str,
    pub roles_tsv: &'a str,
    pub permissions_tsv: &'a str,
}

/// The data files shipped in `crates/core/policy/`.
pub const SHIPPED: PolicySources<'static> = PolicySources {
    endpoints_tsv: include_str!("../../policy/endpoint-map.tsv"),
    roles_tsv: include_str!("../../policy/roles.tsv"),
    permissions_tsv: include_str!("../../policy/permissions.tsv"),
};

/// Deepest chain of `includes` we resolve (the reference resolves 5 levels).
pub const MAX_INCLUDE_DEPTH: usize = 5;

const WILDCARD_PERMISSION: &str = "*";

impl PolicyData {
    /// The shipped policy, without extensions.
    pub fn builtin() -> Result<Self, PolicyError> {
        Self::load(&SHIPPED, &PolicyExtensions::default())
    }

    /// The shipped policy with the operator's extensions merged in.
    pub fn with_extensions(extensions: &PolicyExtensions) -> Result<Self, PolicyError> {
        Self::load(&SHIPPED, extensions)
    }

    /// Build from any sources (tests use this to feed broken data).
    pub fn load(sources: &PolicySources<'_>, extensions: &PolicyExtensions) -> Result<Self, PolicyError> {
        let mut permissions = parse_permissions(sources.permissions_tsv)?;
        let shipped_namespaces: BTreeSet<String> = permissions
            .iter()
            .filter_map(|permission| permission.split('.').next())
            .map(str::to_string)
            .collect();

        let mut endpoints = Vec::new();
        for spec in parse_endpoints(sources.endpoints_tsv)? {
            let endpoint = compile_endpoint(&spec)?;
            require_known(&endpoint, &permissions)?;
            push_endpoint(&mut endpoints, endpoint)?;
        }
        for spec in &extensions.endpoints {
            let endpoint = compile_endpoint(spec)?;
            for permission in endpoint.permissions.iter() {
                let namespace = permission.split('.').next().unwrap_or_default();
                if shipped_namespaces.contains(namespace) {
                    require_known(&endpoint, &permissions)?;
                } else {
                    permissions.insert(permission.clone());
                }
            }
            push_endpoint(&mut endpoints, endpoint)?;
        }

        let mut specs = parse_roles(sources.roles_tsv)?;
        for extension in &extensions.roles {
            match specs.iter_mut().find(|spec| spec.name == extension.name) {
                Some(existing) => {
                    existing.includes.extend(extension.includes.iter().cloned());
                    existing.permissions.extend(extension.permissions.iter().cloned());
                }
                None => specs.push(extension.clone()),
            }
        }
        let roles = resolve_roles(&specs, &permissions)?;
        let role_positions =
            roles.iter().enumerate().map(|(index, role)| (role.name.clone(), index)).collect();
        let (routes_by_service, routes_unindexed) = super::data::route_index(&endpoints);
        let grantors = super::data::grantors(&roles, &permissions);
        Ok(PolicyData {
            roles,
            role_positions,
            permissions,
            endpoints,
            routes_by_service,
            routes_unindexed,
            grantors,
        })
    }
}

/// Non-comment, non-blank lines with their 1-based numbers, split on tabs.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(index, line)| (index + 1, line.split('\t').map(str::trim).collect()))
}

fn malformed(file: &'static str, line: usize, message: String) -> PolicyError {
    PolicyError::Malformed { file, line, message }
}

/// `-` means an empty list; otherwise comma-separated.
fn list(cell: &str) -> Vec<String> {
    if cell == "-" {
        return Vec::new();
    }
    cell.split(',').map(str::trim).filter(|item| !item.is_empty()).map(str::to_string).collect()
}

fn parse_permissions(text: &str) -> Result<BTreeSet<String>, PolicyError> {
    let mut registry = BTreeSet::new();
    for (line, cells) in rows(text) {
        let permission = cells[0];
        if cells.len() != 3 {
            return Err(malformed(
                "permissions.tsv",
                line,
                format!("expected 3 columns, found {}", cells.len()),
            ));
        }
        if !is_permission(permission) {
            return Err(PolicyError::BadPermission {
                permission: permission.to_string(),
                context: format!("permissions.tsv line {line}"),
            });
        }
        registry.insert(permission.to_string());
    }
    Ok(registry)
}

fn parse_endpoints(text: &str) -> Result<Vec<EndpointSpec>, PolicyError> {
    let mut specs = Vec::new();
    for (line, cells) in rows(text) {
        if cells.len() != 4 {
            return Err(malformed(
                "endpoint-map.tsv",
                line,
                format!("expected 4 columns, found {}", cells.len()),
            ));
        }
        specs.push(EndpointSpec {
            method: cells[0].to_string(),
            path: cells[1].to_string(),
            permissions: list(cells[2]),
            scopes: list(cells[3]),
            deny: false,
            callers: None,
        });
    }
    Ok(specs)
}

fn parse_roles(text: &str) -> Result<Vec<RoleSpec>, PolicyError> {
    let mut specs: Vec<RoleSpec> = Vec::new();
    for (line, cells) in rows(text) {
        if cells.len() != 3 {
            return Err(malformed("roles.tsv", line, format!("expected 3 columns, found {}", cells.len())));
        }
        specs.push(RoleSpec {
            name: cells[0].to_string(),
            includes: list(cells[1]),
            permissions: list(cells[2]),
        });
    }
    Ok(specs)
}

fn compile_endpoint(spec: &EndpointSpec) -> Result<Endpoint, PolicyError> {
    if !METHODS.contains(&spec.method.as_str()) {
        return Err(PolicyError::BadMethod { method: spec.method.clone(), path: spec.path.clone() });
    }
    let pattern = PathPattern::parse(&spec.path).map_err(|problem| PolicyError::BadPattern {
        pattern: spec.path.clone(),
        problem: problem.to_string(),
    })?;
    let context = || format!("endpoint `{} {}`", spec.method, spec.path);
    for permission in &spec.permissions {
        if !is_permission(permission) {
            return Err(PolicyError::BadPermission { permission: permission.clone(), context: context() });
        }
    }
    for scope in &spec.scopes {
        if !is_scope(scope) {
            return Err(PolicyError::BadScope { scope: scope.clone(), context: context() });
        }
    }
    Ok(Endpoint {
        method: spec.method.clone(),
        pattern,
        permissions: spec.permissions.as_slice().into(),
        scopes: spec.scopes.as_slice().into(),
        deny: spec.deny,
        callers: spec.callers,
    })
}

fn require_known(endpoint: &Endpoint, registry: &BTreeSet<String>) -> Result<(), PolicyError> {
    match endpoint.permissions.iter().find(|p| !registry.contains(*p)) {
        Some(unknown) => Err(PolicyError::UnknownPermission {
            permission: unknown.clone(),
            context: format!("endpoint `{} {}`", endpoint.method, endpoint.pattern.as_str()),
        }),
        None => Ok(()),
    }
}

fn push_endpoint(endpoints: &mut Vec<Endpoint>, endpoint: Endpoint) -> Result<(), PolicyError> {
    let duplicate = endpoints.iter().any(|existing| {
        existing.method == endpoint.method && existing.pattern.as_str() == endpoint.pattern.as_str()
    });
    if duplicate {
        return Err(PolicyError::DuplicateEndpoint {
            method: endpoint.method,
            path: endpoint.pattern.as_str().to_string(),
        });
    }
    endpoints.push(endpoint);
    Ok(())
}

fn resolve_roles(specs: &[RoleSpec], registry: &BTreeSet<String>) -> Result<Vec<Role>, PolicyError> {
    let mut by_name: HashMap<&str, &RoleSpec> = HashMap::new();
    for spec in specs {
        if !is_role_name(&spec.name) {
            return Err(PolicyError::BadRoleName { role: spec.name.clone() });
        }
        if by_name.insert(spec.name.as_str(), spec).is_some() {
            return Err(PolicyError::DuplicateRole { role: spec.name.clone() });
        }
        for permission in &spec.permissions {
            let context = || format!("role `{}`", spec.name);
            if permission == WILDCARD_PERMISSION {
                continue;
            }
            if !is_permission(permission) {
                return Err(PolicyError::BadPermission {
                    permission: permission.clone(),
                    context: context(),
                });
            }
            if !registry.contains(permission) {
                return Err(PolicyError::UnknownPermission {
                    permission: permission.clone(),
                    context: context(),
                });
            }
        }
        if let Some(included) = spec.includes.iter().find(|name| !specs.iter().any(|s| &s.name == *name)) {
            return Err(PolicyError::UnknownIncludedRole {
                role: spec.name.clone(),
                included: included.clone(),
            });
        }
    }
    specs
        .iter()
        .map(|spec| {
            let mut grants = Grants::Some(BTreeSet::new());
            let mut chain = vec![spec.name.as_str()];
            collect_grants(spec, &by_name, &mut chain, &mut grants)?;
            Ok(Role {
                name: spec.name.clone(),
                includes: spec.includes.clone(),
                own_permissions: spec.permissions.clone(),
                grants,
            })
        })
        .collect()
}

/// Depth-first over `includes`, with `chain` the path from the role being resolved.
fn collect_grants<'a>(
    spec: &'a RoleSpec,
    by_name: &HashMap<&str, &'a RoleSpec>,
    chain: &mut Vec<&'a str>,
    grants: &mut Grants,
) -> Result<(), PolicyError> {
    for permission in &spec.permissions {
        match grants {
            Grants::All => {}
            Grants::Some(_) if permission == WILDCARD_PERMISSION => *grants = Grants::All,
            Grants::Some(set) => {
                set.insert(permission.clone());
            }
        }
    }
    for included in &spec.includes {
        let render = |chain: &[&str]| format!("{} -> {included}", chain.join(" -> "));
        if chain.contains(&included.as_str()) {
            return Err(PolicyError::RoleCycle { role: chain[0].to_string(), chain: render(chain) });
        }
        if chain.len() > MAX_INCLUDE_DEPTH {
            return Err(PolicyError::RoleTooDeep {
                role: chain[0].to_string(),
                chain: render(chain),
                max: MAX_INCLUDE_DEPTH,
            });
        }
        // Existence was checked before resolution started.
        let Some(next) = by_name.get(included.as_str()) else { continue };
        chain.push(&next.name);
        collect_grants(next, by_name, chain, grants)?;
        chain.pop();
    }
    Ok(())
}
