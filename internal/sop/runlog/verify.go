package runlog

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"github.com/lpse/cadang/internal/sop/i18n"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/sigkey"
	"github.com/lpse/cadang/repo"
)

// Problem is what Verify found wrong with a record.
type Problem string

// The problems Verify reports.
const (
	Unreadable Problem = "unreadable" // the entry cannot be parsed
	Altered    Problem = "altered"    // the record's bytes do not match its hash
	BrokenLink Problem = "broken-link"
	Removed    Problem = "removed"
	// Reordered: records of a chain that stand in the file out of their
	// sequence, what the chain itself proves wrong.
	Reordered Problem = "reordered"
	// ClockBack is a warning: a record logged earlier than the record
	// before it, which it names by hash and so was written after it. The
	// chain proves the order; the time is the clock's, which stepped back
	// (an NTP correction, a wrong hardware clock after a power cut).
	ClockBack  Problem = "clock-back"
	Duplicated Problem = "duplicated"
	Differs    Problem = "differs" // the two copies hold different records at one position
	// NotCopied is a warning: a local record is not in the repository it
	// concerns, and the copy is known to have failed (the medium was
	// absent or full); the next run that uses this repository copies it.
	NotCopied Problem = "not-copied"
	// Unsigned: a record without a signature after signed ones. As a
	// warning: records written before signing was introduced.
	Unsigned Problem = "unsigned"
	// BadSignature: a signature (or countersignature) that does not match
	// the record's bytes and the key it names.
	BadSignature Problem = "bad-signature"
	// UnknownKey: validly signed, by a key that is neither this host's
	// nor one the verification was told to trust.
	UnknownKey Problem = "unknown-key"
	// HeadMismatch: a head kept in the repository names a record that the
	// local chain does not have at that position: the local log was
	// rewritten after the head was written.
	HeadMismatch Problem = "head-mismatch"
	// RolledBack: the repository is older than the local log says it
	// should be (an older copy put back, or its newer records and heads
	// removed).
	RolledBack Problem = "rolled-back"
	// Forgotten: a snapshot that a forget recorded in the log removed is
	// in the repository again.
	Forgotten Problem = "forgotten-snapshot"
	// MissingSnapshot is a warning: a snapshot that a backup recorded in
	// the log made in the repository is not there, and no recorded forget
	// removed it. A warning only, as tools that do not record (the
	// library, an older cadang) may have removed it.
	MissingSnapshot Problem = "missing-snapshot"
	// HeadNotFound: the head given with --expect-head is not in the chain.
	HeadNotFound Problem = "expected-head-not-found"
	// LooseKey is a warning: the host key file is readable by others.
	LooseKey Problem = "loose-key"
	// MediumAbsent is a warning: a run found its medium absent, so its
	// record names no repository and is in none.
	MediumAbsent Problem = "medium-absent"
	// NotOpened is a warning: a run found its medium but could not open
	// the repository on it (its password file missing, a wrong password,
	// a lock, an unreachable server), so its record names no repository
	// and is in none. Not an absent medium: the record's failure says
	// what stood in the way.
	NotOpened Problem = "repository-not-opened"
)

// Finding is one problem in one copy of the log.
type Finding struct {
	Copy     string  `json:"copy"` // "local" or "repository"
	Problem  Problem `json:"problem"`
	Chain    string  `json:"chain,omitempty"`
	Seq      uint64  `json:"seq,omitempty"`
	RecordID string  `json:"record_id,omitempty"`
	Where    string  `json:"where,omitempty"` // line N, or file ID
	Detail   string  `json:"detail"`
	Warning  bool    `json:"warning,omitempty"`
	// Snapshot is the snapshot (hex ID) a forgotten-snapshot or
	// missing-snapshot finding is about.
	Snapshot string `json:"snapshot,omitempty"`
	// Damaged marks a repository file that fails the repository's own
	// checks (its bytes do not match its name, or do not open with the
	// key): 'cadang repair records' takes such files out.
	Damaged bool `json:"damaged,omitempty"`
	// detailIn is Detail in another language (i18n); nil: Detail is
	// English only (a Finding made by hand, as tests do).
	detailIn func(l i18n.Lang) string
}

// phrase is words of a finding's detail that one of its message's
// arguments carries, said in the detail's language.
type phrase func(l i18n.Lang) string

// says gives f the detail of message key with args: in English as Detail
// (the JSON's, unchanged), in every language as DetailIn. An argument
// that is a phrase is said in the detail's language; the others (record
// IDs, file names, numbers, times, the raw text of an error) are data.
func (f Finding) says(key string, args ...any) Finding {
	f.Detail = detailText(i18n.EN, key, args)
	f.detailIn = func(l i18n.Lang) string { return detailText(l, key, args) }
	return f
}

func detailText(l i18n.Lang, key string, args []any) string {
	as := make([]any, len(args))
	for i, a := range args {
		if p, ok := a.(phrase); ok {
			a = p(l)
		}
		as[i] = a
	}
	return l.T(key, as...)
}

