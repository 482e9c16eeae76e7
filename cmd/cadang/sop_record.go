package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/engine"
	"github.com/lpse/cadang/internal/sop/jobs"
	soprun "github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo"
	"github.com/lpse/cadang/snapshot"
	"github.com/lpse/cadang/snapshot/archiver"
	"github.com/lpse/cadang/snapshot/restorer"
)

const maxRecordErrors = 20

func addRecordError(rec *runlog.Record, s string) {
	if len(rec.Errors) < maxRecordErrors {
		rec.Errors = append(rec.Errors, s)
	}
}

// recordBackup fills the run-log record of a plain `cadang backup` and
// returns err, marked as said by the record's note where the note says it
// (a failed --command: the record keeps the command's stderr, not the
// English sentence around it).
func recordBackup(rec *runlog.Record, o backupOptions, sn *snapshot.Snapshot, err error) error {
	rec.Tags = append(rec.Tags, o.Tags...)
	if o.Reason != "" {
		rec.Tags = append(rec.Tags, runlog.TagBeforeChange)
		rec.Reason = o.Reason
	}
	var cmdErr *archiver.CommandError
	if errors.As(err, &cmdErr) {
		rec.Failure = runlog.KindDumpFailed
	}
	if note, raw, ok := runlog.SaidOf(engine.SaidSourceError(err)); ok && sn == nil {
		rec.Note, rec.Message = note, raw
		return runlog.Noted(err)
	}
	if sn == nil {
		return err
	}
	rec.Snapshots = []string{sn.ID().String()}
	if s := sn.Summary; s != nil {
		rec.FilesRead = int64(s.TotalFilesProcessed)
		// Files whose content this run stored: new, changed, and read again
		// because their data was lost (bytes_added counts those too).
		rec.FilesAdded = int64(s.FilesNew + s.FilesChanged + s.FilesReread)
		rec.BytesRead = int64(s.BytesRead)
		rec.BytesAdded = int64(s.DataAdded)
		for _, ie := range s.Errors {
			addRecordError(rec, fmt.Sprintf("skipped %s: %s", ie.Path, ie.Error))
		}
		if s.ErrorCount() > 0 {
			rec.Failure = runlog.KindSourceUnreadable
		}
	}
	// The record keeps facts (a note code and its arguments); the documents
	// make the sentence in their language.
	switch {
	case err == nil:
		rec.Note = runlog.NewNote("snapshot-saved", sn.ID().Short())
	case sn.Summary != nil && sn.Summary.ErrorCount() > 0:
		rec.Note = runlog.NewNote("snapshot-saved-unreadable", sn.ID().Short(), sn.Summary.ErrorCount())
	}
	return err
}

