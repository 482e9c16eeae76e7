package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/chunk"
	"github.com/lpse/cadang/crypto"
	"github.com/lpse/cadang/internal/keep"
	"github.com/lpse/cadang/internal/pwfile"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/units"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/repo/backend/location"
	"github.com/lpse/cadang/snapshot"
)

func commands() []*cli.Command {
	cmds := []*cli.Command{initCommand(), keyCommand(), unlockCommand(), catCommand(), repairCommand(), pruneCommand(), protectCommand(), copyCommand()}
	cmds = append(cmds, snapshotCommands()...)
	return append(cmds, sopCommands()...)
}

func sizeFlag(c *cli.Context, name string, def uint) (uint, error) {
	if !c.IsSet(name) {
		return def, nil
	}
	n, err := units.ParseSize(c.String(name))
	if err != nil {
		return 0, fmt.Errorf("--%s: %w", name, err)
	}
	return uint(n), nil
}

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create a new repository",
		Description: `Creates an empty repository at --repo. The directory must not exist or be empty.
The password is asked twice on a terminal, or taken from CADANG_PASSWORD / --password-file / --password-command.
Chunk sizes and the pack size are fixed for the life of the repository.

With --copy-chunker-params --from-repo SRC the new repository takes SRC's chunker polynomial and chunk
sizes, so that snapshots copied between the two (cadang copy) and later backups deduplicate against each
other; create rotation media this way. SRC's password comes from --from-password-file,
CADANG_FROM_PASSWORD or a prompt.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "chunk-min", Usage: "minimum chunk `SIZE`", Value: units.FormatBytes(int64(chunk.DefaultParams().Min))},
			&cli.StringFlag{Name: "chunk-avg", Usage: "average chunk `SIZE` (a power of two)", Value: units.FormatBytes(int64(chunk.DefaultParams().Avg))},
			&cli.StringFlag{Name: "chunk-max", Usage: "maximum chunk `SIZE`", Value: units.FormatBytes(int64(chunk.DefaultParams().Max))},
			&cli.StringFlag{Name: "pack-size", Usage: "target pack file `SIZE`", Value: units.FormatBytes(repo.DefaultPackSize)},
			&cli.StringFlag{Name: "compression", Usage: "zstd level: off, fastest, default or better", Value: repo.CompressionFastest},
			&cli.BoolFlag{Name: "copy-chunker-params", Usage: "use the chunker polynomial and chunk sizes of --from-repo"},
			fromRepoFlags()[0], fromRepoFlags()[1],
			insecureKDFFlag,
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			var p chunk.Params
			var err error
			if p.Min, err = sizeFlag(c, "chunk-min", chunk.DefaultParams().Min); err != nil {
				return err
			}
			if p.Avg, err = sizeFlag(c, "chunk-avg", chunk.DefaultParams().Avg); err != nil {
				return err
			}
			if p.Max, err = sizeFlag(c, "chunk-max", chunk.DefaultParams().Max); err != nil {
				return err
			}
			if err := p.Validate(); err != nil {
				return fmt.Errorf("--chunk-min/--chunk-avg/--chunk-max: %w", err)
			}
			var pol chunk.Pol
			if c.Bool("copy-chunker-params") {
				if c.IsSet("chunk-min") || c.IsSet("chunk-avg") || c.IsSet("chunk-max") {
					return fmt.Errorf("--copy-chunker-params takes the chunk sizes from --from-repo; drop --chunk-min/--chunk-avg/--chunk-max")
				}
				src, _, err := e.openFromRepo(c.Context, repo.NoLock)
				if err != nil {
					return err
				}
				p, pol = src.ChunkerParams(), src.ChunkerPolynomial()
				e.closeRepo(src)
			} else if c.String("from-repo") != "" {
				return fmt.Errorf("--from-repo is used only with --copy-chunker-params")
			}
			ps, err := sizeFlag(c, "pack-size", repo.DefaultPackSize)
			if err != nil {
				return err
			}
			// Checked here, before uint32 can wrap it (4100MiB became 4 MiB)
			// and before anything is created.
			if ps < repo.MinPackSize || ps > repo.MaxPackSize {
				return fmt.Errorf("--pack-size %s: must be between %s and %s", c.String("pack-size"),
					units.FormatBytes(repo.MinPackSize), units.FormatBytes(repo.MaxPackSize))
			}
			loc, err := e.repoLocation()
			if err != nil {
				return err
			}
			pw, err := e.password("enter a password for the new repository: ", true)
			if err != nil {
				return err
			}
			// Everything that can be refused is checked before the directory
			// is created, so a refused init leaves nothing to clean up.
			kdf, err := kdfParams(insecureKDF(c))
			if err != nil {
				return err
			}
			switch comp := c.String("compression"); comp {
			case repo.CompressionOff, repo.CompressionFastest, repo.CompressionDefault, repo.CompressionBetter:
			default:
				return fmt.Errorf("--compression %q: use off, fastest, default or better", comp)
			}
			l, err := e.parseLocation(loc)
			if err != nil {
				return err
			}
			be, err := location.Create(c.Context, l)
			if err != nil {
				return err
			}
			r, err := repo.Init(c.Context, be, pw, repo.InitOptions{Chunk: p, ChunkerPolynomial: pol, PackSize: uint32(ps), Compression: c.String("compression"), KDF: kdf})
			if err != nil {
				be.Close()
				return err
			}
			defer r.Close()
			if e.json {
				return e.printJSONLine(map[string]any{"message_type": "initialized", "id": r.ID(), "repository": loc})
			}
			fmt.Fprintf(e.stdout, "created repository %s at %s\n", r.ID()[:10], loc)
			fmt.Fprintln(e.stdout, "Keep the password safe: without it the data cannot be recovered.")
			return nil
		},
	}
}

func newPasswordFromFlags(c *cli.Context, e *env) ([]byte, error) {
	if f := c.String("new-password-file"); f != "" {
		p, err := pwfile.Read(f, e.warnPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--new-password-file: %w", err)
		}
		return p, nil
	}
	return e.promptPassword("enter the new password: ", true)
}

// newKeyMaterial returns the new password and the settings of a new key
// file (key add, key passwd). The KDF is checked before the password is
// asked for, so a refused cost does not cost a typed password.
func newKeyMaterial(c *cli.Context, e *env) ([]byte, repo.KeyOptions, error) {
	insecure := insecureKDF(c)
	kdf, err := kdfParams(insecure)
	if err != nil {
		return nil, repo.KeyOptions{}, err
	}
	pw, err := newPasswordFromFlags(c, e)
	return pw, repo.KeyOptions{KDF: kdf, InsecureKDF: insecure}, err
}

// kdfText describes a key's argon2id cost for key list, marking one
// below the floor that key add now refuses.
func kdfText(p crypto.KDFParams) string {
	mem := fmt.Sprintf("%dKiB", p.Memory)
	if p.Memory%1024 == 0 {
		mem = fmt.Sprintf("%dMiB", p.Memory/1024)
	}
	s := fmt.Sprintf("argon2id t=%d m=%s p=%d", p.Time, mem, p.Threads)
	if repo.CheckKDF(p) != nil {
		s += " (below minimum)"
	}
	return s
}

func keyCommand() *cli.Command {
	newPw := &cli.StringFlag{Name: "new-password-file", Usage: "read the new password from `FILE` (otherwise asked on the terminal)"}
	return &cli.Command{
		Name:  "key",
		Usage: "manage the passwords (key files) that open the repository",
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "list key files",
				Action: func(c *cli.Context) error {
					e := newEnv(c)
					return e.withRepo(c.Context, false, func(r *repo.Repository) error {
						keys, err := r.ListKeys(c.Context)
						if err != nil {
							return err
						}
						if e.json {
							return e.printJSON(keys)
						}
						tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
						fmt.Fprintln(tw, " \tID\tUser\tHost\tCreated\tKDF")
						unreadable, newer := 0, 0
						for _, k := range keys {
							if k.Err != nil {
								what := "is of a newer format"
								if repo.IsDamaged(k.Err) {
									what = "cannot be read"
									unreadable++
								} else {
									newer++
								}
								fmt.Fprintf(tw, "!\t%s\t\t\t\t%s\n", k.ID.Short(), what)
								e.warnf("key file %s %s: %v", k.ID.Short(), what, k.Err)
								continue
							}
							cur := " "
							if k.Current {
								cur = "*"
							}
							fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cur, k.ID.Short(), cellText(k.Username), cellText(k.Host), e.timeText(k.Created), kdfText(k.KDF))
						}
						if err := tw.Flush(); err != nil {
							return err
						}
						if unreadable > 0 {
							fmt.Fprintln(e.stdout, "note: a key file that cannot be read opens nothing; 'cadang key remove ID' removes it")
						}
						if newer > 0 {
							fmt.Fprintln(e.stdout, "note: a key file of a newer format opens only with a newer cadang; if none added it (anyone who can upload a file can), 'cadang key remove ID' removes it")
						}
						return nil
					})
				},
			},
			{
				Name: "add", Usage: "add a password", Flags: []cli.Flag{newPw, insecureKDFFlag},
				Action: func(c *cli.Context) error {
					e := newEnv(c)
					e.writes = true // a read-only medium fails it at the lock, naming the medium
					return e.withRepo(c.Context, false, func(r *repo.Repository) error {
						pw, kdf, err := newKeyMaterial(c, e)
						if err != nil {
							return err
						}
						id, err := r.AddKey(c.Context, pw, kdf)
						if err != nil {
							return err
						}
						if e.json {
							return e.printJSON(map[string]any{"message_type": "key_added", "id": id})
						}
						fmt.Fprintf(e.stdout, "saved new key %s\n", id.Short())
						return nil
					})
				},
			},
			{
				Name: "remove", Usage: "remove a password", ArgsUsage: "ID",
				Action: func(c *cli.Context) error {
					e := newEnv(c)
					if c.NArg() != 1 {
						return fmt.Errorf("key remove: give exactly one key ID")
					}
					return e.withRepo(c.Context, true, func(r *repo.Repository) error {
						id, err := r.FindID(c.Context, repo.KeyFile, c.Args().First())
						if err != nil {
							return err
						}
						if err := r.RemoveKey(c.Context, id); err != nil {
							return err
						}
						if e.json {
							return e.printJSON(map[string]any{"message_type": "key_removed", "id": id})
						}
						fmt.Fprintf(e.stdout, "removed key %s\n", id.Short())
						return nil
					})
				},
			},
			{
				Name: "passwd", Usage: "change the password in use", Flags: []cli.Flag{newPw, insecureKDFFlag},
				Description: `Adds a key file for the new password, then removes the one in use. A server that refuses
