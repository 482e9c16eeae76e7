package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/ui"
	"github.com/lpse/cadang/internal/units"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/checker"
)

// parseSubset parses --read-data-subset: "N%" or "n/t".
func parseSubset(s string) (repo.CheckOptions, error) {
	var o repo.CheckOptions
	o.ReadData = true
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || !(f > 0 && f <= 100) { // NaN passes f <= 0 || f > 100
			return o, fmt.Errorf("--read-data-subset %q: percentage must be in (0, 100]", s)
		}
		if f < 100 {
			o.SubsetFraction = f / 100
		}
		return o, nil
	}
	n, t, ok := strings.Cut(s, "/")
	if !ok {
		return o, fmt.Errorf("--read-data-subset %q: use N%% or n/t", s)
	}
	var err1, err2 error
	o.SubsetPart, err1 = strconv.Atoi(n)
	o.SubsetTotal, err2 = strconv.Atoi(t)
	if err1 != nil || err2 != nil || o.SubsetTotal < 1 || o.SubsetPart < 1 || o.SubsetPart > o.SubsetTotal {
		return o, fmt.Errorf("--read-data-subset %q: n/t needs 1 <= n <= t", s)
	}
	return o, nil
}

// checkResult is what `check --json` prints.
type checkResult struct {
	MessageType    string   `json:"message_type"` // "summary"
	OK             bool     `json:"ok"`
	Snapshots      int      `json:"snapshots"`
	Packs          int      `json:"packs"`
	PacksRead      int      `json:"packs_read"`
	BlobsIndexed   int      `json:"blobs_indexed"`
	BlobsRead      int      `json:"blobs_read"`
	BytesRead      int64    `json:"bytes_read"`
	UnindexedPacks int      `json:"unindexed_packs"`
	Problems       []string `json:"problems"`
	// DamagedPacks counts the packs found damaged, each once however many
	// of its bytes, its header and its blobs the problems name, and
	// OtherProblems the problems not about them: the "check found" line
	// counts the same.
	DamagedPacks  int `json:"damaged_packs,omitempty"`
	OtherProblems int `json:"other_problems,omitempty"`
	// Unsupported lists the trees of a newer format, which were not
	// checked (not damage; a newer cadang reads them).
	Unsupported []string `json:"unsupported,omitempty"`
	// LostInMissingPacks counts, by type, the blobs that the index places
	// only in packs that are gone (the text's "(N data blobs and M tree
	// blobs: directory listings)").
	LostInMissingPacks *blobCounts `json:"lost_in_missing_packs,omitempty"`
	// DamagedBlobUsers names, by snapshot, the paths that use a blob
	// found damaged that no other copy holds (check --read-data).
	DamagedBlobUsers []damagedUsers `json:"damaged_blob_users,omitempty"`
	// OtherMediumIDs gives, for each snapshot that uses a lost or damaged
	// blob, the ID to give another medium (the text's "give OTHER the ID").
	OtherMediumIDs []otherMediumID `json:"other_medium_ids,omitempty"`

	// advice are the keys of the notes printed (checkAdvice), lost the
	// findings of snapshots that use lost blobs and moreLost how many more
	// uses there are than lost names: for the run-log record.
	advice   []string
	lost     []repo.Problem
	moreLost int
}

// blobCounts counts blobs by type.
type blobCounts struct {
	Data int `json:"data"`
	Tree int `json:"tree"`
}

func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "check the repository for errors",
		Description: `The structural check confirms that every blob a snapshot references is indexed, that every indexed
blob is listed in its pack's header, and that every tree decodes. --read-data also reads every pack,
opens its header, and decrypts and re-hashes every blob, which together authenticate every byte of it (a
pack's SHA-256 is compared with its name only where that is not enough: see doc/design.md §6, "Checking
a whole pack"). --read-data-subset does that for a random N% of the packs, or for part n of t (run
n = 1..t on successive days to cover everything). Where it finds blobs damaged that no other copy holds,
it names the snapshots and files that use them (ten a snapshot, then a count; damaged_blob_users in --json).
Exit code 0 means no problem was found.`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "read-data", Usage: "read, decrypt and verify all data"},
			&cli.StringFlag{Name: "read-data-subset", Usage: "read only a subset: `N%` or n/t"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			var o repo.CheckOptions
			if s := c.String("read-data-subset"); s != "" {
				var err error
				if o, err = parseSubset(s); err != nil {
					return err
				}
			}
			if c.Bool("read-data") {
				o = repo.CheckOptions{ReadData: true}
			}
			return e.recorded(c.Context, runlog.OpCheck, func(ctx context.Context, rec *runlog.Record) error {
				// Check compares the repository with the run log at its
				// end and fails on what it finds (runCheck): compared
				// when it opens too, it said the same twice and read the
				// whole run log once more.
				if st, err := e.loadSOPForRecords(); err == nil {
					st.runLogChecked = map[string]bool{"*": true}
				}
				// The index and the packs in flight need about as much
				// memory as argon2id has just used. A collection frees
				// it for them; handing it back to the system made them
				// fault fresh pages in again, which on this project's
				// 2-core VM cost 7% of a full check's wall time (peak
				// RSS +0.6 MiB; bench/README.md, "Round two, ninth
				// session"). A backup hands it back: its pipeline would
				// otherwise keep 1.8 MiB more (a restore gained nothing).
				e.afterUnlock = runtime.GC
				return e.withRepo(ctx, false, func(r *repo.Repository) error {
					return runCheck(c, e, o, r, rec)
				})
			})
		},
	}
}

