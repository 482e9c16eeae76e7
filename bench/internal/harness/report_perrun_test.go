package harness

import (
	"strings"
	"testing"
)

// The per-run table shows every run's own ratio and the places in the
// order, not a ratio of medians.
func TestPerRunTable(t *testing.T) {
	r := &Result{Options: Options{Runs: 2}, Tools: []ToolInfo{{Name: "cadang"}, {Name: "restic"}},
		Measures: map[string]map[Step][]Measure{
			"cadang": {StepRestore: {{Run: 0, Wall: 4, User: 2, Position: 1}, {Run: 1, Wall: 1, User: 1, Position: 2}}},
			"restic": {StepRestore: {{Run: 0, Wall: 8, User: 8, Position: 2}, {Run: 1, Wall: 10, User: 4, Position: 1}}},
		}}
	var b strings.Builder
	r.perRunTable(&b, "restic", []Step{StepRestore})
	out := b.String()
	for _, want := range []string{"| restore | 0.50; 0.25 [1,2] | 0.10; 0.25 [2,1] | 0.30 | 0.10–0.50 |"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
}

func TestResticBinaryExplicit(t *testing.T) {
	if got := ResticBinary("/opt/restic-0.19.1"); got != "/opt/restic-0.19.1" {
		t.Errorf("ResticBinary(explicit) = %q", got)
	}
}
