package main

// The run log's verification and keys (`log verify`, `log key`) and the
// signatures of the SOP documents (`report ... --sign`, `report verify`).
// The logic is in internal/sop/runlog, sigkey and docsign.

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"github.com/lpse/cadang/internal/sop/i18n"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/sop/docsign"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo/backend/location"
)

func logVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check that no record of the run log was altered, removed, reordered or forged",
		Description: `Checks the signatures and the hash chain of the local mirror and, with --repo or --job (the job's
connected medium), of the copy in the repository, and compares the two.

Every record is signed with this host's key (see 'cadang log key'), and countersigned with the
operator's key when --sign-key was given; a record signed by another key is an error (one line per key,
with how many records it signed) unless the key is trusted: --trust-key KEY (a global option, before or
after the command, repeatable; also CADANG_TRUST_KEY, comma-separated, or [log] trust_keys in the
configuration), KEY being the fingerprint that 'cadang log key' prints on the host that signed. Where two
hosts record runs of one repository (an append-only server: the client backs up, the backup host runs
forget and prune), each trusts the other's key. Records without a signature pass only before the first signed one (they were
written before signing was introduced). A record that names the repository and is missing there, or a
record of the repository missing locally, is an error, unless the copy is known to have failed (the
medium was absent or full when the run was recorded: a warning that says so). The repository keeps
signed heads of the chain: a head that the local chain does not match (the local log was rewritten),
a repository older than the log's last record for it, or a snapshot in it that a recorded forget
removed (an older copy of the medium put back) is an error; a repository put back on purpose is
accepted from then on with --accept-rollback. That accepts its run-log heads, not a snapshot that a
recorded forget removed and that the older copy still holds: that stays an error here and in 'check'
until 'cadang forget ID' removes it again (the note at the end prints the command for all of them).

Records that stand in the local file out of their sequence are reordered, an error: while the local
log has an error, no head of it is written into any repository. A record logged earlier than the record
before it is a clock-back warning (how far back, between which records): the chain, which it extends,
proves the order, and the time is the clock's, which stepped back (an NTP correction, a wrong hardware
clock after a power cut: check timedatectl, NTP or chrony, and hwclock); the next run writes its head as usual, also into a log that an older cadang
found "reordered" for that reason. 'cadang status' warns of both.

--expect-head HASH checks the chain against a head written down earlier (the footer of every report
prints it, all 64 digits): a rewrite of the whole log, both copies, does not keep it.

Exit code 0 when nothing is wrong (warnings aside), 1 otherwise; the first bad record is named.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "job", Usage: "also verify the copy on the connected medium of `JOB`"},
			&cli.StringFlag{Name: "expect-head", Usage: "the chain must hold the record whose hash is `HASH` (64 hex digits, from a report or minutes)"},
			&cli.BoolFlag{Name: "accept-rollback", Usage: "the repository is an older copy put back on purpose (e.g. restored from the offsite medium): accept its run-log heads as they are from now on (snapshots that recorded forgets removed stay errors until 'cadang forget ID')"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			st, err := e.loadSOP(c.String("job") != "")
			if err != nil {
				return err
			}
			o := runlog.VerifyOptions{ExpectHead: c.String("expect-head")}
			st.runLogChecked = map[string]bool{"*": true} // said below, as findings
			var store runlog.RecordStore
			where := c.String("repo")
			copyName := "" // which medium's copy was verified, for the summary
			if c.String("job") != "" || c.String("repo") != "" {
				r, m, err := e.openSOPRepo(c.Context, st, c.String("job"))
				if err != nil {
					return err
				}
				defer r.Close()
				store = r
				copyName = st.termLang.T("log.repo_at", location.Redact(r.Backend().Location()))
				if m != nil {
					o.Medium = m.Name
					where = m.Repository
					copyName = st.termLang.T("log.repo_on_medium", m.Name, location.Redact(r.Backend().Location()))
				}
				if o.Snapshots, err = snapshotIDs(c.Context, r); err != nil {
					return err
				}
				if c.Bool("accept-rollback") {
					if _, err := st.log.AcceptRepository(c.Context, r); err != nil {
						return fmt.Errorf("--accept-rollback: %w", err)
					}
					e.warnf("repository %s accepted as it is: its head now follows the run log (a snapshot that a recorded forget removed and that it holds again is not accepted: 'cadang forget ID' removes it again)", shortID(r.ID()))
				}
			}
			vr, err := st.log.VerifyWith(c.Context, store, o)
			if err != nil {
				return err
			}
			if e.json {
				if err := e.printJSONLine(vr); err != nil {
					return err
				}
			} else {
				printVerifyReport(e, st.termLang, st.log, vr, o, copyName)
			}
			if !vr.OK() {
				n, damaged := 0, 0
				for _, f := range vr.Findings {
					if !f.Warning {
						n++
					}
					if f.Damaged {
						damaged++
					}
				}
				if damaged > 0 && !e.json {
					fmt.Fprintln(e.stdout, "note: 'cadang repair records' takes the damaged run-log files out of the repository, after it copies in again what the local run log holds, and keeps their bytes")
				}
				if ids := forgottenBack(vr); len(ids) > 0 && !e.json {
					// --accept-rollback accepts the heads; what clears these
					// is the forget that removed them, made again.
					fmt.Fprintf(e.stdout, "note: %d snapshot(s) that recorded forgets removed are back; if this medium was put back on purpose, remove them again with: cadang -r %s forget %s\n",
						len(ids), location.Redact(where), strings.Join(ids, " "))
				}
				return fmt.Errorf("log verify: %d problem(s) found", n)
			}
			if !e.json {
				fmt.Fprintln(e.stdout, st.termLang.T("log.intact"))
			}
			return nil
		},
	}
}

// forgottenBack returns the short IDs of the snapshots that the findings
// say a recorded forget removed and that are in the repository again.
func forgottenBack(vr *runlog.VerifyReport) []string {
	var ids []string
	for _, f := range vr.Findings {
		if f.Problem == runlog.Forgotten && len(f.Snapshot) >= 8 {
			ids = append(ids, f.Snapshot[:8])
		}
	}
	return ids
}

// printVerifyReport prints the findings and the summary of log verify in
// the terminal's language t (--lang): its fixed wording and each
// finding's detail (runlog Finding.In), the record IDs, file names and
// numbers in them as they are. --json keeps the English details. copyName
// names the repository copy verified (its medium and location), as one
// job's media share a mount point and the summary must say which disk was
// there.
func printVerifyReport(e *env, t i18n.Lang, l *runlog.Log, vr *runlog.VerifyReport, o runlog.VerifyOptions, copyName string) {
	for _, f := range vr.Findings {
		fmt.Fprintln(e.stdout, f.In(t))
	}
	if vr.First != nil {
		// Named, not repeated: its finding is printed in full above.
		fmt.Fprintln(e.stdout, t.T("log.first_bad", vr.First.HeadIn(t)))
	}
	fmt.Fprintln(e.stdout, t.T("log.local_summary", l.Path(), vr.Local.Records, dashIf(vr.Local.Head)))
	fmt.Fprintln(e.stdout, t.T("log.host_key", dashIf(vr.Key), l.KeyFile()))
	printSigners(e, t, "local", vr.Local)
	if o.ExpectHead != "" && vr.ExpectedSeq != 0 {
		fmt.Fprintln(e.stdout, t.T("log.expected_found", vr.ExpectedSeq))
	}
	if vr.Repo == nil {
		fmt.Fprintln(e.stdout, t.T("log.local_only"))
		return
	}
	fmt.Fprintf(e.stdout, "%s", t.T("log.repo_summary", copyName, vr.Repo.Records, vr.Repo.Heads))
	if h := vr.Repo.NewestHead; h != nil {
		fmt.Fprint(e.stdout, t.T("log.newest_head", h.Written.In(e.displayZone()).Format("2006-01-02 15:04 MST"), h.Seq, h.Hash, h.Last))
	}
	fmt.Fprintln(e.stdout)
	printSigners(e, t, "repository", *vr.Repo)
}

func printSigners(e *env, t i18n.Lang, copy string, s runlog.CopySummary) {
	for _, m := range []struct {
		key string
		by  map[string]int
	}{{"log.signed_by", s.Signers}, {"log.countersigned_by", s.Cosigners}} {
		fps := make([]string, 0, len(m.by))
		for fp := range m.by {
			fps = append(fps, fp)
		}
		sort.Strings(fps)
		for _, fp := range fps {
			fmt.Fprintln(e.stdout, t.T(m.key, t.T("log.copy_"+copy), m.by[fp], fp))
		}
	}
}

func logKeyCommand() *cli.Command {
	return &cli.Command{
		Name:  "key",
		Usage: "print this host's run-log signing key (created on first use), or --generate an operator's key",
		Description: `Prints the public half of the key that signs this host's run-log records, and its fingerprint:
