package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/deploy"
	"github.com/vllmctl/vllmctl/internal/project"
	"github.com/vllmctl/vllmctl/internal/redact"
	"github.com/vllmctl/vllmctl/internal/state"
)

func newHistoryCmd(e *env) *cobra.Command {
	var f targetFlags
	c := &cobra.Command{
		Use:   "history [PROFILE]",
		Short: "List past deploys: config hash, outcome, time to ready, diagnosis",
		Long: "List past deploys, newest first: config hash, runtime, outcome, time to ready, diagnosis.\n\n" +
			"Without --target, the deploys on this machine (Docker and process runtimes), with a hint when\n" +
			"deploys on Kubernetes are recorded too. With --target kubernetes, the deploys of\n" +
			"'up --target kubernetes' recorded under .vllmctl/kubernetes/<context>/<namespace>/, with where\n" +
			"each ran (context/namespace) and, for a rollback, the config it restored after which failure;\n" +
			"every recorded context and namespace unless --context or --namespace narrows it. The cluster\n" +
			"is not asked.",
		Example: "  vllmctl history\n  vllmctl history medium -o json\n" +
			"  vllmctl history --target kubernetes\n  vllmctl history medium --target kubernetes --context prod -n vllm",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			onKube, err := f.kubernetes()
			if err != nil {
				return err
			}
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			profile := ""
			if len(args) == 1 {
				profile = args[0]
			}
			if onKube {
				return historyKubernetes(e, p, f, profile)
			}
			h, err := deploy.New(p, nil).History(profile)
			if err != nil {
				return err
			}
			return e.render(h, func(w io.Writer) error {
				kubeN := kubeDeployCount(e, p, profile)
				if len(h) == 0 {
					if kubeN > 0 {
						fmt.Fprintln(w, "no local deploys yet")
					} else {
						fmt.Fprintln(w, "no deploys yet")
					}
				} else {
					t := newTable(w, "TIME", "PROFILE", "CONFIG", "RUNTIME", "OUTCOME", "TO READY", "DIAGNOSIS")
					for _, r := range h {
						rt := r.Runtime
						if r.Simulated {
							rt += " (sim)"
						}
						t.row(historyTime(r), r.Profile, r.Hash, rt, string(r.Outcome), readyCell(r), truncate(r.Diagnosis, 80))
					}
					if err := t.flush(); err != nil {
						return err
					}
					printReadyTrends(e, h)
				}
				if kubeN > 0 {
					fmt.Fprintf(w, "%s on Kubernetes: vllmctl history %s--target kubernetes\n", plural(kubeN, "deploy"), profileArg(profile))
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&f.target, "target", "local", "local (this machine's deploys) or kubernetes (those of up --target kubernetes)")
	c.Flags().StringVar(&f.context, "context", "", "with --target kubernetes: only the deploys to this kubeconfig context (default: every recorded one)")
	c.Flags().StringVarP(&f.namespace, "namespace", "n", "", "with --target kubernetes: only the deploys to this namespace (default: every recorded one)")
	addOutput(c, e)
	return c
}

// kubeHistoryRecord is a deploy of up --target kubernetes as history shows
// it: the record, where it ran, and what a rollback restored.
type kubeHistoryRecord struct {
	state.Record
	Context   string `json:"context"`
	Namespace string `json:"namespace"`
	// Rollback says, on a rollback's record, which config it applied again
	// after which failed deploy (and whether it became ready).
	Rollback string `json:"rollback,omitempty"`
}

// kubeHistory is one recorded Kubernetes store: a context and namespace.
type kubeHistory struct {
	store              state.Store
	context, namespace string
}

// kubeHistories lists the stores up --target kubernetes wrote under the
// project's state folder (kubernetes/<context>/<namespace>/history.json),
// the context and namespace read from their target.json where there is one
// (the folder names otherwise); f's --context and --namespace narrow them.
func kubeHistories(p *project.Project, f targetFlags) ([]kubeHistory, error) {
	base := filepath.Join(deploy.New(p, nil).Store.Dir, "kubernetes")
	paths, err := filepath.Glob(filepath.Join(base, "*", "*", "history.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var out []kubeHistory
	for _, path := range paths {
		dir := filepath.Dir(path)
		h := kubeHistory{store: state.Store{Dir: dir}, context: filepath.Base(filepath.Dir(dir)), namespace: filepath.Base(dir)}
		var t kubeTargetRecord
		if b, err := os.ReadFile(filepath.Join(dir, kubeTargetFile)); err == nil && json.Unmarshal(b, &t) == nil {
			if t.Context != "" {
				h.context = t.Context
			}
			if t.Namespace != "" {
				h.namespace = t.Namespace
			}
		}
		if f.context != "" && h.context != f.context && filepath.Base(filepath.Dir(dir)) != pathSafe(f.context) {
			continue
		}
		if f.namespace != "" && h.namespace != f.namespace && filepath.Base(dir) != pathSafe(f.namespace) {
			continue
		}
		out = append(out, h)
	}
	return out, nil
}

// kubeDeployCount is how many deploys of profile ("" every one) are
// recorded on Kubernetes, for the hint under the local history; a history
// that cannot be read is said on stderr and not counted.
func kubeDeployCount(e *env, p *project.Project, profile string) int {
	stores, err := kubeHistories(p, targetFlags{})
	if err != nil {
		return 0
	}
	n := 0
	for _, s := range stores {
		recs, err := s.store.History(profile)
		if err != nil {
			fmt.Fprintf(e.stderr, "deploys on Kubernetes: %v\n", err)
			continue
		}
		n += len(recs)
	}
	return n
}

// historyKubernetes is history --target kubernetes: the recorded deploys of
// every matching context and namespace, newest first.
func historyKubernetes(e *env, p *project.Project, f targetFlags, profile string) error {
	stores, err := kubeHistories(p, f)
	if err != nil {
		return err
	}
	red := redactorFor(p)
	rows := []kubeHistoryRecord{}
	for _, s := range stores {
		all, err := s.store.History("")
		if err != nil {
			return stateErr(err)
		}
		byID := make(map[string]state.Record, len(all))
		for _, r := range all {
			byID[r.ID] = r
		}
		for _, r := range all {
			if profile != "" && r.Profile != profile {
				continue
			}
			r.Diagnosis = red.String(r.Diagnosis)
			rows = append(rows, kubeHistoryRecord{Record: r, Context: s.context, Namespace: s.namespace, Rollback: rollbackNote(r, byID, red)})
		}
	}
	slices.SortStableFunc(rows, func(a, b kubeHistoryRecord) int { return b.Time.Compare(a.Time) })
	return e.render(rows, func(w io.Writer) error {
		if len(rows) == 0 {
			fmt.Fprintln(w, noKubeDeploys(p, f, profile))
			return nil
		}
		t := newTable(w, "TIME", "PROFILE", "CONFIG", "RUNTIME", "WHERE", "OUTCOME", "TO READY", "DIAGNOSIS")
		h := make([]state.Record, len(rows))
		for i, r := range rows {
			h[i] = r.Record
			diag := truncate(r.Diagnosis, 80)
			if r.Rollback != "" && r.Outcome == state.RolledBack {
				diag = r.Rollback
			} else if r.Rollback != "" {
				diag = r.Rollback + ": " + truncate(strings.TrimPrefix(r.Diagnosis, "rollback did not become ready: "), 80)
			}
			t.row(historyTime(r.Record), r.Profile, r.Hash, r.Runtime, r.Context+"/"+r.Namespace, string(r.Outcome), readyCell(r.Record), diag)
		}
		if err := t.flush(); err != nil {
			return err
		}
		printReadyTrends(e, h)
		return nil
	})
}

// rollbackNote says what a rollback's record restored: the config applied
// again, the deploy that first ran it ready (when recorded), and the failed
// deploy it replaced; "" for a record that is no rollback.
func rollbackNote(r state.Record, byID map[string]state.Record, red *redact.Redactor) string {
	if r.RollbackOf == "" {
		return ""
	}
	failed := r.RollbackOf
	if f, ok := byID[r.RollbackOf]; ok {
		failed = f.Hash
	}
	restored := r.Hash
	if g, ok := byID[r.ReplayOf]; ok {
		restored += " (ready " + historyTime(g) + ")"
	}
	if r.Outcome == state.RolledBack {
		return red.String(fmt.Sprintf("restored %s after %s failed", restored, failed))
	}
	return red.String(fmt.Sprintf("rollback of %s to %s did not become ready", failed, restored))
}

// noKubeDeploys says that nothing matched, what was asked and what is
// recorded instead.
func noKubeDeploys(p *project.Project, f targetFlags, profile string) string {
	var asked []string
	if profile != "" {
		asked = append(asked, "of "+profile)
	}
	if f.context != "" {
		asked = append(asked, "to context "+f.context)
	}
	if f.namespace != "" {
		asked = append(asked, "in namespace "+f.namespace)
	}
	msg := "no deploys on Kubernetes recorded"
	if len(asked) > 0 {
		msg = "no deploys " + strings.Join(asked, " ") + " recorded on Kubernetes"
	}
	all, _ := kubeHistories(p, targetFlags{})
	var where []string
	for _, s := range all {
		if recs, err := s.store.History(""); err == nil && len(recs) > 0 {
			where = append(where, s.context+"/"+s.namespace)
		}
	}
	if len(where) > 0 && (f.context != "" || f.namespace != "") {
		return msg + " (recorded: " + strings.Join(where, ", ") + ")"
	}
	return msg + ": deploy with 'vllmctl up " + profileArg(profile) + "--target kubernetes'"
}

func historyTime(r state.Record) string { return r.Time.Local().Format("2006-01-02 15:04:05") }

func readyCell(r state.Record) string {
	if r.ReadySecs > 0 {
		return fmt.Sprintf("%.1fs", r.ReadySecs)
	}
	return ""
}

func profileArg(profile string) string {
	if profile == "" {
		return ""
	}
	return profile + " "
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// printReadyTrends draws, per profile with at least two ready deploys, its
// time to ready over its deploys (oldest left), with the first and last;
// h is newest first, as History returns it.
func printReadyTrends(e *env, h []state.Record) {
	var order []string
	secs := map[string][]float64{}
	for _, r := range slices.Backward(h) {
		if r.ReadySecs <= 0 {
			continue
		}
		if _, ok := secs[r.Profile]; !ok {
			order = append(order, r.Profile)
		}
		secs[r.Profile] = append(secs[r.Profile], r.ReadySecs)
	}
	header := false
	for _, p := range order {
		v := secs[p]
		if len(v) < 2 {
			continue
		}
		if !header {
			fmt.Fprintln(e.stdout, "\ntime to ready, oldest deploy first:")
			header = true
		}
		fmt.Fprintf(e.stdout, "  %s  %s  %.1fs → %.1fs\n", p, sparkline(v, 0, 0), v[0], v[len(v)-1])
	}
}
