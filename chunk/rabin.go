package chunk

// The boundary search
//
// restic's chunker (v0.4.0) keeps a 64-byte window array and a digest that
// it updates byte by byte through the window, and copies every byte into
// the chunk it returns as it goes. Its digest is a canonical residue: the
// Rabin fingerprint, modulo the polynomial, of the 64 bytes in the window.
// At every chunk start it resets to a window holding one 0x01 byte, skips
// Min-64 bytes unhashed and hashes from there, so by the time a cut is
// allowed (Min bytes into the chunk) the 0x01 has left the window and the
// digest at each candidate end p is the fingerprint of the 64 bytes before
// p and of nothing else. Since the fingerprint is linear over GF(2), that
// is also the value reached by hashing those 64 bytes from a zero digest.
//
// rabin computes the same digests straight from the bytes in memory: the
// byte leaving the window is read from the data 64 bytes back, so there is
// no window array to store to, no modulo of its index, and no copy; the
// Max bound is a loop bound, not a comparison per byte. The cut positions
// are therefore exactly restic's; the tests compare them with restic's
// chunker on random, text and constant data, at every size edge.

import (
	"encoding/binary"
	"fmt"
)

// windowSize is the number of bytes the fingerprint covers.
const windowSize = 64

// rabin finds chunk boundaries in memory.
type rabin struct {
	// out[b] is the fingerprint of b followed by 63 zero bytes: XORing it
	// removes b from the front of the window.
	out [256]uint64
	// mod[t] reduces a digest shifted left by 8 whose top byte is t: its
	// low part is t·x^deg mod P, its high part t·x^deg, which cancels t.
	mod   [256]uint64
	shift uint // deg(P) - 8: the digest's top byte
	mask  uint64
	min   int
	max   int

	// Four bytes at a time (degree 32 and up): the digest four bytes on
	// is e·x^32 + (the four bytes in) + (the three bytes out after the
	// first, each times x^8k) mod P, where e is the digest with the first
	// byte out removed. e·x^32 is its low deg-32 bits shifted up plus, for
	// each byte k of its top 32 bits, top[k][byte]; the bytes out come
	// from out8, out16 and out24. This takes the table lookup that every
	// byte waits for off the path from one digest to the next, which is
	// what bounds the byte-at-a-time loop; the three digests in between
	// (each end must be tried) hang off that path and run beside it.
	wide               bool
	low                uint64 // 1<<deg - 1
	topShift           uint   // deg - 32
	top                [4][256]uint64
	out8, out16, out24 [256]uint64
}

func newRabin(pol Pol, p Params, avgBits int) (*rabin, error) {
	deg := pol.Deg()
	if deg < 8 || deg > 53 {
		// restic's chunker has the same bounds: the digest's top byte
		// must index the reduction table and fit 64 bits shifted by 8.
		return nil, fmt.Errorf("chunker polynomial has degree %d, not between 8 and 53", deg)
	}
	r := &rabin{
		shift: uint(deg - 8),
		mask:  1<<uint(avgBits) - 1,
		min:   int(p.Min),
		max:   int(p.Max),
	}
	// Every table is linear in its index over GF(2): fill it from its
	// values at the eight single bits.
	linear(&r.out, func(b uint64) uint64 {
		h := Pol(b)
		for range windowSize - 1 {
			h = (h << 8).Mod(pol)
		}
		return uint64(h)
	})
	linear(&r.mod, func(b uint64) uint64 { return uint64((Pol(b) << uint(deg)).Mod(pol) | Pol(b)<<uint(deg)) })
	if deg >= 32 {
		r.wide = true
		r.low = 1<<uint(deg) - 1
		r.topShift = uint(deg - 32)
		// times returns the table t·x^(8k) mod P.
		times := func(t *[256]uint64, k int) func(uint64) uint64 {
			return func(b uint64) uint64 {
				h := Pol(t[b])
				for range k {
					h = (h << 8).Mod(pol)
				}
				return uint64(h)
			}
		}
		var xdeg [256]uint64 // b·x^deg mod P
		linear(&xdeg, func(b uint64) uint64 { return uint64((Pol(b) << uint(deg)).Mod(pol)) })
		for k := range 4 {
			linear(&r.top[k], times(&xdeg, k))
		}
		linear(&r.out8, times(&r.out, 1))
		linear(&r.out16, times(&r.out, 2))
		linear(&r.out24, times(&r.out, 3))
	}
	return r, nil
}

// linear sets t[b] to f(b) for a function f that is linear over GF(2),
// calling f only on the eight single bits.
func linear(t *[256]uint64, f func(b uint64) uint64) {
	t[0] = 0
	for i := range 8 {
		t[1<<i] = f(1 << i)
	}
	for b := 3; b < 256; b++ {
		if low := b & -b; low != b {
			t[b] = t[b&^low] ^ t[low]
		}
	}
}

// cut returns the length of the chunk that starts at data[0], searching
// for its end from from on (the caller knows there is none before: it
// searched a shorter data). When data holds fewer than max bytes and no
// boundary was found in them, the chunk may go on past its end: cut then
// returns ok false, unless atEOF says that data is the end of the stream,
// which ends the chunk there. An empty data returns 0 (with ok true only
// at the end of the stream).
func (r *rabin) cut(data []byte, from int, atEOF bool) (n int, ok bool) {
	if len(data) <= r.min {
		// No boundary lies before Min, and one at Min changes nothing
		// when the stream ends there.
		if atEOF {
			return len(data), true
		}
		return 0, false
	}
	end := min(len(data), r.max)
	win := data[:end]
	shift := r.shift & 63
	mask := r.mask
	p := min(max(from, r.min), end)
	var d uint64
	for _, b := range win[p-windowSize : p] {
		d = (d<<8 | uint64(b)) ^ r.mod[byte(d>>shift)]
	}
	// d is now the fingerprint of the 64 bytes before p, the first end
	// to try.
	if r.wide {
		low, ts := r.low, r.topShift&63
		for ; p+4 <= end; p += 4 {
			if d&mask == 0 {
				return p, true
			}
			o := win[p-windowSize : p-windowSize+4]
			in := win[p : p+4]
			e := d ^ r.out[o[0]]
			t := e >> ts
			d4 := (e<<32)&low ^ r.top[0][byte(t)] ^ r.top[1][byte(t>>8)] ^ r.top[2][byte(t>>16)] ^ r.top[3][byte(t>>24)] ^
				uint64(binary.BigEndian.Uint32(in)) ^ r.out24[o[1]] ^ r.out16[o[2]] ^ r.out8[o[3]]
			d1 := (e<<8 | uint64(in[0])) ^ r.mod[byte(e>>shift)]
			if d1&mask == 0 {
				return p + 1, true
			}
			e = d1 ^ r.out[o[1]]
			d2 := (e<<8 | uint64(in[1])) ^ r.mod[byte(e>>shift)]
			if d2&mask == 0 {
				return p + 2, true
			}
			e = d2 ^ r.out[o[2]]
			d3 := (e<<8 | uint64(in[2])) ^ r.mod[byte(e>>shift)]
			if d3&mask == 0 {
				return p + 3, true
			}
			d = d4
		}
	}
	for ; p < end; p++ {
		if d&mask == 0 {
			return p, true
		}
		d ^= r.out[win[p-windowSize]]
		d = (d<<8 | uint64(win[p])) ^ r.mod[byte(d>>shift)]
	}
	if d&mask == 0 || end == r.max || atEOF {
		return end, true
	}
	return 0, false
}
