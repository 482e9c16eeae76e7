package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves flags that follow positional arguments in front of
// them, because urfave/cli v2 (like the standard flag package) stops
// parsing flags at the first argument, while users of restic write
// `restore latest --target DIR`. Global flags given after the command move
// to the front of the command line. Everything after "--" is left alone.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	globals, rest := splitGlobal(app.Flags, args[1:])
	if len(rest) >= 2 && (rest[0] == "help" || rest[0] == "h") {
		// urfave/cli's 'help CMD' prints a command that has subcommands
		// without them (its template stops at the list), and 'help CMD
		// SUB' prints CMD's: 'CMD [SUB] --help' is each one's help.
		cmds, n := app.Commands, 0
		var c *cli.Command
		for _, name := range rest[1:] {
			if c = lookupCommand(cmds, name); c == nil {
				break
			}
			cmds, n = c.Subcommands, n+1
		}
		if c != nil && n == len(rest)-1 && (len(c.Subcommands) > 0 || n >= 2) {
			out = append(out, globals...)
			out = append(out, rest[1:]...)
			return append(out, "--help")
		}
	}
	cmds := app.Commands
	var path []string
	var leaf *cli.Command
	for len(rest) > 0 {
		c := lookupCommand(cmds, rest[0])
		if c == nil {
			break
		}
		path = append(path, rest[0])
		rest = rest[1:]
		leaf = c
		if len(c.Subcommands) == 0 {
			break
		}
		cmds = c.Subcommands
		// Flags of an intermediate command would go here; ours have none.
	}
	if leaf == nil {
		return args
	}
	var flags, positional, tail []string
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			tail = rest[i:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, hasValue := flagName(a)
		f := lookupFlag(leaf.Flags, name)
		dst := &flags
		if f == nil {
			if g := lookupFlag(app.Flags, name); g != nil {
				f, dst = g, &globals
			}
		}
		*dst = append(*dst, a)
		if f != nil && !hasValue && takesValue(f) && i+1 < len(rest) {
			i++
			*dst = append(*dst, rest[i])
		}
	}
	out = append(out, globals...)
	out = append(out, path...)
	out = append(out, flags...)
	out = append(out, positional...)
	return append(out, tail...)
}

// splitGlobal returns the leading global flags (with their values) and the rest.
func splitGlobal(fl []cli.Flag, args []string) (globals, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			return args[:i], args[i:]
		}
		name, hasValue := flagName(a)
		if f := lookupFlag(fl, name); f != nil && !hasValue && takesValue(f) {
			i++
		}
	}
	return args, nil
}

func flagName(a string) (name string, hasValue bool) {
	a = strings.TrimLeft(a, "-")
	if i := strings.IndexByte(a, '='); i >= 0 {
		return a[:i], true
	}
	return a, false
}

func lookupFlag(fl []cli.Flag, name string) cli.Flag {
	for _, f := range fl {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}

func lookupCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// prepareCommands applies to the whole command tree what urfave/cli does
// not do by default: no help subcommand on leaf commands, and one-line
// usage errors.
func prepareCommands(cmds []*cli.Command) []*cli.Command {
	hideLeafHelpCommands(cmds)
	setUsageErrors(cmds, "")
	return cmds
}

// hideLeafHelpCommands stops urfave/cli from giving every command a "help"
// subcommand (alias "h"): on a command that takes arguments it swallowed a
// source directory named h or help (`cadang backup h` printed the help and
// exited 0 with no snapshot). `cadang help CMD` and `CMD --help` remain.
func hideLeafHelpCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		if len(c.Subcommands) == 0 {
			c.HideHelpCommand = true
			continue
		}
		if c.Action == nil {
			c.Action = groupAction(c)
		}
		hideLeafHelpCommands(c.Subcommands)
	}
}

// groupAction runs for a command with subcommands when none matched
// ('cadang job lsit'): the nearest subcommand, as rootAction does.
func groupAction(g *cli.Command) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() == 0 {
			return cli.ShowSubcommandHelp(c)
		}
		name := c.Args().First()
		msg := fmt.Sprintf("%s: unknown subcommand %q", g.Name, name)
		if s := nearestCommand(g.Subcommands, name); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return fmt.Errorf("%s (cadang help %s lists them)", msg, g.Name)
	}
}

// nonEmpty is the Action of a string-slice flag whose values must not be
// empty: `--tag ""` would otherwise match nothing (or tag nothing) without
// a word.
func nonEmpty(name string) func(*cli.Context, []string) error {
	return func(_ *cli.Context, vals []string) error {
		for _, v := range vals {
			for _, part := range strings.Split(v, ",") {
				if strings.TrimSpace(part) == "" {
					return fmt.Errorf("--%s %q: an empty value is not allowed", name, v)
				}
			}
		}
		return nil
	}
}

// intRange is the Action of an int flag whose value must lie in [lo, hi].
func intRange(name string, lo, hi int) func(*cli.Context, int) error {
	return func(_ *cli.Context, v int) error {
		if v < lo || v > hi {
			return fmt.Errorf("--%s %d: must be between %d and %d", name, v, lo, hi)
		}
		return nil
	}
}

// rootAction runs when no command matched: a typo ('cadang bakup') gets
// the nearest command instead of urfave's "No help topic".
func rootAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	name := c.Args().First()
	msg := fmt.Sprintf("unknown command %q", name)
	if s := nearestCommand(c.App.Commands, name); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return fmt.Errorf("%s (cadang help lists the commands)", msg)
}

// nearestCommand returns the visible command name closest to name, or ""
// when none is close enough to be a typo of it.
func nearestCommand(cmds []*cli.Command, name string) string {
	// More edits than about half the word, or as many as it has letters,
	// make another word, not a typo (a one-letter flag is never "near").
	best, bestD := "", min(len(name)/2+2, len(name))
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		for _, n := range c.Names() {
			if d := editDistance(n, name); d < bestD {
				best, bestD = c.Name, d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// setUsageErrors makes a misspelt or misused flag one line that names the
// flag (with the nearest real one) and the command's usage, instead of
// urfave's whole help page.
func setUsageErrors(cmds []*cli.Command, path string) {
	for _, c := range cmds {
		full := strings.TrimSpace(path + " " + c.Name)
		c.OnUsageError = usageError(full, c)
		setUsageErrors(c.Subcommands, full)
	}
}

func usageError(full string, c *cli.Command) cli.OnUsageErrorFunc {
	return func(_ *cli.Context, err error, _ bool) error {
		msg := fmt.Sprintf("%s: %v", full, err)
		const undefined = "flag provided but not defined: -"
		if i := strings.Index(err.Error(), undefined); i >= 0 {
			bad := strings.TrimLeft(err.Error()[i+len(undefined):], "-")
			if s := nearestFlag(c, bad); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
		}
		usage := "cadang " + full + " [options]"
		if c.ArgsUsage != "" {
			usage += " " + c.ArgsUsage
		}
		return fmt.Errorf("%s\nusage: %s (cadang help %s for more)", msg, usage, full)
	}
}

// nearestFlag returns the flag of c closest to name, as --name, or "".
func nearestFlag(c *cli.Command, name string) string {
	best, bestD := "", min(len(name)/2+2, len(name))
	for _, f := range c.Flags {
		for _, n := range f.Names() {
			if d := editDistance(n, name); d < bestD {
				best, bestD = n, d
			}
		}
	}
	switch {
	case best == "":
		return ""
	case len(best) == 1:
		return "-" + best
	}
	return "--" + best
}