deletions (cadang serve --append-only) is refused up front, so that the old password cannot stay valid.`,
				Action: func(c *cli.Context) error {
					e := newEnv(c)
					return e.withRepo(c.Context, true, func(r *repo.Repository) error {
						// Before the new password is asked for (twice, on
						// a terminal): ChangePassword would refuse anyway.
						if err := r.RefuseAppendOnly("key passwd"); err != nil {
							return err
						}
						pw, kdf, err := newKeyMaterial(c, e)
						if err != nil {
							return err
						}
						id, err := r.ChangePassword(c.Context, pw, kdf)
						if err != nil {
							return err
						}
						if e.json {
							return e.printJSON(map[string]any{"message_type": "password_changed", "id": id})
						}
						fmt.Fprintf(e.stdout, "password changed; new key %s\n", id.Short())
						return nil
					})
				},
			},
		},
	}
}

func unlockCommand() *cli.Command {
	return &cli.Command{
		Name:  "unlock",
		Usage: "remove stale locks",
		Description: `A lock is stale when its process on this host is gone, or when it was not refreshed for 30 minutes.
Only stale locks are removed unless --remove-all is given.

--remove-all also removes the live locks of other hosts (whether their processes still run cannot be
told from here: make sure no cadang runs there), but not those of cadang processes that run on this host
now (same host name, the PID exists): those are named and kept, and unlock exits 11. Removing one makes
that backup fail with "repository lock lost", or lets a prune run beside it. Stop such a process, or let
it finish, and its lock goes with it; if a PID is no cadang (its number was reused, or it runs in
another container under the same host name), --include-running removes those locks too.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "remove-all", Usage: "remove every lock, even live ones of other hosts (make sure no cadang runs there); locks of processes running on this host are kept"},
			&cli.BoolFlag{Name: "include-running", Usage: "with --remove-all, remove also the locks of processes running on this host"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context, repo.Options{})
			if err != nil {
				return err
			}
			defer r.Close()
			var removed []repo.LockInfo
			switch {
			case c.Bool("remove-all") && c.Bool("include-running"):
				removed, err = r.RemoveAllLocks(c.Context)
			case c.Bool("remove-all"):
				removed, err = r.RemoveAllLocksButRunning(c.Context)
			case c.Bool("include-running"):
				return errors.New("unlock: --include-running goes with --remove-all")
			default:
				removed, err = r.RemoveStaleLocks(c.Context)
			}
			if e.json {
				out := map[string]any{"message_type": "unlock", "removed": unlockJSON(removed)}
				if rl := (*repo.RunningLocksError)(nil); errors.As(err, &rl) {
					out["kept_running"] = unlockJSON(rl.Locks)
				}
				if jerr := e.printJSON(out); jerr != nil {
					return jerr
				}
			} else {
				for _, l := range removed {
					fmt.Fprintf(e.stdout, "removed %s\n", l)
				}
				if len(removed) == 0 {
					fmt.Fprintln(e.stdout, "no locks removed")
				}
			}
			return err
		},
	}
}

