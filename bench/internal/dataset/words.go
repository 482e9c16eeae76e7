package dataset

// Vocabularies for Indonesian-looking procurement (SPSE/LPSE) data. None of
// the strings contains a single quote, so they can be put in SQL literals
// without escaping.

var kegiatan = []string{
	"Pembangunan", "Rehabilitasi", "Peningkatan", "Pemeliharaan", "Pengadaan",
	"Penyediaan", "Pengawasan", "Perencanaan", "Renovasi", "Belanja Modal",
	"Jasa Konsultansi", "Pekerjaan", "Normalisasi", "Penataan", "Perluasan",
	"Rekonstruksi", "Penggantian", "Pemasangan", "Revitalisasi", "Penyusunan",
}

var objek = []string{
	"Jalan", "Jembatan", "Gedung Kantor", "Saluran Irigasi", "Drainase",
	"Puskesmas", "Sekolah Dasar", "Rumah Sakit Umum Daerah", "Pasar Tradisional",
	"Alat Kesehatan", "Kendaraan Dinas", "Komputer dan Printer", "Obat-obatan",
	"Buku Pelajaran", "Seragam Sekolah", "Makan Minum Pegawai", "Sistem Informasi",
	"Jaringan Air Bersih", "Talud", "Gorong-gorong", "Lampu Penerangan Jalan Umum",
	"Kantor Desa", "Masjid Agung", "Terminal Penumpang", "Dermaga", "Embung",
	"Ruang Kelas Baru", "Laboratorium", "Gedung Olahraga", "Alat Berat",
	"Mebelair", "Jaringan Internet", "Kamera Pengawas", "Pagar Keliling",
	"Tempat Pembuangan Akhir", "Rumah Dinas", "Posyandu", "Balai Pertemuan",
	"Dokumen Perencanaan Teknis", "Studi Kelayakan", "Survei Topografi",
}

var kabupaten = []string{
	"Sleman", "Bantul", "Gunungkidul", "Kulon Progo", "Magelang", "Klaten",
	"Boyolali", "Sukoharjo", "Wonogiri", "Karanganyar", "Sragen", "Grobogan",
	"Blora", "Rembang", "Pati", "Kudus", "Jepara", "Demak", "Semarang",
	"Temanggung", "Kendal", "Batang", "Pekalongan", "Pemalang", "Tegal",
	"Brebes", "Banyumas", "Cilacap", "Purbalingga", "Banjarnegara", "Kebumen",
	"Purworejo", "Wonosobo", "Bogor", "Sukabumi", "Cianjur", "Bandung", "Garut",
	"Tasikmalaya", "Ciamis", "Kuningan", "Cirebon", "Majalengka", "Sumedang",
	"Indramayu", "Subang", "Purwakarta", "Karawang", "Bekasi", "Malang",
	"Jember", "Banyuwangi", "Kediri", "Blitar", "Tulungagung", "Madiun", "Ngawi",
	"Bojonegoro", "Tuban", "Lamongan", "Gresik", "Sidoarjo", "Mojokerto",
	"Jombang", "Nganjuk", "Pasuruan", "Probolinggo", "Lumajang", "Bondowoso",
	"Situbondo", "Sumenep", "Pamekasan", "Sampang", "Bangkalan", "Lombok Barat",
	"Gowa", "Maros", "Bone", "Deli Serdang", "Langkat", "Kampar", "Agam",
}

var desaPrefix = []string{"Suka", "Karang", "Sido", "Tegal", "Wono", "Banjar", "Sumber", "Kali", "Pasir", "Cibodas", "Mekar", "Tanjung", "Giri", "Rejo", "Mulyo"}
var desaSuffix = []string{"maju", "makmur", "rejo", "harjo", "sari", "mulyo", "asih", "jaya", "wangi", "agung", "arum", "tengah", "kidul", "lor", "wetan", "kulon"}

