# Shared helpers of the nmp authorization policy: identities, roles, endpoint matching, scopes.
#
# Reads the data document produced by `nmp_core::policy::bundle_data` under `data.authz`:
#   principals[<identity>].workspaces[<workspace>] = [role, ...]   (active bindings)
#   roles[<role>] = {"includes": [...], "permissions": [...]}       ("*" = every permission)
#   permissions = [...]                                              (the registry)
#   endpoints = [{"method", "path", "permissions", "scopes", "deny", "callers"}]
#   config = {...}                                                   (constants, see bundle.rs)
# Decides exactly like the native PDP (`nmp_core::policy::decide`); a differential test proves it.
package authz

import rego.v1

cfg := data.authz.config

# ---------------------------------------------------------------- who is asking

# A string field of the input, or "" when it is missing, null or not a string.
input_string(key) := value if {
	value := input[key]
	is_string(value)
} else := ""

principal_id := input_string("principal_id")

principal_email := input_string("principal_email")

principal_groups := [group | some group in input.principal_groups; is_string(group)] if {
	is_array(input.principal_groups)
} else := []

# Identities a binding may name: id, email and groups, without empty strings.
identities := {identity |
	some identity in array.concat([principal_id, principal_email], principal_groups)
	identity != ""
}

authenticated if count(identities) > 0

is_service if startswith(principal_id, cfg.service_prefix)

# ---------------------------------------------------------------- roles

# Roles bound to the identities or to `*` in the workspace, plus the service default.
effective_roles(workspace) := (explicit_roles(workspace) | service_default_roles) if {
	authenticated
} else := set()

explicit_roles(workspace) := {role |
	some identity in (identities | {cfg.wildcard_principal})
	some role in data.authz.principals[identity].workspaces[workspace]
}

service_default_roles := {cfg.service_default_role} if {
	is_service
	not data.authz.principals[principal_id]
} else := set()

# Every role reachable through `includes`, up to five levels.
role_closure(role) := {role} | {r1 | some r1 in data.authz.roles[role].includes} | {r2 |
	some r1 in data.authz.roles[role].includes
	some r2 in data.authz.roles[r1].includes
} | {r3 |
	some r1 in data.authz.roles[role].includes
	some r2 in data.authz.roles[r1].includes
	some r3 in data.authz.roles[r2].includes
} | {r4 |
	some r1 in data.authz.roles[role].includes
	some r2 in data.authz.roles[r1].includes
	some r3 in data.authz.roles[r2].includes
	some r4 in data.authz.roles[r3].includes
} | {r5 |
	some r1 in data.authz.roles[role].includes
	some r2 in data.authz.roles[r1].includes
	some r3 in data.authz.roles[r2].includes
	some r4 in data.authz.roles[r3].includes
	some r5 in data.authz.roles[r4].includes
}

role_permissions[role] := {permission |
	some included in role_closure(role)
	some permission in data.authz.roles[included].permissions
} if {
	some role, _ in data.authz.roles
}

role_grants(role, _) if "*" in role_permissions[role]

role_grants(role, permission) if permission in role_permissions[role]

# Every permission is granted, each by some effective role in the workspace.
holds_all(workspace, required) if {
	roles := effective_roles(workspace)
	every permission in required {
		some role in roles
		role_grants(role, permission)
	}
}

is_platform_admin if cfg.platform_admin_role in effective_roles(cfg.system_workspace)

# ---------------------------------------------------------------- the request and its endpoint

method := upper(input.method)

clean_path := split(input.path, "?")[0]

path_segments := split(clean_path, "/")

is_health if clean_path in cfg.health_paths

is_placeholder(segment) if {
	startswith(segment, "{")
	endswith(segment, "}")
}

segment_matches(pattern_segment, actual) if {
	is_placeholder(pattern_segment)
	actual != ""
}

segment_matches(pattern_segment, actual) if {
	not is_placeholder(pattern_segment)
	pattern_segment == actual
}

# A pattern ending in `/-/{x}` swallows one or more trailing segments.
has_tail(pattern) if {
	n := count(pattern)
	n >= 3
	pattern[n - 2] == "-"
	is_placeholder(pattern[n - 1])
}

segments_match(pattern, actual) if {
	not has_tail(pattern)
	count(pattern) == count(actual)
	every k, segment in pattern {
		segment_matches(segment, actual[k])
	}
}

segments_match(pattern, actual) if {
	has_tail(pattern)
	n := count(pattern)
	count(actual) >= n
	actual[n - 1] != ""
	every k, segment in array.slice(pattern, 0, n - 1) {
		segment_matches(segment, actual[k])
	}
}

placeholder_count(pattern) := count([s | some s in pattern; is_placeholder(s)])

# Candidates sort by (placeholders, pattern): the fewest placeholders win, ties by pattern text.
route_candidates contains [placeholder_count(pattern), endpoint.path, i] if {
	some i, endpoint in data.authz.endpoints
	endpoint.method == method
	pattern := split(endpoint.path, "/")
	segments_match(pattern, path_segments)
}

route := data.authz.endpoints[sort(route_candidates)[0][2]] if count(route_candidates) > 0

has_route if route

named_workspace_positions(pattern) := {k | some k, s in pattern; s in {"{workspace}", "{workspace_id}"}}

after_workspaces_positions(pattern) := {k |
	some k, s in pattern
	k > 0
	pattern[k - 1] == "workspaces"
	is_placeholder(s)
}

workspace_position(pattern) := min(named_workspace_positions(pattern)) if {
	count(named_workspace_positions(pattern)) > 0
} else := min(after_workspaces_positions(pattern)) if {
	count(after_workspaces_positions(pattern)) > 0
}

route_workspace := path_segments[workspace_position(split(route.path, "/"))]

# ---------------------------------------------------------------- scopes

token_scopes := input.scopes if is_array(input.scopes)

else := []

# Skipped unless the token carries a `area:verb` scope; then one accepted scope must be present.
scope_ok if not has_colon_scope

scope_ok if count(route.scopes) == 0

scope_ok if {
	some scope in route.scopes
	scope in token_scopes
}

has_colon_scope if {
	some scope in token_scopes
	contains(scope, ":")
}
