package project

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/vllmctl/vllmctl/internal/shellcmd"
	"github.com/vllmctl/vllmctl/internal/vllm"
)

// Script is the shell script that starts a service's engine: an `sh -c`
// command or entrypoint, or a wrapper file the entrypoint runs.
type Script struct {
	Key   string // "command" or "entrypoint": where the script is written in the compose file
	Item  int    // list item holding the script, -1 for a string
	File  string // the wrapper file on this machine, "" when the script is inline
	Lines []int  // per Argv token, its line in the script (1-based)
	Text  string // the script
}

// recognise decides whether the service runs vLLM and reads the engine's
// argv: from the image and its Dockerfile, an entrypoint or command that starts
// vLLM, a shell script that does (inline or a wrapper file), or a command of
// vLLM flags. A value that cannot be known stays unknown (vllm.UnknownMark).
func (s *Service) recognise(composeDir string) {
	sc := s.Config
	mode := EngineAuto
	if s.Ext != nil {
		mode = s.Ext.Engine
	}
	df := readDockerfile(sc.Build)
	if df != nil && !filepath.IsAbs(df.Path) && df.Path != "(inline)" {
		df.Path = filepath.Join(composeDir, df.Path)
	}
	s.Dockerfile = df
	byImage := ImageIsVLLM(sc.Image)
	byDockerfile := df != nil && (ImageIsVLLM(df.From) || vllm.IsLauncher(df.Entrypoint))
	entry, cmd := sc.Entrypoint, []string(sc.Command)
	imageEntry := entry == nil
	if entry == nil && df != nil && df.Entrypoint != nil {
		entry = df.Entrypoint
	}
	if cmd == nil && sc.Entrypoint == nil && df != nil {
		cmd = df.Cmd
	}
	argv := append(append([]string(nil), entry...), cmd...)
	s.Argv, s.ArgvOffset = argv, len(entry)

	set := func(r EngineReason, launch string, av []string) {
		s.Engine, s.EngineReason = true, r
		s.Args = vllm.ParseAs(launch, av)
	}
	switch {
	case s.fromScript(argv, composeDir, df):
	case vllm.IsLauncher(argv):
		r := ByCommand
		if imageEntry && df != nil && vllm.IsLauncher(df.Entrypoint) {
			r = ByDockerfile
		}
		set(r, "", argv)
		// The official image's entrypoint already starts vLLM: a command that
		// starts it again becomes arguments of the first.
		if imageEntry && df == nil && OfficialImage(sc.Image) && vllm.IsLauncher(cmd) {
			s.LauncherTwice = true
		}
	case imageEntry && byImage && df == nil && len(cmd) == 0 && !OfficialImage(sc.Image):
		// Another vLLM image run as it is: its own entrypoint and command
		// decide (a launch script reading MODEL from the environment, or
		// `vllm serve` with baked-in flags), not vLLM's defaults.
		s.Engine, s.EngineReason = true, ByImage
		s.Args = vllm.OpaqueArgs("the image's own entrypoint and command (" + vllm.ShowUnknown(sc.Image) + modelEnvHint(sc) + ")")
	case imageEntry && (byImage || byDockerfile) && (df == nil || df.Entrypoint == nil):
		// The image's own entrypoint (`vllm serve`, or the api_server module on
		// old images) receives the command.
		r := ByImage
		if !byImage {
			r = ByDockerfile
		}
		c := cmd
		if len(c) > 0 && c[0] == "serve" {
			c = c[1:]
			s.ArgvOffset++
		}
		s.Engine, s.EngineReason = true, r
		s.Args = vllm.ParseAs("vllm serve", c)
		s.reindex(len(argv) - len(c))
	case looksLikeVLLMFlags(cmd):
		set(ByFlags, "vllm serve", argv)
	case (byImage || byDockerfile) && len(entry) > 0:
		// A vLLM image whose entrypoint is replaced by something vllmctl cannot read.
		s.Engine, s.EngineReason = true, ByImage
		s.Wrapped = strings.Join(entry, " ")
		s.Args = vllm.OpaqueArgs("the entrypoint " + s.Wrapped)
	case imageUnknown(sc) && nameIsVLLM(s.Name) && len(entry) == 0 && looksLikeServeArgs(cmd):
		// The image comes from a variable, the service is named for vLLM and
		// its command is `vllm serve`'s: a model path, then vLLM's flags.
		set(ByName, "vllm serve", argv)
	case imageUnknown(sc) && nameIsVLLM(s.Name) && !vllm.IsLauncher(argv) && len(cmd) == 0:
		// The image comes from a variable no .env here sets (or from a base file
		// that is not here), and the service is named for vLLM.
		s.Engine, s.EngineReason = true, ByName
		s.Args = vllm.OpaqueArgs("the image " + vllm.ShowUnknown(sc.Image))
		if sc.Image == "" {
			s.Args = vllm.OpaqueArgs("the service's image and command (defined in a file that is not here)")
		}
	}
	switch mode {
	case EngineNone:
		s.Engine = false
	case EngineVLLM:
		if !s.Engine {
			s.Engine, s.EngineReason = true, ByExtension
			s.Args = vllm.ParseAs("vllm serve", cmd)
			s.reindex(len(entry))
			if len(entry) > 0 {
				s.Args = vllm.OpaqueArgs("the entrypoint " + strings.Join(entry, " "))
			}
		}
	}
}

