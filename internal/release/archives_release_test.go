//go:build release

package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strings"
	"testing"
)

// dist is where `make release-snapshot` (GoReleaser) writes the release.
const dist = "../../dist"

// downloads is where the manifests fetch the archives from: the GitHub
// release of .goreleaser.yaml's release.github.
const downloads = "https://github.com/vllmctl/vllmctl/releases/download/"

// target is one os/arch of the release.
type target struct{ goos, goarch string }

func (t target) String() string { return t.goos + "_" + t.goarch }

var targets = []target{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

var shells = []string{"bash", "zsh", "fish", "powershell"}

// stamp is what the Makefile passed to GoReleaser to stamp into the binaries.
type stamp struct{ version, commit, date string }

func stampOf(t *testing.T) stamp {
	t.Helper()
	s := stamp{os.Getenv("VLLMCTL_VERSION"), os.Getenv("VLLMCTL_COMMIT"), os.Getenv("VLLMCTL_DATE")}
	if s.version == "" || s.commit == "" || s.date == "" {
		t.Fatalf("VLLMCTL_VERSION, VLLMCTL_COMMIT and VLLMCTL_DATE are %q, %q, %q: run the test with 'make release-check', which passes the values it stamped", s.version, s.commit, s.date)
	}
	return s
}

// metadata is the part of dist/metadata.json the test reads.
type metadata struct {
	ProjectName string `json:"project_name"`
	Tag         string `json:"tag"`
	Version     string `json:"version"`
}

func readMetadata(t *testing.T) metadata {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "metadata.json"))
	if err != nil {
		t.Fatalf("%v: build the release first with 'make release-snapshot'", err)
	}
	var m metadata
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("dist/metadata.json: %v", err)
	}
	if m.ProjectName != "vllmctl" || m.Tag == "" || m.Version == "" {
		t.Fatalf("dist/metadata.json: project %q, tag %q, version %q; want vllmctl and a tag and version", m.ProjectName, m.Tag, m.Version)
	}
	return m
}

// member is one file of an archive.
type member struct {
	data []byte
	mode fs.FileMode
}

// members reads an archive's files by name.
func members(t *testing.T, path string) map[string]member {
	t.Helper()
	out := map[string]member{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %s: %v", path, f.Name, err)
			}
			out[f.Name] = member{b, f.Mode()}
		}
		return out
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	gz, err := gzip.NewReader(fh)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("%s: %s: %v", path, h.Name, err)
		}
		out[h.Name] = member{b, h.FileInfo().Mode()}
	}
	return out
}

// checkExecutable fails unless b is an executable for tg: its ELF, PE or
// Mach-O header names the OS's format and the architecture.
func checkExecutable(t *testing.T, tg target, b []byte) {
	t.Helper()
	r := bytes.NewReader(b)
	switch tg.goos {
	case "linux":
		f, err := elf.NewFile(r)
		if err != nil {
			t.Fatalf("the %s binary is not ELF: %v", tg, err)
		}
		want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[tg.goarch]
		if f.Machine != want || f.Type != elf.ET_EXEC || f.Class != elf.ELFCLASS64 {
			t.Errorf("the %s binary is ELF %v %v %v; want %v ET_EXEC ELFCLASS64", tg, f.Machine, f.Type, f.Class, want)
		}
		if f.Section(".interp") != nil {
			t.Errorf("the %s binary has an interpreter (.interp): it is not static (CGO_ENABLED=0)", tg)
		}
	case "windows":
		f, err := pe.NewFile(r)
		if err != nil {
			t.Fatalf("the %s binary is not PE: %v", tg, err)
		}
		want := map[string]uint16{"amd64": pe.IMAGE_FILE_MACHINE_AMD64, "arm64": pe.IMAGE_FILE_MACHINE_ARM64}[tg.goarch]
		if f.Machine != want || f.Characteristics&pe.IMAGE_FILE_EXECUTABLE_IMAGE == 0 || f.Characteristics&pe.IMAGE_FILE_DLL != 0 {
			t.Errorf("the %s binary is PE machine %#x, characteristics %#x; want machine %#x, an executable image", tg, f.Machine, f.Characteristics, want)
		}
		oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
		if !ok || oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_CUI {
			t.Errorf("the %s binary's optional header is %T; want PE32+ of a console program", tg, f.OptionalHeader)
		}
	case "darwin":
		f, err := macho.NewFile(r)
		if err != nil {
			t.Fatalf("the %s binary is not Mach-O: %v", tg, err)
		}
		want := map[string]macho.Cpu{"amd64": macho.CpuAmd64, "arm64": macho.CpuArm64}[tg.goarch]
		if f.Cpu != want || f.Type != macho.TypeExec {
			t.Errorf("the %s binary is Mach-O %v type %v; want %v, an executable", tg, f.Cpu, f.Type, want)
		}
	default:
		t.Fatalf("no header check for %s", tg)
	}
}

