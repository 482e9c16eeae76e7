package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/doc"
	"github.com/lpse/cadang/internal/sop/runlog"
)

// blankDate is the date line of a blank form, to be written by hand.
const blankDate = "...................."

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// RestoreRequest is the "Form Permintaan Restore" (SOP steps 4 and 7):
// blank when r is nil, to print and fill in by hand, or filled from a
// restore record.
func (e Env) RestoreRequest(r *runlog.Record) *doc.Document {
	d := e.newDoc("req.title")
	d.Subtitle = e.t("req.subtitle")
	var info runlog.RestoreInfo
	if r != nil && r.Restore != nil {
		info = *r.Restore
	}
	filled := r != nil
	v := func(s string) string {
		if !filled {
			return ""
		}
		return s
	}
	reqDate := ""
	if !info.RequestedAt.IsZero() {
		reqDate = e.Lang.Date(info.RequestedAt.In(e.loc()))
	} else if filled {
		reqDate = e.Lang.Date(r.Start.In(e.loc()))
	}
	d.Meta = []doc.Field{
		{Label: e.t("req.number"), Value: v(info.RequestID), Blank: true},
		{Label: e.t("f.date"), Value: reqDate, Blank: true},
	}
	// A blank form is dated by whoever fills it in, not on the day it was
	// printed (issue 15).
	placeDate := e.placeDate()
	if !filled {
		placeDate = blankDate
		if city := e.Config.Organization.City; city != "" {
			placeDate = city + ", " + blankDate
		}
	}
	reason := strings.ToLower(info.Reason)
	ticks := []bool{
		filled && strings.Contains(reason, "lkpp"),
		filled && (strings.Contains(reason, "server") || strings.Contains(reason, "hardware") || strings.Contains(reason, "perangkat")),
		filled && r.Op == runlog.OpRestoreTest,
	}
	ticks = append(ticks, filled && !ticks[0] && !ticks[1] && !ticks[2])
	paths := ""
	if filled {
		paths = strings.Join(info.Paths, "\n")
	}
	d.Blocks = append(d.Blocks,
		doc.Heading{Text: e.t("req.h_requester")},
		doc.Fields{
			{Label: e.t("req.name"), Value: v(info.RequestedBy), Blank: true},
			{Label: e.t("req.unit"), Value: v(info.RequesterOf), Blank: true},
		},
		doc.Heading{Text: e.t("req.h_request")},
		doc.Choice{Label: e.t("req.reason_kind"), Options: []string{e.t("req.r_ito"), e.t("req.r_hw"), e.t("req.r_test"), e.t("req.r_other")}, Ticked: ticks},
		doc.Fields{
			{Label: e.t("req.reason"), Value: v(info.Reason), Blank: true},
			{Label: e.t("f.job"), Value: v(jobOf(r)), Blank: true},
			{Label: e.t("req.what"), Value: paths, Blank: true},
			{Label: e.t("req.snapshot"), Value: v(info.Snapshot), Blank: true},
			{Label: e.t("req.target"), Value: v(info.Target), Blank: true},
			{Label: e.t("req.needed_by"), Blank: true},
		},
		doc.Paragraph{Text: e.t("req.note")},
		doc.Signatures{PlaceDate: placeDate, Signers: []doc.Signer{
			{Role: e.t("sig.requester"), Name: v(info.RequestedBy)},
			{Role: e.t("sig.approved"), Name: e.Config.Organization.Head.Name, Title: or(e.Config.Organization.Head.Title, e.t("role.head")), NIP: e.Config.Organization.Head.NIP},
		}},
	)
	return d
}

func jobOf(r *runlog.Record) string {
	if r == nil {
		return ""
	}
	return r.Job
}

