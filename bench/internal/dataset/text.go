package dataset

import "strconv"

// Appenders for SQL literals and text. They avoid fmt so that the 300 MB dump
// is written in a second or two.

func appendQ(b []byte, s string) []byte {
	b = append(b, '\'')
	b = append(b, s...)
	return append(b, '\'')
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendMoney appends a numeric(20,2) value given in cents.
func appendMoney(b []byte, cents int64) []byte {
	b = strconv.AppendInt(b, cents/100, 10)
	c := cents % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// civil converts days since 1970-01-01 to a date (Howard Hinnant's algorithm).
func civil(days int64) (y, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mp >= 10 {
		mm = mp - 9
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

// appendTS appends a quoted 'YYYY-MM-DD HH:MM:SS' timestamp.
func appendTS(b []byte, t int64) []byte {
	y, m, d := civil(t / 86400)
	s := int(t % 86400)
	b = append(b, '\'')
	b = strconv.AppendInt(b, int64(y), 10)
	b = append(b, '-')
	b = append2(b, m)
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, ' ')
	b = append2(b, s/3600)
	b = append(b, ':')
	b = append2(b, s/60%60)
	b = append(b, ':')
	b = append2(b, s%60)
	return append(b, '\'')
}

func yearOf(t int64) int { y, _, _ := civil(t / 86400); return y }

// appendWords appends n words of running text, the first capitalised.
func appendWords(b []byte, r *rng, n int) []byte {
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		w := pickSkewed(r, kalimat)
		if i == 0 {
			b = append(b, w[0]-('a'-'A'))
			b = append(b, w[1:]...)
		} else {
			b = append(b, w...)
		}
	}
	return b
}

// appendSentences appends n sentences.
func appendSentences(b []byte, r *rng, n int) []byte {
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendWords(b, r, r.rangeInt(6, 16))
		if r.chance(0.15) {
			b = append(b, " nomor "...)
			b = strconv.AppendInt(b, int64(r.rangeInt(1, 99)), 10)
			b = append(b, " tahun "...)
			b = strconv.AppendInt(b, int64(r.rangeInt(2010, 2024)), 10)
		}
		b = append(b, '.')
	}
	return b
}

func appendDesa(b []byte, r *rng) []byte {
	b = append(b, pick(r, desaPrefix)...)
	return append(b, pick(r, desaSuffix)...)
}

func hexDigits(b []byte, r *rng, n int) []byte {
	const hx = "0123456789abcdef"
	var v uint64
	for i := 0; i < n; i++ {
		if i%16 == 0 {
			v = r.next()
		}
		b = append(b, hx[v&15])
		v >>= 4
	}
	return b
}