// checksums reads checksums.txt: file name to sha256.
func checksums(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dist, "checksums.txt"))
	if err != nil {
		t.Fatalf("%v: build the release first with 'make release-snapshot'", err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || len(f[0]) != 64 {
			t.Fatalf("checksums.txt: line %q is not '<sha256> <file>'", sc.Text())
		}
		sums[f[1]] = f[0]
	}
	return sums
}

func sha256Of(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func archiveName(m metadata, tg target) string {
	ext := ".tar.gz"
	if tg.goos == "windows" {
		ext = ".zip"
	}
	return "vllmctl_" + m.Version + "_" + tg.String() + ext
}

func TestArchives(t *testing.T) {
	st := stampOf(t)
	meta := readMetadata(t)
	sums := checksums(t)

	// checksums.txt lists exactly the six archives, each with its sha256.
	var names []string
	for _, tg := range targets {
		names = append(names, archiveName(meta, tg))
	}
	for name, sum := range sums {
		if !slices.Contains(names, name) {
			t.Errorf("checksums.txt lists %s, not one of the archives %v", name, names)
			continue
		}
		if got := sha256Of(t, filepath.Join(dist, name)); got != sum {
			t.Errorf("checksums.txt has %s for %s; the file's sha256 is %s", sum, name, got)
		}
	}
	if len(sums) != len(targets) {
		t.Errorf("checksums.txt lists %d files; want the %d archives", len(sums), len(targets))
	}

	// The host's binary runs: its --version names the stamps and its
	// completion scripts are the ones every archive ships.
	host := target{goruntime.GOOS, goruntime.GOARCH}
	if !slices.Contains(targets, host) {
		t.Fatalf("this machine (%s) has no archive to run", host)
	}
	completions := map[string][]byte{}
	{
		name := archiveName(meta, host)
		bin := "vllmctl"
		if host.goos == "windows" {
			bin += ".exe"
		}
		ms := members(t, filepath.Join(dist, name))
		if len(ms[bin].data) == 0 {
			t.Fatalf("%s has no %s", name, bin)
		}
		exe := filepath.Join(t.TempDir(), bin)
		if err := os.WriteFile(exe, ms[bin].data, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(exe, "--version").CombinedOutput()
		want := "vllmctl " + st.version + " (commit " + st.commit + ", built " + st.date + ")\n"
		if err != nil || string(out) != want {
			t.Errorf("%s --version: %q, %v; want %q", name, out, err, want)
		}
		if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(st.commit) || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(st.date) {
			t.Errorf("stamped commit %q and date %q; want 12 hex digits and an RFC 3339 UTC time", st.commit, st.date)
		}
		for _, sh := range shells {
			out, err := exec.Command(exe, "completion", sh).Output()
			if err != nil || len(out) == 0 {
				t.Fatalf("%s completion %s: %v", name, sh, err)
			}
			completions[sh] = out
		}
		if !bytes.Contains(completions["bash"], []byte("__start_vllmctl")) {
			t.Error("the bash completion is not cobra's script for vllmctl")
		}
	}

	for _, tg := range targets {
		t.Run(tg.String(), func(t *testing.T) {
			name := archiveName(meta, tg)
			path := filepath.Join(dist, name)
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("archive for %s: %v", tg, err)
			}
			ms := members(t, path)
			bin := "vllmctl"
			if tg.goos == "windows" {
				bin += ".exe"
			}
			want := []string{bin, "README.md"}
			for _, sh := range shells {
				want = append(want, "completions/vllmctl."+sh)
			}
			var got []string
			for n := range ms {
				got = append(got, n)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s holds %v; want %v", name, got, want)
			}
			b := ms[bin].data
			checkExecutable(t, tg, b)
			if tg.goos != "windows" && ms[bin].mode&0o111 == 0 {
				t.Errorf("%s: %s has mode %v; want executable", name, bin, ms[bin].mode)
			}
			for _, s := range []string{st.version, st.commit, st.date} {
				if !bytes.Contains(b, []byte(s)) {
					t.Errorf("%s: %s does not hold the stamp %q", name, bin, s)
				}
			}
			for _, sh := range shells {
				if c := ms["completions/vllmctl."+sh].data; !bytes.Equal(c, completions[sh]) {
					t.Errorf("%s: completions/vllmctl.%s (%d bytes) is not what 'vllmctl completion %s' prints (%d bytes)", name, sh, len(c), sh, len(completions[sh]))
				}
			}
			if !bytes.HasPrefix(ms["README.md"].data, []byte("# vllmctl")) {
				t.Errorf("%s: README.md is not vllmctl's README", name)
			}
		})
	}

	t.Run("homebrew", func(t *testing.T) { checkCask(t, meta, sums) })
	t.Run("scoop", func(t *testing.T) { checkScoop(t, meta, sums) })
}

// checkCask reads the Homebrew cask: for darwin and linux on each arch, a
// block with the archive's release URL and its sha256; the binary; the
// completions installed from the archive.
func checkCask(t *testing.T, meta metadata, sums map[string]string) {
	b, err := os.ReadFile(filepath.Join(dist, "homebrew", "Casks", "vllmctl.rb"))
	if err != nil {
		t.Fatalf("the Homebrew cask: %v", err)
	}
	cask := string(b)
	for _, s := range []string{
		`cask "vllmctl" do`,
		`version "` + meta.Version + `"`,
		`binary "vllmctl"`,
		`bash_completion "completions/vllmctl.bash"`,
		`zsh_completion "completions/vllmctl.zsh"`,
		`fish_completion "completions/vllmctl.fish"`,
	} {
		if !strings.Contains(cask, s) {
			t.Errorf("the cask lacks %s:\n%s", s, cask)
		}
	}
	// url "…" and sha256 "…" pair up in each on_<os>/on_<arch> block, in
	// either order; a URL must sit in the same block as its archive's hash.
	// Homebrew expands #{version} in a URL to the cask's version.
	url := regexp.MustCompile(`url "([^"]+)"`)
	sha := regexp.MustCompile(`sha256 "([0-9a-f]{64})"`)
	blocks := regexp.MustCompile(`(?s)on_(?:arm|intel) do\n(.*?)\n\s*end\n`).FindAllStringSubmatch(cask, -1)
	pairs := map[string]string{}
	for _, bl := range blocks {
		u, s := url.FindStringSubmatch(bl[1]), sha.FindStringSubmatch(bl[1])
		if u == nil || s == nil {
			continue
		}
		pairs[strings.ReplaceAll(u[1], "#{version}", meta.Version)] = s[1]
	}
	for _, tg := range targets {
		if tg.goos == "windows" {
			continue
		}
		name := archiveName(meta, tg)
		u := downloads + meta.Tag + "/" + name
		got, ok := pairs[u]
		if !ok {
			t.Errorf("the cask has no block with url %q (has %v):\n%s", u, pairs, cask)
			continue
		}
		if got != sums[name] {
			t.Errorf("the cask's sha256 for %s is %s; checksums.txt has %s", name, got, sums[name])
		}
	}
	if len(pairs) != 4 {
		t.Errorf("the cask has %d url/sha256 blocks; want 4 (darwin and linux × amd64, arm64):\n%s", len(pairs), cask)
	}
}

// checkScoop reads the Scoop manifest: the version, and per architecture the
// Windows archive's release URL, its sha256 and the binary.
func checkScoop(t *testing.T, meta metadata, sums map[string]string) {
	b, err := os.ReadFile(filepath.Join(dist, "scoop", "vllmctl.json"))
	if err != nil {
		t.Fatalf("the Scoop manifest: %v", err)
	}
	type arch struct {
		URL  string   `json:"url"`
		Bin  []string `json:"bin"`
		Hash string   `json:"hash"`
	}
	var m struct {
		Version      string          `json:"version"`
		Architecture map[string]arch `json:"architecture"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("the Scoop manifest: %v", err)
	}
	if m.Version != meta.Version {
		t.Errorf("the Scoop manifest's version is %q; want %q", m.Version, meta.Version)
	}
	for key, goarch := range map[string]string{"64bit": "amd64", "arm64": "arm64"} {
		a, ok := m.Architecture[key]
		name := archiveName(meta, target{"windows", goarch})
		switch {
		case !ok:
			t.Errorf("the Scoop manifest has no %s architecture: %s", key, b)
		case a.URL != downloads+meta.Tag+"/"+name:
			t.Errorf("the Scoop manifest's %s url is %q; want %q", key, a.URL, downloads+meta.Tag+"/"+name)
		case a.Hash != sums[name]:
			t.Errorf("the Scoop manifest's %s hash is %q; checksums.txt has %s for %s", key, a.Hash, sums[name], name)
		case !slices.Equal(a.Bin, []string{"vllmctl.exe"}):
			t.Errorf("the Scoop manifest's %s bin is %v; want [vllmctl.exe]", key, a.Bin)
		}
	}
	if len(m.Architecture) != 2 {
		t.Errorf("the Scoop manifest has architectures %v; want 64bit and arm64", m.Architecture)
	}
}
