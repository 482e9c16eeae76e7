package dataset

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// rng is a small, fast, deterministic PRNG (wyrand). The dataset must be the
// same bytes on every machine and Go version, so math/rand is not used.
type rng struct{ s uint64 }

// mix is the splitmix64 finalizer; it turns structured seeds into
// well-spread states.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// newRNG derives an independent stream from a list of seed words.
func newRNG(seeds ...uint64) rng {
	h := uint64(0x6a09e667f3bcc908)
	for _, s := range seeds {
		h = mix(h ^ s)
	}
	return rng{h}
}

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// intn returns a value in [0, n); n must be below 2^32.
func (r *rng) intn(n int) int {
	return int((uint64(uint32(r.next())) * uint64(n)) >> 32)
}

// int64n returns a value in [0, n) for any positive n.
func (r *rng) int64n(n int64) int64 {
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int64(hi)
}

// rangeInt returns a value in [lo, hi].
func (r *rng) rangeInt(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// skewed returns a value in [0, n) where small values are more likely
// (density ~ 1/sqrt(x)), which makes picked words Zipf-like.
func (r *rng) skewed(n int) int {
	x := uint64(uint32(r.next()))
	x = (x * x) >> 32
	return int((x * uint64(n)) >> 32)
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) chance(p float64) bool { return r.float() < p }

// logUniform returns a value in [lo, hi) whose logarithm is uniform.
func (r *rng) logUniform(lo, hi float64) float64 {
	return lo * math.Exp(r.float()*math.Log(hi/lo))
}

// fill writes pseudo-random bytes into b.
func (r *rng) fill(b []byte) {
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, r.next())
		b = b[8:]
	}
	if len(b) > 0 {
		v := r.next()
		for i := range b {
			b[i] = byte(v)
			v >>= 8
		}
	}
}

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

func pickSkewed[T any](r *rng, xs []T) T { return xs[r.skewed(len(xs))] }

// hashString folds a string into a seed word.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
