package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Notify hears of each retried attempt, with its number and wait, and not
// of the attempt that succeeds.
func TestNotify(t *testing.T) {
	var got []int
	n := 0
	boom := errors.New("connection refused")
	p := Policy{Timeout: time.Minute, Transient: func(error) bool { return true }, Notify: func(err error, attempt int, wait time.Duration) {
		if err != boom || wait <= 0 || wait > maxDelay {
			t.Errorf("Notify(%v, %d, %v)", err, attempt, wait)
		}
		got = append(got, attempt)
	}}
	err := p.Do(context.Background(), func(context.Context) error {
		if n++; n <= 3 {
			return boom
		}
		return nil
	})
	if err != nil || len(got) != 3 || got[0] != 1 || got[2] != 3 {
		t.Fatalf("err %v, notified of attempts %v", err, got)
	}
}