// recordRestore fills the run-log record of `cadang restore`, with the
// restore request (SOP steps 7-8) when --requested-by and --reason are given.
func recordRestore(rec *runlog.Record, o restoreOptions, res *restoreResult, err error) {
	id, sub := splitSnapshotArg(o.Snapshot)
	info := &runlog.RestoreInfo{RequestID: o.RequestID, RequestedBy: o.RequestedBy, Reason: o.Reason,
		RequesterPosition: o.RequesterPosition, RequesterOf: o.RequesterUnit, RequestedAt: o.RequestedOn,
		Snapshot: id, Target: absTarget(o.Target), Paths: o.Include, Overwrite: o.Overwrite.String()}
	if sub != "" {
		info.Paths = append([]string{sub}, info.Paths...)
	}
	rec.Restore = info
	if res == nil {
		return
	}
	info.Snapshot = res.SnapshotID
	info.SnapshotAt = res.snapshotTime
	rec.Snapshots = []string{res.SnapshotID}
	if len(info.Paths) == 0 {
		info.Paths = res.snapshotPaths
	}
	rec.FilesRead = int64(res.FilesRestored)
	rec.BytesRead = int64(res.BytesRestored)
	if res.Interrupted {
		// What is complete in the target; with --verify each of those
		// files was read back before it was counted complete.
		rec.Note = runlog.NewNote("restore-interrupted", shortID(res.SnapshotID), info.Target, int64(res.FilesRestored))
		info.VerifyKind = runlog.VerifyBlobs
		if o.Verify {
			info.VerifyKind, info.FilesVerified = runlog.VerifySome, int64(res.FilesRestored)
		}
		return
	}
	listed := len(rec.Errors)
	recordRestoreCauses(rec, res)
	for _, c := range res.causes {
		if c.InTheWay {
			info.InTheWay += int64(c.Count)
		}
	}
	items := restoreRecordItems(res)
	for _, it := range items {
		addRecordError(rec, it)
	}
	recordRestoreOmitted(rec, res, listed, len(items))
	if res.damaged > 0 {
		rec.Failure = runlog.KindIntegrity
	}
	recordVerify(info, o, res, err)
	switch {
	case err == nil:
		rec.Note = runlog.NewNote("restored", shortID(res.SnapshotID), info.Target, int64(res.FilesRestored))
	case nothingRestored(res) && filesNotRestored(res) > 0:
		// A failed restore: "restored to" with a count of 0 read as a
		// partial one beside its result.
		rec.Note = runlog.NewNote("restored-nothing", shortID(res.SnapshotID), info.Target, filesNotRestored(res))
	case nothingRestored(res):
		rec.Note = runlog.NewNote("restored-nothing-problems", shortID(res.SnapshotID), info.Target, info.ItemsWithErrors)
	case filesNotRestored(res) > 0:
		rec.Note = runlog.NewNote("restored-partial", shortID(res.SnapshotID), info.Target, int64(res.FilesRestored), filesNotRestored(res))
	case info.ItemsWithErrors > 0:
		rec.Note = runlog.NewNote("restored-problems", shortID(res.SnapshotID), info.Target, int64(res.FilesRestored), info.ItemsWithErrors)
	}
}

// absTarget is the restore target as an absolute path: a relative
// --target says nothing in the minutes read elsewhere, later.
func absTarget(target string) string {
	if a, err := filepath.Abs(target); err == nil {
		return a
	}
	return target
}

// completeRestore adds to a restore's record what the repository and the
// run log know: the job and source tags of the snapshot it restored (a
// host without the configuration has no job for the medium), and the
// interrupted restore of the same snapshot into the same target that it
// completed, if it kept files that one had written.
func (e *env) completeRestore(ctx context.Context, st *sopState, rec *runlog.Record, r *repo.Repository) {
	info := rec.Restore
	if info == nil || len(rec.Snapshots) != 1 {
		return // nothing was restored
	}
	if r != nil {
		if id, err := repo.ParseID(rec.Snapshots[0]); err == nil {
			if sn, err := snapshot.LoadSnapshot(context.WithoutCancel(ctx), r, id); err == nil {
				info.SnapshotJob, info.Source = snapshotTag(sn, soprun.TagJob), snapshotTag(sn, soprun.TagSource)
			}
		}
	}
	if info.FilesAlready == 0 {
		return
	}
	recs, err := st.log.Records()
	if err != nil {
		return // the link is a help; the record stands without it
	}
	if prev, ok := interruptedRestore(recs, info.Snapshot, info.Target); ok {
		info.Resumes = prev.ID
	}
}

// snapshotTag is the value of sn's tag that starts with prefix ("job:",
// "source:"), or "".
func snapshotTag(sn *snapshot.Snapshot, prefix string) string {
	for _, t := range sn.Tags {
		if v, ok := strings.CutPrefix(t, prefix); ok {
			return v
		}
	}
	return ""
}

// interruptedRestore is the latest restore in recs of the snapshot into
// the target that was interrupted: the one a rerun with --overwrite
// if-changed completes.
func interruptedRestore(recs []runlog.Record, snapshotID, target string) (runlog.Record, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		x := recs[i]
		if x.Op != runlog.OpRestore || x.Restore == nil || x.Restore.Snapshot != snapshotID || x.Restore.Target != target {
			continue
		}
		// A complete restore since then ends the search: the files kept
		// now are that one's.
		return x, x.Failure == runlog.KindInterrupted
	}
	return runlog.Record{}, false
}

