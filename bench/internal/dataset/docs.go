package dataset

import (
	"strconv"
	"strings"
)

// Uploaded documents. Document ids 0..nDocs-1 exist on day 0; day d adds
// nAdd more. A document's bytes are a pure function of (seed, id, version).

const (
	kindBinary = iota // PDF/JPEG/ZIP-like: a small header, then random bytes
	kindText          // compressible text
	kindDup           // exact copy of an earlier document
	kindNear          // copy of an earlier document with a few bytes changed, inserted or appended
)

// largeMB are the sizes of the few large documents at scale 1.
var largeMB = []float64{50, 35, 24, 16, 11, 8}

type docGen struct {
	cfg   Config
	nDocs int
	nAdd  int // per day
	nMod  int
	nDel  int
	nPkt  int
	large map[int]int // id -> size
	// index in largeMB order, for the forced near duplicate among large files
	largeIDs []int
}

func newDocGen(c Config) *docGen {
	g := &docGen{cfg: c}
	g.nDocs = c.scaled(20_000, 20)
	g.nAdd = c.scaled(40, 1)
	g.nMod = c.scaled(10, 1)
	g.nDel = c.scaled(10, 1)
	g.nPkt = c.scaled(tables[0].base, 100)
	nL := c.scaled(float64(len(largeMB)), 1)
	var w float64
	for i := 0; i < nL; i++ {
		w += largeMB[i%len(largeMB)]
	}
	var budget float64
	for _, v := range largeMB {
		budget += v
	}
	budget *= c.Scale * 1e6
	g.large = map[int]int{}
	for i := 0; i < nL; i++ {
		id := (2*i + 1) * g.nDocs / (2 * nL)
		g.large[id] = int(budget * largeMB[i%len(largeMB)] / w)
		g.largeIDs = append(g.largeIDs, id)
	}
	return g
}

type docMeta struct {
	id     int
	kind   int
	src    int // for kindDup and kindNear
	size   int // for kindBinary and kindText
	ext    string
	path   string
	upload int64
}

func (g *docGen) uploadTime(id int) int64 {
	if id < g.nDocs {
		return histStart + int64(id)*(day0-histStart)/int64(g.nDocs)
	}
	k := id - g.nDocs
	d := k / g.nAdd
	return dayTime(d) + int64(k%g.nAdd)*86400/int64(g.nAdd)
}

func (g *docGen) meta(id int) docMeta {
	r := newRNG(g.cfg.Seed, hashString("doc"), uint64(id))
	m := docMeta{id: id, upload: g.uploadTime(id) + int64(r.intn(3600))}
	pkt := 1 + id*g.nPkt/(g.nDocs+1)
	if id >= g.nDocs {
		pkt = g.nPkt - g.nPkt/50 + r.intn(g.nPkt/50+1)
	}
	if sz, ok := g.large[id]; ok {
		m.kind, m.size = kindBinary, sz
		m.ext = pick(&r, []string{".pdf", ".mp4", ".zip", ".pdf"})
		if len(g.largeIDs) >= 5 && id == g.largeIDs[4] {
			m.kind, m.src = kindNear, g.largeIDs[1]
			m.ext = g.meta(m.src).ext
		}
	} else {
		if r.chance(0.01) {
			m.size = int(r.logUniform(200e3, 2e6))
		} else {
			m.size = int(r.logUniform(10e3, 32e3))
		}
		u := r.float()
		switch {
		case u < 0.10 && id > 0:
			m.kind = kindDup
		case u < 0.15 && id > 0:
			m.kind = kindNear
		case u < 0.30:
			m.kind = kindText
		default:
			m.kind = kindBinary
		}
		if m.kind == kindDup || m.kind == kindNear {
			m.src = r.intn(id)
			if _, big := g.large[m.src]; big {
				m.src = (m.src + 1) % id
				if _, big := g.large[m.src]; big || m.src == id {
					m.kind = kindBinary
				}
			}
		}
		switch m.kind {
		case kindText:
			m.ext = pick(&r, ekstTeks)
		case kindBinary:
			m.ext = pick(&r, ekstDok)
		default:
			m.ext = g.meta(m.src).ext
		}
	}
	var sb strings.Builder
	sb.WriteString("dokumen/")
	sb.WriteString(strconv.Itoa(yearOf(m.upload)))
	sb.WriteByte('/')
	sb.WriteString(llsKode(int64(pkt)))
	sb.WriteByte('/')
	sb.WriteString(strconv.Itoa(id))
	sb.WriteByte('-')
	for _, c := range []byte(pickSkewed(&r, dokJenis)) {
		if c == ' ' {
			c = '_'
		}
		sb.WriteByte(c)
	}
	sb.WriteString(m.ext)
	m.path = sb.String()
	return m
}

