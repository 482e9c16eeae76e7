// Package retry runs a remote backend's requests with bounded retries:
// exponential backoff with jitter, a bounded total time, a bounded number
// of requests in flight, and an end as soon as the context is done. The
// S3 and SFTP backends share it, so that both retry alike.
package retry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy says how to retry.
type Policy struct {
	// Sem bounds the attempts in flight across callers: one slot is held
	// for each attempt. Nil means no bound.
	Sem chan struct{}
	// Timeout is the time after which no new attempt is started; negative
	// means a single attempt.
	Timeout time.Duration
	// Transient reports whether an error is worth another attempt.
	Transient func(error) bool
	// Notify, if set, is called before each wait for another attempt,
	// with the attempt's error, its number (from 1) and the wait.
	Notify func(err error, attempt int, wait time.Duration)
}

const (
	firstDelay = 100 * time.Millisecond
	maxDelay   = 10 * time.Second
)

// Do runs attempt until it succeeds, fails permanently, the context ends
// or the time is up. The last error says how many attempts were made in
// how long; callers wrap it with the operation, the file and the location.
func (p Policy) Do(ctx context.Context, attempt func(ctx context.Context) error) error {
	start := time.Now()
	delay := firstDelay
	for n := 1; ; n++ {
		if p.Sem != nil {
			select {
			case p.Sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := attempt(ctx)
		if p.Sem != nil {
			<-p.Sem
		}
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if !p.Transient(err) {
			return err
		}
		elapsed := time.Since(start)
		wait := delay/2 + rand.N(delay/2+1)
		if p.Timeout < 0 || elapsed+wait > p.Timeout {
			return fmt.Errorf("giving up after %d attempts in %v, last error: %w", n, elapsed.Round(time.Millisecond), err)
		}
		if p.Notify != nil {
			p.Notify(err, n, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		delay = min(2*delay, maxDelay)
	}
}
