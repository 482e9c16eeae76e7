package runlog

import (
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/i18n"
)

// MessageText returns what the record says about its run, in language l:
// the sentence of its Note, then the raw error text quoted (it is not
// cadang's to translate), and for a run over the time standard how long it
// took against the standard. A record without a Note (written by an older
// cadang, or a follow-up) gives its Message as it is.
func MessageText(l i18n.Lang, r *Record) string {
	s := noteText(l, r.Note, r.Message)
	if r.Note != nil && r.Failure == KindTimeStandard {
		std := time.Duration(r.TimeStandard) * time.Millisecond
		s += l.T("note.over-standard", l.Duration(r.Duration()), l.Duration(std))
	}
	s += sourcesSaved(l, r)
	if r.Forget != nil && r.Forget.NotRecorded {
		// A sentence of its own, not a note code, so that a reader that
		// predates the field still shows the note.
		s += l.T("note.forget-unrecorded")
	}
	return s
}

// sourcesSaved says, for a failed backup of several sources, which were
// saved (with their snapshots) and which were not: the failure names one
// source, and a reader must not take the others for lost too, nor for
// saved. "" for any other record.
func sourcesSaved(l i18n.Lang, r *Record) string {
	if r.Op != OpBackup || r.Result != Failed || len(r.Sources) < 2 {
		return ""
	}
	var saved, lost []string
	for _, s := range r.Sources {
		if s.Snapshot == "" {
			lost = append(lost, s.Name)
			continue
		}
		id := s.Snapshot
		if len(id) > 8 {
			id = id[:8]
		}
		saved = append(saved, s.Name+" (snapshot "+id+")")
	}
	switch {
	case len(lost) == 0:
		return "" // failed for another reason (the time standard)
	case len(saved) == 0:
		return l.T("note.sources-none-saved", strings.Join(lost, ", "))
	}
	return l.T("note.sources-saved", strings.Join(saved, ", "), strings.Join(lost, ", "))
}

// SourceText is MessageText for one source of a backup run.
func SourceText(l i18n.Lang, s *Source) string { return noteText(l, s.Note, s.Message) }

func noteText(l i18n.Lang, n *Note, raw string) string {
	if n == nil {
		return raw
	}
	s := l.Note(n.Code, n.Args...)
	switch {
	case raw == "":
	case i18n.Has("note." + n.Code + ".raw"):
		// The raw text labelled as what it is (a command's own stderr),
		// as the note's language says it.
		s += l.T("note."+n.Code+".raw") + ` "` + raw + `"`
	case l != i18n.EN && retiredSentence(raw):
		// A record written before these failures were notes keeps
		// cadang's English sentence: shown as recorded, and said to be
		// so, as the restore minutes say of their errors.
		s += " " + l.T("ba.err_program") + `: "` + raw + `"`
	default:
		s += `: "` + raw + `"`
	}
	return s
}

// retiredSentence reports whether raw is one of the English sentences that
// cadang recorded as a failure's message before it recorded them as notes
// (a failed dump command, a source without a readable path, a medium not
// connected). The raw text of a newer record is never one of them.
func retiredSentence(raw string) bool {
	return strings.HasPrefix(raw, "command ") && strings.Contains(raw, "; no snapshot was saved") ||
		strings.HasPrefix(raw, "nothing to back up: ") ||
		strings.HasPrefix(raw, "medium ") && strings.Contains(raw, " is not connected: ")
}

// VerifyText describes, in language l, how the restore of r was verified;
// "" when r is not a restore. Records written before VerifyKind existed
// give their English Verify sentence, as they have nothing else.
func VerifyText(l i18n.Lang, r *Record) string {
	info := r.Restore
	if info == nil {
		return ""
	}
	var text string
	switch info.VerifyKind {
	case VerifyAll:
		text = l.Note("verify-all", info.FilesVerified)
	case VerifySome:
		if info.FilesFailed > 0 {
			text = l.Note("verify-some", info.FilesVerified, r.FilesRead, info.FilesFailed)
		} else {
			text = l.Note("verify-some-done", info.FilesVerified, r.FilesRead)
		}
	case VerifyBlobs:
		text = l.Note("verify-blobs")
	default:
		return info.Verify
	}
	switch {
	case info.ItemsWithErrors > 0 && info.FilesFailed > 0:
		text += " " + l.Note("verify-problems-other", info.ItemsWithErrors)
	case info.ItemsWithErrors > 0:
		text += " " + l.Note("verify-problems", info.ItemsWithErrors)
	}
	// What the restore did not write is not verified either, and the
	// tree differs from the source where links became copies: an auditor
	// reading "all match" must see both.
	if info.FilesKeptVerified > 0 {
		text += " " + l.Note("verify-kept-read", info.FilesKeptVerified)
	}
	if info.FilesKept > 0 {
		text += " " + l.Note("verify-kept", info.FilesKept)
	}
	if info.HardlinkCopies > 0 {
		text += " " + l.Note("hardlink-copies", info.HardlinkCopies)
	}
	if info.Replaced > 0 {
		text += " " + l.Note("restore-replaced", info.Replaced)
	}
	if info.KeptMetadataSet > 0 {
		text += " " + l.Note("restore-kept-metadata", info.KeptMetadataSet)
	}
	if info.OwnersNotRestored {
		text += " " + l.Note("restore-no-owners")
	}
	if info.SetIDDropped > 0 {
		text += " " + l.Note("restore-setid-dropped", info.SetIDDropped)
	}
	if info.DevicesSkipped > 0 {
		text += " " + l.Note("restore-devices-skipped", info.DevicesSkipped)
	}
	return text
}