var magic = map[string]string{
	".pdf":  "%PDF-1.5\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n4 0 obj\n<< /Filter /FlateDecode /Length 0 >>\nstream\n",
	".jpg":  "\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x01\x00H\x00H\x00\x00\xff\xdb\x00C\x00",
	".docx": "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
	".xlsx": "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
	".zip":  "PK\x03\x04\x14\x00\x00\x00\x08\x00",
	".rar":  "Rar!\x1a\x07\x01\x00",
	".mp4":  "\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41",
}

var trailer = map[string]string{".pdf": "\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n", ".jpg": "\xff\xd9"}

// base returns a document's content at version 0.
func (g *docGen) base(id int) []byte {
	m := g.meta(id)
	r := newRNG(g.cfg.Seed, hashString("doc-bytes"), uint64(id))
	switch m.kind {
	case kindDup:
		return g.base(m.src)
	case kindNear:
		b := g.base(m.src)
		switch r.intn(3) {
		case 0: // a few bytes changed
			for k := r.rangeInt(1, 3); k > 0; k-- {
				off := r.intn(len(b))
				n := min(r.rangeInt(1, 16), len(b)-off)
				r.fill(b[off : off+n])
			}
		case 1: // appended (a signature page, say)
			extra := make([]byte, r.rangeInt(200, 4000))
			r.fill(extra)
			b = append(b, extra...)
		default: // inserted in the middle
			extra := make([]byte, r.rangeInt(16, 2000))
			r.fill(extra)
			off := len(b)/4 + r.intn(len(b)/2+1)
			b = append(b[:off], append(extra, b[off:]...)...)
		}
		return b
	case kindText:
		return textDoc(&r, m.ext, m.size)
	}
	b := make([]byte, m.size)
	r.fill(b)
	copy(b, magic[m.ext])
	if t := trailer[m.ext]; len(t) < len(b) {
		copy(b[len(b)-len(t):], t)
	}
	return b
}

// content returns a document's content at version v (the day it was last
// modified; 0 for never): a revision overwrites a few bytes and appends some.
func (g *docGen) content(id, v int) []byte {
	b := g.base(id)
	if v == 0 {
		return b
	}
	r := newRNG(g.cfg.Seed, hashString("doc-rev"), uint64(id), uint64(v))
	off := r.intn(len(b))
	r.fill(b[off:min(off+64, len(b))])
	extra := make([]byte, r.rangeInt(1000, 8000))
	r.fill(extra)
	return append(b, extra...)
}

