package runlog

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
)

// Filter selects records; zero fields select everything.
type Filter struct {
	Since, Until time.Time // Start within [Since, Until)
	Job          string
	Result       Result
	Op           Operation
}

// Match reports whether r passes the filter.
func (f Filter) Match(r *Record) bool {
	t := r.Start
	if t.IsZero() {
		t = r.Logged
	}
	switch {
	case !f.Since.IsZero() && t.Before(f.Since):
		return false
	case !f.Until.IsZero() && !t.Before(f.Until):
		return false
	case f.Job != "" && r.Job != f.Job:
		return false
	case f.Result != "" && r.Result != f.Result:
		return false
	case f.Op != "" && r.Op != f.Op:
		return false
	}
	return true
}

// Select returns the records that pass f, in their order.
func Select(rs []Record, f Filter) []Record {
	var out []Record
	for i := range rs {
		if f.Match(&rs[i]) {
			out = append(out, rs[i])
		}
	}
	return out
}

// ParseResult parses "ok", "partial" or "failed" (or the Indonesian words).
func ParseResult(s string) (Result, error) {
	switch strings.ToLower(s) {
	case "":
		return "", nil
	case "ok", "berhasil", "sukses":
		return OK, nil
	case "partial", "sebagian":
		return Partial, nil
	case "failed", "fail", "gagal":
		return Failed, nil
	}
	return "", fmt.Errorf("unknown result %q (want ok, partial or failed)", s)
}

// KindLabel returns the failure kind in words.
func KindLabel(l i18n.Lang, k FailureKind) string {
	if k == "" {
		return "-"
	}
	return l.T("kind." + string(k))
}

// ResultLabel returns the result in words.
func ResultLabel(l i18n.Lang, r Result) string {
	if r == "" {
		return "-"
	}
	return l.T("result." + string(r))
}

// OpLabel returns the operation in words.
func OpLabel(l i18n.Lang, o Operation) string { return l.T("op." + string(o)) }

// WriteJSON writes the records as a JSON array on one line.
func WriteJSON(w io.Writer, rs []Record) error {
	if rs == nil {
		rs = []Record{}
	}
	// One line, like every --json output: a JSON value per line.
	return json.NewEncoder(w).Encode(rs)
}

var csvHeader = []string{"id", "seq", "op", "job", "medium", "repository_id", "host", "operator",
	"start", "end", "duration_s", "standard_met", "files_read", "files_added", "bytes_read", "bytes_added",
	"snapshots", "result", "failure", "message", "tags", "reason", "ref"}

// WriteCSV writes the records as CSV with a header line; times in RFC 3339,
// the message in English (CSV is for scripts, not documents). standard_met
// is Record.MetStandard: false for a failed or partial run, whatever an
// older record says.
func WriteCSV(w io.Writer, rs []Record) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range rs {
		row := []string{r.ID, strconv.FormatUint(r.Seq, 10), string(r.Op), r.Job, r.Medium, r.RepositoryID, r.Host, r.Operator,
			rfc(r.Start), rfc(r.End), strconv.FormatFloat(float64(r.DurationMS)/1000, 'f', 1, 64), strconv.FormatBool(r.MetStandard()),
			strconv.FormatInt(r.FilesRead, 10), strconv.FormatInt(r.FilesAdded, 10), strconv.FormatInt(r.BytesRead, 10), strconv.FormatInt(r.BytesAdded, 10),
			strings.Join(r.Snapshots, " "), string(r.Result), string(r.Failure), MessageText(i18n.EN, &r), strings.Join(r.Tags, " "), r.Reason, r.Ref}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// WriteTable writes the records as an aligned text table for a terminal,
// with times in loc.
func WriteTable(w io.Writer, rs []Record, l i18n.Lang, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join([]string{l.T("col.id"), l.T("col.op"), l.T("col.job"), l.T("col.medium"), l.T("col.start") + " (" + ZoneName(loc) + ")",
		l.T("col.duration"), l.T("col.added"), l.T("col.result"), l.T("col.failure")}, "\t"))
	for _, r := range rs {
		res := ResultLabel(l, r.Result)
		if r.HasTag(TagBeforeChange) {
			res += " [" + l.T("tag.before-change") + "]"
		}
		if r.Op == OpBackup && !r.JobBackup() {
			res += " [" + l.T("tag.manual") + "]"
		}
		// Only a backup and a copy add to a repository: a restore's or a
		// check's 0 B would read as "nothing was done".
		// Nor a failed run that added nothing.
		added := "-"
		if (r.Op == OpBackup || r.Op == OpCopy) && (r.Result != Failed || r.BytesAdded > 0) {
			added = l.Bytes(r.BytesAdded)
		}
		fmt.Fprintln(tw, strings.Join([]string{r.ID, OpLabel(l, r.Op), dash(r.Job), dash(r.Medium), l.Stamp(r.Start.In(loc)),
			l.Duration(r.Duration()), added, res, KindLabel(l, r.Failure)}, "\t"))
	}
	return tw.Flush()
}

// ZoneName names the zone that a table's times are in, as its heading
// says it ("WIB", "UTC"): the name the zone has now.
func ZoneName(loc *time.Location) string { return time.Now().In(loc).Format("MST") }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
