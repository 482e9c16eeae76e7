package report

import (
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/jobs"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/snapshot/retention"
)

// policyText describes a policy as a forget record keeps it, in the
// document's language, as the inventory describes a configured one.
func (e Env) policyText(p runlog.Policy) string {
	var s []string
	for _, x := range []struct {
		n   int
		key string
	}{{p.Last, "inv.last"}, {p.Hourly, "inv.hourly"}, {p.Daily, "inv.daily"}, {p.Weekly, "inv.weekly"}, {p.Monthly, "inv.monthly"}, {p.Yearly, "inv.yearly"}} {
		if x.n > 0 {
			s = append(s, e.t(x.key, x.n))
		}
	}
	if p.Within != "" {
		w := p.Within
		if d, err := retention.ParseDuration(p.Within); err == nil && d.Years == 0 && d.Months == 0 {
			w = e.Lang.Span(time.Duration(d.Days*24+d.Hours) * time.Hour)
		}
		s = append(s, e.t("inv.within", w))
	}
	if len(s) == 0 {
		return e.t("inv.keep_all")
	}
	return strings.Join(s, ", ")
}

// applied says, for the inventory, what retention and prune were last
// applied to the job's snapshots (from the run log), not only configured.
func (e Env) applied(j *jobs.Job, recs []runlog.Record) string {
	var lines []string
	var forget, pruned *runlog.Record
	for k := len(recs) - 1; k >= 0 && (forget == nil || pruned == nil); k-- {
		r := &recs[k]
		if !appliesTo(r, j) || r.Result != runlog.OK {
			continue
		}
		switch {
		case r.Op == runlog.OpForget && forget == nil && r.Forget != nil:
			forget = r
		case r.Op == runlog.OpPrune && pruned == nil:
			pruned = r
		}
	}
	switch {
	case forget != nil:
		lines = append(lines, e.t("inv.applied", e.stamp(forget.End), dash(forget.Medium), e.policyText(forget.Forget.Policy),
			len(forget.Forget.Removed), len(forget.Forget.Kept)))
	case !j.Retention.IsZero():
		lines = append(lines, e.t("inv.not_applied"))
	}
	if !j.Retention.IsZero() {
		// The job's configuration, not the last forget's record: a forget
		// by hand (`cadang forget`) keeps no protection in its policy, and
		// the job's next run protects its before-change backups all the
		// same.
		lines = append(lines, e.t("inv.protect", e.Lang.Span(j.Retention.Protect())))
	}
	if j.Prune.Every > 0 {
		last := "-"
		if pruned != nil {
			last = e.stamp(pruned.End) + " (" + dash(pruned.Medium) + ")"
		}
		lines = append(lines, e.t("inv.prune", e.Lang.Span(j.Prune.Every.D()), last))
	} else if pruned != nil {
		lines = append(lines, e.t("inv.prune_manual", e.stamp(pruned.End)))
	}
	return strings.Join(lines, "\n")
}

// appliesTo reports whether the forget or prune r concerns the job j: one
// filed under the job, or one by hand on a medium that j shares with other
// jobs (filed under no job, the medium's), which acted on all of it.
func appliesTo(r *runlog.Record, j *jobs.Job) bool {
	if r.Job != "" {
		return r.Job == j.Name
	}
	return r.RepositoryID != "" && j.MediumByID(r.RepositoryID) >= 0
}

// maintenanceBlocks is the monthly report's section on retention, prune
// and repair: every forget, prune and repair of the month, what they
// removed and freed, and what a repair took out and kept.
func (e Env) maintenanceBlocks(recs []runlog.Record) []doc.Block {
	blocks := []doc.Block{doc.Heading{Text: e.t("mon.h_retention")}}
	if len(recs) == 0 {
		return append(blocks, doc.Paragraph{Text: e.t("mon.no_retention")})
	}
	var rows [][]string
	var removed []string
	nForget, nPrune, nRepair, nSnaps, nPacks := 0, 0, 0, 0, 0
	var freed int64
	for _, r := range recs {
		what := "-"
		switch r.Op {
		case runlog.OpForget:
			nForget++
			if f := r.Forget; f != nil {
				nSnaps += len(f.Removed)
				what = e.t("mon.forget_what", len(f.Removed), len(f.Kept), e.policyText(f.Policy))
				if f.NotRecorded {
					// An offsite copy into this medium may bring them back.
					what += e.t("note.forget-unrecorded")
				}
				for _, it := range f.Removed {
					removed = append(removed, e.t("mon.removed_item", short(it.Snapshot, 8), dash(it.Source), e.stamp(it.Time), r.ID))
				}
			}
		case runlog.OpPrune:
			nPrune++
			if p := r.Prune; p != nil {
				nPacks += p.DeletedPacks
				freed += p.DeletedBytes
				what = e.t("mon.prune_what", p.DeletedPacks, e.Lang.Bytes(p.DeletedBytes), p.MarkedPacks, e.Lang.Bytes(p.MarkedBytes))
			}
		case runlog.OpRepair:
			nRepair++
			what = dash(runlog.MessageText(e.Lang, &r))
		}
		rows = append(rows, []string{r.ID, dash(r.Job), dash(r.Medium), e.stamp(r.Start), runlog.OpLabel(e.Lang, r.Op),
			runlog.ResultLabel(e.Lang, r.Result) + kindSuffix(e.Lang, r.Failure), what})
	}
	summary := e.t("mon.retention_summary", nForget, nSnaps, nPrune, nPacks, e.Lang.Bytes(freed))
	if nRepair > 0 {
		summary += " " + e.t("mon.repair_summary", nRepair)
	}
	blocks = append(blocks,
		doc.Paragraph{Text: summary},
		doc.Table{Header: []string{e.t("col.id"), e.t("col.job"), e.t("col.medium"), e.t("f.date"), e.t("col.op"), e.t("col.result"), e.t("mon.done_what")},
			Rows: rows, Widths: []float64{3, 1.7, 1.7, 2.4, 3, 1.9, 5.3}})
	if len(removed) > 0 {
		blocks = append(blocks, doc.Paragraph{Text: e.t("mon.removed")}, doc.List(removed))
	}
	return blocks
}

func maintenanceIn(recs []runlog.Record, start, end time.Time) []runlog.Record {
	var out []runlog.Record
	for _, r := range recs {
		if (r.Op == runlog.OpForget || r.Op == runlog.OpPrune || r.Op == runlog.OpRepair) && !r.Start.Before(start) && r.Start.Before(end) {
			out = append(out, r)
		}
	}
	return out
}
