package dataset

import (
	"bufio"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
)

// A table of the dump. Rows are numbered from 1; a row's content is a pure
// function of (seed, table, id, version), where version is the last day on
// which the row was changed (0 for never).
type table struct {
	name   string
	tag    uint64
	base   float64 // rows at scale 1
	create string  // column list of CREATE TABLE
	pk     string
	row    func(g *dumpGen, b []byte, id int64, v int) []byte
}

var tables = []*table{
	{
		name: "paket", tag: 1, base: 60_000, pk: "pkt_id",
		create: `    pkt_id bigint NOT NULL,
    lls_kode character varying(20) NOT NULL,
    pkt_nama text NOT NULL,
    satker_nama text,
    kldi_nama text,
    sumber_dana character varying(40),
    tahun_anggaran integer,
    pagu numeric(20,2),
    hps numeric(20,2),
    metode character varying(40),
    kategori character varying(60),
    lokasi text,
    status character varying(40),
    jumlah_peserta integer,
    tgl_buat timestamp without time zone,
    tgl_update timestamp without time zone,
    keterangan text`,
		row: rowPaket,
	},
	{
		name: "peserta", tag: 2, base: 280_000, pk: "psr_id",
		create: `    psr_id bigint NOT NULL,
    pkt_id bigint NOT NULL,
    rkn_id bigint NOT NULL,
    rkn_nama text,
    rkn_npwp character varying(20),
    rkn_alamat text,
    rkn_kota character varying(60),
    rkn_email character varying(100),
    rkn_telepon character varying(20),
    harga_penawaran numeric(20,2),
    harga_terkoreksi numeric(20,2),
    status_evaluasi character varying(40),
    tgl_daftar timestamp without time zone,
    tgl_penawaran timestamp without time zone,
    tgl_update timestamp without time zone`,
		row: rowPeserta,
	},
	{
		name: "dok_lelang", tag: 3, base: 170_000, pk: "dok_id",
		create: `    dok_id bigint NOT NULL,
    pkt_id bigint NOT NULL,
    dok_jenis character varying(60),
    dok_nama text,
    ctn_type character varying(80),
    ukuran bigint,
    md5 character(32),
    dok_path text,
    uploaded_by character varying(40),
    versi integer,
    status character varying(20),
    tgl_upload timestamp without time zone,
    tgl_update timestamp without time zone`,
		row: rowDok,
	},
	{
		name: "audit_log", tag: 4, base: 340_000, pk: "log_id",
		create: `    log_id bigint NOT NULL,
    waktu timestamp without time zone NOT NULL,
    user_id character varying(40),
    peran character varying(20),
    aksi character varying(30),
    objek character varying(30),
    objek_id bigint,
    ip inet,
    session_id character varying(32),
    user_agent text,
    detail text,
    status_review character varying(20),
    tgl_review timestamp without time zone`,
		row: rowAudit,
	},
}

// dumpGen holds the derived sizes of the dump for one Config.
type dumpGen struct {
	cfg      Config
	base     []int64 // rows per table at day 0
	appendN  []int64 // rows appended per table per day
	nRekanan int64
}

func newDumpGen(c Config) *dumpGen {
	g := &dumpGen{cfg: c}
	for _, t := range tables {
		n := int64(c.scaled(t.base, 100))
		g.base = append(g.base, n)
		a := int64(math.Round(float64(n) * c.AppendFrac))
		if a < 1 {
			a = 1
		}
		g.appendN = append(g.appendN, a)
	}
	g.nRekanan = int64(c.scaled(15_000, 50))
	return g
}

// rows returns the number of rows of table ti on day d.
func (g *dumpGen) rows(ti, d int) int64 { return g.base[ti] + int64(d)*g.appendN[ti] }

// rowTime is the creation time of a row: spread over the history for day-0
// rows, within the preceding day for appended rows.
func (g *dumpGen) rowTime(ti int, id int64) int64 {
	n := g.base[ti]
	if id <= n {
		return histStart + (id-1)*(day0-histStart)/n
	}
	k := id - n - 1
	d := k / g.appendN[ti]
	within := k % g.appendN[ti]
	return dayTime(int(d)) + within*86400/g.appendN[ti]
}