// said is the phrase of message key with args.
func said(key string, args ...any) phrase {
	return func(l i18n.Lang) string { return detailText(l, key, args) }
}

// placeIn is where (an entry's place: "line N" or "file ID") in
// language l.
func placeIn(l i18n.Lang, where string) string {
	if l == i18n.EN {
		return where
	}
	for _, w := range []string{"line", "file"} {
		if n, ok := strings.CutPrefix(where, w+" "); ok {
			return l.T("log."+w, n)
		}
	}
	return where
}

// place is where as a phrase.
func place(where string) phrase {
	return func(l i18n.Lang) string { return placeIn(l, where) }
}

func (f Finding) String() string {
	return f.Head() + ": " + f.Detail
}

// In is String in language l: the head's fixed words and the detail in l
// (every finding that Verify and Health make has it in l).
func (f Finding) In(l i18n.Lang) string {
	return f.HeadIn(l) + ": " + f.DetailIn(l)
}

// HeadIn is Head in language l.
func (f Finding) HeadIn(l i18n.Lang) string {
	if l == i18n.EN {
		return f.Head()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", l.T("log.copy_"+f.Copy), f.Problem)
	if f.Warning {
		fmt.Fprintf(&b, " (%s)", l.T("log.warning"))
	}
	if f.RecordID != "" {
		fmt.Fprintf(&b, ": %s", l.T("log.record", f.RecordID))
	}
	if f.Seq != 0 {
		fmt.Fprintf(&b, " (seq %d)", f.Seq)
	}
	if f.Where != "" {
		fmt.Fprintf(&b, " %s", l.T("log.at", placeIn(l, f.Where)))
	}
	return b.String()
}

// DetailIn is Detail in language l where the finding has it, else Detail.
func (f Finding) DetailIn(l i18n.Lang) string {
	if l == i18n.EN || f.detailIn == nil {
		return f.Detail
	}
	return f.detailIn(l)
}

// Head is the finding without its detail: where and what, to point back
// at a finding printed in full.
func (f Finding) Head() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", f.Copy, f.Problem)
	if f.Warning {
		b.WriteString(" (warning)")
	}
	if f.RecordID != "" {
		fmt.Fprintf(&b, ": record %s", f.RecordID)
	}
	if f.Seq != 0 {
		fmt.Fprintf(&b, " (seq %d)", f.Seq)
	}
	if f.Where != "" {
		fmt.Fprintf(&b, " at %s", f.Where)
	}
	return b.String()
}

// CopySummary describes one verified copy.
type CopySummary struct {
	Records int               `json:"records"`
	Chains  map[string]uint64 `json:"chains"` // chain -> highest seq
	// Head is the hash of the last record of the local chain (all 256
	// bits): write it down (reports print it) and give it to
	// `log verify --expect-head` later, to anchor the chain against a
	// rewrite of the whole log.
	Head string `json:"head,omitempty"`
	// Signers and Cosigners count the records by the fingerprint of the
	// key that signed (countersigned) them.
	Signers   map[string]int `json:"signers,omitempty"`
	Cosigners map[string]int `json:"cosigners,omitempty"`
	// Heads is the number of heads in a repository; NewestHead the one
	// with the highest seq among those that verify.
	Heads      int   `json:"heads,omitempty"`
	NewestHead *Head `json:"newest_head,omitempty"`
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Local    CopySummary  `json:"local"`
	Repo     *CopySummary `json:"repository,omitempty"`
	Findings []Finding    `json:"findings"`
	// Key is the fingerprint of this host's signing key ("" if it has
	// none yet).
	Key string `json:"key,omitempty"`
	// First is the first bad record: the error finding with the lowest
	// seq (local copy first), nil when there is none.
	First *Finding `json:"first,omitempty"`
	// ExpectedSeq is the seq of the record given with ExpectHead.
	ExpectedSeq uint64 `json:"expected_seq,omitempty"`
}

// OK reports whether nothing but warnings was found.
func (r *VerifyReport) OK() bool { return !hasErrors(r.Findings) }

func hasErrors(fs []Finding) bool {
	for _, f := range fs {
		if !f.Warning {
			return true
		}
	}
	return false
}

// VerifyOptions are the checks of VerifyWith beyond those of Verify.
type VerifyOptions struct {
	// ExpectHead is a head hash written down earlier (a report's footer,
	// the monthly minutes): the chain must hold a record with that hash.
	ExpectHead string
	// Snapshots are the IDs of the snapshots in the repository; when not
	// nil, one that a forget in the log removed is an error (Forgotten),
	// and so is one that a backup in the log made and that no forget
	// removed, missing (MissingSnapshot).
	Snapshots []string
	// Medium is the name of the repository's medium, to list the runs
	// that found it absent (MediumAbsent).
	Medium string
}

// Verify checks the local mirror and, if store is not nil, the copy in the
// repository, and compares the two; see VerifyWith.
func (l *Log) Verify(ctx context.Context, store RecordStore) (*VerifyReport, error) {
	return l.VerifyWith(ctx, store, VerifyOptions{})
}

