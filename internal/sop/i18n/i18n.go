// Package i18n holds the words and the number, date and duration formats of
// the SOP documents in Bahasa Indonesia (the default) and English.
//
// Every message lives in one table with both languages side by side, so a
// message cannot exist in one language only.
package i18n

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lang is a document language.
type Lang string

// The supported languages.
const (
	ID Lang = "id" // Bahasa Indonesia, the default
	EN Lang = "en"
)

// Default is the language used when none is given.
const Default = ID

// Parse returns the language named s ("" means the default).
func Parse(s string) (Lang, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "id", "id-id", "indonesia", "bahasa":
		return ID, nil
	case "en", "en-us", "en-gb", "english":
		return EN, nil
	}
	return "", fmt.Errorf("unknown language %q (want id or en)", s)
}

func (l Lang) idx() int {
	if l == EN {
		return 1
	}
	return 0
}

// Missing is the prefix of the text returned for an unknown message key;
// tests look for it.
const Missing = "!MISSING:"

// T returns the message key in language l, formatted with args if any.
func (l Lang) T(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		return Missing + key
	}
	s := m[l.idx()]
	if len(args) > 0 {
		s = fmt.Sprintf(plurals(s, args), args...)
	}
	return s
}

// plurals chooses the forms of a message's "[[one|other]]" selectors: one
// where the argument of the verb before the selector is 1 ("%s
// [[file|files]] [[was|were]] restored"), other for every other count.
// English needs them; Indonesian nouns have one form.
func plurals(s string, args []any) string {
	if !strings.Contains(s, "[[") {
		return s
	}
	var b strings.Builder
	verb := -1 // the argument index of the last verb before here
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+1 < len(s) && s[i+1] == '%':
			b.WriteString("%%")
			i++
			continue
		case s[i] == '%':
			verb++
		case strings.HasPrefix(s[i:], "[["):
			end := strings.Index(s[i:], "]]")
			one, other, ok := strings.Cut(s[i+2:i+max(end, 2)], "|")
			if end < 0 || !ok {
				break
			}
			if verb >= 0 && verb < len(args) && fmt.Sprint(args[verb]) == "1" {
				b.WriteString(one)
			} else {
				b.WriteString(other)
			}
			i += end + 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Has reports whether key is a known message.
func Has(key string) bool { _, ok := messages[key]; return ok }

// Pick returns id or en according to l; for text that is not in the table
// (for example descriptions held in configuration).
func (l Lang) Pick(id, en string) string {
	if l == EN {
		return en
	}
	return id
}

var monthsID = [...]string{"Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"}
var daysID = [...]string{"Minggu", "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu"}

// MonthName returns the name of month m.
func (l Lang) MonthName(m time.Month) string {
	if l == EN {
		return m.String()
	}
	return monthsID[m-1]
}

// Weekday returns the name of the day.
func (l Lang) Weekday(d time.Weekday) string {
	if l == EN {
		return d.String()
	}
	return daysID[d]
}

// Month formats a month, e.g. "Januari 2026".
func (l Lang) Month(t time.Time) string {
	return l.MonthName(t.Month()) + " " + strconv.Itoa(t.Year())
}

// Date formats a date, e.g. "15 Januari 2026" or "15 January 2026".
func (l Lang) Date(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%d %s %d", t.Day(), l.MonthName(t.Month()), t.Year())
}

// ShortDate formats a date as 2006-01-02, for tables.
func (l Lang) ShortDate(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02")
}

// DateTime formats a time of day with its date and zone, e.g.
// "15 Januari 2026 02.00 WITA" (Indonesian uses a dot between hours and minutes).
func (l Lang) DateTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return l.Date(t) + " " + l.Clock(t)
}

// Clock formats the time of day with the zone.
func (l Lang) Clock(t time.Time) string {
	if l == EN {
		return t.Format("15:04:05 MST")
	}
	return t.Format("15.04.05 MST")
}

// Stamp formats a time compactly for tables: 2006-01-02 15:04.
func (l Lang) Stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if l == EN {
		return t.Format("2006-01-02 15:04")
	}
	return t.Format("2006-01-02 15.04")
}

// Int formats an integer with thousands separators ("1.234.567" in
// Indonesian, "1,234,567" in English).
func (l Lang) Int(n int64) string {
	sep := "."
	if l == EN {
		sep = ","
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Float formats x with prec decimals and the language's decimal mark.
func (l Lang) Float(x float64, prec int) string {
	s := strconv.FormatFloat(x, 'f', prec, 64)
	if l == ID {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// Percent formats a ratio 0..1 as a percentage.
func (l Lang) Percent(x float64) string { return l.Float(100*x, 1) + "%" }

// Bytes formats a size in binary units.
func (l Lang) Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return l.Int(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return l.Float(float64(n)/float64(div), 1) + " " + string("KMGTPE"[exp]) + "iB"
}

// Duration formats d to the second, e.g. "2 jam 3 menit 4 detik".
func (l Lang) Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	h := int64(d / time.Hour)
	m := int64(d % time.Hour / time.Minute)
	s := int64(d % time.Minute / time.Second)
	units := [3]string{"jam", "menit", "detik"}
	if l == EN {
		units = [3]string{"h", "min", "s"}
	}
	var parts []string
	if h > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", h, units[0]))
	}
	if m > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", m, units[1]))
	}
	if s > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d %s", s, units[2]))
	}
	return strings.Join(parts, " ")
}

// Span formats a configured period such as a retention's or a prune's
// interval: in whole days when it is a whole number of days ("90 hari",
// "7 days"), as an administrator writes it in the configuration ("90d"),
// else as Duration does; "2160 jam" reads as a time, not as three months.
func (l Lang) Span(d time.Duration) string {
	const day = 24 * time.Hour
	if d <= 0 || d%day != 0 {
		return l.Duration(d)
	}
	n := int64(d / day)
	if l == EN {
		if n == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", n)
	}
	return fmt.Sprintf("%d hari", n)
}

// Words spells out n in words, as Indonesian minutes ("berita acara") do for
// dates: 2026 → "dua ribu dua puluh enam". In English it returns the digits.
func (l Lang) Words(n int) string {
	if l == EN {
		return strconv.Itoa(n)
	}
	return terbilang(n)
}

var satuan = [...]string{"nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"}

func terbilang(n int) string {
	switch {
	case n < 0:
		return "minus " + terbilang(-n)
	case n < 12:
		return satuan[n]
	case n < 20:
		return satuan[n-10] + " belas"
	case n < 100:
		return join(satuan[n/10]+" puluh", n%10)
	case n < 200:
		return join("seratus", n-100)
	case n < 1000:
		return join(satuan[n/100]+" ratus", n%100)
	case n < 2000:
		return join("seribu", n-1000)
	case n < 1000000:
		return join(terbilang(n/1000)+" ribu", n%1000)
	case n < 1000000000:
		return join(terbilang(n/1000000)+" juta", n%1000000)
	}
	return strconv.Itoa(n)
}

func join(head string, rest int) string {
	if rest == 0 {
		return head
	}
	return head + " " + terbilang(rest)
}
