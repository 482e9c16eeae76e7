package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/ui"
	"github.com/lpse/cadang/repo/backend/rest/server"
)

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve the repositories in a directory over HTTP(S), optionally append-only",
		Description: `Serves every repository in the subdirectories of --root: the repository ROOT/NAME is
-r rest:http[s]://USER:PASSWORD@HOST:PORT/NAME for clients (the password also from CADANG_REST_PASSWORD).
Files are stored exactly as in a local repository, so ROOT/NAME can also be used directly on this machine.
The server checks that every uploaded file's name is the SHA-256 of its bytes, never replaces a file,
and leaves no half file when a client dies mid-upload.

With --append-only, deleting any file but a lock is refused, as is marking packs obsolete: a client
with the repository password can add snapshots but not destroy old ones. Run forget and prune on this
machine against ROOT/NAME, or through a second 'cadang serve' without --append-only that listens only
on a trusted address.

--htpasswd FILE requires a user and password (bcrypt entries only: htpasswd -B -c FILE USER).
--tls-cert and --tls-key serve HTTPS; without TLS, passwords and data cross the network in the clear
(data is encrypted, but a password is not). Runs until interrupted.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8000", Usage: "listen on `HOST:PORT`"},
			&cli.StringFlag{Name: "root", Usage: "serve the repositories in the subdirectories of `DIR`", Required: true},
			&cli.BoolFlag{Name: "append-only", Usage: "refuse every deletion except of lock files"},
			&cli.StringFlag{Name: "htpasswd", Usage: "require the users and bcrypt passwords of `FILE`"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with the certificate (chain) in PEM `FILE`"},
			&cli.StringFlag{Name: "tls-key", Usage: "the private key of --tls-cert, in PEM `FILE`"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			cert, key := c.String("tls-cert"), c.String("tls-key")
			if (cert == "") != (key == "") {
				return errors.New("--tls-cert and --tls-key go together")
			}
			cfg := server.Config{
				Root:       c.String("root"),
				AppendOnly: c.Bool("append-only"),
				// One line per request: a path a client sends may hold a
				// newline, which must not start a line of its own.
				Logf: func(format string, args ...any) {
					fmt.Fprintln(e.stderr, ui.Printable(fmt.Sprintf(format, args...), false))
				},
			}
			if f := c.String("htpasswd"); f != "" {
				users, err := server.ReadHtpasswd(f)
				if err != nil {
					return fmt.Errorf("--htpasswd: %w", err)
				}
				cfg.Users = users
			}
			s, err := server.New(cfg)
			if err != nil {
				return fmt.Errorf("--root: %w", err)
			}
			ln, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			addr := ln.Addr().(*net.TCPAddr)
			if !addr.IP.IsLoopback() {
				if cfg.Users == nil {
					e.warnf("listening on %s without --htpasswd: anyone who can reach it can read and add files", addr)
				}
				if cert == "" && cfg.Users != nil {
					e.warnf("listening on %s without TLS: passwords cross the network in the clear", addr)
				}
			}
			scheme, mode := "http", ""
			if cert != "" {
				scheme = "https"
			}
			if cfg.AppendOnly {
				mode = " (append-only)"
			}
			// Always printed, also with --quiet: a test or a script started
			// with --listen HOST:0 learns the port here.
			fmt.Fprintf(e.stderr, "serving %s at %s://%s/%s\n", cfg.Root, scheme, addr, mode)
			return s.Serve(c.Context, ln, cert, key)
		},
	}
}