// VerifyWith checks the local mirror and, if store is not nil, the copy in
// the repository, and compares the two.
//
// In each copy it checks every record's hash (altered) and signatures:
// each record must be signed by this host's key or one of Options.Trust
// (unknown-key), and the signature must hold (bad-signature). Records
// without a signature are accepted, with a warning, only before the first
// signed record of their chain: they were written before signing was
// introduced. In the local mirror the records of a chain must number 1, 2,
// 3... without gaps (removed), in order (reordered), and each must name
// the hash of the one before (broken link: a record was altered and its
// hash recomputed, or replaced). A record logged before the one it follows
// is a clock-back warning: its link proves it came after, so the clock
// stepped back. A repository holds only the records that
// concern it (Record.Concerns), so there gaps are expected, and the links
// are checked where both records are present.
//
// Then the copies are compared for the local chain: a local record that
// concerns the repository and is missing there is an error (removed)
// unless its copy is known to have failed (not-copied, a warning); a
// repository record missing locally is an error; two different records at
// one position are an error. The heads kept in the repository must match
// the local chain (head-mismatch: the local log was rewritten since), the
// newest must not be older than the local log's last record for the
// repository (rolled-back: an older copy of the repository), and the
// repository must hold as many of its records as the newest head counts.
//
// What it cannot see on its own: a consistent rewrite of both copies by
// someone holding the host's signing key and the repository password.
// The head written in the minutes (ExpectHead) and the operator's
// countersignature, made with a key kept off the server, anchor against
// that.
func (l *Log) VerifyWith(ctx context.Context, store RecordStore, o VerifyOptions) (*VerifyReport, error) {
	return l.verify(ctx, store, o, false)
}

// verify is VerifyWith. everyday is for CheckRepository, which keeps only
// findings of the comparison: it leaves out the checks of each copy on its
// own, and takes the signatures that held before as holding (logCache).
func (l *Log) verify(ctx context.Context, store RecordStore, o VerifyOptions, everyday bool) (*VerifyReport, error) {
	local, err := l.readLocal()
	if err != nil {
		return nil, err
	}
	trusted, err := l.trusted()
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{}
	if everyday {
		l.cache.remember(local)
		defer l.cache.flush()
	} else {
		if pub, loose, err := sigkey.LoadPublic(l.opt.KeyFile); err == nil {
			rep.Key = sigkey.Fingerprint(pub)
			if loose {
				rep.Findings = append(rep.Findings, Finding{Copy: "local", Problem: LooseKey, Warning: true}.says("log.f.loose_key", l.opt.KeyFile))
			}
		}
		var lf []Finding
		rep.Local, lf = checkCopy("local", local, true, trusted, l.opt.Zone)
		rep.Findings = append(rep.Findings, lf...)
	}
	var remote []entry
	if store != nil {
		// The notes of copies still to come are read before the
		// repository: a note is written before its record's line and
		// taken out only after its record was copied, so a record the
		// listing below lacks had its note here, even if another process
		// copies it meanwhile.
		pending := l.readPending()
		written := l.writtenHeads(store.ID()) // before the repository: see sync
		if everyday {
			remote, err = l.readStore(ctx, store)
		} else {
			remote, err = readStore(ctx, store) // every file read anew
		}
		if err != nil {
			return nil, fmt.Errorf("run log in repository: %w", err)
		}
		if everyday {
			l.cache.remember(remote)
			rep.Repo = &CopySummary{}
		} else {
			// What is damaged now is not taken from the kept copies by
			// the next command either: it finds those records missing
			// and copies them in again. (A file that could not be read
			// for another reason, a lost connection, is left as kept.)
			var bad []repo.ID
			for _, e := range remote {
				if e.damaged && !e.file.IsNull() {
					bad = append(bad, e.file)
				}
			}
			l.ForgetStored(store.ID(), bad...)
			reuseSignatures(local, remote)
			rs, rf := checkCopy("repository", remote, false, trusted, l.opt.Zone)
			rep.Repo = &rs
			rep.Findings = append(rep.Findings, rf...)
		}
		var cf []Finding
		rep.Repo.NewestHead, cf = l.compare(local, remote, store.ID(), trusted, written, pending, o)
		rep.Findings = append(rep.Findings, cf...)
		if o.Snapshots != nil {
			rep.Findings = append(rep.Findings, snapshotFindings(local, remote, store.ID(), o.Snapshots, l.opt.Zone)...)
		}
	}
	if o.ExpectHead != "" {
		rep.ExpectedSeq = expectHead(rep, local, remote, o.ExpectHead)
	}
	rep.First = firstBad(rep.Findings)
	return rep, nil
}

