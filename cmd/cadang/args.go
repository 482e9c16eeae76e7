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
		hideLeafHelpCommands(c.Subcommands)
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