write the fingerprint into the SOP's records, so that a verification elsewhere can name the key
(--trust-key FINGERPRINT). The private key is the file beside the local run log (mode 0600).

--generate FILE makes a new key for an operator, to keep on a removable token and give with
--sign-key FILE to countersign records and sign documents; openssl makes the same kind of key
(openssl genpkey -algorithm ed25519 -out FILE).`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "generate", Usage: "write a new operator key to `FILE` (must not exist)"}},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			var k ed25519.PrivateKey
			var file string
			if file = c.String("generate"); file != "" {
				var err error
				if k, err = sigkey.Generate(file, nil); err != nil {
					return err
				}
			} else {
				st, err := e.loadSOP(false)
				if err != nil {
					return err
				}
				if k, err = st.log.SigningKey(); err != nil {
					return err
				}
				file = st.log.KeyFile()
			}
			pub := sigkey.Public(k)
			if e.json {
				return e.printJSONLine(map[string]string{"public_key": sigkey.EncodePublic(pub), "fingerprint": sigkey.Fingerprint(pub), "file": file})
			}
			fmt.Fprintf(e.stdout, "public key:  %s\nfingerprint: %s\nprivate key: %s\n", sigkey.EncodePublic(pub), sigkey.Fingerprint(pub), file)
			return nil
		},
	}
}

// signFlag is the --sign flag of the document commands.
func signFlag() cli.Flag {
	return &cli.BoolFlag{Name: "sign", Usage: "also write FILE.sig, an ed25519 signature over the document's bytes (with --sign-key's key, else this host's run-log key); check it with 'report verify'"}
}

// signDoc writes the detached signature of the document b written to
// output, when --sign asks for it.
func (e *env) signDoc(c *cli.Context, output string, b []byte) error {
	if !c.Bool("sign") {
		return nil
	}
	st, err := e.loadSOP(false)
	if err != nil {
		return err
	}
	k, err := e.documentKey(st.log)
	if err != nil {
		return err
	}
	sig := output + ".sig"
	if err := os.WriteFile(sig, docsign.Sign(k, filepath.Base(output), b), 0o640); err != nil {
		return fmt.Errorf("--sign: %w", err)
	}
	e.logf("%s", st.termLang.T("term.wrote_sig", sig, sigkey.Fingerprint(sigkey.Public(k))))
	return nil
}

// documentKey is the key that signs documents: the operator's (--sign-key)
// if given, else the host's run-log key.
func (e *env) documentKey(l *runlog.Log) (ed25519.PrivateKey, error) {
	if f := e.c.String("sign-key"); f != "" {
		k, err := sigkey.Load(f)
		if err != nil {
			return nil, fmt.Errorf("--sign-key: %w", err)
		}
		return k, nil
	}
	return l.SigningKey()
}

func reportVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check the signature (FILE.sig) of a document written with --sign",
		ArgsUsage: "FILE",
		Description: `Checks that FILE is, byte for byte, the document that was signed, and that the key that signed