var satker = []string{
	"Dinas Pekerjaan Umum dan Penataan Ruang", "Dinas Kesehatan", "Dinas Pendidikan dan Kebudayaan",
	"Badan Perencanaan Pembangunan Daerah", "Sekretariat Daerah", "Dinas Perhubungan",
	"Rumah Sakit Umum Daerah", "Dinas Pertanian dan Pangan", "Dinas Lingkungan Hidup",
	"Badan Penanggulangan Bencana Daerah", "Dinas Perumahan dan Kawasan Permukiman",
	"Dinas Komunikasi dan Informatika", "Satuan Polisi Pamong Praja", "Dinas Sosial",
	"Dinas Pariwisata Pemuda dan Olahraga", "Badan Kepegawaian Daerah", "Sekretariat DPRD",
	"Dinas Kependudukan dan Pencatatan Sipil", "Dinas Perindustrian dan Perdagangan", "Inspektorat Daerah",
}

var sumberDana = []string{"APBD", "APBD", "APBD", "APBN", "DAK", "DAU", "APBD Perubahan", "BLUD", "Dana Desa"}

var statusPaket = []string{"Draft", "Pengumuman", "Pendaftaran", "Evaluasi Administrasi", "Evaluasi Teknis", "Evaluasi Harga", "Penetapan Pemenang", "Masa Sanggah", "Penandatanganan Kontrak", "Selesai", "Selesai", "Selesai", "Gagal", "Batal"}

var metode = []string{"Tender", "Tender", "Tender Cepat", "Seleksi", "Penunjukan Langsung", "Pengadaan Langsung", "E-Purchasing"}

var kategori = []string{"Pekerjaan Konstruksi", "Pengadaan Barang", "Jasa Konsultansi Badan Usaha", "Jasa Lainnya", "Jasa Konsultansi Perorangan"}

var statusEval = []string{"Menunggu", "Lulus Administrasi", "Lulus Teknis", "Tidak Lulus", "Gugur Administrasi", "Gugur Teknis", "Gugur Harga", "Pemenang", "Pemenang Berkontrak", "Cadangan 1", "Cadangan 2", "Mengundurkan Diri"}

var perusahaanPrefix = []string{"PT", "PT", "CV", "CV", "CV", "Koperasi", "PT"}

var perusahaanWords = []string{
	"Karya", "Mandiri", "Jaya", "Abadi", "Sejahtera", "Makmur", "Sentosa", "Utama",
	"Bangun", "Cipta", "Persada", "Nusantara", "Perkasa", "Sinar", "Mulia", "Sarana",
	"Teknik", "Konstruksi", "Global", "Indah", "Putra", "Putri", "Bersama", "Gemilang",
	"Lestari", "Agung", "Prima", "Bumi", "Tirta", "Anugerah", "Berkah", "Rahmat",
	"Hutama", "Wijaya", "Kencana", "Artha", "Graha", "Dharma", "Surya", "Mitra",
	"Sumber", "Rejeki", "Manunggal", "Lancar", "Tunggal", "Engineering", "Medika", "Solusi",
}

var jalan = []string{
	"Sudirman", "Diponegoro", "Gajah Mada", "Ahmad Yani", "Pahlawan", "Merdeka", "Veteran",
	"Pemuda", "Imam Bonjol", "Hayam Wuruk", "Kartini", "Pattimura", "Slamet Riyadi",
	"Gatot Subroto", "MT Haryono", "Raya Solo", "Magelang", "Kaliurang", "Cendana", "Melati",
	"Mawar", "Anggrek", "Kenanga", "Flamboyan", "Cempaka", "Dahlia", "Teuku Umar",
	"Sisingamangaraja", "Panglima Sudirman", "Letjen Suprapto", "Dr. Wahidin", "Raya Pantura",
}

var dokJenis = []string{
	"Dokumen Pemilihan", "Adendum Dokumen Pemilihan", "Berita Acara Pembukaan Penawaran",
	"Berita Acara Evaluasi", "Berita Acara Hasil Pemilihan", "Dokumen Penawaran Harga",
	"Dokumen Kualifikasi", "Surat Penawaran", "Jaminan Penawaran", "Rencana Anggaran Biaya",
	"Gambar Teknis", "Spesifikasi Teknis", "Surat Perjanjian Kontrak", "Surat Perintah Kerja",
	"Foto Lokasi", "Kerangka Acuan Kerja", "Daftar Kuantitas dan Harga", "Pakta Integritas",
}