// changedOn returns the ids of table ti whose rows change on day d (d >= 1),
// sorted: mostly rows in the recent window, OldShare of them older.
func (g *dumpGen) changedOn(ti, d int) []int64 {
	c := g.cfg
	n := g.rows(ti, d-1)
	total := int(math.Round(float64(n) * c.ChangeFrac))
	if total < 1 {
		total = 1
	}
	old := int(math.Round(float64(total) * c.OldShare))
	if old < 1 && c.OldShare > 0 {
		old = 1
	}
	window := int64(math.Round(float64(n) * c.RecentFrac))
	if window < int64(total) {
		window = min(int64(total)*2, n)
	}
	r := newRNG(c.Seed, hashString("mutate"), tables[ti].tag, uint64(d))
	set := make(map[int64]struct{}, total)
	for len(set) < total-old {
		set[n-window+1+r.int64n(window)] = struct{}{}
	}
	if n-window > 0 {
		for len(set) < total {
			set[1+r.int64n(n-window)] = struct{}{}
		}
	}
	ids := make([]int64, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// versions returns, per table, the last day (1..day) on which each changed
// row was changed.
func (g *dumpGen) versions(day int) []map[int64]int {
	vs := make([]map[int64]int, len(tables))
	for ti := range tables {
		vs[ti] = map[int64]int{}
		for d := 1; d <= day; d++ {
			for _, id := range g.changedOn(ti, d) {
				vs[ti][id] = d
			}
		}
	}
	return vs
}

// DumpStats describes a dump as written.
type DumpStats struct {
	Bytes   int64            `json:"bytes"`
	Rows    map[string]int64 `json:"rows"`
	Changed map[string]int64 `json:"changed"` // rows changed in place on this day
}

func (s DumpStats) TotalRows() (n int64) {
	for _, v := range s.Rows {
		n += v
	}
	return n
}

func (s DumpStats) TotalChanged() (n int64) {
	for _, v := range s.Changed {
		n += v
	}
	return n
}

const dumpHeader = `--
-- PostgreSQL database dump
--

-- Dumped from database version 15.8 (Debian 15.8-0+deb12u1)
-- Dumped by pg_dump version 15.8 (Debian 15.8-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

`

// WriteDump writes only the SQL dump of day `day` for c to path (for
// studies that need the dump without the rest of the tree).
func WriteDump(path string, c Config, day int) (DumpStats, error) {
	return writeDump(path, c.withDefaults(), day)
}

// writeDump writes the dump of day `day` to path and sets its mtime to the
// time of that day's dump.
func writeDump(path string, c Config, day int) (DumpStats, error) {
	g := newDumpGen(c)
	vs := g.versions(day)
	st := DumpStats{Rows: map[string]int64{}, Changed: map[string]int64{}}
	for ti, t := range tables {
		st.Rows[t.name] = g.rows(ti, day)
		if day > 0 {
			st.Changed[t.name] = int64(len(g.changedOn(ti, day)))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return st, err
	}
	f, err := os.Create(path)
	if err != nil {
		return st, err
	}
	cw := &countWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	err = g.write(bw, vs, day)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, err
	}
	st.Bytes = cw.n
	t := time.Unix(dayTime(day), 0)
	return st, os.Chtimes(path, t, t)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// write produces the dump text. Blocks of rows are rendered in parallel and
// written in order.
func (g *dumpGen) write(w io.Writer, vs []map[int64]int, day int) error {
	type job struct {
		ti     int
		lo, hi int64
		static []byte
		res    chan []byte
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan job, 2*workers)
	order := make(chan chan []byte, 8*workers)
	pool := sync.Pool{New: func() any { return make([]byte, 0, 1<<20) }}

	go func() {
		emit := func(j job) {
			j.res = make(chan []byte, 1)
			order <- j.res
			if j.static != nil {
				j.res <- j.static
				return
			}
			jobs <- j
		}
		emit(job{static: []byte(dumpHeader)})
		for _, t := range tables {
			s := "--\n-- Name: " + t.name + "; Type: TABLE; Schema: public; Owner: spse\n--\n\n" +
				"CREATE TABLE public." + t.name + " (\n" + t.create + "\n);\n\n\n" +
				"ALTER TABLE public." + t.name + " OWNER TO spse;\n\n"
			emit(job{static: []byte(s)})
		}
		const block = 2048
		for ti, t := range tables {
			emit(job{static: []byte("--\n-- Data for Name: " + t.name + "; Type: TABLE DATA; Schema: public; Owner: spse\n--\n\n")})
			n := g.rows(ti, day)
			for lo := int64(1); lo <= n; lo += block {
				emit(job{ti: ti, lo: lo, hi: min(lo+block-1, n)})
			}
			emit(job{static: []byte("\n\n")})
		}
		for _, t := range tables {
			emit(job{static: []byte("--\n-- Name: " + t.name + " " + t.name + "_pkey; Type: CONSTRAINT; Schema: public; Owner: spse\n--\n\n" +
				"ALTER TABLE ONLY public." + t.name + "\n    ADD CONSTRAINT " + t.name + "_pkey PRIMARY KEY (" + t.pk + ");\n\n\n")})
		}
		emit(job{static: []byte("--\n-- PostgreSQL database dump complete\n--\n\n")})
		close(jobs)
		close(order)
	}()

	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				b := pool.Get().([]byte)[:0]
				t := tables[j.ti]
				for id := j.lo; id <= j.hi; id++ {
					b = append(b, "INSERT INTO public."...)
					b = append(b, t.name...)
					b = append(b, " VALUES ("...)
					b = t.row(g, b, id, vs[j.ti][id])
					b = append(b, ");\n"...)
				}
				j.res <- b
			}
		}()
	}
	var err error
	for res := range order {
		b := <-res
		if err == nil {
			_, err = w.Write(b)
		}
		if cap(b) >= 1<<20 {
			pool.Put(b[:0]) //nolint:staticcheck // slices are fine in a pool here
		}
	}
	wg.Wait()
	return err
}