// modelEnvHint names the environment variables that look like the model a
// launch script serves (MODEL=…, MODEL_NAME=…, VLLM_MODEL=…), for messages.
func modelEnvHint(sc types.ServiceConfig) string {
	var names []string
	for k, v := range sc.Environment {
		u := strings.ToUpper(k)
		if v != nil && *v != "" && (u == "MODEL" || strings.HasSuffix(u, "_MODEL") || strings.HasPrefix(u, "MODEL_") && (strings.HasSuffix(u, "_NAME") || strings.HasSuffix(u, "_ID") || strings.HasSuffix(u, "_PATH"))) {
			names = append(names, k+"="+vllm.ShowUnknown(*v))
		}
	}
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return "; it may serve " + strings.Join(names, ", ")
}

// imageUnknown reports whether the image cannot be told: it comes from an
// unset variable, or the service names none and builds nothing.
func imageUnknown(sc types.ServiceConfig) bool {
	return vllm.HasUnknown(sc.Image) || sc.Image == "" && sc.Build == nil
}

// nameIsVLLM reports whether a service name holds the word vllm and no helper word.
func nameIsVLLM(name string) bool {
	return ImageIsVLLM(strings.ToLower(name))
}

// reindex shifts the argv indices of Args by off (Args parsed a suffix of Argv).
func (s *Service) reindex(off int) {
	if off == 0 {
		return
	}
	for i := range s.Args.List {
		s.Args.List[i].Index += off
	}
	for i := range s.Args.Problems {
		s.Args.Problems[i].Index += off
	}
}

// looksLikeVLLMFlags reports whether a command is a vLLM flag list: it starts
// with a flag, gives --model, and most of its flags are vLLM's.
func looksLikeVLLMFlags(cmd []string) bool {
	if len(cmd) == 0 || !strings.HasPrefix(cmd[0], "--") {
		return false
	}
	flags, known, model := countFlags(cmd)
	return model && known*3 >= flags*2
}

// countFlags counts the --flags of words, those vLLM knows, and whether
// --model is one of them.
func countFlags(words []string) (flags, known int, model bool) {
	for _, t := range words {
		if !strings.HasPrefix(t, "--") {
			continue
		}
		name, _, _ := strings.Cut(t, "=")
		flags++
		if _, _, ok := vllm.LookupFlag(name); ok {
			known++
		}
		model = model || vllm.NormalizeFlag(name) == "model"
	}
	return flags, known, model
}

// looksLikeServeArgs reports whether cmd reads as `vllm serve`'s arguments
// with the model first ("/models/m", "Org/Model"), then flags vLLM knows
// (two of three at least, and one at least).
func looksLikeServeArgs(cmd []string) bool {
	if len(cmd) < 2 || strings.HasPrefix(cmd[0], "-") || !strings.Contains(cmd[0], "/") {
		return false
	}
	flags, known, _ := countFlags(cmd[1:])
	return flags > 0 && known*3 >= flags*2
}

