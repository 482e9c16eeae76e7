package snapshot

import (
	"errors"
	"strings"
	"testing"

	"github.com/lpse/cadang/repo"
)

func TestWalkBudgetRejectsTreeOnItsOwnPath(t *testing.T) {
	b := NewWalkBudget(WalkLimits{})
	x, y := repo.ID{1}, repo.ID{2}
	if err := b.Enter(x, "/", 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Enter(y, "/a", 1); err != nil {
		t.Fatal(err)
	}
	err := b.Enter(x, "/a/b", 1)
	if !errors.Is(err, ErrWalkLimit) || !strings.Contains(err.Error(), "tree "+x.Short()+" at /a/b") {
		t.Fatalf("Enter of a tree on its own path: %v", err)
	}
	// Beside itself (not below) a tree may appear any number of times.
	b.Leave()
	if err := b.Enter(y, "/b", 1); err != nil {
		t.Fatal(err)
	}
}

func TestWalkBudgetLimits(t *testing.T) {
	b := NewWalkBudget(WalkLimits{MaxDepth: 3})
	for i := 0; i < 3; i++ {
		if err := b.Enter(repo.ID{byte(i)}, "/x", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Enter(repo.ID{9}, "/x", 0); !errors.Is(err, ErrWalkLimit) || !strings.Contains(err.Error(), "deeper than 3") {
		t.Fatalf("depth: %v", err)
	}

	b = NewWalkBudget(WalkLimits{MaxNodes: 10})
	if err := b.Enter(repo.ID{1}, "/", 10); err != nil {
		t.Fatal(err)
	}
	b.Leave()
	if err := b.Enter(repo.ID{2}, "/", 1); !errors.Is(err, ErrWalkLimit) || !strings.Contains(err.Error(), "more than 10 nodes") {
		t.Fatalf("node count: %v", err)
	}

	// Many distinct trees never trip the repeat rule; one tree entered
	// over and over does, once past the floor.
	b = NewWalkBudget(WalkLimits{Repeat: 4, RepeatFloor: 100})
	for i := 0; i < 1000; i++ {
		if err := b.Enter(repo.ID{byte(i), byte(i >> 8)}, "/", 10); err != nil {
			t.Fatalf("distinct tree %d: %v", i, err)
		}
		b.Leave()
	}
	b = NewWalkBudget(WalkLimits{Repeat: 4, RepeatFloor: 100})
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		if err = b.Enter(repo.ID{1}, "/", 10); err == nil {
			b.Leave()
		}
	}
	if !errors.Is(err, ErrWalkLimit) || b.Expanded() > 200 {
		t.Fatalf("repeated tree: %v after %d nodes", err, b.Expanded())
	}
}