it is this host's run-log key, the --sign-key key, one given with --trust-key, or the one named with
--key (its fingerprint, e.g. from the minutes). Exit code 0 when it is, 1 otherwise.

This shows that the file was not changed after cadang wrote it. It is not a certified electronic
signature (UU ITE, PP 71/2019): that is a separate step, done by the signatories.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "sig", Usage: "the signature `FILE` (default: FILE.sig)"},
			&cli.StringSliceFlag{Name: "key", Usage: "accept a signature by `KEY` (fingerprint or hex public key)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			if c.NArg() != 1 {
				return errors.New("give one FILE")
			}
			file := c.Args().First()
			sigFile := c.String("sig")
			if sigFile == "" {
				sigFile = file + ".sig"
			}
			doc, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			sb, err := os.ReadFile(sigFile)
			if err != nil {
				return fmt.Errorf("signature: %w", err)
			}
			s, err := docsign.Verify(doc, sb)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			who, err := e.whoseKey(s.Key, c.StringSlice("key"))
			if err != nil {
				return fmt.Errorf("%s: the signature holds, but %w", file, err)
			}
			if e.json {
				return e.printJSONLine(map[string]any{"file": file, "ok": true, "fingerprint": s.Fingerprint(), "key": who})
			}
			fmt.Fprintf(e.stdout, "%s: good signature by key %s (%s)\n", file, s.Fingerprint(), who)
			return nil
		},
	}
}

// whoseKey says which trusted key pub is, or why it is not trusted.
func (e *env) whoseKey(pub ed25519.PublicKey, accept []string) (string, error) {
	for _, a := range accept {
		if sigkey.MatchFingerprint(a, pub) {
			return "given with --key", nil
		}
	}
	for _, a := range e.c.StringSlice("trust-key") {
		if sigkey.MatchFingerprint(a, pub) {
			return "given with --trust-key", nil
		}
	}
	if f := e.c.String("sign-key"); f != "" {
		if k, err := sigkey.Load(f); err == nil && sigkey.Public(k).Equal(pub) {
			return "the --sign-key key", nil
		}
	}
	if st, err := e.loadSOP(false); err == nil {
		if k, err := sigkey.Load(st.log.KeyFile()); err == nil && sigkey.Public(k).Equal(pub) {
			return "this host's run-log key", nil
		}
	}
	return "", fmt.Errorf("it was made by key %s, which is not this host's key; if the minutes name that key, give --key %s", sigkey.Fingerprint(pub), sigkey.Fingerprint(pub))
}