func textDoc(r *rng, ext string, size int) []byte {
	b := make([]byte, 0, size+512)
	switch ext {
	case ".csv":
		b = append(b, "no;nama_perusahaan;npwp;harga_penawaran;status\n"...)
	case ".html":
		b = append(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Pengumuman</title></head>\n<body>\n"...)
	case ".xml":
		b = append(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<laporan>\n"...)
	case ".json":
		b = append(b, "[\n"...)
	}
	for i := 1; len(b) < size; i++ {
		switch ext {
		case ".csv":
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, ';')
			b = append(b, pick(r, perusahaanPrefix)...)
			b = append(b, ' ')
			b = append(b, pick(r, perusahaanWords)...)
			b = append(b, ' ')
			b = append(b, pick(r, perusahaanWords)...)
			b = append(b, ';')
			b = strconv.AppendInt(b, 100000000000000+r.int64n(899999999999999), 10)
			b = append(b, ';')
			b = strconv.AppendInt(b, int64(r.logUniform(5e7, 2e10))/1000*1000, 10)
			b = append(b, ';')
			b = append(b, pick(r, statusEval)...)
			b = append(b, '\n')
		case ".html":
			b = append(b, "<p>"...)
			b = appendSentences(b, r, r.rangeInt(1, 4))
			b = append(b, "</p>\n"...)
		case ".xml":
			b = append(b, "  <item no=\""...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, "\"><uraian>"...)
			b = appendSentences(b, r, 1)
			b = append(b, "</uraian><nilai>"...)
			b = strconv.AppendInt(b, int64(r.logUniform(1e5, 1e9)), 10)
			b = append(b, "</nilai></item>\n"...)
		case ".json":
			b = append(b, "  {\"no\": "...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, ", \"uraian\": \""...)
			b = appendWords(b, r, r.rangeInt(4, 12))
			b = append(b, "\", \"volume\": "...)
			b = strconv.AppendInt(b, int64(r.rangeInt(1, 500)), 10)
			b = append(b, "},\n"...)
		case ".log":
			b = append(b, "2024-0"...)
			b = strconv.AppendInt(b, int64(r.rangeInt(1, 5)), 10)
			b = append(b, '-')
			b = append2(b, r.rangeInt(1, 28))
			b = append(b, ' ')
			b = append2(b, r.intn(24))
			b = append(b, ':')
			b = append2(b, r.intn(60))
			b = append(b, ':')
			b = append2(b, r.intn(60))
			b = append(b, " INFO  [spse."...)
			b = append(b, pick(r, appModules)...)
			b = append(b, "] "...)
			b = appendWords(b, r, r.rangeInt(4, 14))
			b = append(b, '\n')
		default:
			b = appendSentences(b, r, r.rangeInt(1, 5))
			b = append(b, "\n\n"...)
		}
	}
	switch ext {
	case ".html":
		b = append(b, "</body></html>\n"...)
	case ".xml":
		b = append(b, "</laporan>\n"...)
	case ".json":
		b = append(b, "  {}\n]\n"...)
	}
	return b
}

// docState is which documents exist on a day, and at which version.
type docState struct {
	alive   []bool
	version []int
}

func (g *docGen) state(day int) docState {
	n := g.nDocs + day*g.nAdd
	st := docState{alive: make([]bool, n), version: make([]int, n)}
	for i := 0; i < g.nDocs; i++ {
		st.alive[i] = true
	}
	for d := 1; d <= day; d++ {
		limit := g.nDocs + (d-1)*g.nAdd
		r := newRNG(g.cfg.Seed, hashString("doc-mutate"), uint64(d))
		modified := map[int]bool{}
		for tries := 0; len(modified) < g.nMod && tries < 1000*g.nMod; tries++ {
			id := r.intn(limit)
			if st.alive[id] {
				modified[id] = true
				st.version[id] = d
			}
		}
		deleted := 0
		for tries := 0; deleted < g.nDel && tries < 1000*g.nDel; tries++ {
			id := r.intn(limit)
			if st.alive[id] && !modified[id] {
				st.alive[id] = false
				deleted++
			}
		}
		for k := 0; k < g.nAdd; k++ {
			st.alive[limit+k] = true
		}
	}
	return st
}

// docMtime is the mtime of a document at version v.
func (g *docGen) mtime(m docMeta, v int) int64 {
	if v == 0 {
		return m.upload
	}
	r := newRNG(g.cfg.Seed, hashString("doc-mtime"), uint64(m.id), uint64(v))
	return updateTime(&r, v)
}
