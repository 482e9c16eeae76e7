package main

import "github.com/urfave/cli/v2"

func snapshotCommands() []*cli.Command { return nil }