// reuseSignatures gives the repository's copies of local records the
// result of the local signature checks: the same record bytes with the
// same signatures verify the same, and the checks are most of the time of
// a verification (two ed25519 verifications per record otherwise).
func reuseSignatures(local, remote []entry) {
	type key struct{ raw, sig, cosig string }
	done := make(map[key]*entry, len(local))
	for i := range local {
		if e := &local[i]; e.sigDone && e.err == nil {
			done[key{e.computed, e.sig, e.cosig}] = e
		}
	}
	for i := range remote {
		e := &remote[i]
		if l, ok := done[key{e.computed, e.sig, e.cosig}]; ok && e.err == nil && !e.isHead && bytes.Equal(e.raw, l.raw) {
			e.sigDone, e.sigSt, e.sigErr = true, l.sigSt, l.sigErr
		}
	}
}

// CheckRepository is the check of a repository as it is opened: the
// findings of VerifyWith that say the repository is older than the local
// log (rolled back, heads that do not match, records and snapshots that
// should be there or gone). SOP commands show them as warnings; `check`
// and `log verify` fail on them. snapshots are the IDs of the
// repository's snapshots (nil: not compared).
func (l *Log) CheckRepository(ctx context.Context, store RecordStore, snapshots []string) ([]Finding, error) {
	rep, err := l.verify(ctx, store, VerifyOptions{Snapshots: snapshots}, true)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, f := range rep.Findings {
		if f.Copy == "repository" && !f.Warning && (f.Problem == RolledBack || f.Problem == Removed ||
			f.Problem == HeadMismatch || f.Problem == Forgotten) {
			out = append(out, f)
		}
	}
	return out, nil
}

func firstBad(fs []Finding) *Finding {
	var best *Finding
	for i := range fs {
		f := &fs[i]
		if f.Warning || f.Seq == 0 {
			continue
		}
		if best == nil || f.Seq < best.Seq || (f.Seq == best.Seq && f.Copy == "local" && best.Copy != "local") {
			best = f
		}
	}
	if best == nil {
		for i := range fs {
			if !fs[i].Warning {
				return &fs[i]
			}
		}
		return nil
	}
	b := *best
	return &b
}

// checkCopy verifies one copy. ordered says whether the entries' order is
// meaningful and the chain must be complete (the local file) or not
// (repository files, which hold the records of one repository).
func checkCopy(name string, es []entry, ordered bool, trusted keyring, zone *time.Location) (CopySummary, []Finding) {
	sum := CopySummary{Chains: map[string]uint64{}, Signers: map[string]int{}, Cosigners: map[string]int{}}
	var fs []Finding
	add := func(p Problem, e *entry, key string, args ...any) {
		f := Finding{Copy: name, Problem: p}.says(key, args...)
		if e != nil {
			f.Where = e.where
			if e.err == nil && !e.isHead {
				f.Chain, f.Seq, f.RecordID = e.rec.Chain, e.rec.Seq, e.rec.ID
			}
		}
		fs = append(fs, f)
	}
	// Entries of a key that is not trusted are one finding per key, not
	// one per record: a repository that another host's run log also
	// writes into (the backup host's forget and prune) holds hundreds.
	unknownAt := map[string]int{}   // signer → index in fs
	unknownN := map[string][2]int{} // signer → records, heads
	unknown := func(e *entry, signer string) {
		n := unknownN[signer]
		if e.isHead {
			n[1]++
		} else {
			n[0]++
		}
		unknownN[signer] = n
		i, ok := unknownAt[signer]
		if !ok {
			unknownAt[signer] = len(fs)
			add(UnknownKey, e, "log.f.unknown_key", unknownKeyArgs(signer, n[0], n[1])...)
			return
		}
		fs[i] = fs[i].says("log.f.unknown_key", unknownKeyArgs(signer, n[0], n[1])...)
	}
	chains := map[string][]*entry{}
	var chainOrder []string
	signed := map[*entry]bool{}
	for i := range es {
		e := &es[i]
		if e.err != nil {
			add(Unreadable, e, "log.f.unreadable", e.err)
			fs[len(fs)-1].Damaged = e.storeDamaged
			continue
		}
		if e.isHead {
			sum.Heads++
			checkSigned(e, trusted, add, unknown)
			continue
		}
		sum.Records++
		if e.hash != e.computed {
			add(Altered, e, "log.f.altered")
		}
		if st := checkSigned(e, trusted, add, unknown); st != sigNone {
			signed[e] = true
			if st == sigValid {
				sum.Signers[Fingerprint(e.rec.Signer)]++
				if e.rec.Cosigner != "" {
					sum.Cosigners[Fingerprint(e.rec.Cosigner)]++
				}
			}
		}
		if _, ok := chains[e.rec.Chain]; !ok {
			chainOrder = append(chainOrder, e.rec.Chain)
		}
		chains[e.rec.Chain] = append(chains[e.rec.Chain], e)
	}
	for _, c := range chainOrder {
		list := chains[c]
		if ordered {
			fs = append(fs, checkOrder(name, list)...)
		}
		fs = append(fs, checkUnsigned(name, c, list, signed)...)
		// By sequence number, duplicates folded.
		bySeq := map[uint64]*entry{}
		for _, e := range list {
			if o, ok := bySeq[e.rec.Seq]; ok {
				if o.computed == e.computed && !ordered {
					continue // the same record saved twice by concurrent copies: harmless
				}
				add(Duplicated, e, "log.f.duplicated", e.rec.Seq, o.rec.ID, place(o.where))
				continue
			}
			bySeq[e.rec.Seq] = e
		}
		seqs := make([]uint64, 0, len(bySeq))
		for s := range bySeq {
			seqs = append(seqs, s)
		}
		sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
		if len(seqs) == 0 {
			continue
		}
		sum.Chains[c] = seqs[len(seqs)-1]
		if ordered {
			sum.Head = bySeq[seqs[len(seqs)-1]].hash
		}
		var prev *entry
		next := uint64(1)
		for _, s := range seqs {
			e := bySeq[s]
			if s > next && ordered {
				before, after := said("log.f.chain_start"), said("log.record", e.rec.ID)
				if prev != nil {
					before = said("log.record", prev.rec.ID)
				}
				f := Finding{Copy: name, Problem: Removed, Chain: c, Seq: next}.says("log.f.missing", seqRange(next, s-1), before, after)
				fs = append(fs, f)
			}
			if s > next {
				prev = nil // the link can only be checked between neighbours
			}
			if prev != nil && e.rec.Prev != prev.hash {
				add(BrokenLink, e, "log.f.broken_link", prev.rec.ID, prev.rec.Seq)
			} else if prev != nil && prev.rec.Logged.Sub(e.rec.Logged) >= clockStepMin {
				fs = append(fs, clockBack(name, prev, e, zone))
			}
			if s == 1 && e.rec.Prev != "" {
				add(BrokenLink, e, "log.f.first_names_prev")
			}
			prev = e
			next = s + 1
		}
	}
	return sum, fs
}

