// Package clock is the time seam of the SOP layer: logic asks a Clock for
// the time instead of calling time.Now, so tests are deterministic.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// System is the real clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// Fake is a clock for tests. It returns the set time and moves only when told.
type Fake struct {
	mu sync.Mutex
	t  time.Time
}

// NewFake returns a fake clock set to t.
func NewFake(t time.Time) *Fake { return &Fake{t: t} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

// Set sets the fake time.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.t = t
	f.mu.Unlock()
}

// Advance moves the fake time forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.t = f.t.Add(d)
	f.mu.Unlock()
}

// Or returns c, or the system clock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}

// Shifted is a clock that starts at a given time and then runs at the speed
// of the system clock, so that durations stay real while the date is set.
// The CLI uses it for CADANG_NOW, a hook for tests and demonstrations.
type Shifted struct {
	at, origin time.Time
}

// NewShifted returns a clock that reads at now and runs on from there.
func NewShifted(at time.Time) *Shifted { return &Shifted{at: at, origin: time.Now()} }

// Now returns the shifted time.
func (s *Shifted) Now() time.Time { return s.at.Add(time.Since(s.origin)) }
