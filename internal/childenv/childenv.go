// Package childenv builds the environment of the processes cadang starts
// (dump commands, notification hooks, restore-test verify commands, the
// password command): the caller's environment without the variables that
// carry cadang's own secrets.
//
// A child inherits everything else, so that pg_dump still finds PGPASSWORD
// and a hook still finds its PATH: the child was written by the operator
// and may need what the operator exported for it. What cadang reads for
// itself is different: CADANG_PASSWORD opens every backup in the
// repository, and a dump command that prints its environment (or a
// compromised tool that a dump runs) would otherwise store it inside the
// backup or send it elsewhere.
package childenv

import (
	"os"
	"strings"
)

// CloudCredentials are the variables that hold the secret half of cloud
// storage credentials. cadang reads them for s3: repositories, but so may
// a child (a password command that asks a cloud secret manager, a hook
// that publishes to a cloud queue), so Clean keeps them; callers whose
// child never needs them drop them too (Clean(env, CloudCredentials...)).
var CloudCredentials = []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}

// Secret reports whether the variable name carries a cadang secret: every
// CADANG_ variable whose name contains PASSWORD (CADANG_PASSWORD,
// CADANG_FROM_PASSWORD, CADANG_REST_PASSWORD, and the _FILE and _COMMAND
// variables that say where a password is, which a child has no use for
// either).
func Secret(name string) bool {
	return strings.HasPrefix(name, "CADANG_") && strings.Contains(name, "PASSWORD")
}

// Clean returns env ("NAME=value" entries, as os.Environ gives them)
// without the secret variables and without the variables named in drop.
// The result is never nil, so that exec.Cmd.Env set to it is used as is
// even when it is empty (a nil Env means "inherit everything").
func Clean(env []string, drop ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if Secret(name) || contains(drop, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Environ returns this process's environment without the secret
// variables and without those named in drop.
func Environ(drop ...string) []string { return Clean(os.Environ(), drop...) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