// clockStepMin is the smallest step back between two records that is a
// clock-back warning. The records' times, and the documents' order of
// them, are read to the second; a smaller step (a time server's
// correction, two commands within one second) misplaces nothing in a
// document and was reported as "0s before", which says nothing an
// administrator can act on.
const clockStepMin = time.Second

// clockBack is the warning for e, logged before prev, the record it
// follows and names by hash: e was written after prev, so the clock
// stepped back between the two. Not an error: the chain, not the clock,
// proves the order, and an error here would keep every later head out of
// the repositories (writeHead) over a clock correction.
func clockBack(name string, prev, e *entry, zone *time.Location) Finding {
	step := prev.rec.Logged.Sub(e.rec.Logged).Round(time.Second)
	d := phrase(func(l i18n.Lang) string {
		if l == i18n.EN {
			return step.String()
		}
		return l.Duration(step)
	})
	back := said("log.clock_back", stampSeconds(e.rec.Logged, zone), d, prev.rec.ID, prev.rec.Seq, stampSeconds(prev.rec.Logged, zone))
	return Finding{Copy: name, Problem: ClockBack, Chain: e.rec.Chain, Seq: e.rec.Seq, RecordID: e.rec.ID, Where: e.where, Warning: true}.says(
		"log.f.then", back, said("log.clock_action"))
}

// ClockAction is what an administrator does about a clock that stepped
// back or stands behind the run log, in language l: the clock and what
// keeps it right, since the next step back writes more records out of
// time order.
func ClockAction(l i18n.Lang) string { return l.T("log.clock_action") }

// unknownKeyArgs are the arguments of the detail (log.f.unknown_key)
// that says what an untrusted key signed and how to trust it. After a
// disaster "there" is gone: the documents that host printed carry its key
// in their footer (report.Env.Key), and a host that trusted it (the
// backup host) names it in its configuration.
func unknownKeyArgs(signer string, records, heads int) []any {
	var what []phrase
	if records > 0 {
		what = append(what, said("log.f.n_records", records))
	}
	if heads > 0 {
		what = append(what, said("log.f.n_heads", heads))
	}
	all := what[0]
	if len(what) == 2 {
		all = said("log.f.and", what[0], what[1])
	}
	fp := Fingerprint(signer)
	return []any{all, fp, fp}
}

// checkSigned reports the signature problems of one entry and returns its
// state; a valid signature by a key that is not trusted goes to unknown.
func checkSigned(e *entry, trusted keyring, add func(Problem, *entry, string, ...any), unknown func(e *entry, signer string)) sigState {
	st, err := e.sigState()
	what := said("log.f.the_record")
	signer := e.rec.Signer
	if e.isHead {
		what, signer = said("log.f.the_head"), e.head.Signer
	}
	switch {
	case st == sigNone && e.isHead:
		add(BadSignature, e, "log.f.head_unsigned")
	case st == sigInvalid || st == sigNoSigner:
		add(BadSignature, e, "log.f.bad_signature", err, what)
	case st == sigValid && !trusted.has(signer):
		unknown(e, signer)
	}
	return st
}