// unlockJSON lists locks for unlock --json: with their IDs (LockInfo
// leaves the ID out of its JSON, as a lock file does), [] for none.
func unlockJSON(locks []repo.LockInfo) []any {
	out := []any{}
	for _, l := range locks {
		out = append(out, struct {
			ID string `json:"id"`
			repo.LockInfo
		}{l.ID.String(), l})
	}
	return out
}

func catCommand() *cli.Command {
	return &cli.Command{
		Name:      "cat",
		Usage:     "print internal repository data as JSON (for debugging)",
		ArgsUsage: "config | index ID | pack ID | snapshot ID | key ID | lock ID | record ID | protection ID | forgotten ID | blob data|tree ID",
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			args := c.Args().Slice()
			if len(args) == 0 {
				return fmt.Errorf("cat: say what to print: config, index ID, pack ID, snapshot ID, key ID, lock ID, record ID, protection ID, forgotten ID or blob TYPE ID")
			}
			return e.withRepo(c.Context, false, func(r *repo.Repository) error {
				ctx := c.Context
				need := func(n int) error {
					if len(args) != n {
						return fmt.Errorf("cat %s: wrong number of arguments", args[0])
					}
					return nil
				}
				switch args[0] {
				case "config":
					return e.printIndentedJSON(r.Config())
				case "index":
					if err := need(2); err != nil {
						return err
					}
					id, err := r.FindID(ctx, repo.IndexFile, args[1])
					if err != nil {
						return err
					}
					packs, err := r.ReadIndexFile(ctx, id)
					if err != nil {
						return err
					}
					return e.printIndentedJSON(packs)
				case "pack":
					if err := need(2); err != nil {
						return err
					}
					id, err := r.FindID(ctx, repo.PackFile, args[1])
					if err != nil {
						return err
					}
					hdr, err := r.ReadPackHeader(ctx, id, 0)
					if err != nil {
						return err
					}
					return e.printIndentedJSON(repo.IndexPack{ID: id, Blobs: hdr})
				case "snapshot", "key", "lock", "record", "protection", "forgotten":
					if err := need(2); err != nil {
						return err
					}
					t := map[string]repo.FileType{"snapshot": repo.SnapshotFile, "key": repo.KeyFile, "lock": repo.LockFile, "record": repo.RecordFile,
						"protection": repo.ProtectFile, "forgotten": repo.ForgottenFile}[args[0]]
					id, err := r.FindID(ctx, t, args[1])
					if err != nil {
						return err
					}
					var b []byte
					if t == repo.KeyFile {
						b, err = r.LoadStored(ctx, t, id) // within the key file bound
					} else {
						b, err = r.LoadFile(ctx, t, id)
					}
					if err != nil {
						return err
					}
					if json.Valid(b) {
						_, err = e.stdout.Write(append(b, '\n'))
						return err
					}
					_, err = e.rawStdout.Write(b) // bytes, as stored
					return err
				case "blob":
					if err := need(3); err != nil {
						return err
					}
					t := map[string]repo.BlobType{"data": repo.DataBlob, "tree": repo.TreeBlob}[args[1]]
					if !t.Valid() {
						return fmt.Errorf("cat blob: type must be data or tree, not %q", args[1])
					}
					id, err := repo.ParseID(args[2])
					if err != nil {
						return err
					}
					b, err := r.LoadBlob(ctx, t, id, nil)
					if err != nil {
						return err
					}
					_, err = e.rawStdout.Write(b) // bytes, as stored
					return err
				}
				return fmt.Errorf("cat: unknown object %q", args[0])
			})
		},
	}
}

