# The nmp authorization policy: entrypoints `allow`, `has_permissions` and `has_role`
# (input shapes as the reference PDP endpoint, docs/reference-behaviour.md#the-pdp-endpoint).
# Helpers live in common.rego.
#
# allow: allowed when no explicit deny applies and any allow rule does
# (docs/reference-behaviour.md#how-the-policy-decides).
package authz

import rego.v1

# ---------------------------------------------------------------- entrypoints

allow := {"allowed": allowed, "headers": {"X-NMP-Authorized": authorized_header}}

has_permissions := {"allowed": permissions_held}

has_role := {"has_role": role_held}

default allowed := false

# 9. Health paths, for everyone, whatever else the data says.
allowed if is_health

allowed if {
	not denied
	allow_rule
}

authorized_header := "true" if allowed

else := "false"

# ---------------------------------------------------------------- allow rules

# 1. PlatformAdmin bound in `system`: no workspace check, no scope check.
allow_rule if {
	authenticated
	is_platform_admin
}

# 2. A service principal on a path no endpoint describes.
allow_rule if {
	authenticated
	is_service
	not has_route
}

# 6 and 8. Endpoints that need no permission, only an authenticated caller.
allow_rule if {
	authenticated
	scope_ok
	count(route.permissions) == 0
}

# 3. The permissions are held in the workspace the path names.
allow_rule if {
	authenticated
	scope_ok
	count(route.permissions) > 0
	route_workspace != cfg.all_workspaces
	holds_all(route_workspace, route.permissions)
}

# 7. Reads across all workspaces (`-`); the service filters the results.
allow_rule if {
	authenticated
	scope_ok
	count(route.permissions) > 0
	route_workspace == cfg.all_workspaces
	method in {"GET", "HEAD"}
}

# 4. Writes across all workspaces, for service principals holding the permissions there.
allow_rule if {
	authenticated
	scope_ok
	count(route.permissions) > 0
	route_workspace == cfg.all_workspaces
	method in {"POST", "PUT", "PATCH", "DELETE"}
	is_service
	holds_all(cfg.all_workspaces, route.permissions)
}

# 5. Platform-level endpoints (no workspace in the path): permissions held in `system`.
allow_rule if {
	authenticated
	scope_ok
	count(route.permissions) > 0
	not route_workspace
	holds_all(cfg.system_workspace, route.permissions)
}

# ---------------------------------------------------------------- explicit denies

denied if count(data.authz.endpoints) == 0

denied if route.deny == true

# Secret values are read only through service delegation, even by a PlatformAdmin.
denied if {
	not is_service
	segments_match(split(cfg.secret_access_pattern, "/"), path_segments)
}

# The PDP endpoints answer service principals only, even a PlatformAdmin is refused.
denied if {
	not is_service
	startswith(clean_path, cfg.pdp_prefix)
}

denied if {
	clean_path == cfg.bundle_path
	not holds_all(cfg.system_workspace, [cfg.bundle_permission])
}

denied if {
	startswith(clean_path, cfg.entities_prefix)
	not open_entities_path
	not is_service
	not is_platform_admin
}

denied if {
	route.callers == "service_principal"
	not is_service
	not is_platform_admin
}

denied if {
	route.callers == "principal"
	is_service
}

# The workspace collection, one workspace, and members/projects/entities under a named one.
open_entities_path if {
	count(path_segments) == 5
	path_segments[4] == "workspaces"
}

open_entities_path if {
	count(path_segments) == 6
	path_segments[4] == "workspaces"
	path_segments[5] != ""
}

open_entities_path if {
	count(path_segments) >= 7
	path_segments[4] == "workspaces"
	path_segments[5] != ""
	path_segments[5] != cfg.all_workspaces
	path_segments[6] in {"members", "projects", "entities"}
}

# ---------------------------------------------------------------- has_permissions / has_role

default permissions_held := false

permissions_held if {
	authenticated
	is_platform_admin
}

permissions_held if {
	authenticated
	every qualified in input.permissions {
		qualified_held(qualified)
	}
}

# `<workspace>/<permission>` checks the named workspace; a bare permission checks input.workspace.
qualified_held(qualified) if {
	not contains(qualified, "/")
	holds_all(input.workspace, [qualified])
}

qualified_held(qualified) if {
	slash := indexof(qualified, "/")
	slash >= 0
	workspace := substring(qualified, 0, slash)
	permission := substring(qualified, slash + 1, -1)
	holds_all(workspace, [permission])
}

default role_held := false

role_held if input.role in effective_roles(input.workspace)