// checkUnsigned accepts the unsigned records of a chain that come before
// its first signed record (one warning), and reports the others.
func checkUnsigned(name, chain string, list []*entry, signed map[*entry]bool) []Finding {
	var first uint64
	for _, e := range list {
		if signed[e] && (first == 0 || e.rec.Seq < first) {
			first = e.rec.Seq
		}
	}
	var fs []Finding
	var legacy []uint64
	for _, e := range list {
		if signed[e] {
			continue
		}
		if first != 0 && e.rec.Seq > first {
			fs = append(fs, Finding{Copy: name, Problem: Unsigned, Chain: chain, Seq: e.rec.Seq, RecordID: e.rec.ID, Where: e.where}.says("log.f.unsigned_after", first))
			continue
		}
		legacy = append(legacy, e.rec.Seq)
	}
	if len(legacy) > 0 {
		sort.Slice(legacy, func(i, j int) bool { return legacy[i] < legacy[j] })
		fs = append(fs, Finding{Copy: name, Problem: Unsigned, Chain: chain, Warning: true}.says("log.f.unsigned_legacy", len(legacy), seqRange(legacy[0], legacy[len(legacy)-1])))
	}
	return fs
}

// checkOrder reports entries of one chain that are not in sequence in the file.
func checkOrder(name string, list []*entry) []Finding {
	var fs []Finding
	later := map[uint64]int{} // seq -> index of last occurrence
	for i, e := range list {
		later[e.rec.Seq] = i
	}
	var max uint64
	var maxE *entry
	for i, e := range list {
		s := e.rec.Seq
		if maxE != nil && s < max {
			fs = append(fs, Finding{Copy: name, Problem: Reordered, Chain: e.rec.Chain, Seq: s, RecordID: e.rec.ID, Where: e.where}.says("log.f.comes_after", maxE.rec.ID, max, place(maxE.where)))
			continue
		}
		if maxE != nil && s > max+1 {
			// a gap now filled later in the file means this record moved up
			for m := max + 1; m < s; m++ {
				if j, ok := later[m]; ok && j > i {
					fs = append(fs, Finding{Copy: name, Problem: Reordered, Chain: e.rec.Chain, Seq: s, RecordID: e.rec.ID, Where: e.where}.says("log.f.comes_before", list[j].rec.ID, m, place(list[j].where)))
					break
				}
			}
		}
		if s > max || maxE == nil {
			max, maxE = s, e
		}
	}
	return fs
}

// stamp formats t for a finding or an error, to the minute, in zone and
// naming it: a time without its zone reads as the organisation's clock on
// one server and as UTC on another, and these messages are evidence.
func stamp(t time.Time, zone *time.Location) string {
	return t.In(zone).Format("2006-01-02 15:04 MST")
}

// stampSeconds is stamp to the second, for records logged moments apart.
func stampSeconds(t time.Time, zone *time.Location) string {
	return t.In(zone).Format("2006-01-02 15:04:05 MST")
}

func seqRange(a, b uint64) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d-%d", a, b)
}