// ---- rows ----

func (g *dumpGen) rowRNG(tag uint64, id int64, v int) rng {
	return newRNG(g.cfg.Seed, tag, uint64(id), uint64(v))
}

// updateTime is when a row changed on day v: during the day before the dump.
func updateTime(r *rng, v int) int64 { return dayTime(v-1) + 6*3600 + int64(r.intn(14*3600)) }

func llsKode(pkt int64) string { return strconv.FormatInt(pkt*1000+27, 10) }

func rowPaket(g *dumpGen, b []byte, id int64, v int) []byte {
	r := g.rowRNG(1, id, 0)
	t := g.rowTime(0, id) + int64(r.intn(3600))
	kab := pickSkewed(&r, kabupaten)
	b = appendInt(b, id)
	b = append(b, ", '"...)
	b = append(b, llsKode(id)...)
	b = append(b, "', '"...)
	b = append(b, pickSkewed(&r, kegiatan)...)
	b = append(b, ' ')
	b = append(b, pickSkewed(&r, objek)...)
	b = append(b, " Desa "...)
	desaStart := len(b)
	b = appendDesa(b, &r)
	desa := string(b[desaStart:])
	b = append(b, " Kecamatan "...)
	b = appendDesa(b, &r)
	b = append(b, " Tahun Anggaran "...)
	year := yearOf(t)
	b = appendInt(b, int64(year))
	b = append(b, "', '"...)
	b = append(b, pickSkewed(&r, satker)...)
	b = append(b, "', 'Pemerintah Daerah Kabupaten "...)
	b = append(b, kab...)
	b = append(b, "', "...)
	b = appendQ(b, pickSkewed(&r, sumberDana))
	b = append(b, ", "...)
	b = appendInt(b, int64(year))
	b = append(b, ", "...)
	pagu := int64(r.logUniform(5e7, 2e10)) / 1000 * 100000 // cents, rounded to thousands of rupiah
	b = appendMoney(b, pagu)
	b = append(b, ", "...)
	hps := pagu - pagu/1000*int64(r.intn(100))
	b = appendMoney(b, hps/100000*100000)
	b = append(b, ", "...)
	b = appendQ(b, pickSkewed(&r, metode))
	b = append(b, ", "...)
	b = appendQ(b, pickSkewed(&r, kategori))
	b = append(b, ", 'Desa "...)
	b = append(b, desa...)
	b = append(b, ", Kabupaten "...)
	b = append(b, kab...)
	b = append(b, "', "...)
	status := pickSkewed(&r, statusPaket)
	peserta := r.rangeInt(1, 40)
	upd := t + int64(r.intn(60*86400))
	if upd > day0 {
		upd = t + 3600
	}
	note := r
	if v > 0 {
		r2 := g.rowRNG(1, id, v)
		status = pick(&r2, statusPaket)
		peserta += r2.rangeInt(1, 5)
		upd = updateTime(&r2, v)
		note = r2
	}
	b = appendQ(b, status)
	b = append(b, ", "...)
	b = appendInt(b, int64(peserta))
	b = append(b, ", "...)
	b = appendTS(b, t)
	b = append(b, ", "...)
	b = appendTS(b, upd)
	b = append(b, ", '"...)
	b = appendSentences(b, &note, 1+note.intn(2))
	return append(b, '\'')
}

