// Package kdfmem puts argon2id's memory on transparent huge pages.
//
// Every command derives its key with argon2id, which fills 64 MiB of fresh
// memory (golang.org/x/crypto/argon2 allocates it and takes no buffer).
// Each 4 KiB page of it is a page fault on first touch: 16,384 faults,
// which on this project's 2-core VM (a paravirtualised guest, where a fault
// costs about 13 us) took 0.2 CPU-seconds of every command, more than the
// hashing of the key derivation itself. The Go runtime does not ask for
// huge pages, and a system whose transparent huge pages are set to
// "madvise" (the common default) gives them only to memory so advised: on
// 2 MiB pages the same memory takes 32 faults.
package kdfmem

// hugePage is the size of a transparent huge page on amd64 and arm64 with
// 4 KiB base pages.
const hugePage = 2 << 20

// margin is room for small allocations made between Prepare and the key
// derivation: the runtime takes their pages from the lowest free run, which
// may be the start of the freed block (the processors' page caches refill
// 512 KiB at a time). The block is n+margin bytes, the derivation's memory
// then starts up to margin bytes into it, and only pages in [margin, n)
// are advised, which any such start covers whole.
const margin = 4 << 20