func repairCommand() *cli.Command {
	return &cli.Command{
		Name:  "repair",
		Usage: "repair repository structures",
		Subcommands: []*cli.Command{{
			Name:  "index",
			Usage: "rebuild the index from the pack headers alone",
			Description: `Reads the header of every pack file and writes a new index, then removes the old index files (an
unreadable or newer one too: every pack's own header was read) and the obsolete-pack files that cannot be
read (damaged, or junk uploaded to the server). For a pack whose
header cannot be read it keeps the old index's entries that still open from the pack's bytes, and exits 3:
'cadang repair packs' takes such packs out, salvaging what they hold. Packs the old index named that are
gone (a file lost from the medium) are named, with the count of blobs that were held only there: 'cadang
check' then names the snapshots that used them; exits 3 when a blob was lost so. Takes an exclusive lock. A server that refuses deletions
(cadang serve --append-only) is refused up front: repair on the backup host, against the repository's
directory.`,
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				return e.recorded(c.Context, runlog.OpRepair, func(ctx context.Context, rec *runlog.Record) error {
					// Close releases the exclusive lock also when Ctrl-C
					// cancelled the rebuild.
					r, err := e.openRepo(ctx, repo.Options{NoIndex: true, Lock: repo.ExclusiveLock})
					if err != nil {
						return err
					}
					// Kept open until the record is copied into it: a
					// rotation disk carries the record of its repair, and
					// the record names the disk.
					defer e.keepRepo(r)()
					res, err := r.RepairIndex(ctx, repo.RepairIndexOptions{Logf: e.warnf})
					if err != nil {
						return err
					}
					rec.Note = runlog.NewNote("repair-index", res.Packs, res.Blobs, len(res.DamagedHeaders), len(res.RemovedObsolete))
					if e.json {
						if err := e.printJSON(map[string]any{"message_type": "repair_index", "packs": res.Packs, "blobs": res.Blobs,
							"damaged_headers": idStrings(res.DamagedHeaders), "kept_damaged": idStrings(res.KeptDamaged),
							"removed_obsolete": idStrings(res.RemovedObsolete), "missing_packs": idStrings(res.MissingPacks),
							"lost_blobs": len(res.LostBlobs)}); err != nil {
							return err
						}
					} else {
						fmt.Fprintf(e.stdout, "rebuilt the index: %d packs, %d blobs\n", res.Packs, res.Blobs)
					}
					if n := len(res.MissingPacks); n > 0 {
						// The old index named them; the new one cannot.
						// What they held only is gone, and the snapshots
						// that used it are damaged: the administrator must
						// hear it now, not at the next check.
						e.warnf("%s the old index named %s gone: %s",
							plural(n, "pack"), isAre(n), strings.Join(idStrings(res.MissingPacks), " "))
						if l := len(res.LostBlobs); l > 0 {
							data, trees := 0, 0
							for _, b := range res.LostBlobs {
								if b.Type == repo.TreeBlob {
									trees++
								} else {
									data++
								}
							}
							e.warnf("%s held only there %s lost%s. 'cadang check' names the snapshots that use them (none, if no snapshot did). %s",
								plural(l, "blob"), isAre(l), lostCounts(data, trees), lostBlobsRemedy(data, trees))
						} else {
							e.warnf("every blob they held is in another pack: nothing was lost")
						}
					}
					var msgs []string
					if n := len(res.DamagedHeaders); n > 0 {
						// An index that is whole again, over a pack that
						// is not: the run log and the exit code say so.
						ids := make([]string, 0, n)
						for _, id := range res.DamagedHeaders {
							ids = append(ids, id.String())
							addRecordError(rec, "header cannot be read: pack "+id.String())
						}
						msgs = append(msgs, fmt.Sprintf("%d pack(s) have a header that cannot be read (listed above): 'cadang repair packs %s' takes them out, salvaging every blob another copy or the pack itself still gives", n, strings.Join(ids, " ")))
					}
					if l := len(res.LostBlobs); l > 0 {
						// Data is gone, as with 'repair packs' that
						// lost blobs: the record keeps which packs.
						for _, id := range res.MissingPacks {
							addRecordError(rec, "pack is gone: "+id.String())
						}
						msgs = append(msgs, fmt.Sprintf("%s held only in packs that are gone %s lost (listed above); 'cadang check' names the snapshots that used them", plural(l, "blob"), isAre(l)))
					}
					if len(msgs) > 0 {
						rec.Failure = runlog.KindIntegrity
						return &partialError{Kind: runlog.KindIntegrity, Msg: strings.Join(msgs, "; ")}
					}
					return nil
				})
			},
		}, repairPacksCommand(), repairRecordsCommand(), repairForgottenCommand()},
	}
}