// rekanan (a bidding company) is derived from its id, so it repeats across rows.
func (g *dumpGen) appendRekanan(b []byte, rid int64) []byte {
	r := newRNG(g.cfg.Seed, 99, uint64(rid))
	b = append(b, '\'')
	b = append(b, pick(&r, perusahaanPrefix)...)
	b = append(b, ' ')
	b = append(b, pick(&r, perusahaanWords)...)
	b = append(b, ' ')
	b = append(b, pick(&r, perusahaanWords)...)
	if r.chance(0.5) {
		b = append(b, ' ')
		b = append(b, pick(&r, perusahaanWords)...)
	}
	b = append(b, "', '"...)
	// NPWP: 99.999.999.9-999.999
	d := r.next()
	for i, sep := range []byte{2, '.', 3, '.', 3, '.', 1, '-', 3, '.', 3} {
		if i%2 == 1 {
			b = append(b, sep)
			continue
		}
		for k := 0; k < int(sep); k++ {
			b = append(b, byte('0'+d%10))
			d /= 10
		}
	}
	b = append(b, "', 'Jl. "...)
	b = append(b, pick(&r, jalan)...)
	b = append(b, " No. "...)
	b = appendInt(b, int64(r.rangeInt(1, 250)))
	b = append(b, ", "...)
	b = appendDesa(b, &r)
	kota := pickSkewed(&r, kabupaten)
	b = append(b, "', '"...)
	b = append(b, kota...)
	b = append(b, "', 'admin."...)
	for _, c := range []byte(pick(&r, perusahaanWords)) {
		b = append(b, c|0x20)
	}
	b = appendInt(b, rid)
	b = append(b, "@gmail.com', '08"...)
	b = appendInt(b, 1100000000+r.int64n(8999999999))
	return append(b, '\'')
}

func rowPeserta(g *dumpGen, b []byte, id int64, v int) []byte {
	r := g.rowRNG(2, id, 0)
	t := g.rowTime(1, id) + int64(r.intn(600))
	pkt := 1 + (id-1)*g.base[0]/g.base[1]
	if pkt > g.rows(0, 0) {
		pkt = g.rows(0, 0)
	}
	rid := 1 + int64(r.skewed(int(g.nRekanan)))
	b = appendInt(b, id)
	b = append(b, ", "...)
	b = appendInt(b, pkt)
	b = append(b, ", "...)
	b = appendInt(b, rid)
	b = append(b, ", "...)
	b = g.appendRekanan(b, rid)
	b = append(b, ", "...)
	harga := int64(r.logUniform(5e7, 2e10)) / 1000 * 100000
	b = appendMoney(b, harga)
	b = append(b, ", "...)
	koreksi := harga
	status := pickSkewed(&r, statusEval)
	upd := t + int64(r.intn(20*86400))
	if upd > day0 {
		upd = t + 60
	}
	if v > 0 {
		r2 := g.rowRNG(2, id, v)
		koreksi = harga - harga/10000*int64(r2.intn(300))
		status = pick(&r2, statusEval)
		upd = updateTime(&r2, v)
	}
	b = appendMoney(b, koreksi/100*100)
	b = append(b, ", "...)
	b = appendQ(b, status)
	b = append(b, ", "...)
	b = appendTS(b, t)
	b = append(b, ", "...)
	b = appendTS(b, t+int64(r.intn(7*86400)))
	b = append(b, ", "...)
	return appendTS(b, upd)
}

var mimeFor = map[string]string{
	".pdf": "application/pdf", ".jpg": "image/jpeg", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".zip": "application/zip", ".rar": "application/x-rar-compressed",
}