// compare checks the local chain against the repository's copy of it and
// against the repository's heads. It returns the newest head that holds.
func (l *Log) compare(local, remote []entry, repoID string, trusted keyring, written map[[2]string]Head, pending map[[2]string]pendingNote, o VerifyOptions) (*Head, []Finding) {
	chain, lm, lmax := mainChain(local)
	if chain == "" {
		// No local log (a replacement machine): the repository's own
		// newest head still says how many records it must hold.
		newest := newestHead(remote, "", repoID, trusted)
		if newest == nil {
			return nil, nil
		}
		chain = newest.Chain
	}
	rm := map[uint64]*entry{}
	for i := range remote {
		e := &remote[i]
		if e.err != nil || e.isHead || e.rec.Chain != chain {
			continue
		}
		if _, ok := rm[e.rec.Seq]; !ok {
			rm[e.rec.Seq] = e
		}
	}
	// A head is written only after every record up to its last was
	// copied: a note of a record at or below the newest head's last is
	// stale (a drop that failed), and must not soften a removal.
	newest := newestHead(remote, chain, repoID, trusted)
	noted := func(e *entry) (pendingNote, bool) {
		p, ok := pending[[2]string{e.computed, repoID}]
		if ok && newest != nil && e.rec.Seq <= newest.Last {
			return p, false
		}
		return p, ok
	}
	concerns := concerned(repoID, local, remote)
	var fs []Finding
	var lastFor uint64 // the local log's last record for this repository
	for s := uint64(1); s <= lmax; s++ {
		if e := lm[s]; e != nil && concerns(&e.rec) {
			lastFor = s
		}
	}
	top := lmax
	for s := range rm {
		top = max(top, s)
	}
	for s := uint64(1); s <= top; s++ {
		lc, r := lm[s], rm[s]
		switch {
		case lc != nil && r != nil:
			if lc.computed != r.computed {
				fs = append(fs, Finding{Copy: "local", Problem: Differs, Chain: chain, Seq: s, RecordID: lc.rec.ID, Where: lc.where}.says("log.f.differs", r.rec.ID, place(r.where)))
			}
		case lc != nil && r == nil && concerns(&lc.rec):
			if p, ok := noted(lc); ok {
				fs = append(fs, Finding{Copy: "repository", Problem: NotCopied, Chain: chain, Seq: s, RecordID: lc.rec.ID, Warning: true}.says("log.f.not_copied", stamp(p.At, l.opt.Zone), p.Error))
				continue
			}
			fs = append(fs, Finding{Copy: "repository", Problem: Removed, Chain: chain, Seq: s, RecordID: lc.rec.ID}.says("log.f.removed_repo", lc.rec.ID, place(lc.where)))
		case lc == nil && r != nil:
			fs = append(fs, Finding{Copy: "local", Problem: Removed, Chain: chain, Seq: s, RecordID: r.rec.ID}.says("log.f.removed_local", r.rec.ID, place(r.where)))
		case lc != nil && r == nil && o.Medium != "" && lc.rec.Medium == o.Medium && lc.rec.RepositoryID == "":
			fs = append(fs, notOpenedFinding(chain, s, o.Medium, &lc.rec))
		}
	}
	// The heads: each must match the local chain; the newest must be as
	// new as the local log's last record for this repository.
	for i := range remote {
		e := &remote[i]
		if !e.isHead || e.err != nil || e.head.Chain != chain {
			continue
		}
		// A head that agrees with the local chain says nothing: its
		// signature is checked only when it would be reported.
		h := e.head
		lc := lm[h.Seq]
		if h.RepositoryID == repoID && lc != nil && lc.computed == h.Hash {
			continue
		}
		if st, _ := e.sigState(); st != sigValid || !trusted.has(e.head.Signer) {
			continue // reported by checkCopy
		}
		switch {
		case h.RepositoryID != repoID:
			fs = append(fs, Finding{Copy: "repository", Problem: HeadMismatch, Chain: chain, Seq: h.Seq, Where: e.where}.says("log.f.head_other_repo", short(h.RepositoryID)))
		case lc == nil:
			fs = append(fs, Finding{Copy: "local", Problem: Removed, Chain: chain, Seq: h.Seq, Where: e.where}.says("log.f.head_lacks", stamp(h.Written, l.opt.Zone), h.Seq, short(h.Hash)))
		case lc.computed != h.Hash:
			fs = append(fs, Finding{Copy: "local", Problem: HeadMismatch, Chain: chain, Seq: h.Seq, RecordID: lc.rec.ID, Where: lc.where}.says("log.f.head_hash", stamp(h.Written, l.opt.Zone), h.Seq, h.Hash, lc.computed))
		}
	}
	known, ok := written[[2]string{repoID, chain}]
	knownBehind := ok && (newest == nil || newest.Last < known.Last)
	if knownBehind {
		at := said("log.f.no_head")
		if newest != nil {
			at = said("log.f.newest_at", newest.Last)
		}
		fs = append(fs, Finding{Copy: "repository", Problem: RolledBack, Chain: chain, Seq: known.Last}.says("log.f.rolled_back", known.Last, stamp(known.Written, l.opt.Zone), at))
	}
	if newest != nil {
		// Records after the head that the repository lacks, unless their
		// copy is known to have failed (the next run brings both), mean
		// an older copy. (Records there with a head behind them are a
		// head not written yet: a concurrent run's, or one refused.)
		behind := false
		for s := newest.Last + 1; s <= lastFor; s++ {
			if lc := lm[s]; lc != nil && rm[s] == nil && concerns(&lc.rec) {
				if _, ok := noted(lc); !ok {
					behind = true
				}
			}
		}
		if behind && !knownBehind {
			fs = append(fs, Finding{Copy: "repository", Problem: RolledBack, Chain: chain, Seq: newest.Last + 1}.says("log.f.behind", stamp(newest.Written, l.opt.Zone), newest.Last, lastFor))
		}
		var n uint64
		for s, r := range rm {
			if s <= newest.Last && concerns(&r.rec) {
				n++
			}
		}
		if n < newest.Count {
			fs = append(fs, Finding{Copy: "repository", Problem: Removed, Chain: chain}.says("log.f.count", newest.Count, newest.Last, n))
		}
	}
	return newest, fs
}

// newestHead returns the head with the highest seq among those of chain
// ("" any) and repoID that verify with a trusted key.
func newestHead(remote []entry, chain, repoID string, trusted keyring) *Head {
	// Newest first, so that only the signatures of heads newer than the
	// newest good one are checked (a repository keeps every head it was
	// given: one per run). The sort is stable: of two equal heads, the one
	// listed first is taken, as a scan in list order would.
	var cand []*entry
	for i := range remote {
		e := &remote[i]
		if e.isHead && e.err == nil && (chain == "" || e.head.Chain == chain) && e.head.RepositoryID == repoID {
			cand = append(cand, e)
		}
	}
	slices.SortStableFunc(cand, func(a, b *entry) int {
		if c := cmp.Compare(b.head.Seq, a.head.Seq); c != 0 {
			return c
		}
		return cmp.Compare(b.head.Last, a.head.Last)
	})
	for _, e := range cand {
		if st, _ := e.sigState(); st == sigValid && trusted.has(e.head.Signer) {
			h := e.head
			return &h
		}
	}
	return nil
}