// RestoreMinutes is the "Berita Acara Pelaksanaan Restore" (SOP step 8):
// what was requested and by whom, what was restored from which snapshot and
// where to, the verification and the duration, signed by the requester, the
// performer and their superiors.
func (e Env) RestoreMinutes(r runlog.Record) *doc.Document {
	d := e.newDoc("ba.title")
	info := runlog.RestoreInfo{}
	if r.Restore != nil {
		info = *r.Restore
	}
	when := r.End.In(e.loc())
	d.Meta = []doc.Field{{Label: e.t("ba.number"), Value: r.ID}}
	var opening string
	if e.Lang == "en" {
		opening = fmt.Sprintf("On %s, %s, at %s, a restore of backup data was carried out as described below.",
			e.Lang.Weekday(when.Weekday()), e.Lang.Date(when), or(e.Config.Organization.Name, "-"))
	} else {
		opening = fmt.Sprintf("Pada hari ini %s tanggal %s bulan %s tahun %s (%s), bertempat di %s, telah dilaksanakan restore data backup dengan rincian sebagai berikut.",
			e.Lang.Weekday(when.Weekday()), e.Lang.Words(when.Day()), e.Lang.MonthName(when.Month()), e.Lang.Words(when.Year()),
			when.Format("02-01-2006"), or(e.Config.Organization.Name, "-"))
	}
	verify := e.t("ba.not_verified")
	if info.Verified {
		verify = e.t("ba.verified")
	}
	if v := runlog.VerifyText(e.Lang, &r); v != "" {
		verify += " " + v
	}
	d.Blocks = append(d.Blocks,
		doc.Paragraph{Text: opening},
		doc.Heading{Text: e.t("ba.h_request")},
		doc.Fields{
			{Label: e.t("req.number"), Value: info.RequestID},
			{Label: e.t("req.name"), Value: info.RequestedBy},
			{Label: e.t("req.unit"), Value: info.RequesterOf},
			{Label: e.t("req.reason"), Value: info.Reason},
		},
		doc.Heading{Text: e.t("ba.h_restore")},
		doc.Fields{
			{Label: e.t("f.job"), Value: r.Job},
			{Label: e.t("req.what"), Value: strings.Join(info.Paths, "\n")},
			{Label: e.t("req.snapshot"), Value: info.Snapshot},
			{Label: e.t("ba.snapshot_time"), Value: e.dt(info.SnapshotAt)},
			{Label: e.t("f.medium"), Value: strings.TrimSpace(r.Medium + " " + r.RepositoryID)},
			{Label: e.t("req.target"), Value: info.Target},
			{Label: e.t("f.operator"), Value: r.Operator},
			{Label: e.t("f.host"), Value: r.Host},
			{Label: e.t("f.start"), Value: e.dt(r.Start)},
			{Label: e.t("f.end"), Value: e.dt(r.End)},
			{Label: e.t("f.duration"), Value: e.Lang.Duration(r.Duration())},
			{Label: e.t("f.standard"), Value: e.t("f.standard_v", e.Lang.Duration(msDur(r.TimeStandard)), e.yesNo(r.StandardMet))},
			{Label: e.t("ba.files"), Value: e.Lang.Int(r.FilesRead) + " / " + e.Lang.Bytes(r.BytesRead)},
		},
		doc.Heading{Text: e.t("ba.h_result")},
		doc.Fields{
			{Label: e.t("f.result"), Value: runlog.ResultLabel(e.Lang, r.Result) + kindSuffix(e.Lang, r.Failure)},
			{Label: e.t("ba.verification"), Value: verify},
			{Label: e.t("f.message"), Value: runlog.MessageText(e.Lang, &r)},
		},
		doc.Paragraph{Text: e.t("ba.closing")},
		doc.Signatures{PlaceDate: e.placeDate(), Signers: []doc.Signer{
			{Role: e.t("sig.requester"), Name: info.RequestedBy, Title: info.RequesterOf},
			{Role: e.t("sig.performer"), Name: e.Config.Organization.Administrator.Name, Title: or(e.Config.Organization.Administrator.Title, e.t("role.admin"))},
			{Role: e.t("sig.req_superior")},
			{Role: e.t("sig.perf_superior"), Name: e.Config.Organization.Head.Name, Title: or(e.Config.Organization.Head.Title, e.t("role.head")), NIP: e.Config.Organization.Head.NIP},
		}},
	)
	return d
}
