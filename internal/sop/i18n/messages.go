package i18n

// messages holds every message: key -> {Indonesian, English}.
var messages = map[string][2]string{
	// failure kinds
	"kind.source-unreadable":      {"Sumber tidak dapat dibaca", "Source unreadable"},
	"kind.dump-failed":            {"Perintah dump gagal", "Dump command failed"},
	"kind.repository-unreachable": {"Repositori tidak dapat dijangkau", "Repository unreachable"},
	"kind.lock":                   {"Repositori terkunci", "Repository locked"},
	"kind.wrong-password":         {"Kata sandi salah", "Wrong password"},
	"kind.out-of-space":           {"Ruang penyimpanan penuh", "Out of space"},
	"kind.integrity":              {"Kerusakan integritas data", "Integrity error"},
	"kind.media":                  {"Media backup salah atau tidak terpasang", "Wrong or missing medium"},
	"kind.media-read-only":        {"Media backup terpasang hanya-baca", "Medium mounted read-only"},
	"kind.time-standard-exceeded": {"Melebihi mutu baku waktu", "Time standard exceeded"},
	"kind.interrupted":            {"Proses terhenti", "Interrupted"},
	"kind.retention-failed":       {"Retensi gagal diterapkan", "Retention failed"},
	"kind.prune-failed":           {"Pemangkasan gagal", "Prune failed"},
	"kind.offsite-copy-failed":    {"Penyalinan ke media offsite gagal", "Offsite copy failed"},
	"kind.target-not-writable":    {"Tujuan restore tidak dapat ditulisi", "Restore target not writable"},
	"kind.other":                  {"Lainnya", "Other"},
	"result.ok":                   {"Berhasil", "OK"},
	"result.partial":              {"Sebagian", "Partial"},
	"result.failed":               {"Gagal", "Failed"},
	"op.backup":                   {"Backup", "Backup"},
	"op.restore":                  {"Restore", "Restore"},
	"op.restore-test":             {"Uji restore", "Restore test"},
	"op.check":                    {"Pemeriksaan", "Check"},
	"op.prune":                    {"Pemangkasan", "Prune"},
	"op.repair":                   {"Perbaikan", "Repair"},
	"op.copy":                     {"Penyalinan snapshot", "Copy"},
	"run.protections_added":       {"%d proteksi ditambahkan", "%d [[protection|protections]] added"},
	"op.forget":                   {"Penerapan retensi", "Retention"},
	"op.followup":                 {"Tindak lanjut", "Follow-up"},
	"tag.before-change":           {"sebelum perubahan", "before change"},
	"tag.manual":                  {"manual", "manual"},
	"col.id":                      {"ID", "ID"},
	"col.op":                      {"Kegiatan", "Operation"},
	"col.job":                     {"Job", "Job"},
	"col.medium":                  {"Media", "Medium"},
	"col.start":                   {"Mulai", "Start"},
	"col.end":                     {"Selesai", "End"},
	"col.duration":                {"Durasi", "Duration"},
	"col.added":                   {"Data baru", "Added"},
	"col.read":                    {"Data dibaca", "Read"},
	"col.result":                  {"Hasil", "Result"},
	"col.failure":                 {"Jenis kegagalan", "Failure kind"},
	"yes":                         {"Ya", "Yes"},
	"no":                          {"Tidak", "No"},
}

func init() {
	for k, v := range map[string][2]string{
		"mail.intro":   {"Sebuah kegiatan backup tidak berhasil dan harus dilaporkan kepada Kepala LPSE (SOP Pelaksanaan Backup-Server, langkah 5).", "A backup operation did not succeed and must be reported to the head of LPSE (backup SOP, step 5)."},
		"mail.next":    {"Buat laporan analisa kegagalan dan catat tindak lanjut:", "Produce the failure analysis report and record the follow-up:"},
		"f.run_id":     {"ID kegiatan", "Run ID"},
		"f.job":        {"Job", "Job"},
		"f.op":         {"Kegiatan", "Operation"},
		"f.medium":     {"Media", "Medium"},
		"f.repository": {"Repositori", "Repository"},
		"f.repo_id":    {"ID repositori", "Repository ID"},
		"f.host":       {"Server", "Host"},
		"f.operator":   {"Pelaksana", "Operator"},
		"f.start":      {"Mulai", "Start"},
		"f.end":        {"Selesai", "End"},
		"f.duration":   {"Durasi", "Duration"},
		"f.standard":   {"Mutu baku waktu", "Time standard"},
		"f.result":     {"Hasil", "Result"},
		"f.failure":    {"Jenis kegagalan", "Failure kind"},
		"f.message":    {"Keterangan", "Message"},
	} {
		messages[k] = v
	}
}

func init() {
	for k, v := range map[string][2]string{
		"st.last_backup":          {"Backup terakhir", "Last backup"},
		"st.last_test":            {"Uji restore terakhir", "Last restore test"},
		"st.test_due":             {"Uji restore berikutnya", "Next restore test"},
		"st.state":                {"Status", "State"},
		"st.level0":               {"OK", "OK"},
		"st.level1":               {"PERINGATAN", "WARNING"},
		"st.level2":               {"KRITIS", "CRITICAL"},
		"st.backup-failed":        {"backup terakhir gagal", "last backup failed"},
		"st.backup-partial":       {"backup terakhir sebagian", "last backup partial"},
		"st.backup-overdue":       {"backup terlambat", "backup overdue"},
		"st.never-backed-up":      {"belum pernah di-backup", "never backed up"},
		"st.restore-test-overdue": {"uji restore terlambat", "restore test overdue"},
		"st.followup-open":        {"tindak lanjut belum dicatat", "follow-up not recorded"},
		"st.followup-overdue":     {"tindak lanjut terlambat (lebih dari 1 hari)", "follow-up overdue (over 1 day)"},
		"st.next_medium":          {"Media berikutnya", "Next medium"},
		"st.last_offsite":         {"Salinan offsite terakhir", "Last offsite copy"},
		"st.offsite-failed":       {"penyalinan offsite terakhir gagal", "last offsite copy failed"},
		"st.offsite-overdue":      {"salinan offsite terlambat", "offsite copy overdue"},
		"st.offsite-never":        {"belum pernah disalin ke media offsite", "never copied offsite"},
		"st.runlog-problems":      {"log pelaksanaan bermasalah: head tidak ditulis ke repositori", "run log has problems: no head written into the repositories"},
		"st.runlog-not-copied":    {"catatan log belum tersalin ke repositori", "run-log records not copied into a repository"},
		"st.runlog-clock-back":    {"jam mundur di antara dua catatan log", "clock stepped back between two run-log records"},
	} {
		messages[k] = v
	}
}