// snapshotFindings compares the repository's snapshots with those the
// log's records of it made and removed: a snapshot a forget removed that
// is there again, or one a backup made that is gone with no forget to
// say so, means the repository is an older copy. (Heads alone miss a
// medium put back once a later run has copied the missing records into
// it again; its snapshots stay old.)
func snapshotFindings(local, remote []entry, repoID string, snapshots []string, zone *time.Location) []Finding {
	in := make(map[string]bool, len(snapshots))
	for _, s := range snapshots {
		in[s] = true
	}
	var fs []Finding
	seen := map[string]bool{}
	removed := map[string]bool{}
	var backups []*entry
	for _, es := range [][]entry{local, remote} {
		for i := range es {
			e := &es[i]
			if e.err != nil || e.isHead || e.rec.RepositoryID != repoID ||
				(e.rec.Op != OpBackup && e.rec.Op != OpForget) || !e.intact() {
				continue
			}
			if e.rec.Op == OpBackup && (e.rec.Result == OK || e.rec.Result == Partial) {
				backups = append(backups, e)
			}
			if e.rec.Op != OpForget {
				continue
			}
			for _, id := range e.rec.Snapshots {
				removed[id] = true
			}
			if e.rec.Forget == nil {
				continue
			}
			for _, it := range e.rec.Forget.Removed {
				removed[it.Snapshot] = true
				if in[it.Snapshot] && !seen[it.Snapshot] {
					seen[it.Snapshot] = true
					fs = append(fs, Finding{Copy: "repository", Problem: Forgotten, Chain: e.rec.Chain, Seq: e.rec.Seq, RecordID: e.rec.ID, Snapshot: it.Snapshot}.says(
						"log.f.forgotten", short(it.Snapshot), stamp(e.rec.Logged, zone), short(it.Snapshot)))
				}
			}
		}
	}
	for _, e := range backups {
		for _, id := range e.rec.Snapshots {
			if !in[id] && !removed[id] && !seen[id] {
				seen[id] = true
				fs = append(fs, Finding{Copy: "repository", Problem: MissingSnapshot, Chain: e.rec.Chain, Seq: e.rec.Seq, RecordID: e.rec.ID, Warning: true, Snapshot: id}.says(
					"log.f.missing_snapshot", short(id), stamp(e.rec.Logged, zone)))
			}
		}
	}
	return fs
}

// expectHead looks the head written down earlier up in the chain.
func expectHead(rep *VerifyReport, local, remote []entry, want string) uint64 {
	want = strings.ToLower(strings.TrimSpace(want))
	for _, es := range [][]entry{local, remote} {
		for i := range es {
			if e := &es[i]; e.err == nil && !e.isHead && e.computed == want && e.hash == want {
				return e.rec.Seq
			}
		}
	}
	detail := said("log.f.head_no_hash")
	if len(want) != 64 {
		detail = said("log.f.head_length", want, len(want))
	}
	rep.Findings = append(rep.Findings, Finding{Copy: "local", Problem: HeadNotFound}.says("log.f.expected_head", want, detail))
	return 0
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// sortRecords orders records by sequence number within a chain, and by
// time across chains.
func sortRecords(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Chain == rs[j].Chain {
			return rs[i].Seq < rs[j].Seq
		}
		return rs[i].Logged.Before(rs[j].Logged)
	})
}

// notOpenedFinding is the warning for a record of a run on medium that
// names no repository: the run never opened one. Only a run that found
// the medium absent (failure kind media, or an older record without a
// kind) is said to have found it absent; for any other failure (a
// password file that could not be read, a wrong password, a lock) the
// medium was there and the finding says what kept the repository closed.
func notOpenedFinding(chain string, seq uint64, medium string, rec *Record) Finding {
	f := Finding{Copy: "repository", Chain: chain, Seq: seq, RecordID: rec.ID, Warning: true}
	op := rec.Op
	opIn := phrase(func(l i18n.Lang) string {
		if l == i18n.EN {
			return string(op)
		}
		return OpLabel(l, op)
	})
	if rec.Failure == KindMedia || rec.Failure == "" {
		f.Problem = MediumAbsent
		return f.says("log.f.medium_absent", medium, opIn)
	}
	f.Problem = NotOpened
	kind := rec.Failure
	msg := rec.Message
	if msg == "" && len(rec.Errors) > 0 {
		msg = rec.Errors[0]
	}
	// The kind by its label and the run's own message, as recorded.
	why := phrase(func(l i18n.Lang) string {
		if l == i18n.EN {
			if msg == "" {
				return string(kind)
			}
			return string(kind) + ": " + msg
		}
		if msg == "" {
			return KindLabel(l, kind)
		}
		return KindLabel(l, kind) + `: "` + msg + `"`
	})
	return f.says("log.f.not_opened", medium, opIn, why)
}