func rowDok(g *dumpGen, b []byte, id int64, v int) []byte {
	r := g.rowRNG(3, id, 0)
	t := g.rowTime(2, id) + int64(r.intn(900))
	pkt := 1 + (id-1)*g.base[0]/g.base[2]
	if pkt > g.rows(0, 0) {
		pkt = g.rows(0, 0)
	}
	jenis := pickSkewed(&r, dokJenis)
	ext := pick(&r, ekstDok)
	b = appendInt(b, id)
	b = append(b, ", "...)
	b = appendInt(b, pkt)
	b = append(b, ", "...)
	b = appendQ(b, jenis)
	b = append(b, ", '"...)
	for i := 0; i < len(jenis); i++ {
		c := jenis[i]
		if c == ' ' {
			c = '_'
		}
		b = append(b, c)
	}
	b = append(b, '_')
	b = append(b, llsKode(pkt)...)
	b = append(b, ext...)
	b = append(b, "', "...)
	b = appendQ(b, mimeFor[ext])
	b = append(b, ", "...)
	b = appendInt(b, int64(r.logUniform(1e4, 5e7)))
	b = append(b, ", '"...)
	b = hexDigits(b, &r, 32)
	b = append(b, "', '/home/appserv/file/"...)
	y := yearOf(t)
	b = appendInt(b, int64(y))
	b = append(b, '/')
	b = append(b, llsKode(pkt)...)
	b = append(b, '/')
	b = appendInt(b, id)
	b = append(b, ext...)
	b = append(b, "', '"...)
	b = append(b, pick(&r, peran)...)
	b = append(b, '_')
	b = appendInt(b, int64(r.skewed(5000)))
	b = append(b, "', "...)
	versi, status, upd := 1, "AKTIF", t
	if v > 0 {
		r2 := g.rowRNG(3, id, v)
		versi = 1 + v
		status = pick(&r2, []string{"AKTIF", "REVISI", "DIGANTI", "DITARIK"})
		upd = updateTime(&r2, v)
	}
	b = appendInt(b, int64(versi))
	b = append(b, ", "...)
	b = appendQ(b, status)
	b = append(b, ", "...)
	b = appendTS(b, t)
	b = append(b, ", "...)
	return appendTS(b, upd)
}

func rowAudit(g *dumpGen, b []byte, id int64, v int) []byte {
	r := g.rowRNG(4, id, 0)
	t := g.rowTime(3, id) + int64(r.intn(120))
	b = appendInt(b, id)
	b = append(b, ", "...)
	b = appendTS(b, t)
	b = append(b, ", '"...)
	role := pickSkewed(&r, peran)
	b = append(b, role...)
	b = append(b, '_')
	b = appendInt(b, int64(r.skewed(5000)))
	b = append(b, "', "...)
	b = appendQ(b, role)
	b = append(b, ", "...)
	act := pickSkewed(&r, aksi)
	b = appendQ(b, act)
	b = append(b, ", "...)
	obj := pickSkewed(&r, objekAudit)
	b = appendQ(b, obj)
	b = append(b, ", "...)
	b = appendInt(b, 1+int64(r.skewed(int(g.base[0]))))
	b = append(b, ", '"...)
	if r.chance(0.6) {
		b = append(b, "10."...)
		b = appendInt(b, int64(r.intn(32)))
		b = append(b, '.')
		b = appendInt(b, int64(r.intn(256)))
		b = append(b, '.')
		b = appendInt(b, int64(r.intn(256)))
	} else {
		b = append(b, pick(&r, []string{"36.", "114.", "180.", "103.", "182."})...)
		b = appendInt(b, int64(r.intn(256)))
		b = append(b, '.')
		b = appendInt(b, int64(r.intn(256)))
		b = append(b, '.')
		b = appendInt(b, int64(r.intn(256)))
	}
	b = append(b, "', '"...)
	b = hexDigits(b, &r, 24)
	b = append(b, "', "...)
	b = appendQ(b, pickSkewed(&r, userAgents))
	b = append(b, ", '"...)
	b = append(b, act...)
	b = append(b, ' ')
	b = append(b, obj...)
	b = append(b, ": "...)
	b = appendWords(b, &r, r.rangeInt(3, 10))
	b = append(b, "', "...)
	if v > 0 {
		r2 := g.rowRNG(4, id, v)
		b = appendQ(b, pick(&r2, []string{"DITINJAU", "SELESAI", "DITANDAI", "ESKALASI"}))
		b = append(b, ", "...)
		return appendTS(b, updateTime(&r2, v))
	}
	if t < day0-30*86400 {
		b = appendQ(b, "SELESAI")
		b = append(b, ", "...)
		return appendTS(b, t+86400+int64(r.intn(20*86400)))
	}
	return append(b, "'BELUM', NULL"...)
}