// runCheck checks the open repository, prints the result and fills in the
// run-log record.
func runCheck(c *cli.Context, e *env, o repo.CheckOptions, r *repo.Repository, rec *runlog.Record) error {
	res := checkResult{MessageType: "summary"}
	defer func() { recordCheck(rec, o, &res) }()
	switch {
	case o.SubsetFraction > 0:
		e.logf("checking snapshots' trees, packs and the data of %s of the packs, chosen at random (at least one)", c.String("read-data-subset"))
	case o.SubsetTotal > 0:
		e.logf("checking snapshots' trees, packs and the data of part %d of %d of the packs", o.SubsetPart, o.SubsetTotal)
	case o.ReadData:
		e.logf("checking snapshots' trees, packs and all data")
	default:
		e.logf("checking snapshots' trees and packs")
	}
	var counter *ui.Counter
	if o.ReadData {
		counter = ui.NewCounter(e.rawStderr, ui.ChooseMode(e.rawStderr, false, e.quiet || e.json), "check")
		o.Progress = func(done, total int, n int64) {
			counter.SetTotals(uint64(total), 0)
			counter.AddFile()
		}
	}
	rep, err := checker.Check(c.Context, r, o)
	if counter != nil {
		counter.Done()
	}
	if err != nil {
		// What the run log says of the repository is still said, as the
		// other commands say it when they open one.
		if c.Context.Err() == nil {
			for _, p := range e.runLogProblems(c.Context, r) {
				e.warnf("%s", p)
			}
		}
		return err
	}
	cr := rep.Packs
	res.Snapshots = rep.Snapshots
	res.Packs, res.PacksRead, res.BlobsIndexed, res.BlobsRead, res.BytesRead = cr.Packs, cr.PacksRead, cr.Blobs, cr.BlobsRead, cr.BytesRead
	res.UnindexedPacks = len(cr.UnindexedPacks)
	for _, p := range rep.Problems { // nil when none, printed as null as before
		res.Problems = append(res.Problems, p.Error())
	}
	// A repository older than the run log says (a copy put back) is an
	// error of check, though its contents are sound. A damaged record file
	// is compared, and copied in again at the end of this run, as missing.
	e.forgetDamagedRecords(r, rep.Problems)
	res.Problems = append(res.Problems, e.runLogProblems(c.Context, r)...)
	packs, findings := packDamage(rep.Problems)
	res.DamagedPacks, res.OtherProblems = packs, len(res.Problems)-findings
	for _, p := range rep.Unsupported {
		res.Unsupported = append(res.Unsupported, p.Error())
	}
	res.OK = len(res.Problems) == 0 && len(res.Unsupported) == 0
	if filesOfKind(rep.Problems, repo.ProblemPackMissing) > 0 {
		data, trees := lostInMissingPacks(r.Index(), rep.Problems)
		res.LostInMissingPacks = &blobCounts{Data: data, Tree: trees}
	}
	res.DamagedBlobUsers = groupUsers(rep.DamagedBlobUsers, maxPathsPerSnapshot)
	for i := range res.DamagedBlobUsers {
		res.DamagedBlobUsers[i].MorePaths += rep.DamagedBlobUsersMore[res.DamagedBlobUsers[i].Snapshot]
	}
	lost := lostFindings(rep.Problems, rep.DamagedBlobUsers)
	res.lost = lost
	for _, n := range rep.DamagedBlobUsersMore {
		res.moreLost += n
	}
	// Blobs the index lacks while packs are not in it may well be in
	// them: no ID is named for another medium then, in the text either.
	maybeUnindexed := hasKind(rep.Problems, repo.ProblemBlobNotIndexed) && res.UnindexedPacks > 0
	if !maybeUnindexed {
		res.OtherMediumIDs = otherMediumIDs(c.Context, r, lost)
	}
	res.advice = checkAdvice(rep, res.UnindexedPacks, lost, maybeUnindexed)
	advised := func(key string) bool { return slices.Contains(res.advice, key) }
	if e.json {
		if err := e.printJSON(res); err != nil {
			return err
		}
	} else {
		for _, p := range res.Problems {
			fmt.Fprintf(e.stdout, "error: %s\n", cellText(p))
		}
		for _, p := range res.Unsupported {
			fmt.Fprintf(e.stdout, "unsupported: %s\n", p)
		}
		if advised(adviceOversized) {
			packs := oversizedPacks(rep.Problems)
			fmt.Fprintf(e.stdout, "note: %s %s\n", strings.Join(packs, " "), oversizedPackAdvice)
		}
		if advised(adviceRepairPacks) {
			packs := damagedPacks(rep.Problems, rep.Unsupported)
			named := "'cadang check' after it names the snapshots and files that used them"
			if len(res.DamagedBlobUsers) > 0 {
				named = "the snapshots and files that use them are named below"
			}
			fmt.Fprintf(e.stdout, "note: 'cadang repair packs %s' takes the damaged pack(s) out, keeping every blob that another copy or the pack itself still gives (and the packs' bytes, outside the repository); it lists the blobs that no copy gives, and %s\n", strings.Join(packs, " "), named)
		}
		printDamagedUsers(e, res.DamagedBlobUsers)
		then := ""
		if advised(adviceRepairPacks) {
			then = ", after 'repair packs' above"
		}
		switch {
		case advised(adviceIndexUnreadable):
			n := damagedFiles(rep.Problems, repo.IndexFile)
			fmt.Fprintf(e.stdout, "note: %d index file(s) cannot be read: other commands pass over them with a warning (a backup may store again what only they name), while prune and 'repair packs' refuse to run unless each is junk that was never sealed with this repository's key; 'cadang repair index'%s rebuilds the index from the packs' own headers without them\n", n, then)
		case advised(adviceMissingPacks):
			missing := filesOfKind(rep.Problems, repo.ProblemPackMissing)
			// Until the index stops naming them, no snapshot shows as
			// damaged: say what is lost and how to see which.
			data, trees := lostInMissingPacks(r.Index(), rep.Problems)
			fmt.Fprintf(e.stdout, "note: %s the index names %s gone, and the blobs held only there are lost%s: 'cadang repair index'%s rebuilds the index from the packs that exist and counts the blobs lost, "+
				"then 'cadang check' names the snapshots that used them. %s\n",
				plural(missing, "pack"), isAre(missing), lostCounts(data, trees), then, lostBlobsRemedy(data, trees))
		case advised(adviceRepairIndex):
			fmt.Fprintf(e.stdout, "note: the index disagrees with the packs: 'cadang repair index'%s rebuilds it from the packs' own headers\n", then)
		}
		if advised(adviceObsolete) {
			n := damagedFiles(rep.Problems, repo.ObsoleteFile)
			fmt.Fprintf(e.stdout, "note: %d obsolete-pack file(s) cannot be read, and prune refuses to run until 'cadang repair index' removes them: their packs become ordinary packs again, and the next prune decides on them anew\n", n)
		}
		if slices.ContainsFunc(rep.Unsupported, func(p repo.Problem) bool { return p.File.Type == repo.IndexFile }) {
			// Sealed with the key: a newer cadang, or someone holding the
			// password.
			fmt.Fprintln(e.stdout, "note: prune and 'repair packs' refuse to run while an index file is of a newer format; if no newer cadang wrote to this repository, someone holding the password did: 'cadang repair index' rebuilds the index from the packs' own headers without it")
		}
		switch {
		case advised(adviceMaybeUnindexed):
			// The blobs may well be in those packs: a damaged index file
			// is no loss, and forget would be.
			fmt.Fprintf(e.stdout, "note: the snapshots named above use blobs the index does not name, and %d pack(s) are not in the index (an index file was lost or cannot be read, or a backup was interrupted): the blobs may be in them. 'cadang repair index'%s indexes again every such pack whose header can be read and names the others, for 'cadang repair packs'; check again after it\n", res.UnindexedPacks, then)
		case len(lost) > 0:
			printLostBlobAdvice(e, lost, res.OtherMediumIDs)
		}
		if advised(adviceSnapshotFile) {
			fmt.Fprintln(e.stdout, "note: a snapshot file that cannot be read stays, and is reported, until 'cadang forget ID' removes it; prune refuses to run until then, unless the file is junk that was never sealed with this repository's key")
		}
		if advised(adviceProtectFile) {
			fmt.Fprintln(e.stdout, "note: forget refuses to run while a protection file cannot be read, unless it is junk that was never sealed with this repository's key; 'cadang protect --remove-unreadable' removes such files (then protect again any snapshot that must stay)")
		}
		if advised(adviceKeyFile) {
			fmt.Fprintln(e.stdout, "note: a key file that cannot be read opens nothing; 'cadang key list' names it and 'cadang key remove ID' removes it")
		}
		if slices.ContainsFunc(rep.Unsupported, func(p repo.Problem) bool { return p.File.Type == repo.KeyFile }) {
			fmt.Fprintln(e.stdout, "note: a key file of a newer format opens only with a newer cadang; if none added it (anyone who can upload a file can), 'cadang key remove ID' removes it")
		}
		if advised(adviceForgottenFile) {
			fmt.Fprintln(e.stdout, "note: a record of forgotten snapshots that cannot be read only lets a copy bring back what it recorded; 'cadang repair forgotten' removes such files")
		}
		if advised(adviceRecordFile) {
			fmt.Fprintln(e.stdout, "note: a damaged run-log file stays in the repository, and is reported by every check, until 'cadang repair records' takes it out (it first copies in again what the local run log holds, and keeps the file's bytes)")
		}
		if advised(adviceUnindexed) {
			fmt.Fprintf(e.stdout, "note: %d pack(s) are not in the index (left by an interrupted backup, or their index file was lost); the next backup adopts those whose header it can read\n", res.UnindexedPacks)
		}
		if n := len(cr.TempFiles); n > 0 {
			fmt.Fprintf(e.stdout, "warning: %d temporary file(s) older than %v were left by interrupted saves; the next 'cadang prune' or 'repair index' removes them\n", n, repo.TempSweepAge)
		}
		fmt.Fprintf(e.stdout, "%s, %s, %s indexed", plural(res.Snapshots, "snapshot"), plural(res.Packs, "pack"), plural(res.BlobsIndexed, "blob"))
		if o.ReadData {
			fmt.Fprintf(e.stdout, "; read %s (%s), %s verified", plural(res.PacksRead, "pack"), units.FormatBytes(res.BytesRead), plural(res.BlobsRead, "blob"))
		}
		fmt.Fprintln(e.stdout)
	}
	if len(res.Problems) > 0 {
		// The record's note says it in each document's language.
		return runlog.Noted(runlog.Fail(runlog.KindIntegrity, errors.New(foundText(res.DamagedPacks, res.OtherProblems))))
	}
	if n := len(res.Unsupported); n > 0 {
		// Not damage (doc/design.md §13): errclass tells the administrator
		// to use a newer cadang.
		return fmt.Errorf("check found no damage, but %d file(s) or tree(s) written by a newer cadang were not checked: %w", n, repo.ErrUnsupportedVersion)
	}
	if !e.json {
		fmt.Fprintln(e.stdout, "no errors were found")
	}
	return nil
}

