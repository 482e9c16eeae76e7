package run_test

import (
	"github.com/lpse/cadang/internal/sop/run"
	"github.com/lpse/cadang/internal/sop/runlog"
	"github.com/lpse/cadang/repo"
)

// The real repository must satisfy the interfaces the SOP layer declares.
var (
	_ runlog.RecordStore = (*repo.Repository)(nil)
	_ run.Repository     = (*repo.Repository)(nil)
)