// fromScript reads an engine started by a shell script: `sh -c SCRIPT` in the
// entrypoint or command, or a wrapper file (bind-mounted or in the build
// context) that the entrypoint runs.
func (s *Service) fromScript(argv []string, composeDir string, df *Dockerfile) bool {
	env := func(name string) (string, bool) {
		v, ok := s.Config.Environment[name]
		if !ok || v == nil {
			return "", false
		}
		return *v, true
	}
	if script, args, ok := shellcmd.IsShell(argv); ok {
		sc := &Script{Text: script, Key: "command", Item: -1}
		idx := slices.Index(argv, script)
		if idx >= 0 && idx < s.ArgvOffset {
			sc.Key, sc.Item = "entrypoint", idx
		} else if idx >= 0 {
			sc.Item = idx - s.ArgvOffset
		}
		return s.runScript(sc, env, shellcmd.PositionalArgs(args))
	}
	// A wrapper file: ["/entrypoint.sh", args...] or ["bash", "/entrypoint.sh", args...].
	i := 0
	if len(argv) > 1 && isShellName(argv[0]) {
		i = 1
	}
	if i >= len(argv) || !looksLikeScriptPath(argv[i]) {
		return false
	}
	host := s.hostFile(argv[i], composeDir, df)
	if host == "" {
		return false
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return false
	}
	sc := &Script{Text: string(data), File: host, Key: "entrypoint", Item: -1}
	args := argv[i+1:]
	return s.runScript(sc, env, args)
}

func isShellName(t string) bool {
	switch path.Base(filepath.ToSlash(t)) {
	case "sh", "bash", "dash", "ash", "zsh":
		return true
	}
	return false
}

func looksLikeScriptPath(t string) bool {
	return strings.HasSuffix(t, ".sh") || strings.HasSuffix(t, ".bash")
}

// MountHolding is the first of the service's volumes and binds that keep
// accepts whose target is the container path ctrPath or a folder above it,
// with ctrPath's part below that target ("" when it is the target).
func (s *Service) MountHolding(ctrPath string, keep func(types.ServiceVolumeConfig) bool) (types.ServiceVolumeConfig, string, bool) {
	for _, v := range s.Config.Volumes {
		if !keep(v) {
			continue
		}
		if v.Target == ctrPath || strings.TrimSuffix(v.Target, "/") == ctrPath {
			return v, "", true
		}
		if rel, ok := strings.CutPrefix(ctrPath, strings.TrimSuffix(v.Target, "/")+"/"); ok {
			return v, rel, true
		}
	}
	return types.ServiceVolumeConfig{}, "", false
}

// hostFile finds the file a container path names: a bind mount that holds it,
// or a file of that name in the build context.
func (s *Service) hostFile(ctrPath, composeDir string, df *Dockerfile) string {
	bind := func(v types.ServiceVolumeConfig) bool { return v.Type == types.VolumeTypeBind && v.Source != "" }
	if v, rel, ok := s.MountHolding(ctrPath, bind); ok {
		if rel == "" {
			return v.Source
		}
		return filepath.Join(v.Source, filepath.FromSlash(rel))
	}
	if df != nil && s.Config.Build != nil {
		p := filepath.Join(s.Config.Build.Context, path.Base(ctrPath))
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// runScript parses a script and, when a command of it starts vLLM, takes that
// command's words as the engine's argv.
func (s *Service) runScript(sc *Script, env func(string) (string, bool), args []string) bool {
	cmds, err := shellcmd.Parse(sc.Text, shellcmd.Options{Env: env, Args: args})
	if err != nil {
		return false
	}
	c, launch, ok := shellcmd.FindVLLM(cmds)
	if !ok {
		return false
	}
	words, unknown := c.Argv()
	argv := make([]string, 0, len(words)-launch)
	for i := launch; i < len(words); i++ {
		w := words[i]
		if unknown[i] {
			w = vllm.UnknownMark(w)
		}
		argv = append(argv, w)
		sc.Lines = append(sc.Lines, c.Words[i].Line)
	}
	s.Engine, s.EngineReason = true, ByScript
	s.Script = sc
	s.Argv, s.ArgvOffset = argv, 0
	s.Args = vllm.Parse(argv)
	return true
}
