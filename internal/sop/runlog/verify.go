package runlog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Problem is what Verify found wrong with a record.
type Problem string

// The problems Verify reports.
const (
	Unreadable Problem = "unreadable" // the entry cannot be parsed
	Altered    Problem = "altered"    // the record's bytes do not match its hash
	BrokenLink Problem = "broken-link"
	Removed    Problem = "removed"
	Reordered  Problem = "reordered"
	Duplicated Problem = "duplicated"
	Differs    Problem = "differs" // the two copies hold different records at one position
	// NotCopied is a warning: a local record is not (yet) in the
	// repository; the next run that uses this repository copies it.
	NotCopied Problem = "not-copied"
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
}

func (f Finding) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", f.Copy, f.Problem)
	if f.RecordID != "" {
		fmt.Fprintf(&b, ": record %s", f.RecordID)
	}
	if f.Seq != 0 {
		fmt.Fprintf(&b, " (seq %d)", f.Seq)
	}
	if f.Where != "" {
		fmt.Fprintf(&b, " at %s", f.Where)
	}
	fmt.Fprintf(&b, ": %s", f.Detail)
	return b.String()
}

// CopySummary describes one verified copy.
type CopySummary struct {
	Records int               `json:"records"`
	Chains  map[string]uint64 `json:"chains"` // chain -> highest seq
	// Head is the hash of the last record of the local chain: write it down
	// (it is printed in reports) to anchor the chain against a rewrite of
	// the whole log.
	Head string `json:"head,omitempty"`
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Local    CopySummary  `json:"local"`
	Repo     *CopySummary `json:"repository,omitempty"`
	Findings []Finding    `json:"findings"`
}

// OK reports whether nothing but warnings was found.
func (r *VerifyReport) OK() bool {
	for _, f := range r.Findings {
		if !f.Warning {
			return false
		}
	}
	return true
}

// Verify checks the local mirror and, if store is not nil, the copy in the
// repository, and compares the two.
//
// In each copy it checks every record's hash (altered), that the records of
// a chain number 1, 2, 3... without gaps (removed), in order (reordered; the
// local mirror only, as the repository has no order but the one the records
// carry), and that each record names the hash of the one before (broken
// link: a record was altered and its hash recomputed, or replaced). Then it
// compares the copies position by position for the local chain: a record
// present in one copy and missing in the other within the range both hold
// is removed; local records past the repository's last are warnings
// (not-copied), as the repository is brought up to date by the next run
// that uses it; repository records past the local mirror's last mean the
// local mirror lost its tail.
//
// What it cannot see: the removal of the newest records from both copies,
// or a consistent rewrite of a whole chain by someone holding the
// repository password. The head hash printed in reports anchors against that.
func (l *Log) Verify(ctx context.Context, store RecordStore) (*VerifyReport, error) {
	local, err := l.readLocal()
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{}
	var lf []Finding
	rep.Local, lf = checkCopy("local", local, true)
	rep.Findings = append(rep.Findings, lf...)
	if store == nil {
		return rep, nil
	}
	remote, err := readStore(ctx, store)
	if err != nil {
		return nil, fmt.Errorf("run log in repository: %w", err)
	}
	rs, rf := checkCopy("repository", remote, false)
	rep.Repo = &rs
	rep.Findings = append(rep.Findings, rf...)
	rep.Findings = append(rep.Findings, compare(local, remote)...)
	return rep, nil
}

