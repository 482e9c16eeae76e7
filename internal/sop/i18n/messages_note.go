package i18n

// The sentences of the run-log notes (runlog.Note): what the record says
// about its run, in both languages. Arguments are always %s (Lang.Note
// formats them).
func init() {
	for k, v := range map[string][2]string{
		"note.error":                         {"Kesalahan", "Error"},
		"note.done":                          {"Selesai", "Done"},
		"note.partial":                       {"Sebagian berhasil", "Partly done"},
		"note.snapshot-saved":                {"Snapshot %s tersimpan", "Snapshot %s saved"},
		"note.snapshot-saved-unreadable":     {"Snapshot %s tersimpan, tetapi %s berkas tidak dapat dibaca", "Snapshot %s saved, but %s items could not be read"},
		"note.snapshots-saved":               {"%s snapshot tersimpan", "%s snapshot(s) saved"},
		"note.snapshots-saved-connected":     {"%s snapshot tersimpan pada media %s yang terpasang (backup sebelum perubahan; rotasi tetap: berikutnya %s)", "%s snapshot(s) saved on the connected medium %s (backup before a change; the rotation stays: %s is next)"},
		"note.saved-unreadable":              {"Snapshot tersimpan, tetapi sebagian berkas tidak dapat dibaca", "Snapshots saved, but some files could not be read"},
		"note.files-unreadable":              {"%s berkas tidak dapat dibaca", "%s files could not be read"},
		"note.not-started":                   {"Tidak dimulai: proses terhenti", "Not started: interrupted"},
		"note.source-failed":                 {"Sumber %s gagal", "Source %s failed"},
		"note.source-not-started":            {"Sumber %s tidak dimulai: proses terhenti", "Source %s not started: interrupted"},
		"note.open-failed":                   {"Repositori %s pada media %s tidak dapat dibuka", "Cannot open repository %s on medium %s"},
		"note.wrong-medium":                  {"Media salah: seharusnya %s (repositori %s), tetapi repositori di %s adalah media yang tidak dikenal (%s)", "Wrong medium: %s is due (repository %s), but the repository at %s is an unknown medium (%s)"},
		"note.wrong-medium-known":            {"Media salah: seharusnya %s (repositori %s), tetapi repositori di %s adalah media %s (urutan ke-%s dalam rotasi, %s)", "Wrong medium: %s is due (repository %s), but the repository at %s is medium %s (number %s of the rotation, %s)"},
		"note.over-standard":                 {"; tetapi memerlukan %s, melebihi mutu baku waktu %s", "; but it took %s, over the time standard of %s"},
		"note.restored":                      {"Snapshot %s di-restore ke %s: %s berkas", "Snapshot %s restored to %s: %s files"},
		"note.restored-partial":              {"Snapshot %s di-restore ke %s: %s berkas; %s berkas tidak dapat di-restore", "Snapshot %s restored to %s: %s files; %s files could not be restored"},
		"note.checked-structure":             {"Struktur repositori diperiksa: %s snapshot, %s pack, %s blob; tidak ada kesalahan", "Structure checked: %s snapshots, %s packs, %s blobs; no errors"},
		"note.checked-data":                  {"Struktur dan data repositori diperiksa: %s snapshot, %s pack, %s blob; tidak ada kesalahan", "Structure and data checked: %s snapshots, %s packs, %s blobs; no errors"},
		"note.test-ok":                       {"%s berkas dari %s snapshot di-restore dan diverifikasi byte per byte; %s perintah verifikasi berhasil", "%s files from %s snapshots restored and verified byte for byte; %s verify commands passed"},
		"note.test-ok-no-commands":           {"%s berkas dari %s snapshot di-restore dan diverifikasi byte per byte; tidak ada perintah verifikasi yang dikonfigurasi", "%s files from %s snapshots restored and verified byte for byte; no verify commands are configured"},
		"note.test-ok-db":                    {"%s berkas dari %s snapshot di-restore dan diverifikasi byte per byte; %s dump database dimuat ke database sementara, %s kueri pemeriksaan sesuai", "%s files from %s snapshots restored and verified byte for byte; %s database dumps loaded into a scratch database, %s check queries matched"},
		"note.test-ok-db-no-checks":          {"%s berkas dari %s snapshot di-restore dan diverifikasi byte per byte; %s dump database dimuat ke database sementara dengan semua tabelnya; tidak ada kueri pemeriksaan yang dikonfigurasi", "%s files from %s snapshots restored and verified byte for byte; %s database dumps loaded into a scratch database with all their tables; no check queries are configured"},
		"note.test-ok-db-commands-no-checks": {"%s berkas dari %s snapshot di-restore dan diverifikasi byte per byte; %s perintah verifikasi berhasil; %s dump database dimuat ke database sementara dengan semua tabelnya; tidak ada kueri pemeriksaan yang dikonfigurasi", "%s files from %s snapshots restored and verified byte for byte; %s verify commands passed; %s database dumps loaded into a scratch database with all their tables; no check queries are configured"},
		"note.test-ok-db-commands":           {"%s berkas dari %s snapshot di-restore dan diverifikasi byte per byte; %s perintah verifikasi berhasil; %s dump database dimuat ke database sementara, %s kueri pemeriksaan sesuai", "%s files from %s snapshots restored and verified byte for byte; %s verify commands passed; %s database dumps loaded into a scratch database, %s check queries matched"},
		"note.test-failed":                   {"Uji restore: %s dari %s pemeriksaan gagal", "Restore test: %s of %s checks failed"},
		"note.verify-all":                    {"%s berkas dibaca kembali setelah restore dan dicocokkan dengan snapshot (--verify): semuanya sesuai.", "%s files read back after the restore and checked against the snapshot (--verify): all match."},
		"note.verify-kept":                   {"%s entri yang sudah ada dibiarkan seperti di target (mode --overwrite) dan tidak ditulis maupun diverifikasi.", "%s existing entries were kept as the target had them (the --overwrite mode) and were neither written nor verified."},
		"note.hardlink-copies":               {"%s hardlink ditulis sebagai berkas tersendiri, bukan sebagai tautan; isinya sesuai dengan snapshot.", "%s hardlinks were written as files of their own, not as links; their content is the snapshot's."},
		"note.verify-some":                   {"%s dari %s berkas terverifikasi; %s berkas tidak dapat di-restore.", "%s of %s files verified; %s could not be restored."},
		"note.forget-done":                   {"Retensi diterapkan: %s snapshot dihapus, %s disimpan", "Retention applied: %s snapshots removed, %s kept"},
		"note.forget-unrecorded":             {"; penghapusan tidak dapat dicatat di media ini sebagai snapshot yang dilupakan, sehingga salinan berikutnya ke media ini dapat mengembalikan snapshot tersebut", "; the removals could not be recorded on this medium as forgotten snapshots, so a later copy into it may bring those snapshots back"},
		"note.forget-failed":                 {"Retensi gagal diterapkan: %s dari %s snapshot terhapus", "Retention failed: %s of %s snapshots removed"},
		"note.prune-done":                    {"Pemangkasan: %s pack dihapus, %s pack ditandai untuk pemangkasan berikutnya, %s kelompok menunggu backup yang sedang berjalan", "Prune: %s packs deleted, %s packs marked for the next prune, %s sets waiting for running backups"},
		"note.prune-failed":                  {"Pemangkasan gagal", "Prune failed"},
		"note.repair-packs":                  {"%s pack yang rusak dikeluarkan dari repositori (isinya disimpan di %s); %s blob punya salinan utuh di pack lain, %s disimpan ulang dari pack yang rusak, %s hilang", "%s damaged pack(s) taken out of the repository (their bytes kept in %s); %s blob(s) had an intact copy in another pack, %s were stored again from the damaged packs, %s lost"},
		"note.repair-index":                  {"Indeks dibangun ulang dari header pack: %s pack, %s blob; %s pack dengan header yang tidak dapat dibaca, %s berkas pack usang yang tidak dapat dibaca dihapus", "Index rebuilt from the pack headers: %s packs, %s blobs; %s pack(s) whose header cannot be read, %s unreadable obsolete-pack file(s) removed"},
		"note.repair-forgotten":              {"%s berkas catatan snapshot terlupakan yang tidak dapat dibaca dihapus dari repositori", "%s unreadable record(s) of forgotten snapshots removed from the repository"},
		"note.repair-records":                {"%s berkas catatan log yang rusak dikeluarkan dari repositori (isinya disimpan di %s); sebelumnya %s berkas disimpan ulang dari salinan di host ini dan %s catatan disalin ulang dari log lokal", "%s damaged run-log file(s) taken out of the repository (their bytes kept in %s); first %s file(s) saved again from the copies on this host and %s record(s) copied in again from the local log"},
		"note.offsite-copied":                {"%s snapshot disalin ke media offsite %s, %s sudah ada di sana; %s blob baru diunggah", "%s snapshot(s) copied to offsite medium %s, %s already there; %s new blobs uploaded"},
		"note.offsite-copied-forgotten":      {"%s snapshot disalin ke media offsite %s, %s sudah ada di sana, %s sudah dilupakan di sana dan tidak disalin lagi; %s blob baru diunggah", "%s snapshot(s) copied to offsite medium %s, %s already there, %s forgotten there and not copied again; %s new blobs uploaded"},
		"note.offsite-open-failed":           {"Media offsite %s (%s) tidak dapat dibuka", "Cannot open offsite medium %s (%s)"},
		"note.offsite-wrong-id":              {"Media offsite salah: di %s seharusnya repositori %s, tetapi yang ada adalah repositori %s", "Wrong offsite medium: repository %s was expected at %s, but repository %s is there"},
		"note.offsite-source-failed":         {"Media %s tidak dapat dibuka kembali untuk penyalinan offsite", "Cannot reopen medium %s for the offsite copy"},
		"note.offsite-failed":                {"Penyalinan ke media offsite %s gagal; %s snapshot sudah tersalin", "Copy to offsite medium %s failed; %s snapshot(s) were copied"},
		"note.verify-blobs":                  {"Restore tanpa --verify: setiap blob diperiksa saat didekripsi (enkripsi terautentikasi), berkas tidak dibaca kembali.", "Restored without --verify: each blob was checked on decryption (authenticated encryption), the files were not read back."},
	} {
		messages[k] = v
	}
}
