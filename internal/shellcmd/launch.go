package shellcmd

import (
	"path"
	"regexp"
	"strings"
)

// FindVLLM returns the command that starts the vLLM server — `vllm serve ...`,
// `python[3] -m vllm.entrypoints.openai.api_server ...`, `.../api_server.py` —
// also behind `exec`, `env A=B`, `nohup`, `setsid`, `time`, `nice`, `taskset`,
// `numactl`, `stdbuf`, `timeout`, `sudo`, `gosu`, `tini`, `dumb-init`, `uv run`,
// `conda|mamba|micromamba run -n x`, `pixi|poetry|pipenv|pdm run` prefixes, and
// the index in Words where the launcher (`vllm`, `python3`, or the `-m` of
// `uv run -m ...`) begins: Argv()[launcher:] is what the vLLM argv parser reads.
// When several commands start vLLM (an if and its else), the first in source
// order is returned. ok=false when none does.
func FindVLLM(cmds []Command) (cmd Command, launcher int, ok bool) {
	for _, c := range cmds {
		if i, ok := launcherIndex(c.Words); ok {
			return c, i, true
		}
	}
	return Command{}, 0, false
}

func launcherIndex(ws []Word) (int, bool) {
	i := 0
	for range 16 { // prefixes nest: exec env A=1 nohup uv run ...
		if i >= len(ws) || ws[i].Unknown {
			return 0, false
		}
		next, ok := skipPrefix(ws, i)
		if !ok {
			break
		}
		i = next
	}
	if i < len(ws) && isLauncher(ws[i:]) {
		return i, true
	}
	return 0, false
}

// prefixOpts describes the options of a command that runs another one.
type prefixOpts struct {
	sub        string   // a subcommand that must follow ("run" of uv run)
	short      string   // short options that take a value
	long       []string // long options that take a value (when not written --opt=value)
	positional int      // operands before the command (gosu USER, timeout DURATION)
	assigns    bool     // NAME=VALUE words (env)
}

var prefixes = map[string]prefixOpts{
	"exec":       {short: "a"},
	"env":        {short: "uCS", long: []string{"--unset", "--chdir", "--split-string"}, assigns: true},
	"nohup":      {},
	"setsid":     {},
	"time":       {short: "fo", long: []string{"--format", "--output"}},
	"nice":       {short: "n", long: []string{"--adjustment"}},
	"ionice":     {short: "cnp", long: []string{"--class", "--classdata", "--pid"}},
	"stdbuf":     {short: "ioe", long: []string{"--input", "--output", "--error"}},
	"taskset":    {positional: 1},
	"numactl":    {short: "NmCipP", long: []string{"--cpunodebind", "--membind", "--physcpubind", "--interleave", "--preferred", "--preferred-many"}},
	"timeout":    {short: "sk", long: []string{"--signal", "--kill-after"}, positional: 1},
	"sudo":       {short: "ugCDhprRTU", long: []string{"--user", "--group", "--chdir", "--host", "--prompt", "--role", "--type", "--other-user"}},
	"gosu":       {positional: 1},
	"su-exec":    {positional: 1},
	"tini":       {short: "pel"},
	"dumb-init":  {},
	"catatonit":  {},
	"uv":         {sub: "run", short: "pw", long: []string{"--with", "--with-editable", "--with-requirements", "--python", "--extra", "--group", "--only-group", "--no-group", "--package", "--env-file", "--directory", "--project", "--index", "--default-index", "--index-url", "--extra-index-url", "--find-links", "--config-file", "--cache-dir"}},
	"conda":      {sub: "run", short: "np", long: []string{"--name", "--prefix", "--cwd"}},
	"mamba":      {sub: "run", short: "np", long: []string{"--name", "--prefix", "--cwd"}},
	"micromamba": {sub: "run", short: "npra", long: []string{"--name", "--prefix", "--cwd", "--root-prefix", "--attach"}},
	"pixi":       {sub: "run", short: "e", long: []string{"--environment", "--manifest-path"}},
	"poetry":     {sub: "run"},
	"pipenv":     {sub: "run"},
	"pdm":        {sub: "run"},
	"hatch":      {sub: "run"},
}