// checkCopy verifies one copy. ordered says whether the entries' order is
// meaningful (the local file) or not (repository files).
func checkCopy(name string, es []entry, ordered bool) (CopySummary, []Finding) {
	sum := CopySummary{Chains: map[string]uint64{}}
	var fs []Finding
	add := func(p Problem, e *entry, detail string, args ...any) {
		f := Finding{Copy: name, Problem: p, Detail: fmt.Sprintf(detail, args...)}
		if e != nil {
			f.Where = e.where
			if e.err == nil {
				f.Chain, f.Seq, f.RecordID = e.rec.Chain, e.rec.Seq, e.rec.ID
			}
		}
		fs = append(fs, f)
	}
	chains := map[string][]*entry{}
	var chainOrder []string
	for i := range es {
		e := &es[i]
		if e.err != nil {
			add(Unreadable, e, "%v", e.err)
			continue
		}
		sum.Records++
		if e.hash != e.computed {
			add(Altered, e, "the record's contents do not match its hash")
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
		// By sequence number, duplicates folded.
		bySeq := map[uint64]*entry{}
		for _, e := range list {
			if o, ok := bySeq[e.rec.Seq]; ok {
				if o.computed == e.computed && !ordered {
					continue // the same record saved twice by concurrent copies: harmless
				}
				add(Duplicated, e, "seq %d also held by record %s at %s", e.rec.Seq, o.rec.ID, o.where)
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
			if s > next {
				before, after := "the start of the chain", "record "+e.rec.ID
				if prev != nil {
					before = "record " + prev.rec.ID
				}
				f := Finding{Copy: name, Problem: Removed, Chain: c, Seq: next,
					Detail: fmt.Sprintf("seq %s missing between %s and %s", seqRange(next, s-1), before, after)}
				fs = append(fs, f)
				prev = nil
			}
			if prev != nil && e.rec.Prev != prev.hash {
				add(BrokenLink, e, "does not follow record %s (seq %d): that record was altered after this one was written, or one of the two was replaced", prev.rec.ID, prev.rec.Seq)
			} else if prev != nil && e.rec.Logged.Before(prev.rec.Logged) {
				add(Reordered, e, "logged at %s, before record %s (seq %d) logged at %s", e.rec.Logged.Format("2006-01-02 15:04:05"), prev.rec.ID, prev.rec.Seq, prev.rec.Logged.Format("2006-01-02 15:04:05"))
			}
			if s == 1 && e.rec.Prev != "" {
				add(BrokenLink, e, "the first record of a chain names a previous record")
			}
			prev = e
			next = s + 1
		}
	}
	return sum, fs
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
			fs = append(fs, Finding{Copy: name, Problem: Reordered, Chain: e.rec.Chain, Seq: s, RecordID: e.rec.ID, Where: e.where,
				Detail: fmt.Sprintf("comes after record %s (seq %d) at %s", maxE.rec.ID, max, maxE.where)})
			continue
		}
		if maxE != nil && s > max+1 {
			// a gap now filled later in the file means this record moved up
			for m := max + 1; m < s; m++ {
				if j, ok := later[m]; ok && j > i {
					fs = append(fs, Finding{Copy: name, Problem: Reordered, Chain: e.rec.Chain, Seq: s, RecordID: e.rec.ID, Where: e.where,
						Detail: fmt.Sprintf("comes before record %s (seq %d) at %s", list[j].rec.ID, m, list[j].where)})
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

func seqRange(a, b uint64) string {
	if a == b {
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("%d-%d", a, b)
}

// compare checks the local chain against the repository's copy of it.
func compare(local, remote []entry) []Finding {
	var chain string
	lm := map[uint64]*entry{}
	var lmax uint64
	for i := range local {
		e := &local[i]
		if e.err != nil {
			continue
		}
		if chain == "" || e.rec.Seq > lmax {
			chain = e.rec.Chain
		}
		if e.rec.Chain != chain {
			continue
		}
		if _, ok := lm[e.rec.Seq]; !ok {
			lm[e.rec.Seq] = e
		}
		if e.rec.Seq > lmax {
			lmax = e.rec.Seq
		}
	}
	if chain == "" {
		return nil
	}
	rm := map[uint64]*entry{}
	var rmax uint64
	for i := range remote {
		e := &remote[i]
		if e.err != nil || e.rec.Chain != chain {
			continue
		}
		if _, ok := rm[e.rec.Seq]; !ok {
			rm[e.rec.Seq] = e
		}
		if e.rec.Seq > rmax {
			rmax = e.rec.Seq
		}
	}
	var fs []Finding
	top := max(lmax, rmax)
	for s := uint64(1); s <= top; s++ {
		l, r := lm[s], rm[s]
		switch {
		case l != nil && r != nil:
			if l.computed != r.computed {
				fs = append(fs, Finding{Copy: "local", Problem: Differs, Chain: chain, Seq: s, RecordID: l.rec.ID, Where: l.where,
					Detail: fmt.Sprintf("differs from the repository's record %s at %s (the repository copy is encrypted and authenticated; trust it unless it is reported altered)", r.rec.ID, r.where)})
			}
		case l != nil && r == nil && s <= rmax:
			fs = append(fs, Finding{Copy: "repository", Problem: Removed, Chain: chain, Seq: s, RecordID: l.rec.ID,
				Detail: fmt.Sprintf("record %s (local %s) is missing from the repository", l.rec.ID, l.where)})
		case l != nil && r == nil:
			fs = append(fs, Finding{Copy: "repository", Problem: NotCopied, Chain: chain, Seq: s, RecordID: l.rec.ID, Warning: true,
				Detail: "not yet copied into this repository; the next run that uses it copies it"})
		case l == nil && r != nil:
			fs = append(fs, Finding{Copy: "local", Problem: Removed, Chain: chain, Seq: s, RecordID: r.rec.ID,
				Detail: fmt.Sprintf("record %s is in the repository (%s) but missing from the local mirror", r.rec.ID, r.where)})
		}
	}
	return fs
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
