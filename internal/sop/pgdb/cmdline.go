package pgdb

import (
	"path/filepath"
	"strconv"
	"strings"
)

// dumpProgram is what CommandConn knows of pg_dump's or pg_dumpall's
// command line: getopt's string of short options (a letter followed by ':'
// takes an argument) and the long options, true for those that take an
// argument. Any other option makes the command line one it does not read:
// it cannot tell whether the option takes the next word.
type dumpProgram struct {
	short string
	long  map[string]bool
}

// dumpPrograms are pg_dump's and pg_dumpall's options (PostgreSQL 12 to
// 18; a later version's new options are not read, so a command line using
// them gives nothing). PostgreSQL 18 added flags only (no-data, no-schema,
// no-statistics, statistics, statistics-only, sequence-data, no-policies):
// a flag that an older pg_dump does not know makes that pg_dump fail, so
// reading it as a flag never misreads a command line that runs.
var dumpPrograms = map[string]dumpProgram{
	"pg_dump": {short: "abBcCd:e:E:f:F:h:j:n:N:Op:RsS:t:T:U:vwWxZ:", long: longOptions(
		"dbname extension file format host jobs port schema exclude-schema superuser table exclude-table username compress encoding "+
			"exclude-table-data extra-float-digits include-foreign-data lock-wait-timeout role rows-per-insert section snapshot "+
			"table-and-children exclude-table-and-children exclude-table-data-and-children filter exclude-extension sync-method restrict-key",
		"data-only blobs large-objects no-blobs no-large-objects clean create no-reconnect no-owner schema-only no-password password "+
			"verbose no-privileges no-acl attribute-inserts binary-upgrade column-inserts disable-dollar-quoting disable-triggers "+
			"enable-row-security if-exists inserts no-table-access-method no-tablespaces quote-all-identifiers load-via-partition-root "+
			"serializable-deferrable strict-names use-set-session-authorization no-comments no-publications no-security-labels "+
			"no-subscriptions no-toast-compression no-unlogged-table-data no-sync on-conflict-do-nothing no-synchronized-snapshots "+
			"no-data no-schema no-statistics statistics statistics-only sequence-data no-policies")},
	"pg_dumpall": {short: "acd:E:f:gh:l:Op:rsS:tU:vwWx", long: longOptions(
		"file dbname host database port superuser username encoding exclude-database extra-float-digits lock-wait-timeout role "+
			"rows-per-insert filter restrict-key",
		"data-only clean globals-only no-owner roles-only schema-only tablespaces-only verbose no-password password no-privileges "+
			"no-acl attribute-inserts binary-upgrade column-inserts disable-dollar-quoting disable-triggers if-exists inserts "+
			"load-via-partition-root no-comments no-publications no-role-passwords no-security-labels no-subscriptions no-sync "+
			"no-table-access-method no-tablespaces no-toast-compression no-unlogged-table-data on-conflict-do-nothing "+
			"quote-all-identifiers use-set-session-authorization "+
			"no-data no-schema no-statistics statistics statistics-only sequence-data no-policies")},
}

func longOptions(withArg, without string) map[string]bool {
	m := map[string]bool{}
	for _, o := range strings.Fields(withArg) {
		m[o] = true
	}
	for _, o := range strings.Fields(without) {
		m[o] = false
	}
	return m
}

// isConnString reports whether libpq takes a database name as a
// connection string, whose host, port and user override -h, -p and -U.
func isConnString(s string) bool {
	return strings.Contains(s, "=") || strings.HasPrefix(s, "postgresql://") || strings.HasPrefix(s, "postgres://")
}

// CommandConn reads the server a pg_dump or pg_dumpall command line
// connects to: its -h/--host, -p/--port and -U/--username (the last of
// each, as getopt has it), empty where not given. ok is false when the
// command is not pg_dump or pg_dumpall run directly, or its command line
// is not one it reads whole: an option it does not know, an abbreviated
// long option, a database given as a connection string (whose host, port
// and user would win), a port that is not one number. A restore test of a
// dump command's source loads the dump into that server (FromSource).
func CommandConn(argv []string) (host string, port int, user string, ok bool) {
	if len(argv) == 0 {
		return "", 0, "", false
	}
	name := filepath.Base(argv[0])
	prog, known := dumpPrograms[name]
	if !known {
		return "", 0, "", false
	}
	var portArg string
	var positional []string
	set := func(opt, val string) bool {
		switch opt {
		case "h", "host":
			host = val
		case "p", "port":
			portArg = val
		case "U", "username":
			user = val
		case "d", "dbname":
			// pg_dumpall's -d is a connection string, always.
			return name == "pg_dump" && !isConnString(val)
		case "l", "database":
			return !isConnString(val)
		}
		return true
	}
	args := argv[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			opt, val, hasVal := strings.Cut(a[2:], "=")
			takes, known := prog.long[opt]
			switch {
			case !known || (!takes && hasVal):
				return "", 0, "", false
			case takes && !hasVal:
				if i+1 >= len(args) {
					return "", 0, "", false
				}
				i++
				val = args[i]
			}
			if takes && !set(opt, val) {
				return "", 0, "", false
			}
		case strings.HasPrefix(a, "-") && a != "-":
			for j := 1; j < len(a); j++ {
				k := strings.IndexByte(prog.short, a[j])
				if a[j] == ':' || k < 0 {
					return "", 0, "", false
				}
				if k+1 < len(prog.short) && prog.short[k+1] == ':' {
					val := a[j+1:]
					if val == "" {
						if i+1 >= len(args) {
							return "", 0, "", false
						}
						i++
						val = args[i]
					}
					if !set(a[j:j+1], val) {
						return "", 0, "", false
					}
					break
				}
			}
		default:
			positional = append(positional, a)
		}
	}
	// pg_dump takes one database name (perhaps a connection string);
	// pg_dumpall none.
	switch {
	case name == "pg_dumpall" && len(positional) > 0, len(positional) > 1:
		return "", 0, "", false
	case len(positional) == 1 && isConnString(positional[0]):
		return "", 0, "", false
	}
	if portArg != "" {
		n, err := strconv.Atoi(portArg)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, "", false
		}
		port = n
	}
	return host, port, user, true
}