// recordVerify records how the restore was verified, as a kind and counts
// (runlog.VerifyText makes the sentence in the document's language).
func recordVerify(info *runlog.RestoreInfo, o restoreOptions, res *restoreResult, err error) {
	// Kept entries found to be the snapshot's (files read back with
	// --verify, symlinks with their target) are verified too; the rest of
	// the kept were neither written nor verified.
	info.FilesVerified = int64(res.FilesVerified)
	info.FilesKeptVerified = int64(res.KeptVerifiedCount)
	info.FilesFailed = int64(filesNotRestored(res)) // the files not tried could not be restored either
	info.FilesKept = int64(res.FilesSkipped - res.KeptVerifiedCount - res.keptSame)
	info.HardlinkCopies = int64(res.HardlinkCopies)
	info.OwnersNotRestored = o.NoOwner || os.Geteuid() != 0
	info.SetIDDropped = int64(res.SetIDDropped)
	info.DevicesSkipped = int64(len(res.SkippedDevices))
	info.Replaced = int64(res.FilesReplaced)
	info.KeptMetadataSet = int64(res.KeptMetadataSet)
	if o.Overwrite == restorer.OverwriteIfChanged {
		// Kept because they are the snapshot's (same size and time, or
		// read back): in the target as the restore wants them, which is
		// what a rerun after an interrupt relies on.
		info.FilesAlready = info.FilesKept + info.FilesKeptVerified
	}
	failed := map[string]bool{}
	for _, f := range res.FailedFiles {
		failed[f] = true
	}
	for _, ie := range res.Errors {
		if !failed[ie.Path] {
			failed[ie.Path] = true // each entry counted once
			info.ItemsWithErrors++
		}
	}
	switch {
	// Every file written was read back and found the snapshot's, and no
	// file is missing: the files are verified, whatever became of entries
	// that are no files (a device node not made), which ItemsWithErrors
	// counts apart.
	case o.Verify && res.FilesVerified == res.FilesRestored && info.FilesKept == 0 && noFileMissing(res, err):
		info.Verified = true
		info.VerifyKind = runlog.VerifyAll
	case o.Verify:
		info.VerifyKind = runlog.VerifySome
	default:
		info.VerifyKind = runlog.VerifyBlobs
	}
}

// noFileMissing reports whether a restore that ended with err left every
// regular file it planned in the target: none failed, nothing of the
// repository failed, and every error is about a symlink, FIFO or device
// node itself. A directory or tree that failed, or a file that could not
// be put in place, leaves files missing that no count of written files
// shows.
func noFileMissing(res *restoreResult, err error) bool {
	switch {
	case filesNotRestored(res) > 0:
		return false
	case err == nil:
		return true
	}
	incomplete := errors.Is(err, restorer.ErrRestoreIncomplete) || errors.As(err, new(*partialError))
	return incomplete && res.damaged == 0 && uint64(len(res.Errors)) == res.otherErrors
}

// recordCheck fills the run-log record of `cadang check`.
func recordCheck(rec *runlog.Record, o repo.CheckOptions, res *checkResult) {
	rec.FilesRead = int64(res.PacksRead)
	rec.BytesRead = res.BytesRead
	for _, p := range res.Problems {
		addRecordError(rec, p)
	}
	for _, p := range res.Unsupported {
		addRecordError(rec, "unsupported: "+p)
	}
	code := "checked-structure"
	if o.ReadData {
		code = "checked-data"
	}
	if res.OK {
		rec.Note = runlog.NewNote(code, res.Snapshots, res.Packs, res.BlobsIndexed)
	}
	if len(res.Problems) > 0 {
		rec.Note = checkFoundNote(res.DamagedPacks, res.OtherProblems)
		rec.Check = checkInfo(res)
	}
}