// packDamage counts the packs found damaged and the findings about them:
// a pack cut short is named for its hash, its header and each blob cut
// off, and is one damaged pack.
func packDamage(ps []repo.Problem) (packs, findings int) {
	seen := map[string]bool{}
	for _, p := range ps {
		if p.File.Type != repo.PackFile || p.File.Name == "" || (p.Kind != repo.ProblemFileDamaged && p.Kind != repo.ProblemBlobDamaged) {
			continue
		}
		findings++
		if !seen[p.File.Name] {
			seen[p.File.Name] = true
			packs++
		}
	}
	return packs, findings
}

// foundText says what a failed check found: the damaged packs, each once,
// and the other problems.
func foundText(packs, others int) string {
	switch {
	case packs == 0:
		return fmt.Sprintf("check found %d problem(s)", others)
	case others == 0:
		return "check found " + plural(packs, "damaged pack")
	}
	return fmt.Sprintf("check found %s and %d other problem(s)", plural(packs, "damaged pack"), others)
}

// printLostBlobAdvice says what to do about snapshots that use blobs the
// repository no longer holds, or holds only damaged (lost: findings with
// Snapshot and Blob set, lostFindings). After a disaster no next backup
// stores them again (the server is gone), and such a snapshot still
// restores all but the files named: the way back is another medium, and
// forget, which throws away what the snapshot still gives, comes last.
//
// A lost tree blob is another matter: it lists a directory, so nothing
// under that directory can be restored from the snapshot (nothing at all
// where it is the root tree), and a backup stores the same tree again only
// where nothing in or under the directory changed since the snapshot: for
// an older snapshot, only another medium gives it back. A blob found
// damaged is still in the index until 'repair packs' takes it out, and a
// backup stores nothing the index lists: the advice says so (the README
// walk of 2026-12-08 followed the older advice and made another damaged
// snapshot).
func printLostBlobAdvice(e *env, lost []repo.Problem, others []otherMediumID) {
	k := lostKindsOf(lost)
	data, trees, root, indexed := k.data, k.trees, k.root, k.indexed
	var lines []string
	if data {
		lines = append(lines,
			"note: the snapshots named above use data blobs the repository no longer holds intact: each still restores every other file ('cadang restore' skips the files named, names them again and exits 3), so keep them",
			"note: to get a lost file back from another medium (the other rotation medium, or the offsite one): 'cadang -r OTHER find PATH' names the snapshots there that hold it, and 'cadang -r OTHER restore ID:PATH --target DIR' restores it",
			"note: to make a snapshot here whole again, forget it here and copy it back from a medium that holds it whole: 'cadang forget ID', then 'cadang copy --from-repo OTHER OID' (OID: the ID to give OTHER, named below for each snapshot)",
		)
		if indexed {
			lines = append(lines, "note: where the files are still on the server, run 'cadang repair packs' (above) first: then the next backup of them stores their contents again and heals these snapshots; a backup before the repair stores nothing of them, since the index still lists the damaged blobs")
		} else {
			lines = append(lines, "note: where the files are still on the server, the next backup of them stores their contents again and heals these snapshots")
		}
	}
	if trees {
		afterRepair := ""
		if indexed {
			afterRepair = " (and only after 'cadang repair packs' has taken the damaged pack out of the index)"
		}
		whole := ""
		if root {
			whole = "; where the path named is '/', the snapshot's root tree is lost and the snapshot restores nothing at all"
		}
		lines = append(lines,
			"note: some blobs lost are trees (directory listings): nothing under a directory named with a lost tree blob can be restored from the snapshots named"+whole,
			"note: a backup heals a lost tree only where that directory and everything under it are still exactly as they were in the snapshot"+afterRepair+", which an older snapshot's seldom are; the sure way back is another medium (the other rotation medium, or the offsite one): restore from it ('cadang -r OTHER restore OID --target DIR'), or forget the snapshot here and copy it back: 'cadang forget ID', then 'cadang copy --from-repo OTHER OID' (OID: the ID to give OTHER, named below for each snapshot)",
		)
	}
	for _, o := range others {
		lines = append(lines, o.line())
	}
	lines = append(lines, "note: only a snapshot that no medium holds whole is for 'cadang forget ID' alone, and that loses every file it still restores")
	for _, l := range lines {
		fmt.Fprintln(e.stdout, l)
	}
}

