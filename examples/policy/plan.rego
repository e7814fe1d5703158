# An example policy on `tavus-reconciler plan --format json` (schemas/plan.schema.json), for conftest:
#   tavus-reconciler plan replicas.yaml --format json > plan.json && conftest test plan.json -p examples/policy
# conftest reads the rules named deny in package main: each message is a failure.
package main

import rego.v1

# The most replicas one plan may delete.
max_replica_deletes := 2

replica_deletes := [c | some c in input.changes; c.action == "delete"; object.get(c, "kind", "replicas") == "replicas"]

deny contains msg if {
	count(replica_deletes) > max_replica_deletes
	msg := sprintf("replicas the plan deletes: %v, allowed: %v", [count(replica_deletes), max_replica_deletes])
}

# Prune over the whole account is for the platform team's own file only.
deny contains msg if {
	input.scope.whole_account
	msg := "settings.scope.whole_account is not allowed here: set a name_prefix"
}

# A mass change let through with --allow-mass-change needs a second look.
deny contains msg if {
	input.mass_change.allowed_by != null
	msg := sprintf("a mass change was allowed by %v", [input.mass_change.allowed_by])
}

# Replicas are created only on the current model generation.
deny contains msg if {
	some c in input.changes
	c.action in {"create", "replace"}
	object.get(c, "kind", "replicas") == "replicas"
	not startswith(object.get(c.after, "model_name", ""), "phoenix-4")
	msg := sprintf("%v: model_name %v, not phoenix-4", [c.name, object.get(c.after, "model_name", null)])
}
