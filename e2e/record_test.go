package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// record is the part of a history record these tests read.
type record struct {
	ID         string   `json:"id"`
	Profile    string   `json:"profile"`
	Outcome    string   `json:"outcome"`
	Kind       string   `json:"runtime_kind"`
	Compose    string   `json:"compose"`
	Simulated  bool     `json:"simulated"`
	SimBinary  string   `json:"sim_binary"`
	Replaced   []string `json:"replaced"`
	ReplacedBy string   `json:"replaced_by"`
	ReplayOf   string   `json:"replay_of"`
	RollbackOf string   `json:"rollback_of"`
}

// history returns a profile's records, oldest first.
func history(t *testing.T, p *proj, profile string) []record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, ".vllmctl", "history.json"))
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	var all, out []record
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatalf("history: %v", err)
	}
	for _, r := range all {
		if r.Profile == profile {
			out = append(out, r)
		}
	}
	return out
}

// statusOf runs `status PROFILE -o json` with no runtime flag.
func statusOf(t *testing.T, p *proj, profile string) (state, health, rt string) {
	t.Helper()
	out, code := runIn(p.dir, "status", profile, "-o", "json")
	if code != 0 {
		t.Fatalf("status %s: exit %d\n%s", profile, code, out)
	}
	var sts []struct {
		State   string `json:"state"`
		Health  string `json:"health"`
		Runtime string `json:"runtime"`
	}
	if err := json.Unmarshal([]byte(out), &sts); err != nil || len(sts) != 1 {
		t.Fatalf("status %s -o json: %v\n%s", profile, err, out)
	}
	return sts[0].State, sts[0].Health, sts[0].Runtime
}

// mustIn runs vllmctl in the project without the variant's runtime flags
// (what a user types after up) and wants the exit code.
func mustIn(t *testing.T, p *proj, want int, args ...string) string {
	t.Helper()
	out, code := runIn(p.dir, args...)
	if code != want {
		t.Fatalf("vllmctl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
	}
	if strings.Contains(out, "e2e-secret-key-4242") {
		t.Fatalf("vllmctl %s printed the API key:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// TestFoundWhereRecorded: after up with --runtime process (a Docker Engine
// answers here, so docker is what auto picks) or with Compose v1 (v2 is what
// auto picks), status, logs, restart and down without --runtime find the
// profile where up recorded it, and restart keeps the simulator binary.
func TestFoundWhereRecorded(t *testing.T) {
	for _, c := range []struct {
		v             variant
		kind, compose string
		rt            string
	}{
		{variants[2], "process", "", "process"},
		{variants[0], "docker", "v1", "docker"},
	} {
		t.Run(c.v.name, func(t *testing.T) {
			p := newProject(t, c.v, goodArgs, "", "")
			p.must(0, "up", "a")
			h := history(t, p, "a")
			up := h[len(h)-1]
			if up.Kind != c.kind || up.Compose != c.compose || !up.Simulated || up.Outcome != "ready" {
				t.Fatalf("up's record: %+v", up)
			}
			if c.kind == "process" && up.SimBinary != simBin {
				t.Fatalf("the simulator binary is not recorded: %q, want %q", up.SimBinary, simBin)
			}
			if st, health, rt := statusOf(t, p, "a"); st != "running" || health != "ready" || rt != c.rt {
				t.Fatalf("status a without --runtime: %s, %s, %s", st, health, rt)
			}
			out := mustIn(t, p, 0, "logs", "a")
			contains(t, out, "▶") // startup phases, marked
			out = mustIn(t, p, 0, "restart", "a", "--progress", "plain")
			contains(t, out, "a ready in")
			h = history(t, p, "a")
			again := h[len(h)-1]
			if again.ID == up.ID || again.Kind != c.kind || again.Compose != c.compose || !again.Simulated || again.SimBinary != up.SimBinary || again.Outcome != "ready" {
				t.Fatalf("restart without flags did not deploy where up did: %+v (up: %+v)", again, up)
			}
			mustIn(t, p, 0, "down", "a")
			if st, _, _ := statusOf(t, p, "a"); st != "not deployed" {
				t.Fatalf("status after down: %s", st)
			}
			if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), time.Second); err == nil {
				conn.Close()
				t.Error("the port still answers after down")
			}
		})
	}
}

// TestDamagedOrMissingRecord: a damaged history is named with the fix and
// kept (exit 2), a restart with no recorded deploy says what to run (exit 1).
func TestDamagedOrMissingRecord(t *testing.T) {
	p := newProject(t, variants[2], goodArgs, "", "")
	out := mustIn(t, p, 1, "restart", "a")
	contains(t, out, "no deploy of a is recorded in "+filepath.Join(p.dir, ".vllmctl", "history.json"), "vllmctl up a")
	p.must(0, "up", "a")
	path := filepath.Join(p.dir, ".vllmctl", "history.json")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damaged := good[:len(good)/2]
	if err := os.WriteFile(path, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status", "a"}, {"logs", "a"}, {"down", "a"}, {"restart", "a"}} {
		out := mustIn(t, p, 2, args...)
		contains(t, out, path, "damaged", "move it away")
	}
	if now, _ := os.ReadFile(path); string(now) != string(damaged) {
		t.Fatal("the damaged history was changed")
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	mustIn(t, p, 0, "down", "a")
}
