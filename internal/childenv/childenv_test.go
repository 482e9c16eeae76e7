package childenv

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	env := []string{
		"PATH=/usr/bin", "CADANG_PASSWORD=s3cret", "CADANG_FROM_PASSWORD=other", "CADANG_REST_PASSWORD=rest",
		"CADANG_PASSWORD_FILE=/etc/cadang/pw", "CADANG_PASSWORD_COMMAND=pass show x", "CADANG_REPOSITORY=/srv/r",
		"PGPASSWORD=pg", "AWS_ACCESS_KEY_ID=AK", "AWS_SECRET_ACCESS_KEY=SK", "AWS_SESSION_TOKEN=TOK",
		"NOEQUALS", "cadang_password=lower",
	}
	got := Clean(env)
	want := []string{"PATH=/usr/bin", "CADANG_REPOSITORY=/srv/r", "PGPASSWORD=pg", "AWS_ACCESS_KEY_ID=AK",
		"AWS_SECRET_ACCESS_KEY=SK", "AWS_SESSION_TOKEN=TOK", "NOEQUALS", "cadang_password=lower"}
	if !slices.Equal(got, want) {
		t.Errorf("Clean:\n got %q\nwant %q", got, want)
	}
	got = Clean(env, CloudCredentials...)
	want = []string{"PATH=/usr/bin", "CADANG_REPOSITORY=/srv/r", "PGPASSWORD=pg", "AWS_ACCESS_KEY_ID=AK", "NOEQUALS", "cadang_password=lower"}
	if !slices.Equal(got, want) {
		t.Errorf("Clean with cloud credentials dropped:\n got %q\nwant %q", got, want)
	}
	if got := Clean(nil); got == nil {
		t.Error("Clean(nil) is nil: exec.Cmd would inherit the whole environment")
	}
}

// TestEnvironReachesChild runs a real child with Environ and reads back
// the environment it saw.
func TestEnvironReachesChild(t *testing.T) {
	t.Setenv("CADANG_PASSWORD", "hunter2-childenv")
	t.Setenv("CADANG_KEEP_ME", "visible")
	cmd := exec.CommandContext(context.Background(), "env")
	cmd.Env = Environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "hunter2-childenv") {
		t.Errorf("the child saw CADANG_PASSWORD:\n%s", out)
	}
	if !strings.Contains(string(out), "CADANG_KEEP_ME=visible") {
		t.Errorf("the child lost a variable that is no secret:\n%s", out)
	}
}