// lostKinds is what the blobs lost are, for the advice: data blobs
// (file contents), trees (directory listings; root: a snapshot's root
// tree), and whether any was found damaged but is still in the index.
type lostKinds struct{ data, trees, root, indexed bool }

func lostKindsOf(lost []repo.Problem) lostKinds {
	var k lostKinds
	for _, p := range lost {
		if p.Blob == nil {
			continue
		}
		// Found damaged but still in the index: a backup finds it there
		// and stores nothing until 'repair packs' has taken it out.
		k.indexed = k.indexed || p.Kind == repo.ProblemBlobDamaged
		if p.Blob.Type == repo.TreeBlob {
			k.trees = true
			k.root = k.root || p.Path == "/"
		} else {
			k.data = true
		}
	}
	if !k.trees {
		k.data = true // the blob's type unknown: the data advice, as before
	}
	return k
}

// The keys of the advice check gives: each names one note the terminal
// prints, and the sentence "advice."+key of the message catalogue that the
// failure report gives for it in its language (runlog.CheckInfo.Advice).
const (
	adviceOversized       = "oversized-packs"
	adviceRepairPacks     = "repair-packs"
	adviceIndexUnreadable = "index-unreadable"
	adviceMissingPacks    = "missing-packs"
	adviceRepairIndex     = "repair-index"
	adviceObsolete        = "obsolete-unreadable"
	adviceMaybeUnindexed  = "maybe-unindexed"
	adviceLostData        = "lost-data"
	adviceLostDataRepair  = "lost-data-after-repair"
	adviceLostTrees       = "lost-trees"
	adviceSnapshotFile    = "snapshot-file"
	adviceProtectFile     = "protect-file"
	adviceKeyFile         = "key-file"
	adviceForgottenFile   = "forgotten-file"
	adviceRecordFile      = "record-file"
	adviceUnindexed       = "unindexed-packs"
)

