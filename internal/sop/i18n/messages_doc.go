package i18n

// The words of the documents added for issue 15 (layout, restore minutes,
// monthly analysis, inventory media).
func init() {
	for k, v := range map[string][2]string{
		"ba.account":        {"akun sistem: %s", "system account: %s"},
		"mon.fu_late":       {"TERLAMBAT: dicatat %s setelah kegagalan (batas 1 hari)", "LATE: recorded %s after the failure (limit 1 day)"},
		"mon.fu_late_note":  {"%d tindak lanjut dicatat lebih dari 1 hari setelah kegagalannya (SOP: paling lambat 1 hari).", "%d [[follow-up was|follow-ups were]] recorded more than 1 day after [[its|their]] failure (the SOP allows 1 day)."},
		"mon.std_note":      {"Backup yang gagal tidak dihitung memenuhi mutu baku waktu, berapa pun lamanya.", "A failed backup does not count as within the time standard, however long it took."},
		"inv.note_media":    {"Seluruh informasi di atas di-backup dalam bentuk softcopy, terenkripsi. Letak media backup terhadap server sumber:", "All information above is backed up as soft copy, encrypted. Where the backup media are, seen from the source server:"},
		"inv.loc_remote":    {"%s: server lain (jarak jauh, %s)", "%s: another server (remote, %s)"},
		"inv.loc_removable": {"%s: disk terpisah dari disk sistem (%s)", "%s: a disk apart from the system disk (%s)"},
		"inv.loc_same":      {"%s: PERHATIAN, disk lokal pada server yang sama dengan data sumber (%s); bukan media terpisah", "%s: WARNING, a local disk of the same server as the source data (%s); not separate media"},
		"inv.loc_unknown":   {"%s: letak tidak dapat diperiksa (%s)", "%s: location could not be checked (%s)"},
		"inv.loc_col":       {"Letak media", "Media location"},
	} {
		messages[k] = v
	}
}