// repairPacksCommand is `repair packs`: damaged packs taken out of the
// repository (repo.RepairPacks) without losing a blob that any copy gives.
func repairPacksCommand() *cli.Command {
	return &cli.Command{
		Name:      "packs",
		Usage:     "take damaged packs out of the repository, keeping every blob another copy or the pack itself still gives",
		ArgsUsage: "PACK-ID...",
		Description: `Use it on the packs that 'cadang check --read-data' reports as damaged: a medium that rotted, or a pack
uploaded with the password that names blobs with wrong bytes (through an append-only server too).

For every blob of the named packs it reads another copy back; a blob with no intact copy elsewhere that
still opens from the damaged pack is stored again in a new pack. Then each pack's bytes are written into
--keep-dir/REPOSITORY-ID/, the index stops naming the pack, and the pack is deleted. A pack that turns out
whole is left alone; a pack in a newer format stops the repair before anything changes; a damaged pack
whose blobs nothing names has nothing to salvage and is removed the same way. Blobs that no copy gives are
listed: the snapshots that use them are damaged (check names them) until a backup of the same content
stores them again. Exits 3 when some blob was lost or a pack's blobs were not known.
Takes an exclusive lock. A server that refuses deletions (cadang serve --append-only) is refused up front:
repair on the backup host, against the repository's directory.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "keep-dir", Usage: "where the packs' bytes are kept, in `DIR`/REPOSITORY-ID/ (default: beside the run log, its name with .damaged)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() == 0 {
				return errors.New("repair packs: give the IDs of the damaged packs ('cadang check --read-data' names them)")
			}
			return e.recorded(c.Context, runlog.OpRepair, func(ctx context.Context, rec *runlog.Record) error {
				st, err := e.loadSOP(false)
				if err != nil {
					return fmt.Errorf("repair packs: %w", err)
				}
				keepDir := c.String("keep-dir")
				if keepDir == "" {
					keepDir = strings.TrimSuffix(st.log.Path(), ".jsonl") + ".damaged"
				}
				r, err := e.openRepo(ctx, repo.Options{Lock: repo.ExclusiveLock})
				if err != nil {
					return err
				}
				defer e.keepRepo(r)()
				if err := r.RefuseAppendOnly("repair packs"); err != nil {
					return err
				}
				packs, err := resolvePackIDs(ctx, r, c.Args().Slice())
				if err != nil {
					return err
				}
				// The keep directory is made before anything is read: a
				// repair that salvaged and then could not keep would stop
				// half-way.
				dir := filepath.Join(keepDir, r.Config().ID)
				if err := keep.MkdirSynced(dir); err != nil {
					return fmt.Errorf("repair packs: the directory for the packs' bytes: %w", err)
				}
				res, err := r.RepairPacks(ctx, packs, repo.RepairPacksOptions{Logf: e.logf, Keep: func(p repo.ID, b []byte) error {
					if err := keep.File(filepath.Join(dir, p.String()), b); err != nil {
						return err
					}
					return keep.SyncDir(dir)
				}})
				if res != nil && len(res.Removed)+len(res.Missing) > 0 {
					rec.Note = runlog.NewNote("repair-packs", len(res.Removed)+len(res.Missing), dir, res.Covered, res.Salvaged, len(res.Lost))
				}
				if err != nil {
					return err
				}
				trees := 0
				for _, h := range res.Lost {
					if h.Type == repo.TreeBlob {
						trees++
					}
					addRecordError(rec, fmt.Sprintf("lost: %s blob %s", h.Type, h.ID))
				}
				if e.json {
					lost := make([]string, 0, len(res.Lost))
					for _, h := range res.Lost {
						lost = append(lost, h.Type.String()+" "+h.ID.String())
					}
					if err := e.printJSON(map[string]any{"message_type": "repair_packs", "removed": idStrings(res.Removed),
						"missing": idStrings(res.Missing), "intact": idStrings(res.Intact), "unknown": idStrings(res.Unknown), "covered": res.Covered,
						"salvaged": res.Salvaged, "lost": lost, "kept": dir}); err != nil {
						return err
					}
				} else {
					for _, p := range res.Intact {
						fmt.Fprintf(e.stdout, "pack %s is whole: left alone\n", p)
					}
					for _, p := range res.Missing {
						fmt.Fprintf(e.stdout, "pack %s did not exist: taken out of the index\n", p)
					}
					for _, p := range res.Unknown {
						fmt.Fprintf(e.stdout, "pack %s: its header cannot be read and no index names its blobs: nothing could be salvaged from it\n", p)
					}
					for _, p := range res.Removed {
						fmt.Fprintf(e.stdout, "removed pack %s (its bytes are in %s)\n", p, filepath.Join(dir, p.String()))
					}
					const show = 20
					for i, h := range res.Lost {
						if i == show {
							fmt.Fprintf(e.stdout, "... and %d more lost blob(s) (--json lists them all)\n", len(res.Lost)-show)
							break
						}
						fmt.Fprintf(e.stdout, "lost: %s blob %s (no intact copy)\n", h.Type, h.ID)
					}
					if n := len(res.Removed) + len(res.Missing); n == 0 {
						fmt.Fprintln(e.stdout, "nothing removed: every pack named is whole")
					} else {
						fmt.Fprintf(e.stdout, "%d pack(s) removed: %d blob(s) had an intact copy elsewhere, %d were stored again from the damaged packs, %d lost\n",
							n, res.Covered, res.Salvaged, len(res.Lost))
					}
				}
				if n := len(res.Unknown); n > 0 && len(res.Lost) == 0 {
					rec.Failure = runlog.KindIntegrity
					return &partialError{Kind: runlog.KindIntegrity, Msg: fmt.Sprintf("%d pack(s) whose blobs are not known were removed (listed above; their bytes are kept): 'cadang check' names any snapshot that needed them; if another rotation medium holds those files, restore them from there and back them up again", n)}
				}
				if n := len(res.Lost); n > 0 {
					rec.Failure = runlog.KindIntegrity
					msg := fmt.Sprintf("%d blob(s) could not be saved from any copy (listed above): 'cadang check' names the snapshots and files that use them, and how to get them back from another medium. A lost data blob also comes back with the next backup of the same file, if the file is still on the server", n)
					if trees > 0 {
						msg += fmt.Sprintf("; %d of them are trees (directory listings), which a backup stores again only where the directory and everything under it are unchanged since the snapshot: restore what the snapshots that use them still give, and copy them back from another medium ('cadang check' says how) or forget them, or prune refuses to run", trees)
					}
					return &partialError{Kind: runlog.KindIntegrity, Msg: msg}
				}
				return nil
			})
		},
	}
}

// resolvePackIDs turns the arguments into pack IDs: each a whole ID or a
// prefix of at least 8 hex digits that names one pack file.
func resolvePackIDs(ctx context.Context, r *repo.Repository, args []string) ([]repo.ID, error) {
	var all []repo.ID
	if err := r.ListFiles(ctx, repo.PackFile, func(id repo.ID) error { all = append(all, id); return nil }); err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	var out []repo.ID
	for _, a := range args {
		a = strings.ToLower(strings.TrimSpace(a))
		if id, err := repo.ParseID(a); err == nil {
			out = append(out, id)
			continue
		}
		if len(a) < 8 {
			return nil, fmt.Errorf("repair packs: %q: give the pack's ID, or at least its first 8 hex digits", a)
		}
		var match []repo.ID
		for _, id := range all {
			if strings.HasPrefix(id.String(), a) {
				match = append(match, id)
			}
		}
		switch len(match) {
		case 0:
			return nil, fmt.Errorf("repair packs: no pack file starts with %q", a)
		case 1:
			out = append(out, match[0])
		default:
			return nil, fmt.Errorf("repair packs: %d pack files start with %q: give more digits", len(match), a)
		}
	}
	return out, nil
}

// repairRecordsCommand is `repair records`: the damaged run-log files
// taken out of the repository (runlog.Log.RepairStore), so that check
// stops failing on a file whose records are safe again.
func repairRecordsCommand() *cli.Command {
	return &cli.Command{
		Name:  "records",
		Usage: "take damaged run-log files out of the repository, keeping their bytes",
		Description: `check and log verify report a run-log file in the repository whose bytes do not match its name, or
that does not decrypt, in every run for as long as it is there. This command puts back what it can first:
each damaged file of which this host kept a copy when it was intact is saved again from that copy (check
keeps the copies of damaged heads; the damaged records it copies in again itself), and every record of
the local run log that the repository lacks intact is copied in. Then it writes each damaged file's bytes,
as they were stored, into --keep-dir/REPOSITORY-ID/ and only then removes the file. The repair is recorded
in the run log. Takes an exclusive lock.

It refuses, removing nothing, when a damaged file has no copy on this host and either the local run log
holds no record of the repository (the run log of another user, or a lost one) or the repository also
holds another host's or user's run log: the file may be what only that run log can put back, such as its
newest head. Run the repair there first; --force removes the file all the same. A server that refuses
deletions (cadang serve --append-only) is refused up front: repair on the backup host, against the
repository's directory.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "keep-dir", Usage: "where the damaged files' bytes are kept, in `DIR`/REPOSITORY-ID/ (default: beside the run log, its name with .damaged)"},
			&cli.BoolFlag{Name: "force", Usage: "also remove damaged files that nothing on this host can put back"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			return e.recorded(c.Context, runlog.OpRepair, func(ctx context.Context, rec *runlog.Record) error {
				st, err := e.loadSOP(false) // an invalid configuration may name another run log: stop
				if err != nil {
					return fmt.Errorf("repair records: %w", err)
				}
				o := runlog.RepairOptions{KeepDir: c.String("keep-dir"), Force: c.Bool("force")}
				if o.KeepDir == "" {
					o.KeepDir = strings.TrimSuffix(st.log.Path(), ".jsonl") + ".damaged"
				}
				return e.withRepo(ctx, true, func(r *repo.Repository) error {
					if err := r.RefuseAppendOnly("repair records"); err != nil {
						return err
					}
					rep, err := st.log.RepairStore(ctx, r, o)
					if len(rep.Removed) > 0 || rep.Copied > 0 || rep.Resaved > 0 {
						rec.Note = runlog.NewNote("repair-records", len(rep.Removed), rep.Kept, rep.Resaved, rep.Copied)
					}
					if e.json {
						if jerr := e.printJSON(map[string]any{"message_type": "repair_records", "damaged": idStrings(rep.Damaged),
							"removed": idStrings(rep.Removed), "resaved": rep.Resaved, "copied": rep.Copied, "kept": rep.Kept}); jerr != nil && err == nil {
							err = jerr
						}
						return err
					}
					for _, id := range rep.Removed {
						fmt.Fprintf(e.stdout, "removed damaged run-log file records/%s (its bytes are in %s)\n", id, filepath.Join(rep.Kept, id.String()))
					}
					switch {
					case err != nil:
					case len(rep.Damaged) == 0:
						fmt.Fprintln(e.stdout, "no damaged run-log file in the repository")
					default:
						fmt.Fprintf(e.stdout, "%d damaged run-log file(s) removed; first %d saved again from the copies kept on this host and %d record(s) of the local run log copied in\n",
							len(rep.Removed), rep.Resaved, rep.Copied)
					}
					return err
				})
			})
		},
	}
}

