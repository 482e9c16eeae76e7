package i18n

import (
	"fmt"
	"math"
)

// Note returns the sentence of a run-log note (the message "note."+code)
// with its arguments. Integers are written the language's way (1.234 or
// 1,234); a note read back from JSON has them as float64. Every argument
// is made a string first, so the messages use %s only.
func (l Lang) Note(code string, args ...any) string {
	strs := make([]any, len(args))
	for i, a := range args {
		strs[i] = l.arg(a)
	}
	return l.T("note."+code, strs...)
}

func (l Lang) arg(a any) string {
	switch v := a.(type) {
	case string:
		return v
	case int:
		return l.Int(int64(v))
	case int64:
		return l.Int(v)
	case uint64:
		return l.Int(int64(v))
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return l.Int(int64(v))
		}
		return l.Float(v, 1)
	}
	return fmt.Sprint(a)
}