// skipPrefix returns where the wrapped command starts when ws[i] is a prefix.
func skipPrefix(ws []Word, i int) (int, bool) {
	name := path.Base(ws[i].Text)
	if name == "command" { // command CMD runs it; command -v looks it up
		if i+1 < len(ws) && (ws[i+1].Text == "-v" || ws[i+1].Text == "-V") {
			return 0, false
		}
		name = "nohup" // no options worth knowing
	}
	p, ok := prefixes[name]
	if !ok {
		return 0, false
	}
	j := i + 1
	if p.sub != "" {
		if j >= len(ws) || ws[j].Text != p.sub {
			return 0, false
		}
		j++
	}
	for j < len(ws) && !ws[j].Unknown {
		t := ws[j].Text
		switch {
		case t == "--":
			j++
			return skipOperands(ws, j, p.positional), true
		case p.sub == "run" && name == "uv" && (t == "-m" || t == "--module"):
			return j, true // uv run -m module: the launcher is the -m
		case strings.HasPrefix(t, "--"):
			j++
			if !strings.Contains(t, "=") && contains(p.long, t) {
				j++
			}
		case strings.HasPrefix(t, "-") && len(t) > 1:
			j++
			if len(t) == 2 && strings.ContainsRune(p.short, rune(t[1])) {
				j++
			}
		case p.assigns && isAssignment(t):
			j++
		default:
			return skipOperands(ws, j, p.positional), true
		}
	}
	return j, true
}

func skipOperands(ws []Word, j, n int) int {
	return min(j+n, len(ws))
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

var assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func isAssignment(s string) bool { return assignment.MatchString(s) }

var pythonName = regexp.MustCompile(`^python[0-9.]*$`)

const apiServerModule = "vllm.entrypoints.openai.api_server"

// isLauncher reports whether ws starts the vLLM OpenAI server.
func isLauncher(ws []Word) bool {
	if len(ws) == 0 || ws[0].Unknown {
		return false
	}
	name := path.Base(ws[0].Text)
	switch {
	case name == "vllm":
		return len(ws) > 1 && !ws[1].Unknown && ws[1].Text == "serve"
	case name == "api_server.py":
		return true
	case ws[0].Text == "-m" || ws[0].Text == "--module": // uv run -m
		return len(ws) > 1 && !ws[1].Unknown && ws[1].Text == apiServerModule
	case !pythonName.MatchString(name):
		return false
	}
	for k := 1; k < len(ws); k++ {
		if ws[k].Unknown {
			return false
		}
		t := ws[k].Text
		switch {
		case t == "-m":
			return k+1 < len(ws) && !ws[k+1].Unknown && ws[k+1].Text == apiServerModule
		case strings.HasPrefix(t, "-m"):
			return t[2:] == apiServerModule
		case t == "-c" || strings.HasPrefix(t, "-c"):
			return false // inline code
		case t == "-X" || t == "-W":
			k++
		case strings.HasPrefix(t, "-"):
		default:
			return path.Base(t) == "api_server.py"
		}
	}
	return false
}

var shells = map[string]bool{"sh": true, "bash": true, "dash": true, "ash": true, "ksh": true, "mksh": true, "zsh": true}

// IsShell reports whether argv (entrypoint+command as the container receives
// them) runs a shell script given with -c: ["/bin/sh","-c",script,...],
// ["bash","-c",...], ["sh","-lc",...], ["/bin/bash","-euo","pipefail","-c",...],
// also behind `/usr/bin/env`, `tini --`, `dumb-init` or `busybox`. It returns the
// script and the positional arguments after it ($0 first, then $1...; see
// PositionalArgs), never nil when ok. A shell running a script file
// (["bash","/entrypoint.sh"]) is not a -c script: ok=false.
func IsShell(argv []string) (script string, args []string, ok bool) {
	i := 0
	for i < len(argv) {
		switch path.Base(argv[i]) {
		case "env", "tini", "dumb-init", "catatonit", "busybox":
			i++
			for i < len(argv) && (strings.HasPrefix(argv[i], "-") && len(argv[i]) > 1) {
				i++
				if argv[i-1] == "--" {
					break
				}
			}
			continue
		}
		break
	}
	if i >= len(argv) || !shells[path.Base(argv[i])] {
		return "", nil, false
	}
	cflag := false
	k := i + 1
options:
	for k < len(argv) {
		a := argv[k]
		switch {
		case a == "--" || a == "-":
			k++
			break options
		case strings.HasPrefix(a, "--"):
			k++
			if a == "--rcfile" || a == "--init-file" {
				k++
			}
		case len(a) > 1 && (a[0] == '-' || a[0] == '+'):
			k++
			for _, c := range a[1:] {
				switch c {
				case 'c':
					cflag = true
				case 'o', 'O':
					k++ // -o pipefail
				}
			}
		default:
			break options
		}
	}
	if !cflag || k >= len(argv) {
		return "", nil, false
	}
	return argv[k], append([]string{}, argv[k+1:]...), true
}