var peran = []string{"PPK", "POKJA", "PENYEDIA", "PENYEDIA", "PENYEDIA", "ADMIN_AGENCY", "PP", "AUDITOR", "ADMIN_PPE"}

var aksi = []string{"LOGIN", "LOGIN", "LOGOUT", "VIEW", "VIEW", "VIEW", "UPLOAD", "DOWNLOAD", "DOWNLOAD", "UPDATE", "CREATE", "DELETE", "APPROVE", "KIRIM_PENAWARAN", "BUKA_PENAWARAN", "EVALUASI", "UBAH_JADWAL"}

var objekAudit = []string{"Paket", "Peserta", "Dokumen", "Jadwal", "Penawaran", "Kontrak", "Pengguna", "Evaluasi", "Sanggahan"}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	"Mozilla/5.0 (Linux; Android 13; SM-A325F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
}

// kalimat is the word list for free text (notes, descriptions, letters).
var kalimat = []string{
	"yang", "dan", "dengan", "untuk", "pada", "dalam", "dari", "ini", "tersebut", "sesuai",
	"telah", "akan", "dapat", "tidak", "sudah", "belum", "oleh", "atas", "kepada", "bahwa",
	"pengadaan", "barang", "jasa", "pemerintah", "peraturan", "presiden", "nomor", "tahun",
	"tentang", "dokumen", "diperiksa", "pokja", "pemilihan", "dinyatakan", "lengkap", "peserta",
	"wajib", "melampirkan", "surat", "dukungan", "pabrikan", "jadwal", "pelaksanaan", "pekerjaan",
	"hari", "kalender", "terhitung", "sejak", "tanggal", "penandatanganan", "kontrak", "nilai",
	"penawaran", "terkoreksi", "lebih", "rendah", "harga", "perkiraan", "sendiri", "evaluasi",
	"administrasi", "teknis", "kualifikasi", "pembuktian", "klarifikasi", "negosiasi", "masa",
	"berlaku", "jaminan", "bank", "asuransi", "lokasi", "kegiatan", "anggaran", "daerah",
	"pendapatan", "belanja", "persyaratan", "memenuhi", "syarat", "pemenang", "cadangan",
	"sanggahan", "banding", "pengumuman", "hasil", "rapat", "berita", "acara", "ditetapkan",
	"sebagaimana", "dimaksud", "ayat", "pasal", "huruf", "ketentuan", "berlaku", "perubahan",
	"kedua", "ketiga", "satuan", "kerja", "pejabat", "pembuat", "komitmen", "kelompok",
	"unit", "layanan", "elektronik", "sistem", "aplikasi", "spse", "versi", "penyedia",
}

var ekstDok = []string{".pdf", ".pdf", ".pdf", ".pdf", ".jpg", ".jpg", ".docx", ".xlsx", ".zip", ".rar"}
var ekstTeks = []string{".txt", ".csv", ".html", ".xml", ".json", ".log"}

var appModules = []string{"lelang", "nonlelang", "penyedia", "dokumen", "jadwal", "evaluasi", "kontrak", "laporan", "admin", "auth", "api", "util", "notifikasi", "sanggah", "ppk", "pokja", "rekanan", "monitoring"}

var identWords = []string{
	"Paket", "Peserta", "Dokumen", "Jadwal", "Penawaran", "Kontrak", "Pengguna", "Evaluasi",
	"Sanggah", "Rekanan", "Satker", "Anggaran", "Lelang", "Tahap", "Pemenang", "Laporan",
	"Notifikasi", "Sesi", "Upload", "Download", "Cetak", "Export", "Import", "Validasi",
	"Service", "Controller", "Repository", "Helper", "Util", "Config", "Model", "View",
	"Handler", "Filter", "Manager", "Factory", "Dao", "Dto", "Mapper", "Job",
}

var verbs = []string{"get", "set", "find", "save", "delete", "update", "create", "load", "check", "validate", "render", "send", "build", "parse", "format", "list", "count", "is", "has", "process"}
