package i18n

// The details of the findings of 'cadang log verify' (runlog.Finding):
// record IDs, file names, numbers, times and the raw text of an error are
// their arguments, data in every language. The English text is the
// finding's Detail in the JSON output, which tools may read: it does not
// change with these.
func init() {
	for k, v := range map[string][2]string{
		"log.f.then":             {"%s; %s", "%s; %s"},
		"log.line":               {"baris %s", "line %s"},
		"log.file":               {"berkas %s", "file %s"},
		"log.f.loose_key":        {"kunci penandatangan host ini %s dapat dibaca oleh grupnya atau pengguna lain: siapa pun yang telah membacanya dapat menandatangani catatan atas nama host ini; jalankan chmod 600 padanya, dan sampai saat itu tidak ada catatan yang ditandatangani", "the host's signing key %s can be read by its group or others: whoever read it can sign records as this host; chmod 600 it, and no record is signed until then"},
		"log.f.unknown_key":      {"%s ditandatangani dengan kunci %s (yang pertama disebut di sini), yang bukan kunci penandatangan host ini dan bukan kunci yang dinyatakan tepercaya: jika itu kunci host lain yang cadang-nya mencatat kegiatan repositori ini (server yang digantikan server ini, atau forget dan prune dari host backup), bandingkan dengan keluaran 'cadang log key' di host itu, atau, bila host itu sudah hilang, dengan \"Kunci penanda tangan log\" (\"Run log signing key\") di kaki laporan dan berita acara yang dicetaknya, atau dengan [log] trust_keys host yang memercayainya; lalu percayai kunci itu dengan --trust-key %s atau [log] trust_keys dalam konfigurasi", "%s signed by key %s (the first named here), which is neither this host's signing key nor one it was told to trust: if it is the key of another host whose cadang records runs of this repository (the server this one replaced, or the backup host's forget and prune), compare it with what 'cadang log key' prints there, or, that host being lost, with the \"Run log signing key\" (\"Kunci penanda tangan log\") in the footer of the reports and minutes it printed, or the [log] trust_keys of a host that trusted it; then trust it with --trust-key %s or [log] trust_keys in the configuration"},
		"log.f.n_records":        {"%d catatan", "%d [[record|records]]"},
		"log.f.n_heads":          {"%d head", "%d [[head|heads]]"},
		"log.f.and":              {"%s dan %s", "%s and %s"},
		"log.f.unreadable":       {"entri tidak dapat dibaca; pesan program (bahasa Inggris): \"%v\"", "%v"},
		"log.f.altered":          {"isi catatan tidak cocok dengan hash-nya", "the record's contents do not match its hash"},
		"log.f.duplicated":       {"seq %d juga dipakai oleh catatan %s di %s", "seq %d also held by record %s at %s"},
		"log.f.chain_start":      {"awal rantai", "the start of the chain"},
		"log.f.missing":          {"seq %s hilang di antara %s dan %s", "seq %s missing between %s and %s"},
		"log.f.broken_link":      {"tidak menyambung ke catatan %s (seq %d): catatan itu diubah setelah catatan ini ditulis, atau salah satu dari keduanya diganti", "does not follow record %s (seq %d): that record was altered after this one was written, or one of the two was replaced"},
		"log.f.first_names_prev": {"catatan pertama sebuah rantai menyebut catatan sebelumnya", "the first record of a chain names a previous record"},
		"log.f.head_unsigned":    {"head tanpa tanda tangan", "a head without a signature"},
		"log.f.the_record":       {"catatan", "record"},
		"log.f.the_head":         {"head", "head"},
		"log.f.bad_signature":    {"%[2]s ini diubah, atau ditandatangani oleh pihak lain daripada yang disebutkannya; pesan program (bahasa Inggris): \"%[1]v\"", "%v: the %s was altered, or signed by someone else than it says"},
		"log.f.unsigned_after":   {"tidak ditandatangani, padahal menyusul catatan yang ditandatangani (yang pertama seq %d): ditulis tanpa kunci host, atau tanda tangannya dihapus", "not signed, after signed records (the first is seq %d): written without the host key, or its signature removed"},
		"log.f.unsigned_legacy":  {"%d catatan, seq %s: tidak ditandatangani (dari sebelum penandatanganan diperkenalkan)", "%d records, seq %s: unsigned (before signing was introduced)"},
		"log.f.comes_after":      {"terletak sesudah catatan %s (seq %d) di %s", "comes after record %s (seq %d) at %s"},
		"log.f.comes_before":     {"terletak sebelum catatan %s (seq %d) di %s", "comes before record %s (seq %d) at %s"},
		"log.f.differs":          {"berbeda dengan catatan %s di repositori (%s) (salinan repositori terenkripsi, terautentikasi, dan ditandatangani: percayai salinan itu kecuali dilaporkan diubah)", "differs from the repository's record %s at %s (the repository copy is encrypted, authenticated and signed; trust it unless it is reported altered)"},
		"log.f.not_copied":       {"belum tersalin ke repositori ini (%s: \"%s\"); kegiatan berikutnya yang memakai repositori ini akan menyalinnya", "not copied into this repository yet (%s: %s); the next run that uses it copies it"},
		"log.f.not_copied_since": {"%s tidak ada di repositori %s: penyalinannya gagal pada %s (\"%s\"); kegiatan berikutnya yang memakai repositori itu akan menyalinnya", "%s not in repository %s: its copy failed on %s (%s); the next run that uses it copies it"},
		"log.f.removed_repo":     {"catatan %s (lokal, %s) menyebut repositori ini tetapi tidak ada di dalamnya, dan tidak diketahui adanya penyalinan yang gagal: catatan itu dihapus dari repositori, atau repositori ini salinan yang lebih lama", "record %s (local %s) names this repository but is not in it, and no failed copy of it is known: removed from the repository, or the repository is an older copy"},
		"log.f.removed_local":    {"catatan %s ada di repositori (%s) tetapi hilang dari salinan lokal", "record %s is in the repository (%s) but missing from the local mirror"},
		"log.f.head_other_repo":  {"head yang ditulis ke repositori lain (%s): catatan repositori ini telah diganti dengan catatan repositori lain", "a head written into another repository (%s): this repository's records were replaced by another's"},
		"log.f.head_lacks":       {"head repositori yang ditulis %s menyebut seq %d (%s), yang tidak ada di salinan lokal", "the repository's head of %s names seq %d (%s), which the local mirror lacks"},
		"log.f.head_hash":        {"head repositori yang ditulis %s menyatakan bahwa seq %d ber-hash %s; catatan lokal di posisi itu ber-hash %s: log lokal ditulis ulang setelah head itu ditulis", "the repository's head of %s says seq %d had hash %s; the local record there has %s: the local log was rewritten after that head was written"},
		"log.f.no_head":          {"tidak memiliki head", "has no head"},
		"log.f.newest_at":        {"memiliki head terbaru pada seq %d", "has its newest head at seq %d"},
		"log.f.rolled_back":      {"host ini menulis head sampai seq %d ke repositori pada %s; repositori %s: repositori ini salinan yang lebih lama (media yang dipasang kembali), atau head-nya dihapus. Jika memang sengaja dipasang kembali, terima dengan --accept-rollback", "this host wrote a head up to seq %d into the repository on %s; the repository %s: it is an older copy (a medium put back), or its heads were removed. If it was put back on purpose, accept it with --accept-rollback"},
		"log.f.behind":           {"head terbaru repositori (ditulis %s) berakhir pada seq %d; log lokal memiliki catatan untuk repositori itu sampai seq %d: repositori ini salinan yang lebih lama, atau catatan dan head yang lebih baru telah dihapus darinya", "the repository's newest head (written %s) ends at seq %d; the local log has records for it up to seq %d: the repository is an older copy, or its newer records and heads were removed"},
		"log.f.count":            {"head terbaru repositori menghitung %d catatan untuknya sampai seq %d; yang ada %d", "the repository's newest head counts %d records for it up to seq %d; %d are there"},
		"log.f.forgotten":        {"snapshot %s, yang dihapus oleh forget ini pada %s, ada lagi di repositori: repositori ini salinan yang lebih lama; jika memang sengaja dipasang kembali, 'cadang forget %s' padanya menghapus snapshot itu lagi, seperti yang dilakukan forget ini (--accept-rollback menerima head log pelaksanaannya, bukan snapshot yang telah dihapus oleh forget-nya)", "snapshot %s, removed by this forget on %s, is in the repository again: the repository is an older copy; if it was put back on purpose, 'cadang forget %s' on it removes the snapshot again, as the forget did (--accept-rollback accepts its run-log heads, not the snapshots its forgets removed)"},
		"log.f.missing_snapshot": {"snapshot %s, yang dibuat oleh backup ini pada %s, tidak ada di repositori dan tidak ada forget tercatat yang menghapusnya: repositori ini salinan yang lebih lama, atau snapshot itu dihapus tanpa tercatat", "snapshot %s, made by this backup on %s, is not in the repository and no recorded forget removed it: the repository is an older copy, or the snapshot was removed unrecorded"},
		"log.f.expected_head":    {"head yang diharapkan %s: %s", "expected head %s: %s"},
		"log.f.head_no_hash":     {"tidak ada catatan rantai dengan hash ini: log ditulis ulang sampai atau sebelum catatan yang disebutnya, atau catatan itu dihapus", "no record of the chain has this hash: the log was rewritten up to or before the record it named, or that record was removed"},
		"log.f.head_length":      {"head terdiri dari 64 digit heksadesimal (seluruh 256 bit); %q terdiri dari %d", "a head is 64 hex digits (all 256 bits); %q has %d"},
		"log.f.medium_absent":    {"media %s tidak terpasang pada kegiatan ini (%s): catatannya tidak menyebut repositori dan tidak ada di repositori mana pun", "medium %s was absent at this %s: the record names no repository and is in none"},
		"log.f.not_opened":       {"repositori pada media %s tidak dapat dibuka pada kegiatan ini (%s; %s): catatannya tidak menyebut repositori dan tidak ada di repositori mana pun", "the repository on medium %s could not be opened at this %s (%s): the record names no repository and is in none"},
		"log.newest_head":        {"; head terbaru ditulis %s: seq rantai %d, head %s, seq catatan terakhirnya %d", "; newest head written %s: chain seq %d, head %s, its last record seq %d"},
		"log.signed_by":          {"%s: %d catatan ditandatangani dengan kunci %s", "%s: %d records signed by key %s"},
		"log.countersigned_by":   {"%s: %d catatan ditandatangani bersama dengan kunci %s", "%s: %d records countersigned by key %s"},
	} {
		messages[k] = v
	}
}