// checkAdvice chooses the advice for what check found, in the order the
// terminal prints it: the one choice that the terminal's notes and the
// run-log record (for the failure report) both follow. unindexed is the
// number of packs the index lacks, lost the findings of snapshots that use
// lost blobs, and maybeUnindexed whether those blobs may be in such packs.
func checkAdvice(rep *checker.CheckReport, unindexed int, lost []repo.Problem, maybeUnindexed bool) []string {
	var a []string
	add := func(ok bool, key string) {
		if ok {
			a = append(a, key)
		}
	}
	ps := rep.Problems
	add(len(oversizedPacks(ps)) > 0, adviceOversized)
	add(len(damagedPacks(ps, rep.Unsupported)) > 0, adviceRepairPacks)
	switch {
	case damagedFiles(ps, repo.IndexFile) > 0:
		a = append(a, adviceIndexUnreadable)
	case filesOfKind(ps, repo.ProblemPackMissing) > 0:
		a = append(a, adviceMissingPacks)
	case indexProblems(ps):
		a = append(a, adviceRepairIndex)
	}
	add(damagedFiles(ps, repo.ObsoleteFile) > 0, adviceObsolete)
	switch {
	case maybeUnindexed:
		a = append(a, adviceMaybeUnindexed)
	case len(lost) > 0:
		k := lostKindsOf(lost)
		add(k.data && k.indexed, adviceLostDataRepair)
		add(k.data && !k.indexed, adviceLostData)
		add(k.trees, adviceLostTrees)
	}
	add(hasKind(ps, repo.ProblemSnapshotDamaged), adviceSnapshotFile)
	add(damagedFiles(ps, repo.ProtectFile) > 0, adviceProtectFile)
	add(damagedFiles(ps, repo.KeyFile) > 0, adviceKeyFile)
	add(damagedFiles(ps, repo.ForgottenFile) > 0, adviceForgottenFile)
	add(damagedFiles(ps, repo.RecordFile) > 0, adviceRecordFile)
	add(unindexed > 0 && !maybeUnindexed, adviceUnindexed)
	return a
}

