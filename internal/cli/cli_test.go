package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// env is a hermetic Env: its own config dir and environment.
func env(t *testing.T, vars map[string]string) Env {
	return Env{ConfigDir: t.TempDir(), Getenv: func(k string) string { return vars[k] }}
}

func run(t *testing.T, e Env, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := e.Run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// One exit code per class: 0 ok, 1 failed, 2 usage, 3 not found or unreachable.
func TestExitCodes(t *testing.T) {
	m := miniredis.RunT(t)
	e := env(t, map[string]string{"HYDRAKIT_REDIS_URL": "redis://" + m.Addr() + "/0"})
	doc := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(doc, []byte(`"not an object"`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		want int
		args []string
	}{
		{ExitOK, []string{"nodes"}},
		{ExitOK, []string{"services", "--json"}},
		{ExitOK, []string{"help"}},
		{ExitFailed, []string{"cfg", "push", "svc:1.0.0", doc}},
		{ExitUsage, []string{"nodes", "a", "b"}},
		{ExitUsage, []string{"frobnicate"}},
		{ExitUsage, []string{"cfg"}},
		{ExitUsage, []string{"cfg", "pull", "no-version"}},
		{ExitUsage, []string{"nodes", "--no-such-flag"}},
		{ExitUsage, []string{"nodes", "bad:name"}},
		{ExitNotFound, []string{"cfg", "pull", "svc:9.9.9"}},
		{ExitNotFound, []string{"cfg", "push", "svc:1.0.0", filepath.Join(t.TempDir(), "missing.json")}},
		{ExitNotFound, []string{"--redis", "redis://127.0.0.1:1/0", "--timeout", "200ms", "nodes"}},
		{ExitNotFound, []string{"--profile", "nope", "nodes"}},
	} {
		if _, stderr, have := run(t, e, c.args...); have != c.want {
			t.Errorf("hydrakit %s: exit %d, want %d (%s)", strings.Join(c.args, " "), have, c.want, stderr)
		}
	}
}

// A profile keeps where the password is, never the password; commands read it from there; nothing
// prints it.
func TestProfilesNeverHoldPasswords(t *testing.T) {
	m := miniredis.RunT(t)
	m.RequireAuth("s3cret")
	vars := map[string]string{"REDIS_PW": "s3cret"}
	e := env(t, vars)
	url := "redis://" + m.Addr() + "/0"

	if _, stderr, code := run(t, e, "profile", "add", "prod", "--url", "redis://:s3cret@"+m.Addr()+"/0"); code != ExitUsage || strings.Contains(stderr, "s3cret") {
		t.Errorf("a URL with a password: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := run(t, e, "profile", "add", "prod", "--url", url, "--password-env", "REDIS_PW"); code != 0 {
		t.Fatalf("add: %d %s", code, stderr)
	}
	if _, _, code := run(t, e, "config", "staging", "--url", "redis://10.0.0.9:6379/1"); code != 0 {
		t.Fatal("hydra-cli's config <name>")
	}
	stored, err := os.ReadFile(filepath.Join(e.ConfigDir, "hydrakit", "profiles.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "s3cret") || !strings.Contains(string(stored), "REDIS_PW") {
		t.Errorf("profiles.json: %s", stored)
	}
	if fi, _ := os.Stat(filepath.Join(e.ConfigDir, "hydrakit", "profiles.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("profiles.json mode %v", fi.Mode())
	}
	out, _, code := run(t, e, "profile", "list")
	if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), "prod * redis://"+m.Addr()+"/0 env:REDIS_PW") {
		t.Errorf("list: %d\n%s", code, out)
	}
	if _, stderr, code := run(t, e, "nodes"); code != 0 {
		t.Errorf("nodes on the active profile with its password: %d %s", code, stderr)
	}
	delete(vars, "REDIS_PW")
	if _, stderr, code := run(t, e, "nodes"); code == 0 || strings.Contains(stderr, "s3cret") {
		t.Errorf("without the password: %d %s", code, stderr)
	}
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, e, "--redis", url, "--redis-password-file", pwFile, "nodes"); code != 0 {
		t.Errorf("--redis-password-file: %d %s", code, stderr)
	}
	vars["HYDRAKIT_REDIS_PASSWORD"] = "s3cret"
	out, _, code = run(t, e, "--redis", url, "shell")
	if code != 0 || strings.Contains(out, "s3cret") {
		t.Errorf("shell: %d %s", code, out)
	}
	if _, _, code := run(t, e, "use", "staging"); code != 0 {
		t.Error("use")
	}
	if out, _, _ := run(t, e, "config", "list", "--json"); !strings.Contains(out, `"name": "staging",
    "active": true`) {
		t.Errorf("config list --json:\n%s", out)
	}
	if _, _, code := run(t, e, "profile", "remove", "staging"); code != 0 {
		t.Error("remove")
	}
	if _, _, code := run(t, e, "use", "staging"); code != ExitNotFound {
		t.Error("use of a removed profile")
	}
}

func TestPasswordInURL(t *testing.T) {
	for _, c := range []struct{ url, pw, want string }{
		{"redis://h:1/0", "", "redis://h:1/0"},
		{"redis://h:1/0", "p@ss:/", "redis://:p%40ss%3A%2F@h:1/0"},
		{"rediss://alice@h:1/0", "pw", "rediss://alice:pw@h:1/0"},
		{"redis://alice:own@h:1/0", "pw", "redis://alice:own@h:1/0"},
		{"h:1,h:2", "pw", "redis+cluster://:pw@h:1,h:2"},
		{"redis+sentinel://s:26379/mymaster", "pw", "redis+sentinel://:pw@s:26379/mymaster"},
	} {
		if have := withPassword(c.url, c.pw); have != c.want {
			t.Errorf("withPassword(%s): want %s, have %s", c.url, c.want, have)
		}
	}
	if want, have := "redis://alice:xxxxx@h:1/0", redact("redis://alice:own@h:1/0"); want != have {
		t.Errorf("redact: want %s, have %s", want, have)
	}
	if want, have := "redis://h:1/0", redact("redis://h:1/0"); want != have {
		t.Errorf("redact: want %s, have %s", want, have)
	}
}

func TestShellLine(t *testing.T) {
	for _, c := range []struct {
		r    resolved
		want string
	}{
		{resolved{url: "redis://10.0.0.1:6380/3"}, "redis-cli -h 10.0.0.1 -p 6380 -n 3"},
		{resolved{url: "rediss://bob@r:6379/0", ca: "ca.pem"}, "redis-cli -h r -p 6379 -n 0 --user bob --tls --cacert ca.pem"},
		{resolved{url: "redis+cluster://a:7000,b:7001"}, "redis-cli -c -h a -p 7000"},
	} {
		argv, err := shellArgs(c.r)
		if have := "redis-cli " + strings.Join(argv, " "); err != nil || have != c.want {
			t.Errorf("%s: want %s, have %s (%v)", c.r.url, c.want, have, err)
		}
	}
	if _, err := shellArgs(resolved{url: "redis+sentinel://s:1/m"}); exitCode(err) != ExitUsage {
		t.Errorf("sentinel: %v", err)
	}
}

// profile add refuses what no command could connect with, so that nothing unusable is saved: bare
// cluster seeds carrying credentials (redact sees no scheme, so the password would be stored and
// listed), an invalid port, a TLS file that is not there.
func TestProfileAddValidatesTheURL(t *testing.T) {
	e := env(t, nil)
	for _, argv := range [][]string{
		{"--url", "h:1,:s3cret@h:2"},
		{"--url", "redis://h:notaport/0"},
		{"--url", "rediss://h:6379/0", "--ca", filepath.Join(t.TempDir(), "missing.pem")},
	} {
		_, stderr, code := run(t, e, append([]string{"profile", "add", "bad"}, argv...)...)
		if code != ExitUsage || strings.Contains(stderr, "s3cret") {
			t.Errorf("profile add %s: exit %d, want %d; stderr %q", strings.Join(argv, " "), code, ExitUsage, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(e.ConfigDir, "hydrakit", "profiles.json")); !os.IsNotExist(err) {
		t.Errorf("a refused profile was saved: %v", err)
	}
}

// shell --json gives scripts the argument list, so that nothing depends on word splitting.
func TestShellJSON(t *testing.T) {
	e := env(t, map[string]string{"HYDRAKIT_REDIS_URL": "rediss://bob@r:6379/2", "HYDRAKIT_REDIS_PASSWORD": "s3cret"})
	out, stderr, code := run(t, e, "shell", "--json", "--redis-ca", "my ca.pem")
	want := `{
  "command": "redis-cli",
  "args": [
    "-h",
    "r",
    "-p",
    "6379",
    "-n",
    "2",
    "--user",
    "bob",
    "--tls",
    "--cacert",
    "my ca.pem"
  ]
}
`
	if code != ExitOK || out != want {
		t.Errorf("shell --json: exit %d (%s)\nwant %s\nhave %s", code, stderr, want, out)
	}
}
