package snapshot

import (
	"errors"
	"fmt"
	"slices"

	"github.com/lpse/cadang/repo"
)

// ErrWalkLimit is wrapped by the errors of a WalkBudget: a tree that
// contains itself, or a walk that expanded more nodes than its limits
// allow.
var ErrWalkLimit = errors.New("tree walk limit exceeded")

// Defaults of WalkLimits (doc/design.md §14).
const (
	// DefaultMaxWalkNodes is the most nodes one walk expands in all.
	DefaultMaxWalkNodes = 1 << 27
	// DefaultWalkRepeat and DefaultWalkRepeatFloor: a walk that has
	// expanded more than DefaultWalkRepeatFloor nodes fails once it has
	// expanded more than DefaultWalkRepeat times the nodes of the distinct
	// trees it has seen.
	DefaultWalkRepeat      = 1 << 10
	DefaultWalkRepeatFloor = 1 << 16
	// DefaultMaxWalkDepth is the deepest directory a walk enters. A path
	// that deep is longer than Linux's PATH_MAX.
	DefaultMaxWalkDepth = 4096
)

// WalkLimits bound a walk that expands every path of a snapshot (ls -R,
// find, diff, dump). Trees are shared by ID, so a few tiny trees, each with
// two entries naming the next, describe 2^depth paths: a walker that
// cannot visit each tree once (its output is per path) must stop such a
// snapshot early. The zero value means the defaults.
type WalkLimits struct {
	MaxNodes    int64 // most nodes expanded in all
	Repeat      int64 // most nodes expanded per node of the distinct trees seen...
	RepeatFloor int64 // ...once more than this many were expanded
	MaxDepth    int   // deepest tree entered (the root is depth 1)
}

// WalkBudget keeps the count of one walk: the trees on the path being
// walked and the nodes expanded so far. Call Enter for each tree when it
// is loaded and Leave when the walk is done with it. It is not safe for
// concurrent use; a walk that runs trees in parallel needs its own
// accounting.
type WalkBudget struct {
	lim      WalkLimits
	expanded int64
	distinct int64
	seen     map[repo.ID]struct{}
	path     []repo.ID
}

// NewWalkBudget returns a budget with the given limits (zero fields take
// their defaults).
func NewWalkBudget(l WalkLimits) *WalkBudget {
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxWalkNodes
	}
	if l.Repeat <= 0 {
		l.Repeat = DefaultWalkRepeat
	}
	if l.RepeatFloor <= 0 {
		l.RepeatFloor = DefaultWalkRepeatFloor
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxWalkDepth
	}
	return &WalkBudget{lim: l, seen: map[repo.ID]struct{}{}}
}

// Enter records that the walk descends into tree id, found at path p and
// holding nodes entries. It fails, wrapping ErrWalkLimit and naming the
// tree and path, if the tree is already on the path above it (a tree
// whose ID is its own descendant cannot be genuine), if the path is
// deeper than the limit, or if the walk has expanded too many nodes. On
// success the caller must call Leave when it is done with the tree.
func (b *WalkBudget) Enter(id repo.ID, p string, nodes int) error {
	if slices.Contains(b.path, id) {
		return fmt.Errorf("tree %s at %s: %w: the tree repeats on its own path", id.Short(), p, ErrWalkLimit)
	}
	if len(b.path) >= b.lim.MaxDepth {
		return fmt.Errorf("tree %s at %s: %w: deeper than %d directories", id.Short(), p, ErrWalkLimit, b.lim.MaxDepth)
	}
	if _, ok := b.seen[id]; !ok {
		b.seen[id] = struct{}{}
		b.distinct += int64(nodes) + 1 // +1: an empty tree is still one
	}
	b.expanded += int64(nodes)
	if b.expanded > b.lim.MaxNodes {
		return fmt.Errorf("tree %s at %s: %w: more than %d nodes", id.Short(), p, ErrWalkLimit, b.lim.MaxNodes)
	}
	if b.expanded > b.lim.RepeatFloor && b.expanded/b.lim.Repeat > b.distinct {
		return fmt.Errorf("tree %s at %s: %w: %d nodes expanded from %d distinct trees of %d nodes; trees repeat within each other",
			id.Short(), p, ErrWalkLimit, b.expanded, len(b.seen), b.distinct)
	}
	b.path = append(b.path, id)
	return nil
}

// Leave records that the walk is done with the tree it entered last.
func (b *WalkBudget) Leave() { b.path = b.path[:len(b.path)-1] }

// Expanded returns the number of nodes expanded so far.
func (b *WalkBudget) Expanded() int64 { return b.expanded }