// lostFindings returns the findings of snapshots that use a blob the
// repository lost: one the index does not name, or one found damaged
// that no other copy holds (users, checker.CheckReport.DamagedBlobUsers).
func lostFindings(ps, users []repo.Problem) []repo.Problem {
	var out []repo.Problem
	for _, p := range ps {
		if p.Kind == repo.ProblemBlobNotIndexed {
			out = append(out, p)
		}
	}
	return append(out, users...)
}

// otherMediumID is, for a snapshot here that lost blobs, the ID to give
// on another medium (OTHER in the advice).
type otherMediumID struct {
	Snapshot repo.ID `json:"snapshot"` // the snapshot's ID here
	// ID is the one to give OTHER: the original's for a copy, the
	// snapshot's own otherwise. Zero where the snapshot cannot be read.
	ID     *repo.ID `json:"id,omitempty"`
	IsCopy bool     `json:"is_copy"`
	Error  string   `json:"error,omitempty"` // why the snapshot file cannot be read
}

// line is the note check prints for o.
func (o otherMediumID) line() string {
	id := o.Snapshot.Short()
	switch {
	case o.ID == nil:
		return fmt.Sprintf("note: snapshot %s here cannot be read (%s): on another medium give its original's ID ('cadang -r OTHER snapshots' lists them)", id, o.Error)
	case o.IsCopy:
		return fmt.Sprintf("note: snapshot %s here is a copy of %s: give OTHER the ID %s (the snapshot on the medium it was copied from, and the original of every copy of it), not %s, which names nothing elsewhere",
			id, o.ID.Short(), o.ID.Short(), id)
	}
	return fmt.Sprintf("note: snapshot %s here is no copy: give OTHER the ID %s (the other medium's copy carries it as its original)", id, id)
}

// otherMediumIDs names, for each snapshot that lost blobs, the ID to give
// on another medium. Every medium gives a copied snapshot an ID of its
// own, and a copy records the first snapshot of the chain as its
// Original: a snapshot here that is a copy is that original on the medium
// it was copied from, and the copy of it on any other medium is found by
// it (restore, copy and the other reading commands fall back to
// originals). A snapshot here that is no copy carries its own ID to the
// other media, as their copies' original. After 'forget' here the copy's
// own ID names nothing anywhere, so the advice must name the original now.
func otherMediumIDs(ctx context.Context, r snapshot.FileLoader, lost []repo.Problem) []otherMediumID {
	var out []otherMediumID
	for _, p := range lost {
		if p.Snapshot == nil || slices.ContainsFunc(out, func(o otherMediumID) bool { return o.Snapshot == *p.Snapshot }) {
			continue
		}
		id := *p.Snapshot
		o := otherMediumID{Snapshot: id}
		sn, err := snapshot.LoadSnapshot(ctx, r, id)
		switch {
		case err != nil:
			o.Error = err.Error()
		case sn.Original != nil && *sn.Original != id:
			o.ID, o.IsCopy = sn.Original, true
		default:
			o.ID = &id
		}
		out = append(out, o)
	}
	return out
}