// checkFoundNote is the note of a check that found problems: what its
// closing line (foundText) says, for every document in its language.
func checkFoundNote(packs, others int) *runlog.Note {
	switch {
	case packs == 0:
		return runlog.NewNote("check-found", others)
	case others == 0:
		return runlog.NewNote("check-found-packs", packs)
	}
	return runlog.NewNote("check-found-packs-others", packs, others)
}

// checkInfo is what the failure report needs of a failed check: its
// counts, the first paths that use lost blobs (runlog.MaxCheckPaths) and
// the advice the terminal gave.
func checkInfo(res *checkResult) *runlog.CheckInfo {
	info := &runlog.CheckInfo{DamagedPacks: res.DamagedPacks, OtherProblems: res.OtherProblems, Advice: res.advice, MorePaths: res.moreLost}
	for _, p := range res.lost {
		if p.Snapshot == nil {
			continue
		}
		if len(info.Paths) == runlog.MaxCheckPaths {
			info.MorePaths++
			continue
		}
		info.Paths = append(info.Paths, runlog.CheckPath{Snapshot: p.Snapshot.String(), Path: p.Path,
			Tree: p.Blob != nil && p.Blob.Type == repo.TreeBlob})
	}
	return info
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// snapshotIDs lists the IDs of the repository's snapshots (the names of
// their files).
func snapshotIDs(ctx context.Context, r *repo.Repository) ([]string, error) {
	ids := []string{}
	err := r.ListFiles(ctx, repo.SnapshotFile, func(id repo.ID) error {
		ids = append(ids, id.String())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	return ids, nil
}

// runLogProblems compares the repository r with the run log of this
// machine: a repository older than the log says (its heads behind the
// log's last record for it, records of it missing, a snapshot that a
// recorded forget removed back again) is a copy put back, or was tampered
// with. Without a local run log there is nothing to compare, and nothing
// is said. Problems reading the log are said as problems too: the caller
// decides whether they are warnings.
func (e *env) runLogProblems(ctx context.Context, r *repo.Repository) []string {
	st, err := e.loadSOPForRecords()
	if err != nil {
		return nil // loadSOP's callers report it
	}
	if _, err := os.Stat(st.log.Path()); err != nil {
		return nil
	}
	snaps, err := snapshotIDs(ctx, r)
	if err != nil {
		return []string{fmt.Sprintf("run log: repository %s: %v", shortID(r.ID()), err)}
	}
	fs, err := st.log.CheckRepository(ctx, r, snaps)
	if err != nil {
		return []string{fmt.Sprintf("run log: repository %s: %v", shortID(r.ID()), err)}
	}
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("run log %s: repository %s is older than the run log says, or was altered: %s", st.log.Path(), shortID(r.ID()), f))
	}
	return out
}

// forgetDamagedRecords tells the run log that the record files check found
// damaged in r are not to be taken from its kept copies
// (runlog.Log.ForgetStored).
func (e *env) forgetDamagedRecords(r *repo.Repository, ps []repo.Problem) {
	var ids []repo.ID
	for _, p := range ps {
		if p.Kind != repo.ProblemFileDamaged || p.File.Type != repo.RecordFile {
			continue
		}
		if id, err := repo.ParseID(p.File.Name); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	if st, err := e.loadSOPForRecords(); err == nil && st.log != nil {
		st.log.ForgetStored(r.ID(), ids...)
	}
}

// checkRunLog warns about what runLogProblems finds in a repository just
// opened: every command goes on (it may be the only copy left), and
// `check` and `log verify` fail on it.
func (e *env) checkRunLog(ctx context.Context, r *repo.Repository) {
	if st := e.sop; st != nil {
		if st.runLogChecked["*"] || st.runLogChecked[r.ID()] {
			return
		}
		if st.runLogChecked == nil {
			st.runLogChecked = map[string]bool{}
		}
		st.runLogChecked[r.ID()] = true
	}
	for _, p := range e.runLogProblems(ctx, r) {
		e.warnf("%s", p)
	}
}

// signingOptions reads --sign-key (the operator's key, kept off the
// server, that countersigns the records and signs documents) and
// --trust-key (keys verifications accept besides the host key) into the
// run log's options.
func signingOptions(signKey string, trust []string, o *runlog.Options) error {
	if signKey != "" {
		k, err := sigkey.Load(signKey)
		if err != nil {
			return fmt.Errorf("--sign-key: %w", err)
		}
		o.Cosign = k
		o.Trust = append(o.Trust, sigkey.EncodePublic(sigkey.Public(k)))
	}
	for _, k := range trust {
		if !jobs.TrustKeyRE.MatchString(strings.ReplaceAll(strings.TrimSpace(k), ":", "")) {
			return fmt.Errorf("--trust-key %q: want a key's fingerprint as 'cadang log key' prints it on the host that signs (32 hex digits in groups of four) or its public key (64 hex digits)", k)
		}
	}
	o.Trust = append(o.Trust, trust...)
	return nil
}

// protectRequested protects the snapshot a restore on request restored
// (rec, its record: --requested-by or --request-id given), as a
// before-change backup is protected: signed minutes cite that snapshot
// (SOP step 8), so no forget, by hand or by a job's retention, may remove
// it while they are kept. The protection lasts restoreProtectFor from the
// restore. It is not the restore's result: a medium that cannot take the
// protection gets a warning of one line, and the restore stands.
func (e *env) protectRequested(ctx context.Context, st *sopState, rec runlog.Record, r *repo.Repository) {
	info := rec.Restore
	if info == nil || (info.RequestedBy == "" && info.RequestID == "") || len(rec.Snapshots) != 1 {
		return // no request, or nothing was restored
	}
	id, err := repo.ParseID(rec.Snapshots[0])
	if err != nil {
		return
	}
	short, period, reason := id.Short(), restoreProtectFor(st.cfg, rec), requestReason(rec)
	if r.Unlocked() {
		e.warnf("snapshot %s is not protected for the restore request: the medium %s is read-only; protect it where it is writable ('cadang protect --for %s --reason ... %s')",
			short, r.Backend().Location(), protectDays(period), short)
		return
	}
	ctx = context.WithoutCancel(ctx) // the restore is done: Ctrl-C now must not lose its protection
	until := rec.Start.Add(period)
	sn, err := snapshot.LoadSnapshot(ctx, r, id)
	if err == nil {
		_, err = snapshot.ProtectSnapshot(ctx, r, sn, until, reason)
	}
	if err != nil {
		e.warnf("snapshot %s is not protected for the restore request: %v", short, err)
		return
	}
	e.logf("protected snapshot %s until %s (%s)", short, until.In(st.cfg.Location()).Format(time.DateOnly), reason)
}

// restoreProtectFor is how long a restore on request protects its
// snapshot: the protect_before_change of the snapshot's job (else of the
// medium's job), the period for which a job's retention already keeps
// the snapshots of recorded restores ("protected: restore"), so that both
// agree; jobs.DefaultProtect without such a job.
func restoreProtectFor(cfg *jobs.Config, rec runlog.Record) time.Duration {
	for _, name := range []string{rec.Restore.SnapshotJob, rec.Job} {
		if name == "" {
			continue
		}
		if j, err := cfg.Job(name); err == nil {
			return j.Retention.Protect()
		}
	}
	return jobs.DefaultProtect
}

// protectDays writes d as `cadang protect --for` takes it.
func protectDays(d time.Duration) string {
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// requestReason is the reason of a restore on request's protection: the
// request, and the run whose minutes ('cadang report restore RUN_ID')
// cite the snapshot.
func requestReason(rec runlog.Record) string {
	info := rec.Restore
	req := "request"
	if info.RequestID != "" {
		req += " " + info.RequestID
	}
	if info.RequestedBy != "" {
		req += " by " + info.RequestedBy
	}
	if rec.ID != "" {
		req += ", minutes of run " + rec.ID
	}
	return string(runlog.OpRestore) + ": " + req
}