func idStrings(ids []repo.ID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.String())
	}
	return out
}

// repairForgottenCommand is `repair forgotten`: the forgotten files that
// cannot be read (snapshot.RemoveUnreadableForgotten) taken out, so that
// check and copies stop reporting them.
func repairForgottenCommand() *cli.Command {
	return &cli.Command{
		Name:  "forgotten",
		Usage: "remove the records of forgotten snapshots that cannot be read",
		Description: `A forget by a retention policy records the snapshots it removed in forgotten/, so that a copy into
the repository does not bring them back. A file there that cannot be read (damaged on the medium, or junk uploaded to an
append-only server) is reported by check and by every copy into the repository. This command reads each
such file once more and removes those that still cannot be read. What a removed file recorded may be
copied into the repository again by a later copy; forget it again if so. Takes a shared lock.`,
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			return e.recorded(c.Context, runlog.OpRepair, func(ctx context.Context, rec *runlog.Record) error {
				if err := e.needLock("repair forgotten"); err != nil {
					return err
				}
				return e.withRepo(ctx, false, func(r *repo.Repository) error {
					defer e.keepRepo(r)()
					if err := r.RefuseAppendOnly("repair forgotten"); err != nil {
						return err
					}
					removed, err := snapshot.RemoveUnreadableForgotten(ctx, r)
					out := []string{}
					for _, id := range removed {
						out = append(out, id.String())
						if !e.json {
							fmt.Fprintf(e.stdout, "removed forgotten file %s, which cannot be read\n", id.Short())
						}
					}
					rec.Note = runlog.NewNote("repair-forgotten", len(removed))
					if err != nil {
						return err
					}
					if e.json {
						return e.printJSON(map[string]any{"message_type": "repair_forgotten", "removed": out})
					}
					if len(removed) == 0 {
						fmt.Fprintln(e.stdout, "every forgotten file can be read; nothing was removed")
					}
					return nil
				})
			})
		},
	}
}