// maxPathsPerSnapshot bounds the paths check names for each snapshot
// that uses damaged blobs: one damaged pack may hold blobs of thousands
// of files, and the administrator needs the first of them and a count.
const maxPathsPerSnapshot = 10

// damagedUse is one path of a snapshot that uses a damaged blob.
type damagedUse struct {
	Path     string  `json:"path"`
	BlobType string  `json:"blob_type"` // "data", or "tree" for a directory's listing
	Blob     repo.ID `json:"blob"`
	Pack     string  `json:"pack"` // the pack the blob is damaged in
}

// damagedUsers lists the paths of one snapshot that use damaged blobs:
// the first ones, and how many more there are.
type damagedUsers struct {
	Snapshot repo.ID      `json:"snapshot"`
	Paths    []damagedUse `json:"paths"`
	// MorePaths counts the paths not listed, beyond the first ones.
	MorePaths int `json:"more_paths"`
}

// groupUsers groups the findings of snapshots that use damaged blobs by
// snapshot, in the order found, keeping at most max paths for each.
func groupUsers(users []repo.Problem, max int) []damagedUsers {
	var out []damagedUsers
	for _, p := range users {
		if p.Snapshot == nil || p.Blob == nil {
			continue
		}
		i := slices.IndexFunc(out, func(d damagedUsers) bool { return d.Snapshot == *p.Snapshot })
		if i < 0 {
			out = append(out, damagedUsers{Snapshot: *p.Snapshot, Paths: []damagedUse{}})
			i = len(out) - 1
		}
		if len(out[i].Paths) >= max {
			out[i].MorePaths++
			continue
		}
		out[i].Paths = append(out[i].Paths, damagedUse{Path: p.Path, BlobType: p.Blob.Type.String(), Blob: p.Blob.ID, Pack: p.File.Name})
	}
	return out
}

// printDamagedUsers names the snapshots and paths that use damaged blobs,
// a line each, and how many more each has.
func printDamagedUsers(e *env, users []damagedUsers) {
	if len(users) == 0 {
		return
	}
	fmt.Fprintf(e.stdout, "note: damaged blobs that no other copy holds are used by %s:\n", plural(len(users), "snapshot"))
	for _, u := range users {
		for _, p := range u.Paths {
			pack := p.Pack
			if id, err := repo.ParseID(pack); err == nil {
				pack = id.Short()
			}
			fmt.Fprintf(e.stdout, "damaged: snapshot %s: %s: %s blob %s in pack %s\n", u.Snapshot.Short(), cellText(p.Path), p.BlobType, p.Blob.Short(), pack)
		}
		if u.MorePaths > 0 {
			fmt.Fprintf(e.stdout, "damaged: snapshot %s: ... and %d more\n", u.Snapshot.Short(), u.MorePaths)
		}
	}
}

// lostInMissingPacks counts, by type, the blobs that the index places
// only in packs that are gone (ProblemPackMissing).
func lostInMissingPacks(idx *repo.Index, ps []repo.Problem) (data, trees int) {
	missing := map[repo.ID]bool{}
	for _, p := range ps {
		if p.Kind != repo.ProblemPackMissing {
			continue
		}
		if id, err := repo.ParseID(p.File.Name); err == nil {
			missing[id] = true
		}
	}
	if len(missing) == 0 || idx == nil {
		return 0, 0
	}
	byPack := idx.ByPack()
	held := map[repo.BlobHandle]bool{}
	for pack, bl := range byPack {
		if missing[pack] {
			continue
		}
		for _, b := range bl {
			held[repo.BlobHandle{Type: b.Type, ID: b.ID}] = true
		}
	}
	lost := map[repo.BlobHandle]bool{}
	for pack := range missing {
		for _, b := range byPack[pack] {
			if h := (repo.BlobHandle{Type: b.Type, ID: b.ID}); !held[h] {
				lost[h] = true
			}
		}
	}
	for h := range lost {
		if h.Type == repo.TreeBlob {
			trees++
		} else {
			data++
		}
	}
	return data, trees
}

// lostCounts says how many of the blobs lost are data and how many trees,
// or nothing where none is known.
func lostCounts(data, trees int) string {
	switch {
	case data+trees == 0:
		return ""
	case trees == 0:
		return fmt.Sprintf(" (%s)", plural(data, "data blob"))
	case data == 0:
		return fmt.Sprintf(" (%s: directory listings)", plural(trees, "tree blob"))
	}
	return fmt.Sprintf(" (%s and %s: directory listings)", plural(data, "data blob"), plural(trees, "tree blob"))
}

// lostBlobsRemedy is the way back for blobs lost with a pack, by their
// types: a backup of the same files stores file contents (data blobs)
// again, but a tree only where its directory and everything under it are
// unchanged since the snapshot (else the backup makes another tree, and
// the snapshots that name the lost one keep naming it).
func lostBlobsRemedy(data, trees int) string {
	cmds := "'cadang forget ID' here, then 'cadang copy --from-repo OTHER OID' (OID: the ID 'cadang check' names for OTHER)"
	switch {
	case trees == 0:
		return "A backup of the same files stores their contents again; or forget those snapshots here and copy them back from another medium: " + cmds
	case data == 0:
		return "The blobs lost are trees: a backup stores a lost tree again only where its directory and everything under it are unchanged since the snapshot; otherwise copy the snapshots back from another medium: " + cmds
	}
	return "A backup of the same files stores the data blobs' contents again, but a lost tree only where its directory and everything under it are unchanged since the snapshot; otherwise copy the snapshots back from another medium: " + cmds
}

// damagedPacks returns the IDs of the packs found damaged, or holding a
// damaged blob, in the order found, but for those in a newer format as
// well (unsupported), which repair packs refuses: a newer cadang repairs
// them.
func damagedPacks(ps, unsupported []repo.Problem) []string {
	var out []string
	for _, p := range ps {
		if (p.Kind == repo.ProblemFileDamaged || p.Kind == repo.ProblemBlobDamaged) && p.File.Type == repo.PackFile &&
			!errors.Is(p.Err, repo.ErrTooLarge) && // repair packs cannot keep its bytes: oversizedPacks
			!slices.Contains(out, p.File.Name) &&
			!slices.ContainsFunc(unsupported, func(u repo.Problem) bool { return u.File == p.File }) {
			out = append(out, p.File.Name)
		}
	}
	return out
}

// oversizedPacks returns the IDs of the packs that the storage gives more
// bytes than any pack cadang writes, which check did not read.
func oversizedPacks(ps []repo.Problem) []string {
	var out []string
	for _, p := range ps {
		if p.File.Type == repo.PackFile && errors.Is(p.Err, repo.ErrTooLarge) && !slices.Contains(out, p.File.Name) {
			out = append(out, p.File.Name)
		}
	}
	return out
}

// oversizedPackAdvice follows the names of packs larger than any cadang
// writes. 'repair packs' keeps a pack's bytes before it removes it, and
// will not read these whole, so it stops at them: the way out is by hand.
const oversizedPackAdvice = "is larger than any pack cadang writes (junk appended, or damage) and was not read; 'cadang repair packs' stops at it, since it keeps the bytes of what it removes. A restore still reads the blobs the index places in it, by range: first restore (or 'cadang copy' to another repository) what the snapshots that use it still give, and only then move the file out of the repository (keep it); 'cadang repair index' then names the blobs lost with it, and 'cadang check' the snapshots left incomplete. Where another medium holds those snapshots, copying them back from it ('cadang forget ID', then 'cadang copy --from-repo OTHER ID') is the alternative"

// hasKind reports whether a problem of kind k was found.
func hasKind(ps []repo.Problem, k repo.ProblemKind) bool {
	return slices.ContainsFunc(ps, func(p repo.Problem) bool { return p.Kind == k })
}

// filesOfKind counts the distinct files that problems of kind k name (a
// missing pack is named once by the index's check and again by each
// snapshot that fails to load from it).
func filesOfKind(ps []repo.Problem, k repo.ProblemKind) int {
	files := map[string]bool{}
	for _, p := range ps {
		if p.Kind == k && p.File.Name != "" { // a tree's problem may name no file
			files[p.File.Name] = true
		}
	}
	return len(files)
}

// indexProblems reports whether the index names a missing pack, or blobs
// where the pack's header has none.
func indexProblems(ps []repo.Problem) bool {
	return slices.ContainsFunc(ps, func(p repo.Problem) bool {
		return p.Kind == repo.ProblemIndexMismatch || p.Kind == repo.ProblemPackMissing
	})
}

// damagedFiles counts the files of type t among the damaged files.
func damagedFiles(ps []repo.Problem, t repo.FileType) int {
	n := 0
	for _, p := range ps {
		if p.Kind == repo.ProblemFileDamaged && p.File.Type == t {
			n++
		}
	}
	return n
}
